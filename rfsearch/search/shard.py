"""Sharded sweeps: shard i of n covers a deterministic part of the sweep's tasks, and merging the
documents of all n shards gives exactly the single-process result (counts, histogram, top-K,
Pareto front).

The split: the task list is a function of the space and the options (sweep.py); each task gets
a weight (1 + its live nodes two levels down, computed by the engine), and shard i takes the
contiguous tasks whose weight midpoints fall in the i-th n-th of the total weight
(`sweep.shard_span`). Every machine computes the same split from the same space file.

A shard document is the shard's SweepResult JSON plus a "shard" mapping: index, count, the
sweep's fingerprint (shared by all its shards: space, restriction, options, task list, engine
version) and the shard's exact partial results. `merge_shards` checks that the documents are the
n different shards of one sweep of the given space before merging them.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Sequence

from ..errors import SpecError
from .results import SweepResult
from .space import SpaceLike
from .sweep import Partial, SweepRun, Sweeper, check_partial

__all__ = ["SHARD_FORMAT", "merge_shards", "shard_document"]

SHARD_FORMAT = "rfsearch-sweep-shard"


def shard_document(run: SweepRun, result: SweepResult) -> Dict[str, Any]:
    """The JSON document of a shard's run (its result, plus what merging needs)."""
    if run.shard is None:
        raise ValueError("not a shard run (give shard=(i, n))")
    out = result.to_dict()
    out["shard"] = {
        "format": SHARD_FORMAT,
        "index": run.shard[0],
        "count": run.shard[1],
        "sweep": run.sweep_id,
        "restriction": run.restriction.key(),
        "top": run.top,
        "counts": run.counts,
        "prune": run.prune,
        "tasks": run.state.n_tasks,
        "split": run.stats["split"],
        "partial": run.state.partial.to_json(),
    }
    return out


def _field(doc: Mapping[str, Any], name: str, kind: type, where: str) -> Any:
    value = doc.get(name)
    if kind is int and type(value) is not int or kind is not int and not isinstance(value, kind):
        raise SpecError(f"{where}: shard.{name} is missing or malformed")
    return value


def merge_shards(space: SpaceLike, documents: Sequence[Mapping[str, Any]], names: Sequence[str] = ()) -> SweepResult:
    """The result of a sweep from the documents of all its shards (any order). SpecError if they
    are not exactly shards 1..n of one sweep of `space` (names: how to call each document in
    errors, e.g. file names)."""
    if not documents:
        raise ValueError("no shard documents to merge")
    sweeper = Sweeper(space)
    shards: Dict[int, Mapping[str, Any]] = {}
    first: Mapping[str, Any] = {}
    for i, doc in enumerate(documents):
        where = names[i] if i < len(names) else f"shard document {i + 1}"
        info = doc.get("shard") if isinstance(doc, Mapping) else None
        if not isinstance(info, Mapping) or info.get("format") != SHARD_FORMAT:
            raise SpecError(f"{where}: not a shard document (write it with rfsearch sweep --shard i/n -f json)")
        index, count = _field(info, "index", int, where), _field(info, "count", int, where)
        if not first:
            first = info
        for name in ("sweep", "count"):
            if info.get(name) != first.get(name):
                raise SpecError(f"{where}: shard of another sweep ({name} differs from the first document's)")
        if not 1 <= index <= count:
            raise SpecError(f"{where}: shard index {index} is not within 1..{count}")
        if index in shards:
            raise SpecError(f"{where}: shard {index}/{count} is given twice")
        shards[index] = info
    count = int(first["count"])
    missing = sorted(set(range(1, count + 1)) - set(shards))
    if missing:
        raise SpecError(f"shards missing: {', '.join(f'{i}/{count}' for i in missing)}")
    where = names[0] if names else "shard document 1"
    restriction_key = _field(first, "restriction", Mapping, where)
    depth, allowed = restriction_key.get("depth"), restriction_key.get("allowed")
    if not isinstance(depth, list) or not isinstance(allowed, list):
        raise SpecError(f"{where}: shard.restriction is malformed")
    restriction = sweeper.restriction(depth, allowed)
    top = _field(first, "top", int, where)
    counts, prune = _field(first, "counts", bool, where), _field(first, "prune", bool, where)
    expected = sweeper.fingerprint(restriction, top=top, counts=counts, prune=prune,
                                   n_tasks=_field(first, "tasks", int, where),
                                   split=_field(first, "split", int, where))  # fmt: skip
    if expected != first["sweep"]:
        raise SpecError(f"{where}: the shards are of another space or options than the one given")
    partial = Partial()
    for index in sorted(shards):
        one = Partial.from_json(shards[index].get("partial"), f"shard {index}/{count}")
        check_partial(sweeper.space, restriction, one, counts, f"shard {index}/{count}")  # before top-K cuts it
        partial = partial.merged(one, top)
    stats = {"visited": partial.visited, "shards": count, "counts": counts, "prune": prune,
             "candidates": restriction.total}  # fmt: skip
    return sweeper.result(restriction, partial, top=top, counts=counts, stats=stats)
