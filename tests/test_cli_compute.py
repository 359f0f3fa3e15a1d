"""`rfsearch compute`: the seed example, formats, spec files, and one-line errors."""

import json
import subprocess
import sys

import pytest

from rfsearch.cli import main

SEED = "conv3s1p1,maxpool2s2,conv3s1p1,maxpool2s2"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_seed_example_json(capsys):
    code, out, err = run(capsys, "compute", SEED, "--input-size", "32x32", "--format", "json", "--unit", "2x3")
    assert code == 0 and err == ""
    d = json.loads(out)
    assert d["rf"] == [10, 10] and d["jump"] == [4, 4] and d["effective_padding"] == [3, 3]
    assert d["center"] == [1.5, 1.5] and d["output_size"] == [8, 8] and d["valid"] is True
    assert [row["rf"] for row in d["layers"]] == [[3, 3], [4, 4], [8, 8], [10, 10]]
    assert [row["output_size"] for row in d["layers"]] == [[32, 32], [16, 16], [16, 16], [8, 8]]
    assert d["unit"]["interval"] == [[5, 14], [9, 18]]


def test_seed_example_table(capsys):
    code, out, _ = run(capsys, "compute", SEED, "-i", "32")
    assert code == 0
    lines = [line.split() for line in out.splitlines() if line.strip()]
    rows = {cells[0]: cells[1:] for cells in lines if cells[0].isdigit()}
    assert rows["1"] == ["maxpool2", "4", "2", "1", "-1", "0.5", "16"]
    assert rows["3"] == ["maxpool2", "10", "4", "3", "-3", "1.5", "8"]
    assert "RF 10, jump 4, effective padding 3, output 8" in out
    assert "unit 0 sees input from -3, centre 1.5" in out


def test_csv_per_axis_columns(capsys):
    code, out, _ = run(capsys, "compute", "conv1x7p0x3,maxpool2", "-i", "16x16", "-f", "csv")
    assert code == 0
    header, first, second = out.strip().splitlines()
    assert header.startswith("index,name,rf_0,rf_1,jump_0,jump_1")
    assert first.startswith("0,conv1x7p0x3,1,7,")
    assert header.endswith(",output_size_0,output_size_1,blind_spots_0,blind_spots_1")
    assert second.split(",")[-4:] == ["8", "8", "0", "0"]


def test_spec_file_with_input_size(tmp_path, capsys):
    path = tmp_path / "net.yaml"
    path.write_text(
        "input_size: 32\n"
        "layers:\n"
        "  - {type: conv, kernel_size: 3, stride: 1, padding: 1}\n"
        "  - {type: maxpool, kernel_size: 2, stride: 2}\n"
        "  - conv3s1p1\n"
        "  - {type: maxpool, kernel_size: 2, stride: 2}\n"
    )
    code, out, _ = run(capsys, "compute", str(path), "-f", "json")
    assert code == 0 and json.loads(out)["output_size"] == [8]
    code, out, _ = run(capsys, "compute", str(path), "-f", "json", "-i", "64")
    assert json.loads(out)["output_size"] == [16]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compute", "conv3s0"], "rfsearch: error: layer 0: stride must be >= 1, got 0"),
        (["compute", "conv3,conv3x"], "rfsearch: error: layer 1: cannot parse"),
        (["compute", SEED, "-i", "32x0"], "input size must be positive integers, got 0 on axis 1"),
        (["compute", SEED, "-i", "32", "-u", "8"], "unit index on axis 0 must be >= 0 < 8, got 8"),
        (["compute", "missing.yaml"], "rfsearch: error: missing.yaml: cannot read: No such file or directory"),
        (["compute", "conv3s2psame"], "layer 0: conv3s2psame: padding 'same' with stride 2 depends on the input size"),
        (["compute", "conv3p1x1x1,maxpool2x2"], "layer 1: layer has 2 axes but earlier layers have 3"),
    ],
)
def test_errors_are_one_line_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_spec_file_error_names_file_and_line(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("- {type: conv, kernel_size: 3}\n\n- {type: maxpool, kernel_size: 2, strid: 2}\n")
    code, _, err = run(capsys, "compute", str(path))
    assert code == 2
    assert f"{path}:3: layer 1: unknown key 'strid'" in err


def test_debug_shows_traceback(capsys):
    with pytest.raises(ValueError):
        main(["--debug", "compute", "conv3s0"])


def test_console_script_installed(tmp_path):
    proc = subprocess.run(["rfsearch", "compute", SEED, "--input-size", "32", "-f", "json"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rf"] == [10]
    # Outside the source tree: from the repo root, `python -m` would import the unbuilt sources.
    proc = subprocess.run([sys.executable, "-m", "rfsearch.cli", "compute", "conv0"], cwd=tmp_path,
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_help_states_the_spec_rule_and_grammar(capsys):
    with pytest.raises(SystemExit) as e:
        main(["compute", "--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0
    for text in ("never by which files exist", "file:PATH", "zoo:NAME", "standard input", ".yaml, .yml or .json",
                 "Conv2d3 is refused", "lowercase"):  # fmt: skip
        assert text in out


def test_unit_index_takes_numpy_integers_and_refuses_floats():
    import numpy as np

    from rfsearch import SpecError, receptive_field

    r = receptive_field(SEED, (32, 32))
    assert r.unit(np.int64(2)) == r.unit(2) == r.unit((2, 2)) == r.unit(np.array([2, 2]))
    with pytest.raises(SpecError, match="unit index must be an integer, got 1.5"):
        r.unit(1.5)
    with pytest.raises(SpecError, match="axis 1: unit index must be an integer, got True"):
        r.unit((1, True))
    with pytest.raises(SpecError, match="unit index is larger than the int64 range"):
        r.unit(2**64)


@pytest.mark.parametrize("args, message", [
    (["zoo", "x"], "rfsearch: error: unrecognized arguments: x (see rfsearch -h)"),
    (["compute", "--bogus", "conv3"], "rfsearch: error: unrecognized arguments: --bogus (see rfsearch -h)"),
    (["sweep"], "rfsearch sweep: error: the following arguments are required: SPACE (see rfsearch sweep -h)"),
    (["sample", "x.yaml"], "rfsearch sample: error: the following arguments are required: -n (see rfsearch sample -h)"),
    (["bogus"], "rfsearch: error: argument command: invalid choice: 'bogus'"),
    (["compute", "conv3", "-f", "xml"], "rfsearch compute: error: argument -f/--format: invalid choice: 'xml'"),
    (["plot", "growth"], "rfsearch plot: error: the following arguments are required: TARGET, -o"),
    (["inspect"], "rfsearch inspect: error: the following arguments are required: MODEL"),
    (["search", "x.yaml", "--mode", "deep"], "rfsearch search: error: argument --mode: invalid choice: 'deep'"),
])  # fmt: skip
def test_argument_errors_are_one_line_in_every_command(args, message):
    # argparse printed the whole usage first (2 to 8 lines); only `search` had made it one line
    proc = subprocess.run(["rfsearch", *args], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == "", proc
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith(message), proc.stderr
