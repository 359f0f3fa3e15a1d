"""`rfsearch compute` on graphs (files with nodes, zoo:NAME, stdin), --alignment, `rfsearch zoo`,
and a zoo model computed without numpy, PyYAML or rich being imported."""

import io
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from rfsearch.cli import main
from rfsearch.graph import compute_graph, zoo_entries, zoo_names

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "graphs"
NODE_KEYS = {"id", "rf", "rf_min", "jump", "effective_padding", "center", "output_size"}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_graph_file_prints_one_row_per_node(capsys):
    code, out, err = run(capsys, "compute", str(EXAMPLES / "residual.yaml"))
    assert code == 0 and err == ""
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith("  ") and line.split()}
    assert rows["block"][:5] == ["add", "conv2,", "downsample", "9x9", "3x3"]  # id op inputs RF RF-min
    assert "aligned: yes" in out and "block: RF 9x9 (min over paths 3x3)" in out


def test_json_contract(capsys):
    code, out, _ = run(capsys, "compute", str(EXAMPLES / "unet_level.yaml"), "-f", "json", "-u", "3")
    d = json.loads(out)
    assert code == 0 and d["aligned"] is True and d["misaligned"] == []
    assert all(NODE_KEYS <= set(n) for n in d["nodes"])
    expected = compute_graph(EXAMPLES / "unet_level.yaml")
    assert d["rf"] == list(expected.rf) == [18] and d["rf_min"] == [9] and d["output_size"] == [52]
    up = next(n for n in d["nodes"] if n["id"] == "up")
    assert up["period"] == [2] and d["unit"]["interval"] == [list(expected.unit(3).interval[0])]


def test_stdin_graph_and_fractions_as_strings(capsys, monkeypatch):
    text = b"input_size: 5\nnodes:\n  - {id: up, op: conv_transpose, kernel_size: 3, stride: 2, padding: 1, output_padding: 1}\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text)))
    code, out, _ = run(capsys, "compute", "-", "-f", "json")
    d = json.loads(out)
    assert code == 0 and d["jump"] == ["1/2"] and d["rf"] == [2] and d["rf_min"] == [1] and d["output_size"] == [10]
    assert Fraction(d["nodes"][0]["jump"][0]) == Fraction(1, 2)


def test_alignment_error_warn_ignore(capsys):
    path = str(EXAMPLES / "fpn_nearest.yaml")  # the file says `alignment: warn`
    code, out, err = run(capsys, "compute", path)
    assert code == 0 and err.startswith("rfsearch: warning: node 'p1', axis 0: the inputs are not aligned")
    assert len(err.splitlines()) == 1 and "aligned: NO (1 merge(s))" in out
    code, out, err = run(capsys, "compute", path, "--alignment", "error")
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert err.startswith(f"rfsearch: error: {path}:") and "node 'p1', axis 0" in err and "--alignment" in err
    code, out, err = run(capsys, "compute", path, "--alignment", "ignore", "-f", "json")
    d = json.loads(out)
    assert code == 0 and err == "" and d["aligned"] is False
    assert [m["node"] for m in d["misaligned"]] == ["p1"] and d["misaligned"][0]["paths"][1]["center"] == "-1/2"


def test_zoo_models_anywhere_a_spec_goes(capsys):
    code, out, _ = run(capsys, "compute", "zoo:vgg16", "-i", "224", "-f", "json")
    d = json.loads(out)
    assert code == 0 and (d["rf"], d["jump"], d["effective_padding"]) == ([212, 212], [32, 32], [90, 90])
    code, out, _ = run(capsys, "compute", "zoo:resnet50", "-f", "csv")
    header, *rows = out.strip().splitlines()
    assert header.startswith("id,op,inputs,rf_0,rf_1") and rows[-1].startswith("fc,linear,flatten,224,224")
    code, out, _ = run(capsys, "compute", "zoo:resnet_v1_50", "-i", "321")
    assert code == 0 and "resnet_v1_50/block4: RF 483x483" in out and "effective padding 241x241" in out
    code, out, err = run(capsys, "compute", "zoo:resnet5")
    assert code == 2 and out == "" and err.startswith("rfsearch: error: no built-in model 'resnet5' (known: alexnet")
    code, out, err = run(capsys, "compute", "zoo:resnet50", "-i", "224x224x224")  # a 2-D model, 3 axes
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "input size 224x224x224 has 3 axes but the graph's own input size 224x224 has 2" in err


def test_layer_lists_stay_stacks_and_print_as_today(tmp_path, capsys):
    path = tmp_path / "net.yaml"
    path.write_text("- conv3s1p1\n- maxpool2s2\n")
    code, from_file, _ = run(capsys, "compute", str(path), "-i", "32")
    code2, from_text, _ = run(capsys, "compute", "conv3s1p1,maxpool2s2", "-i", "32")
    assert code == code2 == 0 and from_file == from_text and "  #   layer" in from_file


def test_zoo_listing(capsys):
    code, out, _ = run(capsys, "zoo")
    assert code == 0
    for entry in zoo_entries():
        line = next(line for line in out.splitlines() if line.split()[:1] == [entry.name])
        assert line.split()[1] == ("-" if entry.published_rf is None else str(entry.published_rf))
    assert "resnet50" in out and "427" in out and "zoo:resnet50" in out
    code, out, _ = run(capsys, "zoo", "-f", "json")
    listed = json.loads(out)
    assert [e["name"] for e in listed] == zoo_names() and {"description", "published_rf", "source"} <= set(listed[0])


def test_every_published_rf_is_what_the_zoo_computes():
    for entry in zoo_entries():
        if entry.published_rf is not None:
            assert compute_graph(f"zoo:{entry.name}").rf[0] == entry.published_rf, entry.name


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "compute" in out and "batch" in out and "zoo" in out
    with pytest.raises(SystemExit):
        main(["compute", "--help"])
    assert "--alignment {error,warn,ignore}" in capsys.readouterr().out


def test_a_zoo_model_imports_no_numpy_yaml_or_rich():
    code = ("import sys, io; from rfsearch.cli.main import main; sys.stdout = io.StringIO(); "
            "assert main(['compute', 'zoo:resnet50']) == 0; sys.stdout = sys.__stdout__; "
            "print(sorted(m for m in ('numpy', 'yaml', 'rich') if m in sys.modules))")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
