"""Exact counting of feasible stacks by dynamic programming over the fold's state (no enumeration).

The Python reference for the C++ counter: exact integers of any size (Python ints), tested
against the brute-force oracle on random small spaces.

**State.** After L layers a candidate prefix is summarised by what the rest of the fold and the
final checks can still see:

- the *outer state*: per axis (jump, effective padding, output size) and the number of
  downsampling layers so far (only with ``rules.max_downsampling``);
- its *RF* per axis.

The RF never influences anything else in the fold (a layer adds (k_eff - 1) * J to it and reads
nothing from it), so the DP keeps, per outer state, a distribution {RF tuple: number of prefixes}
and a layer shifts every RF of it by the same amount. This is the generating-function view of
the fold; it is what makes e.g. the 40-layer MS-TCN dilation space (11**40 candidates) a
fraction of a second per layer. Prefixes with equal state have equal futures, so counting states
instead of prefixes is exact.

- The output size is tracked only with an input size (without one there is no collapse and no
  size target). The effective padding is tracked only if some choice pads more before than
  k_eff - 1: otherwise P <= RF - 1 and P can overflow int64 only when the RF does (the only thing
  P can decide). Choices with the same parameters (e.g. kernel 1 under several dilations) move
  the state the same way and are one move with a multiplicity.
- A prefix dies when the fold collapses or overflows, a rule fails (stride_on, too many
  downsampling layers), or it can provably never become feasible: RF above its upper target or
  the input size (RF never shrinks), jump above its upper target or not dividing an exact target
  (J only multiplies), output size below its lower target when no later choice can grow it
  (p_before + p_after <= k_eff - 1 for every later choice, 'same' included).
- A stack of L layers, min depth <= L <= max depth, is feasible iff its final state meets the RF,
  jump, output size and rf_within_input targets.

**Handled exactly:** rf, jump, output_size, rf_within_input, the rules, depth, collapse and
overflow; the RF histogram comes for free. **Refused** (`NotCountableError`, never approximated):
``coverage`` (whether offsets are left unreached depends on the whole reached-offset set, not on
the fold state), ``max_params`` / ``max_macs`` (a budget on a sum of per-layer costs needs the
running cost in the state: as many states as prefixes in the worst case). Count the space
without them (`SearchSpace.without_targets`) for an upper bound, sample and reject (sample.py
does), or sweep.

**Backends.** ``backend="cpp"`` (the default) runs the same DP in C++
(src_cpp/include/rfsearch/count.hpp: the outer state is a hash-map key, each RF distribution a
sorted array of RF tuples with fixed-width limb counts, the shifted copies that meet in one
state merged k-way), without the GIL, Ctrl-C honoured between layers; ``backend="python"`` is
this module's reference. Both give identical results (tested against each other and against the
brute force); integers cross from C++ as little-endian bytes, so they are exact at any size.

**Cost.** Time O(sum over layers of #states x #moves) merges of RF distributions, memory
O(#states of two consecutive layers) for `count`; `FeasibleCounter` (sampling, unranking) keeps
the completion counts of every layer.
"""

from __future__ import annotations

import operator
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from .. import _core
from ..core.intake import check_backend
from ..core.reference import OK, AxisState, fold_layer
from ..errors import INT64_MAX, SpecError
from ..model.layers import PAD_SAME, AxisParams, Layer
from ..model.values import as_int
from .results import CountResult, RFKey, histogram_items
from .space import SearchSpace, SpaceLike, as_space

__all__ = ["DEFAULT_MAX_MEMORY", "FeasibleCounter", "NotCountableError", "count"]

AxisOuter = Tuple[int, int, Optional[int]]  # jump, effective padding (0 when untracked), size
Outer = Tuple[Tuple[AxisOuter, ...], int]  # per axis, then the downsampling count
RF = Tuple[int, ...]
Dist = Dict[RF, int]


class NotCountableError(SpecError):
    """The space has targets the exact counter does not handle, or more states than its memory
    budget allows (it never approximates)."""


#: Memory the DP's tables may take by default (bytes; both backends estimate what they hold and
#: stop with NotCountableError past it, long before the machine runs out).
DEFAULT_MAX_MEMORY = 2 << 30
_PY_ENTRY_BYTES = 160  # a dict entry with its RF tuple and int, in the Python reference
_PY_STATE_BYTES = 600  # an outer state's key tuple and its dict


