"""The Optuna search: the hierarchical decomposition is exact (the best over every macro is the
sweep's optimum, Pareto front included), searches reach known optima, every trial has every
constraint key and infeasible trials are COMPLETE with positive violations, studies resume from
their journal, and names, samplers and options behave."""

from __future__ import annotations

import itertools
import math
import warnings

import optuna
import pytest
from budgets import budget
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from search_strategies import small_spaces

from rfsearch.search import SearchSpace, sweep
from rfsearch.search.nas import constraint_keys, judge
from rfsearch.search.optuna_search import (
    FlatPlan,
    HierarchicalPlan,
    Search,
    SearchOptions,
    choice_keys,
    max_workers,
    search,
)
from rfsearch.search.reference import candidates
from rfsearch.search.results import pareto_front

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(autouse=True)
def fresh_studies(study_dir):  # every test starts with no study (tests/conftest_postgres.py)
    return study_dir


def _all_macros(plan: HierarchicalPlan):
    lo, hi = plan.space.depth
    for depth in range(lo, hi + 1):
        for picks in itertools.product(*(range(len(m.values)) for m in plan.params)):
            yield depth, picks


@pytest.mark.slow  # brute force over every macro of random spaces
@settings(max_examples=budget(ci=300, dev=40), deadline=None, suppress_health_check=list(HealthCheck))
@given(small_spaces(countable=False, max_total=400), st.integers(1, 60))
def test_every_macro_together_is_the_whole_space(space, inner_size):
    """The macros cover every candidate (each sub-space's choices are original choices, mapped
    back exactly), and the best over all macros is the sweep's optimum and Pareto front."""
    plan = HierarchicalPlan(space, inner_size, top=3, inner="sweep")
    for p in range(space.depth[1]):
        assert len(choice_keys(space.position_choices(p))) == len(space.choices(p))
    covered = set()
    best = []
    vectors = {}
    for depth, picks in _all_macros(plan):
        sub, allowed = plan.subspace(depth, picks)
        assert sub.total <= max(inner_size, plan.largest_inner([[m.key for m in plan.params if m.position == p]
                                                                for p in range(space.depth[1])]))  # fmt: skip
        for p in range(depth):
            for i, layer in enumerate(sub.choices(p)):
                assert layer == space.choices(p)[allowed[p][i]]
        covered.update(tuple(int(allowed[p][c]) for p, c in enumerate(choice)) for choice in candidates(sub))
        outcome = plan.solve(depth, picks)
        assert set(outcome.violations) == set(constraint_keys(space))
        assert outcome.feasible == all(v <= 0 for v in outcome.violations.values())
        assert outcome.violations == judge(space, space.stack(outcome.choices)).violations
        if outcome.feasible:
            best.append((outcome.objective, outcome.choices))
            assert outcome.top[0] == (outcome.choices, outcome.objective)
            for choices, vector in outcome.front if len(space.objective) > 1 else ():
                if vector not in vectors or choices < vectors[vector]:
                    vectors[vector] = choices
    assert covered == set(candidates(space))
    exact = sweep(space, top=1)
    assert (min(best)[0] if best else None) == (exact.top[0].objective if exact.top else None)
    if len(space.objective) > 1:
        assert [v for v, _ in pareto_front(vectors)] == [e.objective for e in exact.pareto or ()]


@settings(max_examples=budget(ci=150, dev=20), deadline=None, suppress_health_check=list(HealthCheck))
@given(small_spaces(countable=False, max_total=300), st.integers(1, 40))
def test_the_batch_inner_solver_equals_the_sweep(space, inner_size):
    by_sweep = HierarchicalPlan(space, inner_size, top=4, inner="sweep")
    by_batch = HierarchicalPlan(space, inner_size, top=4, inner="batch")
    for macro in itertools.islice(_all_macros(by_sweep), 30):
        assert by_sweep.solve(*macro) == by_batch.solve(*macro)


