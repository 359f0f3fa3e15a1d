"""The C++ counter (count.hpp) against the Python reference (count.py) and the brute force: equal
counts, histograms, unrank and completions on random small spaces; equal on spaces far beyond
enumeration; the big MS-TCN counts on both; errors the same way on both."""

import signal
import subprocess
import sys
import time

import pytest
from budgets import budget
from hypothesis import given, settings
from hypothesis import strategies as st
from search_strategies import BUDGET, small_spaces, space_maps
from test_search_count import EDGE_SPACES, generating_function_counts, mstcn

from rfsearch import _core
from rfsearch.errors import SpecError
from rfsearch.search import FeasibleCounter, NotCountableError, SearchSpace, count, load_space
from rfsearch.search.count import _core_arguments
from rfsearch.search.reference import brute_force, feasible_choices

BACKENDS = ["cpp", "python"]


@pytest.mark.slow  # brute force on both backends
@settings(max_examples=BUDGET)
@given(small_spaces())
def test_cpp_equals_python_equals_brute_force(space):
    expected = brute_force(space, top=0)
    for backend in BACKENDS:
        result = count(space, backend=backend)
        assert (result.total, result.feasible, result.rf_histogram) == (
            expected.total, expected.feasible, expected.rf_histogram), backend  # fmt: skip
    assert int.from_bytes(_core.count_space(**_core_arguments(space))["total"], "little") == space.total


@pytest.mark.slow  # brute force on both backends
@settings(max_examples=BUDGET)
@given(small_spaces(), st.data())
def test_unrank_and_completions_are_the_brute_force_on_both_backends(space, data):
    feasible = feasible_choices(space)  # in choice order
    cpp, python = FeasibleCounter(space), FeasibleCounter(space, backend="python")
    assert cpp.feasible == python.feasible == len(feasible)
    assert cpp.unrank_many(range(cpp.feasible)) == feasible
    assert [python.unrank(i) for i in range(python.feasible)] == feasible
    for backend in (cpp, python):
        with pytest.raises(IndexError):
            backend.unrank(backend.feasible)
    for _ in range(3):
        length = data.draw(st.integers(0, space.depth[1]))
        prefix = tuple(data.draw(st.integers(0, space.choice_counts[i] - 1)) for i in range(length))
        width = space.choice_counts[length] if length < space.depth[1] else 0
        behind = tuple(sum(1 for f in feasible if f[: length + 1] == prefix + (c,)) for c in range(width))
        expected = (1 if prefix in feasible else 0, behind)
        assert cpp.completions(prefix) == python.completions(prefix) == expected


@st.composite
def larger_spaces(draw):
    """Spaces of depth up to 9: far too many stacks to enumerate, few enough states to count in
    Python (its DP is the reference here)."""
    data = draw(space_maps(max_depth=9))
    space = SearchSpace.from_dict(data)
    return space


