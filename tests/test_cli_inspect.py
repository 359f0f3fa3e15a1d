"""`rfsearch inspect MODEL`: the per-node table / JSON / CSV of a PyTorch or ONNX model, and one
clear line with exit code 2 for every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="inspect of Python models needs PyTorch")

from rfsearch.cli.main import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "examples" / "torchvision_models.py"


def run(capsys, *args):
    code = main(["inspect", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_of_resnet50_has_the_graph_fields(capsys):
    code, out, err = run(capsys, f"{MODELS}:resnet50", "--input-size", "224", "-f", "json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["rf"] == [427, 427] and data["jump"] == [32, 32] and data["effective_padding"] == [213, 213]
    assert data["output"] == "layer4.2.relu_2" and data["outputs"] == ["layer4.2.relu_2", "fc"]
    ids = [n["id"] for n in data["nodes"]]
    assert ids[:4] == ["conv1", "bn1", "relu", "maxpool"] and "layer3.5.add" in ids
    conv = data["nodes"][ids.index("layer2.0.conv2")]
    assert conv["rf"] == [43, 43] and conv["jump"] == [8, 8] and conv["spec"] == "conv3s2p1"


def test_table_and_csv(capsys):
    code, out, _ = run(capsys, f"{MODELS}:alexnet", "-i", "224", "--unit", "2x3")
    assert code == 0
    assert "avgpool: RF 195x195 (min over paths 195x195), jump 32x32, effective padding 66x66, output 6x6" in out
    assert "unit 2x3 sees input from" not in out and "unit 2x3 sees input [-2, 192] x [30, 224]" in out
    code, out, _ = run(capsys, f"{MODELS}:alexnet", "-i", "224", "-f", "csv")
    assert code == 0 and out.splitlines()[0].startswith("id,op,inputs,rf_0,rf_1")
    assert out.splitlines()[1].startswith("features.0,conv,input,11,11")


def test_onnx_file_and_neutral_op(capsys, tmp_path):
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("Conv", ["x", "w"], ["a"], kernel_shape=[3, 3], name="conv"),
             helper.make_node("MyOp", ["a"], ["b"], domain="my.ops", name="mine"),
             helper.make_node("MaxPool", ["b"], ["y"], kernel_shape=[2, 2], strides=[2, 2], name="pool")]  # fmt: skip
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(np.ones((1, 1, 3, 3), np.float32), "w")])  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("my.ops", 1)])
    path = tmp_path / "net.onnx"
    onnx.save(model, path)
    code, _, err = run(capsys, path)
    assert code == 2 and err.count("\n") == 1
    assert "rfsearch: error: " in err and "'mine' (ONNX op my.ops.MyOp at node #1)" in err and "--neutral-op" in err
    code, out, err = run(capsys, path, "--neutral-op", "MyOp", "-f", "json")
    assert code == 0 and json.loads(out)["rf"] == [4, 4] and json.loads(out)["output_size"] == [15, 15]


BAD_FILES = {
    "raises.py": ("import torch\nraise RuntimeError('no GPU here')\n", "model", "running the file failed: RuntimeError: "
                  "no GPU here (at {path}:2)"),
    "factory.py": ("import torch\ndef model():\n    return 1 / 0\n", "model", "calling model() failed: "
                   "ZeroDivisionError: division by zero (at {path}:3)"),
    "notmodule.py": ("model = 42\n", "model", "model is a int, not an nn.Module or a function returning one"),
    "returns.py": ("def model():\n    return 'resnet'\n", "model", "model() returned a str, not a torch.nn.Module"),
    "noname.py": ("import torch\nmodels = 1\n", "model", "has no 'model' (did you mean 'models'?)"),
    "untraceable.py": (textwrap.dedent("""\
        import torch
        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = torch.nn.Conv2d(1, 1, 3)
            def forward(self, x):
                if x.mean() > 0:
                    return self.conv(x)
                return x
        """), "Net", "torch.fx could not trace the model: TraceError: symbolically traced variables cannot be used as "
              "inputs to control flow (at {path}:7)"),
    "unknown.py": (textwrap.dedent("""\
        import torch
        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = torch.nn.Conv2d(1, 1, 3)
            def forward(self, x):
                return torch.roll(self.conv(x), 1, 2).flip(3)
        """), "Net", "2 operator(s) rfsearch does not know: 'roll' (function torch.roll at {path}:7); 'flip' (method "
              "flip at {path}:7)"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_python_models_give_one_line(name, capsys, tmp_path, monkeypatch):
    text, attr, message = BAD_FILES[name]
    path = tmp_path / name
    path.write_text(text)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, f"{name}:{attr}", "-i", "16")
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert message.format(path=name) in err, err


@pytest.mark.parametrize("args,message", [
    (["missing.py:model"], "no such file: missing.py"),
    (["bad.onnx"], "no such file: bad.onnx"),
    (["examples/net.yaml"], "MODEL must be FILE.onnx, FILE.py:NAME or package.module:NAME, got 'examples/net.yaml'"),
    (["no_such_package.models:x"], "no module named 'no_such_package.models'"),
    ([f"{MODELS}:resnet18", "-i", "0"], "input size must be positive integers, got 0 on axis 0"),
    ([f"{MODELS}:resnet18", "-i", "22x"], "input size"),
    ([f"{MODELS}:resnet18", "-i", "1x2x3"], "input shape 1x2x3 does not fit the model's 2 spatial axes"),
    ([f"{MODELS}:resnet18", "-i", "224", "--unit", "9x9"], "unit index on axis 0 must be >= 0 < 7, got 9"),
    ([f"{MODELS}:resnet18", "--neutral-op", "Nope"], "neutral op 'Nope' matches no operator of the model"),
    ([f"{MODELS}:resnet18", "--output", "layer9"], "output 'layer9' is not a node of the imported graph"),
])  # fmt: skip
def test_bad_arguments_give_one_line(args, message, capsys, tmp_path, monkeypatch):
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "net.yaml").write_text("- conv3\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *args)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert message in err, err


def test_bad_onnx_bytes(capsys, tmp_path):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(b"\x08\x07garbage" * 50)
    code, _, err = run(capsys, path)
    assert code == 2 and "garbage.onnx: not an ONNX model" in err

@pytest.mark.slow  # a console-script subprocess importing torch

def test_console_script_runs_the_users_file(tmp_path):
    (tmp_path / "helper.py").write_text("import torch\nWIDTH = 3\n")
    (tmp_path / "net.py").write_text("import torch, helper\n\ndef build():\n"
                                     "    return torch.nn.Sequential(torch.nn.Conv1d(1, 1, helper.WIDTH, dilation=2))\n")  # fmt: skip
    proc = subprocess.run(["rfsearch", "inspect", "net.py:build", "-i", "20", "-f", "json"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rf"] == [5] and json.loads(proc.stdout)["output_size"] == [16]
    assert str(tmp_path) not in sys.path  # the file's directory was put on sys.path only while it ran


@pytest.mark.parametrize("command", [
    ["verify", "net.py:build", "-i", "100000000"],  # numpy's arrays fit (0.8 GB), torch's 64 channels do not
    ["verify", "net.py:build", "-i", "9999x9999"],
    ["plot", "unit", "net.py:build", "-i", "100000000", "--erf", "empirical", "--samples", "1", "-o", "erf.png"],
])  # fmt: skip
@pytest.mark.slow  # ~4 s each: torch runs out of memory on purpose
def test_running_a_model_on_a_huge_input_is_one_line(tmp_path, command):
    # torch reports a failed allocation as a RuntimeError pages long (through torch.fx), not a MemoryError
    import resource

    size = command[command.index("-i") + 1]
    two_d = "x" in size
    conv = "torch.nn.Conv2d(1, 2, 3)" if two_d else "torch.nn.Conv1d(1, 64, 3), torch.nn.MaxPool1d(2)"
    (tmp_path / "net.py").write_text(f"import torch\n\ndef build():\n    return torch.nn.Sequential({conv})\n")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))

    proc = subprocess.run(["rfsearch", *command], cwd=tmp_path, capture_output=True, text=True, check=False,
                          preexec_fn=limit, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr[-2000:]
    assert proc.stderr.startswith(f"rfsearch: error: running the model on a {size} input needs more memory than is "
                                  "available"), proc.stderr  # fmt: skip
    assert not (tmp_path / "erf.png").exists()
