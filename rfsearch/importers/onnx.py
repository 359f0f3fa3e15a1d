"""ONNX models -> graphs: the nodes that move or mix positions, read from the file (no inference run).

    from rfsearch.importers import from_onnx
    graph = from_onnx("model.onnx")                  # input size from the model, or given
    compute_graph(graph).rf

Tensors computed from the graph's (first) input are followed; everything else (weights, shapes,
constants) is a constant, evaluated with onnx's reference evaluator when an op needs its value
(Pad amounts, Resize scales, Reshape shapes). `Shape` of a followed tensor comes from rfsearch's
own size arithmetic.

Supported: Conv, ConvTranspose (pads, output_padding, output_shape, auto_pad), MaxPool,
AveragePool, LpPool (ceil_mode, dilations), GlobalAveragePool / GlobalMaxPool / GlobalLpPool,
Pad (negative amounts crop), Resize and Upsample (see RESIZE_MODES), Slice (crops and steps on
spatial axes), Add / Sub / Mul / Div / Max / Min / Mean / Sum / Pow / Where (merges, or RF-neutral
with a constant), Concat (batch or channel axis), Flatten, Reshape to (N, features), Gemm /
MatMul with constant weights, ReduceMean / ReduceMax / ... over spatial axes (global pooling),
DepthToSpace / SpaceToDepth, MaxUnpool, Split on channels, and the RF-neutral ops of
NEUTRAL_OPS. Anything else is listed with its node; `neutral_ops` names op types or node names
to take as RF-neutral.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import AbstractSet, Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

from ..errors import SpecError
from ..graph import INPUT, Graph
from ..graph.ops import AdaptivePool, ConvTranspose, Crop, Flatten, GlobalPool, Linear, Merge, Op, Pad, Upsample
from ..model.layers import NEUTRAL_NAMES, AvgPool, Conv, Identity, MaxPool
from .common import (
    Assembler,
    InputShape,
    NeutralOps,
    TraceError,
    UnknownOp,
    UnknownOperatorError,
    endpoint_of,
    input_shape,
)

__all__ = ["NEUTRAL_OPS", "RESIZE_MODES", "OnnxImport", "from_onnx", "read_onnx"]

OPTION = "neutral_ops=[...] (CLI: --neutral-op OP_TYPE)"

#: Op types that work on each position alone (the default domain).
NEUTRAL_OPS = frozenset(
    """Relu LeakyRelu PRelu Sigmoid HardSigmoid HardSwish Tanh Elu Selu Celu Gelu Softplus Softsign Mish Erf Exp Log
    Abs Neg Sqrt Reciprocal Floor Ceil Round Sign Clip Cast CastLike Identity Dropout BatchNormalization
    InstanceNormalization GroupNormalization LayerNormalization MeanVarianceNormalization LpNormalization LRN Not IsNaN
    IsInf Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh Atanh ThresholdedRelu Shrink QuantizeLinear
    DequantizeLinear DynamicQuantizeLinear Expand BitShift""".split()
)
_MERGE_ADD = frozenset("Add Sub Max Min Mean Sum Where And Or Xor Equal Greater Less GreaterOrEqual LessOrEqual".split())
_MERGE_MUL = frozenset("Mul Div Pow Mod PRelu".split())
_REDUCE = frozenset("ReduceMean ReduceMax ReduceMin ReduceSum ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceProd "
                    "ReduceSumSquare".split())  # fmt: skip

#: Resize / Upsample modes followed, as (mode, coordinate_transformation_mode, nearest_mode) -> the
#: PyTorch interpolation they equal. Other combinations (cubic, asymmetric linear, round_prefer_floor
#: nearest, tf_crop_and_resize, half_pixel_symmetric, antialias) are refused.
RESIZE_MODES: Dict[Tuple[str, str, str], Tuple[str, bool]] = {
    ("nearest", "asymmetric", "floor"): ("nearest", False),
    ("nearest", "half_pixel", "round_prefer_ceil"): ("nearest-exact", False),
    ("nearest", "pytorch_half_pixel", "round_prefer_ceil"): ("nearest-exact", False),
    ("linear", "half_pixel", "*"): ("linear", False),
    ("linear", "pytorch_half_pixel", "*"): ("linear", False),
    ("linear", "align_corners", "*"): ("linear", True),
}


@dataclass(frozen=True)
class OnnxImport:
    """An imported ONNX model: the graph, and the ONNX node (index) each graph node came from."""

    graph: Graph
    onnx_nodes: Dict[str, int]
    ndim: int
    shape: InputShape


def _onnx() -> Any:
    try:
        import onnx
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("importing ONNX models needs onnx: pip install 'rfsearch[onnx]'") from e
    return onnx


def from_onnx(
    model: Any,
    input_shape: Union[None, int, str, Sequence[int]] = None,
    *,
    neutral_ops: Iterable[str] = (),
    output: Optional[str] = None,
    alignment: Optional[str] = "ignore",
) -> Graph:
    """The graph of an ONNX model (a path, bytes or an onnx.ModelProto).

    input_shape: the spatial size (224, "224x224", (224, 224)) or the full shape (N, C, *spatial);
    default the model input's static dims. neutral_ops: op types ("MyCustomOp") or node names to
    take as RF-neutral. output: the endpoint node id; default the model's first output, or the
    feature map its global pooling / flatten / linear head reads. alignment: the graph's policy for
    misaligned merges ("ignore" by default; results list them). Returns a Graph; raises SpecError
    for files that are not ONNX models, UnknownOperatorError listing unsupported nodes.
    """
    return read_onnx(model, input_shape, neutral_ops=neutral_ops, output=output, alignment=alignment).graph


def _load(onnx: Any, model: Any) -> Tuple[Any, str]:
    if isinstance(model, onnx.ModelProto):
        return model, "<onnx model>"
    if isinstance(model, (bytes, bytearray)):
        source, data = "<onnx bytes>", bytes(model)
    elif isinstance(model, (str, Path)):
        source = str(model)
        path = Path(model)
        if not path.is_file():
            raise SpecError(f"no such file: {source}" if not path.exists() else f"not a regular file: {source}")
        data = path.read_bytes()
    else:
        raise SpecError(f"expected an ONNX file path, bytes or an onnx.ModelProto, got {type(model).__name__}")
    try:
        proto = onnx.load_from_string(data)
    except Exception as e:  # protobuf's DecodeError and friends
        raise SpecError(f"not an ONNX model ({type(e).__name__}: {str(e)[:200]})", source=source) from None
    if not proto.graph.node:
        raise SpecError("not an ONNX model (no graph nodes)", source=source)
    return proto, source


def _attrs(onnx: Any, node: Any) -> Dict[str, Any]:
    out = {}
    for a in node.attribute:
        value = onnx.helper.get_attribute_value(a)
        out[a.name] = value.decode() if isinstance(value, bytes) else value
    return out


_SCOPE = re.compile(r"^((?:/[^/]+)*)/([^/]+)$")


def _containers(nodes: Iterable[Any]) -> Set[str]:
    """Scopes ('/layer1/layer1.0') that hold other scopes: modules with submodules, whose own ops
    are function calls in their forward (PyTorch's exporter names nodes by module scope)."""
    out: Set[str] = set()
    for node in nodes:
        m = _SCOPE.match(node.name or "")
        if m and m.group(1):
            parts = m.group(1).split("/")[1:]
            out.update("/" + "/".join(parts[:k]) for k in range(1, len(parts)))
    return out


def _module_path(scope: str) -> str:
    """'/layer1/layer1.0/downsample/downsample.0' -> 'layer1.0.downsample.0'."""
    path = ""
    for part in scope.split("/")[1:]:
        last = path.rsplit(".", 1)[-1] if path else ""
        if path and (part.startswith(path + ".") or part == path):
            path = part  # a scope refining the one before (layer1 -> layer1.0)
        elif last and part.startswith(last + "."):
            path = path[: len(path) - len(last)] + part  # downsample -> downsample.0
        else:
            path = f"{path}.{part}" if path else part
    return path


def _node_id(node: Any, index: int, containers: AbstractSet[str] = frozenset()) -> str:
    """A readable id. Names PyTorch's exporter gives ('/layer1/layer1.0/conv1/Conv') become the
    names rfsearch's PyTorch importer gives: the module path of a leaf module ('layer1.0.conv1'),
    or scope and op for an op of a module's own forward ('/layer1/layer1.0/Add_1' ->
    'layer1.0.add_1'). Other names stay; unnamed nodes get 'OpType_index'."""
    name = node.name or ""
    m = _SCOPE.match(name)
    if not m:
        return name or f"{node.op_type}_{index}"
    scope, op_name = m.group(1), m.group(2)
    function = op_name.split("_")[0].lower() + op_name[len(op_name.split("_")[0]):]
    if not scope:
        return function
    path = _module_path(scope)
    return f"{path}.{function}" if scope in containers else path


@dataclass
class _Ctx:
    onnx: Any
    proto: Any
    opset: int
    ndim: int
    shape: InputShape
    asm: Assembler
    neutral: NeutralOps
    data: Dict[str, str]  # ONNX value name -> graph id
    consts: Dict[str, Any]  # ONNX value name -> numpy array (initializers: their TensorProto until read)
    producers: Dict[str, Tuple[int, Any]]  # value name -> (index, node)
    channels: Dict[str, Optional[int]]
    origin: Dict[str, int]
    containers: Set[str]


def _value_dims(value_info: Any) -> Optional[List[Optional[int]]]:
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]


