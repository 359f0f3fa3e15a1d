"""The C++ sweep engine against the brute-force oracle (search/reference.py), on random small
spaces: counts, feasible sets, top-K, Pareto fronts and histograms are equal with and without
pruning, with branch-and-bound, any split into tasks, any thread count, in batches, restricted,
sharded and resumed."""

from __future__ import annotations

import heapq
import itertools
import json
from collections import Counter

import numpy as np
import pytest
from budgets import budget
from hypothesis import given, settings
from hypothesis import strategies as st
from search_strategies import BUDGET, small_spaces

from rfsearch.search import SearchSpace, SweepState, SweepTooLargeError, Sweeper, sweep
from rfsearch.search.evaluate import evaluate, is_feasible, make_entry, objective_values
from rfsearch.search.reference import brute_force, candidates, feasible_choices
from rfsearch.search.results import SweepResult, histogram_items, pareto_front
from rfsearch.search.shard import merge_shards, shard_document
from rfsearch.search.space import as_space
from rfsearch.search.sweep import Partial, shard_span

SMALL = {"depth": [1, 3], "layers": {"kernel": [2, 3, 5], "dilation": [1, 2, 4]},
         "channels": {"input": 1, "widths": [8]}, "targets": {"rf": [9, 13], "coverage": "full"},
         "objective": ["params", "rf_error"]}  # fmt: skip


def nodes(space: SearchSpace) -> int:
    """Prefixes of every length 1..max depth (what an unpruned walk visits)."""
    return sum(int(np.prod(space.choice_counts[:n], dtype=object)) for n in range(1, space.depth[1] + 1))


@pytest.mark.slow  # brute force
@settings(max_examples=BUDGET)
@given(small_spaces(countable=False), st.integers(0, 6))
def test_engine_equals_oracle_pruned_unpruned_split_threads(space, top):
    oracle = brute_force(space, top)
    engine = sweep(space, top)  # countable spaces: the DP counter plus branch-and-bound
    assert engine == oracle
    assert json.loads(json.dumps(engine.to_dict())) == {**oracle.to_dict(), "stats": engine.to_dict()["stats"]}
    assert (engine.stats["method"] == "count+bound") == (not as_space(space).uncountable_targets())
    enumerated = sweep(space, top, method="enumerate")
    assert enumerated == oracle and enumerated.stats["method"] == "enumerate"
    unpruned = sweep(space, top, prune=False, threads=1)
    assert unpruned == oracle
    assert unpruned.stats["visited"] == nodes(space)  # every node, once
    assert engine.stats["visited"] <= unpruned.stats["visited"]
    split = sweep(space, top, threads=2, min_tasks=7, on_progress=lambda done, total: None, batch_seconds=1e-6)
    assert split == oracle


@pytest.mark.slow  # brute force
@settings(max_examples=BUDGET)
@given(small_spaces(countable=False), st.integers(0, 6))
def test_branch_and_bound_finds_the_same_best_stacks(space, top):
    oracle = brute_force(space, top)
    for kwargs in ({}, {"threads": 2, "min_tasks": 5}, {"min_tasks": 3, "on_progress": lambda d, t: None,
                                                        "batch_seconds": 1e-6}):  # fmt: skip
        bounded = sweep(space, top, counts=False, **kwargs)
        assert bounded.feasible is None and bounded.rf_histogram is None
        assert bounded.top == oracle.top
        assert bounded.pareto == oracle.pareto


@pytest.mark.slow  # brute force
@settings(max_examples=BUDGET)
@given(small_spaces(countable=False), st.booleans())
def test_streamed_rows_are_exactly_the_feasible_stacks(space, prune):
    # Pruning never drops a feasible stack: the streamed set is the oracle's with and without it.
    rows = []
    result = sweep(space, 0, on_feasible=rows.append, chunk_rows=7, threads=2, min_tasks=4, prune=prune)
    expected = feasible_choices(space)
    got = []
    for chunk in rows:
        assert len(chunk) <= 7
        specs = chunk.specs()
        for i in range(len(chunk)):
            depth = int(chunk.depth[i])
            choices = tuple(int(c) for c in chunk.choices[i, :depth])
            assert (chunk.choices[i, depth:] == -1).all()
            e = make_entry(space, choices)
            assert specs[i] == e.spec
            assert tuple(chunk.rf[i]) == e.rf and tuple(chunk.jump[i]) == e.jump
            assert (None if chunk.output_size is None else tuple(chunk.output_size[i])) == e.output_size
            assert (None if chunk.params is None else int(chunk.params[i])) == e.params
            assert (None if chunk.macs is None else int(chunk.macs[i])) == e.macs
            assert tuple(chunk.objective[name][i] for name in space.objective) == e.objective
            got.append(choices)
    assert sorted(got) == expected
    assert result.feasible == len(expected)


