"""Scoring many candidate stacks from integer arrays: ``score_stacks``.

Arrays in, arrays out. All intake checks (dtypes, shapes, input size, threads) happen here,
once, before either backend runs; per-value checks (kernel >= 1, ...) happen inside the
backends while they read the values, and both report them with the same message.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from ..errors import batch_param_message
from ..model.layers import PAD_SAME
from .reference import score_stacks_reference

__all__ = ["PAD_SAME", "StackScores", "Status", "score_stacks"]

ArrayLike = npt.ArrayLike
Backend = str  # "cpp" | "python"


class Status(enum.IntEnum):
    """Per stack and axis: whether the stack is usable."""

    OK = 0
    COLLAPSED = 1  # an output size fell below 1: the stack is invalid for this input size
    OVERFLOW = 2  # a value left the int64 range


@dataclass(frozen=True)
class StackScores:
    """Results of ``score_stacks``: one entry per stack (and axis, if the input had an axis dimension).

    A collapsed stack reports the values of the layer where it collapsed (output_size <= 0
    there; later layers are not applied). An overflowed stack reports the values before the
    layer that overflowed.
    """

    rf: np.ndarray
    jump: np.ndarray
    effective_padding: np.ndarray
    output_size: Optional[np.ndarray]  # None when no input size was given
    status: np.ndarray  # uint8, values of Status
    input_size: Optional[Tuple[int, ...]]

    @property
    def valid(self) -> np.ndarray:
        """Per stack: True if no axis collapsed or overflowed."""
        ok: np.ndarray = self.status == Status.OK
        return ok if ok.ndim == 1 else np.all(ok, axis=-1)

    @property
    def start(self) -> np.ndarray:
        """Input coordinate where output unit 0's RF starts (padding included): -P."""
        return -self.effective_padding

    @property
    def center(self) -> np.ndarray:
        """Centre of output unit 0's RF: -P + (rf - 1) / 2 (float64)."""
        return -self.effective_padding + (self.rf - 1) / 2.0

    @property
    def rf_exceeds_input(self) -> Optional[np.ndarray]:
        """RF larger than the input on that axis (None without an input size)."""
        if self.input_size is None:
            return None
        size = np.asarray(self.input_size, dtype=np.int64)
        return self.rf > (size if self.rf.ndim == 2 else size[0])

    def __len__(self) -> int:
        return len(self.rf)


def _int_array(value: ArrayLike, name: str) -> np.ndarray:
    arr: np.ndarray = np.asarray(value)
    if arr.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: expected an integer array, got dtype {arr.dtype}"
            + (" (floats are refused: a silent cast could change values)" if arr.dtype.kind == "f" else "")
        )
    return arr


def _shaped(arr: np.ndarray, shape: Tuple[int, int, int], name: str) -> np.ndarray:
    """Broadcasts a parameter to (N, L, A) without copying (stride-0 views for repeats)."""
    given = arr.shape
    if arr.ndim == 2:
        arr = arr[:, :, None]  # an (N, L) parameter applies to every axis
    try:
        return np.broadcast_to(arr, shape)
    except ValueError:
        expected = "(N, L) or (N, L, A) = " + str(shape if shape[2] > 1 else shape[:2])
        raise ValueError(f"{name}: shape {given} does not fit the kernel's {expected}") from None


def _threads(threads: Optional[int]) -> int:
    if threads is None or threads == -1:
        return 0
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be a positive integer, or -1/None for all cores, got {threads!r}")
    return int(threads)


