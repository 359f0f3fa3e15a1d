"""rfsearch: exact receptive-field arithmetic for CNNs, and search over architectures by it.

Data flows one way: spec (text, file, objects) -> layers -> integer arrays -> core (C++) or
reference (Python) -> results -> output. See README.md for the conventions.

The public names below are loaded on first use (PEP 562): `import rfsearch` costs a few
milliseconds, and a command that never touches arrays (`rfsearch compute zoo:resnet50`) never
imports numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Dict

try:
    from . import _core  # noqa: F401  (the compiled core; fail early with a useful message)
except ImportError as err:  # pragma: no cover - only without a build
    raise ImportError(
        "rfsearch's compiled core (rfsearch._core) could not be imported. Install the package with "
        "`pip install .` (or `pip install -e .`) from the source tree so the C++ extension is built; "
        "running from an unbuilt checkout on sys.path does not work."
    ) from err

from .errors import SpecError

if TYPE_CHECKING:
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
    from .core import StackScores as StackScores
    from .core import score_stacks as score_stacks  # deprecated: warns when called
    from .graph import Graph, GraphBuilder, GraphRF, GraphSkeleton, compute_graph, unit_reach, zoo_model, zoo_names
    from .model import PAD_SAME, AvgPool, Conv, Identity, Layer, MaxPool, Spec, load_spec, parse_layers, parse_spec
    from .results import LayerRF, RFResult, UnitRF
    from .search import SearchSpace
    from .search.count import count
    from .search.sample import sample
    from .search.sweep import sweep
    from .search.nas import score, set_rf_constraints, suggest_stack
    from .core.erf import ERF
    from .importers.api import erf, inspect
    from .importers.onnx import from_onnx
    from .importers.torch_fx import from_torch
    from .importers.verify import empirical_erf, verify
    from .plot.figures import plot_erf, plot_growth, plot_unit

    __version__: str

#: Where each public name lives (loaded on first use).
_EXPORTS: Dict[str, str] = {
    **{name: "core" for name in ("BatchRF", "LayerColumns", "LayerTable", "Status", "batch_receptive_fields",
                                 "layer_receptive_fields", "receptive_field", "receptive_fields_by_id",
                                 "score_stacks")},  # fmt: skip
    **{name: "model" for name in ("PAD_SAME", "AvgPool", "Conv", "Identity", "Layer", "MaxPool", "Spec", "load_spec",
                                  "parse_layers", "parse_spec")},  # fmt: skip
    **{name: "results" for name in ("LayerRF", "RFResult", "UnitRF")},
    **{name: "graph" for name in ("Graph", "GraphBuilder", "GraphRF", "GraphSkeleton", "compute_graph", "unit_reach",
                                  "zoo_model", "zoo_names")},  # fmt: skip
    **{name: "search" for name in ("SearchSpace", "count", "sample", "sweep")},
    **{name: "search.nas" for name in ("score", "set_rf_constraints", "suggest_stack")},
    # Real networks: `import rfsearch` loads no torch, onnx or matplotlib.
    "ERF": "core.erf",
    **{name: "importers.api" for name in ("erf", "inspect")},
    "from_torch": "importers.torch_fx",
    "from_onnx": "importers.onnx",
    **{name: "importers.verify" for name in ("verify", "empirical_erf")},
    **{name: "plot.figures" for name in ("plot_erf", "plot_growth", "plot_unit")},
}

__all__ = [
    "ERF",
    "PAD_SAME",
    "AvgPool",
    "BatchRF",
    "Conv",
    "Graph",
    "GraphBuilder",
    "GraphRF",
    "GraphSkeleton",
    "Identity",
    "Layer",
    "LayerColumns",
    "LayerRF",
    "LayerTable",
    "MaxPool",
    "RFResult",
    "SearchSpace",
    "Spec",
    "SpecError",
    "Status",
    "UnitRF",
    "__version__",
    "batch_receptive_fields",
    "compute_graph",
    "count",
    "empirical_erf",
    "erf",
    "from_onnx",
    "from_torch",
    "inspect",
    "layer_receptive_fields",
    "load_spec",
    "parse_layers",
    "parse_spec",
    "plot_erf",
    "plot_growth",
    "plot_unit",
    "receptive_field",
    "receptive_fields_by_id",
    "sample",
    "score",
    "set_rf_constraints",
    "suggest_stack",
    "sweep",
    "unit_reach",
    "verify",
    "zoo_model",
    "zoo_names",
]


def __getattr__(name: str) -> Any:
    room = _EXPORTS.get(name)
    if room is not None:
        value = getattr(importlib.import_module(f".{room}", __name__), name)
        globals()[name] = value  # once loaded, a plain attribute
        return value
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("rfsearch")
        except PackageNotFoundError:  # pragma: no cover
            found = "unknown"
        globals()["__version__"] = found
        return found
    if name == "StackScores":  # deprecated alias of BatchRF: rfsearch.core.batch warns
        from .core import batch

        return batch.StackScores
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