def restricted_oracle(space: SearchSpace, top: int, depth, allowed) -> SweepResult:
    """brute_force over the candidates of a restriction only."""
    lo, hi = depth
    feasible, best, vectors, histogram, total = 0, [], {}, Counter(), 0
    for choices in candidates(space):
        if not lo <= len(choices) <= hi:
            continue
        if any(i < len(allowed) and allowed[i] is not None and c not in allowed[i] for i, c in enumerate(choices)):
            continue
        total += 1
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
    pareto = None
    if len(space.objective) > 1:
        pareto = tuple(make_entry(space, c) for _, c in pareto_front(vectors))
    return SweepResult(total, feasible, tuple(make_entry(space, c) for _, c in heapq.nsmallest(top, best)), pareto,
                       histogram_items(histogram), space.objective)  # fmt: skip


@pytest.mark.slow  # brute force
@settings(max_examples=BUDGET)
@given(small_spaces(countable=False), st.data())
def test_restrictions_equal_the_filtered_oracle(space, data):
    lo = data.draw(st.integers(*space.depth))
    hi = data.draw(st.integers(lo, space.depth[1]))
    allowed = []
    for i in range(data.draw(st.integers(0, space.depth[1]))):
        n = space.choice_counts[i]
        allowed.append(data.draw(st.none() | st.lists(st.integers(0, n - 1), max_size=n, unique=True)))
    sweeper = Sweeper(space)
    expected = restricted_oracle(space, 4, (lo, hi), allowed)
    got = sweeper.sweep(4, depth=(lo, hi), allowed=allowed, threads=1)
    assert got == expected
    assert got.stats is None or got.total == expected.total
    assert sweeper.sweep(4, depth=(lo, hi), allowed=allowed, counts=False).top == expected.top
    as_mapping = {i: a for i, a in enumerate(allowed) if a is not None}
    assert sweeper.sweep(4, depth=(lo, hi), allowed=as_mapping, threads=2, min_tasks=3) == expected


@settings(max_examples=budget(ci=300, dev=60))
@given(small_spaces(countable=False), st.integers(1, 5), st.booleans())
def test_shards_merge_to_the_single_process_result(space, n, counts):
    whole = sweep(space, 3, counts=counts, min_tasks=6)
    sweeper = Sweeper(space)
    docs = []
    covered = []
    for i in range(1, n + 1):
        run = sweeper.execute(3, counts=counts, min_tasks=6, shard=(i, n), threads=1)
        covered.append(tuple(run.stats["shard_tasks"]))
        result = sweeper.result(run.restriction, run.state.partial, top=3, counts=counts, stats=run.stats)
        docs.append(json.loads(json.dumps(shard_document(run, result))))
    # Contiguous, in order, covering every task once.
    assert covered[0][0] == 0 and covered[-1][1] == whole.stats["tasks"]
    assert all(a[1] == b[0] for a, b in zip(covered, covered[1:]))
    merged = merge_shards(space, list(reversed(docs)))
    assert merged == whole
    if counts:
        assert merged.feasible == whole.feasible


def test_shard_spans_are_balanced_and_deterministic():
    weights = np.array([5, 1, 1, 1, 1, 1, 10, 1, 1, 1, 1, 1], dtype=np.int64)
    spans = [shard_span(weights, i, 3) for i in range(1, 4)]
    assert spans == [shard_span(weights, i, 3) for i in range(1, 4)]
    assert spans[0][0] == 0 and spans[-1][1] == len(weights)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    loads = [int(weights[lo:hi].sum()) for lo, hi in spans]
    assert max(loads) <= 13 and sum(loads) == 25
    assert shard_span(np.zeros(0, dtype=np.int64), 1, 2) == (0, 0)
    with pytest.raises(ValueError, match="between 1 and 2"):
        shard_span(weights, 3, 2)
    with pytest.raises(ValueError):
        shard_span(weights, 0, 2)


def test_merge_refuses_incomplete_duplicate_or_foreign_shards():
    sweeper = Sweeper(SMALL)

    def doc(i, n, space=SMALL, top=3):
        sw = Sweeper(space)
        run = sw.execute(top, shard=(i, n), min_tasks=5)
        return shard_document(run, sw.result(run.restriction, run.state.partial, top=top, stats=run.stats))

    a, b = doc(1, 2), doc(2, 2)
    assert merge_shards(SMALL, [a, b]) == sweeper.sweep(3, min_tasks=5)
    with pytest.raises(ValueError, match="missing: 2/2"):
        merge_shards(SMALL, [a])
    with pytest.raises(ValueError, match="twice"):
        merge_shards(SMALL, [a, a, b])
    with pytest.raises(ValueError, match="another sweep"):
        merge_shards(SMALL, [a, doc(2, 2, top=4)])
    other = {**SMALL, "targets": {"rf": [9, 14]}}
    with pytest.raises(ValueError, match="another space"):
        merge_shards(other, [a, b])
    with pytest.raises(ValueError, match="not a shard document"):
        merge_shards(SMALL, [{"total": 1}])


