"""Uniform sampling of feasible stacks: exact, seeded (the documented SHA-256 procedure, checked
against an independent implementation and pinned by known draws), the same on both backends and
in a fresh interpreter, and uniform by a chi-square test that the naive per-position sampler fails.

scipy is not available, so the chi-square p-value is computed here: the upper regularized
incomplete gamma function Q(df/2, x/2) by its power series / continued fraction (Numerical
Recipes 6.2), checked against tabulated critical values.
"""

import hashlib
import json
import math
import os
import random
import subprocess
import sys
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from search_strategies import BUDGET, small_spaces

from rfsearch.errors import SpecError
from rfsearch.search import FeasibleCounter, NoFeasibleStackError, Sampler, SearchSpace, sample
from rfsearch.search.reference import feasible_choices
from rfsearch.search.sample import draw_index


def gamma_q(a, x):
    """Upper regularized incomplete gamma Q(a, x) = Gamma(a, x) / Gamma(a)."""
    if x <= 0:
        return 1.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:  # series for P(a, x)
        term = total = 1.0 / a
        n = a
        for _ in range(10_000):
            n += 1
            term *= x / n
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return 1.0 - total * math.exp(log_front)
    # Continued fraction for Q(a, x) (modified Lentz).
    tiny = 1e-300
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-16:
            break
    return math.exp(log_front) * h


def chi_square_p_value(observed, expected):
    """(statistic, p-value) of Pearson's chi-square test, df = cells - 1."""
    statistic = sum((o - e) ** 2 / e for o, e in zip(observed, expected))
    df = len(observed) - 1
    return statistic, gamma_q(df / 2, statistic / 2)


@pytest.mark.parametrize("df, critical", [(1, 10.828), (10, 29.588), (30, 59.703), (100, 149.449)])
def test_p_value_matches_tabulated_critical_values(df, critical):
    # Upper 0.1% points of the chi-square distribution (standard tables, e.g. NIST/SEMATECH).
    assert gamma_q(df / 2, critical / 2) == pytest.approx(0.001, rel=2e-3)
    assert gamma_q(df / 2, df / 2) > 0.3  # the mean is unremarkable


# An asymmetric space: what follows a choice differs a lot between choices (a kernel 1 first
# leaves many feasible completions, a kernel 5 few), so choosing per position would not be uniform.
ASYMMETRIC = {"depth": [1, 3], "layers": {"kernel": [1, 2, 3, 5], "stride": [1, 2]}, "targets": {"rf": [5, 9]}}


def naive_draw(counter, rng):
    """The tempting alternative: at each position pick uniformly among the options that still
    lead to a feasible stack (stop here, or one of the choices), ignoring how many stacks follow."""
    prefix = ()
    while True:
        stop, per_choice = counter.completions(prefix)
        options = ([None] if stop else []) + [c for c, n in enumerate(per_choice) if n]
        pick = rng.choice(options)
        if pick is None:
            return prefix
        prefix += (pick,)


def test_exact_sampler_passes_chi_square_and_naive_fails():
    space = SearchSpace.from_dict(ASYMMETRIC)
    feasible = feasible_choices(space)
    counter = FeasibleCounter(space)
    assert counter.feasible == len(feasible) and 30 <= len(feasible) <= 300
    draws = 40 * len(feasible)
    expected = [draws / len(feasible)] * len(feasible)

    exact = Counter(Sampler(space).sample_choices(draws, seed=1234))
    assert set(exact) <= set(feasible)
    statistic, p = chi_square_p_value([exact[f] for f in feasible], expected)
    assert p > 0.001, (statistic, p)

    rng = random.Random(1234)
    naive = Counter(naive_draw(counter, rng) for _ in range(draws))
    assert set(naive) <= set(feasible)  # feasible, but not uniform
    statistic, p = chi_square_p_value([naive[f] for f in feasible], expected)
    assert p < 1e-12, (statistic, p)


