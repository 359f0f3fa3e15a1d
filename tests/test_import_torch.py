"""PyTorch import (torch.fx): torchvision-layout models give the zoo's hand-written numbers node by
node; each supported module, function and method becomes the op it is; unknown operators are
listed together; the neutral-op policy; models that cannot be traced say why."""

from __future__ import annotations

import copy
import importlib.util
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="PyTorch import: pip install torch (CI installs the CPU wheel)")
nn = torch.nn
F = torch.nn.functional

from rfsearch.errors import SpecError  # noqa: E402
from rfsearch.graph import compute_graph, zoo_model  # noqa: E402
from rfsearch.graph.ops import op_spec  # noqa: E402
from rfsearch.importers import TraceError, UnknownOperatorError, from_torch, inspect  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _examples():
    spec = importlib.util.spec_from_file_location("torchvision_models", ROOT / "examples" / "torchvision_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TV = _examples()
VALUES = ("rf", "rf_min", "jump", "effective_padding", "start", "center", "output_size", "blind_spots", "period",
          "whole_input", "context")  # fmt: skip


def values(row):
    d = row.to_dict()
    return {k: d[k] for k in VALUES}


def zoo_counterpart(node_id, graph_ids):
    """The zoo names a residual block's add after the block (layer1.0) and stage outputs layer1..4."""
    if node_id in graph_ids:
        return node_id
    if node_id + ".add" in graph_ids:
        return node_id + ".add"
    return None


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50", "alexnet", "vgg16"])
def test_torchvision_layout_equals_the_zoo_node_by_node(name):
    imported = compute_graph(from_torch(getattr(TV, name)(), 224))
    zoo = compute_graph(zoo_model(name))
    ids = {row.id for row in imported.nodes}
    compared = 0
    for row in zoo.nodes:
        other = zoo_counterpart(row.id, ids)
        if other is None:
            assert row.kind == "identity" and row.id.startswith("layer"), row.id  # the zoo's stage markers
            continue
        assert values(imported.node(other)) == values(row), row.id
        compared += 1
    assert compared >= len(zoo.nodes) - 4
    # The endpoint: the feature map the classifier head reads, as the zoo's.
    assert imported.rf == zoo.rf and imported.jump == zoo.jump and imported.effective_padding == zoo.effective_padding


def test_resnet50_endpoint_is_427_not_2131():
    r = inspect(TV.resnet50(), (1, 3, 224, 224))
    assert r.output == "layer4.2.relu_2" and r.rf == (427, 427) and r.jump == (32, 32)
    assert r.outputs == ("layer4.2.relu_2", "fc") and r.node("fc").axes[0].whole_input


def test_tracing_runs_no_forward_pass():
    calls = []

    class Spy(nn.Conv2d):
        def _conv_forward(self, *args):  # a real forward would call this with tensors
            calls.append(args)
            return super()._conv_forward(*args)

    model = nn.Sequential(Spy(1, 1, 3), nn.ReLU())
    assert compute_graph(from_torch(model, 8)).rf == (3, 3)
    assert calls == [] or all(type(a[0]).__name__ == "Proxy" for a in calls)


# --- what each module, function and method becomes -------------------------------------------------


def ops(model, size=32):
    wrapped = nn.Sequential(model)  # a module is traced as a call (a model's own forward is traced into)
    return [op_spec(n.op) for n in from_torch(wrapped, size).nodes]


class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


CASES = {
    "conv1d": (nn.Conv1d(1, 1, 5, stride=2, padding=2, dilation=3), 32, ["conv5s2p2d3"]),
    "conv2d anisotropic": (nn.Conv2d(1, 1, (1, 7), padding=(0, 3)), 32, ["conv1x7p0x3"]),
    "conv3d": (nn.Conv3d(1, 1, 3, padding=1), (8, 8, 8), ["conv3p1"]),
    "conv same": (nn.Conv2d(1, 1, 4, padding="same"), 32, ["conv4psame"]),
    "conv valid": (nn.Conv2d(1, 1, 3, padding="valid"), 32, ["conv3pvalid"]),
    "conv reflect": (nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect"), 32, ["conv3p1"]),
    "conv transpose": (nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1, output_padding=1), 32,
                       ["conv_transpose4s2p1o1"]),
    "maxpool ceil dilation": (nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True), 32, ["maxpool3s2p1d2c"]),
    "avgpool": (nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True), 32, ["avgpool3s2p1c"]),
    "lppool": (nn.LPPool2d(2, 3, stride=2), 32, ["avgpool3s2"]),
    "adaptive": (nn.AdaptiveAvgPool2d((5, None)), 32, ["adaptive_avgpool5x-"]),
    "adaptive max": (nn.AdaptiveMaxPool1d(4), 32, ["adaptive_maxpool4"]),
    "upsample": (nn.Upsample(scale_factor=2, mode="nearest"), 32, ["upsample nearest x2"]),
    "upsample float ratio": (nn.Upsample(scale_factor=1.5, mode="bilinear"), 32, ["upsample bilinear x3/2"]),
    "upsample size": (nn.Upsample(size=(20, 30), mode="bilinear", align_corners=True), 32,
                      ["upsample bilinear to 20x30 align_corners"]),
    "upsampling bilinear2d": (nn.UpsamplingBilinear2d(scale_factor=2), 32, ["upsample bilinear x2 align_corners"]),
    "zero pad": (nn.ZeroPad2d((1, 2, 3, 4)), 32, ["pad3:4x1:2"]),
    "reflection pad": (nn.ReflectionPad1d((2, 0)), 32, ["pad2:0 reflect"]),
    "pixel shuffle": (nn.PixelShuffle(2), (1, 4, 8, 8), ["upsample nearest x2"]),
    "pixel unshuffle": (nn.PixelUnshuffle(2), 8, ["avgpool2"]),
    "max unpool": (Lambda(lambda x: (lambda y: F.max_unpool2d(y[0], y[1], 2))(F.max_pool2d(x, 2, return_indices=True))),
                   (32, 32),
                   ["maxpool2", "conv_transpose2s2"]),
    "flatten": (nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten(), nn.Linear(900, 2)), 32,
                ["conv3", "flatten", "linear"]),
    "neutral modules": (nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.GELU(), nn.Dropout2d(), nn.GroupNorm(1, 2),
                                      nn.Softmax(dim=1), nn.Identity()), 32,
                        ["conv3", "bn", "gelu", "dropout", "groupnorm", "softmax", "identity"]),
    "functional conv": (Lambda(lambda x: F.conv2d(x, torch.ones(1, 1, 3, 5), stride=2, padding=(1, 2))), (32, 32),
                        ["conv3x5s2p1x2"]),
    "functional pools": (Lambda(lambda x: F.avg_pool2d(F.max_pool2d(x, 3, 1, 1), 2)), (32, 32), ["maxpool3s1p1", "avgpool2"]),
    "torch max_pool": (Lambda(lambda x: torch.max_pool2d(x, 2)), (32, 32), ["maxpool2"]),
    "functional adaptive": (Lambda(lambda x: F.adaptive_max_pool2d(x, 1)), (32, 32), ["adaptive_maxpool1"]),
    "interpolate": (Lambda(lambda x: F.interpolate(x, scale_factor=(2, 3), mode="nearest-exact")), (32, 32),
                    ["upsample nearest-exact x2x3"]),
    "interpolate area": (Lambda(lambda x: F.interpolate(x, size=8, mode="area")), (32, 32), ["adaptive_avgpool8"]),
    "F.pad": (Lambda(lambda x: F.pad(x, (1, 1, 0, 2), mode="replicate")), (32, 32), ["pad0:2x1 replicate"]),
    "F.pad negative crops": (Lambda(lambda x: F.pad(x, (-1, 2))), (32, 32), ["pad0x0:2", "crop0x1:0"]),
    "slicing crops": (Lambda(lambda x: x[:, :, 2:-3, 1:]), (32, 32), ["crop2:3x1:0"]),
    "slicing with step": (Lambda(lambda x: x[..., ::2]), (32, 32), ["conv1s1x2"]),
    "mean": (Lambda(lambda x: x.mean((2, 3))), (32, 32), ["global_avgpool"]),
    "mean keepdim one axis": (Lambda(lambda x: x.amax(-1, keepdim=True)), (32, 32), ["adaptive_maxpool-x1"]),
    "channel mean": (Lambda(lambda x: F.relu(x).sum(1, keepdim=True)), (32, 32), []),
    "view flatten": (Lambda(lambda x: F.avg_pool2d(x, 2).view(x.size(0), -1)), 32, ["avgpool2", "flatten"]),
    "torch.flatten": (Lambda(lambda x: torch.flatten(x, 1)), (32, 32), ["flatten"]),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_each_supported_operation(case):
    model, size, expected = CASES[case]
    if not expected:  # only RF-neutral operations: nothing to analyse
        with pytest.raises(TraceError, match="no spatial operation"):
            from_torch(model, size)
        return
    assert ops(model, size) == expected


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.gate = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        y = self.conv(x)
        a, b = y.chunk(2, dim=1)  # channel split: both halves see what y sees
        z = torch.cat([a, b], dim=1) * torch.sigmoid(self.gate(x).mean((2, 3), keepdim=True))
        return x + 2 * z - x.clamp(min=0)