def _too_large(max_memory: int, depth: int, source: Optional[str]) -> NotCountableError:
    return NotCountableError(
        f"counting needs more than {max_memory >> 20} MiB of tables (at depth {depth}): the space has too many "
        "distinct states and RF values; raise max_memory, restrict the space, or sample / sweep it", source=source)


def _check_memory(entries: int, states: int, depth: int, max_memory: int, source: Optional[str]) -> None:
    if max_memory and entries * _PY_ENTRY_BYTES + states * _PY_STATE_BYTES > max_memory:
        raise _too_large(max_memory, depth, source)


_WHY = {
    "coverage": "coverage depends on the whole set of reached offsets, not on the fold state",
    "max_params": "a params budget needs the running cost in the state (as many states as stacks)",
    "max_macs": "a MACs budget needs the running cost in the state (as many states as stacks)",
}


def refuse_uncountable(space: SearchSpace) -> None:
    """NotCountableError naming the targets the counter cannot handle exactly, if any."""
    bad = space.uncountable_targets()
    if bad:
        reasons = "; ".join(f"{name}: {_WHY[name]}" for name in bad)
        raise NotCountableError(
            f"cannot count exactly with targets {', '.join(bad)} ({reasons}); count without them "
            f"(space.without_targets({', '.join(repr(b) for b in bad)})), sample (exact, by rejection) or sweep",
            source=space.source)  # fmt: skip


@dataclass(frozen=True)
class _Move:
    """Choices of one position that move the state the same way (same parameters)."""

    axes: Tuple[AxisParams, ...]
    down: bool  # stride > 1 on some axis
    allowed: bool  # stride_on permits it
    choices: Tuple[int, ...]  # choice indices with this effect, ascending


def _keff(p: AxisParams) -> int:
    return p.dilation * (p.kernel - 1) + 1


def _allowed(layer: Layer, axes: Tuple[AxisParams, ...], stride_on: Optional[Tuple[str, ...]]) -> bool:
    """Whether the stride_on rule lets this layer be a choice (stride > 1 only on those kinds)."""
    return not any(p.stride > 1 for p in axes) or stride_on is None or layer.kind in stride_on


def _grows_size(p: AxisParams) -> bool:
    """Whether this layer can output more than its input (explicit padding beyond k_eff - 1)."""
    return p.pad_before != PAD_SAME and p.pad_before + p.pad_after > _keff(p) - 1