def spec_draw(seed, j, bound):
    """The procedure as the sample.py docstring words it, written again from the text."""
    k = bound.bit_length()
    t = 0
    while True:
        stream, i = b"", 0
        while len(stream) < (k + 7) // 8:
            stream += hashlib.sha256(("rfsearch-sample-v1:%d:%d:%d:%d" % (seed, j, t, i)).encode()).digest()
            i += 1
        candidate = int.from_bytes(stream[: (k + 7) // 8], "little") % (1 << k)
        if candidate < bound:
            return candidate
        t += 1


@pytest.mark.parametrize("bound", [1, 2, 3, 7, 8, 255, 256, 257, 10**6, 2**64 + 1, 11**40, 2**300 - 1])
def test_draw_index_follows_the_documented_procedure(bound):
    for seed in (0, 1, 2**63 - 1):
        for j in range(20):
            value = draw_index(seed, j, bound)
            assert value == spec_draw(seed, j, bound) and 0 <= value < bound


def test_draw_index_is_uniform():
    draws = [draw_index(11, j, 7) for j in range(7000)]  # 7 is not a power of two: rejection works
    counts = Counter(draws)
    statistic, p = chi_square_p_value([counts[v] for v in range(7)], [1000.0] * 7)
    assert p > 0.001, (statistic, p)
    with pytest.raises(ValueError):
        draw_index(0, 0, 0)


def test_seeded_and_reproducible():
    space = SearchSpace.from_dict(ASYMMETRIC)
    a = sample(space, 50, seed=7)
    b = sample(space, 50, seed=7)
    c = sample(space, 50, seed=8)
    assert [e.choices for e in a] == [e.choices for e in b]
    assert [e.choices for e in a] != [e.choices for e in c]
    assert all(5 <= e.rf[0] <= 9 for e in a)
    assert sample(space, 0, seed=1) == []
    assert len({tuple(e.choices for e in sample(space, 5)) for _ in range(3)}) > 1  # no seed: random


def test_known_draws_pin_the_generator():
    # Fixed by the documented procedure: any change to it (or to choice order) shows here. The
    # same values come on every platform and Python version (SHA-256 and integer arithmetic only).
    space = SearchSpace.from_dict(ASYMMETRIC)
    assert [e.choices for e in sample(space, 5, seed=2024)] == [(7, 1, 0), (2, 6), (2, 5, 4), (6,), (0, 7, 2)]
    assert [e.spec for e in sample(space, 2, seed=2024)] == ["conv5s2,conv1s2,conv1", "conv2,conv5"]
    assert draw_index(0, 0, 11**40) == 113574480978059961056159376730962199379925
    assert draw_index(7, 3, 1000) == 52


def test_same_stacks_on_both_backends_and_in_a_fresh_interpreter():
    space = SearchSpace.from_dict(ASYMMETRIC)
    here = [e.choices for e in sample(space, 30, seed=99)]
    assert [e.choices for e in sample(space, 30, seed=99, backend="python")] == here
    code = ("import json; from rfsearch.search import sample; "
            f"print(json.dumps([e.choices for e in sample({ASYMMETRIC!r}, 30, seed=99)]))")  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # nothing may depend on hash randomisation
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert [tuple(c) for c in json.loads(out)] == here


@pytest.mark.parametrize("bad, match", [(-1, "seed must be >= 0"), (2**64, "int64"), (1.5, "integer"),
                                        (True, "integer")])  # fmt: skip
def test_bad_seed(bad, match):
    with pytest.raises(SpecError, match=match):
        sample(ASYMMETRIC, 1, seed=bad)


def test_huge_space_samples_exactly():
    # 11**40 candidates: indices are big integers drawn by randrange (no float in the way).
    space = SearchSpace.from_dict({"depth": 40, "layers": {"kernel": 3, "dilation": [2**i for i in range(11)],
                                   "padding": "half"}, "targets": {"rf": [6000, 10000]}})  # fmt: skip
    sampler = Sampler(space)
    assert sampler.counter.feasible > 2**128 and sampler.exact_count
    entries = sampler.sample(20, seed=3)
    assert len(entries) == 20 and all(6000 <= e.rf[0] <= 10000 and e.depth == 40 for e in entries)
    first = sampler.counter.unrank(draw_index(3, 0, sampler.counter.feasible))
    assert entries[0].choices == first
    # Ranks follow choice order; RF = 1 + 2 * sum of dilations.
    ranked = [sampler.counter.unrank(i) for i in (0, 1, 2, sampler.counter.feasible - 1)]
    assert ranked == sorted(ranked) and len(set(ranked)) == 4
    assert all(6000 <= 1 + 2 * sum(2**c for c in r) <= 10000 for r in ranked)


def test_rejection_for_targets_the_counter_cannot_count():
    space = SearchSpace.from_dict({"depth": 2, "layers": {"kernel": 3, "dilation": [1, 2, 3]},
                                   "targets": {"coverage": "full"}})  # fmt: skip
    sampler = Sampler(space)
    assert not sampler.exact_count and sampler.rejected_targets == ("coverage",)
    assert sampler.counter.feasible == 9  # counted without coverage
    drawn = sampler.sample_choices(300, seed=5)
    assert set(drawn) == set(feasible_choices(space))  # the 5 covering stacks, and only them
    counts = Counter(drawn)
    statistic, p = chi_square_p_value([counts[c] for c in sorted(counts)], [60.0] * 5)
    assert p > 0.001


def test_no_feasible_stack():
    space = SearchSpace.from_dict({"depth": 1, "layers": {"kernel": 3}, "targets": {"rf": 5}})
    with pytest.raises(NoFeasibleStackError, match="no feasible stack"):
        sample(space, 1, seed=0)
    gridded = SearchSpace.from_dict({"depth": 2, "layers": {"kernel": 3, "dilation": 2},
                                     "targets": {"coverage": "full"}})  # fmt: skip
    with pytest.raises(NoFeasibleStackError, match="found 0 of 1 feasible stacks in 10 draws"):
        sample(gridded, 1, seed=0, max_draws=10)


@settings(max_examples=BUDGET)
@given(small_spaces(countable=False), st.integers(0, 2**32))
def test_samples_are_feasible_and_match_unrank(space, seed):
    feasible = set(feasible_choices(space))
    sampler = Sampler(space)
    if not feasible:
        with pytest.raises(NoFeasibleStackError):
            sampler.sample_choices(3, seed=seed, max_draws=200)
    else:
        drawn = sampler.sample_choices(10, seed=seed, max_draws=100_000)
        assert set(drawn) <= feasible
        if sampler.exact_count:
            assert drawn == [sampler.counter.unrank(draw_index(seed, j, len(feasible))) for j in range(10)]


@pytest.mark.parametrize("chunk", [1, 3, 7, 1000])
@pytest.mark.parametrize("targets", [{"rf": [5, 9]}, {"rf": [5, 9], "coverage": "full"}])  # unranked / rejection
def test_iter_choices_is_sample_choices_in_chunks(chunk, targets):
    space = SearchSpace.from_dict({"depth": [1, 3], "layers": {"kernel": [2, 3], "dilation": [1, 2]},
                                   "targets": targets})  # fmt: skip
    sampler = Sampler(space)
    chunks = list(sampler.iter_choices(20, 11, chunk=chunk))
    assert all(1 <= len(c) <= chunk for c in chunks) and all(len(c) == chunk for c in chunks[:-1])
    assert [c for part in chunks for c in part] == Sampler(space).sample_choices(20, 11)
    with pytest.raises(SpecError, match="chunk must be >= 1"):
        next(sampler.iter_choices(2, 1, chunk=0))
