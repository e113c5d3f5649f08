"""``python -m rnnviz.probes``: see ``rnnviz.probes.report.main``."""

from .report import main

if __name__ == "__main__":
    raise SystemExit(main())