def read_onnx(
    model: Any,
    input_shape_: Union[None, int, str, Sequence[int]] = None,
    *,
    neutral_ops: Iterable[str] = (),
    output: Optional[str] = None,
    alignment: Optional[str] = "ignore",
) -> OnnxImport:
    """`from_onnx`, keeping which ONNX node made each graph node."""
    onnx = _onnx()
    proto, source = _load(onnx, model)
    graph = proto.graph
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 13)
    initializers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if not inputs:
        raise SpecError("the ONNX graph has no input", source=source)
    first = inputs[0]
    dims = _value_dims(first)
    ndim = _ndim(onnx, graph, dims, source)
    shape = input_shape(input_shape_, ndim)
    if shape.spatial is None and dims is not None and len(dims) == ndim + 2 and all(d for d in dims[2:]):
        shape = InputShape(tuple(int(d) for d in dims[2:]), dims[0], dims[1])  # type: ignore[arg-type]
    elif dims is not None and len(dims) == ndim + 2:
        shape = InputShape(shape.spatial, shape.batch or dims[0], shape.channels or dims[1])
    neutral = NeutralOps(neutral_ops)
    ctx = _Ctx(onnx, proto, opset, ndim, shape, Assembler(shape.spatial, source, shape.spatial is not None or ndim == 1),
               neutral, {first.name: INPUT}, {}, {}, {first.name: shape.channels}, {},
               _containers(graph.node))  # fmt: skip
    for t in graph.initializer:  # converted when an op reads one (a model's weights mostly are not)
        ctx.consts[t.name] = t
    for extra in inputs[1:]:
        raise SpecError(f"the model has more than one input ({first.name!r}, {extra.name!r}): rfsearch follows one",
                        source=source)  # fmt: skip
    for index, node in enumerate(graph.node):
        for out in node.output:
            ctx.producers[out] = (index, node)
    unknown: List[UnknownOp] = []
    for index, node in enumerate(graph.node):
        data_in = [i for i in node.input if i in ctx.data]
        if not data_in or node.op_type in ("Shape", "Size"):
            continue  # a constant or a shape: evaluated when an op needs it
        try:
            _convert(ctx, index, node, data_in)
        except _Unknown as e:
            kind = f"ONNX op {node.op_type}" if node.domain in ("", "ai.onnx") else f"ONNX op {node.domain}.{node.op_type}"
            unknown.append(UnknownOp(node.name or node.output[0], kind, f"node #{index}", e.why))
            for out in node.output:
                ctx.data.setdefault(out, ctx.data[data_in[0]])
        except SpecError as e:
            raise ctx.asm.error(e.reason, node.name or node.op_type, f"node #{index} ({node.op_type})") from None
    if unknown:
        raise UnknownOperatorError(unknown, option=OPTION, source=source)
    neutral.check_all_used("neutral op")
    outputs = [ctx.data[o.name] for o in graph.output if o.name in ctx.data]
    if not outputs:
        raise TraceError("no output of the model is computed from its input", source=source)
    outputs = [o for o in outputs if o != INPUT]
    if not outputs:
        raise TraceError("the model does no spatial operation on its input (only RF-neutral ones): nothing to analyse",
                         source=source)  # fmt: skip
    nodes = ctx.asm.nodes
    if output is not None:
        if output not in {n.id for n in nodes}:
            raise SpecError(f"output {output!r:.60} is not a node of the imported graph", source=source)
        endpoint = output
    else:
        endpoint = endpoint_of(nodes, outputs[0])
    result = ctx.asm.graph(list(dict.fromkeys([endpoint, *outputs])), alignment)
    return OnnxImport(result, dict(ctx.origin), ndim, shape)


