"""Gradient verification done right, and the empirical ERF of a real model (PyTorch).

Back-propagating from one output unit and looking where the input gradient is nonzero is the
usual check of a receptive field. Done naively (the model as it is, an input of zeros, one output
channel) it undercounts:

- max pooling passes the gradient to one element per window (the largest; the first on ties),
  so only one path in k^2 survives each pool: the seed tutorial's 10x10 RF shows as 7x7 for its
  central unit (4, 4) and as 4x4 or 6x6 for unit (0, 0);
- ReLU passes no gradient where its input is negative (dead units), and other nonlinearities
  (saturated tanh / sigmoid, products with a zero factor) scale paths to zero;
- weights of both signs can cancel one another (a sum of paths that is zero);
- at the borders part of the RF is padding: no input position lies there;
- the other way, batch norm in training mode spreads the gradient over every position (its
  statistics are taken over positions), and reflect / replicate padding copies positions.

`verify` builds a probe that has none of these: the model traced by torch.fx and run in float64
on an input of ones, every convolution and linear weight the same positive constant (1 / fan-in
over channels, so a unit's gradient is its number of paths), max and average pooling replaced
by a sum over the same windows (same kernel, stride, padding, dilation, ceil_mode), activations,
normalisation and dropout passed through, products and other merges of two computed tensors
replaced by their sum, reductions by sums, padding modes by zero padding. Every path then adds
a positive amount: the gradient is nonzero exactly where a path reaches, and equals the exact
path count of `rfsearch.graph.erf.graph_erf(..., borders=True)`. The check compares the nonzero
gradient with that count (the same positions, and the same values where the probe weighs every
path 1), and its extent with the analytic RF and centre when the unit's RF lies inside the
input (a unit away from the border; a larger input moves it there).
"""

from __future__ import annotations

import contextlib
import copy
import html
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..core.erf import ERF
from ..errors import SpecError
from ..graph import compute_graph
from ..graph.erf import graph_erf
from ..graph.ops import AdaptivePool, Flatten, Linear, Merge, Upsample
from ..results.graph import GraphRF, normalized, show
from .torch_fx import TorchImport, _is_torch_function, _name, trace_torch

__all__ = ["Verification", "empirical_erf", "verify"]

Interval = Tuple[int, int]


@dataclass(frozen=True)
class Naive:
    """The naive check (the model as it is, an input of zeros, output channel 0): its extent."""

    box: Optional[Tuple[Interval, ...]]

    @property
    def rf(self) -> Optional[Tuple[int, ...]]:
        return None if self.box is None else tuple(hi - lo + 1 for lo, hi in self.box)


