"""The search headers (bigint.hpp, reach.hpp, count.hpp) are header-only and Python-free: compile their C++
tests alone, warnings as errors, and run them."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEADERS = ROOT / "src_cpp" / "include"


# count.hpp includes the core's fold.hpp, which is -Wconversion clean (the project's rule) but not
# -Wsign-conversion clean; the others are both.
SIGN = ["-Wsign-conversion"]


@pytest.mark.parametrize("name, header, extra", [("test_bigint", "bigint.hpp", SIGN), ("test_reach", "reach.hpp", SIGN),
                                                 pytest.param("test_count", "count.hpp", [], marks=pytest.mark.slow)])  # fmt: skip
@pytest.mark.slow  # compiles C++
def test_search_header_compiles_and_passes_alone(tmp_path, name, header, extra):
    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        pytest.fail("no C++ compiler found (the package build needs one too)")
    text = (HEADERS / "rfsearch" / header).read_text()
    assert "pybind11" not in text and "Python.h" not in text, f"{header} must not depend on Python"
    exe = tmp_path / name
    build = subprocess.run(
        [compiler, "-std=c++17", "-O1", "-Wall", "-Wextra", "-Wconversion", *extra, "-Werror",
         "-fsanitize=undefined", "-fno-sanitize-recover=undefined", f"-I{HEADERS}",
         str(ROOT / "tests" / "cpp" / f"{name}.cpp"), "-o", str(exe)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "C++ checks passed" in run.stdout
