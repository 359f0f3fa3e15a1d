"""The graph reference: exact per-node receptive fields on hand-checked graphs, the sequential
engine as the special case of a chain, merges and alignment, fractional jumps, global and
adaptive pooling, blind spots, collapse and overflow."""

import functools
import json
import warnings
from fractions import Fraction
from itertools import product

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rfsearch import AvgPool, Conv, Identity, MaxPool, SpecError, receptive_field
from rfsearch.graph import AlignmentError, AlignmentWarning, Graph, GraphBuilder
from rfsearch.graph import compute_graph as _compute_graph
from rfsearch.graph.reference import evaluate_states

# This file tests the pure-Python reference itself (compute_graph's default engine takes the core
# where it can; tests/test_graph_core.py checks that it equals this reference).
compute_graph = functools.partial(_compute_graph, engine="reference")


# --- the sequential engine is a chain ------------------------------------------------------------


@st.composite
def layers(draw, ndim):
    kind = draw(st.sampled_from(["conv", "maxpool", "avgpool", "identity"]))
    if kind == "identity":
        return Identity(name="relu")

    def per_axis(lo, hi):
        values = draw(st.lists(st.integers(lo, hi), min_size=ndim, max_size=ndim))
        return values[0] if ndim == 1 and draw(st.booleans()) else tuple(values)

    kernel, stride = per_axis(1, 5), per_axis(1, 3)
    dilation = per_axis(1, 3) if kind != "avgpool" else 1
    pad_kind = draw(st.sampled_from(["int", "pairs", "same", "valid"]))
    if pad_kind == "int":
        padding = per_axis(0, 3)
    elif pad_kind == "pairs":
        padding = tuple(tuple(draw(st.lists(st.integers(0, 3), min_size=2, max_size=2))) for _ in range(ndim))
    else:
        padding = pad_kind
    if kind == "conv":
        return Conv(kernel, stride, padding, dilation)
    cls = MaxPool if kind == "maxpool" else AvgPool
    return cls(kernel, stride, padding, dilation, draw(st.booleans()))


@st.composite
def chains(draw):
    ndim = draw(st.integers(1, 3))
    stack = draw(st.lists(layers(ndim), min_size=1, max_size=8))
    size = draw(st.one_of(st.none(), st.lists(st.integers(1, 80), min_size=ndim, max_size=ndim)))
    return stack, size


def _outcome(fn, *args):
    try:
        return fn(*args)
    except SpecError as e:  # 'same' with stride > 1 and no input size: both refuse it
        return "depends on the input size" in str(e)


@settings(max_examples=min(2000, settings.default.max_examples))  # ~12 ms each, drawing included
@given(chains())
def test_a_chain_graph_gives_exactly_the_sequential_numbers(case):
    stack, size = case
    expected = _outcome(receptive_field, stack, size)
    got = _outcome(compute_graph, stack, size)
    if expected is True:
        assert got is True
    else:
        assert got.valid == expected.valid and got.aligned
        assert got.collapsed_at == (None if expected.collapsed_at is None else str(expected.collapsed_at))
        for row in expected.layers:
            node = got.node(str(row.index))
            assert (node.axes is None) == (row.rf is None)  # after a collapse: not evaluated
            assert (node.rf, node.jump, node.effective_padding, node.start, node.output_size) == (
                row.rf, row.jump, row.effective_padding, row.start, row.output_size)  # fmt: skip
            assert node.center == row.center  # Fraction == float, exactly
            assert node.rf_min == row.rf  # one path: min = max
        assert (got.rf, got.jump, got.effective_padding, got.start, got.center, got.output_size) == (
            expected.rf, expected.jump, expected.effective_padding, expected.start, expected.center,
            expected.output_size)  # fmt: skip


def test_seed_example_as_a_graph():
    from pathlib import Path

    r = compute_graph(Path(__file__).resolve().parents[1] / "examples" / "graphs" / "seed.yaml")
    assert [r.node(i).rf for i in ("c1", "p1", "c2", "p2")] == [(3, 3), (4, 4), (8, 8), (10, 10)]
    assert r.jump == (4, 4) and r.effective_padding == (3, 3) and r.output_size == (8, 8)


# --- merges ----------------------------------------------------------------------------------------


