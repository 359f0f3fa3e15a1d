"""Exact counting by dynamic programming: against the brute-force oracle on random small spaces,
against an independent generating-function count on the 11**40 MS-TCN space, refusals."""

import functools
from pathlib import Path

import pytest

from rfsearch.errors import SpecError
from rfsearch.search import FeasibleCounter, NotCountableError, SearchSpace, count, load_space
from rfsearch.search.reference import brute_force, feasible_choices

ROOT = Path(__file__).resolve().parents[1]
DILATIONS = [2**i for i in range(11)]


def mstcn(targets=None):
    data = {"depth": 40, "layers": {"kind": "conv", "kernel": 3, "dilation": DILATIONS, "padding": "half"}}
    if targets:
        data["targets"] = targets
    return SearchSpace.from_dict(data)


@functools.lru_cache(maxsize=None)
def generating_function_counts(layers=40, dilations=tuple(DILATIONS), kernel=3):
    """Number of stacks per RF by polynomial powers, independent of the DP: the RF of a stack is
    1 + (k - 1) * sum(d_i); with x^d per dilation, P(x) = sum x^d and the counts of sums are the
    coefficients of P(x)**layers, computed by Kronecker substitution (x = 2**B, B larger than
    any coefficient) with Python's big-integer multiplication."""
    bits = -(-((len(dilations) ** layers).bit_length() + 1) // 8) * 8  # whole bytes per coefficient
    poly = sum(1 << (bits * d) for d in dilations)
    power = poly**layers
    step = bits // 8
    data = power.to_bytes(step * (layers * max(dilations) + 1), "little")
    counts = {}
    for total in range(layers * min(dilations), layers * max(dilations) + 1):
        coefficient = int.from_bytes(data[step * total : step * (total + 1)], "little")
        if coefficient:
            counts[1 + (kernel - 1) * total] = coefficient
    return counts


def test_generating_function_on_a_small_case():
    # Two layers, dilations {1, 2}: sums 2 (1 way), 3 (2 ways), 4 (1 way) -> RF 5, 7, 9.
    assert generating_function_counts(2, (1, 2)) == {5: 1, 7: 2, 9: 1}


def test_mstcn_total_is_11_to_the_40_and_histogram_matches_generating_function():
    space = mstcn()
    assert space.total == 11**40
    assert space.choice_counts == (11,) * 40
    result = count(space)
    assert result.total == 11**40
    assert result.feasible == 11**40  # no target: every stack (no overflow, no input size)
    assert dict(result.rf_histogram) == generating_function_counts()


def test_mstcn_example_feasible_above_2_128_matches_generating_function():
    space = load_space(ROOT / "examples" / "spaces" / "mstcn_dilations.yaml")
    assert space.total == 11**40 and space.rf_targets() == ((6000, 10000),)
    result = count(space)
    expected = {rf: n for rf, n in generating_function_counts().items() if 6000 <= rf <= 10000}
    assert result.feasible == sum(expected.values())
    assert result.feasible > 2**128
    assert dict(result.rf_histogram) == expected


def test_small_known_count():
    # conv k in {1, 3}, depth 1..2, RF target 3: stacks [3], [1,3], [3,1] -> 3 of 2 + 4 = 6.
    space = SearchSpace.from_dict({"depth": [1, 2], "layers": {"kernel": [1, 3]}, "targets": {"rf": 3}})
    result = count(space)
    assert (result.total, result.feasible, result.rf_histogram) == (6, 3, ((3, 3),))
    counter = FeasibleCounter(space)
    assert [counter.unrank(i) for i in range(3)] == [(0, 1), (1,), (1, 0)]


def test_per_axis_histogram_keys():
    space = SearchSpace.from_dict({"depth": 1, "layers": {"kernel": [[1, 3], [3, 3]]}})
    assert count(space).rf_histogram == (((1, 3), 1), ((3, 3), 1))
    assert count(space).to_dict()["rf_histogram"] == [[[1, 3], 1], [[3, 3], 1]]


@pytest.mark.parametrize("target", [{"coverage": "full"}, {"max_params": 100}])
def test_uncountable_targets_are_refused(target):
    data = {"depth": 2, "layers": {"kernel": [1, 3]}, "channels": {"input": 1, "widths": [4]}, "targets": target}
    space = SearchSpace.from_dict(data)
    name = next(iter(target))
    with pytest.raises(NotCountableError, match=name):
        count(space)
    with pytest.raises(NotCountableError):
        FeasibleCounter(space)
    assert isinstance(NotCountableError("x"), SpecError)
    relaxed = space.without_targets(name)
    assert count(relaxed).feasible == 4


def test_macs_budget_refused():
    data = {"depth": 1, "input_size": 8, "layers": {"kernel": 3}, "channels": {"input": 1, "widths": [4]},
            "targets": {"max_macs": 4.0e9}}  # fmt: skip
    with pytest.raises(NotCountableError, match="max_macs"):
        count(SearchSpace.from_dict(data))


# Random small spaces against the brute force (counts, histograms, unrank, completions, on both
# backends): tests/test_search_count_backends.py.


# Hand-made spaces for the cases random small spaces rarely reach: each is counted by the DP
# and by the oracle, and the expected feasible count is written out.
EDGE_SPACES = {
    # Output size shrinks below the target, then explicit padding grows it back: 4 -> 2 -> 6.
    # (Pruning on "size below target" is sound only when no later choice can grow the size.)
    "size_grows_back": (
        {"depth": 2, "input_size": 4, "layers": {"kernel": [3, 1], "padding": [0, 2]},
         "targets": {"output_size": [6, 8]}},
        7,  # among them conv3 (4 -> 2) then conv1p2 (2 -> 6)
    ),
    # Effective padding overflows int64 (2 * 2^62) while the RF stays 1: no stack is feasible.
    "padding_overflow": ({"depth": 2, "layers": {"kernel": 1, "padding": [4611686018427387904]}}, 0),
    # Exact jump 6: strides must multiply to 6 exactly (2*3 or 3*2), not 4 or 9.
    "exact_jump": ({"depth": 2, "layers": {"kernel": 1, "stride": [1, 2, 3]}, "targets": {"jump": 6}}, 2),
    # stride_on: only max-pools may downsample (conv s2 is out; maxpool2 has stride 2).
    "stride_on": ({"depth": 1, "layers": {"kind": ["conv", "maxpool"], "kernel": 2,
                   "stride": [1, 2]}, "rules": {"stride_on": ["maxpool"]}}, 3),
    # At most one downsampling layer among two.
    "max_downsampling": ({"depth": 2, "layers": {"kernel": 1, "stride": [1, 2]}, "rules": {"max_downsampling": 1}}, 3),
    # RF within input: conv3 twice on a 4-pixel input has RF 5 > 4.
    "rf_within_input": ({"depth": [1, 2], "input_size": 4, "layers": {"kernel": 3, "padding": "half"},
                         "targets": {"rf_within_input": True}}, 1),
    # Collapse: a valid conv5 on 4 pixels outputs 0.
    "collapse": ({"depth": 1, "input_size": 4, "layers": {"kernel": [3, 5]}}, 1),
    # Jump overflow: 63 stride-2 layers overflow int64 (2^63), 62 do not.
    "jump_overflow": ({"depth": [62, 63], "layers": {"kernel": 1, "stride": 2}}, 1),
}


@pytest.mark.parametrize("name", sorted(EDGE_SPACES))
def test_edge_spaces(name):
    data, expected = EDGE_SPACES[name]
    space = SearchSpace.from_dict(data)
    oracle = brute_force(space, top=0)
    result = count(space)
    assert (result.total, result.feasible, result.rf_histogram) == (oracle.total, oracle.feasible, oracle.rf_histogram)
    if expected is not None:
        assert result.feasible == expected
    counter = FeasibleCounter(space)
    assert [counter.unrank(i) for i in range(counter.feasible)] == feasible_choices(space)
