"""One candidate stack judged against its space, from scratch: fold, cost, rules, targets, objective.

This is the definition the engines must agree with: the brute-force oracle calls it for every
candidate, the counter's state machine is tested against it, and sampled or listed stacks are
reported through it. It folds with the pure-Python reference (`core.reference.fold_layer`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ..core.reference import COLLAPSED, OK, OVERFLOW, AxisState, check_params, fold_layer
from ..errors import SpecError, core_error
from ..model.layers import Layer
from ..core.reach import blind_spots
from .space import SearchSpace

__all__ = ["Entry", "Number", "StackEval", "evaluate", "is_feasible", "make_entry", "objective_values", "stack_spec"]

Number = Union[int, Fraction]  # objective values are exact; rf_error may be x.5

_STATUS = {OK: "ok", COLLAPSED: "collapsed", OVERFLOW: "overflow"}


@dataclass(frozen=True)
class StackEval:
    """A candidate's fold and cost. status: "ok", "collapsed" or "overflow" (then the values are
    those reached before the failing layer and the candidate is infeasible)."""

    status: str
    rf: Tuple[int, ...]
    jump: Tuple[int, ...]
    output_size: Optional[Tuple[int, ...]]
    params: Optional[int]
    macs: Optional[int]
    downsampling: int  # layers with stride > 1 on some axis
    rules_ok: bool


def _is_down(layer: Layer) -> bool:
    return any(s > 1 for s in (layer.stride if isinstance(layer.stride, tuple) else (layer.stride,)))


def evaluate(space: SearchSpace, layers: Sequence[Layer]) -> StackEval:
    """Folds `layers` on every axis (reference fold) and adds up the cost model."""
    ndim = space.ndim
    sized = space.input_size is not None
    states = [AxisState(size=space.input_size[a] if space.input_size is not None else None) for a in range(ndim)]
    channels = space.channels
    params: Optional[int] = 0 if channels is not None else None
    macs: Optional[int] = 0 if channels is not None and sized else None
    c_in = channels.input if channels is not None else 0
    stage = down = 0
    status = OK
    rules_ok = True
    stride_on = space.rules.stride_on
    for index, layer in enumerate(layers):
        axes = layer.axis_params(ndim)
        for a, p in enumerate(axes):
            problem = check_params(p, sized)
            if problem is not None:  # layers are valid when built; 'same' with stride > 1 needs a size
                error_code, field, value = problem
                reason = core_error(0, index, a, field, error_code, value, n_layers=len(layers)).reason
                raise SpecError(reason, layer=index, axis=a)
            states[a], code = fold_layer(states[a], p)
            status = status if code == OK else code
        if status != OK:
            break
        if channels is not None and layer.kind == "conv":
            c_out = channels.width(stage)
            volume = math.prod(p.kernel for p in axes)
            assert params is not None
            params += volume * c_in * c_out + (c_out if channels.bias else 0)
            if macs is not None:
                macs += volume * c_in * c_out * math.prod(s.size or 0 for s in states)
            c_in = c_out
        if _is_down(layer):
            stage += 1
            down += 1
            if stride_on is not None and layer.kind not in stride_on:
                rules_ok = False
    max_down = space.rules.max_downsampling
    if max_down is not None and down > max_down:
        rules_ok = False
    sizes = tuple(s.size for s in states if s.size is not None) if sized else None
    return StackEval(_STATUS[status], tuple(s.rf for s in states), tuple(s.jump for s in states),
                     sizes, params, macs, down, rules_ok)  # fmt: skip


def _within(values: Tuple[int, ...], ranges: Sequence[Optional[Tuple[int, int]]]) -> bool:
    return all(r is None or r[0] <= v <= r[1] for v, r in zip(values, ranges))


def is_feasible(space: SearchSpace, ev: StackEval, layers: Sequence[Layer]) -> bool:
    """Whether a candidate (its evaluation and layers) meets the rules and every target."""
    if ev.status != "ok" or not ev.rules_ok:
        return False
    t, ndim = space.targets, space.ndim
    if t.rf is not None and not _within(ev.rf, t.rf.on(ndim)):
        return False
    if t.jump is not None and not _within(ev.jump, t.jump.on(ndim)):
        return False
    if t.output_size is not None and (ev.output_size is None or not _within(ev.output_size, t.output_size.on(ndim))):
        return False
    if t.rf_within_input and (space.input_size is None or any(r > n for r, n in zip(ev.rf, space.input_size))):
        return False
    if t.max_params is not None and (ev.params is None or ev.params > t.max_params):
        return False
    if t.max_macs is not None and (ev.macs is None or ev.macs > t.max_macs):
        return False
    if t.coverage == "full":
        spots = blind_spots(layers, ndim)
        if any(s is None for s in spots):
            raise ValueError(f"coverage cannot be decided: the RF {list(ev.rf)} is above the reached-offset "
                             "cap (rfsearch.core.reach.REACH_MAX_RF)")  # fmt: skip
        if any(spots):
            return False
    return True


def _exact(value: Fraction) -> Number:
    return value.numerator if value.denominator == 1 else value


def objective_values(space: SearchSpace, ev: StackEval, depth: int) -> Tuple[Number, ...]:
    """The candidate's objective vector (exact numbers), in the space's objective order."""
    out: List[Number] = []
    for name in space.objective:
        if name == "depth":
            out.append(depth)
        elif name == "params":
            assert ev.params is not None
            out.append(ev.params)
        elif name == "macs":
            assert ev.macs is not None
            out.append(ev.macs)
        else:  # rf_error: sum over axes of |rf - t|
            error = sum((abs(rf - t) for rf, t in zip(ev.rf, space.rf_target_centre()) if t is not None), Fraction(0))
            out.append(_exact(error))
    return tuple(out)


def stack_spec(layers: Sequence[Layer], ndim: int) -> str:
    """Compact text of a stack on `ndim` axes (kernels per axis when ndim > 1)."""
    if ndim == 1:
        return ",".join(layer.spec() for layer in layers)
    texts = []
    for layer in layers:
        if not isinstance(layer.kernel, tuple):
            wide = (layer.kernel,) * ndim
            # A pooling stride that equals the kernel is the default: keep it implicit.
            stride = wide if layer.kind != "conv" and layer.stride == layer.kernel else layer.stride
            layer = replace(layer, kernel=wide, stride=stride)
        texts.append(layer.spec())
    return ",".join(texts)


def _json_number(value: Number) -> Union[int, float]:
    return value if isinstance(value, int) else float(value)


@dataclass(frozen=True)
class Entry:
    """A feasible stack of a space with its metrics (what sweeps list and samplers return).

    choices: the choice index at each position; objective: the exact objective vector (ints, or
    Fractions for x.5 RF errors); blind_spots: per axis (None: RF above the reach cap)."""

    choices: Tuple[int, ...]
    layers: Tuple[Layer, ...]
    rf: Tuple[int, ...]
    jump: Tuple[int, ...]
    output_size: Optional[Tuple[int, ...]]
    params: Optional[int]
    macs: Optional[int]
    objective: Tuple[Number, ...]
    blind_spots: Tuple[Optional[int], ...]

    @property
    def spec(self) -> str:
        """The stack as compact text (what `rfsearch compute` accepts). With several axes every
        kernel is written per axis (conv3x3p1), so the text alone says how many axes there are."""
        return stack_spec(self.layers, len(self.rf))

    @property
    def depth(self) -> int:
        """Number of layers."""
        return len(self.layers)

    def to_dict(self, multi_objective: Optional[bool] = None) -> Dict[str, Any]:
        """JSON-ready: spec, choices, depth, rf, jump, output_size, params, macs, objective (a
        number, or a list with several objectives), blind_spots. Per-axis values are lists."""
        multi = len(self.objective) > 1 if multi_objective is None else multi_objective
        values = [_json_number(v) for v in self.objective]
        return {
            "spec": self.spec,
            "choices": list(self.choices),
            "depth": self.depth,
            "rf": list(self.rf),
            "jump": list(self.jump),
            "output_size": None if self.output_size is None else list(self.output_size),
            "params": self.params,
            "macs": self.macs,
            "objective": values if multi else (values[0] if values else None),  # none: infeasible
            "blind_spots": list(self.blind_spots),
        }


def make_entry(space: SearchSpace, choices: Sequence[int], ev: Optional[StackEval] = None) -> Entry:
    """The entry of a candidate given by its choice indices (feasible or not); `ev`: its
    evaluation when the caller has it already."""
    layers = space.stack(choices)
    if ev is None:
        ev = evaluate(space, layers)
    return Entry(tuple(choices), layers, ev.rf, ev.jump, ev.output_size, ev.params, ev.macs,
                 objective_values(space, ev, len(layers)) if ev.status == "ok" else (),
                 blind_spots(layers, space.ndim))  # fmt: skip
