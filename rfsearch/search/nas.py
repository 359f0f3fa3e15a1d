"""RF targets as constraints for NAS: per-stack metrics and graded violations, and Optuna helpers.

Three entry points, for any NAS tool and for users whose trials train real models:

- `score(stacks, targets)`: metrics and constraint violations of many stacks as numpy arrays, at
  batch-core speed (one `receptive_fields_by_id` call over a layer table plus row ids; costs
  vectorised in numpy).
- `set_rf_constraints(trial, stack, space_or_targets)`: every constraint of the targets set on an
  Optuna trial (`trial.set_constraint`), graded.
- `suggest_stack(trial, space, feasible_only=...)`: a stack sampled define-by-run inside the
  user's objective; with ``feasible_only`` every stack meets the targets the exact counter handles
  (no expensive trial is spent on an architecture that can never meet them).

**Constraint keys and units** (Optuna: a value <= 0 is satisfied, > 0 is how far outside). One key
per target present, always all of them (a trial missing a key would count as feasible):

==================  =================================================================  =========
key                 value                                                               unit
==================  =================================================================  =========
``rf``              sum over axes of the distance from the RF to its [lo, hi] range     pixels
``jump``            sum over axes of the distance from the jump to its range            pixels
``output_size``     sum over axes of the distance from the output size to its range     units
``rf_within_input`` sum over axes of max(RF - input size, 0)                            pixels
``coverage``        blind spots (offsets of the RF no path reaches), summed over axes   offsets
``params``          (params - max_params) / max_params when over budget, else 0         budgets
``macs``            (MACs - max_macs) / max_macs when over budget, else 0               budgets
``rules``           layers beyond max_downsampling + strided layers of a kind not in    layers
                    stride_on
``valid``           always set: 0 if the stack folds; 1 - (output size) on the worst    units
                    collapsed axis (>= 1); 1 for an int64 overflow
==================  =================================================================  =========

An invalid stack (collapse or overflow) is judged on the values of the layer where it failed,
on every axis, and its costs and rules count the layers before that one (as the sweep's
`evaluate` does). Coverage of an axis whose RF exceeds `REACH_MAX_RF` is not computed and counts
as 1 (unknown is not feasible). A stack is feasible iff every value is <= 0; that equals
`rfsearch.search.evaluate.is_feasible` (tested).
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..core.reference import OK, AxisState, fold_layer
from ..core.status import Status
from ..core.intake import thread_count
from ..core.table import LayerTable, _run_by_id, receptive_fields_by_id
from ..errors import SpecError
from ..model.grammar import parse_layers
from ..model.layers import Layer
from .count import FeasibleCounter
from .evaluate import Entry, Number, evaluate, make_entry, objective_values, stack_spec
from .reach import axis_blind_spots
from .space import Channels, Choices, Rules, SearchSpace, SpaceLike, Targets, as_space

if TYPE_CHECKING:
    import optuna

__all__ = [
    "CONSTRAINT_KEYS",
    "Judgement",
    "Scores",
    "constraint_keys",
    "context_space",
    "judge",
    "score",
    "score_ids",
    "set_constraints",
    "set_rf_constraints",
    "suggest_stack",
]

#: Every constraint key, in the order they are set.
CONSTRAINT_KEYS = ("rf", "jump", "output_size", "rf_within_input", "coverage", "params", "macs", "rules", "valid")

# Optuna keeps constraint values as trial system attrs under "constraints:<key>" (Trial.set_constraint).
_CONSTRAINT_ATTR = "constraints"

StackLike = Union[str, Entry, Sequence[Layer]]
TargetsLike = Union[SpaceLike, Targets, None]


def constraint_keys(space: SearchSpace) -> Tuple[str, ...]:
    """The constraint keys a stack of `space` is judged on: one per target present, `rules` when
    a rule is set, and always `valid`."""
    t, r = space.targets, space.rules
    present = {
        "rf": t.rf is not None,
        "jump": t.jump is not None,
        "output_size": t.output_size is not None,
        "rf_within_input": t.rf_within_input,
        "coverage": t.coverage is not None,
        "params": t.max_params is not None,
        "macs": t.max_macs is not None,
        "rules": r.max_downsampling is not None or r.stride_on is not None,
        "valid": True,
    }
    return tuple(key for key in CONSTRAINT_KEYS if present[key])


def _distance(value: int, bounds: Optional[Tuple[int, int]]) -> int:
    if bounds is None:
        return 0
    lo, hi = bounds
    return lo - value if value < lo else (value - hi if value > hi else 0)


def _over_budget(value: Optional[int], budget: int) -> float:
    if value is None or value <= budget:
        return 0.0
    return float(Fraction(value - budget, max(budget, 1)))


def _is_down(layer: Layer, ndim: int) -> bool:
    return any(p.stride > 1 for p in layer.axis_params(ndim))


# ---------------------------------------------------------------------------------------------
# One stack, exactly (Python)


@dataclass(frozen=True)
class Judgement:
    """A stack judged against a space: graded violations by key (see the module docstring), the
    exact objective vector, feasibility, and how many layers were applied before a failure."""

    violations: Dict[str, float]
    objective: Tuple[Number, ...]
    feasible: bool
    evaluated: int

    @property
    def total_violation(self) -> float:
        """The sum of the positive violations (what Optuna's constrained samplers compare)."""
        return sum(v for v in self.violations.values() if v > 0)


def _fold_failure(space: SearchSpace, layers: Sequence[Layer]) -> Tuple[int, List[int], List[Optional[int]]]:
    """(index of the first layer where some axis collapses or overflows (len(layers) if none),
    per-axis codes and sizes after it) with the reference fold, layer by layer over all axes."""
    ndim = space.ndim
    states = [AxisState(size=space.input_size[a] if space.input_size is not None else None) for a in range(ndim)]
    for index, layer in enumerate(layers):
        codes = []
        for a, p in enumerate(layer.axis_params(ndim)):
            states[a], code = fold_layer(states[a], p)
            codes.append(code)
        if any(code != OK for code in codes):
            return index, codes, [s.size for s in states]
    return len(layers), [OK] * ndim, [s.size for s in states]


def judge(space: SpaceLike, layers: Sequence[Layer]) -> Judgement:
    """Violations (every key of `constraint_keys(space)`), objective and feasibility of one stack,
    exactly, with the reference fold (`evaluate`)."""
    space = as_space(space)
    layers = tuple(layers)
    ndim, t = space.ndim, space.targets
    ev = evaluate(space, layers)
    failed_at, codes, sizes = _fold_failure(space, layers)
    applied = layers[:failed_at]
    out: Dict[str, float] = {}
    for key in constraint_keys(space):
        value: float
        if key == "rf":
            assert t.rf is not None
            value = sum(_distance(v, r) for v, r in zip(ev.rf, t.rf.on(ndim)))
        elif key == "jump":
            assert t.jump is not None
            value = sum(_distance(v, r) for v, r in zip(ev.jump, t.jump.on(ndim)))
        elif key == "output_size":
            assert t.output_size is not None and ev.output_size is not None
            value = sum(_distance(v, r) for v, r in zip(ev.output_size, t.output_size.on(ndim)))
        elif key == "rf_within_input":
            assert space.input_size is not None
            value = sum(max(r - n, 0) for r, n in zip(ev.rf, space.input_size))
        elif key == "coverage":
            spots = [axis_blind_spots([layer.axis_params(ndim)[a] for layer in layers]) for a in range(ndim)]
            value = sum(1 if s is None else s for s in spots)
        elif key == "params":
            assert t.max_params is not None
            value = _over_budget(ev.params, t.max_params)
        elif key == "macs":
            assert t.max_macs is not None
            value = _over_budget(ev.macs, t.max_macs)
        elif key == "rules":
            value = _rule_violations(space, applied)
        else:  # valid
            value = _invalidity(codes, sizes)
        out[key] = float(value)
    objective = objective_values(space, ev, len(layers))
    return Judgement(out, objective, all(v <= 0 for v in out.values()), failed_at)


def _rule_violations(space: SearchSpace, applied: Sequence[Layer]) -> int:
    down = [layer for layer in applied if _is_down(layer, space.ndim)]
    excess = 0 if space.rules.max_downsampling is None else max(len(down) - space.rules.max_downsampling, 0)
    stride_on = space.rules.stride_on
    wrong_kind = 0 if stride_on is None else sum(layer.kind not in stride_on for layer in down)
    return excess + wrong_kind


def _invalidity(codes: Sequence[int], sizes: Sequence[Optional[int]]) -> int:
    collapsed = [1 - (s or 0) for c, s in zip(codes, sizes) if c == int(Status.COLLAPSED)]
    if collapsed:
        return max(collapsed)
    return 1 if any(c != OK for c in codes) else 0


# ---------------------------------------------------------------------------------------------
# Many stacks, vectorised


@dataclass(frozen=True)
class Scores:
    """Metrics and violations of N stacks (numpy arrays; A = number of axes).

    depth (N,); rf, jump (N, A); output_size (N, A) or None without an input size; status (N,)
    uint8 (`Status`: the stack's failure, OK if it folds); params, macs (N,) int64 or None without
    a cost model (MACs also need the input size); downsampling (N,): applied layers with stride > 1;
    blind_spots (N, A) or None (computed with a coverage target; -1: RF above the reach cap);
    violations: key -> (N,) float64 (every key of `constraint_keys`); objective (N, K) float64 in
    the order of `objective_names`. Invalid stacks report the values of the layer where they
    failed (see the module docstring)."""

    depth: np.ndarray
    rf: np.ndarray
    jump: np.ndarray
    output_size: Optional[np.ndarray]
    status: np.ndarray
    params: Optional[np.ndarray]
    macs: Optional[np.ndarray]
    downsampling: np.ndarray
    blind_spots: Optional[np.ndarray]
    violations: Dict[str, np.ndarray]
    objective: np.ndarray
    objective_names: Tuple[str, ...]
    twice_rf_error: Optional[np.ndarray]  # exact 2 * rf_error (int64), for exact ordering

    def __len__(self) -> int:
        return len(self.depth)

    @property
    def valid(self) -> np.ndarray:
        """(N,) bool: the stack folds (no collapse, no overflow)."""
        ok: np.ndarray = self.status == Status.OK
        return ok

    @property
    def feasible(self) -> np.ndarray:
        """(N,) bool: every violation is <= 0."""
        out = np.ones(len(self), dtype=bool)
        for values in self.violations.values():
            out &= values <= 0
        return out

    @property
    def total_violation(self) -> np.ndarray:
        """(N,) float64: the sum of the positive violations of each stack."""
        out = np.zeros(len(self), dtype=np.float64)
        for values in self.violations.values():
            out += np.maximum(values, 0.0)
        return out

    def exact_objective(self, i: int) -> Tuple[Number, ...]:
        """Stack i's objective vector as exact numbers (ints; a Fraction for an x.5 rf_error)."""
        out: List[Number] = []
        for name in self.objective_names:
            if name == "depth":
                out.append(int(self.depth[i]))
            elif name == "params":
                assert self.params is not None
                out.append(int(self.params[i]))
            elif name == "macs":
                assert self.macs is not None
                out.append(int(self.macs[i]))
            else:
                assert self.twice_rf_error is not None
                twice = int(self.twice_rf_error[i])
                out.append(twice // 2 if twice % 2 == 0 else Fraction(twice, 2))
        return tuple(out)

    def order_keys(self) -> List[np.ndarray]:
        """Exact int64 columns that sort like the objective vector (first objective first)."""
        keys: List[np.ndarray] = []
        for name in self.objective_names:
            if name == "depth":
                keys.append(self.depth)
            elif name == "params":
                assert self.params is not None
                keys.append(self.params)
            elif name == "macs":
                assert self.macs is not None
                keys.append(self.macs)
            else:
                assert self.twice_rf_error is not None
                keys.append(self.twice_rf_error)
        return keys


@dataclass(frozen=True)
class _Rows:
    """Per-row facts of a layer table (T,): what the costs and rules need."""

    layers: Tuple[Layer, ...]
    is_conv: np.ndarray
    volume: np.ndarray
    is_down: np.ndarray
    wrong_kind: np.ndarray  # strided and not allowed by stride_on


def _rows(space: SearchSpace, table: LayerTable) -> _Rows:
    layers = tuple(table.layer(r) for r in range(len(table)))
    ndim, stride_on = space.ndim, space.rules.stride_on
    is_conv = np.array([layer.kind == "conv" for layer in layers], dtype=bool)
    volume = np.array([math.prod(p.kernel for p in layer.axis_params(ndim)) for layer in layers], dtype=np.int64)
    is_down = np.array([_is_down(layer, ndim) for layer in layers], dtype=bool)
    wrong = np.array([stride_on is not None and layer.kind not in stride_on for layer in layers], dtype=bool)
    return _Rows(layers, is_conv, volume, is_down, is_down & wrong)


def _axes(values: np.ndarray, n: int, ndim: int) -> np.ndarray:
    """A core result as (N, A)."""
    return values.reshape(n, ndim)


def score_ids(
    space: SearchSpace, table: LayerTable, ids: np.ndarray, depth: np.ndarray, *, threads: Optional[int] = None
) -> Scores:
    """`score` for stacks given as rows of `table` (an (N, L) id matrix and (N,) depths): one
    batch-core call for the whole batch, and one in the core's per-layer mode for the stacks that
    fail (to find where) or, with a cost model and an input size, for all (MACs need the output
    size after every layer)."""
    ids = np.ascontiguousarray(ids, dtype=np.int32)
    depth = np.ascontiguousarray(depth, dtype=np.int64)
    n, width = ids.shape
    ndim, sized = space.ndim, space.input_size is not None
    if table.ndim != ndim:
        raise ValueError(f"the layer table has {table.ndim} axes but the space has {ndim}")
    rows = _rows(space, table)
    res = receptive_fields_by_id(table, ids, depth, input_size=space.input_size, threads=threads)
    rf = _axes(res.rf, n, ndim).copy()
    jump = _axes(res.jump, n, ndim).copy()
    size = _axes(res.output_size, n, ndim).copy() if res.output_size is not None else None
    axis_status = _axes(res.status, n, ndim)
    invalid = np.flatnonzero((axis_status != Status.OK).any(axis=1))
    status = np.full(n, int(Status.OK), dtype=np.uint8)
    applied = depth.copy()  # layers applied before a failure
    invalidity = np.zeros(n, dtype=np.float64)

    need_macs = space.channels is not None and sized  # MACs need the output size after every layer
    pixels = np.zeros((n, width), dtype=np.int64) if need_macs else None
    track = np.arange(n) if need_macs else invalid
    if len(track):
        # The state after every layer (the core's per-layer mode, one call): where each failing
        # stack fails (its values there, on every axis) and, for MACs, the output pixels.
        out = _run_by_id(table, ids[track], depth[track], space.input_size, thread_count(threads), "cpp",
                         per_layer=True)  # fmt: skip
        st = out.status.reshape(len(track), width, ndim)
        bad = (st != Status.OK).any(axis=2) & (np.arange(width)[None, :] < depth[track][:, None])
        failed = bad.any(axis=1)
        if failed.any():
            rows_failed = np.flatnonzero(failed)
            at = bad[rows_failed].argmax(axis=1)  # the first layer where some axis failed
            who = track[rows_failed]
            applied[who] = at

            def pick(values: np.ndarray) -> np.ndarray:
                picked: np.ndarray = values.reshape(len(track), width, ndim)[rows_failed, at]
                return picked

            rf[who], jump[who] = pick(out.rf), pick(out.jump)
            codes = st[rows_failed, at]
            collapsed = codes == Status.COLLAPSED
            sizes_at = pick(out.size) if sized else np.zeros_like(codes, dtype=np.int64)
            if size is not None:
                size[who] = sizes_at
            worst = np.where(collapsed, 1 - sizes_at, 0).max(axis=1)
            invalidity[who] = np.where(collapsed.any(axis=1), worst, 1)
            status[who] = np.where(collapsed.any(axis=1), int(Status.COLLAPSED), int(Status.OVERFLOW))
        if pixels is not None:
            pixels[track] = np.prod(out.size.reshape(len(track), width, ndim), axis=2, dtype=np.int64)

    positions = np.arange(width)[None, :]
    used = positions < applied[:, None]  # applied layers of each stack
    safe_ids = np.where(positions < depth[:, None], ids, 0)
    down = rows.is_down[safe_ids] & used
    downsampling = down.sum(axis=1).astype(np.int64)

    params = macs = None
    if space.channels is not None:
        params, macs = _costs(space.channels, rows, safe_ids, used, down, pixels)

    spots = None
    if space.targets.coverage is not None:
        spots = _blind_spots(ndim, rows, safe_ids, depth)

    twice_error = None
    if space.targets.rf is not None:
        twice_error = np.zeros(n, dtype=np.int64)
        for a, r in enumerate(space.targets.rf.on(ndim)):
            if r is not None:
                twice_error += np.abs(2 * rf[:, a] - (r[0] + r[1]))

    violations = _violations(space, rf, jump, size, spots, params, macs, down, rows, safe_ids, used, invalidity)
    objective = np.zeros((n, len(space.objective)), dtype=np.float64)
    for k, name in enumerate(space.objective):
        if name == "depth":
            objective[:, k] = depth
        elif name == "params":
            assert params is not None
            objective[:, k] = params
        elif name == "macs":
            assert macs is not None
            objective[:, k] = macs
        else:
            assert twice_error is not None
            objective[:, k] = twice_error / 2.0
    return Scores(depth, rf, jump, size, status, params, macs, downsampling, spots, violations, objective,
                  space.objective, twice_error)  # fmt: skip


def _costs(channels: Channels, rows: _Rows, ids: np.ndarray, used: np.ndarray, down: np.ndarray,
           pixels: Optional[np.ndarray]) -> Tuple[np.ndarray, Optional[np.ndarray]]:  # fmt: skip
    """params (and MACs, with per-layer output pixels) of every stack, exactly as `evaluate`."""
    n, width = ids.shape
    conv = rows.is_conv[ids] & used
    stage = np.cumsum(down, axis=1) - down  # stride>1 layers before this one
    widths = np.asarray(channels.widths, dtype=np.int64)
    c_out = widths[np.minimum(stage, len(widths) - 1)]
    # c_in: the width of the last conv before this layer (pooling keeps channels), else the input's.
    index = np.where(conv, np.arange(width)[None, :], -1)
    last = np.maximum.accumulate(index, axis=1)
    before = np.concatenate([np.full((n, 1), -1), last[:, :-1]], axis=1)
    c_in = np.where(before >= 0, np.take_along_axis(c_out, np.maximum(before, 0), axis=1), channels.input)
    volume = rows.volume[ids]
    # Guard int64 before multiplying (numpy wraps silently): a float estimate of the largest sum.
    rough = volume.astype(np.float64) * c_in * c_out * (np.maximum(pixels, 1) if pixels is not None else 1) * conv
    if rough.sum(axis=1).max(initial=0.0) > 2.0**62:
        raise OverflowError("params or MACs of some stack exceed the int64 range")
    weights = volume * c_in * c_out
    params = ((weights + (c_out if channels.bias else 0)) * conv).sum(axis=1).astype(np.int64)
    macs = None if pixels is None else (weights * pixels * conv).sum(axis=1).astype(np.int64)
    return params, macs


def _blind_spots(ndim: int, rows: _Rows, ids: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """(N, A) blind spots (-1: not computed), each distinct stack computed once."""
    out = np.zeros((len(ids), ndim), dtype=np.int64)
    params = [layer.axis_params(ndim) for layer in rows.layers]
    seen: Dict[Tuple[int, ...], Tuple[int, ...]] = {}
    for i in range(len(ids)):
        key = tuple(int(r) for r in ids[i, : depth[i]])
        found = seen.get(key)
        if found is None:
            spots = [axis_blind_spots([params[r][a] for r in key]) for a in range(ndim)]
            found = tuple(-1 if s is None else s for s in spots)
            seen[key] = found
        out[i] = found
    return out


def _range_distance(values: np.ndarray, ranges: Sequence[Optional[Tuple[int, int]]]) -> np.ndarray:
    out = np.zeros(len(values), dtype=np.float64)
    for a, r in enumerate(ranges):
        if r is not None:
            v = values[:, a]
            out += np.maximum(r[0] - v, 0) + np.maximum(v - r[1], 0)
    return out


def _violations(space: SearchSpace, rf: np.ndarray, jump: np.ndarray, size: Optional[np.ndarray],
                spots: Optional[np.ndarray], params: Optional[np.ndarray], macs: Optional[np.ndarray],
                down: np.ndarray, rows: _Rows, ids: np.ndarray, used: np.ndarray,
                invalidity: np.ndarray) -> Dict[str, np.ndarray]:  # fmt: skip
    t, ndim, n = space.targets, space.ndim, len(rf)
    out: Dict[str, np.ndarray] = {}
    for key in constraint_keys(space):
        if key == "rf":
            assert t.rf is not None
            out[key] = _range_distance(rf, t.rf.on(ndim))
        elif key == "jump":
            assert t.jump is not None
            out[key] = _range_distance(jump, t.jump.on(ndim))
        elif key == "output_size":
            assert t.output_size is not None and size is not None
            out[key] = _range_distance(size, t.output_size.on(ndim))
        elif key == "rf_within_input":
            assert space.input_size is not None
            limit = np.asarray(space.input_size, dtype=np.int64)[None, :]
            out[key] = np.maximum(rf - limit, 0).sum(axis=1).astype(np.float64)
        elif key == "coverage":
            assert spots is not None
            out[key] = np.where(spots < 0, 1, spots).sum(axis=1).astype(np.float64)
        elif key in ("params", "macs"):
            values, budget = (params, t.max_params) if key == "params" else (macs, t.max_macs)
            assert values is not None and budget is not None
            out[key] = np.maximum(values - budget, 0) / float(max(budget, 1))
        elif key == "rules":
            total = np.zeros(n, dtype=np.int64)
            if space.rules.max_downsampling is not None:
                total += np.maximum(down.sum(axis=1) - space.rules.max_downsampling, 0)
            total += (rows.wrong_kind[ids] & used).sum(axis=1)
            out[key] = total.astype(np.float64)
        else:
            out[key] = invalidity.copy()
    return out


def _locate_bad_token(stacks: Sequence[StackLike], token: str, ndim: Optional[int] = None) -> None:
    """Raises the error of `token` located at its first stack and layer."""
    for i, stack in enumerate(stacks):
        if isinstance(stack, str):
            parts = stack.split(",")
            if token in parts:
                index = parts.index(token)
                if not token.strip():
                    raise SpecError("empty token (two commas in a row, or a comma at the start or end)",
                                    stack=i, layer=index)  # fmt: skip
                try:
                    (layer,) = parse_layers(token.strip())
                    if ndim is not None:
                        layer.axis_params(ndim)
                except SpecError as e:
                    raise e.located(stack=i, layer=index) from None
    raise AssertionError(f"token {token!r} not found")  # pragma: no cover


def _stack_layers(stack: StackLike, cache: Dict[str, Layer]) -> Tuple[Layer, ...]:
    if isinstance(stack, Entry):
        return stack.layers
    if isinstance(stack, str):
        out = []
        for index, token in enumerate(stack.split(",")):
            token = token.strip()
            layer = cache.get(token)
            if layer is None:
                try:
                    (layer,) = parse_layers(token)
                except SpecError as e:
                    raise e.located(layer=index) from None
                cache[token] = layer
            out.append(layer)
        return tuple(out)
    if not isinstance(stack, (list, tuple)):
        raise TypeError(f"a stack is compact text, a sequence of layers or an Entry, got {type(stack).__name__}")
    layers = tuple(stack)
    for index, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise TypeError(f"layer {index}: a stack is compact text or a sequence of layers, got an item "
                            f"{type(layer).__name__}")  # fmt: skip
    return layers


def context_space(
    targets: TargetsLike,
    *,
    ndim: int = 1,
    input_size: Any = None,
    channels: Any = None,
    rules: Any = None,
    objective: Any = None,
) -> SearchSpace:
    """What stacks are judged against: a SearchSpace (or a space file path) as it is, else a
    minimal space around `targets` (a Targets, or a mapping as a space file's `targets`), with
    the given input size, cost model (Channels or mapping), rules and objective."""
    if isinstance(targets, SearchSpace) or isinstance(targets, (str, os.PathLike)):
        return as_space(targets)
    if isinstance(targets, Mapping) and "depth" in targets:
        return as_space(targets)
    if targets is None:
        targets = Targets()
    elif isinstance(targets, Mapping):
        targets = Targets.from_dict(targets)
    if not isinstance(targets, Targets):
        raise TypeError(f"targets: expected a SearchSpace, a space file, Targets or a mapping, got "
                        f"{type(targets).__name__}")  # fmt: skip
    if isinstance(channels, Mapping):
        channels = Channels.from_dict(channels)
    if isinstance(rules, Mapping):
        rules = Rules.from_dict(rules)
    kernel: Any = (1,) * ndim if ndim > 1 else 1
    return SearchSpace(depth=(1, 1), layers=Choices(kernel=(kernel,)), input_size=input_size, rules=rules or Rules(),
                       channels=channels, targets=targets, objective=objective or ("depth",))  # fmt: skip


def score(
    stacks: Sequence[StackLike],
    targets: TargetsLike = None,
    *,
    input_size: Any = None,
    channels: Any = None,
    rules: Any = None,
    objective: Any = None,
    threads: Optional[int] = None,
) -> Scores:
    """Metrics and graded constraint violations of many stacks, as numpy arrays (`Scores`).

    stacks: compact text (``"conv3s2p1,maxpool2"``), sequences of layers, or Entries. targets: a
    SearchSpace or space file (its targets, rules, cost model, input size and objective), or just
    targets (a `Targets`, or a mapping like a space file's ``targets:``) with `input_size`,
    `channels`, `rules` and `objective` given here. One batch-core call scores all stacks."""
    if isinstance(stacks, (str, bytes)) or not isinstance(stacks, Iterable):  # one string is not a list of stacks
        got = "text: wrap one stack in a list" if isinstance(stacks, (str, bytes)) else type(stacks).__name__
        raise TypeError(f"stacks must be a list of stacks (compact text, layers or Entries), got {got}")
    items = list(stacks)
    # Compact text: every distinct token is parsed once, then stacks become rows by dict lookups
    # (no Python object per layer); other stacks go through their layers.
    tokens: set[str] = set()
    for stack in items:
        if isinstance(stack, str):
            tokens.update(stack.split(","))
    parsed: Dict[str, Layer] = {}
    for token in tokens:
        try:
            if not token.strip():
                raise SpecError("empty token")
            (parsed[token],) = parse_layers(token.strip())
        except SpecError:
            _locate_bad_token(items, token)
    others: Dict[int, Tuple[Layer, ...]] = {}
    for i, stack in enumerate(items):
        if not isinstance(stack, str):
            try:
                others[i] = _stack_layers(stack, {})
            except TypeError as e:
                raise TypeError(f"stack {i}: {e}") from None
    wide = max([layer.ndim or 1 for layer in parsed.values()] +
               [layer.ndim or 1 for layers in others.values() for layer in layers] or [1])  # fmt: skip
    space = context_space(targets, ndim=wide, input_size=input_size, channels=channels, rules=rules,
                          objective=objective)  # fmt: skip
    table = LayerTable(space.ndim)
    row_of: Dict[str, int] = {}
    for token, layer in parsed.items():
        try:
            row_of[token] = table.add(layer)
        except SpecError:
            _locate_bad_token(items, token, space.ndim)
    rows: List[List[int]] = []
    for i, stack in enumerate(items):
        if isinstance(stack, str):
            rows.append([row_of[t] for t in stack.split(",")])
        else:
            if not others[i]:
                raise SpecError("a stack needs at least one layer", stack=i)
            try:
                rows.append(table.ids(others[i]))
            except SpecError as e:
                raise e.located(stack=i) from None
    depth = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    ids = np.zeros((len(rows), max(int(depth.max(initial=1)), 1)), dtype=np.int32)
    flat = np.fromiter((r for row in rows for r in row), dtype=np.int32, count=int(depth.sum()))
    ids[np.arange(ids.shape[1])[None, :] < depth[:, None]] = flat  # row-major: stack by stack
    return score_ids(space, table, ids, depth, threads=threads)


# ---------------------------------------------------------------------------------------------
# Optuna helpers


def set_constraints(trial: optuna.Trial, values: Mapping[str, float]) -> None:
    """`trial.set_constraint` for every key, also on a retried trial.

    A trial re-run by `RetryHeartbeatStaleTrialCallback` arrives with the constraint values of the
    trial it replaces (copied system attrs); Optuna ignores a second `set_constraint` with a
    warning. Equal values are left as they are; a different value is written over the old one."""
    storage, trial_id = getattr(trial, "storage", None), getattr(trial, "_trial_id", None)
    if storage is None or trial_id is None:  # FixedTrial / FrozenTrial: nothing to inherit
        for key, value in values.items():
            trial.set_constraint(key, float(value))
        return
    existing = storage.get_trial_system_attrs(trial_id)
    cached = getattr(trial, "_cached_frozen_trial", None)  # what Trial.set_constraint also updates
    for key, value in values.items():
        value = float(value)
        if math.isnan(value):
            raise ValueError(f"constraint {key!r} is NaN")
        name = f"{_CONSTRAINT_ATTR}:{key}"
        if existing.get(name) == value:
            continue
        # What Trial.set_constraint writes, without re-reading every system attr for each key
        # (one database round trip per key instead of two), and also over a copied value.
        storage.set_trial_system_attr(trial_id, name, value)
        if cached is not None:
            cached.system_attrs[name] = value


def set_rf_constraints(
    trial: optuna.Trial, stack: StackLike, space_or_targets: TargetsLike, *, prefix: str = "", **context: Any
) -> Dict[str, float]:
    """Sets every constraint of `space_or_targets` (see `constraint_keys`) on an Optuna trial for
    `stack` (compact text, layers or an Entry), named ``prefix + key``; returns the values.

    `context` (input_size, channels, rules, objective) completes bare targets as in `score`."""
    layers = _stack_layers(stack, {})
    wide = max([layer.ndim or 1 for layer in layers] or [1])
    space = context_space(space_or_targets, ndim=wide, **context)
    values = {prefix + key: value for key, value in judge(space, layers).violations.items()}
    set_constraints(trial, values)
    return values


@functools.lru_cache(maxsize=16)
def _depth_counter(space: SearchSpace, depth: int) -> FeasibleCounter:
    """The exact counter of the stacks of exactly `depth` layers (targets it cannot count left out)."""
    fixed = replace(space, depth=(depth, depth), positions=space.positions[:depth])
    return FeasibleCounter(fixed.without_targets(*fixed.uncountable_targets()))


def _nearest(counts: Sequence[int], drawn: int) -> int:
    """The index nearest to `drawn` with a positive count (ties: the lower one)."""
    for gap in range(len(counts)):
        for index in (drawn - gap, drawn + gap):
            if 0 <= index < len(counts) and counts[index] > 0:
                return index
    raise AssertionError("no choice has a feasible continuation")  # the caller checked the total


def suggest_stack(
    trial: optuna.Trial,
    space: SpaceLike,
    *,
    feasible_only: bool = False,
    prefix: str = "",
    constrain: bool = True,
) -> Entry:
    """A stack of `space` sampled by the trial's sampler, define-by-run, inside an objective.

    Parameters (never changing across trials, so Optuna accepts them): ``{prefix}depth`` (an int,
    when the depth is a range) and ``{prefix}layer[i]`` for every position i up to the maximum
    depth: a categorical over that position's choice indices (all of them; positions past the
    depth are drawn too and ignored, which keeps the search space static for multivariate TPE,
    NSGA-II and QMC). The stack is kept in user attrs ``{prefix}stack`` (compact text) and
    ``{prefix}choices``; with `constrain` every constraint of the space is set (`set_rf_constraints`).

    feasible_only: the drawn depth and choices are repaired position by position with the exact
    counter (`FeasibleCounter` of that depth): a drawn choice with no feasible continuation is
    replaced by the nearest choice index that has one (ties: the lower), so every stack meets
    the rf, jump, output_size and rf_within_input targets, the rules and the depth by
    construction, and the sampler still steers (the stack is a fixed function of the params).
    Coverage and cost budgets cannot be counted: they are checked on the repaired stack and a
    stack that misses them prunes the trial (`optuna.TrialPruned`) before any training. Raises
    NoFeasibleStackError if the space has no feasible stack."""
    from .sample import NoFeasibleStackError

    space = as_space(space)
    lo, hi = space.depth
    depth = trial.suggest_int(f"{prefix}depth", lo, hi) if lo < hi else lo
    drawn = [trial.suggest_categorical(f"{prefix}layer[{i}]", list(range(n)))
             for i, n in enumerate(space.choice_counts)]  # fmt: skip
    if feasible_only:
        per_depth = [_depth_counter(space, d).feasible for d in range(lo, hi + 1)]
        if not any(per_depth):
            raise NoFeasibleStackError("the space has no feasible stack", source=space.source)
        depth = lo + _nearest(per_depth, depth - lo)
        counter = _depth_counter(space, depth)
        chosen: List[int] = []
        for i in range(depth):
            _, counts = counter.completions(chosen)
            chosen.append(_nearest(counts, int(drawn[i])))
    else:
        chosen = [int(c) for c in drawn[:depth]]
    entry = make_entry(space, chosen)
    trial.set_user_attr(f"{prefix}stack", stack_spec(entry.layers, space.ndim))
    trial.set_user_attr(f"{prefix}choices", chosen)
    if constrain or feasible_only:
        verdict = judge(space, entry.layers)
        set_constraints(trial, {prefix + k: v for k, v in verdict.violations.items()})
        if feasible_only and not verdict.feasible:
            missed = ", ".join(k for k, v in verdict.violations.items() if v > 0)
            import optuna

            raise optuna.TrialPruned(f"the stack {entry.spec} misses {missed} (checked by rejection)")
    return entry


