"""The exact uniform-weight ERF of one unit of a graph: path counts to every input position.

    from rfsearch.graph.erf import graph_erf
    e = graph_erf("zoo:resnet50")                  # the endpoint's centre unit, as Luo et al. draw it
    e.counts.shape, e.width(0.95), e.radius(0.5)
    graph_erf(g, 32, unit=(0, 0), borders=True)    # a border unit, paths through padding cut

Every op is, per axis, a periodic window: output unit v of a node reads its input's units
first(v) + t*step(v), t < count(v), with first(v + period) = first(v) + shift (a convolution moves
by its stride each unit; a stride-s transposed convolution by one unit every s; an upsampling by p
units every q when n/m = p/q; global ops read every unit). The counts of one unit are pushed back
through the windows node by node, in reverse topological order, and summed over the inputs of a
merge: the number of paths from the unit to each input position (multiply and concat count as
add does: each input is a path). `borders=False` (default) continues every map past its borders
(Distill's convention: padding positions are positions; what a unit far from every border sees);
`borders=True` drops the taps that land outside a node's units (padding, missing units of a
transposed convolution), exactly what the gradient of a uniform network with these borders shows.

The core counts (C++, `_core.graph_erf`); `graph_erf_reference` is the pure-Python reference
(dicts of Python ints) it is tested against.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from math import ceil, floor
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..core.erf import ERF
from ..errors import SpecError
from ..model.grammar import parse_layers
from ..model.layers import PAD_SAME, Layer
from ..model.values import as_index
from ..results.graph import GraphRF
from .compute import GraphLike, compute_graph, to_graph
from .model import INPUT, Graph, Node
from .ops import AdaptivePool, ConvTranspose, Crop, Flatten, GlobalPool, Linear, Merge, Pad, Upsample, pair_on, param_on

__all__ = ["AxisWindow", "ErfProblem", "as_graph", "erf_problem", "graph_erf", "graph_erf_reference"]

Size = Optional[int]


@dataclass(frozen=True)
class AxisWindow:
    """Unit v reads input units first(v) + t*step(v), t < count(v); first(v + period) = first(v) + shift."""

    period: int
    shift: int
    first: Tuple[int, ...]
    step: Tuple[int, ...]
    count: Tuple[int, ...]

    def tap_list(self, v: int) -> List[int]:
        q, r = divmod(v, self.period)
        f = self.first[r] + q * self.shift
        return [f + t * self.step[r] for t in range(self.count[r])]


IDENTITY = AxisWindow(1, 1, (0,), (1,), (1,))


def _strided(stride: int, offset: int, dilation: int, kernel: int) -> AxisWindow:
    return AxisWindow(1, stride, (offset,), (dilation,), (kernel,))


def _whole(n: Size, what: str) -> AxisWindow:
    if n is None:
        raise SpecError(f"{what} reads its whole input: its ERF needs the input size")
    return AxisWindow(1, 0, (0,), (1,), (n,))


def _periodic(ratio: Fraction, taps: Callable[[int], Tuple[int, int, int]]) -> AxisWindow:
    """A window moving by p input units every q output units (ratio p/q >= 0)."""
    period = ratio.denominator if ratio else 1
    firsts, steps, counts = zip(*(taps(v) for v in range(period)))
    return AxisWindow(period, ratio.numerator if ratio else 0, tuple(firsts), tuple(steps), tuple(counts))


def _layer(layer: Layer, axis: int, ndim: int, n: Size) -> AxisWindow:
    p = layer.axis_params(ndim)[axis]
    keff = p.dilation * (p.kernel - 1) + 1
    before = p.pad_before
    if before == PAD_SAME:  # TensorFlow 'SAME': the smaller half before
        if n is not None:
            total = max((-(-n // p.stride) - 1) * p.stride + keff - n, 0)
        elif p.stride == 1:
            total = keff - 1
        else:
            raise SpecError(f"padding 'same' with stride {p.stride} depends on the input size; give an input size")
        before = total // 2
    return _strided(p.stride, -before, p.dilation, p.kernel)


def _conv_transpose(op: ConvTranspose, axis: int) -> AxisWindow:
    """Output o reads input i through tap j when o = i*s - before + j*d: one period of s outputs."""
    k, s, d = (param_on(v, axis) for v in (op.kernel, op.stride, op.dilation))
    before, _ = pair_on(op.padding, axis)
    firsts, steps, counts = [], [], []
    for o in range(s):
        inputs = sorted((o + before - j * d) // s for j in range(k) if (o + before - j * d) % s == 0)
        firsts.append(inputs[0] if inputs else 0)
        steps.append(inputs[1] - inputs[0] if len(inputs) > 1 else 1)
        counts.append(len(inputs))
        assert all(b - a == steps[-1] for a, b in zip(inputs, inputs[1:]))  # an arithmetic progression
    return AxisWindow(s, 1, tuple(firsts), tuple(steps), tuple(counts))


def _upsample(op: Upsample, axis: int, n: Size, m: Size) -> AxisWindow:
    """PyTorch's source coordinates (see rfsearch.graph.ops.Upsample)."""
    if op.align_corners:
        if n is None or m is None:
            raise SpecError("align_corners=True makes the windows depend on the input size; give an input size")
        r = Fraction(n - 1, m - 1) if m > 1 else Fraction(0)
    elif op.size is not None or op.recompute_scale_factor:
        if n is None or m is None:
            raise SpecError("upsampling to a size needs the input size")
        r = Fraction(n, m)
    else:
        factor = op.scale_factor[axis] if isinstance(op.scale_factor, tuple) else op.scale_factor
        assert factor is not None
        r = 1 / Fraction(factor)
    half = Fraction(1, 2)
    if op.mode == "nearest":
        return _periodic(r, lambda o: (floor(o * r), 1, 1))
    if op.mode == "nearest-exact":
        return _periodic(r, lambda o: (floor((o + half) * r), 1, 1))

    def linear(o: int) -> Tuple[int, int, int]:
        src = o * r if op.align_corners else (o + half) * r - half
        i0 = floor(src)
        return i0, 1, 1 if src == i0 else 2  # the second tap weighs src - i0: none when 0

    return _periodic(r, linear)


