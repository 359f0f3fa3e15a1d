"""The pure-Python reference for graphs: receptive fields of every node, exactly (rationals).

Per node and per spatial axis (README "Graphs" has the conventions):

- Every path from the input to the node maps an output unit u to an input extent [lo(u), hi(u)]
  (padding included, as Distill counts it). Distinct maps are kept as *path classes*
  (`patterns.Pattern`, exact and periodic), so a ResNet's 2^50 paths are a few hundred classes.
- rf = the largest extent over all path classes and output units, rf_min the smallest (a unit
  that sees nothing counts 0). With an integer jump every unit of a class has the same extent;
  after a transposed convolution or upsampling it can change from unit to unit, repeating every
  `period` units (the jump's denominator or a multiple): the max and min run over one period
  (over the existing units if the output has fewer).
- jump, start (unit 0's first position; effective padding = -start) and centre (of unit 0) are
  those of the max-RF class (the first in input order on ties), as Distill and
  google-research/receptive_field report them.
- blind spots: positions inside a unit's extent (union of all paths) that no path reaches,
  counted exactly with bitsets (the most over one period of units); None when the paths into a
  merge have different jumps, or an extent exceeds `patterns.SUPPORT_LIMIT` positions.
- Two kinds of position sets. rf, rf_min, jump, centre and blind spots describe the
  architecture, translation-invariantly: every node is extended beyond its borders (its padding
  counts as positions, as in Distill's intervals), so they do not depend on where a unit is or
  on the input size, a chain's blind spots are those of `search.reach` ("padding does not
  matter"), and rf_min is the shortest path's extent (ResNet-50: 11), not that of a corner unit
  whose paths the zero padding cuts (conv3p1: 2 of 3 inputs). `reach` gives what one unit of a
  given input really depends on: only paths whose position at every node lies inside that
  node's output (exactly where its gradient is nonzero); it is a subset of the translation-
  invariant set, equal to it for units no padding or border touches.
- Merges (add, multiply, concat) check alignment (Distill): every input's max-RF class must have
  the same jump and the same centre line (for integer jumps: unit 0's centre). A broadcast
  input is exempt: a global branch (global pooling, flatten, linear, adaptive pooling to 1; its
  units see the whole input) or an input of size 1 against a larger one. A broadcast input adds
  context to every unit, not a window: it is flagged (`context`) and left out of rf, rf_min and
  blind spots, or every node after a squeeze-excitation block would have the whole input as RF.
- A node whose every path is global sees the whole input: rf = rf_min = the input size on that
  axis (None if unknown), start 0, centre (n-1)/2, no jump.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from math import ceil, floor, gcd
from functools import partial
from itertools import product
from typing import Callable, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple, Union

from ..errors import INT64_MAX, SpecError
from ..model.layers import PAD_SAME, AxisParams, Layer
from ..model.values import parse_size
from ..results.graph import AxisRF, GraphRF, Misalignment, NodeRF, PathInfo, UnitPattern, normalized
from .model import ALIGNMENT_POLICIES, INPUT, Graph, Node
from .ops import (
    AdaptivePool,
    ConvTranspose,
    Crop,
    Flatten,
    GlobalPool,
    Linear,
    Merge,
    Pad,
    Upsample,
    op_kind,
    op_spec,
    pair_on,
    param_on,
)
from .patterns import SUPPORT_LIMIT, Pattern, Support, Window, compose, compose_support, union_support

__all__ = ["AlignmentError", "AlignmentWarning", "AxisState", "evaluate", "evaluate_states", "reach"]


class AlignmentWarning(UserWarning):
    """A merge whose input paths disagree on jump or centre (alignment="warn")."""


class AlignmentError(SpecError):
    """A merge whose input paths disagree on jump or centre (alignment="error", the default)."""


# --- per-axis state -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AxisState:
    """What a node's units see on one axis. `classes` empty: every path is global (whole input)."""

    size: Optional[int]
    classes: Tuple[Pattern, ...]
    support: Optional[Support]
    context: bool = False
    # For each class, the input it came through and the class there (a path, walked backwards).
    origin: Dict[Pattern, Tuple[str, Optional[Pattern]]] = field(default_factory=dict, compare=False)
    # A single-input op's window (None: a merge, the network input, or a global op), for `reach`.
    window: Optional[Window] = field(default=None, compare=False)

    @property
    def whole(self) -> bool:
        return not self.classes


