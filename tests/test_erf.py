"""The exact uniform-weight ERF: the core (C++) equals the pure-Python reference exactly on random
chains and graphs (borders or not); its reach is the theoretical RF; int64 overflow turns into
float64 counts; Luo et al.'s sqrt(n) growth; the summaries."""

from __future__ import annotations

import math

import numpy as np
import pytest
from budgets import budget
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from realnet_cases import graphs

import rfsearch
from rfsearch import _core
from rfsearch.core.erf import ERF, chain_counts_reference, stack_erf
from rfsearch.errors import SpecError
from rfsearch.graph import Graph, GraphBuilder, compute_graph
from rfsearch.graph.erf import erf_problem, graph_erf, graph_erf_reference
from rfsearch.model.layers import Conv, MaxPool

# --- chains -----------------------------------------------------------------------------------------


@st.composite
def chains(draw):
    n = draw(st.integers(1, 8))
    ints = lambda lo, hi: draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n))  # noqa: E731
    return ints(1, 5), ints(1, 3), ints(1, 3)


@settings(max_examples=budget(ci=10_000, dev=300), deadline=None)
@given(chains())
def test_chain_core_equals_reference(case):
    k, s, d = case
    got = _core.chain_erf(kernel=np.array(k, np.int64), stride=np.array(s, np.int64), dilation=np.array(d, np.int64))
    assert got["exact"] and got["counts"].tolist() == chain_counts_reference(k, s, d)


def test_chain_counts_are_the_convolution_of_tap_indicators():
    # conv3, pool2 (jump 2), conv3: [1 1 1] * [1 1] * [1 0 1 0 1] scaled
    assert chain_counts_reference([3, 2, 3], [1, 2, 1], [1, 1, 1]) == [1, 2, 3, 3, 3, 3, 2, 1]
    # dilated: kernel 2, dilation 4: taps 4 apart; a hole of 3 (blind spots) between
    assert chain_counts_reference([2], [1], [4]) == [1, 0, 0, 0, 1]
    e = stack_erf([Conv(2, dilation=4), Conv(2, dilation=1)])
    assert e.counts.tolist() == [1, 1, 0, 0, 1, 1] and e.blind_spots == 2


@settings(max_examples=budget(ci=2000, dev=100), deadline=None)
@given(chains(), st.integers(1, 2), st.integers(0, 3))
def test_stack_erf_equals_the_graph_count_of_the_chain(case, ndim, u):
    k, s, d = case
    layers = [Conv(tuple([a] * ndim), tuple([b] * ndim), 1, tuple([c] * ndim)) for a, b, c in zip(k, s, d)]
    chain = stack_erf(layers, unit=u)
    graph = graph_erf(Graph.from_layers(layers), unit=u)
    assert chain.origin == graph.origin and chain.extent == graph.extent
    assert np.array_equal(chain.counts, graph.counts)
    assert np.array_equal(stack_erf(layers, unit=u, backend="python").counts, chain.counts)


# --- graphs -----------------------------------------------------------------------------------------


def dense(reached, ndim):
    lo = tuple(min(p[a] for p in reached) for a in range(ndim))
    hi = tuple(max(p[a] for p in reached) for a in range(ndim))
    out = np.zeros([h - l + 1 for l, h in zip(lo, hi)], np.int64)
    for p, c in reached.items():
        out[tuple(x - l for x, l in zip(p, lo))] = c
    return out, lo


@settings(max_examples=budget(ci=1000, dev=150), deadline=None)  # ~40 ms each (the Python reference)
@given(graphs(), st.booleans(), st.data())
def test_graph_core_equals_reference(case, borders, data):
    graph, size = case
    result = compute_graph(graph)
    sizes = result.node(result.output).output_size
    unit = tuple(data.draw(st.integers(0, n - 1)) for n in sizes)
    core = graph_erf(graph, unit=unit, borders=borders)
    reference = graph_erf(graph, unit=unit, borders=borders, backend="python")
    assert core.exact and reference.exact
    assert core.origin == reference.origin and np.array_equal(core.counts, reference.counts)


