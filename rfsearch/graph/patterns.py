"""Periodic unit patterns: exact receptive fields when the jump is a fraction.

On one axis, an output unit u of a node sees input positions (network-input coordinates,
padding included, as in Distill). Along one class of paths the unit sees the extent
[lo(u), hi(u)]; every op in rfsearch is shift-periodic (a conv moves its window by s positions
per unit, a stride-s transposed conv by one position per s units, an upsampling by p positions
per q units when n/m = p/q), and so is any composition of them:

    lo(u + period) = lo(u) + shift,   hi(u + period) = hi(u) + shift,   jump = shift / period.

A `Pattern` stores one period of (lo, hi) exactly, as integers; None marks a unit that sees no
input at all (a stride-2 transposed convolution with kernel 1 leaves every other unit empty).
A `Support` stores the exact sets of positions (Python ints as bitsets), for blind spots.

A `Window` describes one op: output unit v reads the op's input units taps(v), an arithmetic
progression (first, step >= 0, count) with taps(v + period) = taps(v) + shift.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

from ..errors import SpecError

__all__ = ["MAX_PERIOD", "SUPPORT_LIMIT", "Pattern", "Support", "Window", "compose", "compose_support",
           "union_support"]  # fmt: skip

#: Patterns whose period exceeds this are refused (sizes that share no factor can make periods grow).
MAX_PERIOD = 1 << 16
#: Exact position sets (blind spots) are kept while a unit's extent stays within this many positions.
SUPPORT_LIMIT = 1 << 20

Taps = Tuple[int, int, int]  # first, step (>= 0), count (>= 0)


@dataclass(frozen=True)
class Window:
    """Output unit v of an op reads its input units taps(v); taps(v + period) = taps(v) + shift."""

    period: int
    shift: int
    taps: Callable[[int], Taps]


def _divisors(n: int) -> Iterator[int]:
    small, large = [], []
    d = 1
    while d * d <= n:
        if n % d == 0:
            small.append(d)
            if d * d != n:
                large.append(n // d)
        d += 1
    yield from small
    yield from reversed(large)


def _check_period(period: int) -> int:
    if period > MAX_PERIOD:
        raise SpecError(f"the unit pattern repeats only every {period} units (more than {MAX_PERIOD}): "
                        "sizes and scale factors that share no factor make periods grow; use fewer of them")  # fmt: skip
    return period


@dataclass(frozen=True)
class Pattern:
    """Extents along one class of paths: unit u sees [lo(u), hi(u)] (None: nothing); periodic."""

    period: int
    shift: int
    lo: Tuple[Optional[int], ...]
    hi: Tuple[Optional[int], ...]

    @classmethod
    def identity(cls) -> Pattern:
        """The network input: unit u is position u."""
        return cls(1, 1, (0,), (0,))

    @functools.cached_property  # patterns are immutable; Fraction() is slow and asked for often
    def jump(self) -> Fraction:
        """Input positions per output unit, on average (exact)."""
        return Fraction(self.shift, self.period)

    def at(self, u: int) -> Optional[Tuple[int, int]]:
        """(lo, hi) of unit u, or None if it sees nothing."""
        q, r = divmod(u, self.period)
        lo, hi = self.lo[r], self.hi[r]
        if lo is None or hi is None:
            return None
        return lo + q * self.shift, hi + q * self.shift

    def rf(self, u: int) -> int:
        """RF of unit u: hi - lo + 1, or 0 when it sees nothing."""
        lo, hi = self.lo[u % self.period], self.hi[u % self.period]
        return 0 if lo is None or hi is None else hi - lo + 1

    def phases(self, size: Optional[int]) -> range:
        """The units whose RFs are all there is: one period, or fewer if the output is smaller
        (a collapsed output, size < 1, keeps the whole period: its values are still reported)."""
        return range(self.period if size is None or size < 1 else min(self.period, size))

    def center_line(self) -> Optional[Fraction]:
        """The centre line's value at unit 0: mean over one period of centre(u) - jump*u (units that
        see something). For an integer jump it is unit 0's centre, Distill's alignment quantity."""
        values = [Fraction(lo + hi, 2) - self.jump * u for u, (lo, hi) in enumerate(zip(self.lo, self.hi))
                  if lo is not None and hi is not None]  # fmt: skip
        return sum(values, Fraction(0)) / len(values) if values else None

    def canonical(self) -> Pattern:
        """The same pattern with its smallest period (equal patterns compare equal)."""
        a = self.period
        for d in _divisors(a):
            if d == a or (self.shift * d) % a:
                continue
            step = self.shift * d // a
            if all(_shifted(self.lo[u], step) == self.lo[u + d] and _shifted(self.hi[u], step) == self.hi[u + d]
                   for u in range(a - d)):  # fmt: skip
                return Pattern(d, step, self.lo[:d], self.hi[:d])
        return self


def _shifted(value: Optional[int], by: int) -> Optional[int]:
    return None if value is None else value + by


def _composed_period(period: int, window: Window) -> Tuple[int, int]:
    """Period and shift (in units of the pattern's periods) of pattern-after-window."""
    m = period // gcd(period, window.shift)  # gcd(a, 0) = a: a window that does not move
    return _check_period(window.period * m), m * window.shift // period


def compose(p: Pattern, window: Window) -> Pattern:
    """The pattern after an op: unit v sees the union of what its taps see along this class.

    Exact by construction: over a progression of taps, lo(tap) repeats every `cycle` taps moved by
    a non-negative amount, so the least lo is among the first `cycle` taps and the largest hi
    among the last `cycle` (cycle <= the input pattern's period)."""
    if p.period == 1 and window.period == 1:  # integer jumps (most nets): Distill's recursion, directly
        first, step, count = window.taps(0)
        lo0, hi0 = p.lo[0], p.hi[0]
        if lo0 is None or hi0 is None or count <= 0:
            return Pattern(1, window.shift * p.shift, (None,), (None,))
        return Pattern(1, window.shift * p.shift, (lo0 + first * p.shift,), (hi0 + (first + (count - 1) * step) * p.shift,))
    period, times = _composed_period(p.period, window)
    lo: List[Optional[int]] = []
    hi: List[Optional[int]] = []
    for v in range(period):
        first, step, count = window.taps(v)
        cycle = min(count, p.period // gcd(p.period, step) if step else 1)
        seen_lo = [e[0] for e in (p.at(first + t * step) for t in range(cycle)) if e is not None]
        seen_hi = [e[1] for e in (p.at(first + t * step) for t in range(count - cycle, count)) if e is not None]
        lo.append(min(seen_lo) if seen_lo else None)
        hi.append(max(seen_hi) if seen_hi else None)
    return Pattern(period, times * p.shift, tuple(lo), tuple(hi)).canonical()


Bits = Tuple[int, int]  # (base, mask): position base + i is in the set iff bit i of mask is set


def _or(a: Optional[Bits], b: Optional[Bits]) -> Optional[Bits]:
    if a is None:
        return b
    if b is None:
        return a
    base = min(a[0], b[0])
    return base, (a[1] << (a[0] - base)) | (b[1] << (b[0] - base))


@dataclass(frozen=True)
class Support:
    """The exact positions each unit sees (union over every path), one period of bitsets."""

    period: int
    shift: int
    sets: Tuple[Optional[Bits], ...]

    @classmethod
    def identity(cls) -> Support:
        return cls(1, 1, ((0, 1),))

    @property
    def jump(self) -> Fraction:
        return Fraction(self.shift, self.period)

    def at(self, u: int) -> Optional[Bits]:
        q, r = divmod(u, self.period)
        s = self.sets[r]
        return None if s is None else (s[0] + q * self.shift, s[1])

    def positions(self, u: int) -> List[int]:
        """The sorted input positions unit u sees."""
        s = self.at(u)
        if s is None:
            return []
        base, mask = s
        return [base + i for i in range(mask.bit_length()) if mask >> i & 1]

    def holes(self, u: int) -> int:
        """Positions inside unit u's extent that it does not see (blind spots)."""
        s = self.sets[u % self.period]
        return 0 if s is None else s[1].bit_length() - bin(s[1]).count("1")

    def canonical(self) -> Support:
        a = self.period
        for d in _divisors(a):
            if d == a or (self.shift * d) % a:
                continue
            step = self.shift * d // a
            if all((s is None and t is None) or (s is not None and t is not None and s[0] + step == t[0] and s[1] == t[1])
                   for s, t in zip(self.sets[: a - d], self.sets[d:])):  # fmt: skip
                return Support(d, step, self.sets[:d])
        return self


def compose_support(s: Support, window: Window, limit: int = SUPPORT_LIMIT) -> Optional[Support]:
    """Exact sets after an op (the union of every tap's set), or None once an extent exceeds `limit`."""
    period, times = _composed_period(s.period, window)
    sets: List[Optional[Bits]] = []
    for v in range(period):
        first, step, count = window.taps(v)
        acc: Optional[Bits] = None
        for t in range(count):
            acc = _or(acc, s.at(first + t * step))
            if acc is not None and acc[1].bit_length() > limit:
                return None
        sets.append(acc)
    return Support(period, times * s.shift, tuple(sets)).canonical()


def union_support(parts: Sequence[Support]) -> Optional[Support]:
    """The union of several inputs' sets, unit by unit; None if their jumps differ (no common period)."""
    jump = parts[0].jump
    if any(p.jump != jump for p in parts):
        return None
    period = 1
    for p in parts:
        period = period * p.period // gcd(period, p.period)
    _check_period(period)
    sets = []
    for u in range(period):
        acc: Optional[Bits] = None
        for p in parts:
            acc = _or(acc, p.at(u))
        sets.append(acc)
    return Support(period, int(jump * period), tuple(sets)).canonical()
