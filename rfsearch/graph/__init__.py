"""Graphs: multi-path networks (ResNet, Inception, U-Net, ...), transposed convolution and
upsampling with exact rational jumps, the Distill alignment check, and a zoo of published models.

    from rfsearch.graph import compute_graph, zoo_model
    r = compute_graph(zoo_model("resnet50"), 224)
    r.rf, r.jump, r.effective_padding          # (427, 427), (32, 32), (213, 213)
    r.node("layer2").rf                         # any node
    compute_graph("examples/graphs/residual.yaml").table()
"""

from .compute import compute_graph, unit_reach
from .model import INPUT, Graph, GraphBuilder, Node
from .reference import AlignmentError, AlignmentWarning
from .skeleton import GraphBatchRF, GraphSkeleton
from .spec import load_graph, parse_graph
from .zoo import zoo_model, zoo_names

__all__ = [
    "INPUT",
    "AlignmentError",
    "AlignmentWarning",
    "Graph",
    "GraphBatchRF",
    "GraphBuilder",
    "GraphSkeleton",
    "Node",
    "compute_graph",
    "load_graph",
    "parse_graph",
    "unit_reach",
    "zoo_model",
    "zoo_names",
]
