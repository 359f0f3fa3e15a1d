"""The graph model: a directed acyclic graph of nodes (id, op, inputs) fed by the network input.

    from rfsearch.graph import GraphBuilder
    g = GraphBuilder(input_size=224)
    x = g.conv("input", 7, stride=2, padding=3, id="conv1")
    y = g.conv(x, 3, padding=1, id="branch")
    z = g.add(x, y, id="sum")
    graph = g.build()                       # output: the last node added, unless given

`input` names the network input. A Graph is validated when built: ids are unique text, every
input exists, there is no cycle (nodes are kept in a topological order that follows the order
they were given in wherever it can), and every op has the number of inputs it needs.
"""

from __future__ import annotations

import functools
import heapq
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from ..errors import SpecError
from ..model.layers import AvgPool, Conv, Identity, Layer, MaxPool
from ..model.values import as_int, parse_size
from .ops import (
    AdaptivePool,
    ConvTranspose,
    Crop,
    Flatten,
    GlobalPool,
    Linear,
    Merge,
    Op,
    Pad,
    Upsample,
    op_from_params,
    op_kind,
    op_ndim,
)

__all__ = ["ALIGNMENT_POLICIES", "INPUT", "MAX_ID_LENGTH", "Graph", "GraphBuilder", "Node", "check_node"]

#: The id that names the network input in `inputs`.
INPUT = "input"
#: How a misaligned merge is reported: raise SpecError, warn (and record), or only record.
ALIGNMENT_POLICIES = ("error", "warn", "ignore")
MAX_ID_LENGTH = 200
_BAD_ID_CHAR = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _check_id(value: object, what: str = "id") -> str:
    if not isinstance(value, str):
        raise SpecError(f"{what} must be text, got {value!r:.60}")
    if not value or len(value) > MAX_ID_LENGTH:
        raise SpecError(f"{what} must be 1 to {MAX_ID_LENGTH} characters, got {len(value)}")
    bad = None if value.isprintable() else _BAD_ID_CHAR.search(value)  # every bad character is unprintable
    if bad:
        raise SpecError(f"{what} must be printable text, got {value!r:.60} (character U+{ord(bad[0]):04X})")
    return value


@dataclass(frozen=True)
class Node:
    """One node: its id, what it does (`op`) and the ids of its inputs (`input`: the network input).

    `line` is where a spec file defined it (for error messages; not part of equality)."""

    id: str
    op: Op
    inputs: Tuple[str, ...]
    line: Optional[int] = field(default=None, compare=False)

    @property
    def kind(self) -> str:
        """conv, maxpool, add, upsample, ... (see `ops.op_kind`)."""
        return op_kind(self.op)

    def error(self, e: SpecError, source: Optional[str] = None) -> SpecError:
        """`e` located at this node: 'file:line: node 'id': reason' (axis kept in the text)."""
        on_axis = f", axis {e.axis}" if e.axis is not None else ""
        return SpecError(f"node {self.id!r}{on_axis}: {e.reason}", source=e.source or source, line=e.line or self.line)


def _check_layer_ints(layer: Layer) -> None:
    """Layer values within int64, naming the field (Layer itself checks ranges and types)."""
    if _small_ints(layer):
        return
    for name in ("kernel", "stride", "dilation", "padding"):
        value = getattr(layer, name)
        entries = value if isinstance(value, tuple) else (value,)
        for axis, entry in enumerate(entries):
            for v in entry if isinstance(entry, tuple) else (entry,):
                if isinstance(v, int):
                    try:
                        as_int(v, name)
                    except SpecError as e:
                        raise (e.located(axis=axis) if isinstance(value, tuple) else e) from None


_SMALL = 1 << 62


@functools.lru_cache(maxsize=4096)  # layers are immutable; graphs repeat a few of them many times
def _small_ints(layer: Layer) -> bool:
    """Every int value of the layer far inside int64 (the usual case: nothing to name)."""
    for name in ("kernel", "stride", "dilation", "padding"):
        value = getattr(layer, name)
        for entry in value if isinstance(value, tuple) else (value,):
            for v in entry if isinstance(entry, tuple) else (entry,):
                if isinstance(v, int) and not -_SMALL < v < _SMALL:
                    return False
    return True


