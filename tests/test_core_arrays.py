"""Array intake of batch_receptive_fields: dtypes, strides, broadcasting, errors, threads, overflow, Ctrl-C."""

import os
import signal
import threading
import time

import numpy as np
import pytest

import rfsearch
from rfsearch import PAD_SAME, Status, _core, batch_receptive_fields

INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
SEED_K, SEED_S, SEED_P = [[3, 2, 3, 2]], [[1, 2, 1, 2]], [[1, 0, 1, 0]]


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("backend", ["cpp", "python"])
def test_every_integer_dtype(dtype, backend):
    r = batch_receptive_fields(np.array(SEED_K, dtype), np.array(SEED_S, dtype), np.array(SEED_P, dtype),
                     input_size=32, backend=backend)  # fmt: skip
    assert (r.rf.tolist(), r.jump.tolist(), r.effective_padding.tolist(), r.output_size.tolist()) == (
        [10], [4], [3], [8])  # fmt: skip
    assert r.valid.tolist() == [True] and r.center.tolist() == [1.5] and r.start.tolist() == [-3]


def test_same_dtype_arrays_are_not_copied(monkeypatch):
    seen = {}
    real = _core.batch_receptive_fields

    def spy(**kwargs):
        seen.update(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(_core, "batch_receptive_fields", spy)
    k = np.array(SEED_K, np.int8)
    s = np.array(SEED_S, np.int8)
    depth = np.array([4], np.uint16)
    batch_receptive_fields(k, s, depth=depth, input_size=32)
    assert np.shares_memory(seen["kernel"], k) and np.shares_memory(seen["stride"], s)
    assert seen["kernel"].dtype == np.int8 and seen["depth"] is depth  # any integer depth, read in place


@pytest.mark.parametrize("bad", [np.array(SEED_K, np.float64), np.array(SEED_K, np.float32), np.array([[True]])])
@pytest.mark.parametrize("backend", ["cpp", "python"])
def test_non_integer_dtypes_refused(bad, backend):
    with pytest.raises(TypeError, match="kernel: expected an integer array"):
        batch_receptive_fields(bad, backend=backend)
    with pytest.raises(TypeError, match="stride: expected an integer array"):
        batch_receptive_fields(np.ones((1, bad.shape[1]), np.int32), bad, backend=backend)


def test_non_contiguous_and_broadcast_inputs():
    big = np.array([[3, 9, 2, 9, 3, 9, 2, 9]], np.int32)
    strided = big[:, ::2]  # a view with stride 2
    assert not strided.flags.c_contiguous
    r = batch_receptive_fields(strided, np.array(SEED_S), np.array(SEED_P), input_size=32)
    assert r.rf.tolist() == [10]
    # Scalars and (N, L) arrays broadcast over (N, L, A); one (N, L) stride for 2 axes.
    k3 = np.stack([np.array(SEED_K), np.array(SEED_K)], axis=-1)
    r2 = batch_receptive_fields(k3, np.array(SEED_S), np.array(SEED_P), input_size=[32, 33])
    assert r2.rf.tolist() == [[10, 10]] and r2.output_size.tolist() == [[8, 8]]
    r3 = batch_receptive_fields(np.full((5, 3), 3), 1, 1, input_size=10)
    assert r3.rf.tolist() == [7] * 5 and r3.output_size.tolist() == [10] * 5


@pytest.mark.parametrize("backend", ["cpp", "python"])
def test_bad_values_name_stack_layer_axis_field(backend):
    k = np.full((4, 3, 2), 3)
    cases = [
        ("kernel", 0, "kernel must be >= 1, got 0"),
        ("stride", -2, "stride must be >= 1, got -2"),
        ("dilation", 0, "dilation must be >= 1, got 0"),
        ("padding", -3, "padding must be >= 0 or PAD_SAME"),
        ("padding_after", -2, "padding_after must be >= 0"),
    ]
    for field, value, message in cases:
        arrays = {"kernel": k.copy(), "stride": np.ones_like(k), "dilation": np.ones_like(k),
                  "padding": np.zeros_like(k), "padding_after": np.zeros_like(k)}  # fmt: skip
        arrays[field][2, 1, 1] = value
        with pytest.raises(ValueError) as info:
            batch_receptive_fields(**arrays, backend=backend)
        assert str(info.value).startswith("stack 2, layer 1, axis 1: ")
        assert message in str(info.value)


@pytest.mark.parametrize("backend", ["cpp", "python"])
def test_other_input_errors(backend):
    k = np.full((2, 3), 3)
    with pytest.raises(ValueError, match=r"stack 1: depth must be in \[0, 3\], got 4"):
        batch_receptive_fields(k, depth=[3, 4], backend=backend)
    with pytest.raises(ValueError, match=r"depth: expected shape \(2,\)"):
        batch_receptive_fields(k, depth=[3], backend=backend)
    with pytest.raises(ValueError, match="stride: shape"):
        batch_receptive_fields(k, np.ones((3, 3), np.int64), backend=backend)
    with pytest.raises(ValueError, match="^input_size must be >= 1, got 0$"):
        batch_receptive_fields(k, input_size=0, backend=backend)
    with pytest.raises(ValueError, match="^input_size on axis 1 must be >= 1, got -4$"):
        batch_receptive_fields(k[:, :, None].repeat(2, axis=2), input_size=[3, -4], backend=backend)
    with pytest.raises(ValueError, match="^input_size must be an integer, got 3.5$"):
        batch_receptive_fields(k, input_size=3.5, backend=backend)
    with pytest.raises(ValueError, match="^input_size is larger than the int64 range"):
        batch_receptive_fields(k, input_size=[2**63], backend=backend)
    with pytest.raises(ValueError, match="input_size: expected 1 values"):
        batch_receptive_fields(k, input_size=[4, 4], backend=backend)
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        batch_receptive_fields(k, threads=0, backend=backend)
    with pytest.raises(ValueError, match="kernel: expected shape"):
        batch_receptive_fields(np.ones(3, np.int64), backend=backend)
    with pytest.raises(ValueError, match="^stack 0, layer 0, axis 0: padding 'same' with stride 2 depends on the input size"):
        batch_receptive_fields(k, 2, PAD_SAME, backend=backend)
    with pytest.raises(ValueError, match="stack 0, layer 0, axis 0: kernel is larger than the int64 range"):
        batch_receptive_fields(np.full((1, 1), 2**63, np.uint64), backend=backend)
    with pytest.raises(ValueError, match="backend must be"):
        batch_receptive_fields(k, backend="gpu")


def test_lowest_stack_error_is_reported_whatever_the_threads():
    k = np.full((200_000, 4), 3, np.int32)
    k[150_000, 2] = 0
    k[190_000, 0] = -1
    k[7, 3] = 0  # the first one: reported even though other threads find theirs earlier
    for threads in (1, 2, -1):
        with pytest.raises(ValueError, match="^stack 7, layer 3, axis 0: kernel must be >= 1, got 0$"):
            batch_receptive_fields(k, threads=threads)


def test_overflow_flagged_not_wrapped():
    # 70 stride-2 layers: the jump 2**63 overflows int64 at layer 63.
    r = batch_receptive_fields(np.full((2, 70), 3, np.int8), 2, 1, depth=[62, 70])
    assert r.status.tolist() == [Status.OK, Status.OVERFLOW]
    assert r.jump.tolist() == [2**62, 2**62]  # the overflowed stack keeps its last valid state
    assert r.valid.tolist() == [True, False]
    assert (r.rf > 0).all()


def test_collapsed_status_and_flags():
    r = batch_receptive_fields(np.full((3, 3), 3), depth=[1, 2, 3], input_size=5)
    assert r.output_size.tolist() == [3, 1, -1]
    assert r.status.tolist() == [Status.OK, Status.OK, Status.COLLAPSED]
    assert r.rf.tolist() == [3, 5, 7] and r.rf_exceeds_input.tolist() == [False, False, True]


def test_large_batch_threads_agree_and_ragged_depth():
    rng = np.random.default_rng(1)
    n, l = 300_000, 12
    k = rng.integers(1, 8, (n, l), dtype=np.int32)
    s = rng.integers(1, 3, (n, l), dtype=np.int32)
    d = rng.choice(np.array([1, 2, 4], np.int32), (n, l))
    depth = rng.integers(0, l + 1, n)
    one = batch_receptive_fields(k, s, k // 2, d, depth=depth, input_size=224, threads=1)
    for threads in (2, 3, -1):
        many = batch_receptive_fields(k, s, k // 2, d, depth=depth, input_size=224, threads=threads)
        for f in ("rf", "jump", "effective_padding", "output_size", "status"):
            assert np.array_equal(getattr(one, f), getattr(many, f))
    ref = batch_receptive_fields(k[:500], s[:500], k[:500] // 2, d[:500], depth=depth[:500], input_size=224, backend="python")
    assert np.array_equal(ref.rf, one.rf[:500]) and np.array_equal(ref.output_size, one.output_size[:500])
    assert (one.rf[depth == 0] == 1).all()


def test_ctrl_c_stops_a_long_batch():
    # A batch that would take many seconds (broadcast arrays: little memory); SIGINT after 0.2 s.
    n, l = 3_000_000, 512
    k = np.broadcast_to(np.int64(3), (n, l))
    timer = threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT))
    start = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            batch_receptive_fields(k, 1, 1, threads=2)
    finally:
        timer.cancel()
    # Generous bound: the full run takes ~1.5e9 folds; an ignored Ctrl-C would take far longer.
    assert time.perf_counter() - start < 30


def test_public_api_exports():
    for name in rfsearch.__all__:
        assert hasattr(rfsearch, name), name
    assert _core.PAD_SAME == PAD_SAME == -1
    assert _core.hardware_threads() >= 1
