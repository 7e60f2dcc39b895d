"""The foundation every layer may import: errors, the run config, atomic file writes and device
settings. Nothing here imports another part of the package."""