def residual(shortcut_stride=1, branch_padding=1):
    g = GraphBuilder(input_size=32)
    x = g.conv("input", 3, padding=1, id="stem")
    y = g.conv(x, 3, stride=shortcut_stride, padding=branch_padding, id="a")
    y = g.conv(y, 3, padding=branch_padding, id="b")
    s = x if shortcut_stride == 1 else g.conv(x, 1, stride=shortcut_stride, id="down")
    g.add(y, s, id="sum")
    return g.build()


def test_residual_block_max_and_min_over_paths():
    r = compute_graph(residual())
    # Paths: stem -> a -> b (RF 3 + 2 + 2 = 7) and stem (RF 3); both centred on unit u.
    assert r.rf == (7,) and r.rf_min == (3,) and r.jump == (1,)
    assert r.effective_padding == (3,) and r.center == (0,) and r.aligned
    assert r.node("sum").blind_spots == (0,)


def test_strided_residual_block_is_aligned_like_torchvision():
    r = compute_graph(residual(shortcut_stride=2))
    # a: 3x3/2 pad 1 at jump 1 -> RF 5, P 2; b: +2*2 -> RF 9, P 4; down: RF 3, P 1 (centre 0 both).
    assert (r.rf, r.rf_min, r.jump, r.effective_padding, r.center) == ((9,), (3,), (2,), (4,), (0,))
    assert r.aligned


def test_misaligned_merge_is_an_error_naming_node_and_paths():
    with pytest.raises(SpecError, match=r"node 'sum': add of different sizes \('b' 28, 'stem' 32\)"):
        compute_graph(residual(branch_padding=0))
    g = GraphBuilder()
    x = g.conv("input", 3, id="c")  # no input size: sizes are not checked, centres are
    g.add(x, "input", id="m")
    with pytest.raises(AlignmentError) as info:
        compute_graph(g.build())
    message = str(info.value)
    assert "node 'm', axis 0" in message and "'c' (path input -> c)" in message and "centre 1" in message
    assert "'input' (path input)" in message and "centre 0" in message


