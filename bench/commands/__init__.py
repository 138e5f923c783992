"""One module per ``dr2bench`` command (see :mod:`bench.cli`)."""
