"""NAS constraint scoring: `score` (batch core) equals `judge` (reference fold) and the sweep's
feasibility; graded values by hand; Optuna helpers set every key, handle retried trials, and
`suggest_stack(feasible_only=True)` only ever returns feasible stacks."""

from __future__ import annotations

import random
import warnings

import numpy as np
import optuna
import pytest
from budgets import budget
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from search_strategies import small_spaces

from rfsearch import Conv, MaxPool, SpecError
from rfsearch.search import SearchSpace, sample
from rfsearch.search.evaluate import evaluate, is_feasible
from rfsearch.search.nas import (
    CONSTRAINT_KEYS,
    constraint_keys,
    judge,
    score,
    set_constraints,
    set_rf_constraints,
    suggest_stack,
)
from rfsearch.search.reference import candidates, feasible_choices

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _picks(space, rnd, n=24):
    found = list(candidates(space))
    return [found[rnd.randrange(len(found))] for _ in range(n)]


@settings(max_examples=budget(ci=1500, dev=150), deadline=None, suppress_health_check=list(HealthCheck))
@given(small_spaces(countable=False), st.randoms(use_true_random=False))
def test_score_equals_judge_and_the_sweeps_feasibility(space, rnd):
    stacks = [space.stack(c) for c in _picks(space, rnd)]
    s = score(stacks, space)
    assert set(s.violations) == set(constraint_keys(space))
    for i, layers in enumerate(stacks):
        verdict = judge(space, layers)
        ev = evaluate(space, layers)
        assert list(verdict.violations) == list(constraint_keys(space))
        assert verdict.feasible == is_feasible(space, ev, layers)
        assert bool(s.feasible[i]) == verdict.feasible
        assert all(v >= 0 for v in verdict.violations.values())
        for key, value in verdict.violations.items():
            assert s.violations[key][i] == value, key
        assert s.exact_objective(i) == verdict.objective
        assert tuple(s.rf[i]) == ev.rf and tuple(s.jump[i]) == ev.jump
        if ev.params is not None:
            assert s.params is not None and s.params[i] == ev.params
        if ev.macs is not None:
            assert s.macs is not None and s.macs[i] == ev.macs
        assert bool(s.valid[i]) == (ev.status == "ok")


SPACE = {
    "input_size": 32,
    "depth": [1, 4],
    "layers": {"kind": ["conv", "maxpool"], "kernel": [3], "stride": [1, 2], "padding": "half"},
    "channels": {"input": 3, "widths": [8, 16]},
    "rules": {"max_downsampling": 1, "stride_on": ["maxpool"]},
    "targets": {"rf": [12, 20], "jump": 4, "output_size": [8, 8], "rf_within_input": True, "coverage": "full",
                "max_params": 500, "max_macs": 100000},
    "objective": ["macs", "rf_error"],
}  # fmt: skip


def test_graded_values_by_hand():
    space = SearchSpace.from_dict(SPACE)
    assert constraint_keys(space) == CONSTRAINT_KEYS
    # conv3s2p1 (RF 3, jump 2, size 16): rf 12 - 3 = 9, jump 4 - 2 = 2, size 16 - 8 = 8, a strided conv
    # (stride_on: maxpool): rules 1. One axis: params 3*3*8 + 8 = 80, MACs 3*3*8*16 = 1152.
    s = score(["conv3s2p1"], space)
    got = {k: float(v[0]) for k, v in s.violations.items()}
    assert got == {"rf": 9, "jump": 2, "output_size": 8, "rf_within_input": 0, "coverage": 0, "params": 0,
                   "macs": 0, "rules": 1, "valid": 0}  # fmt: skip
    assert s.params is not None and s.macs is not None and (s.params[0], s.macs[0]) == (80, 1152)
    # Dilated convs leave 6 offsets of the RF 13 unreached; params 80 + 200 + 400 (stage 1: width 16)
    layers = [Conv(3, padding=2, dilation=2), Conv(3, stride=2, padding=2, dilation=2), Conv(3, padding=1)]
    verdict = judge(space, layers)
    assert verdict.violations["params"] == (680 - 500) / 500
    assert verdict.violations["coverage"] == 6 and verdict.violations["rules"] == 1
    assert verdict.violations["rf"] == 0 and not verdict.feasible
    # A collapse: size 32 -> 16 -> 8 -> 4 -> 2 -> 1 -> ... a 5x5 valid conv on 2 pixels: 1 - (-2) = 3
    collapsed = [MaxPool(2), MaxPool(2), MaxPool(2), MaxPool(2), Conv(5)]
    assert judge(space, collapsed).violations["valid"] == 3
    assert score([collapsed], space).violations["valid"][0] == 3


