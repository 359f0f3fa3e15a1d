"""The computation: layers as integer arrays or as a layer table plus ids, the compiled core and the
pure-Python reference."""

from typing import TYPE_CHECKING, Any

from .batch import BatchRF, LayerArrays, batch_receptive_fields
from .batch import score_stacks as score_stacks  # deprecated: warns when called
from .network import receptive_field
from .status import CoreError, Status
from .table import LayerColumns, LayerTable, layer_receptive_fields, receptive_fields_by_id

__all__ = [
    "BatchRF",
    "CoreError",
    "LayerArrays",
    "LayerColumns",
    "LayerTable",
    "Status",
    "batch_receptive_fields",
    "layer_receptive_fields",
    "receptive_field",
    "receptive_fields_by_id",
]

if TYPE_CHECKING:
    from .batch import StackScores as StackScores
else:

    def __getattr__(name: str) -> Any:
        if name == "StackScores":  # deprecated: batch.__getattr__ warns
            from . import batch

            return batch.StackScores
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
