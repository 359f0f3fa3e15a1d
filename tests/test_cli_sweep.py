"""`rfsearch sweep`: outputs equal the API's, rows files hold exactly the feasible stacks, shards
merge to the whole, checkpoints survive Ctrl-C and kill -9, Dask gives the single-process
result, and every bad input is one line with exit code 2."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from rfsearch.cli.main import main
from rfsearch.search import load_space, sweep

# `rfsearch sweep` in subprocesses (~15 s): CI and `pytest --run-slow` run them.
pytestmark = pytest.mark.slow

SPACE = """\
input_size: 64
depth: [2, 4]
layers:
  kind: [conv, maxpool]
  kernel: [2, 3]
  stride: [1, 2]
  dilation: [1, 2]
  padding: half
channels: {input: 3, widths: [8, 16]}
targets:
  rf: [10, 20]
  output_size: [8, 32]
objective: [macs, rf_error]
"""

# A few seconds of work, ~130,000 feasible stacks: long enough to interrupt, small enough to list.
SLOW = """\
input_size: 224
depth: [3, 7]
layers:
  kind: [conv, maxpool]
  kernel: [2, 3]
  stride: [1, 2]
  dilation: [1, 2]
  padding: half
channels: {input: 3, widths: [32, 64, 128]}
targets:
  rf: 61
  output_size: 14
  coverage: full
  max_params: 25000