@dataclass(frozen=True)
class Verification:
    """What `verify` found for one unit. Intervals are (first, last) input positions per axis.

    extent / rf / center: the analytic RF of the unit (padding included); None when it has no
    single interval (a unit that sees no input, paths with different jumps). inside: no path of
    the unit crosses padding, of the input or of any map on the way (its path counts with and
    without borders are the same): the gradient must then span the analytic RF exactly. A border
    unit (inside False) has positions of its RF that are padding, or reached only through padding
    of an intermediate map (padding_only counts those inside the input). expected: the positions the exact path count (borders
    included) reaches, as a box; gradient: the box of the probe's nonzero gradient. same_positions:
    the nonzero gradient and the exact count reach the same positions (missing / extra: how many
    differ). same_counts: the gradient equals the count at every position (None: the probe weighs
    some paths other than 1: concat, linear interpolation, adaptive pooling, linear layers).
    agrees: everything that was compared agreed; differences says what did not.
    """

    node: str
    unit: Tuple[int, ...]
    input_size: Tuple[int, ...]
    extent: Optional[Tuple[Interval, ...]]
    center: Optional[Tuple[Union[int, Fraction], ...]]
    inside: bool
    expected: Optional[Tuple[Interval, ...]]
    gradient: Optional[Tuple[Interval, ...]]
    same_positions: bool
    missing: int
    extra: int
    same_counts: Optional[bool]
    naive: Optional[Naive] = None
    differences: Tuple[str, ...] = ()
    context: bool = False
    padding_only: int = 0
    erf: Optional[ERF] = field(default=None, compare=False, repr=False)

    @property
    def rf(self) -> Optional[Tuple[int, ...]]:
        """The analytic RF size per axis (None: the unit has no single interval, see `extent`)."""
        return None if self.extent is None else tuple(hi - lo + 1 for lo, hi in self.extent)

    @property
    def gradient_rf(self) -> Optional[Tuple[int, ...]]:
        return None if self.gradient is None else tuple(hi - lo + 1 for lo, hi in self.gradient)

    @property
    def gradient_center(self) -> Optional[Tuple[Union[int, Fraction], ...]]:
        if self.gradient is None:
            return None
        return tuple(normalized(Fraction(lo + hi, 2)) for lo, hi in self.gradient)

    @property
    def agrees(self) -> bool:
        return not self.differences

    def lines(self) -> List[str]:
        """The report, one line per finding."""
        unit = "x".join(map(str, self.unit))

        def box(b: Sequence[Interval]) -> str:
            return " x ".join(f"[{lo}, {hi}]" for lo, hi in b)

        def sizes(b: Sequence[Interval]) -> str:
            return "x".join(str(hi - lo + 1) for lo, hi in b)

        out = [f"node {self.node!r}, unit {unit}, input {'x'.join(map(str, self.input_size))}"]
        if self.extent is None or self.rf is None or self.center is None:
            out.append("analytic RF: no single interval (the unit sees no input, or its paths have different jumps)")
        else:
            out.append(f"analytic RF {'x'.join(map(str, self.rf))}: input {box(self.extent)} (padding included), "
                       f"centre {'x'.join(show(c) for c in self.center)}")  # fmt: skip
        if self.context:
            out.append("the unit also gets global context (a broadcast branch): its gradient reaches positions the RF "
                       "leaves out, so only the exact path count is compared")
        if not self.inside and self.extent is not None:
            clipped = tuple((max(lo, 0), min(hi, n - 1)) for (lo, hi), n in zip(self.extent, self.input_size))
            leaves = any(lo < 0 or hi > n - 1 for (lo, hi), n in zip(self.extent, self.input_size))
            where = (f"the RF leaves the input: {sizes(clipped)} of it lie inside, {box(clipped)}" if leaves
                     else "the RF lies inside the input")  # fmt: skip
            through = (f"; {self.padding_only} position(s) inside are reached only through padding of a map on the way"
                       if self.padding_only else "")  # fmt: skip
            out.append(f"a border unit: {where}{through}")
        if self.gradient is None:
            out.append("probe gradient: zero everywhere")
        else:
            out.append(f"probe gradient: nonzero on {box(self.gradient)} ({sizes(self.gradient)}), centre "
                       f"{'x'.join(show(c) for c in self.gradient_center or ())}")  # fmt: skip
        if self.same_positions:
            out.append("exact path count: reaches the same positions" +
                       ("" if self.same_counts is None else ", with the same counts" if self.same_counts
                        else ", with other counts"))  # fmt: skip
        else:
            out.append(f"exact path count: differs ({self.missing} positions without gradient, {self.extra} with "
                       "gradient but no path)")  # fmt: skip
        if self.naive is not None:
            naive = "zero everywhere" if self.naive.box is None else f"{sizes(self.naive.box)} ({box(self.naive.box)})"
            out.append(f"naive check (the model as it is, input of zeros, output channel 0): {naive}")
        out.append("AGREES" if self.agrees else "DIFFERS: " + "; ".join(self.differences))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def to_dict(self) -> Dict[str, Any]:
        def boxes(b: Optional[Tuple[Interval, ...]]) -> Optional[List[List[int]]]:
            return None if b is None else [list(i) for i in b]

        return {
            "node": self.node,
            "unit": list(self.unit),
            "input_size": list(self.input_size),
            "rf": None if self.rf is None else list(self.rf),
            "extent": boxes(self.extent),
            "center": None if self.center is None else [show(c) if isinstance(c, Fraction) else c for c in self.center],
            "inside": self.inside,
            "expected": boxes(self.expected),
            "gradient": boxes(self.gradient),
            "gradient_rf": None if self.gradient_rf is None else list(self.gradient_rf),
            "same_positions": self.same_positions,
            "missing": self.missing,
            "extra": self.extra,
            "same_counts": self.same_counts,
            "naive": None if self.naive is None else boxes(self.naive.box),
            "naive_rf": None if self.naive is None or self.naive.rf is None else list(self.naive.rf),
            "context": self.context,
            "padding_only": self.padding_only,
            "agrees": self.agrees,
            "differences": list(self.differences),
        }

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(str(self)) + "</pre>"


