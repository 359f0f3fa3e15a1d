"""The brute-force oracle: hand-counted spaces, the documented orders (top-K ties, Pareto
representatives), entries checked against the compiled core, JSON shape."""

import json
from fractions import Fraction

import pytest
from hypothesis import given, settings
from search_strategies import BUDGET, small_spaces

from rfsearch import parse_layers, receptive_field
from rfsearch.search import SearchSpace, sweep
from rfsearch.search.evaluate import evaluate, is_feasible, make_entry, objective_values
from rfsearch.search.reference import brute_force, candidates, feasible_choices
from rfsearch.search.results import _dominates


def test_hand_counted_space():
    # kernels 1, 2, 3 (choices 0, 1, 2), depth 1..2, RF 3..4: RF = 1 + sum(k - 1).
    s = SearchSpace.from_dict({"depth": [1, 2], "layers": {"kernel": [1, 2, 3]}, "targets": {"rf": [3, 4]}})
    r = brute_force(s, top=10)
    assert (r.total, r.feasible) == (3 + 9, 6)
    # depth first, then choice indices: [k3], then (k1,k3) (k2,k2) (k2,k3) (k3,k1) (k3,k2).
    assert [e.choices for e in r.top] == [(2,), (0, 2), (1, 1), (1, 2), (2, 0), (2, 1)]
    specs = ["conv3", "conv1,conv3", "conv2,conv2", "conv2,conv3", "conv3,conv1", "conv3,conv2"]
    assert [e.spec for e in r.top] == specs
    assert r.rf_histogram == ((3, 4), (4, 2))
    assert r.pareto is None
    assert [e.choices for e in brute_force(s, top=2).top] == [(2,), (0, 2)]
    assert brute_force(s, top=0).top == ()


def test_top_ties_follow_choice_order_a_stack_before_its_extensions():
    s = SearchSpace.from_dict({"depth": [1, 3], "layers": {"kernel": [1, 3]}, "targets": {"rf": 3},
                               "objective": "rf_error"})  # fmt: skip
    r = brute_force(s, top=10)
    # All feasible stacks have rf_error 0: order is lexicographic, a prefix first.
    assert [e.choices for e in r.top] == [(0, 0, 1), (0, 1), (0, 1, 0), (1,), (1, 0), (1, 0, 0)]
    assert feasible_choices(s) == [e.choices for e in r.top]


def test_pareto_front_one_entry_per_vector():
    # Conv widths 2 -> params = 2k*c_in + 2: cheaper kernels have larger RF error to the target 5.
    s = SearchSpace.from_dict({"depth": [1, 2], "layers": {"kernel": [1, 3, 5]},
                               "channels": {"input": 1, "widths": [2]}, "targets": {"rf": [1, 9]},
                               "objective": ["params", "rf_error"]})  # fmt: skip
    r = brute_force(s, top=3)
    front = [(e.objective, e.choices) for e in r.pareto]
    # (params, |rf - 5|) of one layer: k1 (4, 4), k3 (8, 2), k5 (12, 0); every two-layer stack
    # costs more than 12 and reaches no lower error, so the front is these three.
    vectors = [v for v, _ in front]
    assert vectors == sorted(vectors) and len(set(vectors)) == len(vectors)
    assert front[:3] == [((4, 4), (0,)), ((8, 2), (1,)), ((12, 0), (2,))]
    assert all(not _dominates(a, b) for a in vectors for b in vectors)
    assert json.loads(json.dumps(r.to_dict()))["pareto"][0]["objective"] == [4, 4]


def test_pareto_representative_is_the_first_stack_in_choice_order():
    # Two kernels with the same metrics (k3 under padding 0 and 1: same params, same RF).
    s = SearchSpace.from_dict({"depth": 1, "layers": {"kernel": [3], "padding": [1, 0]},
                               "channels": {"input": 1, "widths": 1}, "objective": ["params", "depth"]})  # fmt: skip
    r = brute_force(s)
    assert [e.choices for e in r.pareto] == [(0,)]
    assert [e.choices for e in r.top] == [(0,), (1,)]


def test_entry_metrics_resnet_stem():
    s = SearchSpace.from_dict({"depth": 2, "input_size": [224, 224],
                               "layers": {"kind": ["conv", "maxpool"], "kernel": [3, 7], "stride": 2,
                                          "padding": "half"},
                               "positions": [{"kind": "conv", "kernel": 7}],
                               "channels": {"input": 3, "widths": [64]}, "targets": {"jump": 4},
                               "objective": "macs"})  # fmt: skip
    r = brute_force(s)
    best = r.top[0]
    assert best.spec == "conv7x7s2p3,maxpool3x3s2p1"  # per-axis kernels: the text says 2-D
    # ResNet's conv1: 7*7*3*64 weights + 64 biases; 7*7*3*64 MACs per output pixel, 112x112 of them.
    assert best.params == 7 * 7 * 3 * 64 + 64 == 9472
    assert best.macs == 7 * 7 * 3 * 64 * 112 * 112 == 118_013_952
    assert (best.rf, best.jump, best.output_size, best.blind_spots) == ((11, 11), (4, 4), (56, 56), (0, 0))
    assert best.objective == (118_013_952,)
    d = best.to_dict()
    assert d["spec"] == "conv7x7s2p3,maxpool3x3s2p1" and d["objective"] == 118_013_952 and d["rf"] == [11, 11]


