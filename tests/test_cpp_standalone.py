"""The C++ core is header-only and Python-free: compile tests/cpp/test_core.cpp alone and run it,
once as GCC/Clang on x86-64 build it (overflow builtins, SIMD kernels per instruction set behind
the load-time dispatcher), and once as other compilers (MSVC) and CPUs do: the portable checked
arithmetic and the baseline kernels only."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # compiles the C++ core test
@pytest.mark.parametrize("arithmetic", ["builtins", "portable"])
def test_core_headers_compile_and_pass_alone(tmp_path, arithmetic):
    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        pytest.fail("no C++ compiler found (the package build needs one too)")
    headers = ROOT / "src_cpp" / "include"
    for header in (headers / "rfsearch").glob("*.hpp"):
        assert "pybind11" not in header.read_text(), f"{header.name} must not depend on pybind11"
    exe = tmp_path / "test_core"
    flags = ["-DRFSEARCH_PORTABLE_BUILTINS", "-DRFSEARCH_NO_SIMD_DISPATCH"] if arithmetic == "portable" else []
    build = subprocess.run(
        [compiler, "-std=c++17", "-O1", "-Wall", "-Wextra", "-Wconversion", "-Werror", "-pthread", *flags,
         f"-I{headers}", str(ROOT / "tests" / "cpp" / "test_core.cpp"), "-o", str(exe)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "core C++ checks passed" in run.stdout
    assert f"overflow builtins: {int(arithmetic == 'builtins')}" in run.stdout
    if arithmetic == "portable":
        assert "SIMD paths: baseline)" in run.stdout