# --- the probe ----------------------------------------------------------------------------------------

_POOLS = ("max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
          "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d")  # fmt: skip


def _tuple(value: Any, n: int) -> Tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    values = tuple(int(v) for v in value)
    return values * n if len(values) == 1 else values


def sum_pool(torch: Any, x: Any, kernel: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
             ceil_mode: bool = False) -> Any:  # fmt: skip
    """A sum over the windows of a pooling layer (same kernel, stride, padding, dilation and
    ceil_mode, PyTorch's output size): zero padding, every element weighs 1."""
    nd = x.dim() - 2
    k = _tuple(kernel, nd)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) else _tuple(stride, nd)
    p, d = _tuple(padding, nd), _tuple(dilation, nd)
    pads: List[int] = []
    for a in reversed(range(nd)):  # F.pad: last axis first
        n = x.shape[2 + a]
        keff = d[a] * (k[a] - 1) + 1
        span = n + 2 * p[a] - keff + (s[a] - 1 if ceil_mode else 0)
        out = span // s[a] + 1
        if ceil_mode and (out - 1) * s[a] >= n + p[a]:
            out -= 1
        after = max((out - 1) * s[a] + keff - n - p[a], 0)
        pads += [p[a], after]
    channels = x.shape[1]
    weight = torch.ones((channels, 1, *k), dtype=x.dtype)
    conv = {1: torch.nn.functional.conv1d, 2: torch.nn.functional.conv2d, 3: torch.nn.functional.conv3d}[nd]
    return conv(torch.nn.functional.pad(x, pads), weight, None, s, 0, d, channels)


def _unpool(torch: Any, x: Any, kernel: Any, stride: Any, padding: Any) -> Any:
    nd = x.dim() - 2
    k = _tuple(kernel, nd)
    s = k if stride is None else _tuple(stride, nd)
    channels = x.shape[1]
    weight = torch.ones((channels, 1, *k), dtype=x.dtype)
    deconv = {1: torch.nn.functional.conv_transpose1d, 2: torch.nn.functional.conv_transpose2d,
              3: torch.nn.functional.conv_transpose3d}[nd]  # fmt: skip
    return deconv(x, weight, None, s, _tuple(padding, nd), 0, channels)


def _tensors(torch: Any, values: Iterable[Any]) -> List[Any]:
    out: List[Any] = []
    for v in values:
        if isinstance(v, torch.Tensor):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            out.extend(_tensors(torch, v))
        elif isinstance(v, dict):
            out.extend(_tensors(torch, v.values()))
    return out


def _merge(torch: Any, tensors: Sequence[Any]) -> Any:
    total = tensors[0]
    for t in tensors[1:]:
        total = total + t
    return total


def _probe_model(torch: Any, imp: TorchImport) -> Any:
    """A float64 copy of the traced model with every weight a positive constant (1 / fan-in over
    channels: a unit's gradient is then its number of paths) and no bias."""
    gm = copy.deepcopy(imp.module).double()
    nn = torch.nn
    done = set()
    with torch.no_grad():
        for module in gm.modules():
            if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
                if isinstance(module, nn.modules.conv._ConvNd):
                    fan = module.in_channels // module.groups
                    if module.padding_mode != "zeros":
                        module.padding_mode = "zeros"  # a padding mode copies positions; zeros add none
                else:
                    fan = module.in_features
                module.weight.fill_(1.0 / fan)
                done.add(id(module.weight))
                if module.bias is not None:
                    module.bias.zero_()
                    done.add(id(module.bias))
        for p in gm.parameters():  # weights used by F.conv2d & co.: positive too
            if id(p) not in done and p.is_floating_point():
                p.fill_(1.0 / p.shape[1] if p.dim() > 1 else 1.0)
    return gm


