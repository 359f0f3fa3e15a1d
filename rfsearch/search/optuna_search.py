"""Optuna search over a space: each trial carries a whole sub-problem that the sweep engine solves.

**Why.** Optuna proposes a few thousand trials per second at best (TPE: tens, and slowing with
history); the core scores tens of millions of stacks per second. One trial per stack leaves the
engine idle. So, by default (``mode="hierarchical"``), Optuna proposes the *macro* architecture
and the exact engine solves the rest:

- **Macro parameters** are, in this order of priority: ``depth``, then per position the
  ``stride`` (where the downsampling goes), ``dilation``, ``kind``, ``kernel``, ``padding``,
  ``ceil_mode`` value of that position (only keys with several values there). The plan takes them
  greedily, key by key and position by position from the input on, until the largest inner
  problem has at most `inner_size` candidates (`HierarchicalPlan`). A space already within
  `inner_size` has no macro parameter but the depth: the first trial solves it exactly.
- **The inner problem** of a macro is a derived `SearchSpace` (depth fixed, each position's
  choices narrowed to the macro's values through ``positions`` overrides), solved exactly by
  ``rfsearch.search.sweep`` (or, with ``inner="batch"``, by scoring every candidate through the
  batch core). The trial reports the best stack of its macro (several objectives: the
  lexicographically smallest vector of the macro's Pareto front, i.e. the best on the first
  objective) and keeps the macro's top-K and whole Pareto front in its user attrs, so the study's
  results merge every explored sub-problem exactly.
- **A macro with no feasible stack** is still a COMPLETE trial: it reports the stack of the macro
  with the smallest sum of violations (ties: the first in choice order; among at most
  `REPRESENTATIVE_LIMIT` candidates drawn uniformly when the macro is larger), with that stack's
  graded violations as constraints and its objective values. Optuna's constrained samplers
  (TPE, NSGA-II) rank infeasible trials by that sum, so they are steered towards feasible macros.

``mode="flat"``: Optuna proposes whole stacks (``depth`` and ``layer[i]``, a categorical over
position i's choice indices, as `suggest_stack`), asked and told in batches of `batch`, each batch
scored by one batch-core call (`score_ids`). For comparison, and for spaces with no macro
structure.

Every trial gets every constraint key of the space (`nas.constraint_keys`), graded; infeasible
stacks are COMPLETE trials with positive violations, never FAIL.

**Studies.** The study name defaults to ``rfsearch-<mode>-<hash>``, the hash covering the space's
content (its normalised form: comments and layout do not count), the mode and the Optuna
parameters the plan defines: editing the space starts a new study. `trials` is the number of
COMPLETE trials the study should reach; a rerun resumes up to it. Storage: a journal file
(`JournalStorage(JournalFileBackend)`) at ``$RFSEARCH_STUDY_DIR/<study>.journal`` (default
directory ``$XDG_DATA_HOME/rfsearch/studies``, i.e. ``~/.local/share/rfsearch/studies``), a path
(a journal file there), or any Optuna RDB URL (``postgresql+psycopg://...``, ``sqlite:///...``):
then workers record heartbeats, and a trial whose worker died is failed after the grace period
and retried (`RetryHeartbeatStaleTrialCallback`). Many workers share one study: `workers`
processes here, and the same command on other machines.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import math
import multiprocessing
import os
import socket
import threading
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..core.table import LayerTable
from ..model.values import as_int
from .count import count
from .evaluate import Entry, Number, make_entry, stack_spec
from .nas import Scores, constraint_keys, judge, score_ids, set_constraints
from .results import pareto_front
from .space import Choices, SearchSpace, SpaceLike, as_space

if TYPE_CHECKING:
    import optuna

__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_INNER_SIZE",
    "DEFAULT_TRIALS",
    "INNERS",
    "MACRO_KEYS",
    "MODES",
    "REPRESENTATIVE_LIMIT",
    "SAMPLERS",
    "FlatPlan",
    "HierarchicalPlan",
    "MacroParam",
    "Outcome",
    "Search",
    "SearchOptions",
    "SearchResult",
    "WorkerError",
    "WorkerStats",
    "default_study_dir",
    "max_workers",
    "search",
]

MODES = ("hierarchical", "flat")
SAMPLERS = ("tpe", "nsga2", "random", "qmc")
INNERS = ("sweep", "batch")
MACRO_KEYS = ("stride", "dilation", "kind", "kernel", "padding", "ceil_mode")
DEFAULT_TRIALS = 100
#: Largest inner problem (candidates) a hierarchical trial hands to the engine: the sweep solves
#: 65,536 candidates in a few milliseconds, so each trial settles a large part of the space
#: (4,096 left three-macro-parameter spaces that 300 trials did not cover: bench/optuna_search.md).
DEFAULT_INNER_SIZE = 65536
DEFAULT_BATCH = 64
DEFAULT_HEARTBEAT = 20  # seconds between heartbeats (RDB storages)
DEFAULT_GRACE = 60  # seconds without a heartbeat before a trial counts as dead
#: An infeasible macro's representative is looked for among at most this many of its candidates
#: (scored in numpy: 4,096 take ~10 ms, 65,536 over 0.2 s, more than the macro's sweep).
REPRESENTATIVE_LIMIT = 4096
STUDY_DIR_ENV = "RFSEARCH_STUDY_DIR"

Choice = Tuple[int, ...]
Candidate = Tuple[Choice, Tuple[Number, ...]]


# ---------------------------------------------------------------------------------------------
# Options


def max_workers() -> int:
    """The most worker processes `search` starts on this machine: 4 per core. Each is a whole
    interpreter (about 100 MB): --workers 100000 would otherwise start 100,000 of them."""
    return 4 * (os.cpu_count() or 1)


@dataclass(frozen=True)
class SearchOptions:
    """How to search (see `search` for the meaning of each field); validated on construction."""

    trials: int = DEFAULT_TRIALS
    timeout: Optional[float] = None
    mode: str = "hierarchical"
    sampler: Optional[str] = None  # None: tpe for one objective, nsga2 for several
    seed: Optional[int] = None
    storage: Optional[str] = None
    study_name: Optional[str] = None
    workers: int = 1
    top: int = 3
    inner_size: int = DEFAULT_INNER_SIZE
    inner: str = "sweep"
    batch: int = DEFAULT_BATCH
    heartbeat: int = DEFAULT_HEARTBEAT
    grace: int = DEFAULT_GRACE

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "trials", as_int(self.trials, "trials", minimum=1))
        if self.timeout is not None:
            if isinstance(self.timeout, bool) or not isinstance(self.timeout, (int, float)):
                raise ValueError(f"timeout must be a number of seconds, got {self.timeout!r}")
            if not math.isfinite(self.timeout) or self.timeout <= 0:
                raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout!r}")
        for name, allowed in (("mode", MODES), ("inner", INNERS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.sampler is not None and self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}")
        if self.seed is not None:
            set_(self, "seed", as_int(self.seed, "seed", minimum=0))
        for name in ("workers", "top", "inner_size", "batch", "heartbeat", "grace"):
            set_(self, name, as_int(getattr(self, name), name, minimum=1))
        if self.workers > max_workers():
            raise ValueError(f"workers must be at most {max_workers()} (4 processes per core), got {self.workers}")
        if self.grace <= self.heartbeat:
            raise ValueError(f"grace ({self.grace} s) must be longer than heartbeat ({self.heartbeat} s)")
        if self.study_name is not None and (not isinstance(self.study_name, str) or not self.study_name.strip()):
            raise ValueError(f"study_name must be non-empty text, got {self.study_name!r}")
        if self.storage is not None and (not isinstance(self.storage, str) or not self.storage.strip()):
            raise ValueError(f"storage must be a URL or a journal file path, got {self.storage!r}")

    def sampler_name(self, n_objectives: int) -> str:
        """The sampler used: the one given, else TPE for one objective and NSGA-II for several."""
        return self.sampler or ("tpe" if n_objectives == 1 else "nsga2")


def default_study_dir() -> Path:
    """Where default journal files go: $RFSEARCH_STUDY_DIR, else $XDG_DATA_HOME/rfsearch/studies
    (XDG_DATA_HOME defaults to ~/.local/share)."""
    given = os.environ.get(STUDY_DIR_ENV)
    if given:
        return Path(given)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "rfsearch" / "studies"


# ---------------------------------------------------------------------------------------------
# Exact values in user attrs (JSON: ints stay ints, an x.5 becomes "p/q")


def _encode(values: Sequence[Number]) -> List[Union[int, str]]:
    return [v if isinstance(v, int) else f"{v.numerator}/{v.denominator}" for v in values]


def _decode(values: Sequence[Union[int, str]]) -> Tuple[Number, ...]:
    return tuple(v if isinstance(v, int) else Fraction(v) for v in values)


def _floats(values: Sequence[Number]) -> List[float]:
    return [float(v) for v in values]


# ---------------------------------------------------------------------------------------------
# What a trial found


@dataclass(frozen=True)
class Outcome:
    """One trial's result. choices/objective/violations: the stack it reports to Optuna (its best
    stack, or for an infeasible macro the least-violating one); top: feasible candidates kept
    (best first); front: the Pareto front of its sub-problem (several objectives); inner_total /
    inner_feasible: size of its sub-problem (hierarchical)."""

    choices: Choice
    objective: Tuple[Number, ...]
    violations: Dict[str, float]
    feasible: bool
    top: Tuple[Candidate, ...] = ()
    front: Tuple[Candidate, ...] = ()
    inner_total: Optional[int] = None
    inner_feasible: Optional[int] = None

    def attrs(self, space: SearchSpace) -> Dict[str, Any]:
        """The trial's ``rfsearch`` user attr (JSON)."""
        out: Dict[str, Any] = {
            "stack": stack_spec(space.stack(self.choices), space.ndim),
            "choices": list(self.choices),
            "objective": _encode(self.objective),
            "feasible": self.feasible,
            "top": [[list(c), _encode(v)] for c, v in self.top],
        }
        if len(space.objective) > 1:
            out["front"] = [[list(c), _encode(v)] for c, v in self.front]
        if self.inner_total is not None:
            out["inner_total"] = self.inner_total
            out["inner_feasible"] = self.inner_feasible
        return out