def test_stage_widths_and_rf_error_halves():
    s = SearchSpace.from_dict({"depth": 3, "input_size": 16, "layers": {"kernel": 3, "stride": [2], "padding": "half"},
                               "channels": {"input": 1, "widths": [4, 8]}, "targets": {"rf": [10, 19]},
                               "objective": ["params", "rf_error"]})  # fmt: skip
    e = brute_force(s).top[0]
    # 1-D, kernel 3. Stage 0: 1 -> 4; after a stride-2 layer stage 1: 4 -> 8, then 8 -> 8 (the
    # last width repeats). Output sizes 8, 4, 2.
    assert e.params == (3 * 1 * 4 + 4) + (3 * 4 * 8 + 8) + (3 * 8 * 8 + 8)
    assert e.macs == 3 * 1 * 4 * 8 + 3 * 4 * 8 * 4 + 3 * 8 * 8 * 2
    assert e.rf == (15,) and e.objective[1] == Fraction(1, 2)  # |15 - 14.5|
    assert e.to_dict()["objective"] == [e.params, 0.5]


def test_coverage_target_filters_gridded_stacks():
    s = SearchSpace.from_dict({"depth": 2, "layers": {"kernel": 3, "dilation": [1, 2, 3]},
                               "targets": {"coverage": "full"}})  # fmt: skip
    r = brute_force(s)
    # d1 then anything, or d2,d1 / d3,d1: dense first (span 3 covers gaps up to 3) or a dense second layer.
    assert sorted(e.choices for e in brute_force(s, top=20).top) == [(0, 0), (0, 1), (0, 2), (1, 0), (2, 0)]
    assert r.feasible == 5
    assert all(e.blind_spots == (0,) for e in r.top)


def test_refuses_large_spaces():
    s = SearchSpace.from_dict({"depth": 40, "layers": {"kernel": 3, "dilation": [1, 2]}})
    with pytest.raises(ValueError, match="at most"):
        brute_force(s)
    with pytest.raises(ValueError, match="at most"):
        sweep(s, backend="python")
    with pytest.raises(ValueError, match="not feasible"):  # the C++ sweep: its estimate is too large
        sweep(s)


def test_sweep_accepts_files_and_mappings(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("depth: [1, 2]\nlayers: {kernel: [1, 2, 3]}\ntargets: {rf: [3, 4]}\n")
    by_file = sweep(path, top=3)
    by_map = sweep({"depth": [1, 2], "layers": {"kernel": [1, 2, 3]}, "targets": {"rf": [3, 4]}}, top=3)
    assert by_file == by_map
    out = json.loads(json.dumps(by_file.to_dict()))
    assert set(out) == {"total", "feasible", "objective", "top", "rf_histogram", "stats"}
    assert out["total"] == 12 and out["feasible"] == 6 and out["rf_histogram"] == [[3, 4], [4, 2]]
    assert set(out["top"][0]) == {"spec", "choices", "depth", "rf", "jump", "output_size", "params", "macs",
                                  "objective", "blind_spots"}  # fmt: skip


@pytest.mark.slow  # brute force
@settings(max_examples=BUDGET)
@given(small_spaces(countable=False))
def test_oracle_orders_and_entries(space):
    result = brute_force(space, top=5)
    feasible = feasible_choices(space)
    assert result.feasible == len(feasible)
    assert sum(n for _, n in result.rf_histogram) == len(feasible)
    keyed = sorted((objective_values(space, evaluate(space, space.stack(c)), len(c)), c) for c in feasible)
    assert [e.choices for e in result.top] == [c for _, c in keyed[:5]]
    vectors = {}
    for vector, c in keyed:
        vectors.setdefault(vector, c)
    if result.pareto is not None:
        front = [(e.objective, e.choices) for e in result.pareto]
        # Non-dominated, complete, one per vector, represented by the first stack of its vector.
        assert all(not any(_dominates(v, fv) for v in vectors) for fv, _ in front)
        assert all(any(fv == v or _dominates(fv, v) for fv, _ in front) for v in vectors)
        assert all(vectors[fv] == c for fv, c in front)
    else:
        assert len(space.objective) == 1
    for e in result.top:
        # The compiled core agrees on the entry's spec (compact text read back).
        r = receptive_field(parse_layers(e.spec), space.input_size)
        assert r.rf == e.rf and r.jump == e.jump
        assert r.output_size == e.output_size
        assert make_entry(space, e.choices) == e
        assert is_feasible(space, evaluate(space, e.layers), e.layers)


def test_candidates_enumerates_total():
    s = SearchSpace.from_dict({"depth": [2, 3], "layers": {"kernel": [1, 3]}, "positions": [{"kernel": [1, 3, 5]}]})
    found = list(candidates(s))
    assert len(found) == len(set(found)) == s.total == 3 * 2 + 3 * 2 * 2