objective: [macs, rf_error]
"""


def run_cli(*args, stdin=None):
    return subprocess.run(["rfsearch", "sweep", *map(str, args)], capture_output=True, text=True, input=stdin)


def without_stats(doc):
    return {k: v for k, v in doc.items() if k not in ("stats", "shard")}


@pytest.fixture
def space_file(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(SPACE)
    return path


def test_json_equals_the_api(space_file, capsys):
    assert main(["sweep", str(space_file), "--top", "4", "-f", "json", "-j", "1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    expected = sweep(load_space(space_file), 4).to_dict()
    assert without_stats(doc) == without_stats(expected)
    assert doc["feasible"] > 100 and len(doc["top"]) == 4 and doc["pareto"]
    assert {"spec", "rf", "jump", "output_size", "params", "macs", "objective"} <= set(doc["top"][0])
    assert doc["stats"]["visited"] > 0
    # each listed spec is what `rfsearch compute` accepts, with the same RF
    spec = doc["top"][0]["spec"]
    out = subprocess.run(["rfsearch", "compute", spec, "-i", "64", "-f", "json"], capture_output=True, text=True)
    assert out.returncode == 0 and json.loads(out.stdout)["rf"] == doc["top"][0]["rf"]


def test_table_and_csv(space_file, capsys):
    assert main(["sweep", str(space_file), "--top", "3"]) == 0
    text = capsys.readouterr().out
    result = sweep(load_space(space_file), 3)
    assert f"{result.total:,} candidates, {result.feasible:,} feasible" in text
    assert "Pareto front (macs, rf_error)" in text and f"best: {result.top[0].spec}" in text
    assert "eff. padding" in text  # the best stack's per-layer table
    assert main(["sweep", str(space_file), "--top", "3", "-f", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "list,rank,spec,depth,rf,jump,output_size,params,macs,objective_macs,objective_rf_error"
    assert len(lines) == 1 + 3 + len(result.pareto)
    assert lines[1].startswith(f'top,1,"{result.top[0].spec}",') or lines[1].startswith(f"top,1,{result.top[0].spec},")


def test_count_only(space_file, capsys):
    assert main(["sweep", str(space_file), "--count-only", "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    full = sweep(load_space(space_file), 0)
    assert doc == {"total": full.total, "feasible": full.feasible,
                   "rf_histogram": [[rf, n] for rf, n in full.rf_histogram]}  # fmt: skip
    assert main(["sweep", str(space_file), "--count-only", "-f", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "rf,count"
    assert main(["sweep", str(space_file), "--count-only"]) == 0
    assert f"{full.feasible:,} feasible (exact count" in capsys.readouterr().out


def test_count_only_of_the_mstcn_space_and_refusal_to_enumerate_it():
    out = run_cli("examples/spaces/mstcn_dilations.yaml", "--count-only", "-f", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["total"] == 11**40
    out = run_cli("examples/spaces/mstcn_dilations.yaml")
    assert out.returncode == 2 and "--count-only" in out.stderr and len(out.stderr.splitlines()) == 1


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".npz", ".parquet"])
def test_out_holds_exactly_the_feasible_stacks(space_file, tmp_path, suffix):
    space = load_space(space_file)
    expected = []
    sweep(space, 0, on_feasible=lambda rows: expected.extend(
        tuple(int(c) for c in row[:d]) for row, d in zip(rows.choices, rows.depth)))  # fmt: skip
    out = tmp_path / f"rows{suffix}"
    assert main(["sweep", str(space_file), "--out", str(out), "-f", "json", "-j", "2"]) == 0
    got = read_choices(out)
    assert sorted(got) == sorted(expected) and len(got) == len(set(got))
    if suffix == ".csv":
        header, first = out.read_text().splitlines()[:2]
        assert header == "spec,choices,depth,rf,jump,output_size,params,macs,rf_error"
        from rfsearch.search.evaluate import make_entry

        choices = tuple(int(c) for c in first.split('",')[1].split(",")[0].split())
        e = make_entry(space, choices)
        assert first.startswith(f'"{e.spec}",') and f",{e.params},{e.macs}," in first


def read_choices(path: Path):
    if path.suffix == ".csv":
        lines = path.read_text().splitlines()[1:]
        return [tuple(int(c) for c in line.split('",')[1].split(",")[0].split()) for line in lines]
    if path.suffix == ".jsonl":
        return [tuple(json.loads(line)["choices"]) for line in path.read_text().splitlines()]
    if path.suffix == ".npz":
        with np.load(path) as z:
            return [tuple(int(c) for c in row[:d]) for row, d in zip(z["choices"], z["depth"])]
    import pyarrow.parquet as pq

    return [tuple(c) for c in pq.read_table(path).column("choices").to_pylist()]


def test_shards_merge_to_the_single_process_result(space_file, tmp_path, capsys):
    assert main(["sweep", str(space_file), "--top", "5", "-f", "json"]) == 0
    whole = json.loads(capsys.readouterr().out)
    parts = []
    for i in range(1, 4):
        assert main(["sweep", str(space_file), "--top", "5", "-f", "json", "--shard", f"{i}/3"]) == 0
        part = tmp_path / f"part{i}.json"
        part.write_text(capsys.readouterr().out)
        parts.append(str(part))
    assert main(["sweep", str(space_file), "-f", "json", "--merge", *reversed(parts)]) == 0
    merged = json.loads(capsys.readouterr().out)
    assert without_stats(merged) == without_stats(whole)
    assert main(["sweep", str(space_file), "--merge", parts[0], parts[1]]) == 2
    assert "shards missing: 3/3" in capsys.readouterr().err


@pytest.mark.parametrize("key, value, message", [
    ("top", [[[1, 2], [99, 99, 99]]], "shard 1/2: top holds [99, 99, 99] (objective [1, 2]), not a candidate"),
    ("top", [[[1, 2], [0] * 5000]], "shard 1/2: top holds [0, 0, 0, 0, 0, 0, 0, 0]"),
    ("top", [[[1, 2, 3], [0, 0]]], "shard 1/2: top holds [0, 0] (objective [1, 2, 3]), not a candidate"),
    ("front", [[[1, 2], [99, 0]]], "shard 1/2: front holds [99, 0]"),
    ("top", "same choices, another objective", "sweep results give objective [-1, -1] for stack"),
    ("feasible", 2**70, "shard 1/2: 1180591620717411303424 feasible stacks among"),
    ("histogram", [[[9], 1]], "shard 1/2: the RF histogram counts 1 stacks, feasible says"),
])  # fmt: skip
def test_tampered_shards_are_one_line_errors(space_file, tmp_path, capsys, key, value, message):
    # choices out of range gave an IndexError traceback; counts beyond the candidates were merged silently
    paths = []
    for i in (1, 2):
        assert main(["sweep", str(space_file), "--top", "2", "-f", "json", "--shard", f"{i}/2"]) == 0
        paths.append(tmp_path / f"part{i}.json")
        paths[-1].write_text(capsys.readouterr().out)
    doc = json.loads(paths[0].read_text())
    partial = doc["shard"]["partial"]
    if value == "same choices, another objective":
        value = [[[-1, -1], partial["top"][0][1]]]  # sorts first: reaches the merged top
    partial[key] = value
    paths[0].write_text(json.dumps(doc))
    assert main(["sweep", str(space_file), "-f", "json", "--merge", *map(str, paths)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and message in err, err


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    start = time.monotonic()
    while not path.exists():
        assert proc.poll() is None, "the sweep ended before its first checkpoint"
        assert time.monotonic() - start < timeout
        time.sleep(0.005)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["kill -9", "ctrl-c"])
def test_interrupted_sweeps_resume_to_the_same_result(tmp_path, how):
    space_file = tmp_path / "slow.yaml"
    space_file.write_text(SLOW)
    checkpoint, rows = tmp_path / "sweep.ckpt", tmp_path / "rows.jsonl"
    command = ["rfsearch", "sweep", str(space_file), "--top", "5", "-f", "json", "-j", "1", "--checkpoint",
               str(checkpoint), "--out", str(rows)]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(checkpoint, proc)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL if how == "kill -9" else signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    if how == "kill -9":
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 130 and "progress saved in" in err, err
    state = json.loads(checkpoint.read_text())
    done = sum(hi - lo for lo, hi in state["state"]["done"])
    assert 0 < done < state["state"]["tasks"]  # interrupted in the middle
    assert not rows.exists()  # the rows file appears only when complete
    resumed = subprocess.run(command, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    space = load_space(space_file)
    expected = []
    whole = sweep(space, 5, on_feasible=lambda r: expected.extend(
        tuple(int(c) for c in row[:d]) for row, d in zip(r.choices, r.depth)))  # fmt: skip
    assert without_stats(json.loads(resumed.stdout)) == without_stats(whole.to_dict())
    got = read_choices(rows)
    assert len(got) == whole.feasible == len(set(got)) and sorted(got) == sorted(expected)
    assert not checkpoint.exists() and not Path(str(checkpoint) + ".rows").exists()


def test_checkpoint_of_another_sweep_is_refused(space_file, tmp_path, capsys):
    checkpoint = tmp_path / "c.json"
    assert main(["sweep", str(space_file), "--checkpoint", str(checkpoint), "-f", "json"]) == 0
    assert not checkpoint.exists()  # removed when complete
    capsys.readouterr()
    from rfsearch.search import Sweeper

    run = Sweeper(load_space(space_file)).execute(3, on_commit=lambda s: None, min_tasks=4)
    checkpoint.write_text(json.dumps({"format": "rfsearch-sweep-checkpoint", "rows": None,
                                      "state": run.state.to_json()}))  # fmt: skip
    assert main(["sweep", str(space_file), "--checkpoint", str(checkpoint)]) == 2
    assert "another sweep" in capsys.readouterr().err
    checkpoint.write_text("{}")
    assert main(["sweep", str(space_file), "--checkpoint", str(checkpoint)]) == 2
    assert "not an rfsearch sweep checkpoint" in capsys.readouterr().err


@pytest.mark.slow
def test_dask_local_cluster_gives_the_single_process_result(space_file):
    out = run_cli(space_file, "--top", "5", "-f", "json", "--dask", "local", "-j", "2")
    assert out.returncode == 0, out.stderr
    whole = sweep(load_space(space_file), 5)
    assert without_stats(json.loads(out.stdout)) == without_stats(whole.to_dict())


def test_dask_runner_in_process_with_a_thread_cluster(space_file):
    """The executor protocol, on an in-process cluster (threads; process workers are the slow test)."""
    distributed = pytest.importorskip("distributed")
    from rfsearch.search import Sweeper
    from rfsearch.search.dask_runner import DaskRunner

    space = load_space(space_file)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as c:
        runner = DaskRunner(c.scheduler_address)
        with runner:
            states = []
            result = Sweeper(space).sweep(5, executor=runner.executor, min_tasks=50, on_commit=states.append)
            bounded = Sweeper(space).sweep(5, executor=runner.executor, min_tasks=50, counts=False)
    whole = sweep(space, 5)
    assert result == whole and (bounded.top, bounded.pareto) == (whole.top, whole.pareto)
    assert len(states) > 1  # chunks arrived one by one


BAD = [
    (["missing.yaml"], "cannot read"),
    (["{space}", "--shard", "3/2"], "--shard 3/2: the index must be between 1 and n"),
    (["{space}", "--shard", "0/2"], "between 1 and n"),
    (["{space}", "--shard", "1/0"], "between 1 and n"),
    (["{space}", "--shard", "a/b"], "--shard must look like i/n"),
    (["{space}", "--shard", "1/99999999999999999999"], "--shard must look like i/n"),
    (["{space}", "-j", "1" + "0" * 30], "--threads is larger than the int64 range"),
    (["{space}", "-j", "0"], "--threads must be 1 or more"),
    (["{space}", "--top", "-1"], "--top must be >= 0"),
    (["{space}", "--top", "2.5"], "--top must be a whole number"),
    (["{space}", "--max-visits", "1e9"], "--max-visits must be a whole number"),
    (["{space}", "--max-visits", "10"], "enumeration is not feasible"),
    (["{space}", "--out", "rows.txt"], "cannot tell the format"),
    (["{space}", "--out", "-"], "--out takes a file"),
    (["{space}", "--out", "{dir}"], "Is a directory"),
    (["{space}", "--count-only", "--out", "x.csv"], "--count-only counts without enumerating"),
    (["{space}", "--best-only", "--out", "x.csv"], "cannot be used with --best-only"),
    (["{space}", "--merge", "{space}"], "not valid JSON"),
    (["{space}", "--dask", "nowhere"], "--dask takes 'local' or a scheduler address"),
    (["{space}", "--checkpoint", "/dev/null"], "must be a regular file"),
    (["{huge}"], "depth is at most 4096"),
    (["{coverage}", "--count-only"], "cannot count exactly with targets coverage"),
    (["/dev/zero"], "/dev/zero: larger than 1 MiB"),  # read bounded, never a MemoryError
    (["{space}", "--top", "\u0663"], "--top must be a whole number"),  # ASCII digits only
    (["{space}", "--shard", "\u0661/\u0662"], "--shard must look like i/n"),
    (["{dir}"], "adir.csv: is a directory, not a file"),
]


@pytest.mark.parametrize("args, message", BAD)
def test_bad_input_is_one_line_and_exit_2(space_file, tmp_path, args, message):
    huge = tmp_path / "huge.yaml"
    huge.write_text("depth: 1000000000\nlayers: {kernel: 3}\n")
    coverage = tmp_path / "coverage.yaml"
    coverage.write_text("depth: 2\nlayers: {kernel: [2, 3], dilation: [1, 2]}\ntargets: {coverage: full}\n")
    (tmp_path / "adir.csv").mkdir()
    args = [a.format(space=space_file, dir=tmp_path / "adir.csv", huge=huge, coverage=coverage) for a in args]
    out = subprocess.run(["rfsearch", "sweep", *args], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2, out
    assert out.stderr.startswith("rfsearch: error:") and len(out.stderr.splitlines()) == 1, out.stderr
    assert message in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_outputs_onto_devices_and_symlinks(space_file, tmp_path, capsys):
    assert main(["sweep", str(space_file), "--out", "/dev/null", "-f", "json"]) == 2  # no suffix: say which
    assert "--out-format" in capsys.readouterr().err
    assert main(["sweep", str(space_file), "--out", "/dev/null", "--out-format", "csv", "-f", "json"]) == 0
    assert Path("/dev/null").is_char_device()  # written in place, not replaced
    capsys.readouterr()
    target = tmp_path / "real.jsonl"
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    assert main(["sweep", str(space_file), "--out", str(link), "-f", "json"]) == 0
    assert link.is_symlink() and len(target.read_text().splitlines()) == json.loads(capsys.readouterr().out)[
        "feasible"]  # fmt: skip


def test_space_from_standard_input(space_file):
    out = run_cli("-", "-f", "json", "--top", "2", stdin=SPACE)
    assert out.returncode == 0, out.stderr
    assert without_stats(json.loads(out.stdout)) == without_stats(sweep(load_space(space_file), 2).to_dict())


def test_best_only_lists_the_same_best_stacks(space_file, capsys):
    assert main(["sweep", str(space_file), "--best-only", "-f", "json", "--top", "4"]) == 0
    doc = json.loads(capsys.readouterr().out)
    whole = sweep(load_space(space_file), 4).to_dict()
    assert doc["feasible"] is None and doc["rf_histogram"] is None
    assert (doc["top"], doc["pareto"]) == (whole["top"], whole["pareto"])



def test_out_onto_a_fifo_is_written_in_place(space_file, tmp_path):
    import os
    import threading

    fifo = tmp_path / "rows.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    out = run_cli(space_file, "--out", fifo, "--out-format", "jsonl", "-f", "json")
    reader.join(timeout=60)
    assert out.returncode == 0, out.stderr
    assert len(received[0].decode().splitlines()) == json.loads(out.stdout)["feasible"]
    assert fifo.exists() and not fifo.is_file()
