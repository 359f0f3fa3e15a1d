"""``receptive_field``: one network, layer by layer. Spec -> layers -> arrays -> backend -> RFResult."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import SpecError
from ..model.grammar import parse_layers
from ..model.layers import Layer
from ..model.specfile import Spec
from ..model.values import parse_size
from ..results.network import LayerRF, RFResult
from .batch import StackScores, Status
from .table import LayerTable, receptive_fields_by_id

__all__ = ["receptive_field", "resolve_ndim"]

LayersLike = Union[str, Spec, Sequence[Layer]]


def resolve_ndim(layers: Sequence[Layer], input_size: Optional[Tuple[int, ...]]) -> int:
    """Number of spatial axes: from the input size, else from per-axis layer values, else 1."""
    ndim = None
    for i, layer in enumerate(layers):
        if layer.ndim is not None and ndim is not None and layer.ndim != ndim:
            raise SpecError(f"layer has {layer.ndim} axes but earlier layers have {ndim}", layer=i)
        ndim = ndim or layer.ndim
    if input_size is not None and len(input_size) > 1:
        if ndim is not None and ndim != len(input_size):
            raise SpecError(f"input size has {len(input_size)} axes but the layers have {ndim}")
        return len(input_size)
    return ndim or 1


def receptive_field(
    layers: LayersLike,
    input_size: Union[None, int, str, Sequence[int]] = None,
    *,
    backend: str = "cpp",
) -> RFResult:
    """Receptive field of a stack, per layer and per axis.

    layers: layer objects (``[Conv(3, padding=1), MaxPool(2)]``), compact text
    (``"conv3s1p1,maxpool2s2"``) or a Spec from ``load_spec``. input_size: 32, "224x224" or
    (224, 224); without it output sizes are unknown and 'same' padding with stride > 1 cannot
    be resolved. backend: "cpp" (compiled core) or "python" (the reference).
    """
    if isinstance(layers, str):
        layers = parse_layers(layers)
    elif isinstance(layers, Spec):
        if input_size is None:
            input_size = layers.input_size
        layers = layers.layers
    layers = tuple(layers)
    if not layers:
        raise SpecError("empty stack: give at least one layer")
    for i, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise SpecError(f"expected a Layer (Conv, MaxPool, ...), got {type(layer).__name__}", layer=i)
    size = None if input_size is None else parse_size(input_size)
    ndim = resolve_ndim(layers, size)
    if size is not None and len(size) == 1:
        size = size * ndim
    table = LayerTable(ndim)
    ids = np.asarray(table.ids(layers))
    if size is None:
        unresolved = np.flatnonzero(table.columns.needs_size[ids])
        if unresolved.size:
            i = int(unresolved[0])
            stride = int(table.columns.stride[ids[i]].max())
            raise SpecError(
                f"{layers[i].spec()}: padding 'same' with stride {stride} depends on the input size; "
                "give an input size", layer=i)  # fmt: skip

    # Score every prefix of the stack as one batch: row l is the stack cut after layer l.
    n = len(layers)
    scores = receptive_fields_by_id(table, np.broadcast_to(ids, (n, n)), depth=np.arange(1, n + 1), input_size=size,
                                    threads=1, backend=backend)  # fmt: skip
    def per_axis(values: np.ndarray) -> np.ndarray:
        return values if values.ndim == 2 else values[:, None]

    if scores.rf.ndim == 1:  # one axis: results are (L,), rows below want (L, 1)
        size_col = None if scores.output_size is None else per_axis(scores.output_size)
        scores = StackScores(per_axis(scores.rf), per_axis(scores.jump), per_axis(scores.effective_padding), size_col,
                             per_axis(scores.status), scores.input_size)  # fmt: skip

    status = scores.status  # (L, A)
    overflow = np.flatnonzero((status == Status.OVERFLOW).any(axis=1))
    if overflow.size:
        i = int(overflow[0])
        raise OverflowError(f"layer {i} ({layers[i].spec()}): receptive field values exceed the int64 range")
    collapsed = np.flatnonzero((status == Status.COLLAPSED).any(axis=1))
    collapsed_at = int(collapsed[0]) if collapsed.size else None

    def row(i: int, values: Optional[np.ndarray]) -> Optional[Tuple[int, ...]]:
        reached = collapsed_at is None or i <= collapsed_at
        return None if values is None or not reached else tuple(int(v) for v in values[i])

    rows = tuple(
        LayerRF(i, layer, row(i, scores.rf), row(i, scores.jump), row(i, scores.effective_padding),
                row(i, scores.output_size))  # fmt: skip
        for i, layer in enumerate(layers)
    )
    return RFResult(rows, size, ndim, collapsed_at)
