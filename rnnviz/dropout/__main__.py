import sys

from .race import main

sys.exit(main())
