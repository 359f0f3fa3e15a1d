"""The core's input as a table of distinct layers, and stacks as row ids.

Many stacks share few distinct layers (a NAS file of a million stacks has a few hundred distinct
tokens; a search space has a few dozen choices per position). `LayerTable` holds each distinct
layer once, as per-axis int64 columns; a batch of stacks is then an (N, L) matrix of row ids
plus each stack's depth. This is the core's documented input next to the dense arrays, and what
`receptive_field` (one stack), batch files and search spaces all build. The core validates and
packs the table once per call and gathers rows by id; nothing is expanded to (N, L, A) arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from .. import _core
from ..errors import INT64_MAX, SpecError
from ..model.layers import PAD_SAME, Layer
from ..model.values import as_int
from .batch import BatchRF
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
from .reach import REACH_MAX_RF, by_id_blind_spots_reference
from .reference import by_id_reference
from .status import MAX_AXES, CoreOutput

__all__ = ["LayerColumns", "LayerTable", "layer_receptive_fields", "receptive_fields_by_id"]

_AXIS_FIELDS = (("kernel", "kernel"), ("stride", "stride"), ("dilation", "dilation"), ("pad_before", "padding"),
                ("pad_after", "padding"))  # fmt: skip


@dataclass(frozen=True)
class LayerColumns:
    """Per-axis parameter columns of a layer table, each (T, A): row t is layer t on each axis.

    padding / padding_after are the padding before / after (PAD_SAME: TensorFlow 'same').
    """

    kernel: np.ndarray
    stride: np.ndarray
    dilation: np.ndarray
    padding: np.ndarray
    padding_after: np.ndarray
    ceil_mode: np.ndarray  # bool

    @property
    def needs_size(self) -> np.ndarray:
        """(T,) bool: the layer has 'same' padding with stride > 1, which needs the input size."""
        hit: np.ndarray = ((self.padding == PAD_SAME) & (self.stride > 1)).any(axis=1)
        return hit

    def arrays(self) -> LayerArrays:
        """The columns as the core's named record."""
        return LayerArrays(self.kernel, self.stride, self.padding, self.dilation, self.padding_after, self.ceil_mode)


