"""Checks of the arguments every batch function takes, done once, before either backend runs.

Arrays keep their memory: any integer dtype, any strides (broadcast, negative, record fields,
unaligned) are read in place by the core. Only arrays in non-native byte order are copied, and
of those only the part that is not a broadcast.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from ..errors import SpecError
from ..model.values import as_int
from .status import MAX_AXES

__all__ = [
    "BACKENDS",
    "LayerArrays",
    "Where",
    "check_axes",
    "check_backend",
    "depth_array",
    "input_sizes",
    "int_array",
    "native",
    "thread_count",
]

BACKENDS = ("cpp", "python")
SizesLike = Union[None, int, Sequence[int], np.ndarray]
#: where(stack) -> (source, line): where a stack came from, for error messages (e.g. a batch file's line)
Where = Callable[[int], Tuple[Optional[str], Optional[int]]]


class LayerArrays(NamedTuple):
    """A batch's layer parameters by name (never by position: the core's order is not the public one).

    Dense batches: each (N, L, A); a layer table: each (T, A). The five integer arrays share one
    dtype; ceil_mode is bool; padding / padding_after are the padding before / after the input
    (PAD_SAME = -1: TensorFlow 'same' on both sides).
    """

    kernel: np.ndarray
    stride: np.ndarray
    padding: np.ndarray
    dilation: np.ndarray
    padding_after: np.ndarray
    ceil_mode: np.ndarray


def check_backend(backend: str) -> None:
    """ValueError unless backend is 'cpp' or 'python'."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be 'cpp' or 'python', got {backend!r}")


def native(arr: np.ndarray) -> np.ndarray:
    """arr in native byte order: itself if it is, else a copy of its non-broadcast part, broadcast again."""
    if arr.dtype.isnative:
        return arr
    core = arr[tuple(slice(0, 1) if stride == 0 else slice(None) for stride in arr.strides)]
    swapped: np.ndarray = np.broadcast_to(core.astype(core.dtype.newbyteorder("=")), arr.shape)
    return swapped


def int_array(value: npt.ArrayLike, name: str) -> np.ndarray:
    """value as an integer array in native byte order (no copy otherwise); TypeError for other dtypes."""
    arr: np.ndarray = np.asarray(value)
    if arr.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: expected an integer array, got dtype {arr.dtype}"
            + (" (floats are refused: a silent cast could change values)" if arr.dtype.kind == "f" else "")
        )
    return native(arr)


def check_axes(n_axes: int, name: str) -> None:
    """ValueError if a batch has more axes than the core holds (MAX_AXES)."""
    if n_axes > MAX_AXES:
        raise ValueError(f"{name}: at most {MAX_AXES} axes, got {n_axes}")


def depth_array(depth: Optional[npt.ArrayLike], n_stacks: int) -> Optional[np.ndarray]:
    """depth as an (N,) integer array of any integer dtype (read in place), or None."""
    if depth is None:
        return None
    arr = int_array(depth, "depth")
    if arr.shape != (n_stacks,):
        raise ValueError(f"depth: expected shape ({n_stacks},), got {arr.shape}")
    return arr


def input_sizes(input_size: SizesLike, n_axes: int) -> Optional[Tuple[int, ...]]:
    """One positive int64 per axis (an int applies to every axis), or None; SpecError naming input_size."""
    if input_size is None:
        return None
    if isinstance(input_size, (list, tuple)) or (isinstance(input_size, np.ndarray) and input_size.ndim == 1):
        raw = list(input_size)
        if len(raw) != n_axes:
            raise ValueError(f"input_size: expected {n_axes} values (one per axis), got {len(raw)}")
        names = ["input_size"] if n_axes == 1 else [f"input_size on axis {a}" for a in range(n_axes)]
        return tuple(as_int(v, what, minimum=1) for v, what in zip(raw, names))
    return (as_int(input_size, "input_size", minimum=1),) * n_axes


def thread_count(threads: Optional[int]) -> int:
    """Threads for the core: 0 for all cores (None or -1), else a positive int (the core caps it)."""
    if threads is None:
        return 0
    n = as_int(threads, "threads")
    if n == -1:
        return 0
    if n < 1:
        raise SpecError(f"threads must be a positive integer, or -1 / None for all cores, got {n}")
    return n

