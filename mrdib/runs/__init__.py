"""Run folders: the writer used by training and the reader everything else uses."""