class LayerTable:
    """Distinct layers on `ndim` axes, each stored once; `add` returns a layer's row id.

    Layers are equal (and share a row) when their parameters are equal; names do not count.
    `LayerTable.from_columns` builds a table from parameter arrays instead.
    """

    def __init__(self, ndim: int, layers: Iterable[Layer] = ()) -> None:
        if isinstance(ndim, bool) or not isinstance(ndim, int) or ndim < 1:
            raise ValueError(f"ndim must be a positive integer, got {ndim!r}")
        if ndim > MAX_AXES:
            raise SpecError(f"at most {MAX_AXES} axes, got {ndim}")
        self.ndim = ndim
        self._layers: List[Layer] = []
        self._rows: List[Tuple[Tuple[int, int, int, int, int], ...]] = []
        self._ceil: List[bool] = []
        self._ids: Dict[Layer, int] = {}
        self._columns: Optional[LayerColumns] = None
        self._fixed = False  # from_columns: no layers to add
        for layer in layers:
            self.add(layer)

    @classmethod
    def from_columns(
        cls,
        kernel: npt.ArrayLike,
        stride: Optional[npt.ArrayLike] = None,
        padding: Optional[npt.ArrayLike] = None,
        dilation: Optional[npt.ArrayLike] = None,
        *,
        padding_after: Optional[npt.ArrayLike] = None,
        ceil_mode: Optional[npt.ArrayLike] = None,
    ) -> LayerTable:
        """A table of T rows from parameter columns, each (T,) (the same on every axis) or (T, A),
        or a scalar for every row; defaults as for batch_receptive_fields (stride 1, padding 0,
        dilation 1, padding_after = padding, ceil_mode False).

        Rows are kept as given: not merged, and not validated here (a kernel of 0 is reported when
        a stack uses that row, as for the dense arrays); values must fit int64.
        """
        k = int_array(kernel, "kernel")
        if k.ndim not in (1, 2):
            raise ValueError(f"kernel: expected shape (T,) or (T, A), got {k.shape}")
        given = {"kernel": k, "stride": stride, "padding": padding, "dilation": dilation,
                 "padding_after": padding_after}  # fmt: skip
        arrays = {name: int_array(v, name) for name, v in given.items() if v is not None}
        n_rows = k.shape[0]
        n_axes = max([a.shape[1] for a in arrays.values() if a.ndim == 2] or [1])
        check_axes(n_axes, "kernel")

        def column(value: np.ndarray, name: str, dtype: type) -> np.ndarray:
            arr = value[:, None] if value.ndim == 1 else value
            try:
                wide = np.broadcast_to(arr, (n_rows, n_axes))
            except ValueError:
                fits = f"(T,) or (T, A) = {(n_rows, n_axes)}"
                raise ValueError(f"{name}: shape {value.shape} does not fit {fits}") from None
            if dtype is not bool and wide.dtype == np.uint64 and wide.size and int(wide.max()) > INT64_MAX:
                row, axis = (int(i) for i in np.argwhere(wide > INT64_MAX)[0])
                raise SpecError(f"{name} is larger than the int64 range, got {int(wide[row, axis])}",
                                layer=row, axis=axis)  # fmt: skip
            out: np.ndarray = np.ascontiguousarray(wide, dtype=dtype)
            return out

        defaults = {"stride": 1, "padding": 0, "dilation": 1}
        cols = {}
        for name in ("kernel", "stride", "dilation", "padding"):
            cols[name] = column(arrays.get(name, np.asarray(defaults.get(name, 0))), name, np.int64)
        cols["padding_after"] = (column(arrays["padding_after"], "padding_after", np.int64)
                                 if "padding_after" in arrays else cols["padding"])  # fmt: skip
        if ceil_mode is None:
            ceil = np.zeros((n_rows, n_axes), bool)
        else:
            c = np.asarray(ceil_mode)
            if c.dtype.kind not in "biu":
                raise TypeError(f"ceil_mode: expected a bool array, got dtype {c.dtype}")
            ceil = column(c.astype(bool), "ceil_mode", bool)
        table = cls(n_axes)
        table._columns = LayerColumns(ceil_mode=ceil, **cols)
        table._fixed = True
        return table

    def __len__(self) -> int:
        return len(self._layers) if not self._fixed else len(self.columns.kernel)

    def layer(self, row: int) -> Layer:
        """The layer stored at `row` (the first one added with those parameters)."""
        if self._fixed:
            raise ValueError("a table built from columns holds no Layer objects")
        return self._layers[row]

    def add(self, layer: Layer) -> int:
        """The row id of `layer`, adding it if new. SpecError if it does not fit the table's axes or int64."""
        row = self._ids.get(layer)
        if row is not None:
            return row
        if self._fixed:
            raise ValueError("a table built from columns takes no layers")
        if layer.ndim is not None and layer.ndim != self.ndim:
            raise SpecError(f"{layer.spec()} has {layer.ndim} axes but the stacks have {self.ndim}")
        params = layer.axis_params(self.ndim)
        values = tuple(tuple(getattr(p, attr) for attr, _ in _AXIS_FIELDS) for p in params)
        for axis_values in values:
            for (_, name), v in zip(_AXIS_FIELDS, axis_values):
                as_int(v, name, minimum=-INT64_MAX - 1)  # int64 range: the core's columns are int64
        row = len(self._layers)
        self._layers.append(layer)
        self._rows.append(values)
        self._ceil.append(layer.ceil_mode)
        self._ids[layer] = row
        self._columns = None
        return row

    def ids(self, layers: Iterable[Layer]) -> List[int]:
        """Row ids of a stack's layers, in order; a SpecError names the layer index."""
        out: List[int] = []
        for index, layer in enumerate(layers):
            try:
                out.append(self.add(layer))
            except SpecError as e:
                raise e.located(layer=index) from None
        return out

    @property
    def columns(self) -> LayerColumns:
        """The table as per-axis int64 / bool columns, each (T, A)."""
        if self._columns is None:
            t, a = len(self._rows), self.ndim
            ints = np.array(self._rows, dtype=np.int64).reshape(t, a, 5)
            ceil = np.repeat(np.array(self._ceil, dtype=bool)[:, None], a, axis=1)
            kernel, stride, dilation, padding, padding_after = (ints[:, :, f] for f in range(5))
            self._columns = LayerColumns(kernel, stride, dilation, padding, padding_after, ceil)
        return self._columns


IdsLike = Union[npt.ArrayLike, Sequence[Sequence[int]]]


def _ids_array(ids: IdsLike, ndim: int) -> np.ndarray:
    matrix = int_array(ids, "ids")
    if matrix.ndim != ndim:
        want = "(N, L)" if ndim == 2 else "(L,)"
        raise ValueError(f"ids: expected shape {want}, got {matrix.shape}")
    return matrix