def test_an_infeasible_macro_reports_its_least_violating_stack():
    space = SearchSpace.from_dict({"depth": 3, "input_size": 64,
                                   "layers": {"kind": ["conv", "maxpool"], "kernel": [2, 3, 5], "stride": [1, 2]},
                                   "targets": {"rf": [14, 14], "jump": 8}})  # fmt: skip
    plan = HierarchicalPlan(space, 27, top=2)
    assert [m.name for m in plan.params] == ["stride[0]", "kind[0]", "stride[1]", "kind[1]", "stride[2]", "kind[2]"]
    # Strides 1, 1, 1: jump 1 (7 away from 8) whatever the kernels; a maxpool, then convs.
    macro = (0, 1, 0, 0, 0, 0)
    outcome = plan.solve(3, macro)
    assert not outcome.feasible and outcome.violations["jump"] == 7 and outcome.inner_total == 27
    sub, allowed = plan.subspace(3, macro)
    totals = {}
    for choice in candidates(sub):
        original = tuple(int(allowed[p][c]) for p, c in enumerate(choice))
        totals[original] = judge(space, space.stack(original)).total_violation
    least = min(totals.values())
    assert judge(space, space.stack(outcome.choices)).total_violation == least
    assert outcome.choices == min(c for c, v in totals.items() if v == least)


SMALL = {
    "input_size": 64,
    "depth": [2, 4],
    "layers": {"kind": ["conv", "maxpool"], "kernel": [2, 3, 5], "stride": [1, 2], "dilation": [1, 2]},
    "channels": {"input": 3, "widths": [8, 16]},
    "targets": {"rf": [20, 30], "jump": 4},
    "objective": "macs",
}


@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_the_hierarchical_search_reaches_the_optimum(sampler):
    space = SearchSpace.from_dict({**SMALL, "depth": [2, 3], "objective": ["params", "rf_error"]})
    exact = sweep(space, top=1)  # 7,344 candidates: the oracle's job
    result = search(space, trials=40, seed=0, sampler=sampler, inner_size=1000)
    assert result.best[0].objective == exact.top[0].objective
    assert [e.objective for e in result.pareto or ()] == [e.objective for e in exact.pareto or ()]


def test_every_trial_has_every_constraint_key_and_infeasible_trials_complete(study_dir):
    space = SearchSpace.from_dict({**SMALL, "rules": {"max_downsampling": 2},
                                   "targets": {**SMALL["targets"], "output_size": [16, 16], "coverage": "full",
                                               "max_params": 300, "rf_within_input": True}})  # fmt: skip
    keys = set(constraint_keys(space))
    assert keys == {"rf", "jump", "output_size", "rf_within_input", "coverage", "params", "rules", "valid"}
    for mode in ("hierarchical", "flat"):
        s = Search(space, SearchOptions(trials=40, mode=mode, seed=1, inner="batch", inner_size=50))
        study = s.open()
        stats = s.run_worker(study)
        trials = study.get_trials()
        assert stats.trials == len(trials) == 40
        infeasible = 0
        for t in trials:
            assert t.state == optuna.trial.TrialState.COMPLETE
            assert set(t.constraints) == keys, (t.number, t.constraints)
            attrs = t.user_attrs["rfsearch"]
            verdict = judge(space, space.stack(attrs["choices"]))
            assert t.constraints == verdict.violations
            assert attrs["feasible"] == verdict.feasible
            assert t.values == [float(v) for v in verdict.objective]
            if not verdict.feasible:
                infeasible += 1
                assert max(t.constraints.values()) > 0
        assert infeasible > 0


def test_a_rerun_resumes_from_the_journal(study_dir):
    space = SearchSpace.from_dict(SMALL)
    first = search(space, trials=6, seed=0, inner="batch", inner_size=200)
    journal = study_dir / f"{first.study_name}.journal"
    assert journal.is_file() and first.trials == first.new_trials == 6
    s = Search(space, SearchOptions(trials=6, inner="batch", inner_size=200))
    before = [(t.number, t.values, t.params) for t in s.open().get_trials()]
    again = search(space, trials=6, seed=0, inner="batch", inner_size=200)
    assert (again.trials, again.new_trials) == (6, 0)
    more = search(space, trials=10, seed=0, inner="batch", inner_size=200)
    assert (more.study_name, more.trials, more.new_trials) == (first.study_name, 10, 4)
    after = [(t.number, t.values, t.params) for t in s.open().get_trials()]
    assert after[:6] == before and len(after) == 10


