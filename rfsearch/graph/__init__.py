"""Graphs: multi-path networks (ResNet, Inception, U-Net, ...), transposed convolution and
upsampling with exact rational jumps, the Distill alignment check, and a zoo of published models.

    from rfsearch.graph import compute_graph, zoo_model
    r = compute_graph(zoo_model("resnet50"), 224)
    r.rf, r.jump, r.effective_padding          # (427, 427), (32, 32), (213, 213)
    r.node("layer2").rf                         # any node
    compute_graph("examples/graphs/residual.yaml").table()

Many parameter sets of one topology run in the C++ core: `GraphSkeleton` (loaded on first use:
it needs numpy, one graph does not).
"""

from typing import TYPE_CHECKING, Any

from ..results.graph import GraphRF
from .compute import compute_graph, unit_reach
from .model import INPUT, Graph, GraphBuilder, Node
from .reference import AlignmentError, AlignmentWarning
from .spec import load_graph, parse_graph
from .zoo import ZooEntry, zoo_description, zoo_entries, zoo_model, zoo_names

if TYPE_CHECKING:
    from .skeleton import GraphBatchRF, GraphSkeleton

__all__ = [
    "INPUT",
    "AlignmentError",
    "AlignmentWarning",
    "Graph",
    "GraphBatchRF",
    "GraphBuilder",
    "GraphRF",
    "GraphSkeleton",
    "Node",
    "ZooEntry",
    "compute_graph",
    "load_graph",
    "parse_graph",
    "unit_reach",
    "zoo_description",
    "zoo_entries",
    "zoo_model",
    "zoo_names",
]


def __getattr__(name: str) -> Any:
    if name in ("GraphSkeleton", "GraphBatchRF"):
        from . import skeleton

        return getattr(skeleton, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