def _adaptive(op: AdaptivePool, axis: int, n: Size) -> AxisWindow:
    m = op.size_on(axis)
    if m is None:
        return IDENTITY
    if m == 1:
        return _whole(n, "global pooling")
    if n is None:
        raise SpecError(f"adaptive pooling to {m} units needs the input size")
    r = Fraction(n, m)
    return _periodic(r, lambda i: (floor(i * r), 1, ceil((i + 1) * r) - floor(i * r)))


def node_windows(node: Node, axis: int, ndim: int, sizes: Dict[str, Tuple[Size, ...]]) -> List[AxisWindow]:
    """One window per input of the node, on one axis. sizes: each node's output size per axis."""
    op = node.op
    n = sizes[node.inputs[0]][axis]
    if isinstance(op, Merge):
        m = sizes[node.id][axis]
        return [AxisWindow(1, 0, (0,), (1,), (1,)) if sizes[i][axis] == 1 and m is not None and m > 1 else IDENTITY
                for i in node.inputs]  # fmt: skip
    if isinstance(op, Layer):
        return [_layer(op, axis, ndim, n)]
    if isinstance(op, Pad):
        return [_strided(1, -pair_on(op.padding, axis)[0], 1, 1)]
    if isinstance(op, Crop):
        if op.crop is not None:
            before = pair_on(op.crop, axis)[0]
        else:
            assert op.like is not None
            like = sizes[op.like][axis]
            if n is None or like is None:
                raise SpecError(f"cropping to the size of {op.like!r} needs the input size")
            before = (n - like) // 2
        return [_strided(1, before, 1, 1)]
    if isinstance(op, ConvTranspose):
        return [_conv_transpose(op, axis)]
    if isinstance(op, Upsample):
        return [_upsample(op, axis, n, sizes[node.id][axis])]
    if isinstance(op, AdaptivePool):
        return [_adaptive(op, axis, n)]
    if isinstance(op, (GlobalPool, Flatten, Linear)):
        return [_whole(n, op.__class__.__name__)]
    raise AssertionError(op)  # pragma: no cover - every op kind is handled above


def as_graph(graph: GraphLike) -> Graph:
    """`to_graph`, and compact text ("conv3p1,maxpool2") as a chain: text is a spec file when it
    ends in .yaml, .yml or .json or starts with file:, a built-in model with zoo:, else layers."""
    if isinstance(graph, str) and not graph.startswith(("zoo:", "file:")) and not graph.lower().endswith(
            (".yaml", ".yml", ".json")):
        return Graph.from_layers(parse_layers(graph))
    if isinstance(graph, str) and graph.startswith("file:"):
        return to_graph(graph[5:])
    return to_graph(graph)


