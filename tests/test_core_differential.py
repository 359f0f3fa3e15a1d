"""The C++ core against the pure-Python reference: equal on every input, errors included."""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rfsearch import PAD_SAME, score_stacks

FIELDS = ("rf", "jump", "effective_padding", "output_size", "status")
BIG = 2**62


def outcome(backend, arrays, **kw):
    """Either the result arrays or the error (type and message) of one backend."""
    try:
        r = score_stacks(**arrays, **kw, backend=backend)
    except (ValueError, TypeError) as e:
        return type(e), str(e)
    return tuple(None if getattr(r, f) is None else getattr(r, f).tolist() for f in FIELDS)


@st.composite
def stacks(draw, allow_invalid=False, allow_huge=False):
    n = draw(st.integers(1, 6))
    depth_max = draw(st.sampled_from([1, 2, 4, 8, 16, 64]))
    axes = draw(st.sampled_from([None, 1, 2, 3]))
    shape = (n, depth_max) if axes is None else (n, depth_max, axes)
    size = int(np.prod(shape))

    def values(lo, hi, special=()):
        elems = st.integers(lo, hi)
        if special:
            elems = st.one_of(elems, st.sampled_from(special))
        return np.array(draw(st.lists(elems, min_size=size, max_size=size)), dtype=np.int64).reshape(shape)

    bad = (0, -1, -3) if allow_invalid else ()
    huge = (BIG, 2**40, 2**31 + 7) if allow_huge else ()
    kernel = values(1, 7, bad + huge)
    stride = values(1, 3, bad + huge)
    dilation = values(1, 4, bad + huge)
    pad_mode = draw(st.sampled_from(["sym", "asym", "same_mix"]))
    padding = values(0, 4, bad + huge)
    arrays = {"kernel": kernel, "stride": stride, "dilation": dilation, "padding": padding}
    if pad_mode == "asym":
        arrays["padding_after"] = values(0, 4, bad + huge)
    elif pad_mode == "same_mix":
        same = values(0, 1).astype(bool)
        padding[same] = PAD_SAME
        after = padding.copy()
        if allow_invalid and draw(st.booleans()):
            after[...] = values(0, 2)  # PAD_SAME on one side only: invalid
        arrays["padding_after"] = after
    arrays["ceil_mode"] = values(0, 1).astype(bool)
    kw = {}
    if draw(st.booleans()):
        kw["depth"] = np.array(draw(st.lists(st.integers(0 if not allow_invalid else -1,
                                                          depth_max + (1 if allow_invalid else 0)),
                                             min_size=n, max_size=n)), dtype=np.int64)  # fmt: skip
    if draw(st.booleans()):
        n_axes = 1 if axes is None else axes
        sizes = draw(st.lists(st.one_of(st.integers(1, 300), st.sampled_from([1, 2, 3, BIG] if allow_huge else [1, 2])),
                              min_size=n_axes, max_size=n_axes))  # fmt: skip
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


@given(stacks(), st.sampled_from([1, 2, 3, -1]))
def test_thread_count_does_not_change_results(case, threads):
    arrays, kw = case
    assert outcome("cpp", arrays, **kw, threads=threads) == outcome("cpp", arrays, **kw, threads=1)
