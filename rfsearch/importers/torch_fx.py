"""PyTorch models -> graphs, through torch.fx symbolic tracing: no forward pass of data.

    from rfsearch.importers import from_torch
    graph = from_torch(model, (224, 224))            # or (1, 3, 224, 224), or 224
    compute_graph(graph).rf

torch.fx runs `forward` once on symbolic values and records every module call, function call
and method call. Each recorded operation becomes a graph node: modules are named by their path
in the model (`layer1.0.conv1`), function and method calls by the module they run in and what
they are (`layer1.0.add`). Sizes an operation needs (`F.interpolate(x, size=y.shape[2:])`,
`F.pad` amounts computed from sizes) come from rfsearch's own output-size arithmetic, never from
running the model. Operations that do not move or mix positions (activations, normalisation,
dropout, arithmetic with constants) are RF-neutral; anything else unknown is reported, all at
once, with where it is; `neutral_ops` names operations to take as RF-neutral anyway.

Normalisation layers (BatchNorm, GroupNorm, InstanceNorm, LayerNorm) are RF-neutral: their
statistics, which GroupNorm and InstanceNorm take over positions, are treated as constants,
as every receptive-field convention does.
"""

from __future__ import annotations

import copy
import functools
import math
import os
import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

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
    shown_path,
)

__all__ = ["TorchImport", "from_torch", "trace_torch"]

OPTION = "neutral_ops=[...] (CLI: --neutral-op NAME)"

# Module classes (any class in the MRO) that do not move or mix positions.
NEUTRAL_MODULES = frozenset(
    """Identity ReLU ReLU6 LeakyReLU PReLU RReLU ELU SELU CELU GELU SiLU Mish Sigmoid Tanh Hardtanh Hardswish
    Hardsigmoid Hardshrink Softshrink Tanhshrink Softplus Softsign LogSigmoid Threshold _BatchNorm BatchNorm1d
    BatchNorm2d BatchNorm3d SyncBatchNorm _InstanceNorm InstanceNorm1d InstanceNorm2d InstanceNorm3d GroupNorm
    LayerNorm RMSNorm LocalResponseNorm CrossMapLRN2d _DropoutNd Dropout Dropout1d Dropout2d Dropout3d AlphaDropout
    FeatureAlphaDropout ChannelShuffle Softmax2d""".split()
)
# Neutral words the compact grammar knows, for the op column of tables.
_NEUTRAL_WORD = {"ReLU": "relu", "ReLU6": "relu6", "LeakyReLU": "leakyrelu", "PReLU": "prelu", "ELU": "elu",
                 "SELU": "selu", "GELU": "gelu", "SiLU": "silu", "Mish": "mish", "Sigmoid": "sigmoid", "Tanh": "tanh",
                 "Softmax": "softmax", "Identity": "identity", "LayerNorm": "layernorm", "GroupNorm": "groupnorm",
                 "Dropout": "dropout"}  # fmt: skip

# Functions and methods (by name, from torch, torch.nn.functional, operator) that work per position.
NEUTRAL_FUNCTIONS = frozenset(
    """relu relu_ relu6 leaky_relu leaky_relu_ elu elu_ selu selu_ celu celu_ gelu silu mish hardswish hardsigmoid
    hardtanh hardtanh_ softplus softsign sigmoid sigmoid_ tanh tanh_ logsigmoid tanhshrink softshrink hardshrink
    threshold threshold_ prelu rrelu rrelu_ dropout dropout_ dropout1d dropout2d dropout3d alpha_dropout
    feature_alpha_dropout batch_norm instance_norm group_norm layer_norm rms_norm local_response_norm exp exp_ log
    log_ log1p log2 sqrt sqrt_ rsqrt abs abs_ neg neg_ pos sign clamp clamp_ clip clip_ clamp_min clamp_max square
    sin cos erf erfc floor ceil round reciprocal contiguous clone detach detach_ float double half bfloat16 to type
    type_as cpu cuda requires_grad_ nan_to_num channel_shuffle native_channel_shuffle logical_not isnan isfinite
    invert not_ inv sigmoid nonzero_static masked_fill masked_fill_ fill_ zero_ zeros_like ones_like""".split()
)
_ELEMENTWISE_ADD = frozenset("add add_ iadd sub sub_ isub subtract maximum minimum fmax fmin where lerp".split())
_ELEMENTWISE_MUL = frozenset("mul mul_ imul multiply truediv itruediv div div_ divide floordiv ifloordiv pow pow_ "
                             "ipow true_divide matmul_elementwise".split())  # fmt: skip
_REDUCTIONS = frozenset("mean sum amax amin max min logsumexp std var prod nansum nanmean median".split())
_TORCH_MODULES = ("torch", "torch.nn.functional", "torch.functional", "_operator", "operator", "builtins",
                  "torch._C._nn", "torch._C._VariableFunctions", "torch._C._linalg")  # fmt: skip


@dataclass(frozen=True)
class TorchImport:
    """A traced model: the graph, the fx graph, and which fx node made each graph node."""

    graph: Graph
    root: Any  # the traced nn.Module
    fx_graph: Any  # torch.fx.Graph
    fx_nodes: Dict[str, str]  # graph node id -> fx node name
    ndim: int
    shape: InputShape
    roles: Dict[str, str]  # fx node name -> "neutral", "merge" or "sum" (how verify's probe runs it)

    @functools.cached_property
    def module(self) -> Any:
        """The fx GraphModule (built when asked: its code generation costs as much as the trace)."""
        import torch.fx

        return torch.fx.GraphModule(self.root, self.fx_graph)


def from_torch(
    model: Any,
    input_shape: Union[None, int, str, Sequence[int]] = None,
    *,
    neutral_ops: Iterable[str] = (),
    output: Optional[str] = None,
    alignment: Optional[str] = "ignore",
) -> Graph:
    """The graph of a PyTorch model (an nn.Module), by torch.fx symbolic tracing.

    input_shape: the spatial size (224, "224x224", (224, 224)) or the full shape (N, C, *spatial);
    without it sizes are unknown (ops whose geometry depends on sizes then need it).
    neutral_ops: names of operations to take as RF-neutral (module class names like "MyGate",
    module paths like "layer1.0.attn", function or method names like "roll").
    output: the endpoint (a node id); default the model's output, or the feature map its global
    pooling / flatten / linear head reads. alignment: the graph's policy for misaligned merges,
    "ignore" by default (real models often merge paths half a pixel apart; results list them).
    Returns a Graph (compute it with `rfsearch.graph.compute_graph`). Raises TraceError (a
    SpecError) when the model cannot be traced, UnknownOperatorError listing unknown operations.
    """
    return trace_torch(model, input_shape, neutral_ops=neutral_ops, output=output, alignment=alignment).graph


def _torch() -> Any:
    try:
        import torch
        import torch.fx  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("importing PyTorch models needs PyTorch: pip install 'rfsearch[torch]'") from e
    return torch


def _name(target: Any) -> str:
    return str(getattr(target, "__name__", target))