class _Machine:
    """The DP's state machine for one space: start state, moves, transitions, final checks."""

    def __init__(self, space: SearchSpace) -> None:
        refuse_uncountable(space)
        self.space = space
        self.ndim = ndim = space.ndim
        self.lo, self.hi = space.depth
        self.max_down = space.rules.max_downsampling
        stride_on = space.rules.stride_on
        # Positions past the overrides share one list of moves.
        self._moves: Dict[int, Tuple[List[_Move], List[int]]] = {}
        track_padding = False
        for key in range(min(self.hi, len(space.positions) + 1)):
            layers = space.choices(key)
            groups: Dict[Tuple[Tuple[AxisParams, ...], bool, bool], List[int]] = {}
            for index, layer in enumerate(layers):
                axes = layer.axis_params(ndim)
                down = any(p.stride > 1 for p in axes)
                allowed = _allowed(layer, axes, stride_on)
                groups.setdefault((axes, down, allowed), []).append(index)
                track_padding |= any(p.pad_before != PAD_SAME and p.pad_before > _keff(p) - 1 for p in axes)
            moves = [_Move(axes, down, allowed, tuple(idx)) for (axes, down, allowed), idx in groups.items()]
            move_of = [0] * len(layers)
            for m, move in enumerate(moves):
                for index in move.choices:
                    move_of[index] = m
            self._moves[key] = (moves, move_of)
        self.track_padding = track_padding
        self.sized = space.input_size is not None
        t = space.targets
        none: Tuple[Optional[Tuple[int, int]], ...] = (None,) * ndim
        self.rf_ranges = t.rf.on(ndim) if t.rf is not None else none
        self.jump_ranges = t.jump.on(ndim) if t.jump is not None else none
        self.size_ranges = t.output_size.on(ndim) if t.output_size is not None else none
        # Upper bound of a live RF per axis: int64, the RF target, the input size (rf_within_input).
        bound = [INT64_MAX] * ndim
        for a in range(ndim):
            r = self.rf_ranges[a]
            if r is not None:
                bound[a] = min(bound[a], r[1])
            if t.rf_within_input and space.input_size is not None:
                bound[a] = min(bound[a], space.input_size[a])
        self.rf_bound = tuple(bound)
        # shrinking[i]: no choice at positions >= i can grow the output size.
        shrinking = [True] * (self.hi + 1)
        for i in range(self.hi - 1, -1, -1):
            grows = any(_grows_size(p) for move in self.moves(i) for p in move.axes)
            shrinking[i] = shrinking[i + 1] and not grows
        self.shrinking = shrinking

    def moves(self, position: int) -> List[_Move]:
        """The distinct moves at a position."""
        return self._moves[min(position, len(self.space.positions))][0]

    def move_of(self, position: int, choice: int) -> _Move:
        """The move a choice index makes at a position."""
        moves, move_of = self._moves[min(position, len(self.space.positions))]
        return moves[move_of[choice]]

    def start(self) -> Tuple[Outer, RF]:
        """The state before any layer."""
        size = self.space.input_size
        axes = tuple((1, 0, size[a] if size is not None else None) for a in range(self.ndim))
        return (axes, 0), (1,) * self.ndim

    def step(self, outer: Outer, move: _Move, position: int) -> Optional[Tuple[Outer, RF]]:
        """(next outer state, RF growth per axis) after `move` at `position`; None if the prefix dies."""
        if not move.allowed:
            return None
        down = outer[1]
        if self.max_down is not None:
            down += move.down
            if down > self.max_down:
                return None
        axes: List[AxisOuter] = []
        grow: List[int] = []
        for a, (jump, padding, size) in enumerate(outer[0]):
            # The reference fold with a placeholder RF of 1: everything but the RF is exact, and
            # the RF's own overflow is checked when the distribution is shifted.
            state, code = fold_layer(AxisState(1, jump, padding, size), move.axes[a])
            if code != OK:
                return None
            g = state.rf - 1
            if g >= self.rf_bound[a]:  # every live RF is >= 1, so RF + g > bound
                return None
            jr = self.jump_ranges[a]
            if jr is not None and (state.jump > jr[1] or (jr[0] == jr[1] and jr[0] % state.jump)):
                return None
            sr = self.size_ranges[a]
            if sr is not None and state.size is not None and state.size < sr[0] and self.shrinking[position + 1]:
                return None
            axes.append((state.jump, state.padding if self.track_padding else 0, state.size))
            grow.append(g)
        return (tuple(axes), down), tuple(grow)

    def shifted(self, dist: Dist, grow: RF) -> Iterator[Tuple[RF, int]]:
        """The entries of `dist` with every RF grown by `grow`, dropping those past the bound."""
        bound = self.rf_bound
        if self.ndim == 1:
            g, b = grow[0], bound[0]
            for (one,), n in dist.items():
                if one + g <= b:
                    yield (one + g,), n
            return
        for rf, n in dist.items():
            new = tuple(r + d for r, d in zip(rf, grow))
            if all(r <= x for r, x in zip(new, bound)):
                yield new, n

    def outer_final(self, outer: Outer) -> bool:
        """Whether the jump and output size meet their targets (the RF is checked apart)."""
        for (jump, _, size), jr, sr in zip(outer[0], self.jump_ranges, self.size_ranges):
            if jr is not None and not jr[0] <= jump <= jr[1]:
                return False
            if sr is not None and (size is None or not sr[0] <= size <= sr[1]):
                return False
        return True

    def rf_final(self, rf: RF) -> bool:
        """Whether the RF meets its target (and the input size with rf_within_input)."""
        return all(r <= b and (t is None or r >= t[0]) for r, b, t in zip(rf, self.rf_bound, self.rf_ranges))


