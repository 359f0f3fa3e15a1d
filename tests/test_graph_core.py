"""The C++ graph evaluator against the pure-Python reference: random DAGs (merges with
broadcasting, transposed convolutions, upsampling in every mode, pad / crop / crop-like, global
and adaptive pooling, 1-D and 2-D, with and without an input size), several parameter sets per
topology in one call; the sequential engine as the special case of a chain; threads, Ctrl-C,
and bad ids."""

import os
import re
import signal
import threading
import time
import numpy as np
import pytest
from budgets import budget
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rfsearch import AvgPool, Conv, Identity, MaxPool, SpecError, receptive_field
from rfsearch.graph import Graph, GraphBuilder, GraphSkeleton, Node, compute_graph, zoo_model, zoo_names
from rfsearch.graph.native import evaluate_graph
from rfsearch.graph.ops import AdaptivePool, ConvTranspose, Crop, Flatten, GlobalPool, Linear, Merge, Pad, Upsample

# --- random graphs: a topology, then parameters per set -------------------------------------------

SINGLE = ["conv", "conv", "conv", "pool", "identity", "conv_t", "conv_t", "upsample", "upsample", "pad", "crop",
          "crop_like", "adaptive", "global"]  # fmt: skip
MERGES = ["add", "concat", "multiply"]


@st.composite
def topologies(draw):
    """(ndim, [(id, kind, inputs, like)]): nodes fed by recent nodes, merges by any earlier ones."""
    ndim = draw(st.integers(1, 2))
    ids = ["input"]
    nodes = []
    for i in range(draw(st.integers(1, 9))):
        kind = draw(st.sampled_from(SINGLE + MERGES))
        if kind in MERGES:
            count = draw(st.integers(1 if kind == "concat" else 2, 3))
            inputs = tuple(draw(st.lists(st.sampled_from(ids), min_size=count, max_size=count)))
        else:
            inputs = (draw(st.sampled_from(ids[-3:])),)
        like = draw(st.sampled_from(ids)) if kind == "crop_like" else None
        nodes.append((f"n{i}", kind, inputs, like))
        ids.append(f"n{i}")
    return ndim, nodes


def per_axis(draw, ndim, values):
    """One value for every axis, or (2-D) one per axis."""
    if ndim == 1 or draw(st.booleans()):
        return draw(values)
    return tuple(draw(values) for _ in range(ndim))


def pairs(draw, ndim, hi):
    if draw(st.booleans()):
        return per_axis(draw, ndim, st.integers(0, hi))
    return tuple((draw(st.integers(0, hi)), draw(st.integers(0, hi))) for _ in range(ndim))


