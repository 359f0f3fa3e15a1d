import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

# Shared test helpers (tests/differential.py, budgets.py, run_policy.py) import by name;
# --import-mode=importlib does not put test directories on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from budgets import CI  # noqa: E402
from run_policy import (  # noqa: E402,F401  (hooks: slow tests, and skips failing a CI run)
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_collectreport,
    pytest_configure,
    pytest_runtest_logreport,
    pytest_sessionfinish,
    pytest_terminal_summary,
)
from conftest_postgres import postgres_server, postgres_url, study_dir, study_root  # noqa: E402,F401  (tests/conftest_postgres.py)

# Hypothesis profiles: tests without their own budget (tests/budgets.py) get 10,000 examples in
# CI and a quick pass locally.
settings.register_profile("ci", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=25, deadline=None)
settings.load_profile("ci" if CI else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# Subprocess tests run `rfsearch` by name: the console script of the environment under test,
# even when pytest was started by path without activating it.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
# ... and `python -c` / `python -m` subprocesses import the installed package, never the source
# tree's rfsearch/ (which has no compiled core outside an editable install) from the working
# directory: Python 3.11's safe path leaves the current directory out of sys.path.
os.environ["PYTHONSAFEPATH"] = "1"