def _core_arguments(space: SearchSpace, max_memory: int = DEFAULT_MAX_MEMORY) -> Dict[str, Any]:
    """The space as _core.count_space / _core.FeasibleTables read it: per choice and axis the layer
    parameters and whether the rules allow it, one list per position up to the first position
    that shares `layers` (later positions use the last list), and the targets as (given, lo, hi)
    per axis. The C++ side groups choices into moves and derives the bounds itself."""
    ndim = space.ndim
    lo, hi = space.depth
    stride_on = space.rules.stride_on
    params: List[int] = []
    allowed: List[bool] = []
    choices: List[int] = []
    for key in range(min(hi, len(space.positions) + 1)):
        layers = space.choices(key)
        choices.append(len(layers))
        for layer in layers:
            axes = layer.axis_params(ndim)
            for p in axes:
                params += (p.kernel, p.stride, p.dilation, p.pad_before, p.pad_after, int(p.ceil_mode))
            allowed.append(_allowed(layer, axes, stride_on))
    t = space.targets

    def ranges(target: Any) -> List[int]:
        out: List[int] = []
        for r in (target.on(ndim) if target is not None else (None,) * ndim):
            out += (0, 0, 0) if r is None else (1, r[0], r[1])
        return out

    max_down = space.rules.max_downsampling
    return {
        "n_axes": ndim, "depth_lo": lo, "depth_hi": hi, "max_down": -1 if max_down is None else max_down,
        "input_size": None if space.input_size is None else list(space.input_size),
        "rf": ranges(t.rf), "jump": ranges(t.jump), "size": ranges(t.output_size),
        "rf_within_input": t.rf_within_input, "params": params, "choices": choices, "allowed": allowed,
        "max_bytes": max_memory,
    }  # fmt: skip


def _int(data: bytes) -> int:
    return int.from_bytes(data, "little")


def _bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "little")


def _memory(max_memory: Optional[int]) -> int:
    return 0 if max_memory is None else as_int(max_memory, "max_memory", minimum=1)


def count(space: SpaceLike, *, backend: str = "cpp", max_memory: Optional[int] = DEFAULT_MAX_MEMORY) -> CountResult:
    """Exact total, feasible count and RF histogram of a space, without enumerating it.

    backend: "cpp" (the compiled DP, default) or "python" (the reference); both exact and equal.
    max_memory: bytes the DP's tables may take (None: no limit); past it, NotCountableError.
    NotCountableError for coverage and cost-budget targets (see the module docstring)."""
    check_backend(backend)
    space = as_space(space)
    limit = _memory(max_memory)
    refuse_uncountable(space)
    if backend == "python":
        return _count_python(space, limit)
    try:
        raw = _core.count_space(**_core_arguments(space, limit))
    except _core.CountTooLarge as e:
        raise NotCountableError(f"{e}; raise max_memory, restrict the space, or sample / sweep it",
                                source=space.source) from None  # fmt: skip
    keys = raw["rf"].tolist()
    histogram: Tuple[Tuple[RFKey, int], ...] = tuple(
        (rf[0] if len(rf) == 1 else tuple(rf), _int(n)) for rf, n in zip(keys, raw["counts"])
    )
    return CountResult(space.total, _int(raw["feasible"]), histogram)


def _count_python(space: SearchSpace, max_memory: int) -> CountResult:
    machine = _Machine(space)
    outer0, rf0 = machine.start()
    level: Dict[Outer, Dist] = {outer0: {rf0: 1}}
    histogram: Counter[RF] = Counter()
    for depth in range(1, machine.hi + 1):
        position = depth - 1
        following: Dict[Outer, Dist] = {}
        held = sum(len(dist) for dist in level.values()) + len(histogram)
        added = 0
        for outer, dist in level.items():
            for move in machine.moves(position):
                moved = machine.step(outer, move, position)
                if moved is None:
                    continue
                target, grow = moved
                acc = following.setdefault(target, {})
                before = len(acc)
                get, weight = acc.get, len(move.choices)
                if machine.ndim == 1:  # the same as `shifted`, inlined: this loop is the DP's cost
                    g, bound = grow[0], machine.rf_bound[0]
                    for (r,), n in dist.items():
                        r += g
                        if r <= bound:
                            acc[(r,)] = get((r,), 0) + n * weight
                else:
                    for rf, n in machine.shifted(dist, grow):
                        acc[rf] = get(rf, 0) + n * weight
                added += len(acc) - before
                _check_memory(held + added, len(level) + len(following), depth, max_memory, space.source)
        level = {outer: dist for outer, dist in following.items() if dist}
        if depth >= machine.lo:
            for outer, dist in level.items():
                if machine.outer_final(outer):
                    for rf, n in dist.items():
                        if machine.rf_final(rf):
                            histogram[rf] += n
    return CountResult(space.total, sum(histogram.values()), histogram_items(histogram))


