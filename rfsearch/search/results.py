"""What sweeps and counts return: exact counts, entries, the Pareto front, the RF histogram."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .evaluate import Entry, Number

__all__ = ["CountResult", "RFKey", "SweepResult", "histogram_items", "pareto_front"]

RFKey = Union[int, Tuple[int, ...]]  # an RF value: an int on one axis, a tuple per axis on several


def histogram_items(histogram: Mapping[Tuple[int, ...], int]) -> Tuple[Tuple[RFKey, int], ...]:
    """Per-axis RF tuples -> sorted (rf, count) pairs; rf is an int when there is one axis."""
    return tuple((rf[0] if len(rf) == 1 else rf, n) for rf, n in sorted(histogram.items()) if n)


def _histogram_json(items: Sequence[Tuple[RFKey, int]]) -> List[List[Any]]:
    return [[list(rf) if isinstance(rf, tuple) else rf, n] for rf, n in items]


@dataclass(frozen=True)
class CountResult:
    """Exact counts: `total` candidates, `feasible` ones, and feasible stacks per RF value."""

    total: int
    feasible: int
    rf_histogram: Tuple[Tuple[RFKey, int], ...]

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready: total, feasible (exact integers), rf_histogram as [rf, count] pairs."""
        return {"total": self.total, "feasible": self.feasible, "rf_histogram": _histogram_json(self.rf_histogram)}


@dataclass(frozen=True)
class SweepResult:
    """An exhaustive sweep: exact counts, the best `top` entries (sorted by objective vector, then
    choice indices), the Pareto front when there are several objectives (sorted by objective
    vector), and the RF histogram of the feasible stacks. `feasible` and `rf_histogram` are None
    when the sweep did not count (branch-and-bound for the best stacks only). `stats`: how the
    sweep ran (visited stacks, seconds, threads, tasks, ...), when it was the engine's."""

    total: int
    feasible: Optional[int]
    top: Tuple[Entry, ...]
    pareto: Optional[Tuple[Entry, ...]]
    rf_histogram: Optional[Tuple[Tuple[RFKey, int], ...]]
    objective: Tuple[str, ...]
    stats: Optional[Mapping[str, Any]] = field(default=None, compare=False)

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready: total, feasible, objective, top, pareto (several objectives), rf_histogram,
        and stats when known."""
        multi = len(self.objective) > 1
        out: Dict[str, Any] = {
            "total": self.total,
            "feasible": self.feasible,
            "objective": list(self.objective) if multi else self.objective[0],
            "top": [e.to_dict(multi) for e in self.top],
        }
        if self.pareto is not None:
            out["pareto"] = [e.to_dict(multi) for e in self.pareto]
        out["rf_histogram"] = None if self.rf_histogram is None else _histogram_json(self.rf_histogram)
        if self.stats is not None:
            out["stats"] = dict(self.stats)
        return out


def _dominates(a: Sequence[Number], b: Sequence[Number]) -> bool:
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


Vector = Tuple[Number, ...]


def pareto_front(points: Mapping[Vector, Tuple[int, ...]]) -> List[Tuple[Vector, Tuple[int, ...]]]:
    """The non-dominated objective vectors (all minimised) with their representative choices,
    sorted by vector. `points` maps each distinct vector to the stack that represents it (the
    first in choice order)."""
    ordered = sorted(points.items())
    front: List[Tuple[Vector, Tuple[int, ...]]] = []
    for vector, choices in ordered:
        # Sorted order: only an earlier (lexicographically smaller) vector can dominate this one.
        if not any(_dominates(kept, vector) for kept, _ in front):
            front.append((vector, choices))
    return front