class _Encoder:
    """Choice indices of a space -> rows of one layer table (for the batch core)."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self.table = LayerTable(space.ndim)
        self._rows: Dict[int, np.ndarray] = {}

    def rows(self, position: int) -> np.ndarray:
        """(n,) row ids of the choices at `position`."""
        key = min(position, len(self.space.positions))
        if key not in self._rows:
            self._rows[key] = np.array(self.table.ids(self.space.choices(position)), dtype=np.int32)
        return self._rows[key]

    def encode(self, stacks: Sequence[Sequence[int]]) -> Tuple[np.ndarray, np.ndarray]:
        """(ids (N, L), depth (N,)) of stacks given by choice indices."""
        width = max((len(s) for s in stacks), default=1)
        ids = np.zeros((len(stacks), width), dtype=np.int32)
        depth = np.zeros(len(stacks), dtype=np.int64)
        for i, stack in enumerate(stacks):
            for p, c in enumerate(stack):
                ids[i, p] = self.rows(p)[c]
            depth[i] = len(stack)
        return ids, depth

    def product(self, allowed: Sequence[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
        """Every stack whose position p takes a choice of allowed[p], in choice order:
        (choice indices (M, d), table ids (M, d))."""
        counts = [len(a) for a in allowed]
        total = math.prod(counts)
        index = np.arange(total, dtype=np.int64)
        local = np.empty((total, len(allowed)), dtype=np.int64)
        stride = total
        for p, n in enumerate(counts):  # position 0 varies slowest: lexicographic = choice order
            stride //= n
            local[:, p] = (index // stride) % n
        choices = np.stack([np.asarray(a)[local[:, p]] for p, a in enumerate(allowed)], axis=1)
        ids = np.stack([self.rows(p)[choices[:, p]] for p in range(len(allowed))], axis=1)
        return choices.astype(np.int64), ids.astype(np.int32)


def _candidates_from(scores: Scores, choices: np.ndarray, top: int, multi: bool) -> Tuple[Tuple[Candidate, ...],
                                                                                            Tuple[Candidate, ...]]:  # fmt: skip
    """The `top` best feasible stacks (objective, then choice order: rows are in choice order) and,
    with several objectives, the Pareto front (one stack per vector, the first in choice order)."""
    feasible = np.flatnonzero(scores.feasible)
    if not len(feasible):
        return (), ()
    keys = [k[feasible] for k in scores.order_keys()]
    order = feasible[np.lexsort(keys[::-1])] if keys else feasible  # stable: ties keep choice order
    best = tuple((tuple(int(c) for c in choices[i]), scores.exact_objective(int(i))) for i in order[:top])
    front: Tuple[Candidate, ...] = ()
    if multi:
        vectors: Dict[Tuple[Number, ...], Choice] = {}
        for i in order:
            vector = scores.exact_objective(int(i))
            if vector not in vectors:
                vectors[vector] = tuple(int(c) for c in choices[i])
        front = tuple((c, v) for v, c in pareto_front(vectors))
    return best, front


# ---------------------------------------------------------------------------------------------
# Plans: what Optuna proposes, and how a proposal is judged


class FlatPlan:
    """Optuna proposes whole stacks: ``depth`` (a range) and ``layer[i]`` for every position."""

    mode = "flat"

    def __init__(self, space: SearchSpace, top: int) -> None:
        self.space = space
        self.top = top
        self.encoder = _Encoder(space)

    def distributions(self) -> Dict[str, Any]:
        """Parameter name -> a JSON description of its distribution (for the study signature)."""
        out: Dict[str, Any] = {}
        if self.space.depth[0] < self.space.depth[1]:
            out["depth"] = ["int", *self.space.depth]
        for i, n in enumerate(self.space.choice_counts):
            out[f"layer[{i}]"] = ["categorical", n]
        return out

    def suggest(self, trial: optuna.Trial) -> Choice:
        """The stack the trial proposes (choice indices)."""
        lo, hi = self.space.depth
        depth = trial.suggest_int("depth", lo, hi) if lo < hi else lo
        drawn = [trial.suggest_categorical(f"layer[{i}]", list(range(n))) for i, n in enumerate(self.space.choice_counts)]
        return tuple(int(c) for c in drawn[:depth])

    def evaluate(self, proposals: Sequence[Choice]) -> List[Outcome]:
        """All proposals scored by one batch-core call."""
        ids, depth = self.encoder.encode(proposals)
        scores = score_ids(self.space, self.encoder.table, ids, depth, threads=1)
        feasible = scores.feasible
        out = []
        for i, choices in enumerate(proposals):
            objective = scores.exact_objective(i)
            violations = {k: float(v[i]) for k, v in scores.violations.items()}
            kept: Tuple[Candidate, ...] = ((choices, objective),) if feasible[i] else ()
            out.append(Outcome(choices, objective, violations, bool(feasible[i]), kept, kept))
        return out


@dataclass(frozen=True)
class MacroParam:
    """A macro parameter: the value of `key` at `position` (an Optuna categorical over `labels`)."""

    position: int
    key: str
    values: Tuple[Any, ...]
    labels: Tuple[Any, ...]

    @property
    def name(self) -> str:
        """Its Optuna parameter name, e.g. ``stride[3]``."""
        return f"{self.key}[{self.position}]"


_NA = object()  # a key that does not apply to a choice (dilation of avg-pooling, ceil_mode of conv)


def choice_keys(c: Choices) -> List[Dict[str, Any]]:
    """The values of every key for each choice of a position, in choice-index order (the product
    kind x kernel x stride x dilation x padding x ceil_mode of `SearchSpace.choices`)."""
    out = []
    for kind in c.kind or ("conv",):
        for kernel in c.kernel or ():
            for stride in c.stride or (None,):
                for dilation in (c.dilation or (1,)) if kind != "avgpool" else (_NA,):
                    for padding in c.padding or ("valid",):
                        for ceil in (c.ceil_mode or (False,)) if kind != "conv" else (_NA,):
                            out.append({"kind": kind, "kernel": kernel, "stride": stride, "dilation": dilation,
                                        "padding": padding, "ceil_mode": ceil})  # fmt: skip
    return out


def _label(value: Any) -> Any:
    return "x".join(map(str, value)) if isinstance(value, tuple) else value


def _matches(keys: Dict[str, Any], fixed: Dict[str, Any]) -> bool:
    return all(keys[k] is _NA or keys[k] == v for k, v in fixed.items())


@dataclass(frozen=True)
class _Solved:
    total: int
    feasible: int
    top: Tuple[Candidate, ...]
    front: Tuple[Candidate, ...]


class HierarchicalPlan:
    """Optuna proposes the macro architecture; the engine solves the inner problem exactly.

    Macro parameters: ``depth`` (a range) and the `MacroParam`s chosen greedily (see the module
    docstring) so that no inner problem exceeds `inner_size` candidates."""

    mode = "hierarchical"

    def __init__(self, space: SearchSpace, inner_size: int, top: int, inner: str = "sweep", cache: int = 4096) -> None:
        self.space = space
        self.inner_size = inner_size
        self.top = top
        self.inner = inner
        self.encoder = _Encoder(space)
        hi = space.depth[1]
        self._keys = [choice_keys(space.position_choices(p)) for p in range(min(hi, len(space.positions) + 1))]
        fixed: List[List[str]] = [[] for _ in range(hi)]
        candidates = [(key, p) for key in MACRO_KEYS for p in range(hi) if len(self._values(p, key)) > 1]
        for key, p in candidates:
            if self.largest_inner(fixed) <= inner_size:
                break
            fixed[p].append(key)
        self.params = tuple(
            MacroParam(p, key, self._values(p, key), tuple(_label(v) for v in self._values(p, key)))
            for p in range(hi) for key in MACRO_KEYS if key in fixed[p]
        )  # fmt: skip
        self._cache: "OrderedDict[Tuple[int, Tuple[int, ...]], Outcome]" = OrderedDict()
        self._cache_size = cache

    def _position_keys(self, p: int) -> List[Dict[str, Any]]:
        return self._keys[min(p, len(self.space.positions))]

    def _values(self, p: int, key: str) -> Tuple[Any, ...]:
        return tuple(getattr(self.space.position_choices(p), key) or ())

    def _inner_count(self, p: int, keys: Sequence[str]) -> int:
        """The most choices left at position p over every combination of values of `keys`."""
        rows = self._position_keys(p)
        if not keys:
            return len(rows)
        combos = itertools.product(*(self._values(p, k) for k in keys))
        return max(sum(_matches(r, dict(zip(keys, combo))) for r in rows) for combo in combos)

    def largest_inner(self, fixed: Sequence[Sequence[str]]) -> int:
        """Candidates of the largest inner problem (at the maximum depth) with these macro keys."""
        return math.prod(self._inner_count(p, fixed[p]) for p in range(self.space.depth[1]))

    def distributions(self) -> Dict[str, Any]:
        """Parameter name -> a JSON description of its distribution (for the study signature)."""
        out: Dict[str, Any] = {"inner_size": self.inner_size}
        if self.space.depth[0] < self.space.depth[1]:
            out["depth"] = ["int", *self.space.depth]
        for m in self.params:
            out[m.name] = ["categorical", list(m.labels)]
        return out

    def suggest(self, trial: optuna.Trial) -> Tuple[int, Tuple[int, ...]]:
        """(depth, the index of each macro parameter's value) the trial proposes. Every parameter
        is drawn on every trial (a static search space), those past the depth are ignored."""
        lo, hi = self.space.depth
        depth = trial.suggest_int("depth", lo, hi) if lo < hi else lo
        picks = tuple(m.labels.index(trial.suggest_categorical(m.name, list(m.labels))) for m in self.params)
        return depth, picks

    def subspace(self, depth: int, picks: Sequence[int]) -> Tuple[SearchSpace, List[np.ndarray]]:
        """The inner problem of a macro as a SearchSpace (depth fixed, choices narrowed through
        `positions`), and for each position the original choice index of each of its choices."""
        fixed: List[Dict[str, Any]] = [{} for _ in range(depth)]
        for m, pick in zip(self.params, picks):
            if m.position < depth:
                fixed[m.position][m.key] = m.values[pick]
        positions = []
        allowed = []
        for p in range(depth):
            base = self.space.position_choices(p)
            positions.append(replace(base, **{k: (v,) for k, v in fixed[p].items()}) if fixed[p] else base)
            allowed.append(np.array([j for j, keys in enumerate(self._position_keys(p)) if _matches(keys, fixed[p])]))
        s = self.space
        sub = SearchSpace(depth=(depth, depth), layers=s.layers, positions=tuple(positions), input_size=s.input_size,
                          rules=s.rules, channels=s.channels, targets=s.targets, objective=s.objective,
                          source=s.source)  # fmt: skip
        for p in range(depth):  # the narrowing keeps the product order: choice i of the sub-space is allowed[p][i]
            assert len(sub.choices(p)) == len(allowed[p])
        return sub, allowed

    def evaluate(self, proposals: Sequence[Tuple[int, Tuple[int, ...]]]) -> List[Outcome]:
        """Each macro solved (cached: samplers often propose a macro again)."""
        out = []
        for key in proposals:
            found = self._cache.get(key)
            if found is None:
                found = self.solve(*key)
                self._cache[key] = found
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(key)
            out.append(found)
        return out

    def solve(self, depth: int, picks: Sequence[int]) -> Outcome:
        """The macro's best stack (exact), or its least-violating stack if none is feasible."""
        sub, allowed = self.subspace(depth, picks)
        multi = len(self.space.objective) > 1
        counted = sub.without_targets(*sub.uncountable_targets())
        solved: Optional[_Solved] = None
        if count(counted).feasible > 0:  # exact DP: skips the engine for hopeless macros
            solved = self._inner_solve(sub, allowed, multi)
        if solved is not None and solved.feasible > 0:
            choices, objective = solved.top[0]
            verdict = judge(self.space, self.space.stack(choices))
            assert verdict.feasible, (choices, verdict)
            return Outcome(choices, objective, verdict.violations, True, solved.top, solved.front, sub.total,
                           solved.feasible)  # fmt: skip
        choices = self._least_violating(allowed, depth, picks)
        verdict = judge(self.space, self.space.stack(choices))
        return Outcome(choices, verdict.objective, verdict.violations, False, (), (), sub.total, 0)

    def _inner_solve(self, sub: SearchSpace, allowed: List[np.ndarray], multi: bool) -> _Solved:
        def original(choices: Sequence[int]) -> Choice:
            return tuple(int(allowed[p][c]) for p, c in enumerate(choices))

        if self.inner == "sweep":
            from . import sweep

            r = sweep(sub, top=self.top)
            assert r.feasible is not None  # counts=True (the default) counts them
            top = tuple((original(e.choices), e.objective) for e in r.top)
            front = tuple((original(e.choices), e.objective) for e in (r.pareto or ())) if multi else ()
            return _Solved(r.total, r.feasible, top, front)
        choices, ids = self.encoder.product(allowed)
        depth = np.full(len(ids), len(allowed), dtype=np.int64)
        scores = score_ids(self.space, self.encoder.table, ids, depth, threads=1)
        top, front = _candidates_from(scores, choices, self.top, multi)
        return _Solved(len(ids), int(scores.feasible.sum()), top, front)

    def _least_violating(self, allowed: List[np.ndarray], depth: int, picks: Sequence[int]) -> Choice:
        """The candidate of the macro with the smallest sum of violations (the first in choice
        order on ties), among a uniform sample of REPRESENTATIVE_LIMIT if the macro is larger."""
        size = math.prod(len(a) for a in allowed)
        if size <= REPRESENTATIVE_LIMIT:
            choices, ids = self.encoder.product(allowed)
        else:
            rng = np.random.default_rng(abs(hash((depth, tuple(picks)))) % 2**32)
            choices = np.stack([np.asarray(a)[rng.integers(0, len(a), REPRESENTATIVE_LIMIT)] for a in allowed], axis=1)
            order = np.lexsort(choices.T[::-1])
            choices = choices[order]
            ids = np.stack([self.encoder.rows(p)[choices[:, p]] for p in range(depth)], axis=1).astype(np.int32)
        scores = score_ids(self.space, self.encoder.table, ids, np.full(len(ids), depth), threads=1)
        best = int(np.argmin(scores.total_violation))
        return tuple(int(c) for c in choices[best])


Plan = Union[FlatPlan, HierarchicalPlan]


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class SearchResult:
    """What a search found in its study: `best` (the `top` best feasible stacks, best first, as
    the sweep lists them), `pareto` (several objectives: one entry per non-dominated objective
    vector), `trials` (COMPLETE trials in the study), `feasible_trials`, and where they came from
    (`found_by`: the trial number of each best / Pareto entry)."""

    study_name: str
    storage: str
    mode: str
    sampler: str
    objective: Tuple[str, ...]
    trials: int
    feasible_trials: int
    best: Tuple[Entry, ...]
    pareto: Optional[Tuple[Entry, ...]]
    found_by: Dict[Choice, int]
    new_trials: int = 0
    seconds: float = 0.0
    interrupted: bool = False

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready: study_name, storage, mode, sampler, objective, trials, feasible_trials,
        new_trials, seconds, best (entries as in the sweep's `top`, plus the `trial` that found
        them) and, with several objectives, pareto."""
        multi = len(self.objective) > 1

        def entry(e: Entry) -> Dict[str, Any]:
            return {**e.to_dict(multi), "trial": self.found_by.get(e.choices)}

        out: Dict[str, Any] = {
            "study_name": self.study_name,
            "storage": self.storage,
            "mode": self.mode,
            "sampler": self.sampler,
            "objective": list(self.objective) if multi else self.objective[0],
            "trials": self.trials,
            "feasible_trials": self.feasible_trials,
            "new_trials": self.new_trials,
            "seconds": round(self.seconds, 3),
            "best": [entry(e) for e in self.best],
        }
        if self.pareto is not None:
            out["pareto"] = [entry(e) for e in self.pareto]
        return out


@dataclass
class WorkerStats:
    """One worker's run: trials it completed, and where its time went (seconds)."""

    trials: int = 0
    optuna_seconds: float = 0.0
    engine_seconds: float = 0.0
    wall_seconds: float = 0.0
    interrupted: bool = False

    @property
    def optuna_share(self) -> float:
        """Share of the wall time spent inside Optuna (ask, suggest, tell, attrs, storage)."""
        return self.optuna_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


# ---------------------------------------------------------------------------------------------
# The search: study, workers, results


class _Heartbeat:
    """Records the heartbeat of the trials a worker holds, every `interval` seconds, in a thread
    (RDB storages; Optuna's own heartbeat thread only runs inside study.optimize)."""

    def __init__(self, storage: Any, interval: int) -> None:
        self._storage = storage
        self._interval = interval
        self._ids: List[int] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rfsearch-heartbeat", daemon=True)
        self._thread.start()

    def hold(self, trial_ids: Sequence[int]) -> None:
        """The trials held from now on (their heartbeat is recorded at once)."""
        with self._lock:
            self._ids = list(trial_ids)
        for tid in trial_ids:
            self._storage.record_heartbeat(tid)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                ids = list(self._ids)
            for tid in ids:
                self._storage.record_heartbeat(tid)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class Search:
    """A search of one space with fixed options: its plan, study name and storage. Open the
    study (`open`), run workers on it (`run_worker`), read the results (`result`)."""

    def __init__(self, space: SpaceLike, options: Optional[SearchOptions] = None) -> None:
        self.space = as_space(space)
        self.options = options = options or SearchOptions()
        self.plan: Plan = (HierarchicalPlan(self.space, options.inner_size, options.top, options.inner)
                           if options.mode == "hierarchical" else FlatPlan(self.space, options.top))  # fmt: skip
        self.keys = constraint_keys(self.space)
        self.sampler_name = options.sampler_name(len(self.space.objective))
        if self.sampler_name == "qmc" and importlib.util.find_spec("scipy") is None:
            raise ValueError("sampler qmc needs scipy (Optuna's QMCSampler): pip install 'rfsearch[qmc]'")
        self.signature = self._signature()
        self.study_name = options.study_name or f"rfsearch-{options.mode}-{self.signature[:12]}"
        url = options.storage
        self.rdb = url is not None and "://" in url
        if url is None:
            self.journal: Optional[Path] = default_study_dir() / f"{self.study_name}.journal"
        else:
            self.journal = None if self.rdb else Path(url)
        self.storage_label = str(self.journal) if self.journal is not None else _hide_password(url or "")
        self.worker = f"{socket.gethostname()}:{os.getpid()}"  # in each trial's attrs: who ran it
        self._storage_obj: Any = None

    def __enter__(self) -> Search:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the database connections of an RDB storage (a journal file needs nothing)."""
        if self._storage_obj is not None and hasattr(self._storage_obj, "engine"):
            self._storage_obj.engine.dispose()
        self._storage_obj = None

    def _signature(self) -> str:
        described = {"space": self.space.to_dict(), "mode": self.plan.mode, "params": self.plan.distributions()}
        text = json.dumps(described, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    # -- study ------------------------------------------------------------------------------

    def _storage(self) -> Any:
        if self._storage_obj is None:
            self._storage_obj = self._new_storage()
        return self._storage_obj

    def _new_storage(self) -> Any:
        import optuna
        from optuna.exceptions import ExperimentalWarning

        if self.journal is not None:
            from optuna.storages.journal import JournalFileBackend

            if self.journal.is_dir():
                raise ValueError(f"storage: {self.journal} is a directory; give a journal file path or a URL")
            self.journal.parent.mkdir(parents=True, exist_ok=True)
            return optuna.storages.JournalStorage(JournalFileBackend(str(self.journal)))
        import sqlalchemy.exc

        url = self.options.storage
        assert url is not None
        with warnings.catch_warnings():
            # Heartbeats and the retry callback are experimental in Optuna 5; they are what makes
            # a killed worker's trial come back, so they are used on purpose.
            warnings.filterwarnings("ignore", category=ExperimentalWarning)
            retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3)
            last: Optional[Exception] = None
            for attempt in range(3):  # workers starting together may race to create the schema
                try:
                    return optuna.storages.RDBStorage(
                        url, heartbeat_interval=self.options.heartbeat, grace_period=self.options.grace,
                        heartbeat_stale_trial_callback=retry)  # fmt: skip
                except ModuleNotFoundError as e:
                    raise ValueError(f"storage {self.storage_label}: the database driver is missing ({e.name}); "
                                     "pip install 'rfsearch[postgres]'") from None  # fmt: skip
                except sqlalchemy.exc.ArgumentError as e:
                    raise ValueError(f"storage: not a database URL: {self.storage_label} ({_first_line(e)})") from None
                except sqlalchemy.exc.SQLAlchemyError as e:
                    last = e
                    time.sleep(0.2 * (attempt + 1))
            raise ValueError(f"storage {self.storage_label}: cannot open it: {_first_line(last)}")

    def _sampler(self, worker: int) -> Any:
        import optuna
        from optuna.exceptions import ExperimentalWarning

        seed = self.options.seed
        name = self.sampler_name
        if name == "qmc":  # every worker must draw from the same sequence
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=ExperimentalWarning)  # QMCSampler is experimental
                return optuna.samplers.QMCSampler(seed=0 if seed is None else seed, warn_independent_sampling=False)
        seed = None if seed is None else seed + worker
        if name == "tpe":
            return optuna.samplers.TPESampler(seed=seed)
        if name == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed)
        return optuna.samplers.RandomSampler(seed=seed)

    def open(self, worker: int = 0) -> optuna.Study:
        """Creates the study, or loads it (a rerun resumes). ValueError if a study of that name
        was made for another space, mode or plan."""
        import optuna

        storage = self._storage()
        from optuna.study import StudyDirection

        directions = [StudyDirection.MINIMIZE] * len(self.space.objective)
        study = optuna.create_study(study_name=self.study_name, storage=storage, sampler=self._sampler(worker),
                                    directions=directions, load_if_exists=True)  # fmt: skip
        mine = {"signature": self.signature, "mode": self.plan.mode, "objective": list(self.space.objective)}
        theirs = study.user_attrs.get("rfsearch")
        if theirs is None:
            if study.get_trials(deepcopy=False):
                raise ValueError(f"study {self.study_name!r} in {self.storage_label} was not made by rfsearch search; "
                                 "use another --study-name")  # fmt: skip
            study.set_user_attr("rfsearch", mine)
        elif theirs.get("signature") != self.signature:
            raise ValueError(f"study {self.study_name!r} in {self.storage_label} was made for another space, mode or "
                             f"inner size ({theirs.get('mode')}); use another --study-name, or the default name")  # fmt: skip
        return study

    # -- one worker --------------------------------------------------------------------------

    def run_worker(
        self,
        study: optuna.Study,
        *,
        stop: Optional[threading.Event] = None,
        on_trial: Optional[Callable[[optuna.Trial], None]] = None,
        on_progress: Optional[Callable[[int, int], None]] = None,
    ) -> WorkerStats:
        """Runs trials until the study has `trials` COMPLETE ones (counted over every worker), the
        timeout passes or `stop` is set (checked between trials: a trial is never cut in the
        middle of a storage write). A retried (WAITING) trial is always run.

        Trials running in other workers count towards the target. With an RDB storage
        (heartbeats) the worker waits for them before it stops: they complete, or their worker
        died and they go stale, are failed and retried (and run here). With a journal file there
        are no heartbeats: a RUNNING trial started more than `grace` seconds ago is taken for the
        trial of a dead worker and ignored. `on_trial(trial)` runs before each trial is told (its
        attrs and constraints are set); `on_progress(complete, target)` before each step.
        KeyboardInterrupt: the trials asked are told FAIL (user attr ``interrupted``), then it
        propagates."""
        from optuna.trial import TrialState

        options = self.options
        stats = WorkerStats()
        start = time.perf_counter()
        deadline = None if options.timeout is None else start + options.timeout
        storage, study_id = study._storage, study._study_id  # counts by one query, not a trial list
        beat = _Heartbeat(storage, options.heartbeat) if self.rdb else None
        poll = min(1.0, options.heartbeat / 2) if self.rdb else 0.25
        pending: List[optuna.Trial] = []
        try:
            while True:
                if stop is not None and stop.is_set():
                    stats.interrupted = True
                    break
                t0 = time.perf_counter()
                if beat is not None:
                    self._fail_stale(study)
                complete = storage.get_n_trials(study_id, TrialState.COMPLETE)
                waiting = storage.get_n_trials(study_id, TrialState.WAITING)
                running = storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,))
                if beat is None:
                    now = time.time()
                    running = [t for t in running if t.datetime_start is not None
                               and now - t.datetime_start.timestamp() < options.grace]  # fmt: skip
                busy = len(running)
                stats.optuna_seconds += time.perf_counter() - t0
                if on_progress is not None:
                    on_progress(complete, options.trials)
                if deadline is not None and time.perf_counter() >= deadline:
                    break
                if waiting > 0:
                    n = 1
                elif complete >= options.trials and busy == 0:
                    break
                elif complete + busy >= options.trials:
                    if beat is None:
                        break  # the others finish the rest
                    if stop is not None:
                        stop.wait(poll)
                    else:
                        time.sleep(poll)
                    continue
                else:
                    n = min(options.batch if self.plan.mode == "flat" else 1, options.trials - complete - busy)
                self._run_batch(study, n, stats, beat, on_trial, pending)
        except KeyboardInterrupt:
            stats.interrupted = True
            for trial in pending:  # told, so that no trial stays RUNNING; a rerun resumes the count
                trial.set_user_attr("interrupted", True)
                study.tell(trial, state=TrialState.FAIL)
            raise
        finally:
            if beat is not None:
                beat.stop()
            stats.wall_seconds = time.perf_counter() - start
        return stats

    def _fail_stale(self, study: optuna.Study) -> None:
        import optuna
        from optuna.exceptions import ExperimentalWarning

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=ExperimentalWarning)  # fail_stale_trials is experimental
            optuna.storages.fail_stale_trials(study)

    def _run_batch(self, study: optuna.Study, n: int, stats: WorkerStats, beat: Optional[_Heartbeat],
                   on_trial: Optional[Callable[[optuna.Trial], None]], pending: List[optuna.Trial]) -> None:  # fmt: skip
        t0 = time.perf_counter()
        proposals: List[Any] = []
        for _ in range(n):
            with warnings.catch_warnings():
                # Optuna warns that heartbeats are meant for study.optimize; this loop records
                # them itself (_Heartbeat), for batches of asked trials.
                warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with "
                                        "Study.optimize", category=UserWarning)  # fmt: skip
                trial = study.ask()
            pending.append(trial)
            proposals.append(self.plan.suggest(trial))
        if beat is not None:
            beat.hold([t._trial_id for t in pending])
        t1 = time.perf_counter()
        outcomes = self.plan.evaluate(proposals)
        t2 = time.perf_counter()
        for trial, outcome in zip(list(pending), outcomes):
            attrs = {**outcome.attrs(self.space), "worker": self.worker}
            trial.set_user_attr("rfsearch", attrs)  # one write: storages sync each
            set_constraints(trial, outcome.violations)
            if on_trial is not None:
                on_trial(trial)
            study.tell(trial, _floats(outcome.objective))
            pending.remove(trial)
            stats.trials += 1
        if beat is not None:
            beat.hold([])
        t3 = time.perf_counter()
        stats.optuna_seconds += (t1 - t0) + (t3 - t2)
        stats.engine_seconds += t2 - t1

    # -- results -----------------------------------------------------------------------------

    def result(self, study: optuna.Study, *, new_trials: int = 0, seconds: float = 0.0,
               interrupted: bool = False) -> SearchResult:  # fmt: skip
        """The study's best stacks and Pareto front, merged over every COMPLETE trial."""
        from optuna.trial import TrialState

        trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        kept: Dict[Choice, Tuple[Tuple[Number, ...], int]] = {}
        vectors: Dict[Tuple[Number, ...], Choice] = {}
        feasible_trials = 0
        multi = len(self.space.objective) > 1
        for t in trials:
            attrs = t.user_attrs.get("rfsearch")
            if not isinstance(attrs, dict) or not attrs.get("feasible"):
                continue
            if any(v > 0 for v in t.constraints.values()):
                continue
            feasible_trials += 1
            for choices_list, encoded in attrs.get("top", []):
                choices, objective = tuple(choices_list), _decode(encoded)
                if choices not in kept or t.number < kept[choices][1]:
                    kept[choices] = (objective, t.number)
            for choices_list, encoded in attrs.get("front", []) if multi else []:
                choices, objective = tuple(choices_list), _decode(encoded)
                kept.setdefault(choices, (objective, t.number))
                if objective not in vectors or choices < vectors[objective]:
                    vectors[objective] = choices
        ranked = sorted(kept.items(), key=lambda item: (item[1][0], item[0]))[: self.options.top]
        best = tuple(make_entry(self.space, choices) for choices, _ in ranked)
        pareto = None
        if multi:
            for choices, (objective, _) in kept.items():
                if objective not in vectors or choices < vectors[objective]:
                    vectors[objective] = choices
            pareto = tuple(make_entry(self.space, c) for _, c in pareto_front(vectors))
        found_by = {choices: number for choices, (_, number) in kept.items()}
        return SearchResult(self.study_name, self.storage_label, self.plan.mode, self.sampler_name, self.space.objective,
                            len(trials), feasible_trials, best, pareto, found_by, new_trials, seconds,
                            interrupted)  # fmt: skip


def _hide_password(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not parseable: shown as given, minus anything between ':' and '@'
        head, at, tail = url.rpartition("@")
        if not at:
            return url
        scheme, sep, rest = head.partition("://")
        user = rest.split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{tail}"


def _first_line(error: Optional[BaseException]) -> str:
    text = str(error) if error is not None else "unknown error"
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


# ---------------------------------------------------------------------------------------------
# Many processes


class WorkerError(RuntimeError):
    """A worker process failed (its own error went to its stderr)."""


def _worker_main(space_data: Dict[str, Any], source: Optional[str], options: SearchOptions, worker: int,
                 ready: Any, go: Any) -> None:  # fmt: skip
    """A worker process: opens the study, says so (`ready`, a Semaphore), waits for every worker
    (`go`, an Event), runs trials. SIGINT (Ctrl-C in the terminal, or forwarded by the parent)
    stops it after its current trial."""
    import signal

    import optuna

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with Search(SearchSpace.from_dict(space_data, source=source), options) as search_:
        study = search_.open(worker)
        ready.release()
        parent = os.getppid()
        while not go.wait(1.0):
            if stop.is_set() or os.getppid() != parent:  # interrupted, or the parent is gone
                return
        search_.run_worker(study, stop=stop)


def search(
    space: SpaceLike,
    options: Optional[SearchOptions] = None,
    *,
    stop: Optional[threading.Event] = None,
    on_progress: Optional[Callable[[int, int], None]] = None,
    on_trial: Optional[Callable[[optuna.Trial], None]] = None,
    **kwargs: Any,
) -> SearchResult:
    """Searches `space` with Optuna until its study has `trials` COMPLETE trials, and returns the
    best stacks found (the study's, resumed runs included).

    Options (`SearchOptions`, or as keywords): trials (default 100), timeout (seconds), mode
    (hierarchical | flat), sampler (tpe | nsga2 | random | qmc; default tpe, nsga2 for several
    objectives), seed, storage (URL or journal path; default a journal file in
    `default_study_dir()`), study_name (default rfsearch-<mode>-<hash>), workers (processes on
    this machine, this one included; they start trials together), top, inner_size, inner (sweep |
    batch), batch (flat mode), heartbeat and grace (seconds; RDB storages).

    `stop` (an Event; the CLI sets it on Ctrl-C) ends the run after the current trials, in every
    worker: the result then says `interrupted`, and a rerun resumes. A KeyboardInterrupt instead
    tells the running trials FAIL and propagates. WorkerError if a worker process failed."""
    if options is None:
        options = SearchOptions(**kwargs)
    elif kwargs:
        options = replace(options, **kwargs)
    with Search(space, options) as s:
        return _search(s, options, stop, on_progress, on_trial)


def _search(s: Search, options: SearchOptions, stop: Optional[threading.Event],
            on_progress: Optional[Callable[[int, int], None]],
            on_trial: Optional[Callable[[optuna.Trial], None]]) -> SearchResult:  # fmt: skip
    study = s.open(0)  # created here first, so that workers only load it
    before = study._storage.get_n_trials(study._study_id, _complete())
    start = time.perf_counter()
    children = []
    ctx = multiprocessing.get_context("spawn")
    ready, go = ctx.Semaphore(0), ctx.Event()
    for worker in range(1, options.workers):
        proc = ctx.Process(target=_worker_main, args=(s.space.to_dict(), s.space.source, options, worker, ready, go),
                           name=f"rfsearch-worker-{worker}")  # fmt: skip
        proc.start()
        children.append(proc)
    stats = WorkerStats()
    try:
        _wait_ready(ready, children, stop)
        go.set()  # every worker has opened the study: they start together
        if not (stop is not None and stop.is_set()):
            stats = s.run_worker(study, stop=stop, on_trial=on_trial, on_progress=on_progress)
        if stop is not None and stop.is_set():
            _interrupt(children)
        for proc in children:
            proc.join()
    except KeyboardInterrupt:
        _interrupt(children)
        for proc in children:
            proc.join(timeout=30)
        raise
    finally:
        for proc in children:
            if proc.is_alive():
                proc.kill()
                proc.join()
    interrupted = stats.interrupted or (stop is not None and stop.is_set())
    failed = [p for p in children if p.exitcode != 0]
    if failed and not interrupted:
        raise WorkerError(f"{len(failed)} worker process(es) failed (exit codes "
                          f"{', '.join(str(p.exitcode) for p in failed)})")  # fmt: skip
    seconds = time.perf_counter() - start
    after = s.result(study, seconds=seconds, interrupted=interrupted)
    return replace(after, new_trials=after.trials - before)


def _wait_ready(ready: Any, children: Sequence[Any], stop: Optional[threading.Event]) -> None:
    """Waits until every worker process has opened the study. WorkerError if one died first."""
    for _ in children:
        while not ready.acquire(timeout=0.25):
            if any(p.exitcode not in (None, 0) for p in children):
                raise WorkerError("a worker process failed before it started trials (see its error above)")
            if stop is not None and stop.is_set():
                return


def _interrupt(children: Sequence[Any]) -> None:
    import signal

    for proc in children:
        if proc.is_alive() and proc.pid is not None:
            os.kill(proc.pid, signal.SIGINT)  # the worker finishes its current trial and stops


def _complete() -> Any:
    from optuna.trial import TrialState

    return TrialState.COMPLETE

