"""Uniform random sampling of feasible stacks, exactly, from the counter's completion counts.

**How a draw is made.** Draw j (j = 0, 1, 2, ...) of seed s is an index taken uniformly in
[0, F) (F = the number of feasible stacks) and mapped to the index-th feasible stack in choice
order (`FeasibleCounter.unrank`, a bijection). The index comes from SHA-256, by rejection, on
integers only (never through floats, exact at any size):

- let k = F.bit_length(); for attempt t = 0, 1, ...: hash the ASCII text
  ``rfsearch-sample-v1:{s}:{j}:{t}:{i}`` for i = 0, 1, ... and concatenate the digests until
  there are ceil(k / 8) bytes; read those bytes as a little-endian integer and keep its low k
  bits; the first such candidate below F is the index (each attempt succeeds with probability
  F / 2^k > 1/2).

This is specified here, not borrowed from a library's generator, so **the same seed gives the
same stacks on every run, platform, Python version and backend** (the C++ and Python counters
unrank alike). Draws are independent (with replacement), and draw j does not depend on how many
draws came before, so samples of several processes can be split by j. Without a seed, a random
one (``secrets``) is used.

**Targets the counter cannot handle** (coverage, max_params, max_macs) are met by rejection:
draw uniformly among the stacks feasible without them (draw j as above), keep those that meet
them. Rejection from a uniform superset is uniform on the subset, so the result stays exact;
`max_draws` bounds the work (default 1000 + 100 n draws) and running out of draws is an error
(`NoFeasibleStackError`, saying how many were found), never a silent shortfall.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from ..errors import SpecError
from ..model.values import as_int
from .count import DEFAULT_MAX_MEMORY, FeasibleCounter
from .evaluate import Entry, StackEval, evaluate, is_feasible, make_entry
from .space import SpaceLike, as_space

__all__ = ["NoFeasibleStackError", "Sampler", "draw_index", "sample"]

#: Tag hashed with every draw: changing the procedure means a new tag (a new version).
RNG_TAG = "rfsearch-sample-v1"


class NoFeasibleStackError(SpecError):
    """The space has no feasible stack (or none was found within the draw budget)."""


def draw_index(seed: int, draw: int, bound: int) -> int:
    """Draw number `draw` of `seed`: an integer uniform in [0, bound) (bound >= 1), by the
    SHA-256 rejection procedure in the module docstring."""
    if bound < 1:
        raise ValueError(f"bound must be >= 1, got {bound}")
    bits = bound.bit_length()
    size = (bits + 7) // 8
    mask = (1 << bits) - 1
    attempt = 0
    while True:
        data = b""
        block = 0
        while len(data) < size:
            data += hashlib.sha256(f"{RNG_TAG}:{seed}:{draw}:{attempt}:{block}".encode("ascii")).digest()
            block += 1
        candidate = int.from_bytes(data[:size], "little") & mask
        if candidate < bound:
            return candidate
        attempt += 1


class Sampler:
    """Draws feasible stacks of a space uniformly; build once, draw many times.

    `exact_count` says whether the counter handles every target (no rejection needed).
    backend: the counter's ("cpp" default, or "python"); the draws are the same with both.
    max_memory: the counter's memory budget (see `count`)."""

    def __init__(self, space: SpaceLike, *, backend: str = "cpp",
                 max_memory: Optional[int] = DEFAULT_MAX_MEMORY) -> None:  # fmt: skip
        self.space = space = as_space(space)
        self.rejected_targets = space.uncountable_targets()
        self.counted_space = space.without_targets(*self.rejected_targets) if self.rejected_targets else space
        self.counter = FeasibleCounter(self.counted_space, backend=backend, max_memory=max_memory)
        #: Draws the last `sample_choices` made (more than it returned when targets are met by rejection).
        self.draws = 0
        # Evaluations `accepts` made of the current chunk's kept candidates, for `entry` (a
        # candidate is evaluated once, not twice; cleared chunk by chunk: bounded memory).
        self._evaluated: Dict[Tuple[int, ...], StackEval] = {}

    @property
    def exact_count(self) -> bool:
        """True when `counter.feasible` is the space's feasible count (no target checked by rejection)."""
        return not self.rejected_targets

    def draw(self, seed: int, j: int) -> Optional[Tuple[int, ...]]:
        """Draw j of `seed`: a candidate uniform among the counted feasible stacks (None if there
        are none); with rejected targets it may still fail them (the caller checks `accepts`)."""
        if self.counter.feasible == 0:
            return None
        return self.counter.unrank(draw_index(seed, j, self.counter.feasible))

    def accepts(self, choices: Tuple[int, ...]) -> bool:
        """Whether a counted-feasible candidate also meets the rejected targets."""
        if not self.rejected_targets:
            return True
        layers = self.space.stack(choices)
        ev = evaluate(self.space, layers)
        if not is_feasible(self.space, ev, layers):
            return False
        self._evaluated[tuple(choices)] = ev
        return True

    def entry(self, choices: Sequence[int]) -> Entry:
        """The entry of a candidate `iter_choices` gave (`make_entry`, reusing the evaluation
        `accepts` made of it)."""
        return make_entry(self.space, choices, self._evaluated.get(tuple(choices)))

    def sample_choices(
        self, n: int, seed: Optional[int] = None, *, max_draws: Optional[int] = None
    ) -> List[Tuple[int, ...]]:
        """n feasible candidates' choice indices, drawn independently and uniformly (draws 0, 1,
        ... of `seed`, the rejected ones skipped). NoFeasibleStackError if there are none, or if
        `max_draws` draws (default 1000 + 100 n) found fewer than n."""
        return [c for chunk in self.iter_choices(n, seed, max_draws=max_draws) for c in chunk]

    def iter_choices(
        self, n: int, seed: Optional[int] = None, *, max_draws: Optional[int] = None, chunk: int = 4096
    ) -> Iterator[List[Tuple[int, ...]]]:
        """The candidates of `sample_choices`, in the same order, in lists of at most `chunk`: a
        caller that writes them as they come holds one chunk, not n, in memory."""
        n = as_int(n, "n", minimum=0)
        seed = secrets.randbits(63) if seed is None else as_int(seed, "seed", minimum=0)
        max_draws = 1000 + 100 * n if max_draws is None else as_int(max_draws, "max_draws", minimum=1)
        chunk = as_int(chunk, "chunk", minimum=1)
        if n and self.counter.feasible == 0:
            raise NoFeasibleStackError("the space has no feasible stack", source=self.space.source)
        if not self.rejected_targets:  # every draw is kept: unrank them a chunk at a time
            for lo in range(0, n, chunk):
                hi = min(n, lo + chunk)
                indices = [draw_index(seed, j, self.counter.feasible) for j in range(lo, hi)]
                self.draws = hi
                yield self.counter.unrank_many(indices)
            self.draws = n
            return
        found: List[Tuple[int, ...]] = []
        kept = draws = self.draws = 0
        while kept < n:
            if draws >= max_draws:
                raise NoFeasibleStackError(
                    f"found {kept} of {n} feasible stacks in {draws} draws (targets "
                    f"{', '.join(self.rejected_targets)} are checked by rejection); raise max_draws or sweep",
                    source=self.space.source)  # fmt: skip
            choices = self.draw(seed, draws)
            draws += 1
            self.draws = draws
            assert choices is not None
            if self.accepts(choices):
                found.append(choices)
                kept += 1
                if len(found) == chunk:
                    yield found
                    found = []
                    self._evaluated.clear()
        if found:
            yield found

    def sample(self, n: int, seed: Optional[int] = None, *, max_draws: Optional[int] = None) -> List[Entry]:
        """n feasible stacks with their metrics, drawn independently and uniformly."""
        return [self.entry(c) for chunk in self.iter_choices(n, seed, max_draws=max_draws) for c in chunk]


def sample(
    space: SpaceLike, n: int, *, seed: Optional[int] = None, max_draws: Optional[int] = None, backend: str = "cpp"
) -> List[Entry]:
    """n feasible stacks of `space`, uniformly and independently, with their metrics (spec, rf,
    jump, output_size, params, macs, objective, blind_spots). seed: a non-negative int (int64);
    the same seed gives the same stacks everywhere (see the module docstring); None: random.

    NoFeasibleStackError if the space has none (or, with coverage / cost targets checked by
    rejection, if `max_draws` draws did not find n)."""
    return Sampler(space, backend=backend).sample(n, seed, max_draws=max_draws)