def _arity(node: Node) -> None:
    n = len(node.inputs)
    op = node.op
    if isinstance(op, Merge):
        least = 1 if op.kind == "concat" else 2
        if n < least:
            raise SpecError(f"{op.kind} needs at least {least} inputs, got {n}")
    elif n != 1:
        raise SpecError(f"{op_kind(op)} takes exactly one input, got {n}")


def check_node(node: Node) -> None:
    """What a node must be on its own (SpecError, not yet located): a valid id that is not
    `input`, valid input ids, as many inputs as its op takes, int64 layer values, per-axis values
    that agree on the number of axes. Graph checks every node with it; importers check each node
    as they add it, to say where in the model a bad one comes from."""
    _check_id(node.id)
    if node.id == INPUT:
        raise SpecError(f"{INPUT!r} names the network input; give the node another id")
    for i in node.inputs:
        _check_id(i, "an input")
    _arity(node)
    if isinstance(node.op, Layer):
        _check_layer_ints(node.op)
    op_ndim(node.op)


@dataclass(frozen=True)
class Graph:
    """A validated DAG. `nodes` are in topological order; `outputs` are the endpoint ids (the first
    is the one whose values results put at top level); `input_size` is the default input size;
    `alignment` the default policy for misaligned merges (error, warn or ignore; None: error)."""

    nodes: Tuple[Node, ...]
    outputs: Tuple[str, ...] = ()
    input_size: Optional[Tuple[int, ...]] = None
    alignment: Optional[str] = None
    source: Optional[str] = field(default=None, compare=False)

    def __post_init__(self) -> None:
        nodes = tuple(self.nodes)
        if not nodes:
            raise SpecError("a graph needs at least one node", source=self.source)
        by_id: Dict[str, Node] = {}
        for node in nodes:
            if not isinstance(node, Node):
                raise SpecError(f"graph nodes must be Node objects, got {type(node).__name__}", source=self.source)
            try:
                check_node(node)
                if node.id in by_id:
                    first = by_id[node.id].line
                    raise SpecError("duplicate id" + (f" (first defined on line {first})" if first else ""))
            except SpecError as e:
                raise node.error(e, self.source) from None
            by_id[node.id] = node
        for node in nodes:
            for ref in self._refs(node):
                if ref != INPUT and ref not in by_id:
                    import difflib  # only for this message

                    close = difflib.get_close_matches(ref, [INPUT, *by_id], n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    raise node.error(SpecError(f"unknown input {ref!r:.60}{hint}"), self.source)
        object.__setattr__(self, "nodes", self._sorted(nodes, by_id))
        outputs = tuple(self.outputs) or (nodes[-1].id,)
        for out in outputs:
            if out not in by_id:
                raise SpecError(f"output {out!r:.60} is not a node id", source=self.source)
        object.__setattr__(self, "outputs", outputs)
        if self.input_size is not None:
            object.__setattr__(self, "input_size", parse_size(self.input_size))
        if self.alignment is not None and self.alignment not in ALIGNMENT_POLICIES:
            raise SpecError(f"alignment must be one of {', '.join(ALIGNMENT_POLICIES)}, got {self.alignment!r:.60}",
                            source=self.source)  # fmt: skip
        self._ndim()  # per-axis values must agree

    @staticmethod
    def _refs(node: Node) -> Tuple[str, ...]:
        """Ids the node needs before it: its inputs, and the node a `like` crop takes its size from."""
        like = node.op.like if isinstance(node.op, Crop) and node.op.like is not None else None
        return node.inputs + ((like,) if like is not None else ())

    def _sorted(self, nodes: Tuple[Node, ...], by_id: Dict[str, Node]) -> Tuple[Node, ...]:
        """Topological order, as close to the given order as possible; a cycle is an error naming it."""
        position = {n.id: i for i, n in enumerate(nodes)}
        waiting_on = {n.id: len(set(self._refs(n)) - {INPUT}) for n in nodes}
        users: Dict[str, List[str]] = {}
        for n in nodes:
            for r in set(self._refs(n)) - {INPUT}:
                users.setdefault(r, []).append(n.id)
        # Kahn's algorithm; among the ready nodes the earliest given goes first (a stable order).
        ready = [position[i] for i, count in waiting_on.items() if count == 0]
        heapq.heapify(ready)
        order: List[Node] = []
        while ready:
            node = nodes[heapq.heappop(ready)]
            order.append(node)
            for user in users.get(node.id, ()):
                waiting_on[user] -= 1
                if waiting_on[user] == 0:
                    heapq.heappush(ready, position[user])
        if len(order) < len(nodes):
            stuck = [n for n in nodes if waiting_on[n.id] > 0]
            raise SpecError(f"the graph has a cycle: {' -> '.join(self._cycle(stuck, by_id))}", source=self.source,
                            line=stuck[0].line)  # fmt: skip
        return tuple(order)

    def _cycle(self, stuck: List[Node], by_id: Dict[str, Node]) -> List[str]:
        """One cycle among nodes that never became ready (each waits on another of them)."""
        waiting = {n.id for n in stuck}
        path: List[str] = []
        current = stuck[0].id
        while current not in path:
            path.append(current)
            current = next(r for r in self._refs(by_id[current]) if r in waiting)
        return path[path.index(current):] + [current]

    def __iter__(self) -> Iterable[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def node(self, node_id: str) -> Node:
        """The node with this id (KeyError if none)."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def _ndim(self) -> Optional[int]:
        ndim: Optional[int] = None
        for node in self.nodes:
            n = op_ndim(node.op)
            if n is not None and ndim is not None and n != ndim:
                raise node.error(SpecError(f"has {n} axes but earlier nodes have {ndim}"), self.source)
            ndim = ndim or n
        return ndim

    def resolve_ndim(self, input_size: Optional[Tuple[int, ...]]) -> int:
        """Number of spatial axes: from the input size (given, else the graph's own), else from
        per-axis values, else 1. A one-value size (224) means that size on every axis."""
        ndim = self._ndim()
        own = self.input_size
        if input_size is not None and own is not None and len(input_size) > 1 and len(own) > 1 \
                and len(input_size) != len(own):  # a 2-D model asked for a 3-D input: never silently
            raise SpecError(f"input size {'x'.join(map(str, input_size))} has {len(input_size)} axes but the graph's "
                            f"own input size {'x'.join(map(str, own))} has {len(own)}", source=self.source)  # fmt: skip
        for size in (input_size, self.input_size):
            if size is not None and len(size) > 1:
                if ndim is not None and ndim != len(size):
                    raise SpecError(f"input size has {len(size)} axes but the graph's nodes have {ndim}",
                                    source=self.source)  # fmt: skip
                return len(size)
        return ndim or 1

    @classmethod
    def from_layers(cls, layers: Sequence[Layer], input_size: Union[None, int, str, Sequence[int]] = None,
                    source: Optional[str] = None) -> Graph:  # fmt: skip
        """A chain: layer i becomes node "i" fed by node "i-1" (the first by the input)."""
        nodes = []
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise SpecError(f"expected a Layer (Conv, MaxPool, ...), got {type(layer).__name__}", layer=i)
            nodes.append(Node(str(i), layer, (INPUT if i == 0 else str(i - 1),)))
        size = None if input_size is None else parse_size(input_size)
        return cls(tuple(nodes), input_size=size, source=source)


class GraphBuilder:
    """Builds a Graph node by node. Each method adds a node and returns its id (pass it on as an
    input). Ids default to the op kind and a counter (conv_1, add_2, ...)."""

    def __init__(self, input_size: Union[None, int, str, Sequence[int]] = None, *,
                 alignment: Optional[str] = None) -> None:  # fmt: skip
        self.input_size = None if input_size is None else parse_size(input_size)
        self.alignment = alignment
        self._nodes: List[Node] = []
        self._count = 0

    input = INPUT

    def add_node(self, op: Op, inputs: Union[str, Sequence[str]], id: Optional[str] = None) -> str:
        """Adds a node doing `op` on `inputs`; returns its id."""
        self._count += 1
        node_id = id if id is not None else f"{op_kind(op)}_{self._count}"
        self._nodes.append(Node(node_id, op, (inputs,) if isinstance(inputs, str) else tuple(inputs)))
        return node_id

    def node(self, op: str, inputs: Union[str, Sequence[str]], id: Optional[str] = None, **params: object) -> str:
        """Adds a node from spec-file terms: `node("upsample", x, scale_factor=2, mode="bilinear")`."""
        try:
            built = op_from_params(op, dict(params))
        except SpecError as e:
            raise SpecError(f"node {id or op!r}: {e.reason}") from None
        return self.add_node(built, inputs, id)

    def layer(self, layer: Layer, x: str, id: Optional[str] = None) -> str:
        return self.add_node(layer, x, id)

    def conv(self, x: str, kernel: object, stride: object = 1, padding: object = 0, dilation: object = 1,
             id: Optional[str] = None) -> str:  # fmt: skip
        return self.add_node(Conv(kernel, stride, padding, dilation), x, id)  # type: ignore[arg-type]

    def maxpool(self, x: str, kernel: object, stride: object = None, padding: object = 0, dilation: object = 1,
                ceil_mode: bool = False, id: Optional[str] = None) -> str:  # fmt: skip
        return self.add_node(MaxPool(kernel, stride, padding, dilation, ceil_mode), x, id)  # type: ignore[arg-type]

    def avgpool(self, x: str, kernel: object, stride: object = None, padding: object = 0, ceil_mode: bool = False,
                id: Optional[str] = None) -> str:  # fmt: skip
        return self.add_node(AvgPool(kernel, stride, padding, 1, ceil_mode), x, id)  # type: ignore[arg-type]

    def identity(self, x: str, id: Optional[str] = None, name: str = "identity") -> str:
        return self.add_node(Identity(name=name), x, id)

    def add(self, *xs: str, id: Optional[str] = None) -> str:
        return self.add_node(Merge("add"), xs, id)

    def concat(self, *xs: str, id: Optional[str] = None) -> str:
        return self.add_node(Merge("concat"), xs, id)

    def multiply(self, *xs: str, id: Optional[str] = None) -> str:
        return self.add_node(Merge("multiply"), xs, id)

    def pad(self, x: str, padding: object, mode: str = "constant", id: Optional[str] = None) -> str:
        return self.add_node(Pad(padding, mode), x, id)  # type: ignore[arg-type]

    def crop(self, x: str, crop: object = None, like: Optional[str] = None, id: Optional[str] = None) -> str:
        return self.add_node(Crop(crop, like), x, id)  # type: ignore[arg-type]

    def global_pool(self, x: str, kind: str = "avg", id: Optional[str] = None) -> str:
        return self.add_node(GlobalPool(kind), x, id)

    def adaptive_pool(self, x: str, output_size: object, kind: str = "avg", id: Optional[str] = None) -> str:
        return self.add_node(AdaptivePool(output_size, kind), x, id)  # type: ignore[arg-type]

    def flatten(self, x: str, id: Optional[str] = None) -> str:
        return self.add_node(Flatten(), x, id)

    def linear(self, x: str, id: Optional[str] = None) -> str:
        return self.add_node(Linear(), x, id)

    def conv_transpose(self, x: str, kernel: object, stride: object = 1, padding: object = 0,
                       output_padding: object = 0, dilation: object = 1, id: Optional[str] = None) -> str:  # fmt: skip
        return self.add_node(ConvTranspose(kernel, stride, padding, output_padding, dilation), x, id)  # type: ignore[arg-type]

    def upsample(self, x: str, scale_factor: object = None, size: object = None, mode: str = "nearest",
                 align_corners: bool = False, id: Optional[str] = None) -> str:  # fmt: skip
        return self.add_node(Upsample(mode, scale_factor, size, align_corners), x, id)  # type: ignore[arg-type]

    def build(self, output: Union[None, str, Sequence[str]] = None) -> Graph:
        """The validated Graph; `output`: endpoint id(s), default the last node added."""
        outputs = () if output is None else (output,) if isinstance(output, str) else tuple(output)
        return Graph(tuple(self._nodes), outputs, self.input_size, self.alignment)
