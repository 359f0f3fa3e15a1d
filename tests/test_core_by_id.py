"""The core's second input: a table of distinct layers plus (N, L) row ids.

By id, the core (on every SIMD path) equals the Python reference by id, and both equal the dense
path on the arrays the ids expand to: results, statuses and error messages, with invalid values in
the table, huge values, invalid ids (inside and past a stack's depth), ragged and invalid depths.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfsearch import PAD_SAME, Conv, LayerTable, MaxPool, SpecError, batch_receptive_fields, receptive_fields_by_id
from differential import core_on_every_path, outcome, outcome_by_id  # tests/differential.py

BIG = 2**62


@st.composite
def tables_and_ids(draw, n_choices=(1, 3, 6, 20, 40)):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows = draw(st.integers(1, 10))
    axes = draw(st.sampled_from([1, 2, 3]))
    shape = (rows, axes)
    cols = {"kernel": rng.integers(1, 7, shape), "stride": rng.choice([1, 2, 3, 4], shape),
            "padding": rng.integers(0, 4, shape), "dilation": rng.integers(1, 4, shape)}  # fmt: skip
    cols["padding_after"] = cols["padding"].copy() if draw(st.booleans()) else rng.integers(0, 4, shape)
    special = draw(st.sampled_from(["none", "invalid", "huge", "same"]))
    if special == "invalid":  # kernel 0, stride -1, PAD_SAME on one side only ...
        field = draw(st.sampled_from(["kernel", "stride", "dilation", "padding", "padding_after"]))
        cols[field][rng.integers(0, rows), rng.integers(0, axes)] = draw(st.sampled_from([0, -1, -5]))
    elif special == "huge":
        cols["kernel"][rng.random(shape) < 0.3] = BIG
        cols["stride"][rng.random(shape) < 0.3] = 2**40
    elif special == "same":
        same = rng.random(shape) < 0.5
        cols["padding"][same] = PAD_SAME
        cols["padding_after"][same] = PAD_SAME
    table = LayerTable.from_columns(**cols, ceil_mode=rng.random(shape) < 0.3)
    n = draw(st.sampled_from(n_choices))
    layers = draw(st.sampled_from([1, 2, 5, 12]))
    ids = rng.integers(0, rows, (n, layers))
    bad_ids = draw(st.sampled_from(["none", "past_depth", "anywhere"]))
    depth = rng.integers(0, layers + 1, n) if draw(st.booleans()) or bad_ids == "past_depth" else None
    if bad_ids == "past_depth":  # invalid ids where no stack reads them: ignored
        past = np.arange(layers)[None, :] >= depth[:, None]
        ids[past] = rng.choice([-1, rows, 2**40], int(past.sum()))
    elif bad_ids == "anywhere":
        ids[rng.integers(0, n), rng.integers(0, layers)] = draw(st.sampled_from([-1, rows, rows + 7]))
    if depth is not None and draw(st.integers(0, 9)) == 0:
        depth[rng.integers(0, n)] = draw(st.sampled_from([-1, layers + 1]))
    ids = ids.astype(draw(st.sampled_from([np.int32, np.int64])))
    kw = {"threads": draw(st.sampled_from([1, 2]))}
    if depth is not None:
        kw["depth"] = depth
    if draw(st.booleans()):
        kw["input_size"] = [int(v) for v in rng.integers(1, 200, axes)]
    return table, ids, kw


def expanded(table, ids):
    """The dense (N, L[, A]) arrays the ids stand for (out-of-range ids clipped: only past the depth here)."""
    cols = table.columns
    safe = np.clip(ids.astype(np.int64), 0, len(table) - 1)
    one_axis = table.ndim == 1

    def take(column):
        values = column[safe]
        return values[:, :, 0] if one_axis else values

    return {"kernel": take(cols.kernel), "stride": take(cols.stride), "padding": take(cols.padding),
            "dilation": take(cols.dilation), "padding_after": take(cols.padding_after),
            "ceil_mode": take(cols.ceil_mode)}  # fmt: skip


def ids_valid_within_depth(table, ids, depth):
    d = np.full(ids.shape[0], ids.shape[1]) if depth is None else np.clip(depth, 0, ids.shape[1])
    inside = np.arange(ids.shape[1])[None, :] < d[:, None]
    return bool(((ids >= 0) & (ids < len(table)))[inside].all())


def check(table, ids, kw):
    want = outcome_by_id("python", table, ids, **kw)
    assert core_on_every_path(outcome_by_id, table, ids, **kw) == want
    if ids_valid_within_depth(table, ids, kw.get("depth")):
        assert outcome("python", expanded(table, ids), **kw) == want
    return want


@given(tables_and_ids())
def test_by_id_core_equals_reference_equals_dense(case):
    check(*case)


@pytest.mark.slow  # large batches through the fast path
@settings(max_examples=100, deadline=None)
@given(tables_and_ids(n_choices=(16, 100, 500)))
def test_by_id_on_fast_path_blocks(case):
    # Batches of whole blocks: the core gathers prepacked rows by id on the fast path.
    check(*case)


def test_table_from_layers_equals_table_from_columns():
    layers = [Conv(3, padding=1), MaxPool(2), Conv((1, 7), padding=(0, 3)), MaxPool(3, stride=2, ceil_mode=True)]
    from_layers = LayerTable(2, layers)
    cols = from_layers.columns
    from_cols = LayerTable.from_columns(cols.kernel, cols.stride, cols.padding, cols.dilation,
                                        padding_after=cols.padding_after, ceil_mode=cols.ceil_mode)  # fmt: skip
    ids = np.array([[0, 1, 2, 3, 0], [3, 3, 2, 1, 0]])
    a = receptive_fields_by_id(from_layers, ids, input_size=(64, 48))
    b = receptive_fields_by_id(from_cols, ids, input_size=(64, 48))
    assert np.array_equal(a.rf, b.rf) and np.array_equal(a.output_size, b.output_size) and a.rf.shape == (2, 2)


def test_one_axis_shapes_and_defaults():
    table = LayerTable.from_columns([3, 2], [1, 2], [1, 0])  # (T,) columns: one axis
    assert table.ndim == 1 and len(table) == 2
    r = receptive_fields_by_id(table, [[0, 1, 0, 1], [0, 0, 0, 0]], depth=[4, 2], input_size=32)
    assert r.rf.tolist() == [10, 5] and r.output_size.tolist() == [8, 32] and r.jump.tolist() == [4, 1]
    seed = batch_receptive_fields([[3, 2, 3, 2]], [[1, 2, 1, 2]], [[1, 0, 1, 0]], input_size=32)
    assert r.rf[0] == seed.rf[0] and r.effective_padding[0] == seed.effective_padding[0]


def test_ids_are_read_in_place(monkeypatch):
    from rfsearch import _core

    seen = {}
    real = _core.receptive_fields_by_id

    def spy(**kwargs):
        seen.update(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(_core, "receptive_fields_by_id", spy)
    table = LayerTable.from_columns([3, 2], [1, 2])
    ids = np.zeros((1000, 8), np.int32)
    depth = np.full(1000, 8, np.int64)
    receptive_fields_by_id(table, ids, depth)
    assert seen["ids"] is ids and seen["depth"] is depth  # int32 ids, int64 depth: no copies


@pytest.mark.parametrize("backend", ["cpp", "python"])
def test_by_id_errors_name_the_place(backend):
    table = LayerTable.from_columns([3, 0, 2], [1, 1, 2])
    with pytest.raises(SpecError, match=r"^stack 1, layer 2: id 3 is not a row of the layer table \(rows 0..2\)$"):
        receptive_fields_by_id(table, [[0, 0, 0], [0, 2, 3]], backend=backend)
    with pytest.raises(SpecError, match=r"^stack 0, layer 1, axis 0: kernel must be >= 1, got 0$"):
        receptive_fields_by_id(table, [[0, 1, 0]], backend=backend)
    with pytest.raises(SpecError, match=r"^stack 0: depth must be in \[0, 3\], got 4$"):
        receptive_fields_by_id(table, [[0, 1, 0]], depth=[4], backend=backend)
    with pytest.raises(SpecError, match=r"id 18446744073709551615 is not a row"):
        receptive_fields_by_id(table, np.array([[2**64 - 1]], np.uint64), backend=backend)
    with pytest.raises(ValueError, match=r"ids: expected shape \(N, L\)"):
        receptive_fields_by_id(table, [0, 1], backend=backend)
    with pytest.raises(TypeError, match="ids: expected an integer array"):
        receptive_fields_by_id(table, [[0.0]], backend=backend)
    # Row 1 (kernel 0) past every stack's depth is never read: no error.
    assert receptive_fields_by_id(table, [[0, 1]], depth=[1], backend=backend).rf.tolist() == [3]


def test_from_columns_checks_shapes_and_int64():
    with pytest.raises(SpecError, match=r"^layer 1, axis 0: stride is larger than the int64 range"):
        LayerTable.from_columns([3, 3], np.array([1, 2**63], np.uint64))
    with pytest.raises(ValueError, match=r"stride: shape \(3,\) does not fit"):
        LayerTable.from_columns([3, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="a table built from columns takes no layers"):
        LayerTable.from_columns([3]).add(Conv(3))