Size = Optional[int]


# --- windows and sizes of single-input ops ----------------------------------------------------------


@functools.lru_cache(maxsize=1 << 12)
def _axis_params(layer: Layer, ndim: int) -> Tuple[AxisParams, ...]:
    """layer.axis_params(ndim), once per distinct layer (nets repeat a few layers many times)."""
    return layer.axis_params(ndim)


def _strided(stride: int, offset: int, dilation: int, kernel: int) -> Window:
    """Unit v reads v*stride + offset + j*dilation, j < kernel (conv, pooling, pad, crop)."""
    return Window(1, stride, lambda v: (v * stride + offset, dilation, kernel))


def _layer(layer: Layer, axis: int, ndim: int, n: Size) -> Tuple[Window, Size]:
    p = _axis_params(layer, ndim)[axis]
    keff = p.dilation * (p.kernel - 1) + 1
    before, after = p.pad_before, p.pad_after
    if before == PAD_SAME:  # TensorFlow 'SAME'
        if n is not None:
            total = max((-(-n // p.stride) - 1) * p.stride + keff - n, 0)
        elif p.stride == 1:
            total = keff - 1
        else:
            raise SpecError(f"padding 'same' with stride {p.stride} depends on the input size; give an input size")
        before, after = total // 2, total - total // 2
    size = None
    if n is not None:  # PyTorch's output size, ceil_mode included
        span = n + before + after - keff + (p.stride - 1 if p.ceil_mode else 0)
        size = span // p.stride + 1
        if p.ceil_mode and (size - 1) * p.stride >= n + before:
            size -= 1
    return _strided(p.stride, -before, p.dilation, p.kernel), size


def _conv_transpose(op: ConvTranspose, axis: int, n: Size) -> Tuple[Window, Size]:
    k, s, d, extra = (param_on(v, axis) for v in (op.kernel, op.stride, op.dilation, op.output_padding))
    before, after = pair_on(op.padding, axis)
    g = gcd(d, s)
    inverse = pow(d // g, -1, s // g) if s // g > 1 else 0

    def taps(o: int) -> Tuple[int, int, int]:
        # Input i feeds output o through tap j when i*s = o + before - j*d.
        target = o + before
        if target % g:
            return 0, 0, 0
        j0 = (target // g * inverse) % (s // g)  # the least tap j with j*d = target (mod s)
        if j0 > k - 1:
            return 0, 0, 0
        jstep = s // g
        count = (k - 1 - j0) // jstep + 1
        j_last = j0 + (count - 1) * jstep
        return (target - j_last * d) // s, d // g, count  # ascending inputs: last tap first

    size = None if n is None else (n - 1) * s - before - after + d * (k - 1) + extra + 1
    return Window(s, 1, taps), size


def _ratio_window(ratio: Fraction, taps: Callable[[int], Tuple[int, int, int]]) -> Window:
    """A window that moves by p input units every q output units (ratio = p/q)."""
    return Window(ratio.denominator, ratio.numerator, taps)


def _upsample(op: Upsample, axis: int, n: Size) -> Tuple[Window, Size]:
    size_given = op.size is not None
    factor: Optional[Fraction] = None
    if size_given:
        m: Size = param_on(op.size, axis)  # type: ignore[arg-type]
    else:
        factor = op.scale_factor[axis] if isinstance(op.scale_factor, tuple) else op.scale_factor
        assert factor is not None
        m = None if n is None else floor(n * factor)
    if m is not None and m < 1:
        return Window(1, 1, lambda v: (v, 1, 1)), m
    # The source-coordinate scale r (PyTorch): n/m with a size (or recompute_scale_factor), else 1/scale.
    if op.align_corners:
        if n is None:
            raise SpecError("align_corners=True makes the jump depend on the input size; give an input size")
        assert m is not None
        r = Fraction(n - 1, m - 1) if m > 1 else Fraction(0)
    elif size_given or op.recompute_scale_factor:
        if n is None:
            raise SpecError("upsampling to a size (or with recompute_scale_factor) needs the input size")
        assert m is not None
        r = Fraction(n, m)
    else:
        assert factor is not None
        r = 1 / factor

    if op.mode == "nearest":
        return _ratio_window(r, lambda o: (floor(o * r), 1, 1)), m
    if op.mode == "nearest-exact":
        return _ratio_window(r, lambda o: (floor((o + Fraction(1, 2)) * r), 1, 1)), m

    def linear(o: int) -> Tuple[int, int, int]:
        src = o * r if op.align_corners else (o + Fraction(1, 2)) * r - Fraction(1, 2)
        i0 = floor(src)
        return i0, 1, 1 if src == i0 else 2  # the second tap has weight src - i0: none when 0

    if r == 0:  # align_corners onto one unit: it reads input 0
        return Window(1, 0, lambda o: (0, 1, 1)), m
    return _ratio_window(r, linear), m


def _adaptive(op: AdaptivePool, axis: int, n: Size) -> Tuple[Optional[Window], Size]:
    m = op.size_on(axis)
    if m == 1:
        return None, 1  # global on this axis
    if m is None:  # keep the size: unit i pools input i
        return Window(1, 1, lambda i: (i, 1, 1)), n
    if n is None:
        raise SpecError(f"adaptive pooling to {m} units needs the input size (its windows depend on it)")
    r = Fraction(n, m)
    return _ratio_window(r, lambda i: (floor(i * r), 1, ceil((i + 1) * r) - floor(i * r))), m


# --- evaluation -------------------------------------------------------------------------------------


@dataclass
class _Run:
    graph: Graph
    ndim: int
    input_size: Optional[Tuple[int, ...]]
    policy: str
    states: Dict[str, Tuple[AxisState, ...]] = field(default_factory=dict)
    misaligned: List[Misalignment] = field(default_factory=list)


def _apply(run: _Run, node: Node, axis: int, state: AxisState) -> AxisState:
    """A single-input op on one axis."""
    op, n = node.op, state.size
    window: Optional[Window]
    if isinstance(op, Layer):
        window, size = _layer(op, axis, run.ndim, n)
    elif isinstance(op, Pad):
        before, after = pair_on(op.padding, axis)
        window, size = _strided(1, -before, 1, 1), None if n is None else n + before + after
    elif isinstance(op, Crop):
        if op.crop is not None:
            before, after = pair_on(op.crop, axis)
        else:
            assert op.like is not None
            m = run.states[op.like][axis].size
            if n is None or m is None:
                raise SpecError(f"cropping to the size of {op.like!r} needs the input size")
            if m > n:
                raise SpecError(f"cannot crop {n} units to the {m} of {op.like!r}")
            before = (n - m) // 2
            after = n - m - before
        window, size = _strided(1, before, 1, 1), None if n is None else n - before - after
    elif isinstance(op, ConvTranspose):
        window, size = _conv_transpose(op, axis, n)
    elif isinstance(op, Upsample):
        window, size = _upsample(op, axis, n)
    elif isinstance(op, AdaptivePool):
        window, size = _adaptive(op, axis, n)
    elif isinstance(op, (GlobalPool, Flatten, Linear)):
        window, size = None, 1
    else:  # pragma: no cover - merges are handled by the caller
        raise AssertionError(op)
    if window is None or state.whole:  # global from here on: every unit sees the whole input
        return AxisState(size, (), None, state.context, window=window)
    classes: Dict[Pattern, Tuple[str, Optional[Pattern]]] = {}
    for c in state.classes:
        classes.setdefault(compose(c, window), (_source(node), c))
    # Exact sets only while every extent fits SUPPORT_LIMIT (checked on the extents first: a
    # kernel of 10^18 taps must not be walked).
    support = None
    if state.support is not None and _widest(list(classes)) <= SUPPORT_LIMIT:
        support = compose_support(state.support, window)
    return AxisState(size, tuple(classes), support, state.context, classes, window)


def _widest(classes: Sequence[Pattern]) -> int:
    """The widest extent of a unit over all classes (their union is wider only if they disagree)."""
    lows = [v for c in classes for v in c.lo if v is not None]
    highs = [v for c in classes for v in c.hi if v is not None]
    return max(highs) - min(lows) + 1 + max(c.shift for c in classes) if lows else 0


def _source(node: Node) -> str:
    return node.inputs[0]


def _rf_range(c: Pattern, size: Optional[int]) -> Tuple[int, int]:
    """(max, min) RF of a class over the units that show all of it (0: a unit that sees nothing)."""
    if c.period == 1:  # integer jumps: one extent
        lo, hi = c.lo[0], c.hi[0]
        rf = 0 if lo is None or hi is None else hi - lo + 1
        return rf, rf
    rfs = [c.rf(u) for u in c.phases(size)]
    return max(rfs), min(rfs)


def _representative(state: AxisState) -> Pattern:
    """The class with the largest RF (the first on ties): whose jump, start and centre are reported."""
    best, best_rf = state.classes[0], -1
    for c in state.classes:
        rf = _rf_range(c, state.size)[0]
        if rf > best_rf:
            best, best_rf = c, rf
    return best


def _route(run: _Run, node_id: str, axis: int, cls: Optional[Pattern]) -> Tuple[str, ...]:
    """One path (node ids from the input) that produces class `cls` at `node_id`."""
    route = [node_id]
    while node_id != INPUT and cls is not None:
        node_id, cls = run.states[node_id][axis].origin.get(cls, (INPUT, None))
        route.append(node_id)
    if route[-1] != INPUT:
        route.append(INPUT)
    return tuple(reversed(route))


def _merge(run: _Run, node: Node, axis: int, states: Sequence[AxisState]) -> AxisState:
    """add / multiply / concat on one axis: sizes, broadcasting, alignment, union of paths."""
    op = node.op
    assert isinstance(op, Merge)
    sizes = [s.size for s in states]
    known = [n for n in sizes if n is not None]
    size = max(known) if len(known) == len(sizes) else None
    if known and len(known) == len(sizes):
        allowed = {size, 1} if op.kind != "concat" else {size}
        bad = [(i, n) for i, n in zip(node.inputs, sizes) if n not in allowed]
        if bad:
            listing = ", ".join(f"{i!r} {n}" for i, n in zip(node.inputs, sizes))
            raise SpecError(f"{op.kind} of different sizes ({listing})")
    # Broadcast inputs: global ones, (add/multiply) size 1 against a larger size, and those whose
    # units all see the same thing (jump 0: a size-1 map upsampled with align_corners), unless
    # every local input is such (then none broadcasts against another).
    candidates = [(i, s) for i, s in zip(node.inputs, states) if not s.whole]
    local = [(i, s) for i, s in candidates
             if not (size is not None and size > 1 and s.size == 1) and not all(c.shift == 0 for c in s.classes)]  # fmt: skip
    local = local or candidates
    context = any(s.context for s in states) or len(local) < len(states)
    if not local:
        return AxisState(size, (), None, context)
    _check_alignment(run, node, axis, local)
    classes: Dict[Pattern, Tuple[str, Optional[Pattern]]] = {}
    for input_id, s in local:
        for c in s.classes:
            classes.setdefault(c, (input_id, c))
    supports = [s.support for _, s in local]
    support = None
    if all(s is not None for s in supports) and _widest(list(classes)) <= SUPPORT_LIMIT:
        support = union_support(supports)  # type: ignore[arg-type]
    return AxisState(size, tuple(classes), support, context, classes)


def _check_alignment(run: _Run, node: Node, axis: int, local: Sequence[Tuple[str, AxisState]]) -> None:
    reps = [(input_id, _representative(s)) for input_id, s in local]
    keys = {(c.jump, c.center_line()) for _, c in reps}
    if len(keys) <= 1:
        return
    paths = tuple(PathInfo(input_id, _route(run, input_id, axis, c), normalized(c.jump), _maybe(c.center_line()))
                  for input_id, c in reps)  # fmt: skip
    problem = Misalignment(node.id, axis, paths)
    run.misaligned.append(problem)
    if run.policy == "error":
        raise AlignmentError(problem.message() + " (alignment 'warn' or 'ignore' computes it anyway; --alignment on the command line)",
                             source=run.graph.source, line=node.line)  # fmt: skip
    if run.policy == "warn":
        warnings.warn(problem.message(), AlignmentWarning, stacklevel=4)


def _maybe(value: Optional[Fraction]) -> Optional[Union[int, Fraction]]:
    return None if value is None else normalized(value)


def _check_int64(node: Node, state: AxisState) -> None:
    for c in state.classes:
        values = [v for v in (*c.lo, *c.hi) if v is not None] if c.period > 1 else [c.lo[0] or 0, c.hi[0] or 0]
        if values and (max(values) > INT64_MAX or -min(values) > INT64_MAX) or c.shift > INT64_MAX:
            raise OverflowError(f"node {node.id!r}: receptive field values exceed the int64 range")
    if state.size is not None and abs(state.size) > INT64_MAX:
        raise OverflowError(f"node {node.id!r}: the output size exceeds the int64 range")


def _axis_result(state: AxisState, input_n: Optional[int]) -> AxisRF:
    if state.whole:
        center = None if input_n is None else normalized(Fraction(input_n - 1, 2))
        return AxisRF(rf=input_n, rf_min=input_n, jump=None, start=None if input_n is None else 0, center=center,
                      output_size=state.size, blind_spots=None, period=1, whole_input=True,
                      context=state.context, extent=None)  # fmt: skip
    rep = _representative(state)
    ranges = [_rf_range(c, state.size) for c in state.classes]
    unit0 = rep.at(0)
    blind = None
    if state.support is not None:
        units = state.support.period if state.size is None or state.size < 1 else min(state.support.period, state.size)
        blind = max(state.support.holes(u) for u in range(units))
    return AxisRF(
        rf=max(r[0] for r in ranges),
        rf_min=min(r[1] for r in ranges),
        jump=normalized(rep.jump),
        start=None if unit0 is None else unit0[0],
        center=None if unit0 is None else normalized(Fraction(unit0[0] + unit0[1], 2)),
        output_size=state.size,
        blind_spots=blind,
        period=rep.period,
        whole_input=False,
        context=state.context,
        extent=_extent(state),
    )


def _extent(state: AxisState) -> Optional[UnitPattern]:
    """Unit u's extent over every (local) path, as a periodic pattern; None if jumps differ."""
    classes = state.classes
    first = classes[0]
    if any(c.shift * first.period != first.shift * c.period for c in classes):  # jumps differ
        return None
    if all(c.period == 1 for c in classes):  # integer jumps: one unit per period
        lows = [c.lo[0] for c in classes if c.lo[0] is not None]
        highs = [c.hi[0] for c in classes if c.hi[0] is not None]
        if not lows or not highs:
            return UnitPattern(1, first.shift, (None,), (None,))
        return UnitPattern(1, first.shift, (min(lows),), (max(highs),))
    jump = first.jump
    period = 1
    for c in state.classes:
        period = period * c.period // gcd(period, c.period)
    lo, hi = [], []
    for u in range(period):
        seen = [e for e in (c.at(u) for c in state.classes) if e is not None]
        lo.append(min(e[0] for e in seen) if seen else None)
        hi.append(max(e[1] for e in seen) if seen else None)
    shape = Pattern(period, int(jump * period), tuple(lo), tuple(hi)).canonical()
    return UnitPattern(shape.period, shape.shift, shape.lo, shape.hi)


def _axis_key(node: Node, axis: int, ndim: int) -> object:
    """What the op does on one axis (two axes with equal keys and equal inputs get equal states)."""
    op = node.op
    if isinstance(op, Layer):
        return _axis_params(op, ndim)[axis]
    if isinstance(op, ConvTranspose):
        values = (op.kernel, op.stride, op.dilation, op.output_padding)
        return tuple(param_on(v, axis) for v in values), pair_on(op.padding, axis)
    if isinstance(op, Upsample):
        factor = op.scale_factor[axis] if isinstance(op.scale_factor, tuple) else op.scale_factor
        size = None if op.size is None else param_on(op.size, axis)
        return op.mode, factor, size, op.align_corners, op.recompute_scale_factor
    if isinstance(op, AdaptivePool):
        return op.size_on(axis)
    if isinstance(op, Pad):
        return pair_on(op.padding, axis)
    if isinstance(op, Crop):
        return op.like if op.crop is None else pair_on(op.crop, axis)
    return None


def _node_axes(run: _Run, node: Node) -> Tuple[AxisState, ...]:
    """The node's state on every axis. An axis doing what an earlier one does to the same input
    states shares its state (a square network is computed once, not once per axis)."""
    inputs = [run.states[i] for i in node.inputs]
    keys = [_axis_key(node, a, run.ndim) for a in range(run.ndim)] if run.ndim > 1 else [None]
    axes: List[AxisState] = []
    for a in range(run.ndim):
        twin = next((b for b in range(a) if keys[b] == keys[a] and all(s[b] is s[a] for s in inputs)), None)
        if isinstance(node.op, Merge) and twin is not None:
            for m in [m for m in run.misaligned if m.node == node.id and m.axis == twin]:
                run.misaligned.append(Misalignment(m.node, a, m.paths))  # the same disagreement on this axis
                if run.policy == "warn":
                    warnings.warn(run.misaligned[-1].message(), AlignmentWarning, stacklevel=4)
        if twin is not None and not (isinstance(node.op, Crop) and node.op.like is not None):
            axes.append(axes[twin])
        elif isinstance(node.op, Merge):
            axes.append(_merge(run, node, a, [s[a] for s in inputs]))
        else:
            axes.append(_apply(run, node, a, inputs[0][a]))
    return tuple(axes)


def evaluate_states(
    graph: Graph,
    input_size: Union[None, int, str, Sequence[int]] = None,
    *,
    alignment: Optional[str] = None,
) -> Tuple[_Run, Optional[str]]:
    """Runs the graph; returns the run (per-node, per-axis states) and the node that collapsed (or None).

    Exposed for tests that look at exact per-unit position sets (`AxisState.support`)."""
    size = parse_size(input_size) if input_size is not None else graph.input_size
    policy = alignment if alignment is not None else (graph.alignment or "error")
    if policy not in ALIGNMENT_POLICIES:
        raise SpecError(f"alignment must be one of {', '.join(ALIGNMENT_POLICIES)}, got {policy!r:.60}")
    ndim = graph.resolve_ndim(size)
    if size is not None and len(size) == 1:
        size = size * ndim
    run = _Run(graph, ndim, size, policy)
    by_size: Dict[Optional[int], AxisState] = {}  # axes of one size share one state (see _node_axes)
    for axis in range(ndim):
        n = None if size is None else size[axis]
        by_size.setdefault(n, AxisState(n, (Pattern.identity(),), Support.identity()))
    run.states[INPUT] = tuple(by_size[None if size is None else size[axis]] for axis in range(ndim))
    for node in graph.nodes:
        try:
            axes = _node_axes(run, node)
        except AlignmentError:
            raise
        except SpecError as e:
            raise node.error(e, graph.source) from None
        if not isinstance(node.op, Merge):  # a merge's classes are its inputs': checked there
            for state in {id(state): state for state in axes}.values():  # axes may share a state
                _check_int64(node, state)
        run.states[node.id] = axes
        if any(state.size is not None and state.size < 1 for state in axes):
            return run, node.id
    return run, None


def evaluate(
    graph: Graph,
    input_size: Union[None, int, str, Sequence[int]] = None,
    *,
    alignment: Optional[str] = None,
) -> GraphRF:
    """Receptive fields of every node of `graph` (see the module docstring for the definitions).

    input_size: overrides the graph's own. alignment: "error" (default; SpecError at the first
    misaligned merge), "warn" (AlignmentWarning, and the result says where) or "ignore" (only
    the result says where); None takes the graph's own policy.
    Returns a GraphRF; raises SpecError for invalid graphs and OverflowError beyond int64."""
    run, collapsed = evaluate_states(graph, input_size, alignment=alignment)
    rows = []
    done: Dict[Tuple[int, Optional[int]], AxisRF] = {}  # by (state, input size): shared states once
    for node in graph.nodes:
        states = run.states.get(node.id)
        axes = None
        if states is not None:
            results = []
            for a, state in enumerate(states):
                n = None if run.input_size is None else run.input_size[a]
                if (id(state), n) not in done:
                    done[(id(state), n)] = _axis_result(state, n)
                results.append(done[(id(state), n)])
            axes = tuple(results)
        rows.append(NodeRF(node.id, op_kind(node.op), _label(node), node.inputs, axes))
    return GraphRF(tuple(rows), graph.outputs, run.input_size, run.ndim, collapsed, tuple(run.misaligned))


def _label(node: Node) -> str:
    return op_spec(node.op)


# --- the positions one unit depends on ---------------------------------------------------------------


def _in_range(window: Optional[Window], n: int, v: int) -> Sequence[int]:
    """The input units (0 <= i < n) output unit v of a window reads (all of them: a global op)."""
    if window is None:
        return range(n)
    first, step, count = window.taps(v)
    if count <= 0:
        return ()
    if step == 0:
        return (first,) if 0 <= first < n else ()
    lo = max(0, -(first // step))  # the first tap t with first + t*step >= 0: ceil(-first/step)
    hi = min(count - 1, (n - 1 - first) // step)  # the last with first + t*step <= n - 1
    return range(first + lo * step, first + hi * step + 1, step) if hi >= lo else ()


def _unit_zero(v: int) -> Sequence[int]:
    return (0,)


def _same_unit(v: int) -> Sequence[int]:
    return (v,)


def reach(run: _Run, node_id: str, unit: Sequence[int]) -> FrozenSet[Tuple[int, ...]]:
    """The network-input positions output unit `unit` (one index per axis) of node `node_id`
    depends on: those joined to it by a path whose position at every node lies inside that
    node's output (0 <= i < size; the input's included). Paths through a node's padding, a
    transposed convolution's implicit border or a clamped upsampling source do not count: with
    positive weights this is exactly where the gradient of the unit is nonzero.

    Unlike the translation-invariant sets of `AxisState.support` (every node extended beyond its
    borders, as Distill's intervals are), this depends on the input size and on where the unit
    is; it is a set of N-D positions (the union over paths, not a product of per-axis sets)."""
    graph = run.graph
    if run.input_size is None:
        raise SpecError("the positions a unit depends on need the input size; give one")
    if node_id not in run.states or node_id == INPUT:
        raise SpecError(f"node {node_id!r} was not evaluated")
    out = run.states[node_id]
    if len(unit) != run.ndim:
        raise SpecError(f"unit index needs {run.ndim} values (one per axis), got {len(unit)}")
    if any(state.size is not None and state.size < 1 for state in out):
        raise SpecError(f"node {node_id!r} has no output units (the graph collapsed there)")
    for axis, (u, state) in enumerate(zip(unit, out)):
        if state.size is None or not 0 <= u < state.size:
            raise SpecError(f"unit index on axis {axis} must be >= 0 < {state.size}, got {u}")
    pending: Dict[str, Set[Tuple[int, ...]]] = {node_id: {tuple(unit)}}
    position = {n.id: i for i, n in enumerate(graph.nodes)}
    for node in reversed(graph.nodes[: position[node_id] + 1]):
        points = pending.pop(node.id, None)
        if not points:
            continue
        states = run.states[node.id]
        for input_id in dict.fromkeys(node.inputs):
            sizes = [s.size for s in run.states[input_id]]
            target = pending.setdefault(input_id, set())
            maps: List[Callable[[int], Sequence[int]]] = []
            for a, n in enumerate(sizes):
                assert n is not None
                if isinstance(node.op, Merge):  # broadcast: a size-1 input feeds every unit from its unit 0
                    maps.append(_unit_zero if n == 1 and (states[a].size or 0) > 1 else _same_unit)
                else:
                    maps.append(partial(_in_range, states[a].window, n))
            cache: List[Dict[int, Sequence[int]]] = [{} for _ in sizes]
            for point in points:
                axes = []
                for a, v in enumerate(point):
                    found = cache[a].get(v)
                    if found is None:
                        found = cache[a][v] = maps[a](v)
                    axes.append(found)
                target.update(product(*axes))
    return frozenset(pending.get(INPUT, ()))