@settings(max_examples=budget(ci=3000, dev=150), deadline=None)
@given(graphs(), st.data())
def test_the_reach_is_the_theoretical_rf(case, data):
    """Without borders, the positions reached span exactly the unit's extent on every axis (the
    reference's interval arithmetic, an independent computation). A broadcast branch (global
    context) reaches the whole input: the RF leaves it out, the counts do not."""
    graph, size = case
    result = compute_graph(graph)
    assume(not any(a.context for a in result.final.axes))
    sizes = result.node(result.output).output_size
    unit = tuple(data.draw(st.integers(0, n - 1)) for n in sizes)
    try:
        extent = result.unit(unit).interval
    except SpecError:  # paths with different jumps: no single interval
        assume(False)
    e = graph_erf(graph, unit=unit)
    if e.counts.size == 0:  # a unit that sees nothing (a kernel-1 transposed conv's odd units)
        return
    for a, (lo, hi) in enumerate(extent):
        reached = np.nonzero(e.counts.sum(axis=tuple(b for b in range(e.ndim) if b != a)))[0]
        assert (e.origin[a] + reached.min(), e.origin[a] + reached.max()) == (lo, hi)


def test_borders_cut_paths_through_padding():
    # Two padded 3-convs on 5 positions: unit 0 reads position -1 of the first conv (padding), which
    # the borderless count continues to positions -2..0.
    layers = [Conv(3, padding=1), Conv(3, padding=1)]
    free = graph_erf(layers, 5, unit=0)
    cut = graph_erf(layers, 5, unit=0, borders=True)
    assert free.origin == (-2,) and free.counts.tolist() == [1, 2, 3, 2, 1]
    assert cut.origin == (0,) and cut.counts.tolist() == [2, 2, 1]  # positions 0, 1, 2 via units 0 and 1


def test_the_seed_network_erf():
    e = graph_erf("conv3p1,maxpool2,conv3p1,maxpool2", "32x32", unit=(3, 3))
    # [1 1 1] * [1 1] * [1 0 1 0 1] (jump 2) * [1 0 1] (jump 2): the tutorial's 10 positions, not all alike
    one_axis = [1, 2, 4, 5, 6, 6, 5, 4, 2, 1]
    assert e.extent == ((9, 18), (9, 18)) and e.counts.tolist() == np.outer(one_axis, one_axis).tolist()
    assert e.total == 36 * 36 and e.width(0.5) == (4, 4)


def test_resnet50_counts_fit_int64():
    e = graph_erf("zoo:resnet50")
    assert e.exact and e.counts.dtype == np.int64 and e.rf == (427, 427)
    # Per bottleneck a unit has 9 + 1 paths (3x3 conv or shortcut), 16 blocks; conv1 49, maxpool 9.
    assert e.total == 49 * 9 * 10**16


def test_int64_overflow_gives_float_counts():
    layers = [Conv(3, padding=1)] * 45  # 3^45 paths: beyond 2^63
    e = graph_erf(layers, 200, unit=100)
    assert not e.exact and e.counts.dtype == np.float64
    reference = graph_erf_reference(erf_problem(layers, 200, unit=100))
    values = [reference[(p,)] for p in range(e.origin[0], e.origin[0] + e.counts.size)]
    assert np.allclose(e.counts, np.array(values, dtype=np.float64), rtol=1e-13, atol=0)
    chain = stack_erf(layers)
    assert not chain.exact and np.allclose(chain.counts, e.counts, rtol=1e-13)


def test_merges_sum_paths_and_broadcasts_spread():
    g = GraphBuilder(input_size=9, alignment="ignore")
    a = g.conv("input", 3, padding=1, id="a")
    g.add(a, "input", id="sum")
    assert graph_erf(g.build(), unit=4).counts.tolist() == [1, 2, 1]
    g = GraphBuilder(input_size=5, alignment="ignore")
    pooled = g.global_pool("input", id="gap")
    g.multiply("input", pooled, id="se")  # every unit also reads every input through the pool
    e = graph_erf(g.build(), unit=2)
    assert e.origin == (0,) and e.counts.tolist() == [1, 1, 2, 1, 1]


def test_errors():
    with pytest.raises(SpecError, match="unit index on axis 0 must be >= 0 < 8"):
        graph_erf("conv3p1,maxpool2", "16x16", unit=(8, 0))
    with pytest.raises(SpecError, match="borders needs the input size"):
        graph_erf("conv3p1", borders=True)
    with pytest.raises(SpecError, match="no node 'x'"):
        graph_erf("conv3p1", node="x")
    with pytest.raises(SpecError, match="backend"):
        graph_erf("conv3", backend="fortran")
    with pytest.raises(SpecError, match="fraction"):
        stack_erf("conv3").width(1.5)
    with pytest.raises(TypeError, match="int64"):
        _core.chain_erf(kernel=np.array([3.5]), stride=np.array([1]), dilation=np.array([1]))


# --- Luo et al. and the summaries ---------------------------------------------------------------------


