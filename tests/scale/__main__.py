"""`python -m tests.scale [--short] [--groups G] [--jobs N] ...`: one JSON line."""

import sys

from tests.scale.runner import main

sys.exit(main())