def _interpreter(torch: Any, gm: Any, imp: TorchImport, probe: bool) -> Any:
    roles = imp.roles

    class Probe(torch.fx.Interpreter):  # type: ignore[misc]
        def run_node(self, n: Any) -> Any:
            self._current = n
            return super().run_node(n)

        def _role(self, args: Any, kwargs: Any) -> Any:
            role = roles.get(self._current.name) if probe else None
            if role == "neutral":
                return _tensors(torch, (args, kwargs))[0]
            if role == "merge":
                return _merge(torch, _tensors(torch, (args, kwargs)))
            return None

        def call_module(self, target: Any, args: Any, kwargs: Any) -> Any:
            got = self._role(args, kwargs)
            if got is not None:
                return got
            if probe:
                mod = self.fetch_attr(target)
                pooling = torch.nn.modules.pooling
                if isinstance(mod, (pooling._MaxPoolNd, pooling._AvgPoolNd, pooling._LPPoolNd)):
                    dilation = getattr(mod, "dilation", 1)
                    out = sum_pool(torch, args[0], mod.kernel_size, mod.stride, getattr(mod, "padding", 0), dilation,
                                   bool(mod.ceil_mode))  # fmt: skip
                    return (out, out) if getattr(mod, "return_indices", False) else out
                if isinstance(mod, pooling._AdaptiveMaxPoolNd):
                    nd = args[0].dim() - 2
                    fn = getattr(torch.nn.functional, f"adaptive_avg_pool{nd}d")
                    out = fn(args[0], mod.output_size)
                    return (out, out) if mod.return_indices else out
                if isinstance(mod, pooling._MaxUnpoolNd):
                    return _unpool(torch, args[0], mod.kernel_size, mod.stride, mod.padding)
                if type(mod).__name__.endswith(("Pad1d", "Pad2d", "Pad3d")) and hasattr(mod, "padding"):
                    return torch.nn.functional.pad(args[0], list(mod.padding))
            return super().call_module(target, args, kwargs)

        def _function(self, name: Optional[str], args: Any, kwargs: Any) -> Any:
            F = torch.nn.functional
            if name in _POOLS:
                lp = name.startswith("lp")
                names = (["input", "norm_type", "kernel_size", "stride", "ceil_mode"] if lp else
                         ["input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"]
                         if name.startswith("max") else
                         ["input", "kernel_size", "stride", "padding", "ceil_mode"])  # fmt: skip
                b = dict(zip(names, args))
                b.update(kwargs)
                out = sum_pool(torch, b["input"], b["kernel_size"], b.get("stride"), b.get("padding", 0),
                               b.get("dilation", 1), bool(b.get("ceil_mode", False)))  # fmt: skip
                return (out, out) if (b.get("return_indices") or name.endswith("indices")) else out
            if name is not None and name.startswith("adaptive_max_pool"):
                nd = args[0].dim() - 2
                out = getattr(F, f"adaptive_avg_pool{nd}d")(args[0], args[1] if len(args) > 1 else kwargs["output_size"])
                return (out, out) if "indices" in name or kwargs.get("return_indices") else out
            if name is not None and name.startswith("max_unpool"):
                b = dict(zip(["input", "indices", "kernel_size", "stride", "padding"], args))
                b.update(kwargs)
                return _unpool(torch, b["input"], b["kernel_size"], b.get("stride"), b.get("padding", 0))
            if name in ("pad",):
                b = dict(zip(["input", "pad", "mode", "value"], args))
                b.update(kwargs)
                return F.pad(b["input"], b["pad"])
            return None

        def call_function(self, target: Any, args: Any, kwargs: Any) -> Any:
            if probe:
                got = self._role(args, kwargs)
                if got is not None:
                    return got
                if roles.get(self._current.name) == "sum":
                    return _sum_reduce(torch, args, kwargs, self._current)
                got = self._function(_name(target) if _is_torch_function(target) else None, args, kwargs)
                if got is not None:
                    return got
            return super().call_function(target, args, kwargs)

        def call_method(self, target: Any, args: Any, kwargs: Any) -> Any:
            if probe:
                got = self._role(args, kwargs)
                if got is not None:
                    return got
                if roles.get(self._current.name) == "sum":
                    return _sum_reduce(torch, args, kwargs, self._current, method=True)
            return super().call_method(target, args, kwargs)

    return Probe(gm, garbage_collect_values=False)


def _sum_reduce(torch: Any, args: Any, kwargs: Any, node: Any, method: bool = False) -> Any:
    """A reduction (mean, amax, max over dims, ...) as a sum over the same dims."""
    b = dict(zip(["input", "dim", "keepdim"], args))
    b.update(kwargs)
    x, dim, keep = b["input"], b.get("dim"), bool(b.get("keepdim", False))
    out = x.sum() if dim is None else x.sum(dim=dim, keepdim=keep)
    target = node.target if method else _name(node.target)
    return (out, out) if target in ("max", "min") and dim is not None else out