def test_merges_broadcast_and_channel_ops():
    g = from_torch(Residual(), (1, 4, 16, 16))
    assert [(n.id, op_spec(n.op), n.inputs) for n in g.nodes] == [
        ("conv", "conv3p1", ("input",)),
        ("cat", "concat", ("conv", "conv")),
        ("gate", "conv1", ("input",)),
        ("mean", "global_avgpool", ("gate",)),
        ("mul", "multiply", ("cat", "mean")),
        ("add", "add", ("input", "mul")),
        ("sub", "add", ("add", "input")),
    ]
    r = compute_graph(g)
    assert r.rf == (3, 3) and r.node("mul").axes[0].context  # the squeeze-excitation branch is context


class SizeDependent(nn.Module):
    """U-Net / FPN habits: sizes read from tensors drive interpolate, pad and crops."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(1, 1, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(1, 1, 2, stride=2)

    def forward(self, x):
        y = self.up(self.down(x))
        dy, dx = x.size(2) - y.size(2), x.shape[3] - y.shape[3]
        y = F.pad(y, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        z = F.interpolate(self.down(x), size=x.shape[2:], mode="bilinear", align_corners=False)
        h, w = z.shape[-2:]
        return torch.cat([y[:, :, 1:, 1:], z[:, :, : h - 1, : w - 1], x[:, :, 1:, 1:]], dim=1)


def test_sizes_read_from_tensors_come_from_rfsearch():
    g = from_torch(SizeDependent(), 33)
    specs = [op_spec(n.op) for n in g.nodes]
    # 33 -> 17 -> 34: F.pad by dx // 2 = -1 crops one unit before; z[:, :, :h-1, :w-1] one after.
    assert specs == ["conv3s2p1", "conv_transpose2s2", "crop1:0x1:0", "conv3s2p1", "upsample bilinear to 33",
                     "crop1:0x1:0", "crop0:1x0:1", "crop1:0x1:0", "concat"]  # fmt: skip
    assert compute_graph(g).output_size == (32, 32)


def test_sizes_need_an_input_size():
    with pytest.raises(TraceError, match="reading the size of a tensor .* give an input size"):
        from_torch(SizeDependent())


def test_without_input_size_the_axes_come_from_the_layers():
    r = compute_graph(from_torch(nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2))))
    assert r.rf == (4, 4) and r.output_size is None


@pytest.mark.parametrize("shape,spatial", [(32, (32, 32)), ("32x40", (32, 40)), ((2, 3, 32, 40), (32, 40)),
                                           ([32, 40], (32, 40))])  # fmt: skip
def test_input_shapes(shape, spatial):
    assert from_torch(nn.Conv2d(3, 1, 3), shape).input_size == spatial


def test_bad_input_shape():
    with pytest.raises(SpecError, match="does not fit the model's 2 spatial axes"):
        from_torch(nn.Conv2d(3, 1, 3), (3, 32, 32))
    with pytest.raises(SpecError, match="positive"):
        from_torch(nn.Conv2d(3, 1, 3), 0)


def test_weight_sharing_gets_distinct_ids():
    conv = nn.Conv2d(1, 1, 3, padding=1)
    g = from_torch(_Twice(conv), 8)
    assert [n.id for n in g.nodes] == ["conv", "conv_1"]


class _Twice(nn.Module):
    def __init__(self, conv):
        super().__init__()
        self.conv = conv

    def forward(self, x):
        return self.conv(self.conv(x))


# --- unknown operators, the neutral policy, failures -------------------------------------------------


class Attention(nn.Module):
    def forward(self, x):
        return x


class Exotic(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3)
        self.attn = Attention()

    def forward(self, x):
        x = torch.roll(self.conv(x), 1, dims=2)
        x = x.permute(0, 1, 3, 2)
        return self.attn(torch.cat([x, x], dim=3))


def test_unknown_operators_are_listed_together():
    with pytest.raises(UnknownOperatorError) as info:
        from_torch(Exotic(), 16)
    names = [(op.name, op.kind) for op in info.value.ops]
    assert names == [("roll", "function torch.roll"), ("permute", "method permute"), ("cat", "function torch.cat")]
    message = str(info.value)
    assert "3 operator(s) rfsearch does not know" in message
    assert "test_import_torch.py:" in message and "concatenates along spatial dim 3" in message
    assert "--neutral-op" in message


class _RollBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3)

    def forward(self, x):
        return torch.roll(self.conv(x), 1, 2)


def test_an_unknown_operator_is_placed_by_line_and_module():
    with pytest.raises(UnknownOperatorError) as info:
        from_torch(nn.Sequential(nn.Sequential(_RollBlock(), _RollBlock())), 16)
    message = str(info.value)
    assert re.search(r"'0\.1\.roll' \(function torch\.roll at \S*test_import_torch\.py:\d+ in 0\.1\)", message), message


def test_importing_leaves_the_model_as_it_was():
    # torch.fx stores tensor constants on the module it traces; the import traces a copy.
    model = nn.Sequential(Lambda(lambda x: F.conv2d(x, torch.ones(1, 1, 3, 3)) * torch.tensor(2.0)))
    before = set(vars(model)) | set(model.state_dict())
    graph = from_torch(model, 16)
    assert [op_spec(n.op) for n in graph.nodes] == ["conv3"]
    assert set(vars(model)) | set(model.state_dict()) == before
    assert not any(name.startswith("_tensor_constant") for name in dir(model))


def test_neutral_ops_policy():
    # The user's module (traced through: identity) and torch.roll declared RF-neutral.
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3)
            self.attn = Attention()

        def forward(self, x):
            return self.attn(torch.roll(self.conv(x), 1, dims=2))

    g = from_torch(Model(), 16, neutral_ops=["roll", "Attention"])
    assert [(n.id, op_spec(n.op)) for n in g.nodes] == [("conv", "conv3"), ("attn", "identity")]
    with pytest.raises(SpecError, match="neutral op 'MyOp' matches no operator"):
        from_torch(Model(), 16, neutral_ops=["roll", "Attention", "MyOp"])


def test_a_neutral_module_is_not_traced_into():
    class Untraceable(nn.Module):
        def forward(self, x):
            if x.sum() > 0:  # data-dependent control flow: fx cannot trace it
                return x
            return -x

    model = nn.Sequential(nn.Conv2d(1, 1, 3), Untraceable())
    with pytest.raises(TraceError, match="torch.fx could not trace the model.*What to do"):
        from_torch(model, 8)
    assert compute_graph(from_torch(model, 8, neutral_ops=["Untraceable"])).rf == (3, 3)


def test_trace_failure_names_the_line():
    class Bad(nn.Module):
        def forward(self, x):
            for _ in range(x.shape[2]):  # a loop over a size: not traceable
                x = x + 1
            return x

    with pytest.raises(TraceError) as info:
        from_torch(Bad(), 8)
    assert "test_import_torch.py:" in str(info.value) and "'Proxy' object cannot be interpreted" in str(info.value)


def test_not_a_module_and_extra_inputs():
    with pytest.raises(SpecError, match="expected a torch.nn.Module, got str"):
        from_torch("resnet50", 224)

    class TwoInputs(nn.Module):
        def forward(self, x, y):
            return x + y

    with pytest.raises(TraceError, match="more than one tensor"):
        from_torch(TwoInputs(), 8)


def test_dynamic_weights_and_attention_are_refused():
    class Dynamic(nn.Module):
        def forward(self, x):
            return F.conv2d(x, x[:, :, :3, :3])

    with pytest.raises(UnknownOperatorError, match="weights are computed from the input"):
        from_torch(Dynamic(), 8)

    class Attn(nn.Module):
        def forward(self, x):
            q = x.flatten(2)
            return q @ q.transpose(1, 2)

    with pytest.raises(UnknownOperatorError, match="flattens spatial axes"):
        from_torch(Attn(), 8)


def test_explicit_output():
    g = from_torch(TV.resnet18(), 224, output="layer3.1.add")
    assert g.outputs[0] == "layer3.1.add" and compute_graph(g).rf == (211, 211)
    with pytest.raises(SpecError, match="is not a node"):
        from_torch(TV.resnet18(), 224, output="layer9")


def test_import_rfsearch_does_not_import_torch_onnx_matplotlib():
    code = ("import sys, rfsearch, rfsearch.importers, rfsearch.graph\n"
            "bad = [m for m in ('torch', 'onnx', 'matplotlib') if m in sys.modules]\n"
            "assert not bad, bad\n")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True)


class _ParamsAndBuffers(nn.Module):
    """Parameters, buffers, tensor constants, kwargs and math on sizes inside forward."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(2, 1, 3, 3))
        self.register_buffer("scale", torch.ones(1, 2, 1, 1))
        self.body = nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.ReLU())

    def forward(self, x):
        y = F.conv2d(x, self.weight, padding=1) * self.scale + torch.tensor(1.0)
        y = self.body(y)
        return F.interpolate(y, size=(y.size(2), y.shape[3]), mode="nearest") * math.sqrt(y.size(1))


