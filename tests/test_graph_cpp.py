"""The graph evaluator's headers (graph.hpp, rational.hpp) compile alone, warning-free, and pass
tests/cpp/test_graph.cpp: with the compiler's overflow builtins and with the portable fallback."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # compiles C++
@pytest.mark.parametrize("arithmetic", ["builtins", "portable"])
def test_graph_headers_compile_and_pass_alone(tmp_path, arithmetic):
    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        pytest.fail("no C++ compiler found (the package build needs one too)")
    headers = ROOT / "src_cpp" / "include"
    for name in ("graph.hpp", "rational.hpp"):
        assert "pybind11" not in (headers / "rfsearch" / name).read_text(), f"{name} must not depend on pybind11"
    exe = tmp_path / "test_graph"
    flags = ["-DRFSEARCH_PORTABLE_BUILTINS"] if arithmetic == "portable" else []
    build = subprocess.run(
        [compiler, "-std=c++17", "-O1", "-Wall", "-Wextra", "-Wconversion", "-Werror", "-pthread", *flags,
         f"-I{headers}", str(ROOT / "tests" / "cpp" / "test_graph.cpp"), "-o", str(exe)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "graph C++ checks passed" in run.stdout
