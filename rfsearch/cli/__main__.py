"""`python -m rfsearch.cli`: the same as the `rfsearch` command."""

import sys

from .main import main

sys.exit(main())
