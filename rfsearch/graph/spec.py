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
Errors name the file, the line, the node and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import yaml

from ..errors import SpecError
from ..model.specfile import layer_from_entry
from ..model.values import parse_size
from .model import INPUT, Graph, Node
from .ops import op_from_params

__all__ = ["MAX_SPEC_BYTES", "load_graph", "parse_graph"]

MAX_SPEC_BYTES = 64 << 20
_MAX_DEPTH = 64
Lines = Dict[Tuple[Any, ...], int]


def _load_document(text: str, source: Optional[str]) -> Tuple[Any, Lines]:
    """YAML (or JSON) text to plain data, and the 1-based line of each top-level key, node and node key.

    The one place graph files are read (to be replaced by the hardened document loader of
    rfsearch.model): the event stream is checked first (no aliases, nesting at most 64 deep), so
    what is composed afterwards is bounded by the text."""
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError(f"spec is larger than {MAX_SPEC_BYTES >> 20} MiB", source=source)
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise SpecError("YAML aliases (*name) are not accepted in graph files", source=source,
                                line=event.start_mark.line + 1)  # fmt: skip
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > _MAX_DEPTH:
                    raise SpecError(f"nested more than {_MAX_DEPTH} levels deep", source=source,
                                    line=event.start_mark.line + 1)  # fmt: skip
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise SpecError(f"not valid YAML/JSON: {getattr(e, 'problem', None) or e}", source=source,
                        line=mark.line + 1 if mark else None) from None  # fmt: skip
    lines: Lines = {}

    def walk(n: Any, path: Tuple[Any, ...]) -> None:
        lines[path] = n.start_mark.line + 1
        if len(path) >= 3:
            return
        if isinstance(n, yaml.MappingNode):
            seen = set()
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in seen:  # YAML would keep the last silently; a repeated key is a mistake
                        raise SpecError(f"key {k.value!r:.60} given twice", source=source, line=k.start_mark.line + 1)
                    seen.add(k.value)
                    lines[path + (k.value,)] = k.start_mark.line + 1
                    walk(v, path + (k.value,))
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, path + (i,))

    if node is not None:
        walk(node, ())
    return data, lines


def _node(entry: Any, index: int, previous: str, lines: Lines, source: Optional[str]) -> Node:
    line = lines.get(("nodes", index))
    if not isinstance(entry, dict):
        raise SpecError(f"node {index}: a node is a mapping with id, op and inputs, got {entry!r:.60}", source=source,
                        line=line)  # fmt: skip
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
        raise SpecError(f"{named}{on_axis}: {e.reason}", source=source,
                        line=lines.get(("nodes", index, field), line) if field else line) from None  # fmt: skip
    return Node(node_id, op, tuple(inputs), line)


def _field_of(reason: str, entry: Dict[str, Any]) -> Optional[str]:
    """The key an error is about (its line is the most precise), if the message names one."""
    for key in entry:
        if isinstance(key, str) and (reason.startswith((key, key.replace("_size", ""))) or f"{key!r}" in reason):
            return key
    return None


def parse_graph(text: str, source: Optional[str] = None) -> Graph:
    """Graph spec text (YAML or JSON) to a Graph; a layer list (or {layers, input_size}) is a chain."""
    data, lines = _load_document(text, source)
    if isinstance(data, list) or (isinstance(data, dict) and "layers" in data and "nodes" not in data):
        return _chain(data, lines, source)
    if not isinstance(data, dict) or "nodes" not in data:
        raise SpecError("expected a mapping with `nodes` (a graph), or a list of layers (a chain)", source=source,
                        line=lines.get(()))  # fmt: skip
    unknown = sorted(set(data) - {"nodes", "input_size", "output", "alignment"}, key=str)
    if unknown:
        raise SpecError(f"unknown key {unknown[0]!r:.60} (known: nodes, input_size, output, alignment)",
                        source=source, line=lines.get((unknown[0],)))  # fmt: skip
    entries = data["nodes"]
    if not isinstance(entries, list) or not entries:
        raise SpecError("nodes must be a non-empty list", source=source, line=lines.get(("nodes",)))
    nodes: List[Node] = []
    previous = INPUT
    for index, entry in enumerate(entries):
        node = _node(entry, index, previous, lines, source)
        nodes.append(node)
        previous = node.id
    output = data.get("output")
    outputs: Tuple[str, ...] = ()
    if output is not None:
        outputs = (output,) if isinstance(output, str) else tuple(output) if isinstance(output, list) else (output,)
        for out in outputs:
            if not isinstance(out, str):
                raise SpecError(f"output must be a node id or a list of ids, got {out!r:.60}", source=source,
                                line=lines.get(("output",)))  # fmt: skip
    size = data.get("input_size")
    try:
        input_size = None if size is None else parse_size(str(size) if isinstance(size, (int, str)) else size)
    except SpecError as e:
        raise e.located(source=source, line=lines.get(("input_size",))) from None
    alignment = data.get("alignment")
    if alignment is not None and not isinstance(alignment, str):
        raise SpecError(f"alignment must be error, warn or ignore, got {alignment!r:.60}", source=source,
                        line=lines.get(("alignment",)))  # fmt: skip
    try:
        return Graph(tuple(nodes), outputs, input_size, alignment, source)
    except SpecError as e:
        if e.line is None and e.source is not None and "output" in e.reason[:10]:
            raise e.located(line=lines.get(("output",))) from None
        if e.line is None and "alignment" in e.reason[:12]:
            raise e.located(line=lines.get(("alignment",))) from None
        raise


def _chain(data: Any, lines: Lines, source: Optional[str]) -> Graph:
    size = None
    key: Tuple[Any, ...] = ()
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"layers", "input_size"}, key=str)
        if unknown:
            raise SpecError(f"unknown key {unknown[0]!r:.60} (known: layers, input_size; or nodes for a graph)",
                            source=source, line=lines.get((unknown[0],)))  # fmt: skip
        if data.get("input_size") is not None:
            raw = data["input_size"]
            size = parse_size(str(raw) if isinstance(raw, (int, str)) else raw)
        data, key = data["layers"], ("layers",)
    if not isinstance(data, list) or not data:
        raise SpecError("expected a non-empty list of layers", source=source, line=lines.get(key))
    layers = []
    for index, entry in enumerate(data):
        try:
            layers.append(layer_from_entry(entry))
        except SpecError as e:
            raise e.located(source=source, line=lines.get(key + (index,)), layer=index) from None
    return Graph.from_layers(layers, size, source)


def load_graph(path: Union[str, Path]) -> Graph:
    """Reads a graph (or layer-list) spec file, YAML or JSON."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_SPEC_BYTES:
            raise SpecError(f"spec file is larger than {MAX_SPEC_BYTES >> 20} MiB", source=str(p))
        raw = p.read_bytes()
    except OSError as e:
        raise SpecError(f"cannot read spec file: {e.strerror}", source=str(p)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise SpecError("not UTF-8 text", source=str(p), line=line) from None
    return parse_graph(text, source=str(p))
