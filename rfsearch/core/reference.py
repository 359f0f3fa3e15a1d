"""The pure-Python reference: the receptive-field recursion written for obvious correctness.

This is the oracle the C++ core is tested against, value for value, status for status and
error for error. It works on Python ints (no overflow), then says "overflow" exactly where
the core's int64 arithmetic would leave the int64 range.

Per layer with kernel k, stride s, dilation d, padding (before p, after q), on one axis:

    k_eff   = d*(k-1) + 1
    rf      = rf  + (k_eff - 1) * jump        (Distill / the seed tutorial's R recursion)
    padding = padding + p * jump              (effective padding P: unit 0 starts at -P)
    jump    = jump * s
    size    = floor((size + p + q - k_eff) / s) + 1                  (PyTorch)
            = ceil(...) + 1, minus 1 if the last window would start
              at or past size + p                                     (PyTorch ceil_mode)
    'same'  : out = ceil(size/s), p+q = max((out-1)*s + k_eff - size, 0), p = (p+q)//2  (TF)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Tuple

import numpy as np

from ..errors import batch_param_message
from ..model.layers import PAD_SAME, AxisParams

__all__ = ["INT64_MAX", "AxisState", "ParamError", "check_params", "fold_layer", "score_stacks_reference"]

INT64_MAX = 2**63 - 1

OK, COLLAPSED, OVERFLOW = 0, 1, 2


class ParamError(ValueError):
    """An invalid layer parameter: which field, and why (a reason code shared with the core)."""

    def __init__(self, field: str, reason: str, value: int) -> None:
        super().__init__(f"{field}: {reason} ({value})")
        self.field, self.reason, self.value = field, reason, value


@dataclass(frozen=True)
class AxisState:
    rf: int = 1
    jump: int = 1
    padding: int = 0
    size: Optional[int] = None  # None: input size unknown


def check_params(p: AxisParams) -> None:
    """Raises ParamError for the first invalid field, in the order the core checks them."""
    if p.kernel < 1:
        raise ParamError("kernel", "below_one", p.kernel)
    if p.stride < 1:
        raise ParamError("stride", "below_one", p.stride)
    if p.dilation < 1:
        raise ParamError("dilation", "below_one", p.dilation)
    if p.pad_before < 0 and p.pad_before != PAD_SAME:
        raise ParamError("padding", "negative", p.pad_before)
    if (p.pad_after != PAD_SAME) if p.pad_before == PAD_SAME else (p.pad_after < 0):
        raise ParamError("padding_after", "padding_after", p.pad_after)


def _too_big(*values: int) -> bool:
    return any(v > INT64_MAX for v in values)


def fold_layer(s: AxisState, p: AxisParams) -> Tuple[AxisState, int]:
    """Applies one (checked) layer. Returns the new state and OK, COLLAPSED or OVERFLOW.

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
        elif p.stride == 1:
            total = keff - 1
        else:
            raise ParamError("padding", "same_needs_size", PAD_SAME)
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


def score_stacks_reference(
    kernel: np.ndarray,
    stride: np.ndarray,
    dilation: np.ndarray,
    padding: np.ndarray,
    padding_after: np.ndarray,
    ceil_mode: np.ndarray,
    depth: Optional[np.ndarray],
    input_size: Optional[Tuple[int, ...]],
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The batch computation over (N, L, A) arrays, one stack at a time, in plain Python.

    Same inputs, outputs and errors as the core: (rf, jump, padding, size, status), each (N, A).
    """
    n_stacks, n_layers, n_axes = kernel.shape
    out = [np.zeros((n_stacks, n_axes), dtype=np.int64) for _ in range(4)]
    status = np.zeros((n_stacks, n_axes), dtype=np.uint8)
    for n in range(n_stacks):
        d = n_layers if depth is None else int(depth[n])
        if not 0 <= d <= n_layers:
            raise ValueError(batch_param_message(n, -1, -1, "depth", "depth_range", d, n_layers))
        for a in range(n_axes):
            state = AxisState(size=None if input_size is None else input_size[a])
            code = OK
            for layer in range(d):
                values = [int(arr[n, layer, a]) for arr in (kernel, stride, dilation, padding, padding_after)]
                k, s, dil, before, after = values
                params = AxisParams(k, s, dil, before, after, bool(ceil_mode[n, layer, a]))
                try:
                    for field, v in zip(("kernel", "stride", "dilation", "padding", "padding_after"), values):
                        if v > INT64_MAX:
                            raise ParamError(field, "too_large", v)
                    check_params(params)
                    state, code = fold_layer(state, params)
                except ParamError as e:
                    raise ValueError(batch_param_message(n, layer, a, e.field, e.reason, e.value, n_layers)) from None
                if code != OK:
                    break
            out[0][n, a], out[1][n, a], out[2][n, a] = state.rf, state.jump, state.padding
            out[3][n, a] = 0 if state.size is None else state.size
            status[n, a] = code
    return out[0], out[1], out[2], out[3], status
