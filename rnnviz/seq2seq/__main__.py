"""Entry point of ``python -m rnnviz.seq2seq`` (see ``rnnviz.seq2seq.cli``)."""

import sys

from .cli import main

sys.exit(main())
