"""``python -m gaussprobe``: the command line (see :mod:`gaussprobe.cli`)."""

from gaussprobe.cli import main

raise SystemExit(main())