def op_for(draw, kind, ndim, like):
    """An op of `kind` with random parameters (valid by construction)."""
    if kind == "conv":
        padding = "same" if draw(st.integers(0, 9)) == 0 else pairs(draw, ndim, 3)
        return Conv(per_axis(draw, ndim, st.integers(1, 5)), per_axis(draw, ndim, st.integers(1, 3)), padding,
                    per_axis(draw, ndim, st.integers(1, 3)))  # fmt: skip
    if kind == "pool":
        k = draw(st.integers(1, 3))
        cls = draw(st.sampled_from([MaxPool, AvgPool]))
        return cls(k, draw(st.integers(1, 3)), draw(st.integers(0, k // 2)), 1, draw(st.booleans()))
    if kind == "identity":
        return Identity(name="relu")
    if kind == "conv_t":
        k, s, d = (draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 2)))
        return ConvTranspose(k, s, pairs(draw, ndim, d * (k - 1)), draw(st.integers(0, max(s, d) - 1)), d)
    if kind == "upsample":
        mode = draw(st.sampled_from(["nearest", "nearest-exact", "linear"]))
        corners = mode == "linear" and draw(st.booleans())
        if draw(st.booleans()):
            factor = per_axis(draw, ndim, st.sampled_from([1, 2, 3, "3/2", "5/2", "1/2", "2/3", "7/5"]))
            return Upsample(mode, factor, None, corners, draw(st.booleans()))
        return Upsample(mode, None, per_axis(draw, ndim, st.integers(1, 24)), corners)
    if kind == "pad":
        return Pad(pairs(draw, ndim, 3))
    if kind == "crop":
        return Crop(pairs(draw, ndim, 2))
    if kind == "crop_like":
        return Crop(None, like)
    if kind == "adaptive":
        if ndim == 2 and draw(st.booleans()):
            return AdaptivePool(tuple(draw(st.one_of(st.none(), st.integers(1, 6))) for _ in range(2)))
        return AdaptivePool(draw(st.integers(1, 6)))
    if kind == "global":
        return draw(st.sampled_from([GlobalPool(), GlobalPool("max"), Flatten(), Linear()]))
    return Merge(kind)


@st.composite
def graph_sets(draw, max_sets=3):
    """Graphs sharing one topology (1 to max_sets parameter sets) and an input size (or None)."""
    ndim, nodes = draw(topologies())
    graphs = []
    for _ in range(draw(st.integers(1, max_sets))):
        built = tuple(Node(i, op_for(draw, kind, ndim, like), inputs) for i, kind, inputs, like in nodes)
        graphs.append(Graph(built, alignment="ignore"))
    size = None if draw(st.integers(0, 4)) == 0 else tuple(draw(st.integers(1, 40)) for _ in range(ndim))
    return ndim, graphs, size


# --- the reference's outcome in the core's terms ----------------------------------------------------

CATEGORIES = [
    ("of different sizes", "size_mismatch"),
    ("input size", "needs_input_size"),
    ("cannot crop", "crop_too_large"),
    ("repeats only every", "period_too_large"),
]


def reference_outcome(graph, size):
    """('ok'|'collapsed', GraphRF) or (status, node id) for an error."""
    try:
        r = compute_graph(graph, size, alignment="ignore", engine="reference")
    except OverflowError as e:
        return "overflow", re.search(r"node '([^']*)'", str(e))[1]
    except SpecError as e:
        status = next(code for text, code in CATEGORIES if text in str(e))
        return status, re.search(r"node '([^']*)'", str(e))[1]
    return ("ok" if r.valid else "collapsed"), r


FIELDS = ("rf", "rf_min", "jump", "start", "center", "output_size", "period", "whole_input", "context")


def assert_same(ndim, graphs, size):
    sk = GraphSkeleton(graphs[0], ndim=graphs[0].resolve_ndim(size))  # as the reference resolves it
    ids = np.stack([sk.ids(g) for g in graphs])
    got = sk.evaluate(ids, input_size=size)
    outcomes = [reference_outcome(g, size) for g in graphs]
    for n, (status, expected) in enumerate(outcomes):
        assert got.status_name(n) == status, (n, status, got.error(n), expected if status != "ok" else None)
        if status not in ("ok", "collapsed"):
            assert sk.nodes[got.at[n]] == expected
            continue
        if status == "collapsed":
            assert sk.nodes[got.at[n]] == expected.collapsed_at
        misaligned = {(m.node, m.axis) for m in expected.misaligned}
        assert {(sk.nodes[v], a) for v, a in zip(*np.nonzero(got.flag("misaligned")[n]))} == misaligned
        for v, row in enumerate(expected.nodes):
            if row.axes is None:
                assert not got.flag("evaluated")[n, v].any()
                continue
            for a, axis in enumerate(row.axes):
                mine = got.axis_rf(n, v, a)
                assert [getattr(mine, f) for f in FIELDS] == [getattr(axis, f) for f in FIELDS], (n, row.id, a)
        assert got.graph_rf(n).to_dict()["rf"] == expected.to_dict()["rf"]
    assert_same_detail(sk, ids, size, graphs, got, outcomes)
    return outcomes


def assert_same_detail(sk, ids, size, graphs, plain, outcomes):
    """detail=True: the same values, plus blind spots and extents equal to the reference's for
    every simple set; and one graph through `evaluate_graph` is the reference's GraphRF whenever
    the core's answer is whole (else None)."""
    got = sk.evaluate(ids, input_size=size, detail=True)
    for name in ("rf", "rf_min", "jump_num", "jump_den", "start", "center2", "size", "period", "flags", "status", "at"):
        np.testing.assert_array_equal(getattr(got, name), getattr(plain, name), err_msg=name)
    for n, (status, expected) in enumerate(outcomes):
        if status not in ("ok", "collapsed") or not got.simple[n]:
            continue
        for v, row in enumerate(expected.nodes):
            for a, axis in enumerate(row.axes or ()):
                assert got.blind[n, v, a] == (-1 if axis.blind_spots is None else axis.blind_spots), (n, row.id, a)
                state = int(got.ext_state[n, v, a])
                if axis.extent is None:
                    assert state == 0, (n, row.id, a)
                else:
                    assert axis.extent.period == 1 and state in (1, 2), (n, row.id, a, axis.extent)
                    seen = (int(got.ext_lo[n, v, a]), int(got.ext_hi[n, v, a])) if state == 2 else None
                    assert seen == axis.extent.at(0), (n, row.id, a)
        whole = evaluate_graph(graphs[n], size)
        if expected.misaligned:
            assert whole is None
        else:
            assert whole == expected and whole.to_dict() == expected.to_dict()


@settings(max_examples=budget(ci=2_000, dev=200), deadline=None, suppress_health_check=[HealthCheck.too_slow])  # ~18 ms each
@given(graph_sets())
def test_random_graphs_equal_the_reference(case):
    ndim, graphs, size = case
    assume(len({g.resolve_ndim(size) for g in graphs}) == 1)  # per-axis values in some sets only
    assert_same(*case)


@settings(max_examples=budget(ci=500, dev=60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_residual_fpn_and_se_blocks_equal_the_reference(data):
    # Merges of equal sizes (the random DAGs above often stop at a size mismatch): residual
    # blocks with size-keeping branches, and down-up paths (conv or pool down, transposed conv
    # or upsampling up) added to their input.
    draw = data.draw
    size = draw(st.sampled_from([8, 12, 16, 24, 32]))
    graphs = []
    shape = draw(st.lists(st.sampled_from(["res", "fpn", "se"]), min_size=1, max_size=4))
    for _ in range(draw(st.integers(1, 3))):
        g = GraphBuilder(input_size=size, alignment="ignore")
        x = "input"
        for i, block in enumerate(shape):
            if block == "res":
                k, d = draw(st.sampled_from([1, 3, 5])), draw(st.integers(1, 3))
                y = g.conv(x, k, padding=d * (k - 1) // 2, dilation=d, id=f"b{i}.conv")
                x = g.add(x, y, id=f"b{i}")
            elif block == "fpn":
                s = draw(st.sampled_from([1, 2]))
                down = g.conv(x, draw(st.sampled_from([1, 2, 3])) * s - (s - 1) if s == 2 else 3, stride=s,
                              padding=1 if s == 1 else draw(st.integers(0, 1)), id=f"b{i}.down")  # fmt: skip
                if draw(st.booleans()):
                    up = g.conv_transpose(down, s, stride=s, id=f"b{i}.up") if s > 1 else down
                else:
                    mode = draw(st.sampled_from(["nearest", "nearest-exact", "linear"]))
                    up = g.upsample(down, size=size, mode=mode, align_corners=mode == "linear" and draw(st.booleans()),
                                    id=f"b{i}.up")  # fmt: skip
                x = g.add(x, g.crop(up, like=x, id=f"b{i}.crop") if s > 1 else up, id=f"b{i}")
            else:
                s = g.global_pool(x, id=f"b{i}.squeeze")
                x = g.multiply(x, g.conv(s, 1, id=f"b{i}.fc"), id=f"b{i}")
        graphs.append(g.build())
    assume(len({tuple((n.id, n.inputs, type(n.op)) for n in gr.nodes) for gr in graphs}) == 1)
    assert_same(1, graphs, (size,))


def test_zoo_models_equal_the_reference():
    for name in zoo_names():
        graph = zoo_model(name)
        sk = GraphSkeleton(graph)
        assert_same(sk.ndim, [graph], sk.input_size)
    # And at the other published size, where TF 'SAME' pads differently.
    assert_same(2, [zoo_model("mobilenet_v1")], (321, 321))


# --- the sequential engine is a chain ----------------------------------------------------------------


@st.composite
def stacks(draw):
    ndim = draw(st.integers(1, 2))
    layers = []
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["conv", "conv", "pool", "identity"]))
        layers.append(op_for(draw, kind, ndim, None))
    size = None if draw(st.booleans()) else tuple(draw(st.integers(1, 200)) for _ in range(ndim))
    return ndim, layers, size


@settings(max_examples=budget(ci=2_000, dev=200), deadline=None)  # ~6-10 ms each
@given(stacks())
def test_a_chain_gives_the_sequential_engines_numbers(case):
    _, layers, size = case
    graph = Graph.from_layers(layers)
    sk = GraphSkeleton(graph, ndim=graph.resolve_ndim(size))
    got = sk.evaluate(sk.ids(), input_size=size)
    try:
        expected = receptive_field(layers, size)
    except SpecError as e:  # 'same' with stride > 1 and no input size
        assert "depends on the input size" in str(e) and got.status_name(0) == "needs_input_size"
        expected = None
    if expected is not None:
        assert got.status_name(0) == ("ok" if expected.valid else "collapsed")
        ndim = sk.ndim
        for row in expected.layers:
            v = row.index
            assert got.flag("evaluated")[0, v].all() == (row.rf is not None)  # not after a collapse
            if row.rf is not None:
                assert tuple(got.rf[0, v]) == row.rf and tuple(got.jump_num[0, v]) == row.jump
                assert tuple(got.jump_den[0, v]) == (1,) * ndim and tuple(got.rf_min[0, v]) == row.rf
                assert tuple(got.effective_padding[0, v]) == row.effective_padding
                assert tuple(got.center2[0, v] / 2) == row.center
                assert (tuple(got.size[0, v]) if size else None) == row.output_size
        # Blind spots: the sequential engine's (reach.hpp, the one owner for chains) where both
        # keep sets (caps: 2^22 positions there, 2^20 here).
        detailed = sk.evaluate(sk.ids(), input_size=size, detail=True)
        assert detailed.simple[0]
        for row in expected.layers:
            for a, theirs in enumerate(row.blind_spots or ()):
                mine = int(detailed.blind[0, row.index, a])
                if theirs is not None and mine >= 0:
                    assert mine == theirs, (row.index, a)


def test_overflow_is_reported_at_the_layer_the_sequential_engine_names():
    layers = [Conv(3, 2, 1)] * 70
    with pytest.raises(OverflowError, match="layer 62"):
        receptive_field(layers)
    sk = GraphSkeleton(Graph.from_layers(layers))
    got = sk.evaluate(sk.ids())
    assert got.status_name(0) == "overflow" and sk.nodes[got.at[0]] == "62" and got.error(0).startswith("node '62'")
    assert got.flag("evaluated")[0, 61].all() and not got.flag("evaluated")[0, 62].any()
    with pytest.raises(OverflowError):
        compute_graph(layers)


# --- the API: sets, rows, threads, errors --------------------------------------------------------------


def test_skeleton_rows_ids_and_one_topology():
    graph = zoo_model("resnet18")
    sk = GraphSkeleton(graph)
    own = sk.ids()
    assert own.shape == (len(graph.nodes),) and (own[[sk.index("layer1.0")]] == -1).all()
    assert sk.row(Conv(3, padding=1)) == own[sk.index("layer1.0.conv1")]  # an existing row is found
    k5 = sk.row(Conv(5, padding=2))
    sets = np.tile(own, (3, 1))
    sets[1, sk.index("layer1.0.conv1")] = k5  # at jump 4: RF 435 + 2 * 4
    sets[2, sk.index("layer1.0.conv1")] = sk.row(Conv(5))  # unpadded: the block's add gets different sizes
    got = sk.evaluate(sets)
    assert list(got.rf[:, sk.index("layer4"), 0]) == [435, 443, 0] and list(got.ok) == [True, True, False]
    assert got.status_name(2) == "size_mismatch" and got.error(2) == "node 'layer1.0': a merge of different sizes"
    with pytest.raises(SpecError, match="parameter set 2: node 'layer1.0': a merge of different sizes"):
        got.graph_rf(2)
    assert got.graph_rf(1).rf == (443, 443) and got.aligned.tolist() == [True, True, True]
    # Another graph of the same topology maps onto rows; one of another topology is refused.
    g = GraphBuilder(input_size=32)
    g.conv("input", 3, id="a")
    with pytest.raises(SpecError, match="not the skeleton's"):
        sk.ids(g.build())
    with pytest.raises(SpecError, match=r"node 'conv1': row 999 is not a row of the table"):
        bad = own.copy()
        bad[0] = 999
        sk.evaluate(bad)
    with pytest.raises(SpecError, match=r"parameter set 0, node 'maxpool': row \d+ is a layer row|node 'fc'"):
        bad = own.copy()
        bad[sk.index("fc")] = own[0]  # a conv row on the linear node
        sk.evaluate(bad)
    with pytest.raises(SpecError, match="expected shape"):
        sk.evaluate(np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(TypeError, match="floats are refused"):
        sk.evaluate(own.astype(float))
    with pytest.raises(SpecError, match="merges have no parameters"):
        sk.row(Merge("add"))
    with pytest.raises(SpecError, match="has 3 axes but the skeleton has 2"):
        sk.row(Conv((1, 2, 3)))


def test_any_integer_dtype_and_strides_for_ids_and_threads_agree():
    sk = GraphSkeleton(zoo_model("resnet50"))
    own = sk.ids()
    rows = {s: [sk.row(Conv(k, stride=s, padding=k // 2)) for k in (1, 3, 5, 7)] for s in (1, 2)}
    rng = np.random.default_rng(5)
    sets = np.tile(own, (300, 1))
    for name in sk.nodes:
        if name.endswith("conv2"):
            stride = 2 if name.split(".")[1] == "0" and name != "layer1.0.conv2" else 1
            sets[:, sk.index(name)] = rng.choice(rows[stride], size=len(sets))
    one = sk.evaluate(sets, threads=1)
    assert one.ok.all() and len(set(one.rf[:, sk.index("layer4"), 0])) > 10
    for variant in (sets.astype(np.int16), np.asfortranarray(sets), sets.astype(np.uint32)):
        many = sk.evaluate(variant, threads=-1)
        for name in ("rf", "rf_min", "jump_num", "start", "center2", "size", "flags", "status"):
            assert np.array_equal(getattr(one, name), getattr(many, name)), name
    assert one.graph_rf(7).to_dict()["nodes"] == sk.evaluate(sets[7]).graph_rf(0).to_dict()["nodes"]
    # Set by set, the reference agrees (a few sets: each takes the reference ~25 ms).
    for n in (0, 1, 2):
        graph = sk.graph_of(sets[n])
        assert graph.node("layer2.0.conv2").op == sk.row_op(sets[n, sk.index("layer2.0.conv2")])
        assert compute_graph(graph, engine="reference").node("layer4").rf == tuple(one.rf[n, sk.index("layer4")])
    assert sk.graph_of(own) == sk.graph
    with pytest.raises(SpecError, match="expected 77 row ids"):
        sk.graph_of(own[:5])


def test_without_input_size_and_whole_input():
    g = GraphBuilder()
    x = g.conv("input", 3, id="c")
    g.linear(g.global_pool(x, id="gap"), id="fc")
    sk = GraphSkeleton(g.build())
    got = sk.evaluate(sk.ids())
    fc = got.axis_rf(0, "fc", 0)
    assert got.ok[0] and fc.whole_input and fc.rf is None and fc.jump is None and fc.output_size == 1
    assert got.axis_rf(0, "c", 0).output_size is None
    sized = sk.evaluate(sk.ids(), input_size=10).axis_rf(0, "fc", 0)
    assert sized.rf == 10 and sized.center == __import__("fractions").Fraction(9, 2)


@pytest.mark.skipif(os.name != "posix", reason="SIGINT from a timer thread needs POSIX signals")
def test_ctrl_c_stops_a_long_evaluation():
    # A ladder whose path classes double at every rung (kernels 2^i: every subset sum differs):
    # 2^18 classes, ~0.1 s per set; 300 sets would take a minute. SIGINT after 0.3 s.
    g = GraphBuilder()
    x = "input"
    for i in range(18):
        x = g.add(x, g.conv(x, 2**i + 1, padding=2 ** (i - 1) if i else 1, id=f"c{i}"), id=f"a{i}")
    sk = GraphSkeleton(g.build(), ndim=1)
    ids = np.tile(sk.ids(), (300, 1))
    start = time.perf_counter()
    sk.evaluate(ids[:1], threads=1)
    one = time.perf_counter() - start
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    start = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            sk.evaluate(ids, threads=2)
    finally:
        timer.cancel()
    assert time.perf_counter() - start < 0.3 + 20 * one + 1.0


@pytest.mark.parametrize("bad", ["yes", 2.5, None, 1])
def test_detail_must_be_a_bool(bad):
    sk = GraphSkeleton(zoo_model("resnet18"))
    with pytest.raises(SpecError, match="detail must be True or False"):
        sk.evaluate(sk.ids(), detail=bad)
