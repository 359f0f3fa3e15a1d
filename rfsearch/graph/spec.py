"""Graph spec files: YAML or JSON.

    input_size: 224                  # optional; an input size given to compute_graph overrides it
    output: add2                     # optional: node id, or a list (the first is the endpoint);
                                     #   default the last node
    alignment: warn                  # optional: error (default) | warn | ignore, for misaligned merges
    nodes:
      - {id: stem, op: conv, kernel_size: 7, stride: 2, padding: 3}       # inputs default: the node
      - {id: a, op: conv, kernel_size: 3, padding: 1}                     #   before (the input first)
      - {id: add2, op: add, inputs: [stem, a]}
      - {id: up, op: upsample, inputs: [add2], scale_factor: 2, mode: bilinear}

Node keys: `id` (text, unique, not `input`), `op`, `inputs` (ids; `input` is the network input)
and the op's parameters with the keys of spec-file layers (kernel_size, stride, padding incl.
per-axis [before, after], dilation, ceil_mode) or of the new ops (see ops.OP_KEYS). `op` may also
be a compact token (conv3s2p1). A plain layer list, or {layers, input_size}, is a chain.
Errors name the file, the line, the node and the field. Files are read by the house loader
(`rfsearch.model.documents`: sizes, nesting, duplicate keys, alias expansion and numbers bounded
there), so graph files and spec files refuse the same mistakes in the same words.
"""

from __future__ import annotations

import os
from typing import Any, List, Optional, Tuple, Union

from ..errors import SpecError
from ..model.documents import Document, parse_document, read_document
from ..model.specfile import spec_from_document
from ..model.values import parse_size
from .model import INPUT, Graph, Node
from .ops import op_from_params

__all__ = ["graph_from_document", "is_graph_document", "load_graph", "parse_graph"]

GRAPH_KEYS = ("nodes", "input_size", "output", "alignment")


def is_graph_document(doc: Document) -> bool:
    """True for a graph (a mapping with `nodes`); False for a chain (a layer list or {layers})."""
    return isinstance(doc.data, dict) and "nodes" in doc.data


def _node(doc: Document, entry: Any, index: int, previous: str) -> Node:
    line = doc.line("nodes", index)
    if not isinstance(entry, dict):
        raise SpecError(f"node {index}: a node is a mapping with id, op and inputs, got {entry!r:.60}",
                        source=doc.source, line=line)  # fmt: skip
    params = {k: v for k, v in entry.items() if k not in ("id", "op", "inputs")}
    node_id = entry.get("id")
    named = f"node {node_id!r:.60}" if isinstance(node_id, str) else f"node {index}"
    try:
        if "id" not in entry:
            raise SpecError("needs an id")
        if not isinstance(node_id, str):
            raise SpecError(f"id must be text, got {node_id!r:.60}")
        if "op" not in entry:
            raise SpecError("needs an op (conv, maxpool, add, concat, upsample, ...)")
        inputs = entry.get("inputs", [previous])
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs:
            raise SpecError(f"inputs must be a non-empty list of node ids, got {inputs!r:.60}")
        op = op_from_params(entry["op"], params)
    except SpecError as e:
        field = _field_of(e.reason, entry)
        on_axis = f", axis {e.axis}" if e.axis is not None else ""
        where = doc.line("nodes", index, field) if field else None
        raise SpecError(f"{named}{on_axis}: {e.reason}", source=doc.source, line=where or line) from None
    return Node(node_id, op, tuple(inputs), line)


def _field_of(reason: str, entry: Any) -> Optional[str]:
    """The key an error is about (its line is the most precise), if the message names one."""
    for key in entry:
        if isinstance(key, str) and (reason.startswith((key, key.replace("_size", ""))) or f"{key!r}" in reason):
            return key
    return None


def graph_from_document(doc: Document) -> Graph:
    """A loaded YAML/JSON document to a Graph: a mapping with `nodes`, or a layer list (or
    {layers, input_size}: a chain, read as spec files are)."""
    data = doc.data
    if not is_graph_document(doc):
        if isinstance(data, list) or (isinstance(data, dict) and "layers" in data):
            spec = spec_from_document(doc)
            return Graph.from_layers(spec.layers, spec.input_size, doc.source)
        raise SpecError("expected a mapping with `nodes` (a graph), or a list of layers (a chain)", source=doc.source,
                        line=doc.line())  # fmt: skip
    unknown = [k for k in data if k not in GRAPH_KEYS]
    if unknown:
        raise doc.error(f"unknown key {unknown[0]!r:.60} (known: {', '.join(GRAPH_KEYS)})", unknown[0])
    entries = data["nodes"]
    if not isinstance(entries, list) or not entries:
        raise doc.error("nodes must be a non-empty list", "nodes")
    nodes: List[Node] = []
    previous = INPUT
    for index, entry in enumerate(entries):
        node = _node(doc, entry, index, previous)
        nodes.append(node)
        previous = node.id
    output = data.get("output")
    outputs: Tuple[str, ...] = ()
    if output is not None:
        outputs = (output,) if isinstance(output, str) else tuple(output) if isinstance(output, list) else (output,)
        if not outputs:  # `output: []` is a mistake, not "the default endpoint"
            raise doc.error("output must be a node id or a non-empty list of ids, got []", "output")
        for out in outputs:
            if not isinstance(out, str):
                raise doc.error(f"output must be a node id or a list of ids, got {out!r:.60}", "output")
    size = data.get("input_size")
    try:
        input_size = None if size is None else parse_size(size)
    except SpecError as e:
        raise e.located(source=doc.source, line=doc.line("input_size")) from None
    alignment = data.get("alignment")
    if alignment is not None and not isinstance(alignment, str):
        raise doc.error(f"alignment must be error, warn or ignore, got {alignment!r:.60}", "alignment")
    try:
        return Graph(tuple(nodes), outputs, input_size, alignment, doc.source)
    except SpecError as e:
        if e.line is None and "output" in e.reason[:10]:
            raise e.located(line=doc.line("output")) from None
        if e.line is None and "alignment" in e.reason[:12]:
            raise e.located(line=doc.line("alignment")) from None
        raise


def parse_graph(text: Union[str, bytes], source: Optional[str] = None, *, format: str = "auto") -> Graph:
    """Graph spec text (YAML or JSON; format "auto", "yaml" or "json") to a Graph; a layer list
    (or {layers, input_size}) is a chain."""
    return graph_from_document(parse_document(text, format=format, source=source))


def load_graph(path: Union[str, "os.PathLike[str]"]) -> Graph:
    """Reads a graph (or layer-list) spec file, YAML or JSON (.json: JSON, else YAML)."""
    return graph_from_document(read_document(path))