def _ndim(onnx: Any, graph: Any, dims: Optional[List[Optional[int]]], source: str) -> int:
    if dims is not None and len(dims) >= 3:
        return len(dims) - 2
    for node in graph.node:
        if node.op_type in ("Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool"):
            for a in node.attribute:
                if a.name == "kernel_shape":
                    return len(a.ints)
    if dims is not None and len(dims) in (1, 2):
        raise SpecError(f"the model's input has rank {len(dims)}: no spatial axes to follow", source=source)
    return 1


class _Unknown(Exception):
    def __init__(self, why: Optional[str] = None) -> None:
        super().__init__(why or "")
        self.why = why


def _const(ctx: _Ctx, name: str) -> Any:
    """The value of a constant input (an initializer, a Constant node, or computed from them)."""
    import numpy as np

    if name in ctx.consts:
        value = ctx.consts[name]
        if isinstance(value, ctx.onnx.TensorProto):
            value = ctx.consts[name] = ctx.onnx.numpy_helper.to_array(value)
        return value
    if name in ctx.data:
        raise _Unknown("a tensor computed from the input is used where a constant is expected")
    if name not in ctx.producers:
        raise _Unknown(f"value {name!r} is neither a constant nor produced by a node")
    _, node = ctx.producers[name]
    onnx = ctx.onnx
    if node.op_type == "Shape" and node.input[0] in ctx.data:
        x = ctx.data[node.input[0]]
        spatial = ctx.asm.size(x, f"Shape of {node.input[0]!r}")
        batch = ctx.shape.batch
        channels = ctx.channels.get(node.input[0])
        full: List[Optional[int]] = [batch, channels, *spatial]
        a = _attrs(onnx, node)
        start, end = a.get("start", 0), a.get("end", len(full))
        part = full[slice(start, end)]
        if any(v is None for v in part):
            raise _Unknown("reads a batch or channel count: give the full input shape (N, C, ...)")
        value = np.array(part, dtype=np.int64)
    else:
        from onnx.reference import ReferenceEvaluator

        feeds = {i: _const(ctx, i) for i in node.input if i}
        try:
            results = ReferenceEvaluator(node, opsets={"": ctx.opset}).run(None, feeds)
        except Exception as e:
            raise _Unknown(f"evaluating the constant {node.name or node.op_type!r} failed: {type(e).__name__}: {e}") from None
        for out, v in zip(node.output, results):
            ctx.consts[out] = v
        value = ctx.consts[name]
    ctx.consts[name] = value
    return value


