"""Array intake honours every array's layout: the core reads record-array fields (strides not a
multiple of the item size, unaligned data), byte-swapped arrays, negative, zero and odd strides,
for every array argument (the layer arrays, ceil_mode, depth, ids), and gives what it gives on
plain C-contiguous copies of the same values, which the Python reference also gives."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rfsearch import PAD_SAME, LayerTable
from differential import LAYOUTS, core_on_every_path, outcome, outcome_by_id, relayout  # tests/differential.py

DENSE_ARGS = ("kernel", "stride", "padding", "dilation", "padding_after", "ceil_mode", "depth")


@st.composite
def dense_cases(draw):
    """Stacks (enough for fast-path blocks at times), some invalid values, an odd layout per argument."""
    n = draw(st.sampled_from([1, 3, 17, 40]))
    layers = draw(st.sampled_from([1, 3, 8]))
    axes = draw(st.sampled_from([None, 2]))
    shape = (n, layers) if axes is None else (n, layers, axes)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint16, np.uint64]))
    low = 0 if np.dtype(dtype).kind == "u" else -1  # invalid values sometimes (kernel 0, padding -1)
    arrays = {
        "kernel": rng.integers(max(low, 0) if draw(st.booleans()) else 1, 6, shape),
        "stride": rng.choice([1, 2], shape),
        "padding": rng.integers(low if draw(st.booleans()) else 0, 3, shape),
        "dilation": rng.integers(1, 3, shape),
        "padding_after": rng.integers(0, 3, shape),
    }
    if draw(st.booleans()) and low < 0:
        arrays["padding"][rng.random(shape) < 0.3] = PAD_SAME
        arrays["padding_after"] = arrays["padding"].copy()
    arrays = {k: v.astype(dtype) for k, v in arrays.items()}
    arrays["ceil_mode"] = rng.random(shape) < 0.3
    kw = {"threads": draw(st.sampled_from([1, 2]))}
    if draw(st.booleans()):
        arrays["depth"] = rng.integers(0, layers + 1, n).astype(draw(st.sampled_from([np.int8, np.int32, np.uint64])))
    if draw(st.booleans()):
        kw["input_size"] = [int(v) for v in rng.integers(1, 40, axes or 1)]
    layouts = {name: draw(st.sampled_from(LAYOUTS)) for name in arrays}
    return arrays, kw, layouts


@given(dense_cases())
def test_every_layout_of_every_dense_argument(case):
    arrays, kw, layouts = case
    odd = {name: relayout(arr, layouts[name]) for name, arr in arrays.items()}
    plain = {name: np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("=")) for name, arr in odd.items()}  # C order, native
    assert all(p.flags.c_contiguous and p.dtype.isnative for p in plain.values())
    want = outcome("python", plain, **kw)
    assert outcome("python", odd, **kw) == want
    assert core_on_every_path(outcome, odd, **kw) == want


@st.composite
def id_cases(draw):
    n = draw(st.sampled_from([1, 5, 20, 48]))
    layers = draw(st.sampled_from([1, 4, 9]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows = draw(st.integers(1, 12))
    table = LayerTable.from_columns(rng.integers(1, 6, rows), rng.choice([1, 2], rows), rng.integers(0, 3, rows),
                                    ceil_mode=rng.random(rows) < 0.3)  # fmt: skip
    ids = rng.integers(0, rows, (n, layers))
    if draw(st.booleans()):  # ids out of range, sometimes past a stack's depth (then ignored)
        ids[rng.random((n, layers)) < 0.02] = rows
    ids = ids.astype(draw(st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint32])))
    args = {"ids": ids}
    if draw(st.booleans()):
        args["depth"] = rng.integers(0, layers + 1, n).astype(draw(st.sampled_from([np.int16, np.int64, np.uint8])))
    kw = {"input_size": 64} if draw(st.booleans()) else {}
    layouts = {name: draw(st.sampled_from(LAYOUTS)) for name in args}
    return table, args, kw, layouts


@given(id_cases())
def test_every_layout_of_ids_and_depth(case):
    table, args, kw, layouts = case
    odd = {name: relayout(arr, layouts[name]) for name, arr in args.items()}
    plain = {name: np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("=")) for name, arr in odd.items()}
    want = outcome_by_id("python", table, plain.pop("ids"), **plain, **kw)
    assert outcome_by_id("python", table, odd["ids"], depth=odd.get("depth"), **kw) == want
    assert core_on_every_path(outcome_by_id, table, odd["ids"], depth=odd.get("depth"), **kw) == want


def test_record_array_depth_regression():
    # The case: depth taken from a record array's field gave wrong RFs in the core.
    records = np.zeros(3, dtype=[("id", "i1"), ("depth", "i4")])  # packed: depth at offset 1, stride 5
    records["depth"] = [1, 2, 3]
    kernel = np.full((3, 3), 3)
    got = outcome("cpp", {"kernel": kernel, "depth": records["depth"]})
    assert got[0] == [3, 5, 7] and got == outcome("python", {"kernel": kernel, "depth": records["depth"]})


def test_byte_swapped_broadcast_is_copied_small():
    # Non-native byte order is converted, but a broadcast stays a broadcast (no N x L copy).
    from rfsearch.core.intake import native

    big = np.broadcast_to(np.array([3], ">i8"), (1_000_000, 50))
    converted = native(big)
    assert converted.dtype.isnative and converted.strides == (0, 0) and int(converted[5, 7]) == 3