def test_the_study_name_follows_the_space_and_refuses_another_one(study_dir):
    space = SearchSpace.from_dict(SMALL)
    same = SearchSpace.from_dict(dict(SMALL))
    edited = SearchSpace.from_dict({**SMALL, "targets": {"rf": [20, 31], "jump": 4}})
    name = Search(space).study_name
    assert name.startswith("rfsearch-hierarchical-") and Search(same).study_name == name
    assert Search(edited).study_name != name
    assert Search(space, SearchOptions(mode="flat")).study_name != name
    assert Search(space, SearchOptions(inner_size=100)).study_name != name
    search(space, trials=2, study_name="mine", inner="batch")
    with pytest.raises(ValueError, match="another space"):
        search(edited, trials=2, study_name="mine", inner="batch")
    journal = str(study_dir / "other.journal")
    foreign = optuna.create_study(study_name="foreign", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(journal)))  # fmt: skip
    foreign.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    with pytest.raises(ValueError, match="not made by rfsearch"):
        search(space, trials=2, study_name="foreign", storage=journal, inner="batch")


@pytest.mark.parametrize("mode", ["hierarchical", "flat"])
@pytest.mark.parametrize("sampler", ["tpe", "nsga2", "random", "qmc"])
def test_every_sampler_runs_without_warnings(mode, sampler):
    space = SearchSpace.from_dict({**SMALL, "objective": ["macs", "rf_error"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = search(space, trials=12, mode=mode, sampler=sampler, seed=2, inner="batch", inner_size=100, batch=5)
    assert result.trials == 12 and result.sampler == sampler
    for e in result.pareto or ():
        assert judge(space, e.layers).feasible


def test_pareto_points_and_what_a_trial_reports():
    space = SearchSpace.from_dict({**SMALL, "objective": ["params", "rf_error"]})
    s = Search(space, SearchOptions(trials=15, seed=4, inner="batch", inner_size=300))
    study = s.open()
    s.run_worker(study)
    for t in study.get_trials():
        attrs = t.user_attrs["rfsearch"]
        if attrs["feasible"]:  # the lexicographically smallest vector of its macro's front
            front = [tuple(v if isinstance(v, int) else float(v) for v in vector) for _, vector in attrs["front"]]
            assert tuple(t.values) == tuple(float(v) for v in min(front)) == tuple(float(v) for v in front[0])
    result = s.result(study)
    vectors = [e.objective for e in result.pareto or ()]
    assert vectors == sorted(vectors)
    for a, b in itertools.combinations(vectors, 2):
        assert not all(x <= y for x, y in zip(a, b))  # sorted and distinct: none dominates a later one


def test_the_timeout_stops_a_long_search():
    space = SearchSpace.from_dict(SMALL)
    result = search(space, trials=10**6, timeout=1.0, mode="flat", seed=0, batch=8)
    assert 0 < result.trials < 10**6 and result.seconds < 30


def test_options_are_checked():
    for bad, match in [({"trials": 0}, "trials"), ({"mode": "deep"}, "mode"), ({"sampler": "cma"}, "sampler"),
                       ({"timeout": -1}, "timeout"), ({"timeout": math.nan}, "timeout"), ({"seed": -1}, "seed"),
                       ({"workers": 0}, "workers"), ({"inner": "guess"}, "inner"), ({"grace": 5, "heartbeat": 5},
                       "grace"), ({"trials": True}, "trials"), ({"study_name": " "}, "study_name")]:  # fmt: skip
        with pytest.raises(ValueError, match=match):
            SearchOptions(**bad)


@pytest.mark.parametrize("workers", [max_workers() + 1, 100_000, 2**63 - 1])
def test_worker_processes_are_bounded(workers):
    # each worker is a whole interpreter: 100,000 of them were started (load average 200 on 2 cores)
    with pytest.raises(ValueError, match=rf"workers must be at most {max_workers()} \(4 processes per core\)"):
        SearchOptions(workers=workers)
    assert SearchOptions(workers=max_workers()).workers == max_workers()


def test_plans_describe_their_parameters():
    space = SearchSpace.from_dict(SMALL)
    flat = FlatPlan(space, 3).distributions()
    assert flat == {"depth": ["int", 2, 4], **{f"layer[{i}]": ["categorical", 24] for i in range(4)}}
    plan = HierarchicalPlan(space, 200, 3)
    names = [m.name for m in plan.params]
    assert names[:3] == ["stride[0]", "dilation[0]", "kind[0]"] and "depth" in plan.distributions()
    assert plan.largest_inner([[m.key for m in plan.params if m.position == p] for p in range(4)]) <= 200
