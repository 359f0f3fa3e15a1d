"""Exhaustive sweeps in the C++ core: every feasible stack of a space, without Python per stack.

The engine (src_cpp/include/rfsearch/enumerate.hpp) walks the space depth first, folding each
prefix once and sharing it with its extensions, and drops whole subtrees that provably hold no
feasible stack (the bounds are listed in the README, "Sweeping", and in the header). It returns
exact counts, the RF histogram, the top K stacks and the Pareto front, in the documented orders of
the oracle (`reference.brute_force`), which it is tested against.

Two ways in:

- `sweep(space, top=10, ...)`: one sweep, all cores, optional progress, checkpoints (`on_commit`
  / `resume`), shards (`shard=(i, n)`), streamed feasible stacks (`on_feasible`).
- `Sweeper(space)`: the space compiled once, then many sweeps of sub-problems: a depth range
  and, per position, the allowed choice indices (`allowed=[[3], None, [0, 2]]` fixes position 0
  to choice 3 and restricts position 2). Meant for callers that solve many small problems (the
  Optuna search): a sweep of a small restriction costs little more than its enumeration.

The unit of work is a task: a prefix of the first `split` positions (the node and all its
extensions), plus one "shallow" task for the stacks shorter than `split`. The task list is a
function of the space and the restriction only, so shards, checkpoints and Dask runs agree on it.
Results of tasks merge exactly (`Partial.merged`): counts and histograms add, top-K lists sort and
cut, Pareto fronts unite and filter, all with the documented tie orders.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _core
from ..errors import SpecError
from ..model.values import as_int
from .count import NotCountableError, count
from .evaluate import Entry, Number, make_entry, stack_spec
from .reach import REACH_MAX_RF
from .results import SweepResult, histogram_items, pareto_front
from .space import SearchSpace, SpaceLike, as_space

__all__ = [
    "DEFAULT_MAX_VISITS",
    "ENGINE_VERSION",
    "FeasibleRows",
    "Partial",
    "Restriction",
    "SweepState",
    "SweepTooLargeError",
    "SweepRun",
    "check_partial",
    "row_width",
    "Sweeper",
    "shard_span",
    "sweep",
]

#: Changes whenever the task split or the partial results change meaning (checkpoints, shards).
ENGINE_VERSION = 1
#: Sweeps estimated to visit more stacks than this are refused (max_visits=None to run anyway).
DEFAULT_MAX_VISITS = 10**12
#: A restriction with at most this many candidates is one task (no split, no thread start).
SMALL_TOTAL = 1 << 16
#: Live prefixes a larger restriction is split into (at least; the split depth is the smallest
#: that gives this many, so the list is a function of the space alone).
MIN_TASKS = 4096
MAX_TASKS = 1 << 20

KIND_CODES = {"conv": 0, "maxpool": 1, "avgpool": 2}
OBJECTIVE_CODES = {"macs": 0, "params": 1, "depth": 2, "rf_error": 3}

Vector = Tuple[int, ...]  # an objective vector in engine units (rf_error in half units)
Choices = Tuple[int, ...]
Found = Tuple[Vector, Choices]
Range = Tuple[int, int]  # [lo, hi) of task indices


#: How a sweep with counts is run: "auto" (the DP counter plus branch-and-bound where the space is
#: countable, else enumeration) or "enumerate" (every feasible stack judged one by one).
SWEEP_METHODS = ("auto", "enumerate")


class SweepTooLargeError(SpecError):
    """The sweep would visit too many stacks (an estimate above max_visits)."""


# ---------------------------------------------------------------------------------------------
# Partial results: what tasks return, merged exactly


def _merge_front(a: Sequence[Found], b: Sequence[Found]) -> List[Found]:
    best: Dict[Vector, Choices] = {}
    for vector, choices in (*a, *b):
        if vector not in best or choices < best[vector]:
            best[vector] = choices
    front = pareto_front(dict(best.items()))
    return [(tuple(int(v) for v in vector), choices) for vector, choices in front]


@dataclass(frozen=True)
class Partial:
    """Results of some tasks of a sweep, in engine units (rf_error in half units), mergeable.

    visited: nodes folded; feasible: feasible stacks; histogram: feasible stacks per RF tuple;
    top: the best (vector, choices), sorted, at most K; front: the Pareto points (vector, first
    choices), sorted by vector (empty with one objective)."""

    visited: int = 0
    feasible: int = 0
    histogram: Mapping[Tuple[int, ...], int] = field(default_factory=dict)
    top: Tuple[Found, ...] = ()
    front: Tuple[Found, ...] = ()

    def merged(self, other: Partial, top: int) -> Partial:
        """Both partials as one (exact: the same as having run their tasks together)."""
        histogram = dict(self.histogram)
        for rf, n in other.histogram.items():
            histogram[rf] = histogram.get(rf, 0) + n
        best = tuple(sorted((*self.top, *other.top))[:top])
        front = tuple(_merge_front(self.front, other.front)) if self.front or other.front else ()
        return Partial(self.visited + other.visited, self.feasible + other.feasible, histogram, best, front)

    def to_json(self) -> Dict[str, Any]:
        """JSON-ready (exact integers)."""
        return {
            "visited": self.visited,
            "feasible": self.feasible,
            "histogram": [[list(rf), n] for rf, n in sorted(self.histogram.items())],
            "top": [[list(v), list(c)] for v, c in self.top],
            "front": [[list(v), list(c)] for v, c in self.front],
        }

    @classmethod
    def from_json(cls, data: object, where: str = "partial results") -> Partial:
        """The inverse of to_json; SpecError naming `where` for anything malformed."""

        def bad(what: str) -> SpecError:
            return SpecError(f"{where}: {what}")

        def count(value: object, name: str) -> int:
            if type(value) is not int or value < 0:
                raise bad(f"{name} must be a whole number >= 0, got {value!r:.40}")
            return value

        def ints(value: object, name: str) -> Tuple[int, ...]:
            if not isinstance(value, list) or any(type(v) is not int for v in value):
                raise bad(f"{name} must be a list of whole numbers")
            return tuple(value)

        def pairs(value: object, name: str) -> Tuple[Found, ...]:
            if not isinstance(value, list):
                raise bad(f"{name} must be a list")
            out = []
            for item in value:
                if not isinstance(item, list) or len(item) != 2:
                    raise bad(f"{name} entries are [vector, choices]")
                out.append((ints(item[0], name), ints(item[1], name)))
            return tuple(out)

        if not isinstance(data, dict):
            raise bad("expected a mapping")
        for key in ("visited", "feasible", "histogram", "top", "front"):
            if key not in data:
                raise bad(f"missing {key!r}")
        histogram: Dict[Tuple[int, ...], int] = {}
        if not isinstance(data["histogram"], list):
            raise bad("histogram must be a list")
        for item in data["histogram"]:
            if not isinstance(item, list) or len(item) != 2:
                raise bad("histogram entries are [rf, count]")
            histogram[ints(item[0], "histogram")] = count(item[1], "a histogram count")
        return cls(count(data["visited"], "visited"), count(data["feasible"], "feasible"), histogram,
                   pairs(data["top"], "top"), pairs(data["front"], "front"))  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The compiled space


@dataclass(frozen=True)
class Restriction:
    """Which candidates a sweep covers: a depth range and per position the allowed choice
    indices (None: all). `total`: the number of candidates it holds."""

    depth: Tuple[int, int]
    allowed: Tuple[Optional[Tuple[int, ...]], ...]
    total: int
    handle: Any = field(default=None, compare=False, repr=False)  # _core.SweepRestriction

    def key(self) -> Dict[str, Any]:
        """JSON-ready identity (fingerprints)."""
        return {"depth": list(self.depth), "allowed": [None if a is None else list(a) for a in self.allowed]}


@dataclass(frozen=True)
class FeasibleRows:
    """A chunk of feasible stacks streamed by a sweep, one row per stack (numpy arrays, views of
    `block`, the engine's raw int64 rows).

    depth (n,); choices (n, max_depth), -1 past each stack's depth; rf, jump (n, ndim);
    output_size (n, ndim) with an input size, else None; params and macs (n,) with a cost
    model (macs also needs the input size), else None; objective: per objective name an (n,)
    array (rf_error as float64: exact, it is a whole number or x.5)."""

    block: np.ndarray = field(repr=False)
    depth: np.ndarray
    choices: np.ndarray
    rf: np.ndarray
    jump: np.ndarray
    output_size: Optional[np.ndarray]
    params: Optional[np.ndarray]
    macs: Optional[np.ndarray]
    objective: Dict[str, np.ndarray]
    tokens: Tuple[Tuple[str, ...], ...] = field(repr=False, default=())

    @classmethod
    def from_block(cls, block: np.ndarray, space: SearchSpace, max_depth: int,
                   tokens: Tuple[Tuple[str, ...], ...]) -> FeasibleRows:  # fmt: skip
        """Rows from the engine's raw block: per row depth, max_depth choices, rf, jump and size
        per axis, params, macs, the objective values (rf_error in half units)."""
        ndim = space.ndim
        if block.ndim != 2 or block.shape[1] != row_width(space, max_depth):
            raise ValueError(f"a block of feasible rows has {row_width(space, max_depth)} columns, got "
                             f"shape {block.shape}")  # fmt: skip
        at = 1 + max_depth
        rf, jump, size = (block[:, at + k * ndim: at + (k + 1) * ndim] for k in range(3))
        at += 3 * ndim
        objective = {}
        for j, name in enumerate(space.objective):
            column = block[:, at + 2 + j]
            objective[name] = column / 2 if name == "rf_error" else column
        sized, costed = space.input_size is not None, space.channels is not None
        return cls(block, block[:, 0], block[:, 1:1 + max_depth], rf, jump, size if sized else None,
                   block[:, at] if costed else None, block[:, at + 1] if costed and sized else None, objective,
                   tokens)  # fmt: skip

    def __len__(self) -> int:
        return int(self.depth.shape[0])

    def specs(self) -> List[str]:
        """Each stack as compact text (what `rfsearch compute` accepts)."""
        tokens = self.tokens
        last = len(tokens) - 1
        out = []
        for row, depth in zip(self.choices.tolist(), self.depth.tolist()):
            out.append(",".join(tokens[min(i, last)][c] for i, c in enumerate(row[:depth])))
        return out


def row_width(space: SearchSpace, max_depth: int) -> int:
    """Columns of a raw block of feasible rows."""
    return 1 + max_depth + 3 * space.ndim + 2 + len(space.objective)


def _plan_arguments(space: SearchSpace) -> Dict[str, Any]:
    """SweepPlan's constructor arguments: the space's choice table and targets."""
    ndim, hi = space.ndim, space.depth[1]
    n_keys = min(hi, len(space.positions) + 1)  # positions past the overrides share `layers`
    columns: Dict[str, List[Any]] = {k: [] for k in ("kernel", "stride", "dilation", "pad_before", "pad_after",
                                                     "ceil_mode")}  # fmt: skip
    kinds: List[int] = []
    offsets: List[int] = []
    for key in range(n_keys):
        offsets.append(len(kinds))
        for layer in space.choices(key):
            kinds.append(KIND_CODES[layer.kind])
            for p in layer.axis_params(ndim):
                columns["kernel"].append(p.kernel)
                columns["stride"].append(p.stride)
                columns["dilation"].append(p.dilation)
                columns["pad_before"].append(p.pad_before)
                columns["pad_after"].append(p.pad_after)
                columns["ceil_mode"].append(bool(p.ceil_mode))
    keys = [min(i, len(space.positions)) for i in range(hi)]
    t = space.targets

    def ranges(value: Any) -> List[Optional[Tuple[int, int]]]:
        return [None] * ndim if value is None else list(value.on(ndim))

    c = space.channels
    stride_on = space.rules.stride_on
    return {
        "axes": ndim,
        "depth_lo": space.depth[0],
        "depth_hi": hi,
        **columns,
        "kinds": kinds,
        "first": [offsets[k] for k in keys],
        "count": list(space.choice_counts),
        "input_size": None if space.input_size is None else list(space.input_size),
        "max_downsampling": -1 if space.rules.max_downsampling is None else space.rules.max_downsampling,
        "stride_on": 7 if stride_on is None else sum(1 << KIND_CODES[k] for k in stride_on),
        "channels": None if c is None else (c.input, list(c.widths), c.bias),
        "rf": ranges(t.rf),
        "jump": ranges(t.jump),
        "size": ranges(t.output_size),
        "rf_within_input": t.rf_within_input,
        "coverage": t.coverage == "full",
        "reach_cap": REACH_MAX_RF,
        "max_params": -1 if t.max_params is None else t.max_params,
        "max_macs": -1 if t.max_macs is None else t.max_macs,
        "objectives": [OBJECTIVE_CODES[name] for name in space.objective],
    }


def _threads(threads: Optional[int]) -> int:
    if threads is None:
        return os.cpu_count() or 1
    value = as_int(threads, "threads", minimum=-1)
    if value == 0:
        raise ValueError("threads must be 1 or more, or -1 for all cores, got 0")
    cores = os.cpu_count() or 1
    return cores if value == -1 else min(value, cores)


def exact_objective(space: SearchSpace, vector: Vector) -> Tuple[Number, ...]:
    """An engine vector as the exact objective values (rf_error: half units -> Fraction)."""
    out: List[Number] = []
    for name, v in zip(space.objective, vector):
        half = Fraction(v, 2)
        out.append((half.numerator if half.denominator == 1 else half) if name == "rf_error" else v)
    return tuple(out)


def engine_vector(space: SearchSpace, objective: Sequence[Number]) -> Vector:
    """Exact objective values as an engine vector (rf_error in half units)."""
    return tuple(int(v * 2) if name == "rf_error" else int(v) for name, v in zip(space.objective, objective))


@dataclass(frozen=True)
class SweepState:
    """A sweep's progress: which tasks are done and their merged results. `to_json` is what a
    checkpoint file holds; `fingerprint` identifies the sweep (space, restriction, options, task
    list), so a state is only ever resumed by the same sweep."""

    fingerprint: str
    n_tasks: int
    done: Tuple[Range, ...]
    partial: Partial

    @property
    def done_tasks(self) -> int:
        """Number of finished tasks."""
        return sum(hi - lo for lo, hi in self.done)

    def to_json(self) -> Dict[str, Any]:
        """JSON-ready."""
        return {"format": "rfsearch-sweep-state", "version": ENGINE_VERSION, "fingerprint": self.fingerprint,
                "tasks": self.n_tasks, "done": [list(r) for r in self.done],
                "partial": self.partial.to_json()}  # fmt: skip

    @classmethod
    def from_json(cls, data: object, where: str = "checkpoint") -> SweepState:
        """The inverse of to_json; SpecError naming `where` if it is not a sweep state."""
        if not isinstance(data, dict) or data.get("format") != "rfsearch-sweep-state":
            raise SpecError(f"{where}: not an rfsearch sweep checkpoint")
        if data.get("version") != ENGINE_VERSION:
            raise SpecError(f"{where}: written by another engine version ({data.get('version')!r}, this is "
                            f"{ENGINE_VERSION}); start the sweep again")  # fmt: skip
        fingerprint, n_tasks, done = data.get("fingerprint"), data.get("tasks"), data.get("done")
        if not isinstance(fingerprint, str) or type(n_tasks) is not int or not isinstance(done, list):
            raise SpecError(f"{where}: malformed (fingerprint, tasks, done)")
        ranges: List[Range] = []
        for r in done:
            if (not isinstance(r, list) or len(r) != 2 or any(type(v) is not int for v in r)
                    or not 0 <= r[0] < r[1] <= n_tasks):  # fmt: skip
                raise SpecError(f"{where}: malformed task range {r!r:.60}")
            ranges.append((r[0], r[1]))
        return cls(fingerprint, n_tasks, tuple(_union(ranges)), Partial.from_json(data.get("partial"), where))


def check_partial(space: SearchSpace, restriction: Restriction, partial: Partial, counts: bool,
                  where: str = "partial results") -> None:
    """Partial results read from files (shards, checkpoints, Dask answers) are well-formed JSON
    (`Partial.from_json`) but may not fit the space: refuse choices that are no candidate, counts
    beyond the candidates and histograms that disagree, before anything indexes with them."""
    lo, hi = restriction.depth
    for name, found in (("top", partial.top), ("front", partial.front)):
        for vector, choices in found:
            if (not lo <= len(choices) <= hi or len(vector) != len(space.objective)
                    or any(not 0 <= c < n for c, n in zip(choices, space.choice_counts))):  # fmt: skip
                raise SpecError(f"{where}: {name} holds {list(choices)[:8]!r:.80} (objective {list(vector)[:4]!r:.40}), "
                                "not a candidate of this space (a corrupt shard or checkpoint file?)")  # fmt: skip
    if partial.feasible > restriction.total:
        raise SpecError(f"{where}: {partial.feasible} feasible stacks among {restriction.total} candidates")
    if counts and sum(partial.histogram.values()) != partial.feasible:
        raise SpecError(f"{where}: the RF histogram counts {sum(partial.histogram.values())} stacks, "
                        f"feasible says {partial.feasible}")  # fmt: skip
    if any(len(rf) != space.ndim for rf in partial.histogram):
        raise SpecError(f"{where}: an RF histogram key does not have {space.ndim} axes")


def _union(ranges: Iterable[Range]) -> List[Range]:
    out: List[Range] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _missing(span: Range, done: Sequence[Range]) -> List[Range]:
    """The parts of [lo, hi) not covered by the (sorted, disjoint) done ranges."""
    out, at = [], span[0]
    for lo, hi in done:
        if hi <= at or lo >= span[1]:
            continue
        if lo > at:
            out.append((at, min(lo, span[1])))
        at = max(at, hi)
    if at < span[1]:
        out.append((at, span[1]))
    return out


@dataclass(frozen=True)
class SweepRun:
    """A finished sweep before it becomes a SweepResult: what it covered, its final state, and
    `sweep_id`, the fingerprint shared by every shard of the same sweep."""

    restriction: Restriction
    state: SweepState
    sweep_id: str
    top: int
    counts: bool
    prune: bool
    shard: Optional[Tuple[int, int]]
    stats: Dict[str, Any]


#: executor(sweeper, restriction, tasks, pending ranges, options, known results) -> yields
#: (task range, its Partial) as ranges finish, in any order.
Executor = Callable[..., Iterator[Tuple[Range, "Partial"]]]


class Sweeper:
    """A space compiled for the C++ sweep engine; build once, sweep many restrictions.

    `sweep(...)` runs a whole sweep; the lower-level `restriction`, `tasks`, `run` and `result`
    are what shards and the Dask runner compose."""

    def __init__(self, space: SpaceLike) -> None:
        self.space = space = as_space(space)
        self._plan = _core.SweepPlan(**_plan_arguments(space))
        n_keys = min(space.depth[1], len(space.positions) + 1)
        ndim = space.ndim
        self._space_json: Optional[str] = None
        self.tokens: Tuple[Tuple[str, ...], ...] = tuple(
            tuple(stack_spec([layer], ndim) for layer in space.choices(key)) for key in range(n_keys))

    # -- restrictions and tasks ------------------------------------------------------------------

    def restriction(
        self,
        depth: Union[None, int, Sequence[int]] = None,
        allowed: Union[None, Mapping[int, Optional[Sequence[int]]], Sequence[Optional[Sequence[int]]]] = None,
    ) -> Restriction:
        """A sub-problem: depth (an int or (lo, hi) within the space's) and allowed choice indices
        per position (a list with one entry per position, or a mapping position -> indices;
        None: all). An empty list at position i ends every stack before i."""
        space = self.space
        lo, hi = space.depth
        if depth is not None:
            if isinstance(depth, (list, tuple)):
                if len(depth) != 2:
                    raise ValueError(f"depth must be an int or (min, max), got {depth!r:.40}")
                lo, hi = as_int(depth[0], "depth", minimum=1), as_int(depth[1], "depth", minimum=1)
            else:
                lo = hi = as_int(depth, "depth", minimum=1)
            if not space.depth[0] <= lo <= hi <= space.depth[1]:
                raise ValueError(f"depth [{lo}, {hi}] is not within the space's {list(space.depth)}")
        per_position: List[Optional[Tuple[int, ...]]] = [None] * space.depth[1]
        if allowed is not None:
            items: Iterable[Tuple[Any, Any]]
            if isinstance(allowed, Mapping):
                items = allowed.items()
            else:
                if len(allowed) > space.depth[1]:
                    raise ValueError(f"allowed has {len(allowed)} entries; the space has {space.depth[1]} positions")
                items = enumerate(allowed)
            for position, choices in items:
                i = as_int(position, "position", minimum=0)
                if i >= space.depth[1]:
                    raise ValueError(f"position {i} is outside depth {list(space.depth)}")
                if choices is None:
                    continue
                width = space.choice_counts[i]
                values = sorted({as_int(c, f"allowed[{i}]", minimum=0) for c in choices})
                if values and values[-1] >= width:
                    raise ValueError(f"choice {values[-1]} at position {i} is outside [0, {width})")
                per_position[i] = tuple(values)
        while per_position and per_position[-1] is None:
            per_position.pop()
        allowed_key = tuple(per_position)
        reach = hi  # no choice at position i: no stack reaches past i
        for i, choices in enumerate(per_position[:hi]):
            if choices is not None and not choices:
                reach = i
                break
        total, prefix = 0, 1
        for length in range(1, reach + 1):
            choices = per_position[length - 1] if length - 1 < len(per_position) else None
            prefix *= space.choice_counts[length - 1] if choices is None else len(choices)
            if length >= lo:
                total += prefix
        if reach < lo:
            return Restriction((lo, hi), allowed_key, 0, None)
        lists = [list(c) if c is not None else [] for c in allowed_key[:reach]]
        return Restriction((lo, hi), allowed_key, total, self._plan.restrict(lo, reach, lists))

    def tasks(self, restriction: Restriction, prune: bool = True, min_tasks: Optional[int] = None) -> np.ndarray:
        """The task list of a restriction: an (n, split) int32 array of prefixes (a first row of -1
        stands for the stacks shorter than `split`); one empty row for a small restriction.
        min_tasks: the split is the shallowest giving at least this many live prefixes (default:
        1 up to SMALL_TOTAL candidates, else MIN_TASKS)."""
        if restriction.handle is None:
            return np.zeros((0, 0), dtype=np.int32)
        if min_tasks is None:
            min_tasks = 1 if restriction.total <= SMALL_TOTAL else MIN_TASKS
        min_tasks = as_int(min_tasks, "min_tasks", minimum=1)
        return np.asarray(self._plan.tasks(restriction.handle, prune, min_tasks, MAX_TASKS))

    def weights(self, restriction: Restriction, tasks: np.ndarray, prune: bool = True, probe: int = 2) -> np.ndarray:
        """Work estimates of tasks (1 + live nodes within `probe` levels): shard balance."""
        if restriction.handle is None or len(tasks) == 0:
            return np.zeros(len(tasks), dtype=np.int64)
        return np.asarray(self._plan.weights(restriction.handle, prune, tasks, probe))

    def estimate(self, restriction: Restriction, prune: bool = True, samples: int = 256) -> float:
        """Estimated number of stacks the sweep visits (Knuth's random probes, seeded; an
        estimate, rough on lopsided spaces)."""
        if restriction.handle is None:
            return 0.0
        return float(self._plan.estimate(restriction.handle, prune, samples, 0))

    def fingerprint(self, restriction: Restriction, *, top: int, counts: bool, prune: bool, n_tasks: int,
                    split: int, shard: Optional[Tuple[int, int]] = None) -> str:  # fmt: skip
        """What identifies a sweep's tasks and partial results (checkpoints, shard files)."""
        if self._space_json is None:
            self._space_json = json.dumps(self.space.to_dict(), sort_keys=True)
        key = {"engine": ENGINE_VERSION, "space": self._space_json, "restriction": restriction.key(), "top": top,
               "counts": counts, "prune": prune, "tasks": n_tasks, "split": split,
               "shard": None if shard is None else list(shard)}  # fmt: skip
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()

    # -- running -------------------------------------------------------------------------------

    def run(
        self,
        restriction: Restriction,
        tasks: np.ndarray,
        *,
        top: int,
        counts: bool = True,
        prune: bool = True,
        threads: Optional[int] = 1,
        seed: Optional[Partial] = None,
        on_feasible: Optional[Callable[[FeasibleRows], None]] = None,
        chunk_rows: int = 65536,
    ) -> Partial:
        """Runs some tasks (rows of `tasks`) and returns their results. `seed`: results known from
        other tasks (branch-and-bound prunes against them). Ctrl-C raises KeyboardInterrupt."""
        if restriction.handle is None or len(tasks) == 0:
            return Partial()
        if on_feasible is not None and not counts:
            raise ValueError("streaming every feasible stack needs counts=True (branch-and-bound skips stacks)")
        seed_kth = None
        if seed is not None and top > 0 and len(seed.top) >= top:
            seed_kth = (list(seed.top[top - 1][0]), list(seed.top[top - 1][1]))
        seed_front = [(list(v), list(c)) for v, c in seed.front] if seed is not None else []
        sink = None
        if on_feasible is not None:
            sink = self._sink(restriction, on_feasible)
        raw = self._plan.run(restriction.handle, np.ascontiguousarray(tasks, dtype=np.int32), prune=prune,
                             counts=counts, top=top, threads=_threads(threads),
                             stream_rows=chunk_rows if on_feasible is not None else 0, sink=sink, seed_kth=seed_kth,
                             seed_front=seed_front)  # fmt: skip
        histogram: Dict[Tuple[int, ...], int] = {}
        if counts:
            for rf, n in zip(raw["hist_rf"].tolist(), raw["hist_count"].tolist()):
                histogram[tuple(rf)] = int(n)
        front = tuple(raw["front"]) if len(self.space.objective) > 1 else ()
        return Partial(raw["visited"], raw["feasible"] if counts else 0, histogram, tuple(raw["top"]), front)

    def _sink(self, restriction: Restriction, on_feasible: Callable[[FeasibleRows], None]) -> Callable[[Any], None]:
        space, hi, tokens = self.space, restriction.handle.depth_hi, self.tokens

        def sink(block: np.ndarray) -> None:
            on_feasible(FeasibleRows.from_block(block, space, hi, tokens))

        return sink

    def result(self, restriction: Restriction, partial: Partial, *, top: int, counts: bool = True,
               stats: Optional[Mapping[str, Any]] = None) -> SweepResult:  # fmt: skip
        """The SweepResult of merged partial results (entries rebuilt and checked by the reference)."""
        space = self.space
        check_partial(space, restriction, partial, counts)

        def entry(found: Found) -> Entry:
            vector, choices = found
            e = make_entry(space, choices)
            if engine_vector(space, e.objective) != tuple(vector):  # the engine and the reference agree
                raise SpecError(f"sweep results give objective {list(vector)} for stack {e.spec}, the reference "
                                f"{list(engine_vector(space, e.objective))} (a corrupt shard or checkpoint file, "
                                "or an engine bug)")  # fmt: skip
            return e

        pareto = tuple(entry(f) for f in partial.front) if len(space.objective) > 1 else None
        return SweepResult(
            total=restriction.total,
            feasible=partial.feasible if counts else None,
            top=tuple(entry(f) for f in partial.top[:top]),
            pareto=pareto,
            rf_histogram=histogram_items(partial.histogram) if counts else None,
            objective=space.objective,
            stats=stats,
        )

    def sweep(self, top: int = 10, **options: Any) -> SweepResult:
        """One sweep of a restriction; the parameters are those of the module's `sweep`."""
        run = self.execute(top, **options)
        return self.result(run.restriction, run.state.partial, top=run.top, counts=run.counts, stats=run.stats)

    def execute(
        self,
        top: int = 10,
        *,
        depth: Union[None, int, Sequence[int]] = None,
        allowed: Union[None, Mapping[int, Optional[Sequence[int]]], Sequence[Optional[Sequence[int]]]] = None,
        counts: bool = True,
        prune: bool = True,
        threads: Optional[int] = -1,
        max_visits: Optional[int] = DEFAULT_MAX_VISITS,
        shard: Optional[Tuple[int, int]] = None,
        resume: Optional[SweepState] = None,
        on_commit: Optional[Callable[[SweepState], None]] = None,
        on_progress: Optional[Callable[[int, int], None]] = None,
        on_feasible: Optional[Callable[[FeasibleRows], None]] = None,
        chunk_rows: int = 65536,
        batch_seconds: float = 1.0,
        min_tasks: Optional[int] = None,
        executor: Optional[Executor] = None,
        method: str = "auto",
    ) -> SweepRun:
        """Runs a sweep and returns its final state (merged partial results) with what identifies
        it; `sweep` turns that into a SweepResult. min_tasks: split into at least this many tasks
        (default: one task up to 65,536 candidates, else 4,096); executor: runs task ranges
        elsewhere (the Dask runner). method: "auto" counts a whole countable space with the DP
        counter and finds its best stacks by branch-and-bound (the same results; see
        `_counted_and_bounded`), "enumerate" always judges every feasible stack one by one."""
        if method not in SWEEP_METHODS:
            raise ValueError(f"method must be one of {', '.join(SWEEP_METHODS)}, got {method!r:.40}")
        start = time.perf_counter()
        top = as_int(top, "top", minimum=0)
        n_threads = _threads(threads)
        chunk_rows = as_int(chunk_rows, "chunk_rows", minimum=1)
        if shard is not None:
            if not isinstance(shard, (tuple, list)) or len(shard) != 2:
                raise ValueError(f"shard must be (index, count), got {shard!r:.40}")
            shard = (as_int(shard[0], "shard index", minimum=1), as_int(shard[1], "shard count", minimum=1))
            if shard[0] > shard[1]:
                raise ValueError(f"shard {shard[0]}/{shard[1]}: the index must be between 1 and {shard[1]}")
        restriction = self.restriction(depth, allowed)
        whole_space = depth is None and allowed is None
        if method == "auto" and counts and prune and whole_space and shard is None and resume is None \
                and on_commit is None and on_feasible is None and executor is None:  # fmt: skip
            counted = self._counted_and_bounded(top, threads=threads, max_visits=max_visits, on_progress=on_progress,
                                                batch_seconds=batch_seconds, min_tasks=min_tasks, start=start)  # fmt: skip
            if counted is not None:
                return counted
        if max_visits is not None and restriction.total > max_visits:
            estimate = self.estimate(restriction, prune)
            if estimate > max_visits:
                raise SweepTooLargeError(
                    f"the space has {_sci(restriction.total)} candidates and the sweep would visit about "
                    f"{_sci(estimate)} stacks (estimated; the limit is max_visits={_sci(max_visits)}): enumeration "
                    "is not feasible. Count exactly without enumerating (rfsearch sweep --count-only, "
                    "rfsearch.search.count), narrow the space, or raise the limit", source=self.space.source)  # fmt: skip
        tasks = self.tasks(restriction, prune, min_tasks)
        n_tasks, split = len(tasks), tasks.shape[1] if tasks.ndim == 2 else 0
        span: Range = (0, n_tasks)
        if shard is not None:
            span = shard_span(self.weights(restriction, tasks, prune), *shard)
        # What identifies the sweep: only needed to check a resumed state or to write one.
        tracked = resume is not None or on_commit is not None or shard is not None or executor is not None
        sweep_id = ""
        if tracked:
            sweep_id = self.fingerprint(restriction, top=top, counts=counts, prune=prune, n_tasks=n_tasks, split=split)
        fingerprint = sweep_id
        if shard is not None:
            fingerprint = self.fingerprint(restriction, top=top, counts=counts, prune=prune, n_tasks=n_tasks,
                                           split=split, shard=shard)  # fmt: skip
        state = SweepState(fingerprint, n_tasks, (), Partial())
        if resume is not None:
            if resume.fingerprint != fingerprint:
                raise ValueError("the checkpoint belongs to another sweep (space, options or engine differ); "
                                 "use another checkpoint file or delete it")  # fmt: skip
            state = resume
        pending = _missing(span, state.done)
        work = span[1] - span[0]
        if on_progress is not None:
            on_progress(work - sum(hi - lo for lo, hi in pending), work)
        options = {"top": top, "counts": counts, "prune": prune}
        if executor is None:
            batched = on_commit is not None or on_progress is not None
            runs = self._local(restriction, tasks, pending, options, n_threads, state.partial,
                               on_feasible if counts else None, chunk_rows, batch_seconds if batched else None)  # fmt: skip
        else:
            if on_feasible is not None:
                raise ValueError("streaming every feasible stack is not available with a distributed executor")
            runs = executor(self, restriction, tasks, pending, options, state.partial)
        for done, partial in runs:
            state = SweepState(fingerprint, n_tasks, tuple(_union((*state.done, done))),
                               state.partial.merged(partial, top))  # fmt: skip
            if on_commit is not None:
                on_commit(state)
            if on_progress is not None:
                remaining = _missing(span, state.done)
                on_progress(work - sum(hi - lo for lo, hi in remaining), work)
        stats: Dict[str, Any] = {"visited": state.partial.visited, "seconds": round(time.perf_counter() - start, 6),
                                 "threads": n_threads, "tasks": n_tasks, "split": split, "prune": prune,
                                 "counts": counts, "candidates": restriction.total, "method": "enumerate"}  # fmt: skip
        if shard is not None:
            stats.update(shard=list(shard), shard_tasks=list(span))
        return SweepRun(restriction, state, sweep_id, top, counts, prune, shard, stats)

    def _counted_and_bounded(self, top: int, *, start: float, **options: Any) -> Optional[SweepRun]:
        """A whole-space sweep without enumerating every feasible stack: the feasible count and
        the RF histogram from the exact DP counter (`count`), the top K and the Pareto front by
        branch-and-bound (counts=False). Both are exact and equal the enumeration's (the counter
        and the bounds are tested against it and the brute force), so the results are those of
        `method="enumerate"`; `visited` counts the branch-and-bound's nodes. None when the counter
        cannot count the space (coverage or cost targets, or its memory budget): enumerate."""
        space = self.space
        if space.uncountable_targets():
            return None
        try:
            counted = count(space)
        except NotCountableError:
            return None
        run = self.execute(top, counts=False, prune=True, method="enumerate", **options)
        found = run.state.partial
        histogram = {key if isinstance(key, tuple) else (key,): n for key, n in counted.rf_histogram}
        partial = Partial(found.visited, counted.feasible, histogram, found.top, found.front)
        stats = {**run.stats, "counts": True, "method": "count+bound", "seconds": round(time.perf_counter() - start, 6)}
        state = SweepState(run.state.fingerprint, run.state.n_tasks, run.state.done, partial)
        return SweepRun(run.restriction, state, run.sweep_id, top, True, True, None, stats)

    def _local(self, restriction: Restriction, tasks: np.ndarray, pending: Sequence[Range], options: Dict[str, Any],
               threads: int, seed: Partial, on_feasible: Optional[Callable[[FeasibleRows], None]], chunk_rows: int,
               batch_seconds: Optional[float]) -> Iterator[Tuple[Range, Partial]]:  # fmt: skip
        """Runs the pending task ranges here: all at once, or in batches of about batch_seconds
        (each one committed: progress, checkpoints), seeding branch-and-bound with what is known."""
        top = options["top"]
        known = seed
        size = max(2 * threads, 1)
        for lo, hi in pending:
            at = lo
            while at < hi:
                stop = hi if batch_seconds is None else min(hi, at + size)
                t0 = time.perf_counter()
                partial = self.run(restriction, tasks[at:stop], threads=threads, seed=known, on_feasible=on_feasible,
                                   chunk_rows=chunk_rows, **options)  # fmt: skip
                elapsed = time.perf_counter() - t0
                known = known.merged(partial, top)
                yield (at, stop), partial
                if batch_seconds is not None:  # aim at batch_seconds per batch
                    scale = batch_seconds / max(elapsed, 1e-3)
                    size = int(min(max(size * min(scale, 4.0), threads), 1 << 20))
                at = stop


def shard_span(weights: np.ndarray, index: int, count: int) -> Range:
    """The task range [lo, hi) of shard `index` of `count` (1-based): contiguous ranges of about
    equal total weight (a task goes to the shard its weight's midpoint falls in). Deterministic."""
    count = as_int(count, "shard count", minimum=1)
    index = as_int(index, "shard index", minimum=1)
    if index > count:
        raise ValueError(f"shard {index}/{count}: the index must be between 1 and {count}")
    total = int(weights.sum())
    if total == 0:
        return (0, 0) if index > 1 else (0, len(weights))
    # task t belongs to shard floor(count * (cumsum_before + w/2) / total): monotone in t.
    before = np.concatenate(([0], np.cumsum(weights, dtype=np.int64)[:-1]))
    owner = ((2 * before + weights) * count) // (2 * total)
    lo = int(np.searchsorted(owner, index - 1, side="left"))
    hi = int(np.searchsorted(owner, index - 1, side="right"))
    return (lo, hi)


def _sci(value: float) -> str:
    return f"{value:.3g}" if value >= 1e6 else str(int(value))


def sweep(
    space: SpaceLike,
    top: int = 10,
    *,
    depth: Union[None, int, Sequence[int]] = None,
    allowed: Union[None, Mapping[int, Optional[Sequence[int]]], Sequence[Optional[Sequence[int]]]] = None,
    counts: bool = True,
    prune: bool = True,
    threads: Optional[int] = -1,
    max_visits: Optional[int] = DEFAULT_MAX_VISITS,
    shard: Optional[Tuple[int, int]] = None,
    resume: Optional[SweepState] = None,
    on_commit: Optional[Callable[[SweepState], None]] = None,
    on_progress: Optional[Callable[[int, int], None]] = None,
    on_feasible: Optional[Callable[[FeasibleRows], None]] = None,
    chunk_rows: int = 65536,
    batch_seconds: float = 1.0,
    min_tasks: Optional[int] = None,
    executor: Optional[Executor] = None,
    method: str = "auto",
) -> SweepResult:
    """Exhaustive sweep of `space` in the C++ core: exact `total` and `feasible`, the `top` best
    stacks, the Pareto front (several objectives) and the RF histogram.

    space: a SearchSpace, a space file path or a mapping. depth / allowed: a sub-problem (see
    `Sweeper.restriction`). counts=False: only the best stacks, by branch-and-bound (feasible
    and rf_histogram are then None). prune=False: no bounds (every node visited; for tests).
    threads: -1 = all cores. max_visits: refuse sweeps estimated to visit more stacks (None: no
    limit). shard=(i, n): only shard i of n (1-based; merge with rfsearch.search.shard).
    resume / on_commit: continue from / receive a SweepState after each batch of tasks of about
    batch_seconds (checkpoints). on_progress(done, total) counts tasks. on_feasible(rows)
    receives every feasible stack in chunks of chunk_rows (in no particular order across
    threads). method: "auto" (default) takes a whole countable space's feasible count and RF
    histogram from the exact DP counter and its best stacks from branch-and-bound, unless rows,
    checkpoints, shards, a restriction or an executor need the enumeration; "enumerate" always
    judges every feasible stack (the results are the same). Ctrl-C raises KeyboardInterrupt (the
    last committed state stays valid)."""
    return Sweeper(space).sweep(top, depth=depth, allowed=allowed, counts=counts, prune=prune, threads=threads,
                                max_visits=max_visits, shard=shard, resume=resume, on_commit=on_commit,
                                on_progress=on_progress, on_feasible=on_feasible, chunk_rows=chunk_rows,
                                batch_seconds=batch_seconds, min_tasks=min_tasks, executor=executor,
                                method=method)  # fmt: skip


def replace_stats(result: SweepResult, **stats: Any) -> SweepResult:
    """The result with more stats (the CLI adds what it measured)."""
    merged = dict(result.stats or {})
    merged.update(stats)
    return replace(result, stats=merged)
