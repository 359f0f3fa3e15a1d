"""`compute_graph`: a graph (object, spec file, built-in model or layer list) -> GraphRF."""

from __future__ import annotations

import os
from typing import FrozenSet, Optional, Sequence, Tuple, Union

from ..errors import SpecError
from ..model.layers import Layer
from ..model.source import GraphSource, read_network
from ..model.specfile import Spec
from ..results.graph import GraphRF
from .model import Graph
from .reference import evaluate, evaluate_states, reach
from .spec import graph_from_document, load_graph
from .zoo import zoo_model

__all__ = ["ENGINES", "GraphLike", "compute_graph", "to_graph", "unit_reach"]

#: How compute_graph evaluates: the core where it gives the whole answer, or the reference.
ENGINES = ("auto", "reference")

GraphLike = Union[Graph, str, "os.PathLike[str]", GraphSource, Spec, Sequence[Layer]]


def to_graph(graph: GraphLike) -> Graph:
    """A Graph from a Graph, a SPEC string (the rule of `rfsearch compute`: "zoo:NAME", a .yaml /
    .yml / .json file, file:PATH, or compact text, a chain), a path object (os.PathLike), a GraphSource, a Spec (a
    chain) or a list of layers."""
    if isinstance(graph, Graph):
        return graph
    if isinstance(graph, str):
        graph = read_network(graph)
    if isinstance(graph, GraphSource):
        if graph.zoo is not None:
            return zoo_model(graph.zoo)
        assert graph.document is not None
        return graph_from_document(graph.document)
    if isinstance(graph, os.PathLike):  # a Path: a file, whatever its name
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
    engine: str = "auto",
) -> GraphRF:
    """Receptive field of every node of a graph, exactly, with the endpoint's values at top level.

    graph: a Graph (GraphBuilder), "zoo:resnet50", a YAML/JSON spec file (a str ending in .yaml,
    .yml or .json, file:PATH, or a Path), compact text like "conv3,maxpool2" (a chain, as
    `rfsearch compute` reads its SPEC), a Spec or a list of layers (a chain). input_size: 224, "224x224" or (224, 224); default the graph's own.
    alignment: what a misaligned merge does: "error" (SpecError subclass AlignmentError),
    "warn" (AlignmentWarning) or "ignore"; None: the graph's own policy, else "error". Either
    way the result's `aligned` and `misaligned` say where.
    engine: "auto" (default) evaluates in the C++ core when its answer is the reference's whole
    answer (integer jumps, aligned merges, no error; ResNet-50: about 25x faster), else in the
    pure-Python reference; "reference": always the reference (the oracle tests compare against).
    """
    if engine not in ENGINES:
        raise SpecError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r:.60}")
    g = to_graph(graph)
    if engine == "auto":
        from .native import evaluate_graph  # the compiled core, loaded when first used

        got = evaluate_graph(g, input_size)
        if got is not None:
            return got
    return evaluate(g, input_size, alignment=alignment)


def unit_reach(
    graph: GraphLike,
    unit: Union[int, Sequence[int]],
    *,
    node: Optional[str] = None,
    input_size: Union[None, int, str, Sequence[int]] = None,
) -> FrozenSet[Tuple[int, ...]]:
    """The input positions (one index per axis, each inside the input) that output unit `unit` of
    `node` (default: the endpoint) depends on, through real paths only.

    A path counts if its position at every node lies inside that node's output: paths through
    zero padding, a transposed convolution's implicit border or an upsampling source PyTorch
    clamps do not. With positive weights (and max pooling read as its window) these are exactly
    the positions where the unit's gradient is nonzero. The RF interval (`GraphRF.unit`) is
    Distill's and counts padding; this set is what lies inside it for real, at this input size.
    Needs an input size (the graph's own or `input_size`). A unit index 3 means 3 on every axis.
    """
    g = to_graph(graph)
    run, collapsed = evaluate_states(g, input_size, alignment="ignore")
    target = node if node is not None else g.outputs[0]
    if target not in run.states:
        if target != "input" and target not in {n.id for n in g.nodes}:
            raise SpecError(f"no node {target!r:.60}")
        raise SpecError(f"node {target!r:.60} was not evaluated (the graph collapsed at {collapsed!r})")
    index = (unit,) * run.ndim if isinstance(unit, int) else tuple(unit)
    return reach(run, target, index)
