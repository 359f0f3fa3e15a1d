"""What the PyTorch and ONNX importers share: the graph being assembled (unique ids, sizes of the
nodes built so far), the RF-neutral policy, the unknown-operator report, input shapes and the
endpoint rule. Nothing here imports torch or onnx."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

from ..errors import SpecError
from ..graph import INPUT, Graph, Node, compute_graph
from ..graph.model import check_node
from ..graph.ops import AdaptivePool, ConvTranspose, Crop, Flatten, GlobalPool, Linear, Merge, Op, Pad, Upsample
from ..model.layers import Identity, Layer
from ..model.values import parse_size

__all__ = [
    "Assembler",
    "InputShape",
    "NeutralOps",
    "TraceError",
    "UnknownOp",
    "UnknownOperatorError",
    "compact",
    "endpoint_of",
    "input_shape",
    "shown_path",
]

MAX_LISTED = 12  # unknown operators named in one message


def shown_path(path: str) -> str:
    """A source path for messages: relative to the working directory when it is below it."""
    try:
        shown = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if shown.startswith("..") else shown


class TraceError(SpecError):
    """A model could not be turned into a graph (tracing failed, an unsupported use of an op)."""


@dataclass(frozen=True)
class UnknownOp:
    """An operator the importer does not know: its name in the model, what it is, where it is."""

    name: str
    kind: str  # "module MyAttention", "function torch.roll", "method permute", "ONNX op TopK"
    where: Optional[str] = None  # "net.py:42" or "node #12"
    why: Optional[str] = None  # for a known op used in an unsupported way

    def describe(self) -> str:
        where = f" at {self.where}" if self.where else ""
        why = f": {self.why}" if self.why else ""
        return f"{self.name!r} ({self.kind}{where}){why}"


class UnknownOperatorError(TraceError):
    """The model has operators rfsearch cannot place; `ops` lists every one of them."""

    def __init__(self, ops: Sequence[UnknownOp], *, option: str, source: Optional[str] = None) -> None:
        self.ops = tuple(ops)
        listed = "; ".join(op.describe() for op in self.ops[:MAX_LISTED])
        more = f"; and {len(self.ops) - MAX_LISTED} more" if len(self.ops) > MAX_LISTED else ""
        names = sorted({op.kind.split(" ", 1)[-1] for op in self.ops if op.why is None})
        hint = (f". If an operator works on each position alone (it does not move or mix positions), name it "
                f"RF-neutral: {option} {names[0]}" if names else "")  # fmt: skip
        super().__init__(f"{len(self.ops)} operator(s) rfsearch does not know: {listed}{more}{hint}", source=source)


def _norm(name: str) -> str:
    return name.strip().lower()


class NeutralOps:
    """Names the user declared RF-neutral (module classes, module paths, functions, methods, op
    types, node names; case-insensitive). Remembers which names matched something."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        if isinstance(names, str):
            names = [names]
        self.names: Dict[str, str] = {}
        for name in names:
            if not isinstance(name, str) or not name.strip():
                raise SpecError(f"a neutral op must be a non-empty name, got {name!r:.60}")
            self.names[_norm(name)] = name
        self.used: Set[str] = set()

    def match(self, *candidates: Optional[str]) -> bool:
        """True if any candidate name was declared neutral (and remembers it)."""
        for c in candidates:
            if c is not None and _norm(c) in self.names:
                self.used.add(_norm(c))
                return True
        return False

    def check_all_used(self, option: str) -> None:
        """SpecError naming declared names that matched no operator (a typo would otherwise pass)."""
        unused = [self.names[n] for n in self.names if n not in self.used]
        if unused:
            raise SpecError(f"{option} {unused[0]!r:.60} matches no operator of the model")


@dataclass(frozen=True)
class InputShape:
    """The input as an importer needs it: spatial size (None: unknown), batch and channels (None: not given)."""

    spatial: Optional[Tuple[int, ...]]
    batch: Optional[int] = None
    channels: Optional[int] = None


def input_shape(value: Union[None, int, str, Sequence[int]], ndim: Optional[int]) -> InputShape:
    """The input shape a user gave: a spatial size (224, "224x224", (224, 224)) or the full shape
    (N, C, *spatial); which one is told by the number of spatial axes the model's layers have
    (when no layer tells, two values are a spatial size and three or more a full shape)."""
    if value is None:
        return InputShape(None)
    sizes = parse_size(value)
    if len(sizes) == 1:
        return InputShape(sizes * (ndim or 1))
    if ndim is None and len(sizes) >= 3:  # no layer tells the axes: (N, C, *spatial)
        return InputShape(sizes[2:], sizes[0], sizes[1])
    if ndim is None or len(sizes) == ndim:
        return InputShape(sizes)
    if len(sizes) == ndim + 2:
        return InputShape(sizes[2:], sizes[0], sizes[1])
    raise SpecError(f"input shape {'x'.join(map(str, sizes))} does not fit the model's {ndim} spatial axes: give "
                    f"{ndim} sizes (spatial) or {ndim + 2} (batch, channels, spatial)")  # fmt: skip


def _same(value: object) -> object:
    """Per-axis values written once where they agree: a (before, after) pair that is alike as one
    value, and a tuple whose entries are all one int as that int (an int means every axis)."""
    if not isinstance(value, tuple) or not value:
        return value
    entries = tuple(v[0] if isinstance(v, tuple) and len(v) == 2 and v[0] == v[1] else v for v in value)
    first = entries[0]
    if first is not None and not isinstance(first, tuple) and all(e == first for e in entries):
        return first
    return entries