def _qualified(target: Any) -> str:
    module = getattr(target, "__module__", None) or ""
    name = _name(target)
    if module in ("_operator", "builtins"):
        return f"operator.{name}" if module == "_operator" else name
    if module.startswith("torch._C"):
        module = "torch"
    return f"{module}.{name}" if module else name


def _is_torch_function(target: Any) -> bool:
    module = getattr(target, "__module__", None)
    if module in _TORCH_MODULES:
        return True
    qualname = getattr(target, "__qualname__", "")
    return isinstance(qualname, str) and qualname.startswith("_VariableFunctionsClass.")


_CLASS_NAMES: Dict[Any, Tuple[str, ...]] = {}  # by module class (a model has few)


def _mro_names(module: Any) -> Tuple[str, ...]:
    cls = type(module)
    names = _CLASS_NAMES.get(cls)
    if names is None:
        names = _CLASS_NAMES[cls] = tuple(c.__name__ for c in cls.__mro__)
    return names


class _Unknown(Exception):
    """An op rfsearch cannot place (collected, reported together at the end)."""

    def __init__(self, why: Optional[str] = None) -> None:
        super().__init__(why or "")
        self.why = why


class _Dims:
    """Which spatial axes a tensor's dims are: rank = ndim + 2 (batch, channels, spatial...)."""

    def __init__(self, ndim: int) -> None:
        self.ndim = ndim

    def norm(self, dim: int) -> int:
        rank = self.ndim + 2
        if not isinstance(dim, int) or isinstance(dim, bool) or not -rank <= dim < rank:
            raise _Unknown(f"dim {dim!r} is not an axis of a tensor of rank {rank}")
        return dim % rank

    def spatial(self, dim: int) -> Optional[int]:
        """The spatial axis of a tensor dim (None for batch or channels)."""
        d = self.norm(dim)
        return d - 2 if d >= 2 else None


