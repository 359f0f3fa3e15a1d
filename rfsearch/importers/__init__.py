"""Importers: PyTorch models (torch.fx) and ONNX files to graphs.

Importing this package does not import torch or onnx: each importer imports its library when called.

    from rfsearch.importers import from_torch, from_onnx
    graph = from_torch(model, (224, 224))
    graph = from_onnx("model.onnx")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .api import erf, inspect, load_model, to_graph
from .common import TraceError, UnknownOp, UnknownOperatorError

__all__ = [
    "TraceError",
    "UnknownOp",
    "UnknownOperatorError",
    "empirical_erf",
    "erf",
    "from_onnx",
    "from_torch",
    "inspect",
    "load_model",
    "to_graph",
    "verify",
]

if TYPE_CHECKING:
    from .onnx import from_onnx as from_onnx
    from .torch_fx import from_torch as from_torch
    from .verify import empirical_erf as empirical_erf
    from .verify import verify as verify
else:
    _LAZY = {"from_torch": "torch_fx", "from_onnx": "onnx", "verify": "verify", "empirical_erf": "verify"}

    def __getattr__(name: str) -> Any:
        if name in _LAZY:
            import importlib

            return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
