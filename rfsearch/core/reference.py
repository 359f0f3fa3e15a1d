"""The pure-Python reference: the receptive-field recursion written for obvious correctness.

This is the oracle the C++ core is tested against, value for value, status for status and
error for error, in each mode (dense arrays, a layer table plus ids, per-layer states). It works
on Python ints (no overflow), then says "overflow" exactly where the core's int64 arithmetic
would leave the int64 range.

Per layer with kernel k, stride s, dilation d, padding (before p, after q), on one axis:

    k_eff   = d*(k-1) + 1
    rf      = rf  + (k_eff - 1) * jump        (Distill / the seed tutorial's R recursion)
    padding = padding + p * jump              (effective padding P: unit 0 starts at -P)
    jump    = jump * s
    size    = floor((size + p + q - k_eff) / s) + 1                  (PyTorch)
            = ceil(...) + 1, minus 1 if the last window would start
              at or past size + p                                     (PyTorch ceil_mode)
    'same'  : out = ceil(size/s), p+q = max((out-1)*s + k_eff - size, 0), p = (p+q)//2  (TF)

A stack is folded layer by layer over all its axes; an axis that collapsed or overflowed stops
(keeps its state and status) while the others go on. The first invalid input, in this order:
the depth; any id within the depth that is not a table row; then layer by layer, the first
axis still running whose parameters are invalid (checked in the order of `check_params`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, List, Optional, Tuple

import numpy as np

from ..model.layers import PAD_SAME, AxisParams
from .intake import LayerArrays
from .status import CoreError, CoreOutput, Status

__all__ = ["INT64_MAX", "AxisState", "batch_reference", "by_id_reference", "check_params", "fold_layer"]

INT64_MAX = 2**63 - 1
OK, COLLAPSED, OVERFLOW = int(Status.OK), int(Status.COLLAPSED), int(Status.OVERFLOW)
FIELD_NAMES = ("kernel", "stride", "dilation", "padding", "padding_after")


@dataclass(frozen=True)
class AxisState:
    rf: int = 1
    jump: int = 1
    padding: int = 0
    size: Optional[int] = None  # None: input size unknown


def check_params(p: AxisParams, sized: bool) -> Optional[Tuple[str, str, int]]:
    """None if the layer is valid, else (code, field, value) of the first problem, in the core's order."""
    if p.kernel < 1:
        return "kernel_below_one", "kernel", p.kernel
    if p.stride < 1:
        return "stride_below_one", "stride", p.stride
    if p.dilation < 1:
        return "dilation_below_one", "dilation", p.dilation
    if p.pad_before < 0 and p.pad_before != PAD_SAME:
        return "padding_negative", "padding", p.pad_before
    if (p.pad_after != PAD_SAME) if p.pad_before == PAD_SAME else (p.pad_after < 0):
        return "padding_after_mismatch", "padding_after", p.pad_after
    if p.pad_before == PAD_SAME and p.stride > 1 and not sized:
        return "same_needs_size", "padding", p.stride
    return None


def _too_big(*values: int) -> bool:
    return any(v > INT64_MAX for v in values)