class _PythonTables:
    """The reference completion tables (the interface of _core.FeasibleTables, with Python ints)."""

    def __init__(self, space: SearchSpace, max_memory: int = DEFAULT_MAX_MEMORY) -> None:
        self.space = space
        self._machine = machine = _Machine(space)
        outer0, rf0 = machine.start()
        # Forward: the reachable RFs of every outer state, layer by layer (all kept: all counted).
        reach: List[Dict[Outer, set[RF]]] = [{outer0: {rf0}}]
        entries = states = 1
        for depth in range(1, machine.hi + 1):
            following: Dict[Outer, set[RF]] = {}
            for outer, rfs in reach[-1].items():
                dist = dict.fromkeys(rfs, 1)
                for move in machine.moves(depth - 1):
                    moved = machine.step(outer, move, depth - 1)
                    if moved is not None:
                        target = following.setdefault(moved[0], set())
                        before = len(target)
                        target.update(rf for rf, _ in machine.shifted(dist, moved[1]))
                        entries += len(target) - before
                        _check_memory(2 * entries, states + len(following), depth, max_memory, space.source)
            reach.append({outer: rfs for outer, rfs in following.items() if rfs})
            states += len(reach[-1])
        # Backward: completions[d][outer][rf] = feasible stacks extending a prefix of d layers.
        self._completions: List[Dict[Outer, Dist]] = [{} for _ in range(machine.hi + 1)]
        for depth in range(machine.hi, -1, -1):
            here = self._completions[depth]
            after = self._completions[depth + 1] if depth < machine.hi else {}
            for outer, rfs in reach[depth].items():
                can_stop = depth >= machine.lo and machine.outer_final(outer)
                children = []
                if depth < machine.hi:
                    for move in machine.moves(depth):
                        moved = machine.step(outer, move, depth)
                        if moved is not None and moved[0] in after:
                            children.append((after[moved[0]], moved[1], len(move.choices)))
                table: Dist = {}
                for rf in rfs:
                    n = 1 if can_stop and machine.rf_final(rf) else 0
                    for child, grow, weight in children:
                        n += weight * child.get(tuple(r + g for r, g in zip(rf, grow)), 0)
                    if n:
                        table[rf] = n
                if table:
                    here[outer] = table
            reach[depth] = {}  # no longer needed
        self.feasible = self._completions[0].get(outer0, {}).get(rf0, 0)

    def _after(self, depth: int, outer: Outer, rf: RF, choice: int) -> Tuple[int, Optional[Tuple[Outer, RF]]]:
        """(completions, state) after appending `choice` at position `depth` to a prefix in (outer, rf)."""
        moved = self._machine.step(outer, self._machine.move_of(depth, choice), depth)
        if moved is None:
            return 0, None
        rf2 = tuple(r + g for r, g in zip(rf, moved[1]))
        n = self._completions[depth + 1].get(moved[0], {}).get(rf2, 0)
        return n, (moved[0], rf2)

    def _stops(self, depth: int, outer: Outer, rf: RF) -> bool:
        m = self._machine
        return depth >= m.lo and m.outer_final(outer) and m.rf_final(rf)

    def unrank(self, index: int) -> Tuple[int, ...]:
        m = self._machine
        outer, rf = m.start()
        chosen: List[int] = []
        while True:
            depth = len(chosen)
            if self._stops(depth, outer, rf):  # the stack itself comes before its extensions
                if index == 0:
                    return tuple(chosen)
                index -= 1
            for choice in range(self.space.choice_counts[depth]):
                n, state = self._after(depth, outer, rf, choice)
                if index < n:
                    assert state is not None
                    chosen.append(choice)
                    outer, rf = state
                    break
                index -= n
            else:  # pragma: no cover - the counts say the index is in this subtree
                raise AssertionError("unrank walked past the counted stacks")

    def completions(self, prefix: Sequence[int]) -> Tuple[int, Tuple[int, ...]]:
        m = self._machine
        outer, rf = m.start()
        for depth, choice in enumerate(prefix):
            n, state = self._after(depth, outer, rf, choice)
            if state is None or n == 0:
                width = self.space.choice_counts[len(prefix)] if len(prefix) < m.hi else 0
                return 0, (0,) * width
            outer, rf = state
        depth = len(prefix)
        width = self.space.choice_counts[depth] if depth < m.hi else 0
        stop = 1 if self._stops(depth, outer, rf) else 0
        return stop, tuple(self._after(depth, outer, rf, c)[0] for c in range(width))