def _channels(torch: Any, imp: TorchImport) -> int:
    """The input's channel count: given, or the in_channels of the first convolution reading it."""
    if imp.shape.channels is not None:
        return imp.shape.channels
    gm = imp.module
    modules = dict(gm.named_modules())
    placeholder = next(n for n in gm.graph.nodes if n.op == "placeholder")
    for user in placeholder.users:
        if user.op == "call_module" and hasattr(modules[user.target], "in_channels"):
            return int(modules[user.target].in_channels)
        if user.op == "call_module" and hasattr(modules[user.target], "in_features"):
            raise SpecError("the model's first layer is linear: give the full input shape (N, C, ...)")
    raise SpecError("cannot tell the input's channel count from the model: give the full input shape (N, C, ...)")


def _count_exact(imp: TorchImport) -> bool:
    """True when the probe weighs every path 1 (its gradient is then the path count itself): not
    with concat (channels of different branches), reductions (a sum over channels), linear layers,
    adaptive pooling or linear interpolation (weights other than 1)."""
    if "sum" in imp.roles.values():
        return False
    for node in imp.graph.nodes:
        op = node.op
        if isinstance(op, (Flatten, Linear, AdaptivePool)) or (isinstance(op, Merge) and op.kind == "concat"):
            return False
        if isinstance(op, Upsample) and op.linear:
            return False
    return True


def _dense(erf: ERF, spatial: Sequence[int]) -> np.ndarray:
    """The counts on the input's grid (positions outside it dropped)."""
    out = np.zeros(tuple(spatial), dtype=np.float64)
    if erf.counts.size:
        src = []
        dst = []
        for o, n, size in zip(erf.origin, erf.counts.shape, spatial):
            lo, hi = max(o, 0), min(o + n, size)
            if lo >= hi:
                return out
            src.append(slice(lo - o, hi - o))
            dst.append(slice(lo, hi))
        out[tuple(dst)] = erf.counts[tuple(src)]
    return out


def _mask(erf: ERF, spatial: Sequence[int]) -> np.ndarray:
    return _dense(erf, spatial) > 0


def _box(mask: np.ndarray) -> Optional[Tuple[Interval, ...]]:
    where = np.nonzero(mask)
    if not where[0].size:
        return None
    return tuple((int(ix.min()), int(ix.max())) for ix in where)