def fold_layer(s: AxisState, p: AxisParams) -> Tuple[AxisState, int]:
    """Applies one valid layer (check_params gave None). Returns the new state and OK, COLLAPSED or OVERFLOW.

    On OVERFLOW the state is returned unchanged; on COLLAPSED the layer is applied and `size`
    holds its non-positive output size (the stack ends there).
    """
    dk = p.dilation * (p.kernel - 1)
    keff = dk + 1
    if _too_big(dk, keff):
        return s, OVERFLOW

    before, after = p.pad_before, p.pad_after
    if before == PAD_SAME:
        if s.size is not None:
            out = -(-s.size // p.stride)  # ceil
            total = max((out - 1) * p.stride + keff - s.size, 0)
        else:  # stride 1 (check_params): out = size whatever it is
            total = keff - 1
        before, after = total // 2, total - total // 2

    grow = (keff - 1) * s.jump
    shift = before * s.jump
    new = AxisState(rf=s.rf + grow, jump=s.jump * p.stride, padding=s.padding + shift, size=s.size)
    if _too_big(grow, new.rf, shift, new.padding, new.jump):
        return s, OVERFLOW

    if s.size is None:
        return new, OK
    padded = s.size + before + after
    span = padded - keff + (p.stride - 1 if p.ceil_mode else 0)
    if _too_big(s.size + before, padded, span):
        return s, OVERFLOW
    out = span // p.stride + 1
    if p.ceil_mode and (out - 1) * p.stride >= s.size + before:
        out -= 1
    return replace(new, size=out), (COLLAPSED if out < 1 else OK)


# read(n, l, a) -> (kernel, stride, dilation, padding, padding_after, ceil_mode) as Python values
Reader = Callable[[int, int, int], Tuple[int, int, int, int, int, bool]]
# check_stack(n, depth) -> the stack's structural error (ids), or None
StackCheck = Callable[[int, int], Optional[CoreError]]


def fold_stacks(
    read: Reader,
    check_stack: StackCheck,
    shape: Tuple[int, int, int],
    depth: Optional[np.ndarray],
    input_size: Optional[Tuple[int, ...]],
    per_layer: bool,
) -> CoreOutput:
    """Every stack, one at a time: results (N, A), or (N, L, A) with per_layer (row (n, l): the
    state after layer l, or at the stack's depth for l >= depth). Stops at the first error."""
    n_stacks, n_layers, n_axes = shape
    sized = input_size is not None
    out_shape = (n_stacks, n_layers, n_axes) if per_layer else (n_stacks, n_axes)
    out = [np.zeros(out_shape, dtype=np.int64) for _ in range(4)]
    status = np.zeros(out_shape, dtype=np.uint8)

    def result(error: Optional[CoreError]) -> CoreOutput:
        return CoreOutput(out[0], out[1], out[2], out[3], status, error)

    def write(where: Tuple[int, ...], states: List[AxisState], codes: List[int]) -> None:
        for a, (state, code) in enumerate(zip(states, codes)):
            at = (*where, a)
            out[0][at], out[1][at], out[2][at] = state.rf, state.jump, state.padding
            out[3][at] = 0 if state.size is None else state.size
            status[at] = code

    for n in range(n_stacks):
        d = n_layers if depth is None else int(depth[n])
        if not 0 <= d <= n_layers:
            return result(CoreError(n, -1, -1, "depth", "depth_out_of_range", d))
        structural = check_stack(n, d)
        if structural is not None:
            return result(structural)
        states = [AxisState(size=None if input_size is None else input_size[a]) for a in range(n_axes)]
        codes = [OK] * n_axes
        layer = 0
        while layer < d and OK in codes:
            params = {}
            for a in range(n_axes):
                if codes[a] != OK:
                    continue
                kernel, stride, dilation, before, after, ceil = read(n, layer, a)
                for field, v in zip(FIELD_NAMES, (kernel, stride, dilation, before, after)):
                    if v > INT64_MAX:
                        return result(CoreError(n, layer, a, field, "too_large", v))
                p = AxisParams(kernel, stride, dilation, before, after, ceil)
                problem = check_params(p, sized)
                if problem is not None:
                    code, field, value = problem
                    return result(CoreError(n, layer, a, field, code, value))
                params[a] = p
            for a, p in params.items():
                states[a], codes[a] = fold_layer(states[a], p)
            if per_layer:
                write((n, layer), states, codes)
            layer += 1
        if per_layer:
            for rest in range(layer, n_layers):
                write((n, rest), states, codes)
        else:
            write((n,), states, codes)
    return result(None)


def _reader(arrays: LayerArrays, row: Callable[[int, int], Tuple[int, ...]]) -> Reader:
    def read(n: int, layer: int, a: int) -> Tuple[int, int, int, int, int, bool]:
        at = (*row(n, layer), a)
        return (int(arrays.kernel[at]), int(arrays.stride[at]), int(arrays.dilation[at]), int(arrays.padding[at]),
                int(arrays.padding_after[at]), bool(arrays.ceil_mode[at]))  # fmt: skip

    return read


def batch_reference(
    arrays: LayerArrays, depth: Optional[np.ndarray], input_size: Optional[Tuple[int, ...]]
) -> CoreOutput:
    """Dense (N, L, A) arrays: the same inputs, outputs and error as _core.batch_receptive_fields."""
    return fold_stacks(_reader(arrays, lambda n, layer: (n, layer)), lambda n, d: None, arrays.kernel.shape, depth,
                       input_size, per_layer=False)  # fmt: skip


def by_id_reference(
    table: LayerArrays,
    ids: np.ndarray,
    depth: Optional[np.ndarray],
    input_size: Optional[Tuple[int, ...]],
    *,
    per_layer: bool = False,
) -> CoreOutput:
    """(N, L) ids into (T, A) table columns: as _core.receptive_fields_by_id (per_layer:
    _core.layer_receptive_fields_by_id)."""
    n_rows, n_axes = table.kernel.shape

    def check_ids(n: int, d: int) -> Optional[CoreError]:
        for layer in range(d):
            row = int(ids[n, layer])
            if not 0 <= row < n_rows:
                return CoreError(n, layer, -1, "ids", "id_out_of_range", row)
        return None

    shape = (ids.shape[0], ids.shape[1], n_axes)
    return fold_stacks(_reader(table, lambda n, layer: (int(ids[n, layer]),)), check_ids, shape, depth, input_size,
                       per_layer)  # fmt: skip