def test_alignment_warn_and_ignore_still_compute():
    g = GraphBuilder()
    x = g.conv("input", 3, id="c")
    g.add(x, "input", id="m")
    graph = g.build()
    with pytest.warns(AlignmentWarning, match="node 'm'"):
        r = compute_graph(graph, alignment="warn")
    assert not r.aligned and r.misaligned[0].node == "m" and r.rf == (3,) and r.rf_min == (1,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = compute_graph(graph, alignment="ignore")
    assert quiet.to_dict() == r.to_dict()
    d = r.to_dict()
    assert d["aligned"] is False
    assert d["misaligned"][0]["paths"][0] == {"input": "c", "path": ["input", "c"], "jump": 1, "center": 1}
    with pytest.raises(SpecError, match="alignment must be one of"):
        compute_graph(graph, alignment="sometimes")


def test_different_jumps_are_misaligned():
    g = GraphBuilder()
    a = g.conv("input", 2, stride=2, id="a")
    b = g.conv("input", 3, stride=3, id="b")
    g.concat(a, b, id="cat")
    r = compute_graph(g.build(), alignment="ignore")
    assert {p.jump for p in r.misaligned[0].paths} == {2, 3}
    assert r.node("cat").blind_spots == (None,)  # no common period: not defined
    with pytest.raises(SpecError, match="paths have different jumps"):
        r.unit(0)


def test_merges_of_different_sizes_name_the_node_and_sizes():
    g = GraphBuilder(input_size=16)
    a = g.conv("input", 3, id="a")
    g.add(a, "input", id="sum")
    with pytest.raises(SpecError, match=r"node 'sum': add of different sizes \('a' 14, 'input' 16\)"):
        compute_graph(g.build(), alignment="ignore")
    g = GraphBuilder(input_size=16)
    pooled = g.global_pool("input", id="gap")
    g.concat("input", pooled, id="cat")
    with pytest.raises(SpecError, match="concat of different sizes"):
        compute_graph(g.build())


def test_squeeze_excitation_branch_broadcasts_and_is_exempt():
    g = GraphBuilder(input_size=(32, 32))
    x = g.conv("input", 3, padding=1, id="conv")
    s = g.global_pool(x, id="squeeze")
    s = g.conv(s, 1, id="fc1")
    s = g.conv(s, 1, id="fc2")
    g.multiply(x, s, id="scale")
    r = compute_graph(g.build())
    assert r.aligned
    assert r.node("squeeze").rf == (32, 32) and r.node("squeeze").axes[0].whole_input
    scale = r.node("scale")
    assert scale.rf == (3, 3) and scale.rf_min == (3, 3) and all(a.context for a in scale.axes)
    assert not r.node("conv").axes[0].context


def test_aspp_image_pooling_branch_upsampled_and_concatenated():
    g = GraphBuilder(input_size=(33, 33))
    a = g.conv("input", 3, padding=6, dilation=6, id="atrous6")
    b = g.conv("input", 1, id="conv1x1")
    p = g.global_pool("input", id="image_pool")
    p = g.upsample(p, size=33, mode="bilinear", align_corners=True, id="image_pool_up")
    g.concat(a, b, p, id="aspp")
    r = compute_graph(g.build())
    assert r.node("image_pool_up").axes[0].whole_input and r.node("image_pool_up").output_size == (33, 33)
    assert r.aligned and r.rf == (13, 13) and r.rf_min == (1, 1)
    assert r.node("aspp").blind_spots == (10, 10)  # the 6-dilated taps leave 5 gaps on each side


def test_global_pooling_without_input_size_has_unknown_rf():
    g = GraphBuilder()
    x = g.conv("input", 3, id="c")
    g.linear(g.flatten(g.global_pool(x, id="gap"), id="flat"), id="fc")
    r = compute_graph(g.build())
    assert r.rf == (None,) and r.jump == (None,) and r.node("c").rf == (3,)
    assert r.to_dict()["nodes"][-1]["whole_input"] == [True]


# --- fractional jumps ---------------------------------------------------------------------------


def test_transposed_conv_stride_2_kernel_2_halves_the_jump():
    g = GraphBuilder(input_size=8)
    x = g.conv("input", 3, stride=2, padding=1, id="down")
    g.conv_transpose(x, 2, stride=2, id="up")
    r = compute_graph(g.build())
    up = r.node("up")
    # Output units 2j and 2j+1 both come from input unit j: same 3-wide extent, jump 2/2 per pair.
    assert up.jump == (1,) and up.axes[0].period == 2 and up.output_size == (8,)
    assert [r.unit(u).interval[0] for u in range(4)] == [(-1, 1), (-1, 1), (1, 3), (1, 3)]


def test_transposed_conv_alone_has_jump_one_half():
    g = GraphBuilder(input_size=5)
    g.conv_transpose("input", 3, stride=2, padding=1, output_padding=1, id="up")
    r = compute_graph(g.build())
    assert r.jump == (Fraction(1, 2),) and r.output_size == (10,)
    # o = 2i - 1 + j, j < 3: even o = 2i has one tap (input i), odd o = 2i + 1 two (i and i + 1).
    assert r.rf == (2,) and r.rf_min == (1,)
    assert r.to_dict()["jump"] == ["1/2"]
    assert [r.unit(u).interval[0] for u in range(4)] == [(0, 0), (0, 1), (1, 1), (1, 2)]


def test_transposed_conv_can_leave_units_empty():
    g = GraphBuilder(input_size=4)
    g.conv_transpose("input", 1, stride=2, id="up")
    r = compute_graph(g.build())
    assert r.rf == (1,) and r.rf_min == (0,)  # odd outputs see no input at all
    with pytest.raises(SpecError, match="unit 1 sees no input"):
        r.unit(1)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_upsampling_by_two(mode):
    g = GraphBuilder(input_size=4)
    g.upsample("input", scale_factor=2, mode=mode, id="up")
    r = compute_graph(g.build())
    assert r.jump == (Fraction(1, 2),) and r.rf == r.rf_min == (1,) and r.output_size == (8,)
    assert [r.unit(u).interval[0][0] for u in range(8)] == [0, 0, 1, 1, 2, 2, 3, 3]


def test_bilinear_align_corners_false_and_true():
    g = GraphBuilder(input_size=4)
    g.upsample("input", scale_factor=2, mode="linear", id="up")
    r = compute_graph(g.build())
    # src = (o + 1/2)/2 - 1/2: -1/4, 1/4, 3/4, ...: two taps everywhere (unit 0: input -1 and 0).
    assert r.rf == r.rf_min == (2,) and r.start == (-1,) and r.jump == (Fraction(1, 2),)
    g = GraphBuilder(input_size=4)
    g.upsample("input", size=7, mode="linear", align_corners=True, id="up")
    r = compute_graph(g.build())
    # src = o * 3/6: integer on even o (one tap), half on odd o (two taps).
    assert r.jump == (Fraction(1, 2),) and r.rf == (2,) and r.rf_min == (1,) and r.output_size == (7,)
    with pytest.raises(SpecError, match="align_corners=True makes the jump depend on the input size"):
        g = GraphBuilder()
        g.upsample("input", scale_factor=2, mode="linear", align_corners=True, id="up")
        compute_graph(g.build())


def test_rational_scale_factor_and_size():
    g = GraphBuilder(input_size=6)
    g.upsample("input", scale_factor="3/2", id="up")
    r = compute_graph(g.build())
    assert r.jump == (Fraction(2, 3),) and r.output_size == (9,) and r.node("up").axes[0].period == 3
    g = GraphBuilder(input_size=6)
    g.upsample("input", size=9, id="up")
    assert compute_graph(g.build()).jump == (Fraction(2, 3),)
    with pytest.raises(SpecError, match="float"):
        GraphBuilder().upsample("input", scale_factor=1.5)


def test_pool_then_nearest_upsampling_is_aligned_with_the_skip_on_average():
    # FCN-like: 2x2 average pool, nearest upsampling by 2, add the skip. Output units 2j and 2j+1
    # both see [2j, 2j+1] (centre 2j + 1/2) while the skip's are centred on 2j and 2j+1: off by
    # -1/2 and +1/2, on average 0. The centre line (the mean over a period) agrees: aligned.
    g = GraphBuilder(input_size=16)
    d = g.avgpool("input", 2, id="pool")
    u = g.upsample(d, scale_factor=2, id="up")
    g.add(u, "input", id="sum")
    r = compute_graph(g.build())
    assert r.aligned and r.node("up").jump == (1,) and r.node("up").axes[0].period == 2
    assert r.node("up").center == (Fraction(1, 2),) and r.rf == (2,) and r.rf_min == (1,)
    # Nearest upsampling by 2 of a 3x3/2 conv is not: its units 2j, 2j+1 are centred on 2j.
    g = GraphBuilder(input_size=16)
    d = g.conv("input", 3, stride=2, padding=1, id="down")
    u = g.upsample(d, scale_factor=2, id="up")
    g.add(u, "input", id="sum")
    with pytest.raises(AlignmentError, match=r"'up' \(path input -> down -> up\): jump 1, centre -1/2"):
        compute_graph(g.build())


def test_fractional_jump_is_the_product_of_ratios_and_extents_match_the_exact_sets():
    g = GraphBuilder(input_size=50)
    x = g.conv("input", 3, stride=3, id="a")
    x = g.upsample(x, scale_factor="5/2", mode="linear", id="b")
    g.conv_transpose(x, 3, stride=2, padding=1, id="c")
    run, _ = evaluate_states(g.build())
    state = run.states["c"][0]
    (cls,) = state.classes
    assert cls.jump == 3 * Fraction(2, 5) / 2 and cls.period == 10
    # The extents (first and last tap of each cycle) agree with the exact sets (every tap).
    for u in range(-25, 25):
        positions = state.support.positions(u)
        assert cls.at(u) == (positions[0], positions[-1])


@settings(max_examples=min(1000, settings.default.max_examples))
@given(st.lists(st.sampled_from(["conv3s2", "conv_t3s2p1", "conv_t1s3", "up5/2", "up2/3lin", "ap", "pool2"]),
                min_size=1, max_size=4))
def test_extents_agree_with_exact_sets_on_random_fractional_chains(ops):
    g = GraphBuilder(input_size=40)
    x = "input"
    for i, op in enumerate(ops):
        name = f"n{i}"
        if op == "conv3s2":
            x = g.conv(x, 3, stride=2, padding=1, id=name)
        elif op == "conv_t3s2p1":
            x = g.conv_transpose(x, 3, stride=2, padding=1, id=name)
        elif op == "conv_t1s3":
            x = g.conv_transpose(x, 1, stride=3, id=name)
        elif op == "up5/2":
            x = g.upsample(x, scale_factor="5/2", id=name)
        elif op == "up2/3lin":
            x = g.upsample(x, scale_factor="2/3", mode="linear", id=name)
        elif op == "ap":
            x = g.adaptive_pool(x, 7, id=name)
        else:
            x = g.avgpool(x, 2, id=name)
    run, collapsed = evaluate_states(g.build())
    assume(collapsed is None)
    state = run.states[x][0]
    (cls,) = state.classes
    for u in range(-2 * cls.period, 2 * cls.period):
        positions = state.support.positions(u)
        assert cls.at(u) == ((positions[0], positions[-1]) if positions else None)


# --- pooling, cropping, blind spots ---------------------------------------------------------------


def test_adaptive_pooling_uses_pytorch_windows():
    g = GraphBuilder(input_size=13)
    g.adaptive_pool("input", 6, id="ap")
    r = compute_graph(g.build())
    # start = floor(13 i / 6), end = ceil(13 (i + 1) / 6): [0,3) [2,5) [4,7) [6,9) [8,11) [10,13)
    assert [r.unit(i).interval[0] for i in range(6)] == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10), (10, 12)]
    g = GraphBuilder(input_size=10)
    g.adaptive_pool("input", 4, id="ap")
    r = compute_graph(g.build())
    assert [r.unit(i).interval[0] for i in range(4)] == [(0, 2), (2, 4), (5, 7), (7, 9)]
    assert r.rf == r.rf_min == (3,) and r.jump == (Fraction(5, 2),)
    g = GraphBuilder(input_size=7)
    g.adaptive_pool("input", 3, id="ap")
    r = compute_graph(g.build())
    assert r.rf == (3,) and r.rf_min == (3,)
    g = GraphBuilder(input_size=8)
    g.adaptive_pool("input", 3, id="ap")
    r = compute_graph(g.build())  # [0,3) [2,6) [5,8): sizes 3, 4, 3
    assert r.rf == (4,) and r.rf_min == (3,)
    with pytest.raises(SpecError, match="needs the input size"):
        g = GraphBuilder()
        g.adaptive_pool("input", 3, id="ap")
        compute_graph(g.build())


