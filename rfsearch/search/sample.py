"""Uniform random sampling of feasible stacks, exactly, from the counter's completion counts.

A draw is an index taken uniformly in [0, feasible) with `random.Random(seed).randrange` (exact
on integers of any size: Python draws random bits, no float is involved) and mapped to the
index-th feasible stack in choice order (`FeasibleCounter.unrank`, a bijection). Draws are
independent (with replacement) and reproducible for a given seed.

Targets the counter cannot handle (coverage, max_params, max_macs) are met by rejection: draw
uniformly among the stacks feasible without them, keep those that meet them. Rejection from a
uniform superset is uniform on the subset, so the result stays exact; `max_draws` bounds the work.
"""

from __future__ import annotations

import random
from typing import List, Optional, Tuple

from ..errors import SpecError
from ..model.values import as_int
from .count import FeasibleCounter
from .evaluate import Entry, evaluate, is_feasible, make_entry
from .space import SpaceLike, as_space

__all__ = ["NoFeasibleStackError", "Sampler", "sample"]


class NoFeasibleStackError(SpecError):
    """The space has no feasible stack (or none was found within the draw budget)."""


class Sampler:
    """Draws feasible stacks of a space uniformly; build once, draw many times.

    `exact_count` says whether the counter handles every target (no rejection needed)."""

    def __init__(self, space: SpaceLike) -> None:
        self.space = space = as_space(space)
        self.rejected_targets = space.uncountable_targets()
        self.counted_space = space.without_targets(*self.rejected_targets) if self.rejected_targets else space
        self.counter = FeasibleCounter(self.counted_space)

    @property
    def exact_count(self) -> bool:
        """True when `counter.feasible` is the space's feasible count (no target checked by rejection)."""
        return not self.rejected_targets

    def draw(self, rng: random.Random) -> Optional[Tuple[int, ...]]:
        """One candidate drawn uniformly among the counted feasible stacks (None if there are none);
        with rejected targets it may still fail them (the caller checks `accepts`)."""
        if self.counter.feasible == 0:
            return None
        return self.counter.unrank(rng.randrange(self.counter.feasible))

    def accepts(self, choices: Tuple[int, ...]) -> bool:
        """Whether a counted-feasible candidate also meets the rejected targets."""
        if not self.rejected_targets:
            return True
        layers = self.space.stack(choices)
        return is_feasible(self.space, evaluate(self.space, layers), layers)

    def sample_choices(
        self, n: int, seed: Optional[int] = None, *, max_draws: Optional[int] = None
    ) -> List[Tuple[int, ...]]:
        """n feasible candidates' choice indices, drawn independently and uniformly."""
        n = as_int(n, "n", minimum=0)
        rng = random.Random(seed)
        if max_draws is None:
            max_draws = 1000 + 100 * n
        found: List[Tuple[int, ...]] = []
        draws = 0
        while len(found) < n:
            if self.counter.feasible == 0:
                raise NoFeasibleStackError("the space has no feasible stack", source=self.space.source)
            if draws >= max_draws:
                raise NoFeasibleStackError(
                    f"found {len(found)} of {n} feasible stacks in {draws} draws (targets "
                    f"{', '.join(self.rejected_targets)} are checked by rejection); raise max_draws or sweep",
                    source=self.space.source)  # fmt: skip
            draws += 1
            choices = self.draw(rng)
            assert choices is not None
            if self.accepts(choices):
                found.append(choices)
        return found

    def sample(self, n: int, seed: Optional[int] = None, *, max_draws: Optional[int] = None) -> List[Entry]:
        """n feasible stacks with their metrics, drawn independently and uniformly."""
        return [make_entry(self.space, c) for c in self.sample_choices(n, seed, max_draws=max_draws)]


def sample(space: SpaceLike, n: int, *, seed: Optional[int] = None, max_draws: Optional[int] = None) -> List[Entry]:
    """n feasible stacks of `space`, uniformly and independently (seeded: reproducible).

    NoFeasibleStackError if the space has none (or, with coverage / cost targets checked by
    rejection, if `max_draws` draws did not find n)."""
    return Sampler(space).sample(n, seed, max_draws=max_draws)
