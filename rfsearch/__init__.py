"""rfsearch: exact receptive-field arithmetic for CNNs, and search over architectures by it.

Data flows one way: spec (text, file, objects) -> layers -> integer arrays -> core (C++) or
reference (Python) -> results -> output. See README.md for the conventions.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    from . import _core  # noqa: F401  (the compiled core; fail early with a useful message)
except ImportError as err:  # pragma: no cover - only without a build
    raise ImportError(
        "rfsearch's compiled core (rfsearch._core) could not be imported. Install the package with "
        "`pip install .` (or `pip install -e .`) from the source tree so the C++ extension is built; "
        "running from an unbuilt checkout on sys.path does not work."
    ) from err

from .core import (
    BatchRF,
    LayerColumns,
    LayerTable,
    Status,
    batch_receptive_fields,
    layer_receptive_fields,
    receptive_field,
    receptive_fields_by_id,
)
from .core import score_stacks as score_stacks  # deprecated: warns when called
from .errors import SpecError
from .model import PAD_SAME, AvgPool, Conv, Identity, Layer, MaxPool, Spec, load_spec, parse_layers, parse_spec
from .results import LayerRF, RFResult, UnitRF

try:
    __version__ = version("rfsearch")
except PackageNotFoundError:  # pragma: no cover
    __version__ = "unknown"

__all__ = [
    "PAD_SAME",
    "AvgPool",
    "BatchRF",
    "Conv",
    "Identity",
    "Layer",
    "LayerColumns",
    "LayerRF",
    "LayerTable",
    "MaxPool",
    "RFResult",
    "Spec",
    "SpecError",
    "Status",
    "UnitRF",
    "__version__",
    "batch_receptive_fields",
    "layer_receptive_fields",
    "load_spec",
    "parse_layers",
    "parse_spec",
    "receptive_field",
    "receptive_fields_by_id",
    "score",  # rfsearch.search.nas (imported on first use)
    "set_rf_constraints",
    "suggest_stack",
]
_NAS = ("score", "set_rf_constraints", "suggest_stack")

if TYPE_CHECKING:
    from .core import StackScores as StackScores
    from .search.nas import score as score
    from .search.nas import set_rf_constraints as set_rf_constraints
    from .search.nas import suggest_stack as suggest_stack
else:

    def __getattr__(name: str) -> Any:
        if name in _NAS:  # NAS helpers: the search room loads only when they are used
            from .search import nas

            return getattr(nas, name)
        if name == "StackScores":  # deprecated alias of BatchRF: rfsearch.core.batch warns
            from .core import batch

            return batch.StackScores
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