def test_adaptive_pooling_to_one_is_global_per_axis():
    g = GraphBuilder(input_size=(10, 12))
    g.adaptive_pool("input", (1, None), id="ap")
    r = compute_graph(g.build())
    a0, a1 = r.node("ap").axes
    assert a0.whole_input and a0.rf == 10 and not a1.whole_input and a1.rf == 1 and r.output_size == (1, 12)


def test_pad_and_crop_shift_the_window():
    g = GraphBuilder(input_size=10)
    x = g.pad("input", [[2, 1]], id="pad")
    g.conv(x, 3, id="conv")
    r = compute_graph(g.build())
    assert r.effective_padding == (2,) and r.output_size == (11,)
    g = GraphBuilder(input_size=10)
    x = g.crop("input", [[3, 1]], id="crop")
    g.conv(x, 3, id="conv")
    r = compute_graph(g.build())
    assert r.start == (3,) and r.output_size == (4,)


def test_crop_like_centres_the_skip():
    g = GraphBuilder(input_size=20)
    small = g.conv("input", 5, id="small")  # 16 units
    g.concat(g.crop("input", like=small, id="crop"), small, id="cat")
    r = compute_graph(g.build())
    assert r.node("crop").start == (2,) and r.aligned and r.output_size == (16,)
    g = GraphBuilder()
    small = g.conv("input", 5, id="small")
    g.crop("input", like=small, id="crop")
    with pytest.raises(SpecError, match="node 'crop': cropping to the size of 'small' needs the input size"):
        compute_graph(g.build())


