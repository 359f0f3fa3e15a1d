"""The benchmark scripts the README names run, and their correctness checks pass (tiny sizes,
no timing targets: targets live in the benchmarks themselves, recorded in bench/)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def run(script, *args):
    return subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], capture_output=True, text=True,
                          timeout=600)  # fmt: skip


def test_import_resnet50_checks_every_node_against_the_zoo():
    pytest.importorskip("torch")
    proc = run("import_resnet50.py", "--rounds", "1", "--no-record", "--no-torchscan")
    assert proc.returncode == 0, proc.stderr
    assert "73 of the zoo's nodes equal; layer4 RF 427" in proc.stdout


def test_graph_bench_core_equals_the_reference():
    proc = run("graph.py", "--sets", "200", "--rounds", "1", "--reference-sets", "5", "--cli-runs", "1",
               "--target", "0", "--no-record")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "ratio core (1 thread) / reference" in proc.stdout


def test_sweep_bench_checks_every_method_against_the_oracles():
    # --quick: smaller spaces, nothing written; exit 2 would mean a result disagrees.
    proc = run("sweep.py", "--quick", "--no-aims")
    assert proc.returncode == 0, proc.stderr
    assert "count+bound" in proc.stdout and "A2 candidates covered/s by a counting sweep" in proc.stdout
