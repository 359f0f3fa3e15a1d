"""`rfsearch batch`: formats in and out, values against receptive_field, chunking, errors."""

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from rfsearch import Status, receptive_field, batch_receptive_fields
from rfsearch.cli import batch as batch_cli
from rfsearch import io as batch_io
from rfsearch.cli import main

SEED = "conv3s1p1,maxpool2s2,conv3s1p1,maxpool2s2"
# One-axis stacks of different depths: plain, pooling with padding and ceil mode, dilation,
# asymmetric padding, 'same' padding (needs the input size), neutral layers, one that collapses.
SPECS_1D = [
    SEED,
    "conv3",
    "conv7s2p3,maxpool3s2p1,conv3p1,conv3p1",
    "conv3d2p2,relu,bn,conv3p1:0",
    "maxpool3s2c,avgpool2,conv5psame",
    "conv3s2psame,conv3s2psame",
    "conv3s2,conv3s2,conv3s2,conv3s2",  # collapses on 16 at the last layer
]
SPECS_2D = ["conv1x7p0x3,conv7x1p3x0,maxpool2", SEED, "conv3s2x1,maxpool2x3c,conv3d1x2p1x2",
            "conv3,conv1x25"]  # the last collapses on axis 1 only (24 wide)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write_csv(path, rows, header=("id", "spec")):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def expected_row(spec, size):
    """What one output row should hold, from the one-network API."""
    r = receptive_field(spec, size)
    return {"rf": list(r.rf), "jump": list(r.jump), "effective_padding": list(r.effective_padding),
            "output_size": list(r.output_size), "center": list(r.center), "valid": r.valid}  # fmt: skip


# ----------------------------------------------------------------------------- values


def test_seed_example_csv(tmp_path, capsys):
    path = write_csv(tmp_path / "stacks.csv", [["seed", SEED]])
    code, out, err = run(capsys, "batch", path, "--input-size", "32")
    assert code == 0 and err == ""
    assert out.splitlines() == [
        "id,rf,jump,effective_padding,output_size,center,valid,status",
        "seed,10,4,3,8,1.5,True,ok",
    ]


@pytest.mark.parametrize("size, last", [("16", "collapsed"), ("31", "ok")])
def test_csv_rows_equal_receptive_field(tmp_path, capsys, size, last):
    path = write_csv(tmp_path / "stacks.csv", [[i, s] for i, s in enumerate(SPECS_1D)])
    code, out, _ = run(capsys, "batch", path, "-i", size, "-f", "jsonl")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == [str(i) for i in range(len(SPECS_1D))]
    for spec, row in zip(SPECS_1D, rows):
        assert {k: row[k] for k in expected_row(spec, size)} == expected_row(spec, size), spec
        assert row["status"] == ("ok" if row["valid"] else "collapsed")
    assert rows[-1]["status"] == last and (rows[-1]["output_size"] == [0]) == (last == "collapsed")


def test_two_axis_specs_per_axis_columns(tmp_path, capsys):
    path = write_csv(tmp_path / "stacks.csv", [[i, s] for i, s in enumerate(SPECS_2D)])
    code, out, _ = run(capsys, "batch", path, "-i", "32x24")
    assert code == 0
    header = out.splitlines()[0].split(",")
    assert header == ["id", *(f"{f}_{a}" for f in ("rf", "jump", "effective_padding", "output_size", "center")
                              for a in (0, 1)), "valid", "status"]  # fmt: skip
    for spec, row in zip(SPECS_2D, read_csv(out)):
        want = expected_row(spec, (32, 24))
        for field in ("rf", "jump", "effective_padding", "output_size"):
            assert [int(row[f"{field}_0"]), int(row[f"{field}_1"])] == want[field], (spec, field)
        assert [float(row["center_0"]), float(row["center_1"])] == want["center"]
        assert (row["valid"], row["status"]) == (("True", "ok") if want["valid"] else ("False", "collapsed"))
    assert read_csv(out)[-1]["status"] == "collapsed"


def test_axes_from_a_late_per_axis_stack(tmp_path, capsys):
    # The 1x7 stack sets two axes for the whole file, also for the chunks read before it.
    rows = [[0, "conv3"], [1, "conv3s2"], [2, "conv3"], [3, "conv1x7p0x3"]]
    path = write_csv(tmp_path / "stacks.csv", rows)
    code, out, _ = run(capsys, "batch", path, "-f", "jsonl", "--chunk-rows", "1")
    assert code == 0
    got = [json.loads(line) for line in out.splitlines()]
    assert [r["rf"] for r in got] == [[3, 3], [3, 3], [3, 3], [1, 7]]
    assert "output_size" not in got[0]  # no input size


