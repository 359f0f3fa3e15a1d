"""The one path from layers to the core's arrays: a table of distinct layers, and stacks as row ids.

Many stacks share few distinct layers (a NAS file of a million stacks has a few hundred distinct
tokens; a search space has a few dozen choices per position). `LayerTable` holds each distinct
layer once, as per-axis integer columns; a batch of stacks is then an (N, L) matrix of row ids
plus each stack's depth. This is the core's documented input next to the dense arrays, and what
`receptive_field` (one stack), batch files and search spaces all build.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

from ..errors import SpecError
from ..model.layers import PAD_SAME, Layer
from .batch import StackScores, score_stacks

__all__ = ["LayerColumns", "LayerTable", "receptive_fields_by_id"]


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


class LayerTable:
    """Distinct layers on `ndim` axes, each stored once; `add` returns a layer's row id.

    Layers are equal (and share a row) when their parameters are equal; names do not count.
    """

    def __init__(self, ndim: int, layers: Iterable[Layer] = ()) -> None:
        if isinstance(ndim, bool) or not isinstance(ndim, int) or ndim < 1:
            raise ValueError(f"ndim must be a positive integer, got {ndim!r}")
        self.ndim = ndim
        self._layers: List[Layer] = []
        self._rows: List[tuple] = []  # type: ignore[type-arg]
        self._ids: Dict[Layer, int] = {}
        self._columns: Optional[LayerColumns] = None
        for layer in layers:
            self.add(layer)

    def __len__(self) -> int:
        return len(self._layers)

    def layer(self, row: int) -> Layer:
        """The layer stored at `row` (the first one added with those parameters)."""
        return self._layers[row]

    def add(self, layer: Layer) -> int:
        """The row id of `layer`, adding it if new. SpecError if it does not fit the table's axes."""
        row = self._ids.get(layer)
        if row is not None:
            return row
        if layer.ndim is not None and layer.ndim != self.ndim:
            raise SpecError(f"{layer.spec()} has {layer.ndim} axes but the stacks have {self.ndim}")
        params = layer.axis_params(self.ndim)
        row = len(self._layers)
        self._layers.append(layer)
        self._rows.append(params)
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
            ints = np.array([[axis[:5] for axis in row] for row in self._rows], dtype=np.int64).reshape(t, a, 5)
            ceil = np.array([[axis.ceil_mode for axis in row] for row in self._rows], dtype=bool).reshape(t, a)
            kernel, stride, dilation, padding, padding_after = (ints[:, :, f] for f in range(5))
            self._columns = LayerColumns(kernel, stride, dilation, padding, padding_after, ceil)
        return self._columns


IdsLike = Union[npt.ArrayLike, Sequence[Sequence[int]]]


def receptive_fields_by_id(
    table: LayerTable,
    ids: IdsLike,
    depth: Optional[npt.ArrayLike] = None,
    *,
    input_size: Union[None, int, Sequence[int]] = None,
    threads: Optional[int] = None,
    backend: str = "cpp",
) -> StackScores:
    """Receptive fields of N stacks given as an (N, L) matrix of `table` row ids.

    depth: (N,) number of layers each stack uses (ids past it are ignored); default L.
    Results are per stack and axis, as for the dense arrays (shape (N, A), or (N,) for one axis).
    """
    matrix = np.asarray(ids)
    if matrix.ndim != 2 or matrix.dtype.kind not in "iu":
        raise ValueError(f"ids: expected an (N, L) integer array, got shape {matrix.shape} and dtype {matrix.dtype}")
    if matrix.size and (int(matrix.min()) < 0 or int(matrix.max()) >= len(table)):
        raise ValueError(f"ids: row ids must be in [0, {len(table)}) (the table's rows)")
    cols = table.columns

    def axes(column: np.ndarray) -> np.ndarray:
        """(T, A) column to the (N, L, A) layer array (N, L for one axis)."""
        expanded: np.ndarray = column[matrix]
        return expanded if table.ndim > 1 else expanded[:, :, 0]

    return score_stacks(axes(cols.kernel), axes(cols.stride), axes(cols.padding), axes(cols.dilation),
                        padding_after=axes(cols.padding_after), ceil_mode=axes(cols.ceil_mode), depth=depth,
                        input_size=input_size, threads=threads, backend=backend)  # fmt: skip
