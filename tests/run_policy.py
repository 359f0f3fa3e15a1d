"""How the test suite runs, locally and in CI (imported by tests/conftest.py).

- Tests marked ``slow`` are deselected (not skipped) by a plain local ``pytest``, which stays
  under a minute on 2 cores. ``pytest --run-slow`` (or RFSEARCH_RUN_SLOW=1) runs them too.
- With ``CI`` set (and not 0/false/no) every test runs, and a skipped test fails the run: a
  missing extra (torch, pyarrow) or service must not turn into a green CI run. The skipped
  tests are listed at the end with their reasons. Expected failures (xfail) are not skips.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Tuple

import pytest

__all__ = [
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_collectreport",
    "pytest_configure",
    "pytest_runtest_logreport",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
]

_SKIPPED = pytest.StashKey[List[Tuple[str, str]]]()
_CURRENT: Dict[str, pytest.Config] = {}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _run_slow(config: pytest.Config) -> bool:
    wanted = os.environ.get("RFSEARCH_RUN_SLOW", "").strip().lower() not in ("", "0", "false", "no")
    return in_ci() or wanted or bool(config.getoption("--run-slow"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run tests marked slow (CI=true runs every test)")  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes long; left out of a plain local run (pytest --run-slow)")
    config.stash[_SKIPPED] = []
    _CURRENT["config"] = config  # reports do not carry their config


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    if _run_slow(config):
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]
        config.hook.pytest_deselected(items=slow)


def _reason(report: Any) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _record(report: Any) -> None:
    config = _CURRENT.get("config")
    if config is not None and report.skipped and not hasattr(report, "wasxfail"):
        config.stash[_SKIPPED].append((report.nodeid, _reason(report)))


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _record(report)  # a module skipped as a whole (pytest.importorskip at import time)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _record(report)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if in_ci() and session.config.stash[_SKIPPED] and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    skipped = config.stash[_SKIPPED]
    if in_ci() and skipped:
        terminalreporter.section("skipped tests fail a CI run", sep="=", red=True, bold=True)
        for nodeid, reason in skipped:
            terminalreporter.line(f"SKIPPED (fails CI) {nodeid}: {reason}", red=True)
        terminalreporter.line(f"{len(skipped)} test(s) skipped with CI set: install what they need "
                              "(pip install '.[test]' torch) or fix them", red=True)  # fmt: skip