def test_ragged_depths_and_chunks_agree(tmp_path, capsys):
    specs = [",".join(["conv3s1p1", "maxpool2"] * (1 + i % 4)) for i in range(11)]
    path = write_csv(tmp_path / "stacks.csv", [[i, s] for i, s in enumerate(specs)])
    _, whole, _ = run(capsys, "batch", path, "-i", "64")
    _, chunked, _ = run(capsys, "batch", path, "-i", "64", "--chunk-rows", "3")
    assert whole == chunked
    for spec, row in zip(specs, read_csv(whole)):
        want = expected_row(spec, 64)
        assert (int(row["rf"]), int(row["output_size"])) == (want["rf"][0], want["output_size"][0])


def test_threads_and_backends_agree(tmp_path, capsys):
    path = write_csv(tmp_path / "stacks.csv", [[i, s] for i, s in enumerate(SPECS_1D * 20)])
    outputs = [run(capsys, "batch", path, "-i", "20", *extra)[1]
               for extra in ([], ["--threads", "1"], ["--threads", "2", "--backend", "python"])]  # fmt: skip
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(outputs[0].splitlines()) == 1 + 7 * 20


def test_overflow_status(tmp_path, capsys):
    path = write_csv(tmp_path / "stacks.csv", [[1, "conv2s3037000500,conv2s3037000500,conv3"], [2, "conv3"]])
    code, out, _ = run(capsys, "batch", path)
    assert code == 0
    assert [(r["valid"], r["status"]) for r in read_csv(out)] == [("False", "overflow"), ("True", "ok")]


# ----------------------------------------------------------------------------- formats


def test_carried_columns_unchanged(tmp_path, capsys):
    header = ("name", "spec", "note")
    rows = [["a, \"quoted\"", SEED, "  spaces  "], ["ünïcode", "conv3", ""]]
    path = write_csv(tmp_path / "stacks.csv", rows, header)
    out_path = tmp_path / "out.csv"
    code, out, _ = run(capsys, "batch", path, "-o", out_path)
    assert code == 0 and out == ""
    with out_path.open(newline="", encoding="utf-8") as f:
        got = list(csv.reader(f))
    assert got[0][:2] == ["name", "note"] and "spec" not in got[0]
    assert [r[:2] for r in got[1:]] == [[r[0], r[2]] for r in rows]


def test_csv_with_bom_blank_lines_and_multiline_field(tmp_path, capsys):
    path = tmp_path / "stacks.csv"
    path.write_bytes(b'\xef\xbb\xbfid,spec\n1,"conv3,\nconv3"\n\n2,conv5\n')
    code, out, _ = run(capsys, "batch", path)
    assert code == 0
    assert [(r["id"], r["rf"]) for r in read_csv(out)] == [("1", "5"), ("2", "5")]


def test_header_only_csv_gives_header_only_output(tmp_path, capsys):
    path = write_csv(tmp_path / "stacks.csv", [])
    code, out, _ = run(capsys, "batch", path, "-i", "8")
    assert code == 0 and out == "id,rf,jump,effective_padding,output_size,center,valid,status\n"


def test_jsonl_in_and_out(tmp_path, capsys):
    path = tmp_path / "stacks.jsonl"
    seed_layers = [{"type": "conv", "kernel_size": 3, "stride": 1, "padding": 1},
                   {"type": "maxpool", "kernel_size": 2, "stride": 2}, "conv3s1p1",
                   {"type": "MaxPool2d", "kernel_size": 2}]  # fmt: skip
    lines = [{"id": 1, "tag": {"x": [1]}, "spec": SEED}, {"id": 2, "layers": seed_layers}, {"layers": ["conv3"]}]
    path.write_text("\n".join(json.dumps(r) for r in lines) + "\n\n")
    code, out, _ = run(capsys, "batch", path, "-i", "32x32", "-o", tmp_path / "out.ndjson")
    assert code == 0
    got = [json.loads(line) for line in (tmp_path / "out.ndjson").read_text().splitlines()]
    assert got[0] == {"id": 1, "tag": {"x": [1]}, "rf": [10, 10], "jump": [4, 4], "effective_padding": [3, 3],
                      "output_size": [8, 8], "center": [1.5, 1.5], "valid": True, "status": "ok"}  # fmt: skip
    assert {k: v for k, v in got[1].items() if k != "id"} == {k: v for k, v in got[0].items() if k not in ("id", "tag")}
    assert "id" not in got[2] and got[2]["rf"] == [3, 3]  # a key the record lacked stays out
    # As CSV: missing cells are empty, JSON values are JSON text.
    code, out, _ = run(capsys, "batch", path, "-i", "32x32")
    rows = read_csv(out)
    assert [(r["id"], r["tag"]) for r in rows] == [("1", '{"x": [1]}'), ("2", ""), ("", "")]


