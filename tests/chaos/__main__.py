"""`python -m tests.chaos [--short] [SCENARIO ...]`: one JSON line per scenario."""

import sys

from tests.chaos.runner import main

sys.exit(main())
