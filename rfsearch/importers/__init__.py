"""Importers: PyTorch models (torch.fx) and ONNX files to graphs.

Importing this package does not import torch or onnx: each importer imports its library when called.

    from rfsearch.importers import from_torch, from_onnx
    graph = from_torch(model, (224, 224))
    graph = from_onnx("model.onnx")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .api import inspect, load_model, to_graph
from .common import TraceError, UnknownOp, UnknownOperatorError

__all__ = [
    "TraceError",
    "UnknownOp",
    "UnknownOperatorError",
    "from_onnx",
    "from_torch",
    "inspect",
    "load_model",
    "to_graph",
]

if TYPE_CHECKING:
    from .onnx import from_onnx as from_onnx
    from .torch_fx import from_torch as from_torch
else:

    def __getattr__(name: str) -> Any:
        if name == "from_torch":
            from .torch_fx import from_torch

            return from_torch
        if name == "from_onnx":
            from .onnx import from_onnx

            return from_onnx
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
