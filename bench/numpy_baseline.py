"""A numpy-vectorised baseline for the benchmark: the core's math, vectorised over stacks.

Same recursion as rfsearch/reference.py and src_cpp/include/rfsearch/fold.hpp, on one axis:

    k_eff = d*(k-1) + 1
    rf   += (k_eff - 1) * jump
    P    += p_before * jump
    jump *= s
    size  = floor((size + p_before + p_after - k_eff [+ s-1 if ceil_mode]) / s) + 1,
            minus 1 with ceil_mode if the last window starts at or past size + p_before
    'same' padding (PAD_SAME = -1): out = ceil(size/s), total = max((out-1)*s + k_eff - size, 0),
            p_before = total // 2, p_after = total - p_before  (TF)

A stack collapses at the first layer whose output size is < 1: its results are the values
after that layer (status COLLAPSED = 1), later layers are not applied.

Written the way a careful numpy user would: int64 state arrays updated in place, one loop
over layers (L iterations of O(N) ufuncs), no Python loop over stacks, stacks processed in
cache-sized blocks. Collapses are rare in
the benchmark workload, so the loop computes every stack unconditionally and records a
stack's values at its first collapse (a cheap `any()` per layer, a gather only when a stack
collapses) instead of masking every update.

Not handled (the benchmark workload cannot reach them; `score_numpy` checks its input):
parameter validation (kernel < 1, ...), int64 overflow (the workload's values are bounded:
it asserts max(stride)**L * max(k_eff) * L < 2**62), padding_after different from padding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import numpy as np

__all__ = ["NumpyScores", "score_arrays", "score_numpy"]

PAD_SAME = -1


@dataclass
class NumpyScores:
    rf: np.ndarray  # (N,) int64
    jump: np.ndarray
    effective_padding: np.ndarray
    output_size: np.ndarray
    status: np.ndarray  # (N,) uint8: 0 ok, 1 collapsed
    layers_done: np.ndarray  # (N,) int64: layers applied (the collapse layer included)


def _check_bounds(kernel: np.ndarray, stride: np.ndarray, dilation: np.ndarray, padding: np.ndarray) -> None:
    if kernel.size == 0:
        return
    if kernel.min() < 1 or stride.min() < 1 or dilation.min() < 1 or padding.min() < PAD_SAME:
        raise ValueError("numpy baseline: invalid parameters (it does not validate like the core)")
    n_layers = kernel.shape[1]
    keff = int(dilation.max()) * (int(kernel.max()) - 1) + 1
    bound = int(stride.max()) ** n_layers * (keff + int(padding.max()) + 1) * (n_layers + 1)
    if bound >= 2**62:
        raise ValueError("numpy baseline: values could overflow int64; it does not check overflow")


def score_arrays(
    kernel: np.ndarray,
    stride: np.ndarray,
    dilation: np.ndarray,
    padding: np.ndarray,
    ceil_mode: Optional[np.ndarray],
    input_size: int,
    *,
    check: bool = True,
    transpose: bool = True,
    chunk: Optional[int] = 1 << 14,
) -> NumpyScores:
    """Scores N stacks of L layers given (N, L) integer arrays (and an (N, L) bool ceil_mode).

    chunk: stacks per block (None: all at once). Working on blocks of 16k stacks keeps the
    per-layer temporaries in the L2 cache, which is what a careful numpy user does for large N
    (measured: 137 ms instead of 255 ms at N = 1e6, depth 10; 16k was the best of 4k..256k).
    transpose=True first copies each block's input to contiguous (L, n) int64 arrays (one pass
    over the input), so that the per-layer columns are contiguous; transpose=False reads the
    strided (n, L) columns directly. run.py uses whichever is faster.
    """
    if check:
        _check_bounds(kernel, stride, dilation, padding)
    n = kernel.shape[0]
    has_same = bool((padding == PAD_SAME).any())
    if chunk is None or n <= chunk:
        return _score_block(kernel, stride, dilation, padding, ceil_mode, input_size, has_same, transpose)
    out = NumpyScores(
        rf=np.empty(n, np.int64), jump=np.empty(n, np.int64), effective_padding=np.empty(n, np.int64),
        output_size=np.empty(n, np.int64), status=np.empty(n, np.uint8), layers_done=np.empty(n, np.int64),
    )
    fields = ("rf", "jump", "effective_padding", "output_size", "status", "layers_done")
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        part = _score_block(
            kernel[lo:hi], stride[lo:hi], dilation[lo:hi], padding[lo:hi],
            None if ceil_mode is None else ceil_mode[lo:hi], input_size, has_same, transpose,
        )
        for f in fields:
            getattr(out, f)[lo:hi] = getattr(part, f)
    return out


def _score_block(
    kernel: np.ndarray,
    stride: np.ndarray,
    dilation: np.ndarray,
    padding: np.ndarray,
    ceil_mode: Optional[np.ndarray],
    input_size: int,
    has_same: bool,
    transpose: bool,
) -> NumpyScores:
    n, n_layers = kernel.shape
    if transpose:
        cols = [np.ascontiguousarray(a.T, dtype=np.int64) for a in (kernel, stride, dilation, padding)]
        ceil_t = None if ceil_mode is None else np.ascontiguousarray(ceil_mode.T)
    rf = np.ones(n, np.int64)
    jump = np.ones(n, np.int64)
    pad = np.zeros(n, np.int64)
    size = np.full(n, input_size, np.int64)
    # Results of stacks at their first collapse.
    alive = np.ones(n, np.bool_)
    layers_done = np.full(n, n_layers, np.int64)
    final: Optional[List[np.ndarray]] = None  # rf, jump, pad, size of stacks at their collapse
    km1 = np.empty(n, np.int64)
    t = np.empty(n, np.int64)
    num = np.empty(n, np.int64)
    lt = np.empty(n, np.bool_)
    for layer in range(n_layers):
        if transpose:
            k, s, d, p = (c[layer] for c in cols)
            c = None if ceil_t is None else ceil_t[layer]
        else:
            k, s, d, p = (a[:, layer] for a in (kernel, stride, dilation, padding))
            c = None if ceil_mode is None else ceil_mode[:, layer]
        np.subtract(k, 1, out=km1)
        np.multiply(km1, d, out=km1)  # k_eff - 1
        before = p
        after = p
        if has_same:
            same = p == PAD_SAME
            if same.any():
                out = -(-size // s)
                total = np.maximum((out - 1) * s + km1 + 1 - size, 0)
                before = np.where(same, total // 2, p)
                after = np.where(same, total - total // 2, p)
        # size: numerator = size + before + after - k_eff (+ s - 1 with ceil_mode)
        np.add(size, before, out=num)
        np.add(num, after, out=num)
        np.subtract(num, km1, out=num)
        np.subtract(num, 1, out=num)
        if c is not None:
            np.subtract(s, 1, out=t)
            np.multiply(t, c, out=t)
            np.add(num, t, out=num)
        np.floor_divide(num, s, out=num)
        np.add(num, 1, out=num)  # output size (before the ceil_mode correction)
        if c is not None:
            # PyTorch: with ceil_mode the last window must start inside the input or left padding.
            np.subtract(num, 1, out=t)
            np.multiply(t, s, out=t)
            np.subtract(t, size, out=t)
            np.greater_equal(t, before, out=lt)
            np.logical_and(lt, c, out=lt)
            np.subtract(num, lt, out=num)
        # state update
        np.multiply(km1, jump, out=t)
        np.add(rf, t, out=rf)
        np.multiply(before, jump, out=t)
        np.add(pad, t, out=pad)
        np.multiply(jump, s, out=jump)
        size, num = num, size
        np.less(size, 1, out=lt)
        if lt.any():
            newly = lt & alive
            if newly.any():
                idx = np.flatnonzero(newly)
                if final is None:
                    final = [np.empty(n, np.int64) for _ in range(4)]
                for f, state in zip(final, (rf, jump, pad, size)):
                    f[idx] = state[idx]
                layers_done[idx] = layer + 1
                alive[idx] = False
    status = np.zeros(n, np.uint8)
    if final is not None:
        dead = ~alive
        status[dead] = 1
        for f, state in zip(final, (rf, jump, pad, size)):
            np.copyto(state, f, where=dead)
    return NumpyScores(rf, jump, pad, size, status, layers_done)


def score_numpy(workload, **options) -> NumpyScores:  # type: ignore[no-untyped-def]
    """score_arrays on a bench/workload.py Workload (options: check, transpose, chunk)."""
    w = workload
    return score_arrays(w.kernel, w.stride, w.dilation, w.padding, w.ceil_mode, w.input_size, **options)
