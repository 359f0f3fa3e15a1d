"""Spec files: YAML or JSON, a list of layers or a mapping with `layers` and `input_size`.

Each layer is a mapping in the seed tutorial's format (type, kernel_size, stride, padding,
dilation, ceil_mode, name) or a compact token (see grammar.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import yaml

from ..errors import SpecError
from .grammar import NEUTRAL_NAMES, OPS, TYPE_ALIASES, parse_token
from .layers import Identity, Layer
from .values import parse_size

__all__ = ["Spec", "layer_from_dict", "layer_from_entry", "load_spec", "parse_spec"]


@dataclass(frozen=True)
class Spec:
    """A stack read from text or a file, with the input size if the file gave one."""

    layers: Tuple[Layer, ...]
    input_size: Optional[Tuple[int, ...]] = None
    source: Optional[str] = None


def layer_from_dict(entry: Mapping[str, Any]) -> Layer:
    """One layer dict of a spec file (the seed's format: type, kernel_size, stride, ...)."""
    if "type" not in entry:
        raise SpecError(f"layer needs a 'type' (conv, maxpool, avgpool, relu, ...), got keys {sorted(entry)}")
    kind = str(entry["type"]).lower()
    kind = TYPE_ALIASES.get(kind, kind)
    fields = {"kernel_size": "kernel", "kernel": "kernel", "stride": "stride", "padding": "padding",
              "dilation": "dilation", "ceil_mode": "ceil_mode", "name": "name"}  # fmt: skip
    unknown = sorted(set(entry) - set(fields) - {"type"})
    if unknown:
        raise SpecError(f"unknown key {unknown[0]!r} (known: type, {', '.join(sorted(fields))})")
    kwargs = {fields[k]: v for k, v in entry.items() if k != "type"}
    if "kernel" in entry and "kernel_size" in entry:
        raise SpecError("give kernel_size or kernel, not both")
    if kind in NEUTRAL_NAMES:
        return Identity(**{"name": kind, **kwargs})
    if kind not in OPS:
        raise SpecError(f"unknown layer type {entry['type']!r} (known: conv, maxpool, avgpool, relu, bn, ...)")
    if "kernel" not in kwargs:
        raise SpecError(f"{kind} needs kernel_size")
    if isinstance(kwargs.get("padding"), list):  # YAML lists -> tuples, nested pairs too
        kwargs["padding"] = tuple(tuple(p) if isinstance(p, list) else p for p in kwargs["padding"])
    return OPS[kind](**kwargs)


def layer_from_entry(entry: object) -> Layer:
    """One entry of a layer list (a file's, a JSON line's): a compact token or a layer dict."""
    try:
        if isinstance(entry, str):
            return parse_token(entry)
        if isinstance(entry, dict):
            return layer_from_dict(entry)
    except TypeError as e:  # e.g. a mapping where a number was expected
        raise SpecError(str(e)) from None
    raise SpecError(f"a layer must be a mapping like {{type: conv, kernel_size: 3}} or a compact token like conv3s1, got {entry!r}")


def _located_items(text: str) -> Tuple[Any, Dict[int, int]]:
    """YAML (or JSON) text to data, plus the 1-based line of each top-level list item / layer."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    seq = node
    if isinstance(node, yaml.MappingNode):
        seq = next((v for k, v in node.value if getattr(k, "value", None) == "layers"), None)
    lines = {i: item.start_mark.line + 1 for i, item in enumerate(seq.value)} if isinstance(seq, yaml.SequenceNode) else {}
    return data, lines


def parse_spec(text: str, source: Optional[str] = None) -> Spec:
    """Spec file contents (YAML or JSON) to a Spec: a list of layers, or {input_size, layers}."""
    try:
        data, lines = _located_items(text)
    except yaml.YAMLError as e:
        try:  # a JSON file YAML could not read (rare); lines are then unknown
            data, lines = json.loads(text), {}
        except json.JSONDecodeError:
            mark = getattr(e, "problem_mark", None)
            raise SpecError(f"not valid YAML/JSON: {getattr(e, 'problem', e)}", source=source,
                            line=mark.line + 1 if mark else None) from None  # fmt: skip
    input_size = None
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"layers", "input_size"})
        if unknown or "layers" not in data:
            raise SpecError(f"expected a list of layers or a mapping with 'layers' (and 'input_size'), "
                            f"got keys {sorted(data)}", source=source)  # fmt: skip
        if data.get("input_size") is not None:
            size = data["input_size"]
            input_size = parse_size(str(size) if isinstance(size, (int, str)) else size)
        data = data["layers"]
    if not isinstance(data, list) or not data:
        raise SpecError("expected a non-empty list of layers", source=source)
    layers: List[Layer] = []
    for index, entry in enumerate(data):
        try:
            layers.append(layer_from_entry(entry))
        except SpecError as e:
            raise e.located(source=source, line=lines.get(index), layer=index) from None
    return Spec(tuple(layers), input_size, source)


def load_spec(path: Union[str, Path]) -> Spec:
    """Reads a YAML or JSON spec file (list of layer dicts, as in the seed tutorial)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise SpecError(f"cannot read spec file: {e.strerror}", source=str(p)) from None
    return parse_spec(text, source=str(p))