def test_npz_in_and_out_match_score_stacks(tmp_path, capsys):
    rng = np.random.default_rng(7)
    n, layers = 50, 6
    arrays = {
        "kernel": rng.integers(1, 6, (n, layers, 2)).astype(np.int16),
        "stride": rng.integers(1, 3, (n, layers)).astype(np.int16),  # (N, L): the same on both axes
        "padding": rng.integers(0, 3, (n, layers, 2)).astype(np.int16),
        "dilation": rng.integers(1, 3, (n, layers, 2)).astype(np.int16),
        "ceil_mode": rng.integers(0, 2, (n, layers, 2)).astype(bool),
        "depth": rng.integers(0, layers + 1, n),
    }
    np.savez(tmp_path / "stacks.npz", id=np.arange(100, 100 + n), **arrays)
    code, _, _ = run(capsys, "batch", tmp_path / "stacks.npz", "-i", "40x30", "-o", tmp_path / "out.npz")
    assert code == 0
    want = batch_receptive_fields(**arrays, input_size=(40, 30))
    with np.load(tmp_path / "out.npz") as got:
        assert np.array_equal(got["id"], np.arange(100, 100 + n))
        for name in ("rf", "jump", "effective_padding", "output_size", "status", "valid", "center"):
            assert np.array_equal(got[name], getattr(want, name)), name
        assert got["rf"].shape == (n, 2)
        assert (got["status"] == Status.COLLAPSED).any()  # small inputs: some stacks collapse


def test_npz_ragged_to_csv(tmp_path, capsys):
    np.savez(tmp_path / "stacks.npz", kernel=np.array([[3, 2, 3, 2], [3, 3, 9, 9]]),
             stride=np.array([[1, 2, 1, 2], [1, 1, 0, 0]]), padding=np.array([[1, 0, 1, 0], [0, 0, 0, 0]]),
             depth=np.array([4, 2]))  # fmt: skip  (stack 1 ignores its last two layers, stride 0 included)
    code, out, _ = run(capsys, "batch", tmp_path / "stacks.npz", "-i", "32")
    assert code == 0
    assert [(r["rf"], r["output_size"]) for r in read_csv(out)] == [("10", "8"), ("5", "28")]


def test_text_to_npz(tmp_path, capsys):
    path = write_csv(tmp_path / "stacks.csv", [["a", SEED], ["b", "conv3s2,conv3s2,conv3s2,conv3s2"]])
    code, _, _ = run(capsys, "batch", path, "-i", "16", "-o", tmp_path / "out.npz")
    assert code == 0
    with np.load(tmp_path / "out.npz") as got:  # np.load refuses pickles by default: text, not objects
        assert got["id"].tolist() == ["a", "b"]
        assert got["rf"].tolist() == [10, 31] and got["output_size"].tolist() == [4, 0]
        assert got["status"].tolist() == [Status.OK, Status.COLLAPSED] and got["valid"].tolist() == [True, False]


def test_parquet_needs_pyarrow(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now fails, installed or not
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    path = write_csv(tmp_path / "stacks.csv", [[1, SEED]])
    for argv in (["batch", tmp_path / "stacks.parquet"], ["batch", path, "-o", tmp_path / "out.parquet"]):
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == ""
        assert err == "rfsearch: error: Parquet needs pyarrow, which is not installed: pip install rfsearch[parquet]\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stacks.csv"]


def test_parquet_round_trip(tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"id": [1, 2, 3], "spec": [SEED, "conv1x7p0x3", "conv3s2,conv3s2,conv3s2"]}),
                   tmp_path / "stacks.parquet")  # fmt: skip
    code, _, _ = run(capsys, "batch", tmp_path / "stacks.parquet", "-i", "8", "-o", tmp_path / "out.parquet",
                     "--chunk-rows", "2")  # fmt: skip
    assert code == 0
    got = pq.read_table(tmp_path / "out.parquet").to_pydict()
    assert got["id"] == [1, 2, 3] and got["rf_0"] == [10, 1, 15] and got["rf_1"] == [10, 7, 15]
    assert got["status"] == ["ok", "ok", "collapsed"] and got["valid"] == [True, True, False]
    pq.write_table(pa.table({"spec": ["conv3", "conv3s0"]}), tmp_path / "bad.parquet")
    code, _, err = run(capsys, "batch", tmp_path / "bad.parquet")
    assert code == 2 and "bad.parquet: row 1: layer 0: stride must be >= 1, got 0" in err