def test_luo_sqrt_n_growth():
    # n 3x3 convs: each axis is a sum of n uniform taps in {-1, 0, 1}: std sqrt(2n/3), RF 2n + 1.
    previous = None
    for n in (1, 2, 4, 8, 16, 32):
        e = stack_erf([Conv(3)] * n, "64x64")
        assert e.std == pytest.approx((math.sqrt(2 * n / 3),) * 2, rel=1e-12)
        share = e.width(0.95)[0] / e.rf[0]
        if previous is not None and n >= 4:
            assert share < previous  # the ERF is an ever smaller part of the RF
        previous = share
    assert e.rf == (65, 65) and e.width(0.95) == (19, 19)  # ~ 2 x 1.96 std: 29% of the RF


def test_summaries_of_a_known_distribution():
    e = ERF(np.array([1, 3, 6, 7, 6, 3, 1]), (0,), ((0, 6),))
    assert e.total == 27 and e.center == (3.0,) and e.mean == (3.0,)
    assert e.width(0.25) == (1,) and e.width(0.5) == (3,) and e.width(0.9) == (5,) and e.width(0.95) == (7,)
    assert e.radius(0.5) == 1.0 and e.radius(1.0) == 3.0
    summary = e.summary()
    assert summary["width_50_of_rf"] == [round(3 / 7, 6)] and summary["paths"] == 27
    assert "95% of the mass in 7" in repr(e) and "<table>" in e._repr_html_()
    two = ERF(np.outer([1, 2, 1], [1, 2, 1]), (-1, -1), ((-1, 1), (-1, 1)))
    assert two.radius(0.25) == 0.0 and two.radius(0.75) == 1.0 and two.radius(1.0) == pytest.approx(math.sqrt(2))


def test_maxpool_counts_like_a_window():
    e = stack_erf([MaxPool(2), Conv(3)])
    assert e.counts.tolist() == [1, 1, 1, 1, 1, 1] and e.extent == ((0, 5),)


@pytest.mark.slow  # compiles the header alone
def test_erf_header_compiles_and_passes_alone(tmp_path):
    import shutil
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        pytest.fail("no C++ compiler found (the package build needs one too)")
    header = root / "src_cpp" / "include" / "rfsearch" / "erf.hpp"
    assert "pybind11" not in header.read_text()
    exe = tmp_path / "test_erf"
    for flags in ([], ["-DRFSEARCH_PORTABLE_BUILTINS"]):
        build = subprocess.run([compiler, "-std=c++17", "-O1", "-Wall", "-Wextra", "-Wconversion", "-Werror", *flags,
                                f"-I{root / 'src_cpp' / 'include'}", str(root / "tests" / "cpp" / "test_erf.cpp"), "-o",
                                str(exe)], capture_output=True, text=True)  # fmt: skip
        assert build.returncode == 0, build.stderr
        run = subprocess.run([str(exe)], capture_output=True, text=True)
        assert run.returncode == 0 and "erf C++ checks passed" in run.stdout, run.stderr


@pytest.mark.parametrize("unit, message", [
    (1.5, "unit index must be an integer, got 1.5"),
    (True, "unit index must be an integer, got True"),  # was unit 1 for a graph
    ([1, 2.0], "axis 1: unit index must be an integer, got 2.0"),
    ("1", "unit index must be an integer, got '1'"),
    (10**30, "unit index is larger than the int64 range, got a number of 31 digits"),
    ([1], "unit index needs 2 values (one per axis), got 1"),
])  # fmt: skip
def test_unit_indices_go_through_one_parser(unit, message):
    # a graph's unit and the ERF said "'float' object is not iterable" and refused numpy integers
    graph = rfsearch.compute_graph(rfsearch.zoo_model("resnet18"), input_size=64)
    for call in (lambda: graph.unit(unit), lambda: rfsearch.erf("zoo:resnet18", 64, unit=unit),
                 lambda: rfsearch.receptive_field("conv3,conv3", input_size=(16, 16)).unit(unit)):  # fmt: skip
        with pytest.raises(SpecError) as info:
            call()
        assert str(info.value) == message


def test_numpy_unit_indices_are_integers():
    graph = rfsearch.compute_graph(rfsearch.zoo_model("resnet18"), input_size=64)
    want = graph.unit((1, 1)).interval
    for unit in (np.int64(1), np.array([1, 1]), (np.int32(1), 1)):
        got = graph.unit(unit).interval
        assert got == want and all(type(v) is int for axis in got for v in axis)
        assert rfsearch.erf("zoo:resnet18", 64, unit=unit).counts.shape == rfsearch.erf("zoo:resnet18", 64, unit=1).counts.shape