@dataclass(frozen=True)
class ErfProblem:
    """What the counting needs: nodes in topological order (index 0: the input), their sizes, one
    window per (consumer, input, axis), the target node and unit, and the unit's theoretical RF."""

    graph: Graph
    result: GraphRF
    ids: Tuple[str, ...]
    sizes: Dict[str, Tuple[Size, ...]]
    edges: Tuple[Tuple[int, int, Tuple[AxisWindow, ...]], ...]  # (consumer, producer, windows per axis)
    target: int
    unit: Tuple[int, ...]
    extent: Optional[Tuple[Tuple[int, int], ...]]
    borders: bool

    @property
    def ndim(self) -> int:
        return self.result.ndim


def erf_problem(
    graph: GraphLike,
    input_size: Union[None, int, str, Sequence[int]] = None,
    *,
    node: Optional[str] = None,
    unit: Union[None, int, Sequence[int]] = None,
    borders: bool = False,
) -> ErfProblem:
    """The counting problem of one unit (SpecError naming what is missing or out of range)."""
    g = as_graph(graph)
    result = compute_graph(g, input_size, alignment="ignore")
    ndim = result.ndim
    node_id = result.output if node is None else node
    try:
        row = result.node(node_id)
    except KeyError:
        raise SpecError(f"no node {node_id!r:.60} in the graph") from None
    if row.axes is None:
        raise SpecError(f"node {node_id!r} was not evaluated (the graph collapsed at {result.collapsed_at!r})")
    sizes: Dict[str, Tuple[Size, ...]] = {INPUT: tuple(result.input_size) if result.input_size else (None,) * ndim}
    for r in result.nodes:
        if r.axes is not None:
            sizes[r.id] = tuple(a.output_size for a in r.axes)
    if unit is None:  # the centre unit (unit 0 without sizes)
        index = tuple(0 if s is None else (s - 1) // 2 for s in sizes[node_id])
    else:
        index = as_index(unit, ndim)
    for a, (u, s) in enumerate(zip(index, sizes[node_id])):
        if u < 0 or (s is not None and u >= s):
            bound = f" < {s}" if s is not None else ""
            raise SpecError(f"unit index on axis {a} must be >= 0{bound}, got {u}")
    if borders and any(s is None for v in sizes.values() for s in v):
        raise SpecError("counting with borders needs the input size")
    # Only the node's ancestors matter.
    by_id = {n.id: n for n in g.nodes}
    needed = {node_id}
    for n in reversed(g.nodes):
        if n.id in needed:
            needed.update(i for i in n.inputs if i != INPUT)
    order = [n for n in g.nodes if n.id in needed]
    ids = (INPUT, *(n.id for n in order))
    index_of = {i: k for k, i in enumerate(ids)}
    edges = []
    for n in order:
        per_axis = [node_windows(by_id[n.id], a, ndim, sizes) for a in range(ndim)]
        for j, producer in enumerate(n.inputs):
            edges.append((index_of[n.id], index_of[producer], tuple(per_axis[a][j] for a in range(ndim))))
    extent = _extent(result, node_id, index, ndim)
    return ErfProblem(g, result, ids, sizes, tuple(edges), index_of[node_id], index, extent, borders)


def _extent(result: GraphRF, node_id: str, index: Tuple[int, ...], ndim: int) -> Optional[Tuple[Tuple[int, int], ...]]:
    """The unit's theoretical RF per axis; None when it has none (its paths have different jumps,
    or it sees no input): the ERF then takes the reach of the counts."""
    try:
        return tuple(result.unit(index, node=node_id).interval)
    except SpecError:
        return None


def graph_erf_reference(problem: ErfProblem) -> Dict[Tuple[int, ...], int]:
    """The pure-Python reference: path counts per input position (Python ints), obviously right."""
    counts: Dict[int, Dict[Tuple[int, ...], int]] = {problem.target: {problem.unit: 1}}
    sizes = [problem.sizes[i] for i in problem.ids]
    by_consumer: Dict[int, List[Tuple[int, Tuple[AxisWindow, ...]]]] = {}
    for consumer, producer, windows in problem.edges:
        by_consumer.setdefault(consumer, []).append((producer, windows))
    for node in range(problem.target, 0, -1):
        here = counts.pop(node, {})
        for producer, windows in by_consumer.get(node, []):
            into = counts.setdefault(producer, {})
            for unit, c in here.items():
                for position in itertools.product(*(w.tap_list(u) for w, u in zip(windows, unit))):
                    if problem.borders and not all(0 <= p < n for p, n in zip(position, sizes[producer])):  # type: ignore[operator]
                        continue
                    into[position] = into.get(position, 0) + c
    return counts.get(0, {})


def _core_counts(problem: ErfProblem) -> Tuple[np.ndarray, Tuple[int, ...], bool]:
    from .. import _core

    ndim = problem.ndim
    sizes = np.array([[-1 if s is None else s for s in problem.sizes[i]] for i in problem.ids], np.int64)
    consumer, producer, period, shift, offset = [], [], [], [], []
    first: List[int] = []
    step: List[int] = []
    count: List[int] = []
    for c, p, windows in problem.edges:
        consumer.append(c)
        producer.append(p)
        period.append([w.period for w in windows])
        shift.append([w.shift for w in windows])
        offs = []
        for w in windows:
            offs.append(len(first))
            first.extend(w.first)
            step.extend(w.step)
            count.extend(w.count)
        offset.append(offs)
    e = len(consumer)

    def arr(values: object, shape: Tuple[int, ...]) -> np.ndarray:
        return np.array(values, np.int64).reshape(shape)

    got = _core.graph_erf(ndim=ndim, sizes=sizes, consumer=arr(consumer, (e,)), producer=arr(producer, (e,)),
                          period=arr(period, (e, ndim)), shift=arr(shift, (e, ndim)), offset=arr(offset, (e, ndim)),
                          first=arr(first, (len(first),)), step=arr(step, (len(step),)), count=arr(count, (len(count),)),
                          target=problem.target, unit=list(problem.unit), borders=problem.borders)  # fmt: skip
    return got["counts"], tuple(int(v) for v in got["lo"]), bool(got["exact"])


def graph_erf(
    graph: GraphLike,
    input_size: Union[None, int, str, Sequence[int]] = None,
    *,
    node: Optional[str] = None,
    unit: Union[None, int, Sequence[int]] = None,
    borders: bool = False,
    backend: str = "cpp",
) -> ERF:
    """The exact uniform-weight ERF of one unit of a graph (see the module docstring).

    graph: a Graph, a spec file, "zoo:NAME", compact text or a list of layers. node: default the endpoint.
    unit: default the node's centre unit (unit 0 when sizes are unknown). borders: stop paths at
    every border (needs the input size). backend: "cpp" (the core) or "python" (the reference).
    Returns an ERF whose counts cover the input positions reached (padding included unless
    borders)."""
    if backend not in ("cpp", "python"):
        raise SpecError(f"backend must be 'cpp' or 'python', got {backend!r:.40}")
    problem = erf_problem(graph, input_size, node=node, unit=unit, borders=borders)
    if backend == "cpp":
        counts, origin, exact = _trim(*_core_counts(problem))
    else:
        reached = graph_erf_reference(problem)
        counts, origin, exact = _dense(reached, problem.ndim)
    size = problem.result.input_size
    extent = problem.extent
    if extent is None:  # no single theoretical interval: the reach of the counts (empty: (0, -1))
        extent = tuple((o, o + n - 1) if n else (0, -1) for o, n in zip(origin, counts.shape))
    return ERF(counts, origin, extent, exact, "paths", problem.unit, problem.ids[problem.target],
               None if size is None else tuple(size), borders)  # fmt: skip


def _trim(counts: np.ndarray, origin: Tuple[int, ...], exact: bool) -> Tuple[np.ndarray, Tuple[int, ...], bool]:
    """The counts cut to the positions reached (the core's box can hold unreached rows at its edges)."""
    nonzero = np.nonzero(counts)
    if not nonzero[0].size:
        return np.zeros((0,) * counts.ndim, counts.dtype), (0,) * counts.ndim, exact
    lo = [int(ix.min()) for ix in nonzero]
    hi = [int(ix.max()) for ix in nonzero]
    cut = counts[tuple(slice(a, b + 1) for a, b in zip(lo, hi))]
    return np.ascontiguousarray(cut), tuple(o + a for o, a in zip(origin, lo)), exact


def _dense(reached: Dict[Tuple[int, ...], int], ndim: int) -> Tuple[np.ndarray, Tuple[int, ...], bool]:
    if not reached:
        return np.zeros((0,) * ndim, np.int64), (0,) * ndim, True
    lo = tuple(min(p[a] for p in reached) for a in range(ndim))
    hi = tuple(max(p[a] for p in reached) for a in range(ndim))
    exact = max(reached.values()) <= np.iinfo(np.int64).max
    out = np.zeros(tuple(h - l + 1 for l, h in zip(lo, hi)), np.int64 if exact else np.float64)
    for p, c in reached.items():
        out[tuple(x - l for x, l in zip(p, lo))] = c
    return out, lo, exact