def test_score_inputs_and_bare_targets():
    specs = ["conv3s1p1,maxpool2s2,conv3s1p1,maxpool2s2", "conv7s2p3,maxpool3s2p1"]
    s = score(specs, {"rf": [10, 20], "jump": 4})
    assert list(s.rf[:, 0]) == [10, 11] and list(s.feasible) == [True, True]
    s = score(specs, {"rf": 10}, input_size=32, channels={"input": 3, "widths": [16]}, objective=["params", "macs"])
    assert list(s.feasible) == [True, False] and s.params is not None and s.macs is not None
    assert s.violations["rf"][1] == 1 and s.objective.shape == (2, 2)
    entries = sample(SearchSpace.from_dict({"depth": 2, "layers": {"kernel": [2, 3]}, "targets": {"rf": 4}}), 3, seed=0)
    assert list(score(entries, {"rf": 4}).feasible) == [True] * 3
    with pytest.raises(SpecError, match="stack 1"):
        score(["conv3", "conv3,,relu"], {"rf": 3})
    with pytest.raises(ValueError, match="rf"):
        score(["conv3"], {"rf": [5, 2]})


def test_score_is_vectorised():
    rng = np.random.default_rng(0)
    specs = [",".join(f"conv{k}s{s}" for k, s in zip(rng.integers(1, 6, 8), rng.integers(1, 3, 8)))
             for _ in range(20_000)]  # fmt: skip
    s = score(specs, {"rf": [30, 90], "jump": [4, 16]}, input_size=224, channels={"input": 3, "widths": [32, 64]},
              objective="macs")  # fmt: skip
    assert len(s) == 20_000 and s.macs is not None and 0 < s.feasible.sum() < 20_000


def _trial(study=None):
    study = study or optuna.create_study()
    return study, study.ask()


def test_set_rf_constraints_sets_every_key():
    space = SearchSpace.from_dict(SPACE)
    study, trial = _trial()
    values = set_rf_constraints(trial, "conv3s2p1", space)
    assert set(values) == set(CONSTRAINT_KEYS)
    study.tell(trial, 0.0)
    assert study.trials[0].constraints == values
    study, trial = _trial()
    set_rf_constraints(trial, [Conv(3)], {"rf": 5}, prefix="stem_")
    assert study.trials[0].constraints == {"stem_rf": 2.0, "stem_valid": 0.0}


