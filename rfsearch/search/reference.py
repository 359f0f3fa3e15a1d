"""The oracle: every candidate of a space, one by one, judged from scratch in plain Python.

Written for obvious correctness, not speed: no pruning, no prefix sharing; each candidate is
folded with the reference fold (`evaluate`). The C++ enumerator and the exact counter are tested
against it on small spaces. Results follow the documented orders:

- `top`: the `top` best feasible stacks by objective vector (lexicographic over the objectives),
  ties broken by choice indices (a stack before its extensions); one entry per stack.
- `pareto` (several objectives only): one entry per non-dominated objective vector, represented
  by its first stack in choice order; sorted by vector.
- `rf_histogram`: feasible stacks per RF value (per axis tuple with several axes).
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from typing import Dict, Iterator, List, Optional, Tuple

from ..model.values import as_int
from .evaluate import Number, evaluate, is_feasible, make_entry, objective_values
from .results import SweepResult, histogram_items, pareto_front
from .space import SearchSpace, SpaceLike, as_space

__all__ = ["DEFAULT_MAX_CANDIDATES", "brute_force", "candidates", "feasible_choices"]

#: The oracle refuses spaces larger than this (it visits every candidate in Python).
DEFAULT_MAX_CANDIDATES = 2_000_000


def candidates(space: SearchSpace) -> Iterator[Tuple[int, ...]]:
    """Every candidate's choice indices, shortest depth first, each depth in lexicographic order."""
    counts = space.choice_counts
    for depth in range(space.depth[0], space.depth[1] + 1):
        yield from itertools.product(*(range(n) for n in counts[:depth]))


def _check_size(space: SearchSpace, max_candidates: Optional[int]) -> None:
    if max_candidates is not None and space.total > max_candidates:
        raise ValueError(f"the space has {space.total} candidates; the Python reference sweeps at most "
                         f"{max_candidates} (max_candidates=)")  # fmt: skip


def feasible_choices(
    space: SpaceLike, *, max_candidates: Optional[int] = DEFAULT_MAX_CANDIDATES
) -> List[Tuple[int, ...]]:
    """All feasible candidates' choice indices, in choice order (a stack before its extensions)."""
    space = as_space(space)
    _check_size(space, max_candidates)
    found = []
    for choices in candidates(space):
        layers = space.stack(choices)
        if is_feasible(space, evaluate(space, layers), layers):
            found.append(choices)
    return sorted(found)


def brute_force(
    space: SpaceLike, top: int = 10, *, max_candidates: Optional[int] = DEFAULT_MAX_CANDIDATES
) -> SweepResult:
    """Exhaustive sweep of `space` by visiting every candidate (the oracle; small spaces only)."""
    space = as_space(space)
    top = as_int(top, "top", minimum=0)
    _check_size(space, max_candidates)
    visited = feasible = 0
    best: List[Tuple[Tuple[Number, ...], Tuple[int, ...]]] = []
    vectors: Dict[Tuple[Number, ...], Tuple[int, ...]] = {}
    histogram: Counter[Tuple[int, ...]] = Counter()
    for choices in candidates(space):
        visited += 1
        layers = space.stack(choices)
        ev = evaluate(space, layers)
        if not is_feasible(space, ev, layers):
            continue
        feasible += 1
        histogram[ev.rf] += 1
        vector = objective_values(space, ev, len(layers))
        best.append((vector, choices))
        if vector not in vectors or choices < vectors[vector]:
            vectors[vector] = choices
    assert visited == space.total, (visited, space.total)
    top_entries = tuple(make_entry(space, c) for _, c in heapq.nsmallest(top, best))
    pareto = None
    if len(space.objective) > 1:
        pareto = tuple(make_entry(space, c) for _, c in pareto_front(vectors))
    return SweepResult(space.total, feasible, top_entries, pareto, histogram_items(histogram), space.objective)
