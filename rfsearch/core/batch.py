"""Receptive fields of many stacks from integer arrays: ``batch_receptive_fields``.

Arrays in, arrays out. All intake checks (dtypes, shapes, input size, threads) happen here,
once, before either backend runs; per-value checks (kernel >= 1, ...) happen inside the
backends while they read the values, and both report them the same way (a CoreError, worded by
rfsearch.errors.core_error).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Tuple

import numpy as np
import numpy.typing as npt

from .. import _core
from ..model.layers import PAD_SAME
from .intake import (
    LayerArrays,
    SizesLike,
    Where,
    check_axes,
    check_backend,
    depth_array,
    input_sizes,
    int_array,
    thread_count,
)
from .reach import REACH_MAX_RF, batch_blind_spots_reference
from .reference import batch_reference
from .status import CoreOutput, Status

__all__ = ["PAD_SAME", "BatchRF", "LayerArrays", "Status", "batch_receptive_fields", "score_stacks"]

ArrayLike = npt.ArrayLike


@dataclass(frozen=True)
class BatchRF:
    """Results of ``batch_receptive_fields`` (and ``receptive_fields_by_id``, ...): one entry per
    stack (and axis, if the input had an axis dimension).

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
    #: Blind spots (offsets of the RF that no path reaches; rfsearch.core.reach), int64, when asked
    #: for (blind_spots=True); NOT_COMPUTED (-1) where the RF is above REACH_MAX_RF. They belong to
    #: the layers the RF reports (a collapsed stack's include the collapsing layer).
    blind_spots: Optional[np.ndarray] = None

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

    @classmethod
    def from_output(cls, out: CoreOutput, input_size: Optional[Tuple[int, ...]], has_axes: bool,
                    blind_spots: Optional[np.ndarray] = None) -> BatchRF:  # fmt: skip
        """A backend's arrays (..., A); without an axis dimension in the input, the axis is dropped."""
        rf, jump, pad, size, status = (r if has_axes else r[..., 0] for r in out[:5])
        if blind_spots is not None and not has_axes:
            blind_spots = blind_spots[..., 0]
        return cls(rf, jump, pad, size if input_size is not None else None, status, input_size, blind_spots)


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


def layer_arrays(
    kernel: ArrayLike,
    stride: Optional[ArrayLike],
    padding: Optional[ArrayLike],
    dilation: Optional[ArrayLike],
    padding_after: Optional[ArrayLike],
    ceil_mode: Optional[ArrayLike],
) -> Tuple[LayerArrays, bool]:
    """The parameters as LayerArrays of one integer dtype broadcast to (N, L, A) (no copies where
    the dtypes agree), and whether the kernel had an axis dimension."""
    k = int_array(kernel, "kernel")
    if k.ndim not in (2, 3):
        raise ValueError(f"kernel: expected shape (N, L) or (N, L, A), got {k.shape}")
    has_axes = k.ndim == 3
    shape3: Tuple[int, int, int] = (k.shape[0], k.shape[1], k.shape[2] if has_axes else 1)
    check_axes(shape3[2], "kernel")

    given = {"stride": stride, "padding": padding, "dilation": dilation, "padding_after": padding_after}
    arrays = {"kernel": k, **{n: int_array(v, n) for n, v in given.items() if v is not None}}
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
    return LayerArrays(ceil_mode=ceil, **layer), has_axes


def batch_receptive_fields(
    kernel: ArrayLike,
    stride: Optional[ArrayLike] = None,
    padding: Optional[ArrayLike] = None,
    dilation: Optional[ArrayLike] = None,
    *,
    padding_after: Optional[ArrayLike] = None,
    ceil_mode: Optional[ArrayLike] = None,
    depth: Optional[ArrayLike] = None,
    input_size: SizesLike = None,
    threads: Optional[int] = None,
    backend: str = "cpp",
    where: Optional[Where] = None,
    blind_spots: bool = False,
) -> BatchRF:
    """Receptive fields of N candidate stacks of up to L layers, from integer arrays.

    kernel: (N, L) for one spatial axis, or (N, L, A) for A axes (A <= 8). stride, padding,
    dilation, padding_after (default: = padding) and ceil_mode (bool) are scalars, (N, L) (same
    on every axis) or (N, L, A). Defaults: stride 1, padding 0, dilation 1, ceil_mode False.
    padding = PAD_SAME (-1) means TF 'SAME' (padding_after must then be PAD_SAME too).
    depth: (N,) number of layers each stack uses (ragged stacks), any integer dtype; default L.
    input_size: int or A ints; enables output sizes and collapse detection.
    threads: worker threads for the C++ core (None or -1: all cores; more than the hardware
    threads are capped to it).

    Arrays are read in place (any integer dtype, any strides, record fields, unaligned data);
    only arrays of different integer dtypes are converted to a common one, and arrays in
    non-native byte order copied. Floats are refused.
    blind_spots: also count each stack's blind spots per axis (BatchRF.blind_spots; computed in
    C++ on the same threads, -1 where the RF is above REACH_MAX_RF: not computed).
    Returns BatchRF with arrays of shape (N,) or (N, A) matching the input. Invalid values raise
    SpecError (a ValueError) naming the stack, layer, axis and field; where(stack) -> (source,
    line), if given, names the stack's origin instead (e.g. a batch file's line).
    """
    check_backend(backend)
    layers, has_axes = layer_arrays(kernel, stride, padding, dilation, padding_after, ceil_mode)
    n_stacks, n_layers, n_axes = layers.kernel.shape
    depth_arr = depth_array(depth, n_stacks)
    sizes = input_sizes(input_size, n_axes)
    n_threads = thread_count(threads)

    if backend == "cpp":
        core_sizes = None if sizes is None else list(sizes)
        raw = _core.batch_receptive_fields(**layers._asdict(), depth=depth_arr, input_size=core_sizes, threads=n_threads)
        out = CoreOutput.from_core(raw)
    else:
        out = batch_reference(layers, depth_arr, sizes)
    if out.error is not None:
        raise out.error.exception(n_layers=n_layers, where=where)
    spots = None
    if blind_spots:
        if backend == "cpp":
            core_sizes = None if sizes is None else list(sizes)
            raw_spots = _core.batch_blind_spots(**layers._asdict(), depth=depth_arr, input_size=core_sizes,
                                                threads=n_threads, cap=REACH_MAX_RF)  # fmt: skip
            assert raw_spots["error"] is None  # the same inputs passed above
            spots = raw_spots["blind_spots"]
        else:
            spots = batch_blind_spots_reference(layers, depth_arr, sizes)
    return BatchRF.from_output(out, sizes, has_axes, spots)


def score_stacks(*args: Any, **kwargs: Any) -> BatchRF:
    """Deprecated name of `batch_receptive_fields` (same arguments, same result)."""
    warnings.warn("rfsearch.score_stacks is deprecated: use rfsearch.batch_receptive_fields (same arguments)",
                  DeprecationWarning, stacklevel=2)  # fmt: skip
    return batch_receptive_fields(*args, **kwargs)


if TYPE_CHECKING:
    StackScores = BatchRF
else:

    def __getattr__(name: str) -> Any:
        if name == "StackScores":
            warnings.warn("rfsearch.StackScores is deprecated: use rfsearch.BatchRF", DeprecationWarning, stacklevel=2)
            return BatchRF
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
