"""``python -m corral.core.worker <fd>``: a model's worker process (see :mod:`corral.core.worker.child`)."""

import sys

from corral.core.worker.child import main

sys.exit(main(sys.argv[1:]))