def _ints(value: Any, what: str) -> Union[int, Tuple[int, ...]]:
    """A module or function parameter: an int or a per-axis tuple of ints."""
    if isinstance(value, bool):
        raise _Unknown(f"{what} must be integers, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, (tuple, list)):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise _Unknown(f"{what} must be integers, got {value!r:.60}")
        return tuple(value)
    raise _Unknown(f"{what} must be integers, got {value!r:.60}")


def _int(value: Any, what: str) -> int:
    """One integer parameter (not a per-axis tuple)."""
    v = _ints(value, what)
    if not isinstance(v, int):
        raise _Unknown(f"{what} must be one integer, got {value!r:.60}")
    return v


def _fraction(value: Any, what: str) -> Fraction:
    return Fraction(_int(value, what))


def _per_axis(value: Any, ndim: int, what: str) -> Tuple[int, ...]:
    v = _ints(value, what)
    if isinstance(v, int):
        return (v,) * ndim
    if len(v) == 1:
        return v * ndim
    if len(v) != ndim:
        raise _Unknown(f"{what} has {len(v)} values for {ndim} spatial axes")
    return v


def _ratio(value: Any) -> Union[int, Fraction]:
    """A scale factor as an exact ratio: ints stay, floats must be a ratio with a small denominator."""
    if isinstance(value, bool):
        raise _Unknown(f"scale_factor must be a number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or value <= 0:
            raise _Unknown(f"scale_factor must be positive, got {value!r}")
        exact = Fraction(value).limit_denominator(1_000_000)
        if float(exact) != value:
            raise _Unknown(f"scale_factor {value!r} is not a ratio of small integers")
        return exact
    raise _Unknown(f"scale_factor must be a number, got {value!r:.60}")


@dataclass
class _Ctx:
    """One import: the model, the fx graph, the graph being assembled, what each fx node became."""

    torch: Any
    root: Any
    modules: Dict[str, Any]
    ndim: int
    shape: InputShape
    asm: Assembler
    neutral: NeutralOps
    data: Dict[Any, str]  # fx node -> graph id of the tensor it is (data derived from the input)
    tuples: Dict[Any, List[str]]  # fx node -> graph ids of the tensors of a tuple result
    values: Dict[Any, Any]  # fx node -> evaluated constant (parameters, sizes, ...)
    unknown: List[UnknownOp]
    fx_of: Dict[str, str]  # graph id -> fx node name
    # fx node name -> how verify's probe runs it: "neutral" (passes its tensor through), "merge"
    # (sums its tensors), "sum" (a reduction, summed over the same dims)
    roles: Dict[str, str]

    @property
    def dims(self) -> _Dims:
        return _Dims(self.ndim)


def _where(node: Any) -> Optional[str]:
    """'file:line in scope' for an fx node (messages say "at ..."): the user's source line and
    the module it runs in; 'module scope' without a line; None at the top without one."""
    scope = _scope(node)
    found = node.meta.get("rfsearch_line")
    if found:
        return f"{shown_path(found[0])}:{found[1]}" + (f" in {scope}" if scope else "")
    return f"module {scope}" if scope else None


def _scope(node: Any) -> str:
    """The path of the innermost module an fx node runs in ('' at the top)."""
    stack = node.meta.get("rfsearch_stack") or ()
    if not stack:
        return ""
    path = stack[-1]
    if node.op == "call_module" and path == node.target and len(stack) > 1:
        return str(stack[-2])
    return "" if node.op == "call_module" and path == node.target else str(path)


def _base_name(node: Any) -> str:
    if node.op == "call_module":
        return str(node.target)
    name = _name(node.target) if node.op == "call_function" else str(node.target)
    name = name.strip("_") or "op"
    scope = _scope(node)
    return f"{scope}.{name}" if scope else name


# --- tracing ---------------------------------------------------------------------------------------


_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _outside(path: str) -> bool:
    """A frame of the user's code: not torch's, not rfsearch's."""
    return os.sep + "torch" + os.sep not in path and not os.path.abspath(path).startswith(_HERE)


_OUTSIDE: Dict[Any, bool] = {}  # by code object: the frames a trace walks are few


def _outside_code(code: Any) -> bool:
    if len(_OUTSIDE) > 65536:  # code objects of a long session: start again
        _OUTSIDE.clear()
    found = _OUTSIDE[code] = _outside(code.co_filename)
    return found


def _tracer(torch: Any, neutral: NeutralOps) -> Any:
    proxy_type = torch.fx.Proxy
    module_type = torch.nn.Module
    plain = (int, float, bool, str, type(None))

    class Tracer(torch.fx.Tracer):  # type: ignore[misc]
        paths: Tuple[str, ...] = ()  # the modules the trace is inside, outermost first

        # Only what the importer reads is recorded per node: the module paths it runs in and
        # the user's line. TracerBase.create_node also copies the module stack into every node
        # (copy.copy of an OrderedDict) and fills node_name_to_scope: a third of the trace's time.
        def create_node(self, kind: str, target: Any, args: Any, kwargs: Any, name: Optional[str] = None,
                        type_expr: Any = None) -> Any:  # fmt: skip
            if name is None and type(target) is str and not target.startswith("__") and target == target.lower():
                name = target  # what Graph._target_to_str(target) returns, without its regex
            node = self.graph.create_node(kind, target, args, kwargs, name, type_expr)
            node.meta["rfsearch_stack"] = self.paths
            # Where the user's forward made this call: the nearest frame outside torch and rfsearch
            # (cheaper than record_stack_traces, whose symbolizer imports half of torch).
            frame = sys._getframe(1)
            while frame is not None:
                outside = _OUTSIDE.get(frame.f_code)
                if outside is None:
                    outside = _outside_code(frame.f_code)
                if outside:
                    break
                frame = frame.f_back  # type: ignore[assignment]
            if frame is not None:
                node.meta["rfsearch_line"] = (frame.f_code.co_filename, frame.f_lineno)
            return node

        # Proxies, plain values and tuples / lists of them, as torch.fx lowers them, without the
        # parameter and buffer searches Tracer.create_arg runs first for every argument.
        def create_arg(self, a: Any) -> Any:
            t = type(a)
            if t is proxy_type:
                return a.node
            if t in plain:
                return a
            if t is tuple or t is list:
                items = [self.create_arg(x) for x in a]
                return tuple(items) if t is tuple else items
            if t is dict and not a:
                return {}
            return super().create_arg(a)

        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            # A module declared neutral is not traced into (its forward may not be traceable).
            if neutral.names and neutral.match(type(m).__name__, qualname):
                return True
            return bool(super().is_leaf_module(m, qualname))

        # Submodules (self.conv1 in a forward) are the common case: returned at once, not
        # compared against every parameter and buffer of the model (a Module is neither).
        def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: Dict[str, Any]) -> Any:
            if isinstance(attr_val, module_type):
                return attr_val
            return super().getattr(attr, attr_val, parameter_proxy_cache)

        # Tracer.call_module, without the Scope and module stack it keeps for
        # TracerBase.create_node (which this tracer does not call): the paths the nodes record,
        # and the leaf rule.
        def call_module(self, m: Any, forward: Any, args: Any, kwargs: Any) -> Any:
            path = self.path_of_module(m)
            outer = self.paths
            self.paths = outer + (path,)
            try:
                if self.is_leaf_module(m, path):
                    return self.create_proxy("call_module", path, args, kwargs)
                return forward(*args, **kwargs)
            finally:
                self.paths = outer

    return Tracer()


def _user_frame(error: BaseException) -> Optional[str]:
    """file:line of the deepest frame of the user's code in a traceback (not torch, not rfsearch)."""
    tb = error.__traceback__
    found = None
    while tb is not None:
        path = tb.tb_frame.f_code.co_filename
        if _outside(path):
            found = f"{shown_path(path)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def _trace(torch: Any, model: Any, neutral: NeutralOps, source: Optional[str]) -> Any:
    tracer = _tracer(torch, neutral)
    try:
        # A shallow copy: torch.fx stores tensor constants of forward() on the traced root
        # (_tensor_constant0, ...); inspecting a model must not add attributes to it.
        fx_graph = tracer.trace(copy.copy(model))
    except Exception as e:  # the user's forward can raise anything on symbolic values
        where = _user_frame(e)
        at = f" (at {where})" if where else ""
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TraceError(
            f"torch.fx could not trace the model: {type(e).__name__}: {reason}{at}. torch.fx runs forward() on "
            "symbolic values: Python control flow on tensor values or sizes (if x.sum() > 0, loops over x.shape) and "
            "calls that need real tensors cannot be recorded. What to do: give the input size if sizes are read; "
            "name the module that fails RF-neutral if it works per position (neutral_ops / --neutral-op); rewrite "
            "that branch without data-dependent control flow; or export the model to ONNX and inspect the .onnx file",
            source=source,
        ) from None
    return tracer.root, fx_graph


@functools.lru_cache(maxsize=1024)
def _axes_named(name: str) -> int:
    """The spatial axes a layer's name says (Conv2d, max_pool1d: 2, 1), 0 if none."""
    lower = name.lower()
    for n in (1, 2, 3):
        if name.endswith(f"{n}d") and any(k in lower for k in ("conv", "pool", "pad", "norm", "dropout")):
            if "batchnorm" in lower or "dropout" in lower or "instancenorm" in lower:
                continue  # BatchNorm1d also takes (N, C) tensors
            return n
    return 0


def _ndim(modules: Dict[str, Any], fx_graph: Any) -> Optional[int]:
    """Spatial axes from the model's layers: Conv2d -> 2, F.max_pool1d -> 1 (None: nothing says)."""
    found: Set[int] = set()
    for node in fx_graph.nodes:
        if node.op == "call_module":
            name = type(modules[node.target]).__name__
        elif node.op == "call_function":
            name = _name(node.target)
        else:
            continue
        n = _axes_named(name)
        if n:
            found.add(n)
    if len(found) > 1:
        raise TraceError(f"the model mixes layers of {sorted(found)} spatial axes (Conv1d and Conv2d, ...)")
    return found.pop() if found else None


def trace_torch(
    model: Any,
    input_shape_: Union[None, int, str, Sequence[int]] = None,
    *,
    neutral_ops: Iterable[str] = (),
    output: Optional[str] = None,
    alignment: Optional[str] = "ignore",
    source: Optional[str] = None,
) -> TorchImport:
    """`from_torch`, keeping the fx GraphModule and the fx node of each graph node (for verify)."""
    torch = _torch()
    if not isinstance(model, torch.nn.Module):
        raise SpecError(f"expected a torch.nn.Module, got {type(model).__name__}", source=source)
    neutral = NeutralOps(neutral_ops)
    root, fx_graph = _trace(torch, model, neutral, source)
    modules = dict(root.named_modules())
    ndim = _ndim(modules, fx_graph)
    shape = input_shape(input_shape_, ndim)
    if ndim is None:
        ndim = len(shape.spatial) if shape.spatial is not None else 1
    ctx = _Ctx(torch, root, modules, ndim, shape, Assembler(shape.spatial, source, shape.spatial is not None or ndim == 1), neutral, {}, {}, {},
               [], {}, {})  # fmt: skip
    outputs: List[str] = []
    placeholders = 0
    for node in fx_graph.nodes:
        if node.op == "placeholder":
            placeholders += 1
            if placeholders == 1:
                ctx.data[node] = INPUT
            elif node.args:  # a default value: a constant
                ctx.values[node] = node.args[0]
            else:
                raise TraceError(f"the model's forward takes more than one tensor ({node.target!r} has no default): "
                                 "rfsearch follows one input; give the others default values", source=source)  # fmt: skip
        elif node.op == "output":
            outputs = [ctx.data[n] for n in _flatten(node.args[0]) if n in ctx.data]
            outputs += [i for n in _flatten(node.args[0]) if n in ctx.tuples for i in ctx.tuples[n]]
        elif node.op == "get_attr":
            continue  # constants are evaluated when an op needs them
        elif _is_query(node):
            continue  # x.shape, x.size(): evaluated from rfsearch's sizes when an op needs them
        elif _has_data(ctx, node):
            try:
                _convert(ctx, node)
            except _Unknown as e:
                kind = _kind(ctx, node)
                ctx.unknown.append(UnknownOp(_base_name(node), kind, _where(node), e.why))
                firsts = [n for n in _flatten((node.args, node.kwargs)) if n in ctx.data]
                ctx.data[node] = ctx.data[firsts[0]] if firsts else INPUT  # go on: find the other unknown ops
            except SpecError as e:
                raise ctx.asm.error(e.reason, _base_name(node), _where(node)) from None
    if ctx.unknown:
        raise UnknownOperatorError(ctx.unknown, option=OPTION, source=source)
    neutral.check_all_used("neutral op")
    if not outputs:
        raise TraceError("the model returns no tensor computed from its input", source=source)
    outputs = list(dict.fromkeys(o for o in outputs if o != INPUT))
    if not outputs:
        raise TraceError("the model does no spatial operation on its input (only RF-neutral ones): nothing to analyse",
                         source=source)  # fmt: skip
    nodes = ctx.asm.nodes
    if output is not None:
        known = {n.id for n in nodes}
        if output not in known:
            by_fx = {v: k for k, v in ctx.fx_of.items()}
            if output.replace(".", "_") in by_fx:
                output = by_fx[output.replace(".", "_")]
            else:
                raise SpecError(f"output {output!r:.60} is not a node of the imported graph", source=source)
        first = output
    else:
        first = endpoint_of(nodes, outputs[0])
    graph = ctx.asm.graph(list(dict.fromkeys([first, *outputs])), alignment)
    return TorchImport(graph, root, fx_graph, dict(ctx.fx_of), ndim, shape, dict(ctx.roles))


def _flatten(value: Any) -> List[Any]:
    """Every leaf of nested tuples, lists, dicts and slices."""
    if isinstance(value, (tuple, list)):
        return [x for v in value for x in _flatten(v)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _flatten(v)]
    if isinstance(value, slice):
        return _flatten((value.start, value.stop, value.step))
    return [value]


def _is_query(node: Any) -> bool:
    """x.shape, x.size(...), x.dim(), x.dtype ...: values about a tensor, not tensors."""
    if node.op == "call_method":
        return node.target in ("size", "dim", "ndimension", "numel", "type") and not (
            node.target == "type" and (len(node.args) > 1 or node.kwargs))
    return node.op == "call_function" and node.target is getattr and len(node.args) == 2 and node.args[1] in (
        "shape", "ndim", "dtype", "device", "is_cuda")


def _has_data(ctx: _Ctx, node: Any) -> bool:
    return any(n in ctx.data or n in ctx.tuples for n in node.all_input_nodes)  # fx's list of argument nodes


def _kind(ctx: _Ctx, node: Any) -> str:
    if node.op == "call_module":
        return f"module {type(ctx.modules[node.target]).__name__}"
    if node.op == "call_method":
        return f"method {node.target}"
    return f"function {_qualified(node.target)}"


# --- constants --------------------------------------------------------------------------------------


def _value(ctx: _Ctx, arg: Any) -> Any:
    """A constant argument (a parameter, a size, arithmetic on sizes), evaluated."""
    if isinstance(arg, (tuple, list)):
        return type(arg)(_value(ctx, a) for a in arg) if not hasattr(arg, "_fields") else arg
    if isinstance(arg, dict):
        return {k: _value(ctx, v) for k, v in arg.items()}
    if isinstance(arg, slice):
        return slice(_value(ctx, arg.start), _value(ctx, arg.stop), _value(ctx, arg.step))
    torch = ctx.torch
    if not isinstance(arg, torch.fx.Node):
        return arg
    if arg in ctx.values:
        return ctx.values[arg]
    if arg in ctx.data or arg in ctx.tuples:
        raise _Unknown("a tensor computed from the input is used where a constant is expected")
    node = arg
    if node.op == "get_attr":
        value: Any = ctx.root
        for part in str(node.target).split("."):
            value = getattr(value, part)
    elif node.op == "placeholder":
        raise _Unknown(f"input {node.target!r} has no default value")
    else:
        value = _shape_query(ctx, node)
        if value is _NOT_SHAPE:
            args, kwargs = _value(ctx, node.args), _value(ctx, node.kwargs)
            try:
                if node.op == "call_function":
                    value = node.target(*args, **kwargs)
                elif node.op == "call_method":
                    value = getattr(args[0], node.target)(*args[1:], **kwargs)
                else:
                    value = ctx.modules[node.target](*args, **kwargs)
            except Exception as e:  # the user's own arithmetic on constants
                raise _Unknown(f"computing the constant {node.name!r} failed: {type(e).__name__}: {e}") from None
    ctx.values[node] = value
    return value


_NOT_SHAPE = object()


def _shape_query(ctx: _Ctx, node: Any) -> Any:
    """x.shape, x.size(), x.size(d), x.dim() of a tensor of the model: from rfsearch's sizes."""
    args = node.args
    if not args or args[0] not in ctx.data:
        return _NOT_SHAPE
    x = ctx.data[args[0]]
    what = f"{node.name} ({_where(node) or 'forward'})"
    if node.op == "call_method" and node.target in ("dim", "ndimension"):
        return ctx.ndim + 2
    if node.op == "call_function" and node.target is getattr and args[1] == "ndim":
        return ctx.ndim + 2
    if (node.op == "call_method" and node.target == "size") or (
        node.op == "call_function" and node.target is getattr and args[1] == "shape"
    ):
        spatial = ctx.asm.size(x, f"reading the size of a tensor ({what})")
        channels = ctx.shape.channels if x == INPUT else None
        full = (ctx.shape.batch, channels, *spatial)
        if node.op == "call_method" and (len(args) > 1 or "dim" in node.kwargs):
            d = ctx.dims.norm(_value(ctx, args[1] if len(args) > 1 else node.kwargs["dim"]))
            if full[d] is None:
                raise _Unknown(f"reads the {'batch' if d == 0 else 'channel'} count of a tensor: give the full input "
                               "shape (N, C, ...)" if d == 0 or x == INPUT else "reads a channel count")  # fmt: skip
            return full[d]
        return _Shape(full)
    if node.op == "call_function" and node.target is getattr and args[1] in ("dtype", "device", "is_cuda"):
        return {"dtype": ctx.torch.float32, "device": ctx.torch.device("cpu"), "is_cuda": False}[args[1]]
    return _NOT_SHAPE


class _Shape(tuple):  # type: ignore[type-arg]
    """A tensor's shape with unknown batch / channel entries (None): reading them is an error."""

    def __getitem__(self, index: Any) -> Any:
        got = tuple.__getitem__(self, index)
        if got is None or (isinstance(got, tuple) and None in got and not isinstance(index, slice)):
            raise _Unknown("reads the batch or channel count of a tensor: give the full input shape (N, C, ...)")
        if isinstance(got, tuple) and None in got:
            raise _Unknown("reads the batch or channel count of a tensor: give the full input shape (N, C, ...)")
        return got


# --- ops --------------------------------------------------------------------------------------------


def _add(ctx: _Ctx, node: Any, op: Op, inputs: Sequence[str], base: Optional[str] = None) -> str:
    node_id = ctx.asm.add(op, inputs, base or _base_name(node), functools.partial(_where, node))
    ctx.fx_of[node_id] = node.name
    ctx.data[node] = node_id
    return node_id


def _data_args(ctx: _Ctx, node: Any) -> List[str]:
    ids: List[str] = []
    for n in _flatten((node.args, node.kwargs)):
        if n in ctx.data:
            ids.append(ctx.data[n])
        elif n in ctx.tuples:
            ids.extend(ctx.tuples[n])
    return ids


def _bind(node: Any, names: Sequence[str], defaults: Dict[str, Any]) -> Dict[str, Any]:
    """A call's arguments by name (positional ones bound in `names` order), not evaluated."""
    bound = dict(defaults)
    args = node.args[1:] if node.op == "call_method" else node.args
    if len(args) > len(names):
        raise _Unknown(f"called with {len(args)} positional arguments")
    for name, value in zip(names, args):
        bound[name] = value
    for key, value in node.kwargs.items():
        bound[key] = value
    return bound


_TENSOR_ARGS = ("input", "weight", "bias", "tensors", "indices")


def _bound(ctx: _Ctx, node: Any, names: Sequence[str], defaults: Dict[str, Any]) -> Dict[str, Any]:
    """A call's arguments by name, the constant ones evaluated (tensor arguments left as fx nodes)."""
    raw = _bind(node, names, defaults)
    return {k: v if k in _TENSOR_ARGS else _value(ctx, v) for k, v in raw.items()}


def _convert(ctx: _Ctx, node: Any) -> None:
    if node.op == "call_module":
        _convert_module(ctx, node)
    elif node.op == "call_function":
        _convert_function(ctx, node, _name(node.target) if _is_torch_function(node.target) else None)
    elif node.op == "call_method":
        _convert_function(ctx, node, str(node.target), method=True)
    else:  # pragma: no cover - placeholders, outputs and get_attr are handled by the caller
        raise AssertionError(node.op)


def _neutral(ctx: _Ctx, node: Any, *, module: bool, word: str = "identity") -> None:
    """An RF-neutral op: modules become identity nodes (their rows show in tables); functions and
    methods pass their input through. Several tensor inputs: an elementwise merge of them."""
    ids = list(dict.fromkeys(_data_args(ctx, node)))
    ctx.roles[node.name] = "merge" if len(ids) > 1 else "neutral"
    if len(ids) > 1:
        _add(ctx, node, Merge("add"), ids)
    elif module:
        _add(ctx, node, _op(Identity, name=word if word in NEUTRAL_NAMES else "identity"), ids)
    else:
        ctx.data[node] = ids[0]


def _elementwise(ctx: _Ctx, node: Any, kind: str) -> None:
    """An elementwise op: a merge of its tensors computed from the input, or, with constants only
    besides one of them, RF-neutral (its probe in verify passes that tensor through)."""
    ids = list(dict.fromkeys(_data_args(ctx, node)))
    ctx.roles[node.name] = "merge" if len(ids) > 1 else "neutral"
    if len(ids) > 1:
        _add(ctx, node, Merge(kind), ids)
    else:
        ctx.data[node] = ids[0]


def _convert_module(ctx: _Ctx, node: Any) -> None:
    torch = ctx.torch
    nn = torch.nn
    mod = ctx.modules[node.target]
    cls = type(mod).__name__
    x_node = node.args[0] if node.args else None
    if ctx.neutral.match(cls, str(node.target), node.name):
        _neutral(ctx, node, module=True)
        return
    if x_node not in ctx.data:
        raise _Unknown("its first argument is not a tensor computed from the input")
    x = ctx.data[x_node]
    if isinstance(mod, nn.modules.conv._ConvTransposeNd):
        op_padding: Any = mod.output_padding
        if len(node.args) > 1 or "output_size" in node.kwargs:
            wanted = _value(ctx, node.args[1] if len(node.args) > 1 else node.kwargs["output_size"])
            op_padding = _transpose_output_padding(ctx, x, mod.kernel_size, mod.stride, mod.padding, mod.dilation,
                                                   wanted, node)  # fmt: skip
        _add(ctx, node, ConvTranspose(mod.kernel_size, mod.stride, mod.padding, op_padding, mod.dilation), [x])
    elif isinstance(mod, nn.modules.conv._ConvNd):
        _add(ctx, node, _op(Conv, mod.kernel_size, mod.stride, mod.padding, mod.dilation), [x])
    elif isinstance(mod, nn.modules.pooling._MaxPoolNd):
        op = _op(MaxPool, mod.kernel_size, mod.stride, mod.padding, mod.dilation, bool(mod.ceil_mode))
        _pool(ctx, node, op, x, bool(mod.return_indices))
    elif isinstance(mod, nn.modules.pooling._AvgPoolNd):
        _add(ctx, node, _op(AvgPool, mod.kernel_size, mod.stride, mod.padding, 1, bool(mod.ceil_mode)), [x])
    elif isinstance(mod, nn.modules.pooling._LPPoolNd):
        _add(ctx, node, AvgPool(mod.kernel_size, mod.stride, 0, 1, bool(mod.ceil_mode)), [x])
    elif isinstance(mod, (nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)):
        kind = "avg" if isinstance(mod, nn.modules.pooling._AdaptiveAvgPoolNd) else "max"
        _pool(ctx, node, AdaptivePool(_adaptive_size(mod.output_size), kind), x,
              bool(getattr(mod, "return_indices", False)))  # fmt: skip
    elif isinstance(mod, nn.modules.pooling._MaxUnpoolNd):
        _add(ctx, node, ConvTranspose(mod.kernel_size, mod.stride, mod.padding), [x])
    elif isinstance(mod, nn.Upsample):
        _upsample(ctx, node, x, mod.size, mod.scale_factor, mod.mode, mod.align_corners,
                  getattr(mod, "recompute_scale_factor", None), False)  # fmt: skip
    elif isinstance(mod, nn.PixelShuffle):
        _add(ctx, node, Upsample("nearest", scale_factor=_fraction(mod.upscale_factor, "upscale_factor")), [x])
    elif isinstance(mod, nn.PixelUnshuffle):
        r = _ints(mod.downscale_factor, "downscale_factor")
        _add(ctx, node, AvgPool(r, r), [x])
    elif cls.endswith(("Pad1d", "Pad2d", "Pad3d")) and hasattr(mod, "padding"):
        mode = ("reflect" if "Reflection" in cls else "replicate" if "Replication" in cls
                else "circular" if "Circular" in cls else "constant")  # fmt: skip
        _pad(ctx, node, x, mod.padding, mode)
    elif isinstance(mod, (nn.Flatten, nn.Unflatten)):
        if isinstance(mod, nn.Unflatten):
            raise _Unknown("Unflatten makes positions out of features")
        _flatten_op(ctx, node, x, mod.start_dim, mod.end_dim)
    elif isinstance(mod, (nn.Linear, nn.Bilinear, nn.LazyLinear)):
        _add(ctx, node, Linear(), _data_args(ctx, node))
    elif isinstance(mod, (nn.Softmax, nn.LogSoftmax, nn.Softmin)):
        _softmax(ctx, node, mod.dim, module=True)
    elif NEUTRAL_MODULES.intersection(_mro_names(mod)):
        word = next((w for c, w in _NEUTRAL_WORD.items() if c in _mro_names(mod)), None)
        if word is None:
            word = "bn" if "_BatchNorm" in _mro_names(mod) else "dropout" if "_DropoutNd" in _mro_names(mod) else "identity"
        _neutral(ctx, node, module=True, word=word)
    else:
        raise _Unknown()


def _op(cls: Any, *args: Any, **kwargs: Any) -> Any:
    """cls(*args, **kwargs), one instance per distinct arguments (ops are immutable; a model
    repeats a few layers many times). The key holds every value's type, so 3.0 or True is never
    served the op made from 3 (it is validated on its own); unhashable arguments are not cached."""
    kw = tuple(sorted(kwargs.items()))
    if not (_plain(args) and _plain(kw)):
        return cls(*args, **kwargs)
    return _cached_op(cls, args, kw)


def _plain(value: Any) -> bool:
    """Only ints and strs (and tuples of them): keys that are equal have equal types (3.0 and
    True equal 3 and 1; ops made from them are validated on their own)."""
    t = type(value)
    return t is int or t is str or (t is tuple and all(_plain(v) for v in value))


@functools.lru_cache(maxsize=4096)
def _cached_op(cls: Any, args: Tuple[Any, ...], kwargs: Tuple[Tuple[str, Any], ...]) -> Any:
    return cls(*args, **dict(kwargs))


def _adaptive_size(value: Any) -> Union[int, Tuple[Optional[int], ...]]:
    if isinstance(value, (tuple, list)):
        return tuple(None if v is None else _int(v, "output_size") for v in value)
    return _int(value, "output_size")


def _pool(ctx: _Ctx, node: Any, op: Op, x: str, indices: bool) -> None:
    node_id = _add(ctx, node, op, [x])
    if indices:  # (values, indices): both follow the pooled positions
        del ctx.data[node]
        ctx.tuples[node] = [node_id, node_id]


def _transpose_output_padding(ctx: _Ctx, x: str, kernel: Any, stride: Any, padding: Any, dilation: Any, wanted: Any,
                              node: Any) -> Tuple[int, ...]:  # fmt: skip
    """PyTorch's output_padding for ConvTranspose(..., output_size=...)."""
    n = ctx.asm.size(x, "a transposed convolution with output_size")
    ndim = ctx.ndim
    wanted = tuple(wanted)[-ndim:]
    k, s, p, d = (_per_axis(v, ndim, name) for v, name in ((kernel, "kernel"), (stride, "stride"),
                                                          (padding, "padding"), (dilation, "dilation")))  # fmt: skip
    out = []
    for a in range(ndim):
        least = (n[a] - 1) * s[a] - 2 * p[a] + d[a] * (k[a] - 1) + 1
        extra = int(wanted[a]) - least
        if not 0 <= extra < max(s[a], d[a]):
            raise _Unknown(f"output_size {wanted} cannot be reached from input size {n}")
        out.append(extra)
    return tuple(out)


def _pad(ctx: _Ctx, node: Any, x: str, amounts: Any, mode: str) -> None:
    """PyTorch padding amounts (last axis first: left, right, top, bottom, ...) as a Pad node, and a
    Crop node for negative amounts."""
    values = list(_per_pairs(amounts))
    pairs = [(0, 0)] * ctx.ndim
    for i in range(len(values) // 2):
        axis = ctx.ndim - 1 - i
        if axis < 0:
            continue  # channels or batch: positions do not move
        pairs[axis] = (values[2 * i], values[2 * i + 1])
    if len(values) % 2:
        raise _Unknown(f"pad needs an even number of amounts, got {len(values)}")
    grow = tuple((max(b, 0), max(a, 0)) for b, a in pairs)
    cut = tuple((max(-b, 0), max(-a, 0)) for b, a in pairs)
    current = x
    if any(v for pair in grow for v in pair) or not any(v for pair in cut for v in pair):
        current = _add(ctx, node, Pad(grow, "constant" if mode in ("constant", "zeros") else mode), [current])
    if any(v for pair in cut for v in pair):
        _add(ctx, node, Crop(cut), [current], _base_name(node) + ".crop")


def _per_pairs(amounts: Any) -> List[int]:
    if isinstance(amounts, int) and not isinstance(amounts, bool):
        raise _Unknown("pad amounts must be a sequence")
    values = list(amounts)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise _Unknown(f"pad amounts must be integers, got {values!r:.60}")
    return values


def _upsample(ctx: _Ctx, node: Any, x: str, size: Any, scale: Any, mode: Any, align_corners: Any,
              recompute: Any, antialias: Any) -> None:  # fmt: skip
    if antialias:
        raise _Unknown("antialias=True filters with a size-dependent kernel; not supported")
    if mode == "area":  # adaptive average pooling to the output size
        if size is None:
            n = ctx.asm.size(x, "interpolate(mode='area') with a scale factor")
            factors = [_ratio(f) for f in _per_axis_any(scale, ctx.ndim)]
            size = tuple(math.floor(a * f) for a, f in zip(n, factors))
        _add(ctx, node, AdaptivePool(_adaptive_size(size)), [x])
        return
    if mode not in ("nearest", "nearest-exact", "linear", "bilinear", "trilinear"):
        raise _Unknown(f"mode {mode!r} is not supported (nearest, nearest-exact, linear, bilinear, trilinear, area)")
    corners = bool(align_corners) if align_corners is not None else False
    if size is not None:
        sizes = _ints(tuple(size) if isinstance(size, (tuple, list)) else size, "size")
        op = Upsample(mode, size=sizes, align_corners=corners)
    elif scale is not None:
        ratios = tuple(Fraction(_ratio(f)) for f in _per_axis_any(scale, ctx.ndim))
        op = Upsample(mode, scale_factor=ratios if len(set(ratios)) > 1 else ratios[0], align_corners=corners,
                      recompute_scale_factor=bool(recompute))  # fmt: skip
    else:
        raise _Unknown("interpolate needs size or scale_factor")
    _add(ctx, node, op, [x])


def _per_axis_any(value: Any, ndim: int) -> Tuple[Any, ...]:
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            return tuple(value) * ndim
        if len(value) != ndim:
            raise _Unknown(f"{len(value)} values for {ndim} spatial axes")
        return tuple(value)
    return (value,) * ndim


def _flatten_op(ctx: _Ctx, node: Any, x: str, start: Any, end: Any) -> None:
    dims = ctx.dims
    s, e = dims.norm(start), dims.norm(end)
    if s >= 2:
        raise _Unknown("flattens spatial axes into one sequence of positions; rfsearch cannot follow positions after it")
    if e < 2:
        _neutral(ctx, node, module=node.op == "call_module")
        return
    _add(ctx, node, Flatten(), [x])


def _softmax(ctx: _Ctx, node: Any, dim: Any, *, module: bool) -> None:
    if dim is None or ctx.dims.spatial(dim) is not None:
        raise _Unknown(f"softmax over dim {dim!r} mixes positions (only dim 1, the channels, is RF-neutral)")
    _neutral(ctx, node, module=module, word="softmax")


def _is_global(ctx: _Ctx, node_id: str) -> bool:
    return node_id != INPUT and endpoint_of(ctx.asm.nodes, node_id) != node_id


def _convert_function(ctx: _Ctx, node: Any, name: Optional[str], method: bool = False) -> None:
    qualified = str(node.target) if method else _qualified(node.target)
    if ctx.neutral.match(str(node.target) if method else _name(node.target), qualified, node.name):
        _neutral(ctx, node, module=False)
        return
    if name is None:  # a function from the user's code (torch.fx.wrap) or a library
        raise _Unknown()
    name = name.strip("_") if name.startswith("__") else name
    data = _data_args(ctx, node)
    x_node = node.args[0] if node.args else None

    if name in ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
        transposed = "transpose" in name
        names = ["input", "weight", "bias", "stride", "padding"] + (
            ["output_padding", "groups", "dilation"] if transposed else ["dilation", "groups"])
        b = _bind(node, names, {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "output_padding": 0})
        if b["weight"] in ctx.data:
            raise _Unknown("its weights are computed from the input (a dynamic convolution)")
        weight = _value(ctx, b["weight"])
        kernel = tuple(int(k) for k in weight.shape[2:])
        stride, padding, dilation = (_value(ctx, b[k]) for k in ("stride", "padding", "dilation"))
        if transposed:
            op_: Op = ConvTranspose(kernel, _ints(stride, "stride"), _ints(padding, "padding"),
                                    _ints(_value(ctx, b["output_padding"]), "output_padding"), _ints(dilation, "dilation"))  # fmt: skip
        else:
            pad = padding if isinstance(padding, str) else _ints(padding, "padding")
            op_ = Conv(kernel, _ints(stride, "stride"), pad, _ints(dilation, "dilation"))
        _add(ctx, node, op_, [ctx.data[b["input"]]])
        return
    if name in ("max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
                "max_pool3d_with_indices"):  # fmt: skip
        b = _bound(ctx, node, ["input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                                     "return_indices"], {"stride": None, "padding": 0, "dilation": 1,
                                                         "ceil_mode": False, "return_indices": False})  # fmt: skip
        stride = b["stride"] if b["stride"] not in (None, [], ()) else None
        op_ = MaxPool(_ints(b["kernel_size"], "kernel_size"), None if stride is None else _ints(stride, "stride"),
                      _ints(b["padding"], "padding"), _ints(b["dilation"], "dilation"), bool(b["ceil_mode"]))  # fmt: skip
        _pool(ctx, node, op_, ctx.data[node.args[0]], bool(b["return_indices"]) or "indices" in name)
        return
    if name in ("avg_pool1d", "avg_pool2d", "avg_pool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d"):
        lp = name.startswith("lp")
        names = ["input", "norm_type", "kernel_size", "stride", "ceil_mode"] if lp else [
            "input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"]
        b = _bound(ctx, node, names, {"stride": None, "padding": 0, "ceil_mode": False})
        stride = b["stride"] if b["stride"] not in (None, [], ()) else None
        op_ = AvgPool(_ints(b["kernel_size"], "kernel_size"), None if stride is None else _ints(stride, "stride"),
                      _ints(b["padding"], "padding"), 1, bool(b["ceil_mode"]))  # fmt: skip
        _add(ctx, node, op_, [ctx.data[node.args[0]]])
        return
    if name.startswith(("adaptive_avg_pool", "adaptive_max_pool")):
        b = _bound(ctx, node, ["input", "output_size", "return_indices"], {"return_indices": False})
        op_ = AdaptivePool(_adaptive_size(b["output_size"]), "avg" if "avg" in name else "max")
        _pool(ctx, node, op_, ctx.data[node.args[0]], bool(b["return_indices"]) or "indices" in name)
        return
    if name.startswith("max_unpool"):
        b = _bound(ctx, node, ["input", "indices", "kernel_size", "stride", "padding", "output_size"],
                              {"stride": None, "padding": 0, "output_size": None})  # fmt: skip
        if b["output_size"] is not None:
            raise _Unknown("max_unpool with output_size is not supported")
        k = _ints(b["kernel_size"], "kernel_size")
        _add(ctx, node, ConvTranspose(k, k if b["stride"] is None else _ints(b["stride"], "stride"),
                                      _ints(b["padding"], "padding")), [ctx.data[node.args[0]]])  # fmt: skip
        return
    if name in ("interpolate", "upsample", "upsample_nearest", "upsample_bilinear"):
        b = _bound(ctx, node, ["input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor",
                                     "antialias"], {"size": None, "scale_factor": None, "mode": "nearest",
                                                    "align_corners": None, "recompute_scale_factor": None,
                                                    "antialias": False})  # fmt: skip
        if name == "upsample_bilinear":
            b["mode"], b["align_corners"] = "bilinear", True
        _upsample(ctx, node, ctx.data[node.args[0]], b["size"], b["scale_factor"], b["mode"], b["align_corners"],
                  b["recompute_scale_factor"], b["antialias"])  # fmt: skip
        return
    if name in ("pad", "constant_pad_nd"):
        b = _bound(ctx, node, ["input", "pad", "mode", "value"], {"mode": "constant", "value": None})
        _pad(ctx, node, ctx.data[node.args[0]], b["pad"], b["mode"])
        return
    if name in ("pixel_shuffle", "pixel_unshuffle"):
        b = _bound(ctx, node, ["input", "factor"], {})
        r = _int(b["factor"] if "factor" in b else b.get("upscale_factor", b.get("downscale_factor")), "factor")
        op_ = Upsample("nearest", scale_factor=Fraction(r)) if name == "pixel_shuffle" else AvgPool(r, r)
        _add(ctx, node, op_, [ctx.data[node.args[0]]])
        return
    if name in ("cat", "concat", "concatenate"):
        b = _bind(node, ["tensors", "dim"], {"dim": 0})
        dim = _value(ctx, b["dim"])
        if ctx.dims.spatial(dim) is not None:
            raise _Unknown(f"concatenates along spatial dim {dim}; only batch or channel concatenation keeps positions")
        ids = [i for t in _flatten(b["tensors"]) for i in ([ctx.data[t]] if t in ctx.data else ctx.tuples.get(t, []))]
        _add(ctx, node, Merge("concat"), ids)
        return
    if name == "stack":
        raise _Unknown("stack adds a new axis")
    if name in ("flatten", "ravel"):
        if name == "ravel":
            _add(ctx, node, Flatten(), data[:1])
            return
        b = _bound(ctx, node, ["start_dim", "end_dim"] if method else ["input", "start_dim", "end_dim"],
                              {"start_dim": 0, "end_dim": -1})  # fmt: skip
        _flatten_op(ctx, node, data[0], b["start_dim"], b["end_dim"])
        return
    if name in ("view", "reshape"):
        shape = node.args[1:] if method else node.args[1:]
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if not shape and "shape" in node.kwargs:
            shape = tuple(node.kwargs["shape"])
        if len(shape) == 2:  # (N, -1): a flatten
            _add(ctx, node, Flatten(), data[:1])
            return
        if _is_global(ctx, data[0]):
            ctx.data[node] = data[0]  # a reshape of global features
            return
        raise _Unknown(f"reshape to {len(shape)} dims moves positions (only flattening to (N, features) is followed)")
    if name in ("squeeze", "unsqueeze", "squeeze_", "unsqueeze_", "view_as", "reshape_as", "expand", "expand_as",
                "repeat", "permute", "transpose", "t"):  # fmt: skip
        if name in ("expand", "expand_as", "view_as", "reshape_as") and node.args[0] in ctx.data:
            ctx.data[node] = ctx.data[node.args[0]]  # the same values, broadcast: merges handle size 1
            return
        if data and _is_global(ctx, data[0]):
            ctx.data[node] = data[0]
            return
        if name in ("squeeze", "unsqueeze") and len(node.args) > 1 and not node.kwargs:
            dim = _value(ctx, node.args[1])
            if isinstance(dim, int) and ctx.dims.norm(dim) <= 1 and name == "squeeze":
                ctx.data[node] = data[0]
                return
        raise _Unknown(f"{name} changes which axes are positions")
    if name in _REDUCTIONS or name in ("norm",):
        _reduce(ctx, node, name, method)
        return
    if name in ("linear", "matmul", "mm", "bmm") or (name in ("matmul",) and not method):
        if len(data) > 1:
            raise _Unknown("a product of two tensors computed from the input (attention) mixes positions")
        _add(ctx, node, Linear(), data)
        return
    if name in ("softmax", "log_softmax", "softmin"):
        b = _bind(node, ["dim"] if method else ["input", "dim"], {"dim": None})
        _softmax(ctx, node, _value(ctx, b["dim"]), module=False)
        return
    if name in ("chunk", "split", "tensor_split", "unbind", "split_with_sizes"):
        names = ["dim"] if name == "unbind" else ["split", "dim"]
        b = _bind(node, names if method else ["input", *names], {"dim": 0})
        dim = _value(ctx, b["dim"])
        if ctx.dims.spatial(dim) is not None:
            raise _Unknown(f"splits along spatial dim {dim}")
        ctx.tuples[node] = [data[0]]
        return
    if name == "getitem":
        _getitem(ctx, node)
        return
    if name == "getattr":
        if node.args[0] in ctx.tuples and node.args[1] in ("values", "indices"):
            ctx.data[node] = ctx.tuples[node.args[0]][0]
            return
        raise _Unknown(f"reads attribute {node.args[1]!r} of a tensor")
    if name in _ELEMENTWISE_ADD or name in _ELEMENTWISE_MUL:
        _elementwise(ctx, node, "add" if name in _ELEMENTWISE_ADD else "multiply")
        return
    if name in NEUTRAL_FUNCTIONS or (method and name in ("relu", "sigmoid", "tanh", "clamp", "exp")):
        _neutral(ctx, node, module=False)
        return
    raise _Unknown()


def _getitem(ctx: _Ctx, node: Any) -> None:
    source, index = node.args[0], node.args[1]
    if source in ctx.tuples:
        items = ctx.tuples[source]
        k = _value(ctx, index)
        ctx.data[node] = items[k] if isinstance(k, int) and -len(items) <= k < len(items) else items[0]
        return
    x = ctx.data[source]
    idx = _value(ctx, index)
    idx = idx if isinstance(idx, tuple) else (idx,)
    rank = ctx.ndim + 2
    if any(i is None for i in idx):
        raise _Unknown("indexing with None adds an axis")
    if Ellipsis in idx:
        at = idx.index(Ellipsis)
        idx = idx[:at] + (slice(None),) * (rank - len(idx) + 1) + idx[at + 1:]
    idx = idx + (slice(None),) * (rank - len(idx))
    if len(idx) > rank:
        raise _Unknown("too many indices")
    crops: List[Tuple[int, int]] = []
    steps: List[int] = []
    for d, i in enumerate(idx):
        if not isinstance(i, slice):
            raise _Unknown(f"indexing dim {d} with {i!r:.40} removes an axis")
        if d < 2:
            continue
        if i == slice(None):
            crops.append((0, 0))
            steps.append(1)
            continue
        n = ctx.asm.size(x, "slicing a tensor") if _needs_size(i) else None
        start, stop, step = i.start, i.stop, 1 if i.step is None else i.step
        if not isinstance(step, int) or step < 1:
            raise _Unknown(f"slice step {step!r} is not supported")
        if n is not None:
            start, stop, _ = i.indices(n[d - 2])
            before, after = start, n[d - 2] - stop
        else:
            before = start or 0
            after = -stop if stop is not None else 0
        crops.append((max(before, 0), max(after, 0)))
        steps.append(step)
    current = x
    if any(c != (0, 0) for c in crops):
        current = _add(ctx, node, Crop(tuple(crops)), [current], _base_name(node) + ".crop")
    if any(s != 1 for s in steps):
        current = _add(ctx, node, Conv(1, tuple(steps)), [current], _base_name(node) + ".step")
    ctx.data[node] = current


def _needs_size(i: slice) -> bool:
    start = 0 if i.start is None else i.start
    return start < 0 or (i.stop is not None and i.stop >= 0)


def _reduce(ctx: _Ctx, node: Any, name: str, method: bool) -> None:
    """mean / sum / amax / ... over dims: global pooling on the spatial axes reduced."""
    b = _bind(node, ["dim", "keepdim"] if method else ["input", "dim", "keepdim"], {"dim": None, "keepdim": False})
    data = _data_args(ctx, node)
    if len(set(data)) > 1 or (isinstance(b["dim"], ctx.torch.fx.Node) and b["dim"] in ctx.data):
        _elementwise(ctx, node, "add")  # torch.max(a, b): elementwise
        return
    dim = _value(ctx, b["dim"])
    if name in ("max", "min") and dim is not None and not isinstance(dim, (int, tuple, list)):
        raise _Unknown(f"dim {dim!r:.40} is not an axis")
    ctx.roles[node.name] = "sum"
    dims = None if dim is None else [dim] if isinstance(dim, int) else list(dim)
    kind = "max" if name in ("amax", "max", "amin", "min") else "avg"
    if dims is None:
        op: Op = GlobalPool(kind)
    else:
        axes = {ctx.dims.spatial(d) for d in dims} - {None}
        if not axes:
            _neutral(ctx, node, module=False)
            ctx.roles[node.name] = "sum"
            if name in ("max", "min"):
                ctx.tuples[node] = [ctx.data.pop(node)]
            return
        if len(axes) == ctx.ndim:
            op = GlobalPool(kind)
        else:
            if not _value(ctx, b["keepdim"]):
                raise _Unknown("reduces some spatial axes without keepdim: the axes left move")
            op = AdaptivePool(tuple(1 if a in axes else None for a in range(ctx.ndim)), kind)
    node_id = _add(ctx, node, op, data[:1])
    if name in ("max", "min") and dims is not None:  # (values, indices)
        del ctx.data[node]
        ctx.tuples[node] = [node_id, node_id]

