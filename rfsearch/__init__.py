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
    # Real networks (issue 9): imported lazily, so `import rfsearch` loads no torch, onnx or matplotlib.
    "ERF",
    "empirical_erf",
    "erf",
    "from_onnx",
    "from_torch",
    "inspect",
    "plot_erf",
    "plot_growth",
    "plot_unit",
    "verify",
]

# name -> module it lives in (imported on first use)
_LAZY = {
    "ERF": "rfsearch.core.erf",
    "erf": "rfsearch.importers.api",
    "inspect": "rfsearch.importers.api",
    "from_torch": "rfsearch.importers.torch_fx",
    "from_onnx": "rfsearch.importers.onnx",
    "verify": "rfsearch.importers.verify",
    "empirical_erf": "rfsearch.importers.verify",
    "plot_growth": "rfsearch.plot.figures",
    "plot_unit": "rfsearch.plot.figures",
    "plot_erf": "rfsearch.plot.figures",
}

if TYPE_CHECKING:
    from .core import StackScores as StackScores
    from .core.erf import ERF as ERF
    from .importers.api import erf as erf
    from .importers.api import inspect as inspect
    from .importers.onnx import from_onnx as from_onnx
    from .importers.torch_fx import from_torch as from_torch
    from .importers.verify import empirical_erf as empirical_erf
    from .importers.verify import verify as verify
    from .plot.figures import plot_erf as plot_erf
    from .plot.figures import plot_growth as plot_growth
    from .plot.figures import plot_unit as plot_unit
else:

    def __getattr__(name: str) -> Any:
        if name == "StackScores":  # deprecated alias of BatchRF: rfsearch.core.batch warns
            from .core import batch

            return batch.StackScores
        if name in _LAZY:
            import importlib

            return getattr(importlib.import_module(_LAZY[name]), name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
