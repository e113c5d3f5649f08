"""Entry point of ``python -m rnnviz.memory`` (see ``rnnviz.memory.cli``)."""

import sys

from .cli import main

sys.exit(main())
