"""ONNX import: a PyTorch model exported to ONNX gives the PyTorch import's numbers node by node;
each supported op (built with onnx.helper) becomes the op it is, with output sizes equal to what
ONNX Runtime computes; Resize modes outside the supported list, unknown ops and bad files are
refused with one clear message."""

from __future__ import annotations

import importlib.util
import io
import warnings
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="ONNX import: pip install onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from rfsearch.errors import SpecError  # noqa: E402
from rfsearch.graph import compute_graph  # noqa: E402
from rfsearch.graph.ops import op_spec  # noqa: E402
from rfsearch.importers import TraceError, UnknownOperatorError, from_onnx  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def model(nodes, shape=(1, 1, 16, 16), *, opset=17, inits=(), output="y"):
    """A one-input model: nodes read 'x' and write `output`; inits are (name, array) pairs."""
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.asarray(a), name) for name, a in inits],
    )  # fmt: skip
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def ort_shape(m):
    """The output's spatial shape as ONNX Runtime computes it (on zeros: only the shape is used)."""
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    shape = [d for d in m.graph.input[0].type.tensor_type.shape.dim]
    x = np.zeros([d.dim_value for d in shape], dtype=np.float32)
    return tuple(session.run(None, {"x": x})[0].shape[2:])


def specs(m, size=None, **kw):
    return [op_spec(n.op) for n in from_onnx(m, size, **kw).nodes]


W3 = ("w", np.ones((1, 1, 3, 3), np.float32))


# --- PyTorch exports --------------------------------------------------------------------------------


def _examples():
    spec = importlib.util.spec_from_file_location("torchvision_models", ROOT / "examples" / "torchvision_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


VALUES = ("rf", "rf_min", "jump", "effective_padding", "start", "center", "output_size", "blind_spots")


@pytest.mark.parametrize("name", ["resnet18", *(pytest.param(n, marks=pytest.mark.slow) for n in ("alexnet", "vgg16",
                                                                                                  "resnet50"))])
def test_pytorch_export_equals_pytorch_import(name):
    torch = pytest.importorskip("torch")
    from rfsearch.importers import from_torch

    net = getattr(_examples(), name)().eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated; it needs no onnxscript
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(1, 3, 224, 224),), buf, dynamo=False)
    exported = compute_graph(from_onnx(buf.getvalue()))  # input size: the model's 224x224
    traced = compute_graph(from_torch(net, 224))
    ids = {row.id for row in traced.nodes}
    common = [row.id for row in exported.nodes if row.id in ids]
    # Every exported node has its PyTorch counterpart (BatchNorm is folded into the convs, Dropout
    # dropped at export): same ids, same numbers.
    assert len(common) == len(exported.nodes)
    for node_id in common:
        a, b = exported.node(node_id).to_dict(), traced.node(node_id).to_dict()
        assert {k: a[k] for k in VALUES} == {k: b[k] for k in VALUES}, node_id
    assert exported.output == traced.output and exported.rf == traced.rf


# --- ops built with onnx.helper ---------------------------------------------------------------------