def reached_offsets(taps_per_layer):
    """Brute force: the sum-set of the layers' tap offsets (a sequential path's reached offsets)."""
    return {sum(c) for c in product(*taps_per_layer)}


@settings(max_examples=min(2000, settings.default.max_examples))
@given(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 4)), min_size=1, max_size=4))
def test_blind_spots_equal_the_sum_set_holes(params):
    stack = [Conv(k, s, 0, d) for k, s, d in params]
    jump, taps = 1, []
    for k, s, d in params:
        taps.append([j * d * jump for j in range(k)])
        jump *= s
    reached = reached_offsets(taps)
    r = compute_graph(stack)
    assert r.rf == (max(reached) + 1,)
    assert r.blind_spots == (max(reached) + 1 - len(reached),)


def test_dilated_residual_stack_covers_its_holes_through_the_shortcut():
    g = GraphBuilder()
    x = g.conv("input", 2, dilation=4, padding=[[4, 0]], id="d4")
    y = g.conv(x, 2, dilation=1, padding=[[1, 0]], id="d1")
    r = compute_graph(g.build())
    assert r.blind_spots == (2,)  # reaches offsets -5, -4, -1, 0: two holes (-3, -2)
    g = GraphBuilder(alignment="ignore")
    x = g.conv("input", 2, dilation=4, padding=[[4, 0]], id="d4")
    y = g.conv(x, 2, dilation=1, padding=[[1, 0]], id="d1")
    z = g.conv("input", 4, padding=[[3, 0]], id="dense")
    g.add(y, z, id="sum")
    assert compute_graph(g.build()).blind_spots == (0,)


