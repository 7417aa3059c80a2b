"""Statistics, one question per module. The public names are re-exported from :mod:`gaussprobe`."""