def _ints(ctx: _Ctx, name: str) -> List[int]:
    if not name:
        return []
    return [int(v) for v in _const(ctx, name).reshape(-1).tolist()]


def _add(ctx: _Ctx, index: int, node: Any, op: Op, inputs: Sequence[str], suffix: str = "") -> str:
    node_id = ctx.asm.add(op, inputs, _node_id(node, index, ctx.containers) + suffix, f"node #{index} ({node.op_type})")
    ctx.origin[node_id] = index
    for out in node.output:
        if out:
            ctx.data[out] = node_id
    return node_id


def _alias(ctx: _Ctx, node: Any, source: str) -> None:
    for out in node.output:
        if out:
            ctx.data[out] = source


def _pairs(pads: Sequence[int], ndim: int) -> Tuple[Tuple[int, int], ...]:
    if not pads:
        return ((0, 0),) * ndim
    if len(pads) != 2 * ndim:
        raise _Unknown(f"pads has {len(pads)} values for {ndim} spatial axes")
    return tuple((pads[a], pads[a + ndim]) for a in range(ndim))


def _spatial_axis(ctx: _Ctx, axis: int) -> Optional[int]:
    rank = ctx.ndim + 2
    if not -rank <= axis < rank:
        raise _Unknown(f"axis {axis} is not an axis of a tensor of rank {rank}")
    axis %= rank
    return axis - 2 if axis >= 2 else None


