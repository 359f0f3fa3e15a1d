"""The test-run policy itself (tests/run_policy.py), on a tiny project run in a subprocess:
slow tests are deselected locally, run with --run-slow or CI, and with CI a skip fails the run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

CONFTEST = f"""
import sys
sys.path.insert(0, {str(HERE)!r})
from run_policy import *  # noqa: F401,F403
"""

TESTS = """
import pytest

def test_plain():
    pass

@pytest.mark.slow
def test_slow():
    pass

@pytest.mark.xfail(strict=True)
def test_expected_failure():
    assert False
"""

SKIPPING = """
import pytest

def test_needs_something():
    pytest.skip("the frobnicator extra is not installed")
"""

MODULE_SKIP = """
import pytest
pytest.importorskip("no_such_module_rfsearch_test")

def test_never_collected():
    pass
"""


def run(tmp_path, files, *args, ci=None, slow_env=None):
    for name, text in {"conftest.py": CONFTEST, **files}.items():
        (tmp_path / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "RFSEARCH_RUN_SLOW", "PYTEST_ADDOPTS")}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # a bare pytest starts faster
    if ci is not None:
        env["CI"] = ci
    if slow_env is not None:
        env["RFSEARCH_RUN_SLOW"] = slow_env
    argv = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "--strict-markers",
            "-c", os.devnull, "--rootdir", str(tmp_path), *args]  # fmt: skip
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_local_run_deselects_slow_tests_and_reports_skips(tmp_path):
    code, out = run(tmp_path, {"test_a.py": TESTS, "test_b.py": SKIPPING}, ci="false")
    assert code == 0, out
    assert "1 passed, 1 skipped, 1 deselected, 1 xfailed" in out and "fails CI" not in out


def test_slow_tests_run_on_request(tmp_path):
    code, out = run(tmp_path, {"test_a.py": TESTS}, "--run-slow")
    assert code == 0 and "2 passed, 1 xfailed" in out and "deselected" not in out, out
    code, out = run(tmp_path, {"test_a.py": TESTS}, slow_env="1")
    assert code == 0 and "2 passed, 1 xfailed" in out and "deselected" not in out, out


def test_ci_runs_everything_and_a_skip_fails_the_run(tmp_path):
    code, out = run(tmp_path, {"test_a.py": TESTS}, ci="true")
    assert code == 0 and "2 passed, 1 xfailed" in out, out  # slow tests run; xfail is not a skip
    code, out = run(tmp_path, {"test_a.py": TESTS, "test_b.py": SKIPPING, "test_c.py": MODULE_SKIP}, ci="true")
    assert code == pytest.ExitCode.TESTS_FAILED, out
    assert "skipped tests fail a CI run" in out and out.count("SKIPPED (fails CI)") == 2
    assert "frobnicator extra" in out and "no_such_module_rfsearch_test" in out
