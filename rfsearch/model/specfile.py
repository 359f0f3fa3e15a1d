"""Spec files: YAML or JSON, a list of layers or a mapping with `layers` and `input_size`.

Each layer is a mapping in the seed tutorial's format (type, kernel_size, stride, padding,
dilation, ceil_mode, name) or a compact token (see grammar.py). Files are read by the one
document loader (documents.py: size, encoding, nesting, keys and numbers bounded and checked);
errors name the file, the line of the offending layer or key, and the layer index.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from ..errors import SpecError, shown
from .documents import Document, Key, parse_document, read_document
from .grammar import OPS, TYPE_ALIASES, parse_token
from .layers import NEUTRAL_NAMES, Identity, Layer, check_field
from .values import parse_size

__all__ = ["LAYER_KEYS", "Spec", "layer_from_dict", "layer_from_entry", "load_spec", "parse_spec", "spec_from_document"]


@dataclass(frozen=True)
class Spec:
    """A stack read from text or a file, with the input size if the file gave one."""

    layers: Tuple[Layer, ...]
    input_size: Optional[Tuple[int, ...]] = None
    source: Optional[str] = None


#: Keys of a layer mapping (besides `type`) and the layer field each one sets.
LAYER_KEYS: Dict[str, str] = {"kernel_size": "kernel", "kernel": "kernel", "stride": "stride", "padding": "padding",
                              "dilation": "dilation", "ceil_mode": "ceil_mode", "name": "name"}  # fmt: skip
_KNOWN = f"type, {', '.join(sorted(LAYER_KEYS))}"


def _tuples(value: Any) -> Any:
    """YAML/JSON lists to tuples, two levels deep (per-axis values, padding pairs); deeper lists
    stay lists, which the layer checks refuse by name. No recursion: any nesting is safe here."""
    if not isinstance(value, list):
        return value
    return tuple(tuple(v) if isinstance(v, list) else v for v in value)


def _kind(entry: Mapping[str, Any]) -> str:
    if "type" not in entry:
        keys = ", ".join(sorted(shown(k, 20) for k in entry)) or "none"
        raise SpecError(f"layer needs a 'type' (conv, maxpool, avgpool, relu, ...), got keys {keys}")
    kind = entry["type"]
    if not isinstance(kind, str):
        raise SpecError(f"type must be text (conv, maxpool, avgpool, relu, ...), got {shown(kind, 40)}")
    lower = kind.lower()
    lower = TYPE_ALIASES.get(lower, lower)
    if lower not in NEUTRAL_NAMES and lower not in OPS:
        raise SpecError(f"unknown layer type {shown(kind, 40)} (known: conv, maxpool, avgpool, PyTorch names like "
                        "Conv2d, and RF-neutral ones: relu, bn, ...)")  # fmt: skip
    return lower


def layer_from_dict(entry: Mapping[str, Any]) -> Layer:
    """One layer mapping of a spec file (the seed's format: type, kernel_size, stride, ...).

    `type` is matched case-insensitively (conv, Conv2d, MaxPool2d, relu, BatchNorm2d, ...);
    unknown keys are errors (usually typos); values are checked by the layer classes.
    """
    for key in entry:
        if key != "type" and key not in LAYER_KEYS:
            raise SpecError(f"unknown key {shown(key, 40)} (known: {_KNOWN})")
    kind = _kind(entry)
    if "kernel" in entry and "kernel_size" in entry:
        raise SpecError("give kernel_size or kernel, not both")
    kwargs = {LAYER_KEYS[k]: _tuples(v) for k, v in entry.items() if k != "type"}
    if kind in NEUTRAL_NAMES:
        kwargs.setdefault("name", kind)
        return Identity(**kwargs)
    if "kernel" not in kwargs:
        raise SpecError(f"{kind} needs kernel_size")
    return OPS[kind](**kwargs)


def layer_from_entry(entry: object) -> Layer:
    """One entry of a layer list (a file's, a JSON line's): a compact token or a layer mapping."""
    if isinstance(entry, str):
        return parse_token(entry)
    if isinstance(entry, dict):
        return layer_from_dict(entry)
    raise SpecError(f"a layer must be a mapping like {{type: conv, kernel_size: 3}} or a compact token like "
                    f"conv3s1, got {shown(entry, 40)}")  # fmt: skip


def _cache_key(entry: Mapping[str, Any]) -> Optional[Tuple[Any, ...]]:
    """A layer mapping without its name as a hashable key, or None unless every value is exactly an
    int, text or a list of ints: 3.0 and true equal 3 as keys, so they must never be cached."""
    parts: List[Any] = []
    for key, value in entry.items():
        if key == "name":  # names are set on the cached layer (Layer.named)
            continue
        t = type(value)
        if t is int or t is str:
            parts.append((key, value))
        elif t is list and all(type(v) is int for v in value):
            parts.append((key, tuple(value)))
        else:
            return None
    return tuple(parts)


def _offending_key(entry: Mapping[str, Any]) -> Optional[str]:
    """The key of a layer mapping whose value alone is invalid (None: the error is about the whole)."""
    for key, value in entry.items():
        if key == "type":
            try:
                _kind(entry)
            except SpecError:
                return key
        elif key not in LAYER_KEYS:
            return key
        else:
            try:
                check_field(LAYER_KEYS[key], _tuples(value))
            except SpecError:
                return key
    return None


def spec_from_document(doc: Document) -> Spec:
    """A loaded YAML/JSON document to a Spec: a list of layers, or {layers, input_size}."""
    data = doc.data
    prefix: Tuple[Key, ...] = ()
    input_size = None
    if isinstance(data, dict):
        for key in data:
            if key not in ("layers", "input_size"):
                raise doc.error(f"unknown key {shown(key, 40)} (a spec file has 'layers' and, optionally, "
                                "'input_size')", key)  # fmt: skip
        if "layers" not in data:
            raise doc.error("expected 'layers' (a list of layers) in the mapping", *([next(iter(data))] if data else []))
        if data.get("input_size") is not None:
            try:
                input_size = parse_size(data["input_size"])
            except SpecError as e:
                raise e.located(source=doc.source, line=doc.line("input_size")) from None
        data = data["layers"]
        prefix = ("layers",)
    if not isinstance(data, list) or not data:
        what = "an empty list" if data == [] else shown(data, 40)
        raise SpecError(f"expected a non-empty list of layers, got {what}", source=doc.source,
                        line=doc.line(*prefix) if prefix else None)  # fmt: skip
    layers: List[Layer] = []
    # Big specs repeat a few distinct layers under many names: build each distinct one once.
    cache: Dict[Any, Layer] = {}
    for index, entry in enumerate(data):
        try:
            named = isinstance(entry, dict) and "name" in entry
            cache_key = entry if isinstance(entry, str) else _cache_key(entry) if isinstance(entry, dict) else None
            base = cache.get(cache_key) if cache_key is not None else None
            if base is None:
                layer = layer_from_entry(entry)  # every check, the name's included
                if cache_key is not None:
                    cache[cache_key] = layer_from_entry({k: v for k, v in entry.items() if k != "name"}) if named else layer
            else:
                layer = base.named(entry["name"]) if named else base
            layers.append(layer)
        except SpecError as e:
            bad = _offending_key(entry) if isinstance(entry, dict) else None
            line = doc.line(*prefix, index, bad) if bad is not None else doc.line(*prefix, index)
            raise e.located(source=doc.source, line=line, layer=index) from None
    return Spec(tuple(layers), input_size, doc.source)


def parse_spec(text: Union[str, bytes], source: Optional[str] = None, *, format: str = "yaml") -> Spec:
    """Spec file contents to a Spec. format: "yaml" (default; reads JSON too), "json" or "auto"."""
    return spec_from_document(parse_document(text, format=format, source=source))


def load_spec(path: Union[str, "os.PathLike[str]"]) -> Spec:
    """Reads a YAML or JSON spec file (a .json file is read as JSON, anything else as YAML)."""
    return spec_from_document(read_document(path))