# --- collapse, overflow, sizes ---------------------------------------------------------------------


def test_collapse_stops_the_graph():
    g = GraphBuilder(input_size=4)
    x = g.conv("input", 3, id="a")
    x = g.conv(x, 3, id="b")
    g.conv(x, 3, id="c")
    r = compute_graph(g.build())
    assert not r.valid and r.collapsed_at == "b" and r.output_size == (0,) and r.rf == (5,)
    assert r.node("c").axes is None and r.to_dict()["nodes"][2]["rf"] is None


def test_overflow_is_detected_never_wrapped():
    stack = [Conv(3, 2)] * 70
    with pytest.raises(OverflowError, match="int64"):
        compute_graph(stack)
    with pytest.raises(OverflowError):
        receptive_field(stack)


def test_one_size_means_every_axis_and_per_axis_values_fix_the_axes():
    g = GraphBuilder()
    g.conv("input", (1, 7), padding=(0, 3), id="c")
    r = compute_graph(g.build(), 17)
    assert r.rf == (1, 7) and r.output_size == (17, 17)
    with pytest.raises(SpecError, match="input size has 3 axes"):
        compute_graph(g.build(), (4, 4, 4))


def test_json_writes_fractions_as_strings():
    g = GraphBuilder(input_size=3)
    g.upsample("input", scale_factor=3, mode="linear", id="up")
    d = json.loads(compute_graph(g.build()).json())
    # src = (o + 1/2)/3 - 1/2: unit 0 at -1/3 reads inputs -1 and 0 (centre -1/2).
    assert d["jump"] == ["1/3"] and d["rf"] == [2] and d["rf_min"] == [1]
    assert d["center"] == ["-1/2"] and d["start"] == [-1] and d["effective_padding"] == [1]


def test_graph_from_layers_and_spec_objects():
    stack = [Conv(3, padding=1), MaxPool(2)]
    assert compute_graph(stack, 8).to_dict() == compute_graph(Graph.from_layers(stack, 8)).to_dict()


def test_axes_are_independent_and_equal_axes_share_the_work():
    from rfsearch.graph import zoo_model

    graph = zoo_model("resnet18")
    both = compute_graph(graph, (224, 160))
    wide, narrow = compute_graph(graph, 224), compute_graph(graph, 160)
    for row in both.nodes:
        assert row.axes[0] == wide.node(row.id).axes[0] and row.axes[1] == narrow.node(row.id).axes[1]
    assert both.output_size == (7, 5)


def test_a_size_one_map_upsampled_is_a_broadcast_input():
    g = GraphBuilder(input_size=9)
    x = g.conv("input", 3, padding=1, id="c")
    s = g.conv("input", 9, id="squash")  # one unit, a local RF of 9
    up = g.upsample(s, size=9, mode="linear", align_corners=True, id="spread")  # jump 0: every unit the same
    g.add(x, up, id="sum")
    r = compute_graph(g.build())
    assert r.aligned and r.node("spread").jump == (0,) and r.rf == (3,) and r.node("sum").axes[0].context
    g = GraphBuilder(input_size=9)
    x = g.conv("input", 3, padding=1, id="c")
    g.add(x, g.conv("input", 9, id="squash"), id="sum")  # size 1 against 9: broadcast (PyTorch's rule)
    r = compute_graph(g.build())
    assert r.aligned and r.rf == (3,) and r.node("sum").axes[0].context