@settings(max_examples=budget(ci=200, dev=40))
@given(small_spaces(countable=False), st.integers(0, 4), st.booleans(), st.data())
def test_resume_from_any_committed_state_gives_the_same_result(space, top, counts, data):
    states = []
    whole = sweep(space, top, counts=counts, min_tasks=9, on_commit=states.append, batch_seconds=1e-6, threads=1)
    assert states and states[-1].done_tasks == whole.stats["tasks"]
    state = data.draw(st.sampled_from(states))
    state = SweepState.from_json(json.loads(json.dumps(state.to_json())))
    resumed = sweep(space, top, counts=counts, min_tasks=9, resume=state)
    assert resumed == whole
    with pytest.raises(ValueError, match="another sweep"):
        sweep(space, top + 1, counts=counts, min_tasks=9, resume=state)

@pytest.mark.slow  # a larger space, many splits

def test_thread_counts_and_splits_agree_on_a_larger_space():
    space = {"depth": [3, 6], "input_size": 64,
             "layers": {"kind": ["conv", "maxpool"], "kernel": [2, 3], "stride": [1, 2], "dilation": [1, 2],
                        "padding": "half"},
             "channels": {"input": 3, "widths": [8, 16]},
             "targets": {"rf": [20, 40], "output_size": [4, 16]}, "objective": ["macs", "rf_error"]}  # fmt: skip
    base = sweep(space, 10, threads=1, min_tasks=1, method="enumerate")
    assert base.feasible > 1000 and base.stats["method"] == "enumerate"
    # The default counts with the DP counter and bounds the rest: the same results, fewer nodes.
    auto = sweep(space, 10)
    assert auto == base and auto.to_dict()["rf_histogram"] == base.to_dict()["rf_histogram"]
    assert auto.stats["method"] == "count+bound" and auto.stats["visited"] < base.stats["visited"]
    for threads, min_tasks in ((2, 64), (2, 4096), (1, 300)):
        assert sweep(space, 10, threads=threads, min_tasks=min_tasks, method="enumerate") == base
        bounded = sweep(space, 10, threads=threads, min_tasks=min_tasks, counts=False)
        assert (bounded.top, bounded.pareto) == (base.top, base.pareto)
        assert bounded.stats["visited"] < base.stats["visited"]  # branch-and-bound pruned something
    unpruned = sweep(space, 10, prune=False, threads=2)
    assert unpruned == base
    assert base.stats["visited"] < unpruned.stats["visited"]


def test_hand_counted_space_and_orders():
    s = {"depth": [1, 3], "layers": {"kernel": [1, 3]}, "targets": {"rf": 3}, "objective": "rf_error"}
    r = sweep(s, top=10)
    assert [e.choices for e in r.top] == [(0, 0, 1), (0, 1), (0, 1, 0), (1,), (1, 0), (1, 0, 0)]
    small = sweep(SMALL, top=3)
    assert (small.total, small.feasible) == (819, 170)
    assert [(e.spec, e.objective) for e in small.pareto] == [("conv5d2,conv2", (184, 1)), ("conv5d2,conv3", (248, 0))]


def test_many_small_sweeps_on_one_compiled_space():
    sweeper = Sweeper({"depth": [2, 6], "layers": {"kernel": [1, 3, 5], "dilation": [1, 2, 4, 8]},
                       "targets": {"rf": [20, 40]}, "objective": "rf_error"})  # fmt: skip
    counts = sweeper.space.choice_counts
    seen = 0
    for first, second in itertools.product(range(counts[0]), range(counts[1])):
        r = sweeper.sweep(1, allowed=[[first], [second]], counts=False, threads=1)
        assert r.total == sum(12 ** (d - 2) for d in range(2, 7))
        if r.top:
            assert r.top[0].choices[:2] == (first, second)
            seen += 1
    assert seen > 0
    best = sweeper.sweep(1, counts=False).top[0]
    fixed = sweeper.sweep(1, allowed=[[best.choices[0]], [best.choices[1]]], counts=False).top[0]
    assert fixed == best


