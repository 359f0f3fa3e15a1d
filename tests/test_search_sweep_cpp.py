"""The sweep engine's header (enumerate.hpp) is header-only and Python-free: compile its C++
test alone, warnings as errors, with UBSan, and run it."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEADERS = ROOT / "src_cpp" / "include"


@pytest.mark.slow  # compiles C++
def test_enumerate_header_compiles_and_passes_alone(tmp_path):
    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        pytest.fail("no C++ compiler found (the package build needs one too)")
    text = (HEADERS / "rfsearch" / "enumerate.hpp").read_text()
    assert "pybind11" not in text and "Python.h" not in text, "enumerate.hpp must not depend on Python"
    exe = tmp_path / "test_enumerate"
    build = subprocess.run(
        [compiler, "-std=c++17", "-O1", "-Wall", "-Wextra", "-Wconversion", "-Werror", "-pthread",
         "-fsanitize=undefined", "-fno-sanitize-recover=undefined", f"-I{HEADERS}",
         str(ROOT / "tests" / "cpp" / "test_enumerate.cpp"), "-o", str(exe)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "C++ checks passed" in run.stdout
