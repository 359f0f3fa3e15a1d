"""`rfsearch sample SPACE -n N`: JSON and CSV entries, seeds, files, errors (one line, exit 2)."""

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

from rfsearch import receptive_field
from rfsearch.cli import main
from rfsearch.search import load_space

ROOT = Path(__file__).resolve().parents[1]
SPACES = ROOT / "examples" / "spaces"
KEYS = ["spec", "choices", "depth", "rf", "jump", "output_size", "params", "macs", "objective", "blind_spots"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_entries_are_feasible_and_compute_accepts_their_spec(capsys):
    code, out, err = run(capsys, "sample", SPACES / "imagenet_stem.yaml", "-n", "5", "--seed", "3")
    assert code == 0, err
    entries = json.loads(out)
    assert len(entries) == 5 and all(list(e) == KEYS for e in entries)
    space = load_space(SPACES / "imagenet_stem.yaml")
    for e in entries:
        assert 180 <= e["rf"][0] <= 260 and e["jump"] == [32] and e["output_size"] == [7]
        assert e["objective"] == e["macs"] and isinstance(e["params"], int)
        computed = receptive_field(e["spec"], 224)  # what `rfsearch compute SPEC -i 224` computes
        assert list(computed.rf) == e["rf"] and list(computed.output_size) == e["output_size"]
        assert list(computed.blind_spots) == e["blind_spots"]
        assert space.stack(e["choices"]) == tuple(receptive_field(e["spec"], 224).layers[i].layer
                                                  for i in range(e["depth"]))  # fmt: skip
    code, again, _ = run(capsys, "sample", SPACES / "imagenet_stem.yaml", "-n", "5", "--seed", "3", "--backend",
                         "python")  # fmt: skip
    assert code == 0 and again == out  # same seed, same stacks, either counter


def test_compute_runs_the_sampled_spec():
    out = subprocess.run(["rfsearch", "sample", str(SPACES / "tcn_history.yaml"), "-n", "1", "--seed", "0"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    entry = json.loads(out)[0]
    computed = subprocess.run(["rfsearch", "compute", entry["spec"], "-f", "json"], capture_output=True, text=True,
                              check=True).stdout  # fmt: skip
    data = json.loads(computed)
    assert data["rf"] == entry["rf"] and data["blind_spots"] == entry["blind_spots"] == [0]  # coverage: full


def test_csv_columns_per_axis_and_per_objective(capsys):
    code, out, err = run(capsys, "sample", SPACES / "audio_anisotropic.yaml", "-n", "4", "--seed", "1", "-f", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["spec", "choices", "depth", "rf_0", "rf_1", "jump_0", "jump_1", "output_size_0",
                             "output_size_1", "params", "macs", "objective_macs", "objective_depth",
                             "blind_spots_0", "blind_spots_1"]  # fmt: skip
    code, js, _ = run(capsys, "sample", SPACES / "audio_anisotropic.yaml", "-n", "4", "--seed", "1")
    for row, entry in zip(rows, json.loads(js)):
        assert row["spec"] == entry["spec"] and row["choices"].split() == [str(c) for c in entry["choices"]]
        assert [int(row["rf_0"]), int(row["rf_1"])] == entry["rf"]
        assert [int(row["objective_macs"]), int(row["objective_depth"])] == entry["objective"]
    code, out, _ = run(capsys, "sample", SPACES / "tcn_history.yaml", "-n", "2", "--seed", "1", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["output_size"] == "" and rows[0]["macs"] == ""  # no input size: none
    assert float(rows[0]["objective_rf_error"]) == abs(int(rows[0]["rf"]) - 130)


def test_output_file_and_seeds(capsys, tmp_path):
    target = tmp_path / "samples.json"
    code, out, _ = run(capsys, "sample", SPACES / "mstcn_dilations.yaml", "-n", "3", "--seed", "0", "-o", target)
    assert code == 0 and out == ""
    entries = json.loads(target.read_text())
    assert [e["depth"] for e in entries] == [40, 40, 40] and all(6000 <= e["rf"][0] <= 10000 for e in entries)
    code, other, _ = run(capsys, "sample", SPACES / "mstcn_dilations.yaml", "-n", "3", "--seed", "1")
    assert json.loads(other) != entries
    code, out, _ = run(capsys, "sample", SPACES / "mstcn_dilations.yaml", "-n", "0")
    assert code == 0 and json.loads(out) == []


@pytest.mark.parametrize("args, message", [
    (["-n", "x"], "-n must be a whole number"),
    (["-n", "-1"], "-n must be >= 0"),
    (["-n", "1", "--seed", "1.5"], "--seed must be a whole number"),
    (["-n", "1", "--seed", "99999999999999999999"], "--seed is larger than the int64 range"),
    (["-n", "1", "--max-draws", "0"], "--max-draws must be >= 1"),
])  # fmt: skip
def test_bad_options(capsys, args, message):
    code, out, err = run(capsys, "sample", SPACES / "tcn_history.yaml", *args)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


def test_bad_spaces_and_no_feasible_stack(capsys, tmp_path):
    code, _, err = run(capsys, "sample", tmp_path / "missing.yaml", "-n", "1")
    assert code == 2 and "missing.yaml: cannot read: No such file or directory" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("depth: 2\nlayers:\n  kernel: [3, 0]\n")
    code, _, err = run(capsys, "sample", bad, "-n", "1")
    assert code == 2 and "bad.yaml:3: layers.kernel[1]: kernel must be >= 1, got 0" in err
    none = tmp_path / "none.yaml"
    none.write_text("depth: 1\nlayers: {kernel: 3}\ntargets: {rf: 5}\n")
    code, _, err = run(capsys, "sample", none, "-n", "1")
    assert code == 2 and "no feasible stack" in err
    gridded = tmp_path / "gridded.yaml"
    gridded.write_text("depth: 2\nlayers: {kernel: 3, dilation: 2}\ntargets: {coverage: full}\n")
    code, _, err = run(capsys, "sample", gridded, "-n", "1", "--max-draws", "5")
    assert code == 2 and "found 0 of 1 feasible stacks in 5 draws" in err


@pytest.mark.parametrize("fmt", ["json", "csv"])
@pytest.mark.parametrize("n", [0, 1, pytest.param(4096, marks=pytest.mark.slow), pytest.param(4097, marks=pytest.mark.slow)])
# the CLI writes 4096 entries at a time; drawing 4097 takes ~4 s (CI and --run-slow)
def test_output_is_streamed_in_chunks_and_equals_the_whole(capsys, monkeypatch, fmt, n):
    # -n 10**9 held every entry (and the whole text) in memory before writing anything
    from rfsearch.cli.sample import entries_csv, entries_json
    from rfsearch.search import sample

    space_file = SPACES / "tcn_history.yaml"
    space = load_space(space_file)
    whole = sample(space, n, seed=3)
    want = entries_json(whole, len(space.objective) > 1) + "\n" if fmt == "json" else \
        entries_csv(whole, space.ndim, space.objective)  # fmt: skip
    code, out, err = run(capsys, "sample", space_file, "-n", n, "--seed", 3, "-f", fmt)
    assert code == 0 and err == "" and out == want
