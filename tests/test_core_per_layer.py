"""The per-layer mode: the state after every layer of one stack in one pass (O(L)).

Row l equals what the stack cut after layer l gives when scored as its own stack (the old way,
O(L^2): every prefix a stack of a batch), on both backends, errors included; receptive_field is
built on it.
"""

import gc
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfsearch import (
    PAD_SAME,
    Conv,
    LayerTable,
    MaxPool,
    SpecError,
    _core,
    layer_receptive_fields,
    receptive_field,
    receptive_fields_by_id,
)
from differential import FIELDS, core_on_every_path, outcome_layers  # tests/differential.py


def prefixes(table, ids, backend, **kw):
    """The old way: stack l of a batch is the stack cut after layer l."""
    n = len(ids)
    try:
        r = receptive_fields_by_id(table, np.broadcast_to(ids, (n, n)), depth=np.arange(1, n + 1), backend=backend,
                                   **kw)  # fmt: skip
    except SpecError as e:
        return SpecError, (e.layer, e.axis, e.reason), e.stack
    return tuple(None if getattr(r, f) is None else getattr(r, f).tolist() for f in FIELDS)


def per_layer(table, ids, backend, **kw):
    try:
        r = layer_receptive_fields(table, ids, backend=backend, **kw)
    except SpecError as e:
        return SpecError, (e.layer, e.axis, e.reason), e.stack
    return tuple(None if getattr(r, f) is None else getattr(r, f).tolist() for f in FIELDS)


@st.composite
def stacks(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows = draw(st.integers(1, 8))
    axes = draw(st.sampled_from([1, 2, 3]))
    shape = (rows, axes)
    cols = {"kernel": rng.integers(1, 7, shape), "stride": rng.choice([1, 2, 3], shape),
            "padding": rng.integers(0, 3, shape), "dilation": rng.integers(1, 3, shape)}  # fmt: skip
    special = draw(st.sampled_from(["none", "invalid", "huge", "same"]))
    if special == "invalid":
        field = draw(st.sampled_from(["kernel", "stride", "padding"]))
        cols[field][rng.integers(0, rows), rng.integers(0, axes)] = -1 if field == "padding" else 0
    elif special == "huge":
        cols["stride"][rng.random(shape) < 0.5] = 2**31
    elif special == "same":
        cols["padding"][rng.random(shape) < 0.5] = PAD_SAME
    table = LayerTable.from_columns(**cols, ceil_mode=rng.random(shape) < 0.3)
    ids = rng.integers(0, rows, draw(st.integers(1, 30)))
    kw = {"input_size": [int(v) for v in rng.integers(1, 100, axes)]} if draw(st.booleans()) else {}
    return table, ids, kw


@given(stacks())
def test_per_layer_equals_every_prefix_scored_alone(case):
    table, ids, kw = case
    want = prefixes(table, ids, "python", **kw)
    got = per_layer(table, ids, "python", **kw)
    if want[0] is SpecError:  # the same mistake; prefix l is stack l of the batch, here layer l of stack 0
        assert got[:2] == want[:2] and got[2] == 0 and want[2] == want[1][0]
    else:
        assert got == want
    assert core_on_every_path(outcome_layers, table, ids, **kw) == outcome_layers("python", table, ids, **kw)
    assert prefixes(table, ids, "cpp", **kw) == want


def random_layers(rng, n):
    pick = [Conv(3, padding=1), Conv(5, stride=2, padding=2), MaxPool(2), MaxPool(3, stride=2, ceil_mode=True),
            Conv(3, dilation=2, padding=2), Conv((1, 7), padding=(0, 3)), Conv(3, padding="same")]  # fmt: skip
    return [pick[i] for i in rng.integers(0, len(pick), n)]


@pytest.mark.parametrize("backend", ["cpp", "python"])
@pytest.mark.parametrize("size", [None, 13, 224, "96x40"])
def test_receptive_field_rows_are_the_prefixes(backend, size):
    rng = np.random.default_rng(0)
    for _ in range(20):
        layers = random_layers(rng, int(rng.integers(1, 12)))
        r = receptive_field(layers, size, backend=backend)
        table = LayerTable(r.ndim)
        ids = np.array(table.ids(layers))
        want = receptive_fields_by_id(table, np.broadcast_to(ids, (len(ids), len(ids))),
                                      depth=np.arange(1, len(ids) + 1), input_size=r.input_size)  # fmt: skip
        for i, row in enumerate(r.layers):
            if r.collapsed_at is not None and i > r.collapsed_at:
                assert row.rf is None
                continue
            assert row.rf == tuple(np.atleast_1d(want.rf[i]).tolist())
            assert row.effective_padding == tuple(np.atleast_1d(want.effective_padding[i]).tolist())
            assert row.output_size == (None if size is None else tuple(np.atleast_1d(want.output_size[i]).tolist()))


def test_one_network_is_one_pass():
    # The core scores the network as one stack, not as L prefix stacks.
    layers = [Conv(3, padding=1), MaxPool(2, stride=1)] * 500
    _core._reset_fast_path_counters()
    r = receptive_field(layers, 10**6)
    assert _core._fast_path_counters() == {"fast_blocks": 0, "scalar_reruns": 0, "scalar_stacks": 1}
    assert r.rf == (1 + 500 * 2 + 500 * 1,) and r.output_size == (10**6 - 500,)

@pytest.mark.slow  # 100,000-layer stacks

def test_long_stacks_cost_linear_time():
    # Loose (shared machine): twice the layers must not cost four times the time (O(L^2) would).
    # Best of 5, measured alternately, without the cyclic GC. Timing targets live in bench/.
    stacks = {n: [Conv(3, padding=1) if i % 3 else MaxPool(2, stride=1) for i in range(n)] for n in (20_000, 40_000)}
    times = {n: [] for n in stacks}
    gc.disable()
    try:
        for _ in range(5):
            for n, layers in stacks.items():
                start = time.perf_counter()
                r = receptive_field(layers, 10**6)
                times[n].append(time.perf_counter() - start)
                assert r.rf == (1 + 2 * (n - (n + 2) // 3) + (n + 2) // 3,)
    finally:
        gc.enable()
    ratio = min(times[40_000]) / min(times[20_000])
    assert ratio < 3.0, times