def test_a_retried_trial_keeps_or_corrects_its_copied_constraints():
    """RetryHeartbeatStaleTrialCallback copies the old trial's system attrs (its constraints):
    setting them again must neither warn nor keep a stale value."""
    study = optuna.create_study()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = optuna.storages.RetryHeartbeatStaleTrialCallback()
    trial = study.ask()
    trial.set_constraint("rf", 5.0)
    trial.set_constraint("jump", 1.0)
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    retry(study, study.trials[0])
    again = study.ask()
    assert again.number == 1 and study.trials[1].constraints == {"rf": 5.0, "jump": 1.0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        set_constraints(again, {"rf": 5.0, "jump": 0.0, "valid": 0.0})
    study.tell(again, 1.0)
    assert study.trials[1].constraints == {"rf": 5.0, "jump": 0.0, "valid": 0.0}


@settings(max_examples=budget(ci=200, dev=25), deadline=None, suppress_health_check=list(HealthCheck))
@given(small_spaces(countable=False), st.sampled_from(["random", "tpe"]), st.integers(0, 2**16))
def test_feasible_only_suggestions_are_always_feasible(space, sampler, seed):
    feasible = set(feasible_choices(space))
    make = optuna.samplers.RandomSampler if sampler == "random" else optuna.samplers.TPESampler
    study = optuna.create_study(sampler=make(seed=seed))
    counted = space.without_targets(*space.uncountable_targets())
    countable_feasible = set(feasible_choices(counted))
    for _ in range(12):
        trial = study.ask()
        if not countable_feasible:
            from rfsearch.search import NoFeasibleStackError

            with pytest.raises(NoFeasibleStackError):
                suggest_stack(trial, space, feasible_only=True)
            return
        try:
            entry = suggest_stack(trial, space, feasible_only=True)
        except optuna.TrialPruned:  # a target checked by rejection failed
            assert space.uncountable_targets()
            frozen = study.trials[trial.number]
            assert any(v > 0 for v in frozen.constraints.values())
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            continue
        assert entry.choices in feasible
        assert study.trials[trial.number].user_attrs["choices"] == list(entry.choices)
        assert set(study.trials[trial.number].constraints) == set(constraint_keys(space))
        assert all(v <= 0 for v in study.trials[trial.number].constraints.values())
        study.tell(trial, float(len(entry.choices)))
    if not space.uncountable_targets():
        assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def test_suggest_stack_without_repair_is_what_was_drawn():
    space = SearchSpace.from_dict({"depth": [2, 3], "layers": {"kernel": [1, 3, 5], "dilation": [1, 2]},
                                   "targets": {"rf": [9, 9]}})  # fmt: skip
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    repaired = 0
    for _ in range(30):
        trial = study.ask()
        entry = suggest_stack(trial, space)
        depth = trial.params["depth"]
        assert entry.choices == tuple(trial.params[f"layer[{i}]"] for i in range(depth))
        fixed = suggest_stack(trial, space, feasible_only=True, prefix="fixed_")
        assert evaluate(space, fixed.layers).rf == (9,)
        repaired += fixed.choices != entry.choices
        study.tell(trial, 0.0)
    assert repaired > 0  # the draws alone are mostly infeasible (RF 9 of 1..21)


def test_feasible_only_on_the_mstcn_space_is_fast_and_exact():
    space = SearchSpace.from_dict({"depth": 40, "layers": {"kernel": 3, "padding": "half",
                                   "dilation": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]},
                                   "targets": {"rf": [6000, 6100]}})  # fmt: skip
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(5):
        trial = study.ask()
        entry = suggest_stack(trial, space, feasible_only=True)
        assert 6000 <= entry.rf[0] <= 6100
        study.tell(trial, float(entry.rf[0]))


def test_random_stacks_of_a_nas_tool_are_filtered():
    rnd = random.Random(0)
    specs = [",".join(f"conv{rnd.choice([1, 3, 5])}d{rnd.choice([1, 2, 4])}" for _ in range(rnd.randint(2, 6)))
             for _ in range(500)]  # fmt: skip
    s = score(specs, {"rf": [20, 30], "coverage": "full"})
    kept = [spec for spec, ok in zip(specs, s.feasible) if ok]
    for spec in kept:
        assert 20 <= score([spec], {"rf": [20, 30]}).rf[0, 0] <= 30
    assert 0 < len(kept) < len(specs)


@pytest.mark.parametrize("stacks, message", [
    ("conv3,conv3", "stacks must be a list of stacks (compact text, layers or Entries), got text: wrap one stack in a list"),
    (5, "stacks must be a list of stacks (compact text, layers or Entries), got int"),
    ([5], "stack 0: a stack is compact text, a sequence of layers or an Entry, got int"),  # was "'int' object is not iterable"
    ([None], "stack 0: a stack is compact text, a sequence of layers or an Entry, got NoneType"),
    (["conv3", [Conv(3), "x"]], "stack 1: layer 1: a stack is compact text or a sequence of layers, got an item str"),
])  # fmt: skip
def test_score_names_the_bad_stack(stacks, message):
    # one string was read as a list of one-character stacks: "stack 5, layer 0: empty token"
    with pytest.raises(TypeError) as info:
        score(stacks, {"rf": 5})
    assert str(info.value) == message
    trial = optuna.create_study().ask()
    if not isinstance(stacks, str) and isinstance(stacks, list) and not isinstance(stacks[0], str):
        with pytest.raises(TypeError, match="a stack is compact text, a sequence of layers or an Entry"):
            set_rf_constraints(trial, stacks[0], {"rf": 5})
