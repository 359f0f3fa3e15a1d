"""Hostile input through `rfsearch compute` (and `batch`, for the same mistakes): exit code 2, one
line on stderr naming what and where, no traceback, nothing on stdout, bounded time."""

import importlib
import json
import subprocess
import sys
import time

import pytest

from rfsearch.cli import main
from rfsearch.results.network import LayerRF, RFResult

BIG = "9" * 5000
cli_main = importlib.import_module("rfsearch.cli.main")  # the module (rfsearch.cli.main is also the function)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, out, err, message):
    assert (code, out) == (2, ""), (code, out, err)
    assert err.startswith("rfsearch: error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err and message in err, err
    assert len(err) < 600


# name -> file contents (str or bytes); argv refers to the files by name
FILES = {
    "relu": "- conv7s2\n",
    "alias.yaml": "a: &a [conv3, conv3, conv3, conv3, conv3, conv3, conv3, conv3, conv3, conv3]\n"
    + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh"))
    + "layers: *h\n",
    "deep.yaml": "[" * 100_000 + "]" * 100_000,
    "deep.json": "[" * 100_000 + "]" * 100_000,
    "deepmap.yaml": "a:\n" + "".join(" " * i + "a:\n" for i in range(1, 200)),
    "latin1.yaml": b"- {type: conv, kernel_size: 3, name: caf\xe9}\n",
    "utf16.json": '["conv3"]'.encode("utf-16"),
    "nonstr.yaml": "- conv3\n- {type: conv, 3: 3}\n",
    "boolkey.yaml": "- {type: conv, kernel_size: 3, true: 1}\n",
    "dup.yaml": "- conv3\n-\n  type: conv\n  kernel_size: 3\n  kernel_size: 5\n",
    "dup.json": '[\n{"type": "conv",\n "kernel_size": 3,\n "kernel_size": 5}]',
    "nan.yaml": "- conv3\n- {type: conv, kernel_size: .nan}\n",
    "nan.json": '[\n{"type": "conv", "kernel_size": NaN}]',
    "inf.json": '[{"type": "conv",\n "kernel_size": Infinity}]',
    "huge.yaml": f"- {{type: conv, kernel_size: 3, stride: {BIG}}}\n",
    "huge.json": f'{{"input_size": {BIG}, "layers": ["conv3"]}}',
    "float.json": '[{"type": "conv", "kernel_size": 3.5}]',
    "markup.yaml": '- {type: conv, kernel_size: 3, name: "[/bold]"}\n- {type: conv, kernel_size: 3, name: 5}\n',
    "escape.yaml": '- {type: conv, kernel_size: 3, name: "\\e[2J\\e[31mowned"}\n',
    "tag.yaml": "- !!python/object/apply:os.system [echo owned]\n",
    "twodocs.yaml": "- conv3\n---\n- conv5\n",
    "octal.yaml": "- {type: conv, kernel_size: 010}\n",
    "empty.yaml": "",
    "scalar.json": '"conv3,relu"',
    "tokens.yaml": "- conv3\n- Conv2d3\n",
}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["Conv2d3"], "layer 0: cannot parse 'Conv2d3': 'Conv2d' reads like a PyTorch layer name"),
        (["conv3,Conv2d3"], "layer 1: cannot parse 'Conv2d3'"),
        (["conv99999999999999999999"], "layer 0: kernel is larger than the int64 range, got 99999999999999999999"),
        ([f"conv{BIG}"], "layer 0: kernel is larger than the int64 range, got a number of 5000 digits"),
        ([f"conv3s{BIG}"], "layer 0: stride is larger than the int64 range, got a number of 5000 digits"),
        ([f"conv3p1x{BIG}"], "layer 0, axis 1: padding is larger than the int64 range, got a number of 5000 digits"),
        ([f"conv3d{BIG}"], "layer 0: dilation is larger than the int64 range"),
        (["conv3", "-i", BIG], "input size is larger than the int64 range, got a number of 5000 digits"),
        (["conv3", "-i", f"32x{BIG}"], "axis 1: input size is larger than the int64 range"),
        (["conv3", "-i", "3.5"], "input size must look like 32 or 224x224, got '3.5'"),
        (["conv3", "-i", "32", "-u", BIG], "unit index is larger than the int64 range, got a number of 5000 digits"),
        (["conv3", "-i", "32", "-u", "1.5"], "unit index must look like 3 or 3x4, got '1.5'"),
        (["conv3", "-i", "32", "-u", "-1"], "unit index must be >= 0, got -1"),
        (["conv3", "-i", "32x32", "-u", "1x2x3"], "unit index needs 2 values (one per axis), got 3"),
        (["conv03"], "numbers have no leading zeros"),
        (["conv3,,relu"], "layer 1: empty token"),
        (["conv3 s2"], "white space inside a token"),
        (["conv3\x1b[31m"], "cannot parse '\\x1b[31m' in 'conv3\\x1b[31m'"),  # escapes never reach the terminal
        (["conv3\nrelu"], "white space inside a token"),
        (["zoo:resnet5"], "no built-in model 'resnet5' (known: alexnet"),
        (["graph:net.onnx"], "unknown SPEC prefix 'graph:'"),
        (["missing.yaml"], "missing.yaml: cannot read: No such file or directory"),
        (["file:missing"], "missing: cannot read: No such file or directory"),
        (["file:."], ".: is a directory, not a file"),
        (["alias.yaml"], "alias.yaml:5: aliases expand to more than 100,000 values"),
        (["deep.yaml"], "deep.yaml:1: nested deeper than 64 levels"),
        (["deep.json"], "deep.json:1: nested deeper than 64 levels"),
        (["deepmap.yaml"], "deepmap.yaml:65: nested deeper than 64 levels"),
        (["latin1.yaml"], "latin1.yaml:1: not UTF-8 text: byte 0xe9 at column 41"),
        (["utf16.json"], "utf16.json:1: not UTF-8 text: byte 0xff"),
        (["nonstr.yaml"], "nonstr.yaml:2: mapping keys must be text, got 3"),
        (["boolkey.yaml"], "boolkey.yaml:1: mapping keys must be text, got True"),
        (["dup.yaml"], "dup.yaml:5: duplicate key 'kernel_size' (first at line 4)"),
        (["dup.json"], "dup.json:4: duplicate key 'kernel_size'"),
        (["nan.yaml"], "nan.yaml:2: layer 1: kernel must be an integer, got nan"),
        (["nan.json"], "nan.json:2: NaN is not a number JSON allows"),
        (["inf.json"], "inf.json:2: Infinity is not a number JSON allows"),
        (["huge.yaml"], "huge.yaml:1: layer 0: stride is larger than the int64 range, got a number of 5000 digits"),
        (["huge.json"], "huge.json:1: input size is larger than the int64 range, got a number of 5000 digits"),
        (["float.json"], "float.json:1: layer 0: kernel must be an integer, got 3.5"),
        (["escape.yaml"], "escape.yaml:1: layer 0: name must be printable text, got '\\x1b[2J\\x1b[31mowned'"),
        (["tag.yaml"], "tag.yaml:1: YAML tags are not supported here, got '!!python/object/apply:os.system'"),
        (["twodocs.yaml"], "twodocs.yaml:2: expected one YAML document"),
        (["octal.yaml"], "octal.yaml:1: '010': numbers with leading zeros are ambiguous"),
        (["empty.yaml"], "empty.yaml: expected a non-empty list of layers, got None"),
        (["scalar.json"], "scalar.json: expected a non-empty list of layers, got 'conv3,relu'"),
        (["tokens.yaml"], "tokens.yaml:2: layer 1: cannot parse 'Conv2d3'"),
    ],
)
def test_hostile_compute_inputs(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    for name, content in FILES.items():
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    start = time.perf_counter()
    code, out, err = run(capsys, "compute", *argv)
    assert_one_line_error(code, out, err, message)
    assert time.perf_counter() - start < 5


def test_same_named_file_is_not_read(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "relu").write_text("- conv7s2\n")
    code, out, _ = run(capsys, "compute", "relu", "-f", "json")
    assert code == 0 and json.loads(out)["rf"] == [1]  # the layer relu, not the file (RF 7 before)
    code, out, _ = run(capsys, "compute", "file:relu", "-f", "json")
    assert code == 0 and json.loads(out)["rf"] == [7]


def test_markup_names_print(tmp_path, capsys):
    path = tmp_path / "markup.yaml"
    path.write_text(FILES["markup.yaml"])
    code, out, err = run(capsys, "compute", str(path), "-i", "9")
    assert code == 0 and err == ""
    rows = [line.split() for line in out.splitlines()]
    assert ["0", "[/bold]", "3"] == rows[4][:3] and ["1", "5", "5"] == rows[5][:3]


def test_long_specs_are_text(capsys):
    code, out, _ = run(capsys, "compute", ",".join(["conv3p1", "relu"] * 20), "-f", "json")
    assert code == 0 and len(json.loads(out)["layers"]) == 40
    code, out, _ = run(capsys, "compute", ",".join(["conv3"] * 1000), "-f", "csv")  # 6,000 characters
    assert code == 0 and out.count("\n") == 1001


# --- compute and batch: the same message for the same mistake ---------------------------------------------

SAME_MISTAKES = ["conv99999999999999999999", f"conv{BIG}", "conv3s0", "Conv2d3", "conv03", "conv3 s2", "conv3x",
                 "conv2d", "ReLU", "maxpool2s2s2", "conv3c", f"conv3p0:{BIG}", "conv3p0:1x1:0x2:2x3:3,relu,conv0"]  # fmt: skip


@pytest.mark.parametrize("spec", SAME_MISTAKES)
def test_compute_and_batch_say_the_same(tmp_path, monkeypatch, capsys, spec):
    monkeypatch.chdir(tmp_path)
    code, _, compute_err = run(capsys, "compute", spec)
    assert code == 2
    (tmp_path / "stacks.csv").write_text(f'id,spec\n7,"{spec}"\n')
    code, _, batch_err = run(capsys, "batch", "stacks.csv")
    assert code == 2
    compute_message = compute_err.removeprefix("rfsearch: error: ")
    assert batch_err == f"rfsearch: error: stacks.csv:2: {compute_message}"
    (tmp_path / "stacks.jsonl").write_text(json.dumps({"id": 7, "spec": spec}) + "\n")
    code, _, jsonl_err = run(capsys, "batch", "stacks.jsonl")
    assert jsonl_err == f"rfsearch: error: stacks.jsonl:1: {compute_message}"


# --- a real process: no traceback, stdin, the console script -------------------------------------------------


@pytest.mark.parametrize(
    "argv, stdin, message",
    [
        (["compute", "-"], b"- conv3\n- {type: conv, kernel_size: 3, kernel_size: 4}\n", "<stdin>:2: duplicate key"),
        (["compute", "-"], b"[" * 100_000, "<stdin>:1: nested deeper than 64 levels"),
        (["compute", "-"], b"\xff\xfe", "<stdin>:1: not UTF-8 text"),
        (["compute", f"conv{BIG}"], b"", "layer 0: kernel is larger than the int64 range, got a number of 5000 digits"),
        (["compute", "conv3", "-i", "32", "-u", BIG], b"", "unit index is larger than the int64 range"),
    ],
)
def test_in_a_real_process(tmp_path, argv, stdin, message):
    proc = subprocess.run([sys.executable, "-m", "rfsearch.cli", *argv], input=stdin, capture_output=True,
                          cwd=tmp_path, timeout=60)  # fmt: skip
    err = proc.stderr.decode()
    assert proc.returncode == 2 and proc.stdout == b"" and "Traceback" not in err
    assert err.count("\n") == 1 and message in err, err


def test_stdin_spec_in_a_real_process(tmp_path):
    proc = subprocess.run(["rfsearch", "compute", "-", "-f", "json"], input=b'{"input_size": 32, "layers": '
                          b'["conv3p1", {"type": "MaxPool2d", "kernel_size": 2}]}', capture_output=True, cwd=tmp_path,
                          timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["output_size"] == [16]


# --- 100,000 layers through `rfsearch compute` ---------------------------------------------------------------


def _write_big_spec(path, n):
    layers = [{"type": "conv", "kernel_size": 3, "padding": 1, "name": f"block{i}.conv"} if i % 3 else {"type": "relu"}
              for i in range(n)]  # fmt: skip
    path.write_text(json.dumps({"input_size": 224, "layers": layers}, indent=1))


def _linear_receptive_field(layers, size, backend="cpp"):
    """An O(L) stand-in for the engine (stride 1, symmetric padding): the core's per-layer mode,
    written in parallel, is what `rfsearch compute` will call; this isolates read + render."""
    rows, rf, pad = [], 1, 0
    for i, layer in enumerate(layers):
        rf, pad = rf + layer.kernel - 1, pad + layer.padding
        rows.append(LayerRF(i, layer, (rf,), (1,), (pad,), (size[0] + 2 * pad - rf + 1,)))
    return RFResult(tuple(rows), size, 1, None)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_a_100k_layer_json_spec_through_compute(tmp_path, monkeypatch, capsys, fmt):
    path = tmp_path / "net.json"
    _write_big_spec(path, 100_000)
    monkeypatch.setattr(cli_main, "receptive_field", _linear_receptive_field)
    start = time.perf_counter()
    code, out, err = run(capsys, "compute", str(path), "-f", fmt)
    elapsed = time.perf_counter() - start
    assert code == 0 and err == ""
    if fmt == "json":
        assert json.loads(out)["rf"] == [133333]
    else:
        assert out.count("\n") >= 100_000 and "block99998.conv" in out
    print(f"compute -f {fmt}: {elapsed:.2f} s")
    assert elapsed < 8, elapsed


def test_a_2000_layer_json_spec_through_compute_end_to_end(tmp_path, capsys):
    # The real engine (O(L^2) until the core's per-layer mode lands; 100,000 layers then).
    path = tmp_path / "net.json"
    _write_big_spec(path, 2000)
    code, out, _ = run(capsys, "compute", str(path), "-f", "json")
    assert code == 0
    data = json.loads(out)
    assert data["rf"] == [1 + 2 * 1333] and data["layers"][1]["name"] == "block1.conv"
