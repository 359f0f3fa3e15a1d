"""pytest setup for the benchmarks in bench/ (not collected by the default `pytest` run, whose
testpaths is ["tests"]). Run them with:

    pytest bench/ --benchmark-only

bench/ is a directory of scripts, not a package: make its modules importable by name (the
project runs pytest with --import-mode=importlib, which does not add test directories to
sys.path).
"""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