# ----------------------------------------------------------------------------- errors


def test_error_names_file_line_layer_field(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = [[i, SEED] for i in range(5)] + [[5, "conv3,conv3,conv3s0"]]
    write_csv(tmp_path / "stacks.csv", rows)
    code, out, err = run(capsys, "batch", "stacks.csv", "-o", "out.csv")
    assert (code, out) == (2, "")
    assert err == "rfsearch: error: stacks.csv:7: layer 2: stride must be >= 1, got 0\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stacks.csv"]  # no partial output left behind


TEXT_ERRORS = [
    ("s.csv", 'id,spec\n1,conv3\n2,conv3,maxpool2\n', [], "s.csv:3: expected 2 fields as in the header, got 3 "
     "(quote the spec: it contains commas)"),
    ("s.csv", "id,layers\n1,conv3\n", [], "s.csv:1: no 'spec' column in the header (columns: id, layers)"),
    ("s.csv", "", [], "s.csv: empty file: expected a header row with a 'spec' column"),
    ("s.csv", "spec,id,id\nconv3,1,2\n", [], "s.csv:1: column 'id' appears twice in the header"),
    ("s.csv", 'spec\nconv3\n"conv3,bogus"\n', [], "s.csv:3: layer 1: cannot parse 'bogus'"),
    ("s.csv", 'spec\n""\n', [], "s.csv:2: empty spec"),
    ("s.csv", 'spec\n"conv3,\nconv3"\nconv3p-1\n', [], "s.csv:4: layer 0: cannot parse 'p-1'"),
    ("s.csv", 'spec\nconv1x7p0x3\nconv3\n"conv3,conv3x3x3"\n', [],
     "s.csv:4: layer 1: conv3x3x3 has 3 axes but the stack at s.csv:2 has 2"),
    ("s.csv", "spec\nconv3\nconv1x7\n", ["-i", "8x8x8"], "s.csv:3: layer 0: conv1x7 has 2 axes but the input size "
     "8x8x8 has 3"),
    ("s.csv", 'spec\nconv3\n"conv3,conv3s2psame"\n', [], "s.csv:3: layer 1: conv3s2psame: padding 'same' with "
     "stride 2 depends on the input size"),
    ("s.csv", "spec,rf\nconv3,1\n", [], "s.csv: input column 'rf' has the name of an output column"),
    ("s.csv", 'spec\nconv99999999999999999999\n', [], "s.csv:2: layer 0: kernel is larger than the int64 range, "
     "got 99999999999999999999"),
    ("s.jsonl", '{"spec": "conv3"}\n{"spec": conv3}\n', [], "s.jsonl:2: not valid JSON: Expecting value"),
    ("s.jsonl", '\n[1]\n', [], "s.jsonl:2: expected a JSON object, got list"),
    ("s.jsonl", '{"id": 1}\n', [], "s.jsonl:1: give 'spec' (compact text) or 'layers'"),
    ("s.jsonl", '{"spec": "conv3", "layers": []}\n', [], "s.jsonl:1: give 'spec' (compact text) or 'layers' "
     "(a list of layer objects), not both"),
    ("s.jsonl", '{"spec": 3}\n', [], "s.jsonl:1: a stack must be compact text"),
    ("s.jsonl", '{"layers": []}\n', [], "s.jsonl:1: empty stack"),
    ("s.jsonl", '{"layers": ["conv3", {"type": "conv", "kernel_size": 3, "strid": 2}]}\n', [],
     "s.jsonl:1: layer 1: unknown key 'strid'"),
    ("s.jsonl", '{"layers": [{"type": "maxpool", "kernel_size": 2, "stride": 0}]}\n', [],
     "s.jsonl:1: layer 0: stride must be >= 1, got 0"),
    ("s.jsonl", '{"layers": [{"type": "conv", "kernel_size": [3, 3]}]}\n{"layers": [{"type": "conv", "kernel_size": '
     '[3, 3, 3]}]}\n', [], "s.jsonl:2: layer 0: conv3x3x3 has 3 axes but the stack at s.jsonl:1 has 2"),
    ("s.jsonl", '{"layers": [7]}\n', [], "s.jsonl:1: layer 0: a layer must be a mapping like {type: conv, kernel_size: 3} or a compact token"),
    ("s.jsonl", '{"id": 1, "spec": "conv3"}\n{"id": 2, "x": 1, "spec": "conv3"}\n', [],
     "s.jsonl:2: key 'x' is not in the first record (keys: id)"),
    ("s.csv", b"spec\nconv3\xff\n", [], "s.csv:2: not UTF-8 text (invalid start byte at byte 10)"),
    ("s.txt", "spec\nconv3\n", [], "s.txt: cannot tell the format from the suffix '.txt'"),
    ("s.csv", "spec\nconv3\n", ["-o", "out.xlsx"], "out.xlsx: cannot tell the format from the suffix '.xlsx'"),
    ("s.csv", "spec\nconv3\n", ["-f", "npz"], "npz output is binary: write it to a file with -o OUT"),
    ("s.csv", "spec\nconv3\n", ["--threads", "0"], "--threads must be 1 or more, or -1 for all cores, got 0"),
    ("s.csv", "spec\nconv3\n", ["--chunk-rows", "0"], "--chunk-rows must be >= 1, got 0"),
    ("s.csv", "spec\nconv3\n", ["-i", "0"], "input size must be positive integers, got 0 on axis 0"),
    ("s.csv", "spec\nconv3\n", ["--input-format", "npz"], "s.csv: not an NPZ archive"),
]


