"""``python -m corral``: the same entry point as the ``corral`` console script."""

import sys

from corral.cli.main import main

sys.exit(main())
