"""``receptive_field``: one network, layer by layer. Spec -> layers -> table + ids -> per-layer states -> RFResult.

One pass over the layers (O(L)): the core's per-layer mode gives the state after every layer.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import SpecError
from ..model.grammar import parse_layers
from ..model.layers import Layer
from ..model.specfile import Spec
from ..model.values import parse_size
from ..results.network import LayerRF, RFResult
from .reach import NOT_COMPUTED
from .status import Status
from .table import LayerTable, layer_receptive_fields

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
    """Receptive field of a stack, per layer and per axis, with its blind spots (offsets of the
    RF that no path reaches; rfsearch.core.reach).

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
    # Each distinct layer once: its row id. Stacks often repeat the same objects: look those up
    # by identity (cheap) before hashing their parameters.
    rows_of: Dict[Layer, int] = {}
    row_of_object: Dict[int, int] = {}
    id_list: List[int] = []
    for layer in layers:
        row = row_of_object.get(id(layer))
        if row is None:
            row = row_of_object[id(layer)] = rows_of.setdefault(layer, len(rows_of))
        id_list.append(row)
    ids = np.array(id_list, dtype=np.int64)
    distinct = list(rows_of)

    def in_stack(e: SpecError) -> SpecError:
        """The error naming the layer's position in the stack (its first), not among the distinct layers."""
        first_at = np.unique(ids, return_index=True)[1]  # distinct layer k first appears at first_at[k]
        return SpecError(e.reason, layer=None if e.layer is None else int(first_at[e.layer]))

    try:
        ndim = resolve_ndim(distinct, size)
        if size is not None and len(size) == 1:
            size = size * ndim
        table = LayerTable(ndim)
        table.ids(distinct)  # rows 0..k-1, the numbering of rows_of
    except SpecError as e:
        raise in_stack(e) from None
    if size is None:
        unresolved = np.flatnonzero(table.columns.needs_size[ids])
        if unresolved.size:
            i = int(unresolved[0])
            stride = int(table.columns.stride[ids[i]].max())
            raise SpecError(
                f"{layers[i].spec()}: padding 'same' with stride {stride} depends on the input size; "
                "give an input size", layer=i)  # fmt: skip

    # Row l of each (L, A) array: the state after layer l (one pass, O(L)).
    states = layer_receptive_fields(table, ids, input_size=size, backend=backend, blind_spots=True)
    status = states.status.reshape(len(layers), ndim)
    overflow = np.flatnonzero((status == Status.OVERFLOW).any(axis=1))
    if overflow.size:
        i = int(overflow[0])
        raise OverflowError(f"layer {i} ({layers[i].spec()}): receptive field values exceed the int64 range")
    collapsed = np.flatnonzero((status == Status.COLLAPSED).any(axis=1))
    collapsed_at = int(collapsed[0]) if collapsed.size else None
    reached = len(layers) if collapsed_at is None else collapsed_at + 1

    def rows(values: Optional[np.ndarray]) -> List[Optional[Tuple[int, ...]]]:
        """Per layer, the values as a tuple per axis; None past the collapse (or without values)."""
        if values is None:
            return [None] * len(layers)
        per_axis = values.reshape(len(layers), ndim)[:reached].T.tolist()
        listed: List[Optional[Tuple[int, ...]]] = list(zip(*per_axis))  # zip: fast tuples for long stacks
        return listed + [None] * (len(layers) - reached)

    spots: List[Optional[Tuple[Optional[int], ...]]] = [
        None if row is None else tuple(None if s == NOT_COMPUTED else s for s in row)
        for row in rows(states.blind_spots)
    ]
    columns = zip(rows(states.rf), rows(states.jump), rows(states.effective_padding), rows(states.output_size), spots)
    table_rows = tuple(LayerRF(i, layer, *values) for i, (layer, values) in enumerate(zip(layers, columns)))
    return RFResult(table_rows, size, ndim, collapsed_at)
