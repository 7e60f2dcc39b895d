"""The command line: `python -m mrdib <command>`. Argument parsing and one-line errors only; each
command calls the layers below. Nothing below this package imports it."""