@settings(max_examples=budget(ci=300, dev=40), deadline=None)
@given(larger_spaces())
def test_cpp_equals_python_beyond_enumeration(space):
    cpp, python = count(space), count(space, backend="python")
    assert cpp == python
    if cpp.feasible:
        a, b = FeasibleCounter(space), FeasibleCounter(space, backend="python")
        picks = sorted({0, cpp.feasible // 3, cpp.feasible // 2, cpp.feasible - 1})
        assert a.unrank_many(picks) == [b.unrank(i) for i in picks]
        prefix = a.unrank(cpp.feasible // 2)[:2]
        assert a.completions(prefix) == b.completions(prefix)


@pytest.mark.parametrize("name", sorted(EDGE_SPACES))
def test_edge_spaces_on_both_backends(name):
    space = SearchSpace.from_dict(EDGE_SPACES[name][0])
    assert count(space) == count(space, backend="python")
    assert FeasibleCounter(space).unrank_many(range(count(space).feasible)) == feasible_choices(space)


@pytest.mark.slow  # the 4.5e41 space on both backends
def test_mstcn_on_both_backends():
    # 11**40 candidates; the feasible count with an RF target is above 2**128 (its exact value
    # comes from the generating function, an independent count).
    space = load_space("examples/spaces/mstcn_dilations.yaml")
    expected = {rf: n for rf, n in generating_function_counts().items() if 6000 <= rf <= 10000}
    for backend in BACKENDS:
        result = count(space, backend=backend)
        assert result.total == 11**40
        assert result.feasible == sum(expected.values()) > 2**128
        assert dict(result.rf_histogram) == expected
    full = count(mstcn())  # no target: every stack, histogram of all RFs
    assert full.feasible == 11**40 and dict(full.rf_histogram) == generating_function_counts()


@pytest.mark.slow
def test_mstcn_unrank_agrees_on_both_backends():
    space = load_space("examples/spaces/mstcn_dilations.yaml")
    cpp, python = FeasibleCounter(space), FeasibleCounter(space, backend="python")
    assert cpp.feasible == python.feasible > 2**128
    picks = [0, 1, 12345678901234567890123456789, cpp.feasible // 2, cpp.feasible - 1]
    assert cpp.unrank_many(picks) == [python.unrank(i) for i in picks]
    stop, per_choice = cpp.completions(cpp.unrank(picks[2])[:20])
    assert (stop, per_choice) == python.completions(python.unrank(picks[2])[:20])
    assert stop == 0 and sum(per_choice) > 2**64


@pytest.mark.parametrize("backend", BACKENDS)
def test_errors_are_the_same_on_both_backends(backend):
    space = SearchSpace.from_dict({"depth": [1, 2], "layers": {"kernel": [1, 3]}, "targets": {"rf": 3}})
    counter = FeasibleCounter(space, backend=backend)
    for bad in (-1, 3, 2**200):
        with pytest.raises(IndexError, match="outside"):
            counter.unrank(bad)
    with pytest.raises(TypeError):
        counter.unrank(True)
    with pytest.raises(TypeError):
        counter.unrank(1.0)
    with pytest.raises(IndexError, match="position 1"):
        counter.completions([0, 2])
    with pytest.raises(IndexError, match="position 0"):
        counter.completions([-1])
    with pytest.raises(ValueError, match="at most 2"):
        counter.completions([0, 0, 0])
    assert counter.completions([0, 0]) == (0, ())  # a dead prefix at the maximum depth
    with pytest.raises(ValueError, match="backend"):
        count(space, backend="rust")
    covered = SearchSpace.from_dict({"depth": 1, "layers": {"kernel": 3}, "targets": {"coverage": "full"}})
    with pytest.raises(NotCountableError):
        count(covered, backend=backend)
    with pytest.raises(NotCountableError):
        FeasibleCounter(covered, backend=backend)


HUGE = {"input_size": 224, "depth": 30, "layers": {"kind": ["conv", "maxpool"], "kernel": [2, 3, 5, 7],
        "stride": [1, 2], "dilation": [1, 2, 3], "padding": "half"}}  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_memory_budget_refuses_instead_of_exhausting_the_machine(backend):
    space = SearchSpace.from_dict(HUGE)
    with pytest.raises(NotCountableError, match=r"counting needs more than 4 MiB of tables \(at depth \d+\)"):
        count(space, backend=backend, max_memory=4 << 20)
    with pytest.raises(NotCountableError, match="raise max_memory"):
        FeasibleCounter(space, backend=backend, max_memory=4 << 20)
    small = load_space("examples/spaces/imagenet_stem.yaml")
    assert count(small, backend=backend, max_memory=4 << 20).feasible == count(small, max_memory=None).feasible
    with pytest.raises(SpecError, match="max_memory must be >= 1"):
        count(small, backend=backend, max_memory=0)


@pytest.mark.slow  # a subprocess counting for a second or two
def test_ctrl_c_stops_a_long_count():
    code = ("from rfsearch.search import SearchSpace, count\n"
            f"space = SearchSpace.from_dict({HUGE!r})\n"
            "print('start', flush=True)\n"
            "try:\n    count(space, max_memory=1 << 31)\n"
            "except KeyboardInterrupt:\n    print('interrupted')\n")  # fmt: skip
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:  # fmt: skip
        first = proc.stdout.readline().strip() if proc.stdout is not None else ""
        if first != "start":
            proc.kill()
            raise AssertionError(f"no start: {proc.communicate()[1]}")
        time.sleep(0.5)
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert out.strip() == "interrupted", err
    assert time.perf_counter() - sent < 5
