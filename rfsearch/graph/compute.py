"""`compute_graph`: a graph (object, spec file, built-in model or layer list) -> GraphRF."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Union

from ..errors import SpecError
from ..model.layers import Layer
from ..model.specfile import Spec
from ..results.graph import GraphRF
from .model import Graph
from .reference import evaluate
from .spec import load_graph
from .zoo import ZOO_PREFIX, zoo_model

__all__ = ["GraphLike", "compute_graph", "to_graph"]

GraphLike = Union[Graph, str, Path, Spec, Sequence[Layer]]


def to_graph(graph: GraphLike) -> Graph:
    """A Graph from a Graph, a spec file path, "zoo:NAME", a Spec (a chain) or a list of layers."""
    if isinstance(graph, Graph):
        return graph
    if isinstance(graph, str) and graph.startswith(ZOO_PREFIX):
        return zoo_model(graph[len(ZOO_PREFIX):])
    if isinstance(graph, (str, Path)):
        return load_graph(graph)
    if isinstance(graph, Spec):
        return Graph.from_layers(graph.layers, graph.input_size, graph.source)
    if isinstance(graph, (list, tuple)):
        return Graph.from_layers(graph)
    raise SpecError(f"expected a Graph, a spec file, 'zoo:NAME' or a list of layers, got {type(graph).__name__}")


def compute_graph(
    graph: GraphLike,
    input_size: Union[None, int, str, Sequence[int]] = None,
    *,
    alignment: Optional[str] = None,
) -> GraphRF:
    """Receptive field of every node of a graph, exactly, with the endpoint's values at top level.

    graph: a Graph (GraphBuilder), a YAML/JSON spec file, "zoo:resnet50", a Spec or a list of
    layers (a chain). input_size: 224, "224x224" or (224, 224); default the graph's own.
    alignment: what a misaligned merge does: "error" (SpecError subclass AlignmentError),
    "warn" (AlignmentWarning) or "ignore"; None: the graph's own policy, else "error". Either
    way the result's `aligned` and `misaligned` say where.
    """
    return evaluate(to_graph(graph), input_size, alignment=alignment)
