"""Batch input: standard input, pipes and FIFOs, one pass over the file, and the number of axes
found late (a run with a temporary output starts again; a stream output gets a first pass)."""

import csv
import io
import json
import os
import subprocess
import threading

import numpy as np
import pytest

from rfsearch import receptive_field
from rfsearch.cli import batch as batch_cli
from rfsearch.cli import main
from rfsearch.io import inputs, read_batch, score_file

SEED = "conv3s1p1,maxpool2s2,conv3s1p1,maxpool2s2"
# Scalar stacks, then one with per-axis values in the last chunk: the file has two axes.
LATE_AXES = [[i, SEED] for i in range(5)] + [[5, "conv1x7p0x3"]]


def write_csv(path, rows, header=("id", "spec")):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def cli(*argv, stdin=None, cwd=None):
    return subprocess.run(["rfsearch", *map(str, argv)], input=stdin, capture_output=True, check=False, cwd=cwd)


@pytest.fixture
def stacks(tmp_path):
    return write_csv(tmp_path / "stacks.csv", [[i, SEED] for i in range(3)] + [[3, "conv3s2,conv3s2"]])


def reference(capsys, path, *extra):
    code, out, err = run(capsys, "batch", path, *extra)
    assert code == 0, err
    return out


@pytest.mark.parametrize("name", ["-", "/dev/stdin"])
def test_standard_input_csv_and_jsonl(tmp_path, stacks, capsys, name):
    want = reference(capsys, stacks, "-i", "32")
    proc = cli("batch", name, "--input-format", "csv", "-i", "32", stdin=stacks.read_bytes(), cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.decode() == want, proc.stderr
    lines = "".join(json.dumps({"spec": s}) + "\n" for s in [SEED, "conv1x7"]).encode()
    proc = cli("batch", name, "--input-format", "jsonl", "-f", "jsonl", stdin=lines, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(r)["rf"] for r in proc.stdout.decode().splitlines()] == [[10, 10], [1, 7]]


def test_standard_input_needs_a_format(capsys):
    code, out, err = run(capsys, "batch", "-")
    assert (code, out) == (2, "")
    assert err == "rfsearch: error: standard input has no suffix: give --input-format csv|jsonl|npz|parquet\n"


@pytest.mark.parametrize("fmt", ["npz", "parquet"])
def test_standard_input_binary_formats_are_spooled(tmp_path, fmt):
    path = tmp_path / f"stacks.{fmt}"
    if fmt == "npz":
        np.savez(path, kernel=np.array([[3, 2, 3, 2]]), stride=np.array([[1, 2, 1, 2]]), id=np.array([7]))
    else:
        pa = pytest.importorskip("pyarrow")
        pq = pytest.importorskip("pyarrow.parquet")
        pq.write_table(pa.table({"id": [7], "spec": ["conv3,maxpool2,conv3,maxpool2"]}), path)
    proc = cli("batch", "-", "--input-format", fmt, "-i", "32", stdin=path.read_bytes(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().splitlines()[1].startswith("7,10,4,")


def test_fifo_input(tmp_path, stacks, capsys):
    want = reference(capsys, stacks, "-i", "32")
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(stacks.read_bytes()))
    writer.start()
    code, out, err = run(capsys, "batch", fifo, "--input-format", "csv", "-i", "32", "-o", tmp_path / "out.csv")
    writer.join(timeout=30)
    assert (code, out, err) == (0, "", "")
    assert (tmp_path / "out.csv").read_text() == want


# ----------------------------------------------------------------------------- passes


def count_passes(monkeypatch):
    passes = []
    real = inputs.InputSource.stream

    def counting(self):
        passes.append(self.name)
        return real(self)

    monkeypatch.setattr(inputs.InputSource, "stream", counting)
    return passes


def test_a_file_is_read_once(tmp_path, stacks, capsys, monkeypatch):
    passes = count_passes(monkeypatch)
    assert run(capsys, "batch", stacks, "-o", tmp_path / "out.csv", "--chunk-rows", "2")[0] == 0
    assert passes == [str(stacks)]


def test_late_axes_restart_a_file_output(tmp_path, capsys, monkeypatch):
    path = write_csv(tmp_path / "stacks.csv", LATE_AXES)
    passes = count_passes(monkeypatch)
    assert run(capsys, "batch", path, "-o", tmp_path / "out.jsonl", "--chunk-rows", "2")[0] == 0
    assert len(passes) == 2  # rows were written with one axis: the run started again with two
    got = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["rf"] for r in got] == [[10, 10]] * 5 + [[1, 7]]


def test_late_axes_with_a_stream_output_scan_first(tmp_path, capsys, monkeypatch):
    path = write_csv(tmp_path / "stacks.csv", LATE_AXES)
    passes = count_passes(monkeypatch)
    code, out, _ = run(capsys, "batch", path, "-f", "jsonl", "--chunk-rows", "2")
    assert code == 0 and len(passes) == 2  # a first pass for the axes, then the one that writes
    assert [json.loads(line)["rf"] for line in out.splitlines()] == [[10, 10]] * 5 + [[1, 7]]


def test_late_axes_from_standard_input_replay_the_spool(tmp_path):
    path = write_csv(tmp_path / "stacks.csv", LATE_AXES)
    for extra in (["-o", "out.jsonl"], []):  # restart (file output), first pass (stream output)
        proc = cli("batch", "-", "--input-format", "csv", "-f", "jsonl", "--chunk-rows", "2", *extra,
                   stdin=path.read_bytes(), cwd=tmp_path)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        text = (tmp_path / "out.jsonl").read_text() if extra else proc.stdout.decode()
        assert [json.loads(line)["rf"] for line in text.splitlines()] == [[10, 10]] * 5 + [[1, 7]]


def test_input_size_with_axes_needs_no_spool(tmp_path, monkeypatch):
    made = []
    real = inputs.tempfile.TemporaryFile
    monkeypatch.setattr(inputs.tempfile, "TemporaryFile", lambda *a, **k: made.append(1) or real(*a, **k))
    path = write_csv(tmp_path / "stacks.csv", LATE_AXES)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))
    out = io.StringIO()
    assert score_file("-", out, input_format="csv", output_format="csv", input_size="16x16") == 6
    assert made == []  # the axes are known: one pass, nothing copied
    assert [r["rf_1"] for r in csv.DictReader(io.StringIO(out.getvalue()))] == ["10"] * 5 + ["7"]


def test_read_batch_gives_ids_of_one_table(tmp_path):
    path = write_csv(tmp_path / "stacks.csv", LATE_AXES)
    chunks = list(read_batch(path, chunk_rows=4))
    assert [len(c) for c in chunks] == [4, 2] and chunks[0].table is chunks[1].table
    table = chunks[0].table
    assert table.ndim == 2
    layers = [table.layer(int(i)) for i in chunks[1].ids[1][: int(chunks[1].depth[1])]]
    assert receptive_field(layers, (32, 32)).rf == receptive_field("conv1x7p0x3", (32, 32)).rf


# ----------------------------------------------------------------------------- progress


def test_progress_without_a_known_total(tmp_path, stacks, monkeypatch):
    calls = []
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stacks.read_bytes())))
    score_file("-", io.StringIO(), input_format="csv", output_format="csv", input_size="32x32", chunk_rows=2,
               on_progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    assert len(calls) == 2 and all(total is None for _, total in calls)
    bar = batch_cli._ProgressBar()
    bar(100, None)  # no total: a pulsing bar that counts bytes
    assert bar._bar is not None
    bar.stop()