def score_stacks(
    kernel: ArrayLike,
    stride: Optional[ArrayLike] = None,
    padding: Optional[ArrayLike] = None,
    dilation: Optional[ArrayLike] = None,
    *,
    padding_after: Optional[ArrayLike] = None,
    ceil_mode: Optional[ArrayLike] = None,
    depth: Optional[ArrayLike] = None,
    input_size: Union[None, int, Sequence[int]] = None,
    threads: Optional[int] = None,
    backend: Backend = "cpp",
) -> StackScores:
    """Receptive fields of N candidate stacks of up to L layers, from integer arrays.

    kernel: (N, L) for one spatial axis, or (N, L, A) for A axes. stride, padding, dilation,
    padding_after (default: = padding) and ceil_mode (bool) are scalars, (N, L) (same on every
    axis) or (N, L, A). Defaults: stride 1, padding 0, dilation 1, ceil_mode False.
    padding = PAD_SAME (-1) means TF 'SAME' (padding_after must then be PAD_SAME too).
    depth: (N,) number of layers each stack uses (ragged stacks); default L.
    input_size: int or A ints; enables output sizes and collapse detection.
    threads: worker threads for the C++ core (None or -1: all cores).

    Layer arrays are read without copying when they share one integer dtype (int8 ... uint64,
    any strides); mixed dtypes are converted to a common one. Floats are refused.
    Returns StackScores with arrays of shape (N,) or (N, A) matching the input.
    """
    if backend not in ("cpp", "python"):
        raise ValueError(f"backend must be 'cpp' or 'python', got {backend!r}")
    k = _int_array(kernel, "kernel")
    if k.ndim not in (2, 3):
        raise ValueError(f"kernel: expected shape (N, L) or (N, L, A), got {k.shape}")
    has_axes = k.ndim == 3
    shape3: Tuple[int, int, int] = (k.shape[0], k.shape[1], k.shape[2] if has_axes else 1)

    given = {"stride": stride, "padding": padding, "dilation": dilation, "padding_after": padding_after}
    arrays = {"kernel": k, **{n: _int_array(v, n) for n, v in given.items() if v is not None}}
    dtype = np.result_type(*arrays.values())
    if dtype.kind not in "iu":  # uint64 mixed with signed: no common integer type
        raise TypeError("layer arrays mix uint64 with signed integers: convert them to int64 first")
    defaults = {"stride": 1, "padding": 0, "dilation": 1}
    layer = {}
    for name in ("kernel", "stride", "dilation", "padding"):
        arr = arrays.get(name, np.asarray(defaults.get(name, 0), dtype=dtype))
        layer[name] = _shaped(arr.astype(dtype, copy=False), shape3, name)
    after = arrays.get("padding_after")
    layer["padding_after"] = (
        layer["padding"] if after is None else _shaped(after.astype(dtype, copy=False), shape3, "padding_after")
    )

    if ceil_mode is None:
        ceil = np.broadcast_to(np.False_, shape3)
    else:
        c = np.asarray(ceil_mode)
        if c.dtype.kind not in "biu":
            raise TypeError(f"ceil_mode: expected a bool array, got dtype {c.dtype}")
        ceil = _shaped(c.astype(bool, copy=False), shape3, "ceil_mode")

    depth_arr = None
    if depth is not None:
        depth_arr = _int_array(depth, "depth")
        if depth_arr.shape != (shape3[0],):
            raise ValueError(f"depth: expected shape ({shape3[0]},), got {depth_arr.shape}")
        if depth_arr.dtype not in (np.int32, np.int64):
            if depth_arr.dtype.kind == "u" and depth_arr.size and depth_arr.max() > np.iinfo(np.int64).max:
                raise ValueError("depth: values above the int64 range")
            depth_arr = depth_arr.astype(np.int64)

    sizes: Optional[Tuple[int, ...]] = None
    if input_size is not None:
        raw = (input_size,) * shape3[2] if isinstance(input_size, (int, np.integer)) else tuple(input_size)
        if len(raw) != shape3[2]:
            raise ValueError(f"input_size: expected {shape3[2]} values (one per axis), got {len(raw)}")
        for axis, v in enumerate(raw):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 1 <= v <= np.iinfo(np.int64).max:
                raise ValueError(f"input_size must be a positive integer, got {v!r} on axis {axis}")
        sizes = tuple(int(v) for v in raw)
    n_threads = _threads(threads)

    results: list[np.ndarray]
    args = (layer["kernel"], layer["stride"], layer["dilation"], layer["padding"], layer["padding_after"], ceil)
    if backend == "cpp":
        from .. import _core

        *results, error = _core.score_stacks(*args, depth_arr, None if sizes is None else list(sizes), n_threads)
        if error is not None:
            raise ValueError(batch_param_message(*error, n_layers=shape3[1]))
    else:
        results = list(score_stacks_reference(*args, depth_arr, sizes))

    rf, jump, pad, size, status = (r if has_axes else r[:, 0] for r in results)
    return StackScores(rf, jump, pad, size if sizes is not None else None, status, sizes)