def _same_lower(ctx: _Ctx, x: str, kernel: Sequence[int], stride: Sequence[int],
                dilation: Sequence[int]) -> Tuple[Tuple[int, int], ...]:  # fmt: skip
    n = ctx.asm.size(x, "auto_pad SAME_LOWER")
    pairs = []
    for a in range(ctx.ndim):
        keff = dilation[a] * (kernel[a] - 1) + 1
        total = max((-(-n[a] // stride[a]) - 1) * stride[a] + keff - n[a], 0)
        pairs.append((total - total // 2, total // 2))
    return tuple(pairs)


def _window(ctx: _Ctx, node: Any, a: Dict[str, Any], x: str, kernel: Sequence[int]) -> Tuple[Any, ...]:
    """(kernel, strides, padding, dilations) of a Conv / pooling node; padding as Layer takes it."""
    ndim = ctx.ndim
    if len(kernel) != ndim:
        raise _Unknown(f"kernel_shape has {len(kernel)} values for {ndim} spatial axes")
    strides = list(a.get("strides", [1] * ndim))
    dilations = list(a.get("dilations", [1] * ndim))
    auto = a.get("auto_pad", "NOTSET")
    padding: Any
    if auto in ("NOTSET", ""):
        padding = _pairs(list(a.get("pads", [])), ndim)
    elif auto == "VALID":
        padding = 0
    elif auto == "SAME_UPPER":
        padding = "same"
    elif auto == "SAME_LOWER":
        padding = _same_lower(ctx, x, kernel, strides, dilations)
    else:
        raise _Unknown(f"auto_pad {auto!r} is not known")
    return tuple(kernel), tuple(strides), padding, tuple(dilations)


def _convert(ctx: _Ctx, index: int, node: Any, data_in: List[str]) -> None:
    op_type = node.op_type
    a = _attrs(ctx.onnx, node)
    x = ctx.data[data_in[0]]
    first_is_data = bool(node.input) and node.input[0] in ctx.data
    ctx.channels.update({o: None for o in node.output})
    if ctx.neutral.match(op_type, node.name, _node_id(node, index, ctx.containers)):
        ids = list(dict.fromkeys(ctx.data[i] for i in data_in))
        if len(ids) > 1:
            _add(ctx, index, node, Merge("add"), ids)
        else:
            _alias(ctx, node, ids[0])
        return
    if node.domain not in ("", "ai.onnx"):
        raise _Unknown()
    if op_type in ("Conv", "ConvInteger", "QLinearConv"):
        weight = node.input[1] if op_type != "QLinearConv" else node.input[3]
        if weight in ctx.data:
            raise _Unknown("its weights are computed from the input")
        kernel = a.get("kernel_shape") or list(_const(ctx, weight).shape[2:])
        k, s, p, d = _window(ctx, node, a, x, kernel)
        _add(ctx, index, node, Conv(k, s, p, d), [x])
    elif op_type == "ConvTranspose":
        _conv_transpose(ctx, index, node, a, x)
    elif op_type in ("MaxPool", "AveragePool", "LpPool"):
        k, s, p, d = _window(ctx, node, a, x, list(a["kernel_shape"]))
        ceil = bool(a.get("ceil_mode", 0))
        layer = MaxPool(k, s, p, d, ceil) if op_type == "MaxPool" else AvgPool(k, s, p, d, ceil)
        _add(ctx, index, node, layer, [x])
    elif op_type in ("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"):
        _add(ctx, index, node, GlobalPool("max" if op_type == "GlobalMaxPool" else "avg"), [x])
    elif op_type == "MaxUnpool":
        k, s, p, _ = _window(ctx, node, a, x, list(a["kernel_shape"]))
        if len(node.input) > 2 and node.input[2]:
            raise _Unknown("MaxUnpool with output_shape is not supported")
        _add(ctx, index, node, ConvTranspose(k, s, p), [x])
    elif op_type == "Pad":
        _pad(ctx, index, node, a, x)
    elif op_type in ("Resize", "Upsample"):
        _resize(ctx, index, node, a, x)
    elif op_type == "DepthToSpace":
        _add(ctx, index, node, Upsample("nearest", scale_factor=Fraction(int(a["blocksize"]))), [x])
    elif op_type == "SpaceToDepth":
        b = int(a["blocksize"])
        _add(ctx, index, node, AvgPool(b, b), [x])
    elif op_type == "Concat":
        if _spatial_axis(ctx, int(a["axis"])) is not None:
            raise _Unknown(f"concatenates along spatial axis {a['axis']}; only batch or channel concatenation keeps "
                           "positions")  # fmt: skip
        ids = [ctx.data[i] for i in node.input if i in ctx.data]
        _add(ctx, index, node, Merge("concat"), ids)
    elif op_type in _MERGE_ADD or op_type in _MERGE_MUL:
        ids = list(dict.fromkeys(ctx.data[i] for i in data_in))
        if len(ids) > 1:
            _add(ctx, index, node, Merge("add" if op_type in _MERGE_ADD else "multiply"), ids)
        else:
            _alias(ctx, node, ids[0])
    elif op_type in NEUTRAL_OPS:
        if not first_is_data:
            raise _Unknown("its data input is a constant and a parameter is computed from the input")
        if op_type in ("Expand", "Cast", "CastLike", "Identity"):
            _alias(ctx, node, x)  # no row for a broadcast or a type change
        else:
            word = op_type.lower() if op_type.lower() in NEUTRAL_NAMES else "identity"
            _add(ctx, index, node, Identity(name=word), [x])
    elif op_type in ("Softmax", "LogSoftmax", "Hardmax"):
        axis = int(a.get("axis", -1 if ctx.opset >= 13 else 1))
        if _spatial_axis(ctx, axis) is not None:
            raise _Unknown(f"{op_type} over axis {axis} mixes positions (only axis 1, the channels, is RF-neutral)")
        _alias(ctx, node, x)
    elif op_type == "Flatten":
        axis = int(a.get("axis", 1))
        rank = ctx.ndim + 2
        if not -rank <= axis <= rank:
            raise _Unknown(f"axis {axis} is not an axis of a tensor of rank {rank}")
        if axis % (rank + 1) >= 2 and axis != rank:
            raise _Unknown("flattens spatial axes into one sequence of positions")
        _add(ctx, index, node, Flatten(), [x])
    elif op_type == "Reshape":
        target = _ints(ctx, node.input[1])
        if len(target) == 2:
            _add(ctx, index, node, Flatten(), [x])
        elif _is_global(ctx, x):
            _alias(ctx, node, x)
        else:
            raise _Unknown(f"reshape to {len(target)} dims moves positions (only flattening to (N, features) is followed)")
    elif op_type in ("Squeeze", "Unsqueeze", "Transpose"):
        if _is_global(ctx, x):
            _alias(ctx, node, x)
            return
        axes = a.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            axes = _ints(ctx, node.input[1])
        if op_type == "Squeeze" and axes is not None and all(_spatial_axis(ctx, int(v)) is None for v in axes):
            _alias(ctx, node, x)
            return
        raise _Unknown(f"{op_type} changes which axes are positions")
    elif op_type in ("Gemm", "MatMul", "MatMulInteger", "QLinearMatMul"):
        if len(data_in) > 1:
            raise _Unknown("a product of two tensors computed from the input (attention) mixes positions")
        _add(ctx, index, node, Linear(), [x])
    elif op_type in _REDUCE:
        _reduce(ctx, index, node, a, x)
    elif op_type == "Slice":
        _slice(ctx, index, node, a, x)
    elif op_type == "Split":
        axis = int(a.get("axis", 0))
        if _spatial_axis(ctx, axis) is not None:
            raise _Unknown(f"splits along spatial axis {axis}")
        _alias(ctx, node, x)
    elif op_type == "Gather":
        axis = int(a.get("axis", 0))
        if _spatial_axis(ctx, axis) is not None or node.input[1] in ctx.data:
            raise _Unknown("gathers along a spatial axis")
        _alias(ctx, node, x)
    else:
        raise _Unknown()


def _is_global(ctx: _Ctx, node_id: str) -> bool:
    return node_id != INPUT and endpoint_of(ctx.asm.nodes, node_id) != node_id


def _conv_transpose(ctx: _Ctx, index: int, node: Any, a: Dict[str, Any], x: str) -> None:
    ndim = ctx.ndim
    weight = node.input[1]
    if weight in ctx.data:
        raise _Unknown("its weights are computed from the input")
    kernel = list(a.get("kernel_shape") or _const(ctx, weight).shape[2:])
    strides = list(a.get("strides", [1] * ndim))
    dilations = list(a.get("dilations", [1] * ndim))
    out_pad = list(a.get("output_padding", [0] * ndim))
    auto = a.get("auto_pad", "NOTSET")
    if "output_shape" in a or auto in ("SAME_UPPER", "SAME_LOWER"):
        n = ctx.asm.size(x, "ConvTranspose with output_shape or auto_pad")
        wanted = list(a["output_shape"])[-ndim:] if "output_shape" in a else [n[i] * strides[i] for i in range(ndim)]
        pairs = []
        for i in range(ndim):
            total = strides[i] * (n[i] - 1) + out_pad[i] + (kernel[i] - 1) * dilations[i] + 1 - wanted[i]
            if total < 0:
                raise _Unknown(f"output_shape {wanted} needs negative padding")
            half = total // 2
            pairs.append((half, total - half) if auto == "SAME_UPPER" else (total - half, half))
        padding: Any = tuple(pairs)
    elif auto == "VALID":
        padding = 0
    else:
        padding = _pairs(list(a.get("pads", [])), ndim)
    _add(ctx, index, node, ConvTranspose(tuple(kernel), tuple(strides), padding, tuple(out_pad), tuple(dilations)),
         [x])  # fmt: skip


def _pad(ctx: _Ctx, index: int, node: Any, a: Dict[str, Any], x: str) -> None:
    ndim, rank = ctx.ndim, ctx.ndim + 2
    if ctx.opset < 11 or "pads" in a:
        pads = [int(v) for v in a["pads"]]
        axes = list(range(rank))
    else:
        pads = _ints(ctx, node.input[1])
        axes_given = _ints(ctx, node.input[3]) if len(node.input) > 3 and node.input[3] else list(range(rank))
        axes = [v % rank for v in axes_given]
    if len(pads) != 2 * len(axes):
        raise _Unknown(f"pads has {len(pads)} values for {len(axes)} axes")
    pairs = [(0, 0)] * ndim
    for j, axis in enumerate(axes):
        if axis >= 2:
            pairs[axis - 2] = (pads[j], pads[j + len(axes)])
    mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}.get(
        a.get("mode", "constant"))
    if mode is None:
        raise _Unknown(f"pad mode {a.get('mode')!r} is not known")
    grow = tuple((max(b, 0), max(e, 0)) for b, e in pairs)
    cut = tuple((max(-b, 0), max(-e, 0)) for b, e in pairs)
    current = x
    if any(v for p in grow for v in p) or not any(v for p in cut for v in p):
        current = _add(ctx, index, node, Pad(grow, mode), [current])
    if any(v for p in cut for v in p):
        _add(ctx, index, node, Crop(cut), [current], ".crop")


def _ratio(value: float) -> Fraction:
    import numpy as np

    if not math.isfinite(value) or value <= 0:
        raise _Unknown(f"scale {value!r} must be positive")
    exact = Fraction(value).limit_denominator(1_000_000)
    if np.float32(float(exact)) != np.float32(value):
        raise _Unknown(f"scale {value!r} is not a ratio of small integers")
    return exact


def _resize(ctx: _Ctx, index: int, node: Any, a: Dict[str, Any], x: str) -> None:
    ndim = ctx.ndim
    mode = a.get("mode", "nearest")
    if node.op_type == "Upsample":
        coord, nearest = "asymmetric", "floor"
        scales_name = node.input[1] if len(node.input) > 1 else ""
        scales = [float(v) for v in a["scales"]] if "scales" in a else [float(v) for v in _const(ctx, scales_name).reshape(-1)]
        sizes: List[int] = []
    else:
        coord = a.get("coordinate_transformation_mode", "half_pixel")
        nearest = a.get("nearest_mode", "round_prefer_floor")
        if a.get("antialias", 0):
            raise _Unknown("antialias filters with a size-dependent kernel; not supported")
        if a.get("keep_aspect_ratio_policy", "stretch") != "stretch":
            raise _Unknown("keep_aspect_ratio_policy other than 'stretch' is not supported")
        if ctx.opset < 11:
            scales_name, sizes_name = node.input[1], ""
        else:
            scales_name = node.input[2] if len(node.input) > 2 else ""
            sizes_name = node.input[3] if len(node.input) > 3 else ""
        scales = [float(v) for v in _const(ctx, scales_name).reshape(-1)] if scales_name else []
        sizes = _ints(ctx, sizes_name) if sizes_name else []
        if "axes" in a:
            raise _Unknown("Resize with axes is not supported")
    key = (mode, coord, nearest if mode == "nearest" else "*")
    if key not in RESIZE_MODES:
        supported = ", ".join(f"{m}/{c}" + (f"/{n}" if n != "*" else "") for m, c, n in RESIZE_MODES)
        raise _Unknown(f"mode {mode!r} with coordinate_transformation_mode {coord!r}"
                       + (f" and nearest_mode {nearest!r}" if mode == "nearest" else "")
                       + f" is not followed (supported mode/coordinates/nearest: {supported})")  # fmt: skip
    torch_mode, corners = RESIZE_MODES[key]
    if sizes:
        if len(sizes) != ndim + 2:
            raise _Unknown(f"sizes has {len(sizes)} values for a tensor of rank {ndim + 2}")
        op = Upsample(torch_mode, size=tuple(sizes[2:]), align_corners=corners)
    elif scales:
        if len(scales) != ndim + 2:
            raise _Unknown(f"scales has {len(scales)} values for a tensor of rank {ndim + 2}")
        if scales[0] != 1 or scales[1] != 1:
            raise _Unknown("scales the batch or channel axis")
        ratios = tuple(_ratio(v) for v in scales[2:])
        op = Upsample(torch_mode, scale_factor=ratios if len(set(ratios)) > 1 else ratios[0], align_corners=corners)
    else:
        raise _Unknown("Resize needs scales or sizes")
    if coord == "pytorch_half_pixel":  # differs from half_pixel where an output axis has one unit
        node_id = _add(ctx, index, node, op, [x])
        out = ctx.asm.size(node_id, "Resize with pytorch_half_pixel") if ctx.asm.input_size is not None else None
        if out is not None and 1 in out:
            raise _Unknown("pytorch_half_pixel onto an axis of one unit reads input 0; not followed")
        return
    _add(ctx, index, node, op, [x])


def _reduce(ctx: _Ctx, index: int, node: Any, a: Dict[str, Any], x: str) -> None:
    axes = a.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = _ints(ctx, node.input[1])
    keep = bool(a.get("keepdims", 1))
    kind = "max" if node.op_type in ("ReduceMax", "ReduceMin") else "avg"
    if not axes:
        if a.get("noop_with_empty_axes", 0):
            _alias(ctx, node, x)
            return
        _add(ctx, index, node, GlobalPool(kind), [x])
        return
    spatial: Set[int] = {s for s in (_spatial_axis(ctx, int(v)) for v in axes) if s is not None}
    if not spatial:
        _alias(ctx, node, x)
    elif len(spatial) == ctx.ndim:
        _add(ctx, index, node, GlobalPool(kind), [x])
    elif not keep:
        raise _Unknown("reduces some spatial axes without keepdims: the axes left move")
    else:
        _add(ctx, index, node, AdaptivePool(tuple(1 if i in spatial else None for i in range(ctx.ndim)), kind), [x])


def _slice(ctx: _Ctx, index: int, node: Any, a: Dict[str, Any], x: str) -> None:
    if ctx.opset < 10:
        starts, ends = list(a["starts"]), list(a["ends"])
        axes = list(a.get("axes", range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = _ints(ctx, node.input[1]), _ints(ctx, node.input[2])
        axes = _ints(ctx, node.input[3]) if len(node.input) > 3 and node.input[3] else list(range(len(starts)))
        steps = _ints(ctx, node.input[4]) if len(node.input) > 4 and node.input[4] else [1] * len(starts)
    crops = [(0, 0)] * ctx.ndim
    strides = [1] * ctx.ndim
    sizes: Optional[Tuple[int, ...]] = None
    for start, end, axis, step in zip(starts, ends, axes, steps):
        spatial = _spatial_axis(ctx, int(axis))
        if spatial is None:
            continue  # batch or channels: positions stay
        if step < 1:
            raise _Unknown(f"slice step {step} is not supported")
        if sizes is None:
            sizes = ctx.asm.size(x, "Slice on a spatial axis")
        n = sizes[spatial]
        begin, stop, _ = slice(max(min(start, 2**62), -(2**62)), max(min(end, 2**62), -(2**62))).indices(n)
        crops[spatial] = (begin, max(n - max(stop, begin), 0))
        strides[spatial] = step
    current = x
    if any(c != (0, 0) for c in crops):
        current = _add(ctx, index, node, Crop(tuple(crops)), [current])
    if any(s != 1 for s in strides):
        current = _add(ctx, index, node, Conv(1, tuple(strides)), [current], ".step")
    _alias(ctx, node, current)