def test_empty_and_out_of_range_restrictions():
    sweeper = Sweeper(SMALL)
    r = sweeper.sweep(3, allowed=[[0], []])  # no second layer: only depth-1 stacks
    assert r.total == 1
    assert sweeper.sweep(3, depth=2, allowed=[None, []]).total == 0
    with pytest.raises(ValueError, match="outside"):
        sweeper.sweep(3, allowed=[[9]])
    with pytest.raises(ValueError, match="depth must be >= 1"):
        sweeper.sweep(3, depth=(0, 2))
    with pytest.raises(ValueError, match="not within"):
        sweeper.sweep(3, depth=(2, 4))
    with pytest.raises(ValueError, match="positions"):
        sweeper.sweep(3, allowed=[None] * 4)
    with pytest.raises(ValueError, match="threads"):
        sweeper.sweep(3, threads=0)
    with pytest.raises(ValueError, match="between 1 and 2"):
        sweeper.sweep(3, shard=(3, 2))
    with pytest.raises(ValueError, match="top"):
        sweeper.sweep(-1)


def test_huge_spaces_are_refused_with_a_pointer_to_count_only():
    mstcn = {"depth": 40, "layers": {"kernel": 3, "dilation": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
                                     "padding": "half"}, "targets": {"rf": [6001, 12000]}}  # fmt: skip
    with pytest.raises(SweepTooLargeError, match="count-only"):
        sweep(mstcn)
    # A huge space whose pruned tree is small runs: every stack needs rf <= 3.
    tiny_tree = {"depth": [1, 40], "layers": {"kernel": [1, 2, 3]}, "targets": {"rf": [1, 3]}}
    r = sweep(tiny_tree, 2)
    # rf = 1 + sum(k - 1) <= 3: all k1, or one k2 or k3 among d layers, or two k2.
    assert r.total == sum(3**d for d in range(1, 41))
    assert r.feasible == sum(1 + 2 * d + d * (d - 1) // 2 for d in range(1, 41))
    assert r.stats["visited"] < 10**6


def test_coverage_above_the_reach_cap_is_an_error_as_in_the_oracle():
    s = SearchSpace.from_dict({"depth": 1, "layers": {"kernel": [5_000_000]}, "targets": {"coverage": "full"}})
    with pytest.raises(ValueError, match="coverage cannot be decided"):
        brute_force(s)
    with pytest.raises(ValueError, match="coverage cannot be decided"):
        sweep(s)


def test_partial_and_state_json_refuse_malformed_data():
    p = Partial(3, 2, {(5,): 2}, (((1,), (0,)),), ())
    assert Partial.from_json(json.loads(json.dumps(p.to_json()))) == p
    for bad in ({}, {"visited": -1, "feasible": 0, "histogram": [], "top": [], "front": []},
                {"visited": 1, "feasible": 0, "histogram": [[[1], "x"]], "top": [], "front": []},
                {"visited": 1, "feasible": 0, "histogram": [], "top": [[1, 2]], "front": []}):  # fmt: skip
        with pytest.raises(ValueError):
            Partial.from_json(bad)
    good = SweepState("abc", 4, ((0, 2),), p).to_json()
    assert SweepState.from_json(good).done_tasks == 2
    for bad in (None, {"format": "x"}, {**good, "version": 99}, {**good, "done": [[3, 9]]}, {**good, "tasks": "4"}):
        with pytest.raises(ValueError):
            SweepState.from_json(bad)


def test_backend_switch():
    assert sweep(SMALL, 3, backend="python") == sweep(SMALL, 3)
    with pytest.raises(ValueError, match="backend"):
        sweep(SMALL, 3, backend="rust")
    with pytest.raises(ValueError, match="only max_candidates"):
        sweep(SMALL, 3, backend="python", threads=2)


def test_hostile_values_through_the_api():
    sweeper = Sweeper(SMALL)
    for kwargs, message in (({"allowed": [[10**30]]}, "int64"), ({"threads": 10**30}, "int64"),
                            ({"depth": 10**9}, "not within"), ({"shard": (1, 10**30)}, "int64"),
                            ({"allowed": [["x"]]}, "integer"), ({"allowed": [[True]]}, "integer"),
                            ({"chunk_rows": 0}, "chunk_rows"), ({"min_tasks": 0}, "min_tasks"),
                            ({"shard": "1/2"}, "shard must be")):  # fmt: skip
        with pytest.raises((ValueError, TypeError), match=message):
            sweeper.sweep(3, **kwargs)
    with pytest.raises(ValueError, match="top"):
        sweeper.sweep(10**30)
    assert sweeper.sweep(2**62, threads=1).top == sweep(SMALL, 10**6).top  # K beyond the feasible count: all
