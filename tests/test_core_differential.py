"""The C++ core against the pure-Python reference: equal on every input, errors included."""

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rfsearch import PAD_SAME
from differential import outcome  # tests/differential.py

BIG = 2**62


@st.composite
def stacks(draw, allow_invalid=False, allow_huge=False):
    """Random stacks: hypothesis draws the structure (shapes, modes, seed), numpy the values.

    Drawing every element through hypothesis is slow; this keeps >= 10,000 examples cheap while
    structure still shrinks (fewer stacks, shallower, fewer axes, fewer special values).
    """
    n = draw(st.integers(1, 6))
    depth_max = draw(st.sampled_from([1, 2, 3, 4, 8, 16, 64]))
    axes = draw(st.sampled_from([None, 1, 2, 3]))
    shape = (n, depth_max) if axes is None else (n, depth_max, axes)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    p_special = draw(st.sampled_from([0.0, 0.02, 0.2])) if (allow_invalid or allow_huge) else 0.0
    special = [v for v, on in (((0, -1, -3), allow_invalid), ((BIG, 2**40, 2**31 + 7), allow_huge)) if on]
    special_values = np.array([v for group in special for v in group] or [0], dtype=np.int64)

    def values(lo, hi, with_special=True):
        arr = rng.integers(lo, hi + 1, shape, dtype=np.int64)
        if with_special and p_special:
            mask = rng.random(shape) < p_special
            arr[mask] = rng.choice(special_values, int(mask.sum()))
        return arr

    kernel, stride, dilation = values(1, 7), values(1, 3), values(1, 4)
    padding = values(0, 4)
    arrays = {"kernel": kernel, "stride": stride, "dilation": dilation, "padding": padding}
    pad_mode = draw(st.sampled_from(["sym", "asym", "same_mix"]))
    if pad_mode == "asym":
        arrays["padding_after"] = values(0, 4)
    elif pad_mode == "same_mix":
        padding[rng.random(shape) < draw(st.sampled_from([0.3, 1.0]))] = PAD_SAME
        after = padding.copy()
        if allow_invalid and draw(st.booleans()):
            after[rng.random(shape) < 0.1] = 0  # PAD_SAME on one side only: invalid
        arrays["padding_after"] = after
    arrays["ceil_mode"] = rng.random(shape) < draw(st.sampled_from([0.0, 0.5]))
    kw = {}
    if draw(st.booleans()):
        lo, hi = (-1, depth_max + 1) if allow_invalid else (0, depth_max)
        kw["depth"] = rng.integers(lo, hi + 1, n)
    if draw(st.booleans()):
        n_axes = 1 if axes is None else axes
        small = draw(st.booleans())  # tiny inputs: collapses are common
        sizes = rng.integers(1, 8 if small else 300, n_axes).tolist()
        if allow_huge and draw(st.booleans()):
            sizes[0] = BIG
        kw["input_size"] = sizes
    return arrays, kw


@given(stacks())
@example(({"kernel": np.full((1, 70), 3), "stride": np.full((1, 70), 2)}, {}))  # jump overflow
def test_core_equals_reference_valid_stacks(case):
    arrays, kw = case
    assert outcome("cpp", arrays, **kw) == outcome("python", arrays, **kw)


@given(stacks(allow_invalid=True, allow_huge=True))
def test_core_equals_reference_with_invalid_and_huge_values(case):
    arrays, kw = case
    assert outcome("cpp", arrays, **kw) == outcome("python", arrays, **kw)


@settings(max_examples=500)
@given(stacks(), st.sampled_from([1, 2, 3, -1]))
def test_thread_count_does_not_change_results(case, threads):
    arrays, kw = case
    assert outcome("cpp", arrays, **kw, threads=threads) == outcome("cpp", arrays, **kw, threads=1)