def _fx_nodes(graph):
    return [(n.op, str(n.target), n.name, str(n.args), str(n.kwargs)) for n in graph.nodes]


@pytest.mark.parametrize("case", [*CASES, "params and buffers", "resnet50"])
def test_rfsearch_tracer_records_what_torch_fx_records(case):
    # The importer's tracer overrides torch.fx.Tracer hooks for speed (create_node, create_arg,
    # call_module, getattr); the graph it records must be torch.fx's own, node for node.
    from rfsearch.importers.common import NeutralOps
    from rfsearch.importers.torch_fx import _tracer

    if case == "resnet50":
        model = _examples().resnet50()
    elif case == "params and buffers":
        model = _ParamsAndBuffers()
    else:
        model = nn.Sequential(CASES[case][0])
    # Each on its own copy: tracing stores tensor constants on the model (_tensor_constant0, ...).
    ours = _tracer(torch, NeutralOps(())).trace(copy.deepcopy(model))
    theirs = torch.fx.Tracer().trace(copy.deepcopy(model))
    assert _fx_nodes(ours) == _fx_nodes(theirs)
    scopes = {n.name: n.meta["rfsearch_stack"] for n in ours.nodes if n.op == "call_module"}
    assert all(stack and stack[-1] == n.target for n in ours.nodes if n.op == "call_module" for stack in [scopes[n.name]])