def test_huge_kernels_do_not_walk_their_taps():
    import time

    start = time.perf_counter()
    r = compute_graph([Conv(10**18), Conv(3, dilation=10**15)])
    assert r.rf == (10**18 + 2 * 10**15,) and r.blind_spots == (None,)
    assert time.perf_counter() - start < 1.0


def test_merging_only_broadcast_like_inputs_keeps_them_local():
    g = GraphBuilder(input_size=9)
    a = g.conv("input", 9, id="a")  # one unit each
    b = g.conv("input", 5, stride=4, id="b")  # (9 - 5)/4 + 1 = 2 units: b is not size 1
    g.add(g.upsample(a, size=2, mode="linear", align_corners=True, id="a_up"), b, id="sum")
    r = compute_graph(g.build())
    assert r.rf == (5,) and r.node("sum").axes[0].context  # a_up (jump 0) broadcasts against b
    g = GraphBuilder(input_size=9)
    a = g.conv("input", 9, id="a")
    c = g.conv("input", 7, stride=2, id="c")  # 2 units
    g.add(g.upsample(a, size=2, mode="linear", align_corners=True, id="a_up"),
          g.upsample(g.conv(c, 2, id="c1"), size=2, mode="linear", align_corners=True, id="c_up"), id="sum")
    r = compute_graph(g.build(), alignment="ignore")
    assert r.rf == (9,) and r.rf_min == (9,) and not r.node("sum").axes[0].whole_input


# --- the positions a unit depends on (real paths) ------------------------------------------------


def test_unit_reach_is_a_set_of_points_not_a_product_of_axes():
    from rfsearch.graph import unit_reach

    g = GraphBuilder(input_size=(7, 7))
    a = g.conv("input", (3, 1), padding=(1, 0), id="tall")
    b = g.conv("input", (1, 3), padding=(0, 1), id="wide")
    g.add(a, b, id="plus")
    graph = g.build()
    assert unit_reach(graph, (3, 3)) == {(2, 3), (3, 3), (4, 3), (3, 2), (3, 4)}  # a plus, not a 3x3 square
    assert unit_reach(graph, 0) == {(0, 0), (1, 0), (0, 1)}  # the padding is not a position
    assert compute_graph(graph).unit((0, 0)).interval == ((-1, 1), (-1, 1))  # the interval counts it


def test_unit_reach_stops_at_every_nodes_border_and_follows_broadcasts():
    from rfsearch.graph import unit_reach

    g = GraphBuilder(input_size=8)
    x = g.conv("input", 3, padding=1, id="a")
    g.conv(x, 3, padding=1, id="b")
    graph = g.build()
    # Unit 0 of b reads a's units -1 (padding), 0, 1: inputs 0..2, not the 5 of the interval [-2, 2].
    assert unit_reach(graph, 0) == {(0,), (1,), (2,)} and unit_reach(graph, 4) == {(p,) for p in range(2, 7)}
    assert compute_graph(graph).unit(0).interval == ((-2, 2),)
    g = GraphBuilder(input_size=9)
    x = g.conv("input", 3, padding=1, id="c")
    s = g.conv("input", 9, id="squash")  # one unit: broadcast against c's 9
    g.add(x, s, id="sum")
    assert unit_reach(g.build(), 0) == {(p,) for p in range(9)}  # the broadcast input sees everything
    g = GraphBuilder(input_size=6)
    g.linear(g.flatten(g.conv("input", 3, id="c"), id="f"), id="fc")
    assert unit_reach(g.build(), 0) == {(p,) for p in range(6)}
    with pytest.raises(SpecError, match="need the input size"):
        unit_reach([Conv(3)], 0)
    with pytest.raises(SpecError, match=r"unit index on axis 0 must be >= 0 < 6"):
        unit_reach([Conv(3)], 6, input_size=8)
    with pytest.raises(SpecError, match="node '1' has no output units"):
        unit_reach([Conv(5), Conv(5)], 0, input_size=6)
    with pytest.raises(SpecError, match=r"node '2' was not evaluated \(the graph collapsed at '1'\)"):
        unit_reach([Conv(5), Conv(5), Conv(1)], 0, input_size=6)
    huge = [Conv(10**12, padding=10**12)]  # unit 10**12 reads [0, 10**12): the taps are not walked
    assert unit_reach(huge, 10**12, input_size=5) == {(p,) for p in range(5)} and unit_reach(huge, 0, input_size=5) == set()