def _target(result: GraphRF, node: Optional[str], unit: Union[None, int, Sequence[int]]) -> Tuple[str, Tuple[int, ...]]:
    node_id = result.output if node is None else node
    try:
        row = result.node(node_id)
    except KeyError:
        raise SpecError(f"no node {node_id!r:.60} in the imported graph") from None
    if row.output_size is None:
        raise SpecError(f"node {node_id!r} has no output size for this input")
    sizes = [int(n) for n in row.output_size if n is not None]
    if unit is None:
        index = tuple((n - 1) // 2 for n in sizes)  # the centre unit: away from the borders
    else:
        index = (unit,) * result.ndim if isinstance(unit, int) else tuple(unit)
    if len(index) != result.ndim:
        raise SpecError(f"unit needs {result.ndim} index(es), got {len(index)}")
    for a, (u, n) in enumerate(zip(index, sizes)):
        if isinstance(u, bool) or not isinstance(u, (int, np.integer)) or not 0 <= u < n:
            raise SpecError(f"unit index on axis {a} must be >= 0 < {n}, got {u!r:.40}")
    return node_id, tuple(int(u) for u in index)


def _value_of(torch: Any, interp: Any, imp: TorchImport, node_id: str) -> Any:
    fx_name = imp.fx_nodes[node_id]
    fx_node = next(n for n in interp.module.graph.nodes if n.name == fx_name)  # the copy's own nodes
    value = interp.env[fx_node]
    return value[0] if isinstance(value, (tuple, list)) else value


def _module(model: Any) -> Any:
    """An nn.Module from a module or a MODEL string (FILE.py:NAME, package.module:NAME)."""
    if isinstance(model, str):
        from .api import load_model

        if model.lower().endswith(".onnx"):
            raise SpecError("verify and the empirical ERF run PyTorch models; an ONNX file has no PyTorch probe")
        return load_model(model)
    return model


@contextlib.contextmanager
def _probe_memory(spatial: Sequence[int]) -> Iterator[None]:
    """Runs of the model on a whole input: torch's failure to allocate (a RuntimeError, not a
    MemoryError, and pages long through torch.fx) becomes one SpecError naming the input size."""
    try:
        yield
    except MemoryError:
        raise SpecError(_too_big(spatial, "")) from None
    except RuntimeError as e:
        text = str(e)
        if "can't allocate memory" not in text and "out of memory" not in text.lower():
            raise
        tried = text.split("you tried to allocate ", 1)[1].split(" bytes", 1)[0] if "tried to allocate" in text else ""
        raise SpecError(_too_big(spatial, f" ({tried} bytes at once)" if tried.isdigit() else "")) from None


def _too_big(spatial: Sequence[int], detail: str) -> str:
    size = "x".join(map(str, spatial))
    return (f"running the model on a {size} input needs more memory than is available{detail}; "
            "give a smaller input size")


def verify(
    model: Any,
    input_shape: Union[int, str, Sequence[int]],
    *,
    unit: Union[None, int, Sequence[int]] = None,
    node: Optional[str] = None,
    neutral_ops: Iterable[str] = (),
    naive: bool = False,
    seed: int = 0,
) -> Verification:
    """Checks the analytic RF of one unit of a PyTorch model against the gradient of an exact probe
    (see the module docstring). input_shape: the spatial size (32, "32x32") or (N, C, *spatial).
    unit: default the node's centre unit; node: default the endpoint. naive: also run the naive
    check (the model as it is, an input of zeros, output channel 0; seeded by `seed` when the model
    draws anything). Returns a Verification (`agrees`, `differences`, `str()` for the report)."""
    imp = trace_torch(_module(model), input_shape, neutral_ops=neutral_ops)
    torch = __import__("torch")
    if imp.shape.spatial is None:
        raise SpecError("verify needs an input size")
    result = compute_graph(imp.graph, alignment="ignore")
    node_id, index = _target(result, node, unit)
    if node_id not in imp.fx_nodes:
        raise SpecError(f"node {node_id!r} is not computed by the model itself (an input alias)")
    spatial = imp.shape.spatial
    row = result.node(node_id)
    assert row.axes is not None
    try:
        extent: Optional[Tuple[Interval, ...]] = tuple(result.unit(index, node=node_id).interval)
    except SpecError:  # sees no input, or paths with different jumps
        extent = None
    center = None if extent is None else tuple(normalized(Fraction(lo + hi, 2)) for lo, hi in extent)
    exact = graph_erf(imp.graph, node=node_id, unit=index, borders=True)
    free = graph_erf(imp.graph, node=node_id, unit=index, borders=False)
    inside = extent is not None and free.origin == exact.origin and np.array_equal(free.counts, exact.counts)
    expected_mask = _mask(exact, spatial)
    padding_only = int((_mask(free, spatial) & ~expected_mask).sum())
    channels = _channels(torch, imp)

    gm = _probe_model(torch, imp)
    with _probe_memory(spatial):
        x = torch.ones((1, channels) + tuple(spatial), dtype=torch.float64, requires_grad=True)
    interp = _interpreter(torch, gm, imp, probe=True)
    with _probe_memory(spatial):
        interp.run(x)
        y = _value_of(torch, interp, imp, node_id)
        y[(0, slice(None)) + index].mean().backward()  # every channel carries the unit's count: their mean is it
    grad = x.grad[0].sum(0).detach().numpy()
    got_mask = grad > 0
    missing = int((expected_mask & ~got_mask).sum())
    extra = int((got_mask & ~expected_mask).sum())
    same_positions = missing == 0 and extra == 0
    same_counts: Optional[bool] = None
    if _count_exact(imp) and same_positions:
        same_counts = bool(np.allclose(grad, _dense(exact, spatial), rtol=1e-9, atol=0))
    gradient_box = _box(got_mask)
    differences = []
    if not same_positions:
        differences.append(f"the probe's gradient and the exact path count differ on {missing + extra} positions")
    if same_counts is False:
        differences.append("the probe's gradient and the exact path count differ in value")
    context = any(a.context for a in row.axes)
    if context or extent is None:
        pass  # the path count alone says what is right (a broadcast branch reaches beyond the RF)
    elif inside:
        if gradient_box != extent:
            differences.append(f"the gradient spans {gradient_box} where the analytic RF is {extent}")
    elif gradient_box is not None:
        clipped = tuple((max(lo, 0), min(hi, n - 1)) for (lo, hi), n in zip(extent, spatial))
        if any(g_lo < c_lo or g_hi > c_hi for (g_lo, g_hi), (c_lo, c_hi) in zip(gradient_box, clipped)):
            differences.append(f"the gradient reaches {gradient_box}, outside the analytic RF {extent}")
    naive_result = None
    if naive:
        naive_result = Naive(_naive_box(torch, imp, node_id, index, channels, seed))
    return Verification(node_id, index, tuple(spatial), extent, center, inside, _box(expected_mask), gradient_box,
                        same_positions, missing, extra, same_counts, naive_result, tuple(differences), context,
                        padding_only, exact)  # fmt: skip


def _naive_box(torch: Any, imp: TorchImport, node_id: str, index: Tuple[int, ...], channels: int,
               seed: int) -> Optional[Tuple[Interval, ...]]:  # fmt: skip
    """The naive check: the model as it is, an input of zeros, the gradient of output channel 0."""
    torch.manual_seed(seed)
    gm = imp.module
    dtype = next((p.dtype for p in gm.parameters()), torch.float32)
    interp = _interpreter(torch, gm, imp, probe=False)
    with _probe_memory(imp.shape.spatial or ()):
        x = torch.zeros((1, channels) + tuple(imp.shape.spatial or ()), dtype=dtype, requires_grad=True)
        interp.run(x)
        y = _value_of(torch, interp, imp, node_id)
        y[(0, 0) + index].backward()
    return _box((x.grad[0].abs().sum(0) > 0).numpy())


def empirical_erf(
    model: Any,
    input_shape: Union[int, str, Sequence[int]],
    *,
    unit: Union[None, int, Sequence[int]] = None,
    node: Optional[str] = None,
    samples: int = 16,
    seed: int = 0,
    reinit: bool = False,
    neutral_ops: Iterable[str] = (),
) -> ERF:
    """The empirical ERF of a real model (Luo et al. 2016): the gradient of one unit (every output
    channel at that position) with respect to the input, its magnitude summed over input channels
    and averaged over `samples` random normal inputs, with the model's own weights (trained or at
    their initialisation; reinit=True draws fresh ones on a copy), in eval mode. Returns an ERF
    (kind "gradient", float64 over the whole input) with the unit's analytic RF as its extent."""
    imp = trace_torch(_module(model), input_shape, neutral_ops=neutral_ops)
    torch = __import__("torch")
    if imp.shape.spatial is None:
        raise SpecError("the empirical ERF needs an input size")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise SpecError(f"samples must be a positive integer, got {samples!r:.40}")
    result = compute_graph(imp.graph, alignment="ignore")
    node_id, index = _target(result, node, unit)
    extent = tuple(result.unit(index, node=node_id).interval)
    channels = _channels(torch, imp)
    generator = torch.Generator().manual_seed(seed)
    gm = imp.module
    if reinit:
        gm = copy.deepcopy(gm)
        torch.manual_seed(seed)
        for m in gm.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
    was_training = gm.training
    gm.eval()
    dtype = next((p.dtype for p in gm.parameters()), torch.float32)
    total = np.zeros(imp.shape.spatial, dtype=np.float64)
    try:
        for _ in range(samples):
            shape = (1, channels) + tuple(imp.shape.spatial)
            with _probe_memory(imp.shape.spatial):
                x = torch.randn(shape, generator=generator, dtype=dtype).requires_grad_(True)
                interp = _interpreter(torch, gm, imp, probe=False)
                interp.run(x)
                y = _value_of(torch, interp, imp, node_id)
                y[(0, slice(None)) + index].sum().backward()
            total += x.grad[0].abs().sum(0).double().numpy()
    finally:
        gm.train(was_training)
    counts = total / samples
    return ERF(counts, (0,) * len(extent), extent, False, "gradient", index, node_id, tuple(imp.shape.spatial),
               True, samples)  # fmt: skip

