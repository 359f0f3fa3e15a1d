"""The package type-checks (mypy strict, settings in pyproject.toml), stub included."""

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api", reason="mypy is part of the [test] extra")

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # mypy over the package: ~5-10 s
def test_mypy_strict_on_package(monkeypatch):
    monkeypatch.chdir(ROOT)
    out, err, status = mypy_api.run(["--config-file", str(ROOT / "pyproject.toml"), "--no-incremental"])
    assert status == 0, out + err
