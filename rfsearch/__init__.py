"""rfsearch: exact receptive-field arithmetic for CNNs, and search over architectures by it.

Data flows one way: spec (text, file, objects) -> layers -> integer arrays -> core (C++) or
reference (Python) -> results -> output. See README.md for the conventions.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    from . import _core  # noqa: F401  (the compiled core; fail early with a useful message)
except ImportError as err:  # pragma: no cover - only without a build
    raise ImportError(
        "rfsearch's compiled core (rfsearch._core) could not be imported. Install the package with "
        "`pip install .` (or `pip install -e .`) from the source tree so the C++ extension is built; "
        "running from an unbuilt checkout on sys.path does not work."
    ) from err

from .core import StackScores, Status, receptive_field, score_stacks
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
    "Conv",
    "Identity",
    "Layer",
    "LayerRF",
    "MaxPool",
    "RFResult",
    "Spec",
    "SpecError",
    "StackScores",
    "Status",
    "UnitRF",
    "__version__",
    "load_spec",
    "parse_layers",
    "parse_spec",
    "receptive_field",
    "score_stacks",
]
