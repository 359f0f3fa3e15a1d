"""Search spaces and what is computed over them: exhaustive sweeps, exact counts, uniform samples.

A space (YAML/JSON file or `SearchSpace` object) defines candidate stacks; `sweep` lists the best
feasible ones, `count` counts them exactly without enumerating, `sample` draws them uniformly.
In this version `sweep` is the pure-Python oracle (small spaces only); the C++ enumerator will
back the same call.
"""

from __future__ import annotations

from typing import Optional

from .count import DEFAULT_MAX_MEMORY, FeasibleCounter, NotCountableError
from .count import count as _count
from .evaluate import Entry
from ..core.reach import REACH_MAX_RF, blind_spots
from .reference import DEFAULT_MAX_CANDIDATES, brute_force
from .results import CountResult, SweepResult
from .sample import NoFeasibleStackError, Sampler
from .sample import sample as _sample
from .space import AxisRanges, Channels, Choices, Rules, SearchSpace, SpaceLike, Targets, load_space, parse_space

__all__ = [
    "REACH_MAX_RF",
    "AxisRanges",
    "Channels",
    "Choices",
    "CountResult",
    "DEFAULT_MAX_MEMORY",
    "Entry",
    "FeasibleCounter",
    "NoFeasibleStackError",
    "NotCountableError",
    "Rules",
    "Sampler",
    "SearchSpace",
    "SweepResult",
    "Targets",
    "blind_spots",
    "count",
    "load_space",
    "parse_space",
    "sample",
    "sweep",
]


def sweep(space: SpaceLike, top: int = 10, *, max_candidates: Optional[int] = DEFAULT_MAX_CANDIDATES) -> SweepResult:
    """Exhaustive sweep: exact total and feasible counts, the `top` best feasible stacks, the
    Pareto front (several objectives) and the RF histogram. `space`: a SearchSpace, a space file
    path or a mapping. Currently the Python reference (refuses spaces above `max_candidates`)."""
    return brute_force(space, top, max_candidates=max_candidates)


def count(space: SpaceLike, *, backend: str = "cpp", max_memory: Optional[int] = DEFAULT_MAX_MEMORY) -> CountResult:
    """Exact total, feasible count and RF histogram, by dynamic programming (no enumeration; C++
    by default, backend="python" for the reference). NotCountableError for coverage and
    cost-budget targets, and for spaces whose tables would pass max_memory bytes (None: no limit)."""
    return _count(space, backend=backend, max_memory=max_memory)


def sample(
    space: SpaceLike, n: int, *, seed: Optional[int] = None, max_draws: Optional[int] = None, backend: str = "cpp"
) -> list[Entry]:
    """n feasible stacks drawn uniformly and independently (exact; the same `seed` gives the same
    stacks everywhere). Coverage and cost targets by rejection, at most `max_draws` draws."""
    return _sample(space, n, seed=seed, max_draws=max_draws, backend=backend)
