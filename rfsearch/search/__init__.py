"""Search spaces and what is computed over them: exhaustive sweeps, exact counts, uniform samples.

A space (YAML/JSON file or `SearchSpace` object) defines candidate stacks; `sweep` lists the best
feasible ones (the C++ enumerator, `sweep.py`; backend="python" runs the brute-force oracle),
`count` counts them exactly without enumerating, `sample` draws them uniformly.
"""

from __future__ import annotations

from typing import Any, Optional

from .count import DEFAULT_MAX_MEMORY, FeasibleCounter, NotCountableError
from .count import count as _count
from .evaluate import Entry
from ..core.reach import REACH_MAX_RF, blind_spots
from .reference import DEFAULT_MAX_CANDIDATES, brute_force
from .results import CountResult, SweepResult
from .sample import NoFeasibleStackError, Sampler
from .sample import sample as _sample
from .space import AxisRanges, Channels, Choices, Rules, SearchSpace, SpaceLike, Targets, load_space, parse_space
from .sweep import FeasibleRows, Partial, Restriction, Sweeper, SweepState, SweepTooLargeError
from .sweep import sweep as _sweep

__all__ = [
    "REACH_MAX_RF",
    "AxisRanges",
    "Channels",
    "Choices",
    "CountResult",
    "DEFAULT_MAX_MEMORY",
    "Entry",
    "FeasibleCounter",
    "FeasibleRows",
    "NoFeasibleStackError",
    "NotCountableError",
    "Partial",
    "Restriction",
    "Rules",
    "Sampler",
    "SearchSpace",
    "SweepResult",
    "SweepState",
    "SweepTooLargeError",
    "Sweeper",
    "Targets",
    "blind_spots",
    "count",
    "load_space",
    "parse_space",
    "sample",
    "sweep",
]


def sweep(space: SpaceLike, top: int = 10, *, backend: str = "cpp", **options: Any) -> SweepResult:
    """Exhaustive sweep: exact total and feasible counts, the `top` best feasible stacks, the
    Pareto front (several objectives) and the RF histogram. `space`: a SearchSpace, a space file
    path or a mapping. backend "cpp" (default): the C++ enumerator, options as for
    `rfsearch.search.sweep.sweep` (threads, counts, depth, allowed, shard, checkpoints, ...);
    "python": the brute-force oracle (option: max_candidates, default 2,000,000)."""
    if backend == "python":
        unknown = set(options) - {"max_candidates"}
        if unknown:
            raise ValueError(f"backend 'python' takes only max_candidates, got {', '.join(sorted(unknown))}")
        return brute_force(space, top, max_candidates=options.get("max_candidates", DEFAULT_MAX_CANDIDATES))
    if backend != "cpp":
        raise ValueError(f"backend must be 'cpp' or 'python', got {backend!r}")
    return _sweep(space, top, **options)


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
