"""The one exception type users see: the CLI prints it on one line and exits non-zero."""


class MrdibError(Exception):
    """Base class for every error the toolkit raises on purpose."""


class DataError(MrdibError):
    """A data file is missing, malformed or inconsistent; the message names the file."""


class RunError(MrdibError):
    """A run folder is missing, corrupt or incompatible; the message names the folder."""


class ConfigError(MrdibError):
    """A configuration value or file is invalid."""