def _run_by_id(table: LayerTable, matrix: np.ndarray, depth: Optional[np.ndarray], sizes: Optional[Tuple[int, ...]],
               threads: int, backend: str, per_layer: bool, where: Optional[Where] = None) -> CoreOutput:  # fmt: skip
    columns = table.columns.arrays()
    if backend == "cpp":
        run = _core.layer_receptive_fields_by_id if per_layer else _core.receptive_fields_by_id
        out = CoreOutput.from_core(run(**columns._asdict(), ids=matrix, depth=depth,
                                       input_size=None if sizes is None else list(sizes), threads=threads))  # fmt: skip
    else:
        out = by_id_reference(columns, matrix, depth, sizes, per_layer=per_layer)
    if out.error is not None:
        raise out.error.exception(n_layers=matrix.shape[1], n_rows=len(table), where=where)
    return out


def _blind_spots_by_id(table: LayerTable, matrix: np.ndarray, depth: Optional[np.ndarray],
                       sizes: Optional[Tuple[int, ...]], threads: int, backend: str,
                       per_layer: bool) -> np.ndarray:  # fmt: skip
    """Blind spots (N, A) or (N, L, A) of stacks whose receptive fields were computed (valid inputs)."""
    columns = table.columns.arrays()
    if backend == "python":
        return by_id_blind_spots_reference(columns, matrix, depth, sizes, per_layer=per_layer)
    raw = _core.blind_spots_by_id(**columns._asdict(), ids=matrix, depth=depth,
                                  input_size=None if sizes is None else list(sizes), threads=threads,
                                  cap=REACH_MAX_RF, per_layer=per_layer)  # fmt: skip
    assert raw["error"] is None  # the same inputs passed the receptive-field call
    return raw["blind_spots"]


def receptive_fields_by_id(
    table: LayerTable,
    ids: IdsLike,
    depth: Optional[npt.ArrayLike] = None,
    *,
    input_size: SizesLike = None,
    threads: Optional[int] = None,
    backend: str = "cpp",
    where: Optional[Where] = None,
    blind_spots: bool = False,
) -> BatchRF:
    """Receptive fields of N stacks given as an (N, L) matrix of `table` row ids.

    ids: any integer dtype and strides (int32 is enough and half the memory of int64); read in
    place. depth: (N,) number of layers each stack uses (ids past it are ignored), any integer
    dtype; default L. Every id within a stack's depth must be a row of the table. Results are
    per stack and axis, as for the dense arrays: shape (N, A), or (N,) for a one-axis table.
    Invalid values raise SpecError naming the stack, layer, axis and field; where(stack) ->
    (source, line), if given, names the stack's origin instead (e.g. a batch file's line).
    blind_spots: also count each stack's blind spots (BatchRF.blind_spots, as for
    batch_receptive_fields).
    """
    check_backend(backend)
    matrix = _ids_array(ids, 2)
    depth_arr = depth_array(depth, matrix.shape[0])
    sizes = input_sizes(input_size, table.ndim)
    threads_n = thread_count(threads)
    out = _run_by_id(table, matrix, depth_arr, sizes, threads_n, backend, per_layer=False, where=where)
    spots = _blind_spots_by_id(table, matrix, depth_arr, sizes, threads_n, backend, False) if blind_spots else None
    return BatchRF.from_output(out, sizes, table.ndim > 1, spots)


def layer_receptive_fields(
    table: LayerTable,
    ids: IdsLike,
    *,
    input_size: SizesLike = None,
    backend: str = "cpp",
    blind_spots: bool = False,
) -> BatchRF:
    """The receptive field after every layer of one stack given as (L,) `table` row ids, in O(L).

    Row l of each result is what the stack cut after layer l gives (as if each prefix were its
    own stack in batch_receptive_fields): shape (L, A), or (L,) for a one-axis table. A dense
    stack is a table of its layers (LayerTable.from_columns) with ids 0..L-1. blind_spots: also
    the blind spots after every layer (BatchRF.blind_spots; O(1) per layer while the reached
    offsets are a whole interval).
    """
    check_backend(backend)
    row = _ids_array(ids, 1)
    sizes = input_sizes(input_size, table.ndim)
    out = _run_by_id(table, row[None, :], None, sizes, 1, backend, per_layer=True)
    first = CoreOutput(out.rf[0], out.jump[0], out.padding[0], out.size[0], out.status[0], None)
    spots = _blind_spots_by_id(table, row[None, :], None, sizes, 1, backend, True)[0] if blind_spots else None
    return BatchRF.from_output(first, sizes, table.ndim > 1, spots)