_FIELDS = {ConvTranspose: ("kernel", "stride", "padding", "output_padding", "dilation"), Pad: ("padding",),
           Crop: ("crop",), Upsample: ("scale_factor", "size"), AdaptivePool: ("output_size",)}  # fmt: skip


def compact(op: Op) -> Op:
    """The same op with per-axis values that agree on every axis written once (conv3p1, not
    conv3x3s1x1p1x1d1x1), as the zoo writes them."""
    if isinstance(op, Layer):
        names: tuple[str, ...] = ("kernel", "stride", "padding", "dilation")
    else:
        names = _FIELDS.get(type(op), ())
    changes = {n: _same(getattr(op, n)) for n in names if getattr(op, n) is not None}
    changes = {n: v for n, v in changes.items() if v != getattr(op, n)}
    replace: Any = dataclasses.replace  # one call for every op type
    return replace(op, **changes) if changes else op


#: Where a node comes from, for messages: text, or a function giving it (paths are made relative
#: only when a message needs them).
Where = Union[None, str, Callable[[], Optional[str]]]


@dataclass
class Assembler:
    """A graph under construction: nodes with unique ids, and where each came from (for errors)."""

    input_size: Optional[Tuple[int, ...]]
    source: Optional[str] = None
    compact: bool = True  # write agreeing per-axis values once (keep them when they fix the axes)
    nodes: List[Node] = field(default_factory=list)
    _taken: Set[str] = field(default_factory=lambda: {INPUT})
    # compact() of each op object seen (by identity: importers reuse one object for equal ops,
    # and equality ignores names, which compact keeps)
    _compacted: Dict[int, Tuple[Op, Op]] = field(default_factory=dict)

    def unique(self, base: str) -> str:
        """`base` made a valid unused id (`base_1`, `base_2`, ... when taken)."""
        base = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]", "_", base)[:180] or "node"
        candidate, k = base, 0
        while candidate in self._taken:
            k += 1
            candidate = f"{base}_{k}"
        self._taken.add(candidate)
        return candidate

    def add(self, op: Op, inputs: Sequence[str], base: str, where: Where = None) -> str:
        """Adds a node; returns its id. A bad op or arity is a SpecError naming the node and place
        (`where`: text, or a function giving it, called only for the message)."""
        node_id = self.unique(base)
        if self.compact:
            seen = self._compacted.get(id(op))
            if seen is None or seen[0] is not op:
                seen = self._compacted[id(op)] = (op, compact(op))
            op = seen[1]
        node = Node(node_id, op, tuple(inputs))
        try:
            check_node(node)  # the graph checks every node again; here the error can say where
        except SpecError as e:
            raise self.error(e.reason, node_id, where) from None
        self.nodes.append(node)
        return node_id

    def error(self, reason: str, name: str, where: Where) -> TraceError:
        if callable(where):
            where = where()
        at = f" at {where}" if where else ""
        return TraceError(f"{name!r}{at}: {reason}", source=self.source)

    def size(self, node_id: str, what: str) -> Tuple[int, ...]:
        """The spatial output size of a node built so far (its graph computed up to it). `what`
        says what needs it, for the error when the input size is unknown."""
        if node_id == INPUT:
            if self.input_size is None:
                raise SpecError(f"{what} depends on the input size; give an input size")
            return self.input_size
        if self.input_size is None:
            raise SpecError(f"{what} depends on the size of {node_id!r}; give an input size")
        partial = Graph(tuple(self.nodes), (node_id,), self.input_size, "ignore")
        result = compute_graph(partial)
        sizes = result.node(node_id).output_size
        if sizes is None or any(s is None or s < 1 for s in sizes):
            raise SpecError(f"{what}: {node_id!r} has no output for input size {self.input_size}")
        return tuple(int(s) for s in sizes)  # type: ignore[arg-type]

    def graph(self, outputs: Sequence[str], alignment: Optional[str] = None) -> Graph:
        if not self.nodes:
            raise TraceError("the model does no spatial operation on its input (no node to analyse)", source=self.source)
        return Graph(tuple(self.nodes), tuple(outputs), self.input_size, alignment, source=self.source)


def _global(op: Op) -> bool:
    if isinstance(op, (Flatten, Linear, GlobalPool)):
        return True
    if isinstance(op, AdaptivePool):
        size = op.output_size
        return all(s == 1 for s in size) if isinstance(size, tuple) else size == 1
    return False


def endpoint_of(nodes: Sequence[Node], output: str) -> str:
    """The endpoint results report for a model whose output is `output`: the output itself, or,
    when it sees the whole input (global pooling, flatten, linear and what follows them), the
    feature map the first of those reads (ResNet's fc -> flatten -> avgpool -> layer4)."""
    by_id = {n.id: n for n in nodes}
    memo: Dict[str, bool] = {}

    def whole(node_id: str) -> bool:
        if node_id == INPUT or node_id not in by_id:
            return False
        if node_id not in memo:
            node = by_id[node_id]
            op = node.op
            if _global(op):
                memo[node_id] = True
            elif (isinstance(op, Layer) and isinstance(op, Identity)) or isinstance(op, Merge):
                memo[node_id] = all(whole(i) for i in node.inputs)
            else:
                memo[node_id] = False
        return memo[node_id]

    current = output
    while whole(current) and len(by_id[current].inputs) == 1 and by_id[current].inputs[0] != INPUT:
        current = by_id[current].inputs[0]
    return current