CONVS = {
    "pads": (dict(kernel_shape=[3, 3], pads=[1, 0, 2, 1], strides=[2, 1]), "conv3s2x1p1:2x0:1"),
    "dilations": (dict(kernel_shape=[3, 3], dilations=[2, 3], pads=[2, 3, 2, 3]), "conv3p2x3d2x3"),
    "same upper": (dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"), "conv3s2psame"),
    "same lower": (dict(kernel_shape=[4, 4], strides=[3, 3], auto_pad="SAME_LOWER"), "conv4s3p1x2:1"),  # 17 rows: 1 + 1; 16 columns: 2 + 1
    "valid": (dict(kernel_shape=[3, 3], auto_pad="VALID"), "conv3"),
}


@pytest.mark.parametrize("case", list(CONVS))
def test_conv_attributes_and_sizes(case):
    attrs, spec = CONVS[case]
    k = attrs["kernel_shape"][0]
    m = model([helper.make_node("Conv", ["x", "w"], ["y"], **attrs)], (1, 1, 17, 16),
              inits=[("w", np.ones((1, 1, k, k), np.float32))])  # fmt: skip
    assert specs(m) == [spec]
    assert compute_graph(from_onnx(m)).output_size == ort_shape(m)


@pytest.mark.parametrize("op,attrs,spec", [
    ("MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1), "maxpool3s2p1c"),
    ("MaxPool", dict(kernel_shape=[2, 2]), "maxpool2s1"),  # ONNX strides default to 1
    ("MaxPool", dict(kernel_shape=[3, 3], dilations=[2, 2], strides=[2, 2]), "maxpool3s2d2"),
    ("AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[0, 1, 0, 1], ceil_mode=1), "avgpool3s2p0x1c"),
    ("GlobalAveragePool", {}, "global_avgpool"),
    ("GlobalMaxPool", {}, "global_maxpool"),
])  # fmt: skip
def test_pooling(op, attrs, spec):
    m = model([helper.make_node(op, ["x"], ["y"], **attrs)], (1, 1, 17, 16))
    assert specs(m) == [spec]
    assert compute_graph(from_onnx(m)).output_size == ort_shape(m)


@pytest.mark.parametrize("attrs,spec", [
    (dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), "conv_transpose3s2p1"),
    (dict(kernel_shape=[3, 3], strides=[2, 2], pads=[0, 1, 1, 0], output_padding=[1, 1]), "conv_transpose3s2p0:1x1:0o1"),
    (dict(kernel_shape=[3, 3], strides=[2, 2], output_shape=[20, 21]), "conv_transpose3s2p1:0x0"),  # 21 -> 20 rows
    (dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"), "conv_transpose3s2p0:1x0:1"),
])  # fmt: skip
def test_conv_transpose(attrs, spec):
    m = model([helper.make_node("ConvTranspose", ["x", "w"], ["y"], **attrs)], (1, 1, 10, 10), inits=[W3])
    assert specs(m) == [spec]
    assert compute_graph(from_onnx(m)).output_size == ort_shape(m)


def test_pad_versions_modes_and_negative_amounts():
    pads = ("p", np.array([0, 0, 1, 2, 0, 0, 3, -1], np.int64))  # N, C, H, W before; then after
    m = model([helper.make_node("Pad", ["x", "p"], ["y"], mode="reflect")], inits=[pads])
    assert specs(m) == ["pad1:3x2:0 reflect", "crop0x0:1"]
    assert compute_graph(from_onnx(m)).output_size == ort_shape(m)
    old = model([helper.make_node("Pad", ["x"], ["y"], pads=[0, 0, 1, 1, 0, 0, 1, 1], mode="edge")], opset=2)
    assert specs(old) == ["pad1 replicate"]
    axes = model([helper.make_node("Pad", ["x", "p", "", "a"], ["y"])], opset=18,
                 inits=[("p", np.array([2, 3], np.int64)), ("a", np.array([3], np.int64))])  # fmt: skip
    assert specs(axes) == ["pad0x2:3"]
    assert compute_graph(from_onnx(axes)).output_size == ort_shape(axes)


SUPPORTED_RESIZE = [
    ("nearest", "asymmetric", "floor", "upsample nearest x2"),
    ("nearest", "half_pixel", "round_prefer_ceil", "upsample nearest-exact x2"),
    ("linear", "half_pixel", "round_prefer_floor", "upsample linear x2"),
    ("linear", "pytorch_half_pixel", "floor", "upsample linear x2"),
    ("linear", "align_corners", "floor", "upsample linear x2 align_corners"),
]


@pytest.mark.parametrize("mode,coord,nearest,spec", SUPPORTED_RESIZE)
def test_resize_modes_followed(mode, coord, nearest, spec):
    scales = ("s", np.array([1, 1, 2, 2], np.float32))
    m = model([helper.make_node("Resize", ["x", "", "s"], ["y"], mode=mode, coordinate_transformation_mode=coord,
                                nearest_mode=nearest)], inits=[scales])  # fmt: skip
    assert specs(m) == [spec]
    assert compute_graph(from_onnx(m)).output_size == ort_shape(m)


@pytest.mark.parametrize("mode,coord,nearest", [
    ("nearest", "asymmetric", "round_prefer_floor"),
    ("nearest", "half_pixel", "floor"),
    ("linear", "asymmetric", "floor"),
    ("cubic", "half_pixel", "floor"),
    ("linear", "tf_crop_and_resize", "floor"),
    ("linear", "half_pixel_symmetric", "floor"),
])  # fmt: skip
def test_resize_modes_refused(mode, coord, nearest):
    scales = ("s", np.array([1, 1, 2, 2], np.float32))
    m = model([helper.make_node("Resize", ["x", "", "s"], ["y"], mode=mode, coordinate_transformation_mode=coord,
                                nearest_mode=nearest)], opset=19, inits=[scales])  # fmt: skip
    with pytest.raises(UnknownOperatorError, match=f"mode '{mode}' with coordinate_transformation_mode '{coord}'.*"
                       "supported mode/coordinates/nearest: nearest/asymmetric/floor"):  # fmt: skip
        from_onnx(m)


def test_resize_sizes_fractional_scales_and_upsample():
    sizes = ("z", np.array([1, 1, 24, 40], np.int64))
    m = model([helper.make_node("Resize", ["x", "", "", "z"], ["y"], mode="linear")], inits=[sizes])
    assert specs(m) == ["upsample linear to 24x40"]
    assert compute_graph(from_onnx(m)).output_size == ort_shape(m) == (24, 40)
    frac = model([helper.make_node("Resize", ["x", "", "s"], ["y"], mode="nearest",
                                   coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
                 inits=[("s", np.array([1, 1, 1.5, 0.5], np.float32))])  # fmt: skip
    assert specs(frac) == ["upsample nearest x3/2x1/2"]
    assert compute_graph(from_onnx(frac)).output_size == ort_shape(frac)
    old = model([helper.make_node("Upsample", ["x", "s"], ["y"], mode="nearest")], opset=9,
                inits=[("s", np.array([1, 1, 2, 3], np.float32))])  # fmt: skip
    assert specs(old) == ["upsample nearest x2x3"]


def test_graph_ops_merges_and_heads():
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="/stem/Conv"),
        helper.make_node("Relu", ["a"], ["b"], name="/relu/Relu"),
        helper.make_node("Mul", ["b", "half"], ["c"], name="/Mul"),  # with a constant: RF-neutral
        helper.make_node("Add", ["c", "x"], ["d"], name="/Add"),
        helper.make_node("Concat", ["d", "b"], ["e"], axis=1, name="/Concat"),
        helper.make_node("Slice", ["e", "st", "en", "ax"], ["f"], name="/Slice"),
        helper.make_node("ReduceMean", ["f"], ["g"], axes=[2, 3], keepdims=1, name="/ReduceMean"),
        helper.make_node("Flatten", ["g"], ["h"], axis=1, name="/Flatten"),
        helper.make_node("Gemm", ["h", "fc"], ["y"], transB=1, name="/fc/Gemm"),
    ]
    inits = [W3, ("half", np.array(0.5, np.float32)), ("st", np.array([1, 2], np.int64)),
             ("en", np.array([-1, 100], np.int64)), ("ax", np.array([2, 3], np.int64)),
             ("fc", np.ones((4, 2), np.float32))]  # fmt: skip
    g = from_onnx(model(nodes, opset=13, inits=inits))
    assert [(n.id, op_spec(n.op), n.inputs) for n in g.nodes] == [
        ("stem", "conv3p1", ("input",)), ("relu", "relu", ("stem",)), ("add", "add", ("relu", "input")),
        ("concat", "concat", ("add", "relu")), ("slice", "crop1x2:0", ("concat",)),
        ("reducemean", "global_avgpool", ("slice",)), ("flatten", "flatten", ("reducemean",)),
        ("fc", "linear", ("flatten",)),
    ]  # fmt: skip
    r = compute_graph(g)
    assert r.output == "slice" and r.rf == (3, 3) and r.output_size == (14, 14)


def test_unknown_ops_listed_and_neutral_policy():
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["a"], kernel_shape=[3, 3], name="conv"),
        helper.make_node("Transpose", ["a"], ["b"], perm=[0, 1, 3, 2], name="swap"),
        helper.make_node("FancyNorm", ["b"], ["c"], domain="com.example", name="fancy"),
        helper.make_node("Concat", ["c", "c"], ["y"], axis=3, name="join"),
    ]
    m = model(nodes, inits=[W3])
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(UnknownOperatorError) as info:
        from_onnx(m)
    assert [(op.name, op.kind, op.where) for op in info.value.ops] == [
        ("swap", "ONNX op Transpose", "node #1"), ("fancy", "ONNX op com.example.FancyNorm", "node #2"),
        ("join", "ONNX op Concat", "node #3")]  # fmt: skip
    assert "concatenates along spatial axis 3" in str(info.value)
    with pytest.raises(UnknownOperatorError, match="'join'"):
        from_onnx(m, neutral_ops=["FancyNorm", "swap"])
    m.graph.node[3].attribute[0].i = 1
    assert specs(m, neutral_ops=["FancyNorm", "swap"]) == ["conv3", "concat"]
    with pytest.raises(SpecError, match="neutral op 'Nope' matches no operator"):
        from_onnx(m, neutral_ops=["FancyNorm", "swap", "Nope"])


def test_input_size_from_the_model_or_given():
    m = model([helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])], (1, 1, 20, 30), inits=[W3])
    assert compute_graph(from_onnx(m)).output_size == (18, 28)
    assert compute_graph(from_onnx(m, 10)).output_size == (8, 8)
    assert compute_graph(from_onnx(m, (2, 1, 12, 14))).output_size == (10, 12)
    dynamic = model([helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])], ("N", 1, "H", "W"),
                    inits=[W3])  # fmt: skip
    r = compute_graph(from_onnx(dynamic))
    assert r.rf == (3, 3) and r.output_size is None


def test_bad_files(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        from_onnx(tmp_path / "missing.onnx")
    (tmp_path / "bad.onnx").write_bytes(b"\x00\x01garbage\xff" * 10)
    with pytest.raises(SpecError, match="bad.onnx: not an ONNX model"):
        from_onnx(tmp_path / "bad.onnx")
    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(SpecError, match="not an ONNX model"):
        from_onnx(tmp_path / "empty.onnx")
    with pytest.raises(SpecError, match="expected an ONNX file path"):
        from_onnx(42)


def test_only_neutral_ops_is_nothing_to_analyse():
    with pytest.raises(TraceError, match="no spatial operation"):
        from_onnx(model([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT)]))