@pytest.mark.parametrize("name, content, extra, message", TEXT_ERRORS)
def test_text_errors_are_one_line_exit_2(tmp_path, capsys, monkeypatch, name, content, extra, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    code, out, err = run(capsys, "batch", name, *extra)
    assert (code, out) == (2, "")
    assert err.startswith("rfsearch: error: ") and message in err, err
    assert len(err.splitlines()) == 1


def _npz(path, **arrays):
    np.savez(path, **arrays)


NPZ_ERRORS = [
    ({"kernel": np.array([[3, 3], [3, 3]]), "stride": np.array([[1, 1], [1, 0]])}, [],
     "s.npz: stack 1, layer 1, axis 0: stride must be >= 1, got 0"),
    ({"stride": np.array([[1]])}, [], "s.npz: no 'kernel' array (arrays: stride)"),
    ({"kernel": np.array([[3.0]])}, [], "s.npz: kernel: expected an integer array, got dtype float64"),
    ({"kernel": np.array([3])}, [], "s.npz: kernel: expected shape (N, L) or (N, L, A), got (1,)"),
    ({"kernel": np.array([[3]]), "strides": np.array([[1]])}, [], "s.npz: array 'strides' has shape (1, 1)"),
    ({"kernel": np.array([[3]]), "stride": np.array([[1, 1]])}, [], "s.npz: stride: shape"),
    ({"kernel": np.ones((1, 2, 2), int)}, ["-i", "4x4x4"], "s.npz: input_size: expected 2 values (one per axis)"),
    ({"kernel": np.array([[3]]), "id": np.array([{}], dtype=object)}, [], "s.npz: cannot read NPZ array"),
]


@pytest.mark.parametrize("arrays, extra, message", NPZ_ERRORS)
def test_npz_errors_are_one_line_exit_2(tmp_path, capsys, monkeypatch, arrays, extra, message):
    monkeypatch.chdir(tmp_path)
    np.savez("s.npz", **arrays)
    code, out, err = run(capsys, "batch", "s.npz", *extra)
    assert (code, out) == (2, "")
    assert err.startswith("rfsearch: error: ") and message in err, err
    assert len(err.splitlines()) == 1


def test_unreadable_inputs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("single.npy", np.ones(3))
    (tmp_path / "single.npy").rename(tmp_path / "fake.npz")
    for argv, message in [(["missing.csv"], "missing.csv: cannot read batch file: No such file or directory"),
                          (["missing.npz"], "missing.npz: cannot read batch file: No such file or directory"),
                          (["fake.npz"], "fake.npz: not an NPZ archive"),
                          ([".", "--input-format", "csv"], ".: cannot read batch file")]:  # fmt: skip
        code, _, err = run(capsys, "batch", *argv)
        assert code == 2 and message in err and len(err.splitlines()) == 1, err


def test_unwritable_output(tmp_path, capsys):
    path = write_csv(tmp_path / "stacks.csv", [[1, SEED]])
    out = tmp_path / "no-such-dir" / "out.csv"
    code, _, err = run(capsys, "batch", path, "-o", out)
    assert code == 2 and err == f"rfsearch: error: {out}: cannot write output: No such file or directory\n"


def test_debug_shows_traceback(tmp_path):
    path = write_csv(tmp_path / "stacks.csv", [[1, "conv3s0"]])
    with pytest.raises(ValueError, match="stacks.csv:2: layer 0: stride must be >= 1"):
        main(["--debug", "batch", str(path)])


# ----------------------------------------------------------------------------- plumbing


def test_progress_reported_per_chunk(tmp_path, capsys, monkeypatch):
    calls = []

    class Recorder:
        def __call__(self, done, total):
            calls.append((done, total))

        def stop(self):
            calls.append("stop")

    monkeypatch.setattr(batch_cli, "_ProgressBar", Recorder)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    path = write_csv(tmp_path / "stacks.csv", [[i, SEED] for i in range(10)])
    size = path.stat().st_size
    assert run(capsys, "batch", path, "--chunk-rows", "4")[0] == 0
    assert len(calls) == 4 and calls[-1] == "stop"
    done = [c[0] for c in calls[:-1]]
    assert done == sorted(done) and done[-1] == size and all(c[1] == size for c in calls[:-1])
    calls.clear()
    assert run(capsys, "batch", path, "--chunk-rows", "4", "--no-progress")[0] == 0
    assert calls == []


def test_progress_bar_skips_single_chunk_files():
    bar = batch_cli._ProgressBar()
    bar(100, 100)  # the first report is already the end: no bar
    assert bar._bar is None
    bar.stop()


def test_api_writes_to_a_stream(tmp_path):
    path = write_csv(tmp_path / "stacks.csv", [[1, SEED]])
    out = io.StringIO()
    assert batch_io.score_file(path, out, output_format="jsonl", input_size=32) == 1
    assert json.loads(out.getvalue())["rf"] == [10]
    with pytest.raises(ValueError, match="give output_format"):
        batch_io.score_file(path, io.StringIO())


def test_api_does_not_import_the_cli(tmp_path):
    # Run outside the source tree: from the repo root, `python -c` would import the unbuilt sources.
    code = "import sys, rfsearch, rfsearch.io; assert 'rfsearch.cli' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=False).returncode == 0


def test_console_script(tmp_path):
    path = write_csv(tmp_path / "stacks.csv", [["seed", SEED], ["bad", "conv3s0"]])
    proc = subprocess.run(["rfsearch", "batch", str(path), "-i", "32"], capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"rfsearch: error: {path}:3: layer 0: stride must be >= 1, got 0\n"
    write_csv(path, [["seed", SEED]])
    proc = subprocess.run(["rfsearch", "batch", str(path), "-i", "32", "-o", "-"], capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[1] == "seed,10,4,3,8,1.5,True,ok"


@pytest.mark.parametrize("value, message", [
    ("0", "--threads must be 1 or more, or -1 for all cores, got 0"),
    ("-5", "--threads must be >= -1, got -5"),
    ("1e3", "--threads must be a whole number, got '1e3'"),
    ("2.5", "--threads must be a whole number, got '2.5'"),
    ("99999999999999999999999", "--threads is larger than the int64 range, got 99999999999999999999999"),
    ("9" * 5000, "--threads is larger than the int64 range, got a number of 5000 digits"),
])  # fmt: skip
def test_threads_are_checked_in_one_line(tmp_path, capsys, value, message):
    path = write_csv(tmp_path / "stacks.csv", [[1, SEED]])
    code, out, err = run(capsys, "batch", path, "-j", value)
    assert (code, out) == (2, "") and err == f"rfsearch: error: {message}\n"


def test_more_threads_than_cores_are_capped(tmp_path, capsys, monkeypatch):
    import os

    seen = []
    real = batch_cli.score_file
    monkeypatch.setattr(batch_cli, "score_file", lambda *a, **k: seen.append(k["threads"]) or real(*a, **k))
    path = write_csv(tmp_path / "stacks.csv", [[i, s] for i, s in enumerate(SPECS_1D)])
    outputs = [run(capsys, "batch", path, "-i", "32", "-j", j)[1] for j in ("60000", "1", "-1")]
    assert seen == [os.cpu_count(), 1, -1] and outputs[0] == outputs[1] == outputs[2]
