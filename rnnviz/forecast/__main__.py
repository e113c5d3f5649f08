"""``python -m rnnviz.forecast``: train the RNN and the 1D CNN side by side and print a table."""

import sys

from .trainer import main

sys.exit(main())