class FeasibleCounter:
    """Completion counts for every reachable state: the number of feasible stacks that extend a
    prefix. Gives the feasible count, the i-th feasible stack in choice order (`unrank`, the
    basis of exact uniform sampling), and per-choice counts after a prefix (`completions`).

    Build it once per space and query it many times (the Optuna helpers and samplers do):
    `unrank` and `completions` walk one path through the tables (O(depth x choices) lookups), in
    C++ with backend "cpp". Counts are exact Python ints. NotCountableError for coverage and
    cost-budget targets (count the space without them and reject, as `Sampler` does).

    Memory: every reachable (outer state, RF) of every layer, with its count."""

    def __init__(self, space: SpaceLike, *, backend: str = "cpp",
                 max_memory: Optional[int] = DEFAULT_MAX_MEMORY) -> None:  # fmt: skip
        check_backend(backend)
        self.space = space = as_space(space)
        self.backend = backend
        limit = _memory(max_memory)
        refuse_uncountable(space)
        self._python: Optional[_PythonTables] = None
        self._tables: Optional[_core.FeasibleTables] = None
        if backend == "python":
            self._python = _PythonTables(space, limit)
            self.feasible: int = self._python.feasible
        else:
            try:
                self._tables = _core.FeasibleTables(**_core_arguments(space, limit))
            except _core.CountTooLarge as e:
                raise NotCountableError(f"{e}; raise max_memory, restrict the space, or sample / sweep it",
                                        source=space.source) from None  # fmt: skip
            self.feasible = _int(self._tables.feasible())

    def _index(self, index: object) -> int:
        if isinstance(index, bool):
            raise TypeError(f"index must be an integer, got {index!r}")
        number = operator.index(index)  # type: ignore[arg-type]  # ints, numpy integers
        if not 0 <= number < self.feasible:
            raise IndexError(f"index {number} is outside [0, {self.feasible})")
        return number

    def unrank(self, index: int) -> Tuple[int, ...]:
        """The choice indices of the index-th feasible stack in choice order (0 <= index < feasible;
        an int of any size). IndexError outside that range."""
        number = self._index(index)
        if self._tables is not None:
            return tuple(self._tables.unrank(_bytes(number)))
        assert self._python is not None
        return self._python.unrank(number)

    def unrank_many(self, indices: Sequence[int]) -> List[Tuple[int, ...]]:
        """`unrank` of each index (one call into C++ for all of them)."""
        numbers = [self._index(i) for i in indices]
        if self._tables is not None:
            return [tuple(c) for c in self._tables.unrank_many([_bytes(n) for n in numbers])]
        assert self._python is not None
        return [self._python.unrank(n) for n in numbers]

    def completions(self, prefix: Sequence[int]) -> Tuple[int, Tuple[int, ...]]:
        """For a prefix (choice indices): (1 if the prefix itself is feasible else 0, the number
        of feasible stacks continuing with each choice of the next position). Zeros when the
        prefix cannot lead to a feasible stack; no choices past the maximum depth. ValueError if
        the prefix is longer than the maximum depth, IndexError for a choice outside its position."""
        hi = self.space.depth[1]
        prefix = tuple(prefix)
        if len(prefix) > hi:
            raise ValueError(f"the prefix has {len(prefix)} layers; depth is at most {hi}")
        for depth, choice in enumerate(prefix):
            width = self.space.choice_counts[depth]
            if isinstance(choice, bool) or not 0 <= operator.index(choice) < width:
                raise IndexError(f"choice {choice!r} at position {depth} is outside [0, {width})")
        if self._tables is not None:
            stop, counts = self._tables.completions([operator.index(c) for c in prefix])
            return stop, tuple(_int(c) for c in counts)
        assert self._python is not None
        return self._python.completions(prefix)

    def stack(self, index: int) -> Tuple[Layer, ...]:
        """The layers of the index-th feasible stack."""
        return self.space.stack(self.unrank(index))
