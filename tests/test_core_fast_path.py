"""The core's fast path against the pure-Python reference, on batches big enough to use it.

The core scores full blocks of 16 stacks in lockstep (src_cpp/include/rfsearch/batch_fast.hpp)
when every value a block uses is inside the fast path's limits, and re-runs any other block
through its scalar path. Every comparison runs the core on each SIMD path this CPU has (scalar,
baseline, v3 = AVX2, v4 = AVX-512), so each compiled variant of the fast path is checked. The differential tests (test_core_differential.py) use fewer than 16
stacks, so only the scalar path; these use hundreds to thousands, with values inside, at and
past the limits, errors anywhere, and near-overflow stacks, so that blocks both take the fast
path and fall back from it. Results and error messages must be identical.

Hypothesis draws the structure, numpy the values (as in test_core_differential.py). The Python
reference is slow on big batches, so example counts are explicit (not the CI profile's 10,000).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfsearch import PAD_SAME
from differential import core_on_every_path, outcome  # tests/differential.py

FAST_VALUE_LIMIT = 2**14  # kernel, dilation <= 2^14; padding < 2^14; stride <= 2^13 (batch_fast.hpp)
FAST_MAX_INPUT = 2**40
LAYER_FOLDS_PER_EXAMPLE = 40_000  # keeps one reference run around 0.1-0.2 s


def assert_backends_agree(arrays, **kw):
    want = outcome("python", arrays, **kw)
    assert core_on_every_path(outcome, arrays, **kw) == want
    return want


def strided_like(arr, layout):
    """The same values as arr, laid out differently in memory (the core reads any strides)."""
    if layout == "fortran":
        return np.asfortranarray(arr)
    if layout == "reversed":  # negative strides
        return np.ascontiguousarray(arr[::-1])[::-1]
    if layout == "every_other_layer":
        wide = np.zeros((arr.shape[0], 2 * arr.shape[1]) + arr.shape[2:], arr.dtype)
        wide[:, ::2] = arr
        return wide[:, ::2]
    return arr


def as_dtype(arr, dtype):
    """arr in dtype if its values fit (else left int64: batch_receptive_fields then converts to a common type)."""
    info = np.iinfo(dtype)
    return arr.astype(dtype) if arr.size == 0 or (arr.min() >= info.min and arr.max() <= info.max) else arr


@st.composite
def batches(draw):
    """Big random batches: mostly fast-path blocks, some values that force the scalar path."""
    depth_max = draw(st.sampled_from([1, 2, 3, 5, 10, 16, 25, 32, 33, 40]))
    axes = draw(st.sampled_from([None, None, 1, 3]))
    n_axes = 1 if axes is None else axes
    cap = max(16, LAYER_FOLDS_PER_EXAMPLE // (depth_max * n_axes))
    n = draw(st.sampled_from([16, 17, 31, 48, 100, min(1000, cap), min(3000, cap)]))
    shape = (n, depth_max) if axes is None else (n, depth_max, axes)
    dtype = draw(st.sampled_from([np.int8, np.int32, np.int64, np.uint16]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    p_stride = {1: 0.6, 2: 0.3, 4: 0.1}
    if draw(st.booleans()):  # a stride that is not a power of two sends its block to the scalar path
        p_stride = {1: 0.6, 2: 0.3, 4: 0.09, 3: 0.01}
    values = {
        "kernel": rng.integers(1, 8, shape),
        "stride": rng.choice(list(p_stride), shape, p=list(p_stride.values())),
        "dilation": rng.integers(1, 5, shape),
        "padding": rng.integers(0, 5, shape),
    }
    pad_after = draw(st.sampled_from(["same_array", "own"]))
    if pad_after == "own":
        values["padding_after"] = rng.integers(0, 5, shape)
    if dtype != np.int8 and draw(st.booleans()):
        # Rare values at and just past the fast path's limits (still valid for the core).
        edge = rng.random(shape) < 0.002
        values["kernel"][edge] = rng.choice([FAST_VALUE_LIMIT, FAST_VALUE_LIMIT + 1], int(edge.sum()))
        edge = rng.random(shape) < 0.002
        values["dilation"][edge] = rng.choice([FAST_VALUE_LIMIT, FAST_VALUE_LIMIT + 1], int(edge.sum()))
        edge = rng.random(shape) < 0.002
        values["padding"][edge] = rng.choice([FAST_VALUE_LIMIT - 1, FAST_VALUE_LIMIT], int(edge.sum()))
        edge = rng.random(shape) < 0.002
        values["stride"][edge] = rng.choice([2**13, 2**14], int(edge.sum()))
    if draw(st.booleans()):  # TF 'same' padding: never on the fast path
        same = rng.random(shape) < 0.003
        values["padding"][same] = PAD_SAME
        if "padding_after" in values:
            values["padding_after"][same] = PAD_SAME

    arrays = {}
    for name, v in values.items():
        # Each field full, per layer, per stack, per axis, a scalar or left to its default:
        # broadcast arrays have zero strides, which the core reads in place.
        form = draw(
            st.sampled_from(["full", "full", "full", "per_layer", "per_stack", "per_axis", "scalar", "default"])
        )
        if name == "kernel" or (form == "per_axis" and axes is None):
            form = "full"
        if form == "per_axis":  # (A,): one value per axis, the same for every stack and layer
            v = v[0, 0]
        elif form == "per_layer":
            v = v[:1]
        elif form == "per_stack":
            v = v[:, :1]
        elif form == "scalar":
            v = v.flat[0]
        elif form == "default":
            continue
        arr = as_dtype(np.asarray(v), dtype)
        if arr.ndim == len(shape):
            arr = strided_like(arr, draw(st.sampled_from(["c", "c", "fortran", "reversed", "every_other_layer"])))
        arrays[name] = arr
    if draw(st.booleans()) and "padding" in arrays and np.ndim(arrays["padding"]) == len(shape):
        # The same memory as padding with other strides (its first stack's row for every stack).
        arrays["padding_after"] = arrays["padding"][:1]
    if draw(st.booleans()):
        arrays["ceil_mode"] = rng.random(shape) < draw(st.sampled_from([0.1, 0.5]))

    kw = {"threads": draw(st.sampled_from([1, 2]))}
    if draw(st.booleans()):
        kw["depth"] = rng.integers(0, depth_max + 1, n).astype(draw(st.sampled_from([np.int32, np.int64])))
    size_kind = draw(st.sampled_from(["none", "tiny", "small", "224", "large", "limit", "past_limit"]))
    sizes = {
        "tiny": lambda: rng.integers(1, 8, n_axes),  # many collapses
        "small": lambda: rng.integers(8, 64, n_axes),
        "224": lambda: np.full(n_axes, 224),
        "large": lambda: rng.integers(2**20, 2**30, n_axes),
        "limit": lambda: np.full(n_axes, FAST_MAX_INPUT),
        "past_limit": lambda: np.full(n_axes, FAST_MAX_INPUT + 1),  # the whole call goes scalar
    }
    if size_kind != "none":
        kw["input_size"] = [int(v) for v in sizes[size_kind]()]
    return arrays, kw


@pytest.mark.slow  # ~20 s on 2 cores: CI and `pytest --run-slow` run it
@settings(max_examples=300, deadline=None)
@given(batches())
def test_fast_path_equals_reference(case):
    arrays, kw = case
    assert_backends_agree(arrays, **kw)


@st.composite
def batches_with_errors(draw):
    """Valid batches with one to three invalid values anywhere (before or past a stack's depth)."""
    n = draw(st.sampled_from([16, 40, 200]))
    depth_max = draw(st.sampled_from([1, 4, 10, 20]))
    axes = draw(st.sampled_from([None, 2]))
    shape = (n, depth_max) if axes is None else (n, depth_max, axes)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    arrays = {
        "kernel": rng.integers(1, 8, shape),
        "stride": rng.choice([1, 2], shape, p=[0.8, 0.2]),
        "dilation": rng.integers(1, 3, shape),
        "padding": rng.integers(0, 4, shape),
        "padding_after": rng.integers(0, 4, shape),
    }
    depth = rng.integers(0, depth_max + 1, n) if draw(st.booleans()) else None
    for _ in range(draw(st.integers(1, 3))):
        field, bad = draw(st.sampled_from([
            ("kernel", 0), ("kernel", -5), ("stride", 0), ("dilation", 0), ("padding", -2),
            ("padding", PAD_SAME), ("padding_after", PAD_SAME), ("padding_after", -1),
        ]))  # fmt: skip
        where = (rng.integers(0, n), rng.integers(0, depth_max)) + ((rng.integers(0, axes),) if axes else ())
        arrays[field][where] = bad
    if depth is not None and draw(st.booleans()):
        depth[rng.integers(0, n)] = draw(st.sampled_from([-1, depth_max + 1]))
    dtype = draw(st.sampled_from([np.int8, np.int64]))
    arrays = {k: v.astype(dtype) for k, v in arrays.items()}
    kw = {"input_size": [224] * (axes or 1)} if draw(st.booleans()) else {}
    if depth is not None:
        kw["depth"] = depth
    kw["threads"] = draw(st.sampled_from([1, 2]))
    return arrays, kw


@settings(max_examples=200, deadline=None)
@given(batches_with_errors())
def test_errors_inside_fast_blocks_are_reported_exactly(case):
    arrays, kw = case
    assert_backends_agree(arrays, **kw)


def test_invalid_values_past_depth_are_ignored_in_fast_blocks():
    rng = np.random.default_rng(7)
    n, l = 64, 12
    kernel = rng.integers(1, 8, (n, l))
    depth = rng.integers(0, l + 1, n)
    past = np.arange(l)[None, :] >= depth[:, None]
    kernel[past] = 0  # ragged arrays are often padded with zeros
    stride = np.where(past, -1, rng.choice([1, 2], (n, l)))
    got = assert_backends_agree({"kernel": kernel, "stride": stride}, depth=depth, input_size=64)
    assert not isinstance(got[0], type)  # no error


# --- near overflow: the fast path must hand these blocks to the scalar path, never wrap ------


def _stacked(rows, width):
    """Stacks given as lists of (kernel, stride, dilation) layers, padded with identity layers."""
    out = np.ones((len(rows), width, 3), np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return {"kernel": out[..., 0], "stride": out[..., 1], "dilation": out[..., 2]}


@pytest.mark.parametrize("input_size", [None, FAST_MAX_INPUT, FAST_MAX_INPUT + 1])
def test_deep_stride2_stacks_overflow_exactly(input_size):
    # 28..64 stride-2 layers: the jump passes 2^32 (fast path's bound) and then 2^63 (overflow).
    rows = [[(3, 2, 1)] * d for d in range(28, 65)] * 2
    arrays = _stacked(rows, 64)
    kw = {} if input_size is None else {"input_size": input_size}
    got = assert_backends_agree(arrays, **kw)
    assert 0 in got[4] and (2 in got[4] if input_size is None else 1 in got[4])  # a mix of outcomes


@pytest.mark.parametrize("jump_layers", [[(1, 4, 1)] * 16, [(1, 4, 1)] * 16 + [(1, 2, 1)], [(3, 2, 1)] * 31])
def test_big_kernels_near_the_rf_bound(jump_layers):
    # log2(jump) 32 (the fast path's limit), 33 or 31, then m layers of keff - 1 = 2^28 - 2^14: at
    # log2(jump) 32 each adds about 2^60 to rf, which passes 2^62 (the fast path's bound) after 5
    # layers and 2^63 (overflow) after 9.
    big = (FAST_VALUE_LIMIT, 1, FAST_VALUE_LIMIT)
    rows = [jump_layers + [big] * m for m in range(12)] * 3
    arrays = _stacked(rows, len(jump_layers) + 11)
    got = assert_backends_agree(arrays)
    assert max(got[0]) > 2**62 and (2 in got[4]) == (len(jump_layers) != 31)
    bigger = dict(arrays, kernel=np.where(arrays["kernel"] == FAST_VALUE_LIMIT, FAST_VALUE_LIMIT + 1, arrays["kernel"]))
    assert_backends_agree(bigger)


@pytest.mark.parametrize("log2_jump", range(30, 41))
def test_rf_growth_that_wraps_to_zero_is_an_overflow(log2_jump):
    # keff - 1 = 2^(64 - log2 jump) makes (keff - 1) * jump exactly 2^64: wrapped, it would add
    # nothing. Past log2(jump) = 32 the fast path must not fold it (the scalar path says overflow).
    quads, double = divmod(log2_jump, 2)
    jump_layers = [(1, 4, 1)] * quads + [(1, 2, 1)] * double
    keff1 = 2 ** (64 - log2_jump)
    dilation = min(keff1, FAST_VALUE_LIMIT)
    rows = [jump_layers + [(keff1 // dilation + 1, 1, dilation)] * m for m in (0, 1, 2)] * 8
    got = assert_backends_agree(_stacked(rows, len(jump_layers) + 2))
    assert got[4][:3] == [0, 2, 2]  # rf would reach 2^64: overflow from the first such layer


@pytest.mark.parametrize("padding", [FAST_VALUE_LIMIT - 1, FAST_VALUE_LIMIT])
def test_big_paddings_overflow_exactly(padding):
    # padding ~ p * 2^depth passes 2^63 from depth 49 on; the jump passes 2^32 (fast bound) first.
    rows = [[(1, 2, 1)] * d for d in range(20, 65)]
    arrays = _stacked(rows, 64)
    arrays["padding"] = np.where(np.arange(64)[None, :] < np.array([len(r) for r in rows])[:, None], padding, 0)
    got = assert_backends_agree(arrays)
    assert 2 in got[4] and 0 in got[4]
