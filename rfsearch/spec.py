"""Reading stacks: compact text (``conv3s1p1,maxpool2s2``) and YAML/JSON spec files.

Compact grammar, one token per layer, tokens separated by commas::

    token   := op KERNEL [s VALUES] [p PADDING] [d VALUES] [c]  |  neutral
    op      := conv | maxpool | avgpool
    VALUES  := INT ( x INT )*                 one value, or one per axis: 1x7
    PADDING := same | valid | PAD ( x PAD )*  PAD := INT | INT:INT  (before:after)
    c       := ceil_mode (pooling only)
    neutral := identity | relu | bn | ... (any RF-neutral layer name in NEUTRAL_NAMES)

Pooling stride defaults to the kernel (PyTorch); conv stride to 1. Options may come in any
order, each at most once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type, Union

import yaml

from .errors import SpecError
from .layers import AvgPool, Conv, Identity, Layer, MaxPool, Padding, Param

__all__ = ["NEUTRAL_NAMES", "Spec", "load_spec", "parse_layers", "parse_size", "layer_from_entry", "parse_spec", "split_tokens"]

OPS: Dict[str, Type[Layer]] = {"conv": Conv, "maxpool": MaxPool, "avgpool": AvgPool}
NEUTRAL_NAMES = frozenset(
    "identity relu relu6 leakyrelu prelu elu selu gelu silu swish mish sigmoid tanh softmax "
    "act activation bn batchnorm norm layernorm groupnorm instancenorm dropout flatten".split()
)
# File `type` values accepted besides the compact op names (PyTorch-style and long names).
TYPE_ALIASES: Dict[str, str] = {
    **{f"conv{n}d": "conv" for n in (1, 2, 3)},
    "convolution": "conv",
    **{f"maxpool{n}d": "maxpool" for n in (1, 2, 3)},
    "max_pool": "maxpool",
    "max_pooling": "maxpool",
    **{f"avgpool{n}d": "avgpool" for n in (1, 2, 3)},
    "avg_pool": "avgpool",
    "average_pooling": "avgpool",
    **{f"batchnorm{n}d": "batchnorm" for n in (1, 2, 3)},
    "batch_norm": "batchnorm",
}

_INTS = r"\d+(?:x\d+)*"
_TOKEN = re.compile(r"(?P<op>conv|maxpool|avgpool)(?P<kernel>" + _INTS + r")(?P<options>.*)")
_OPTION = re.compile(
    r"s(?P<s>" + _INTS + r")|p(?P<p>same|valid|\d+(?::\d+)?(?:x\d+(?::\d+)?)*)|d(?P<d>" + _INTS + r")|(?P<c>c)"
)
GRAMMAR_HINT = "expected <op><k>[s<stride>][p<pad>][d<dilation>][c], e.g. conv3s2p1, maxpool2, conv1x7p0x3"


@dataclass(frozen=True)
class Spec:
    """A stack read from text or a file, with the input size if the file gave one."""

    layers: Tuple[Layer, ...]
    input_size: Optional[Tuple[int, ...]] = None
    source: Optional[str] = None


def _ints(text: str) -> Param:
    values = tuple(int(v) for v in text.split("x"))
    return values if len(values) > 1 else values[0]


def _pad(text: str) -> Padding:
    if text in ("same", "valid"):
        return text
    axes = tuple(tuple(int(v) for v in a.split(":")) if ":" in a else int(a) for a in text.split("x"))
    return axes if len(axes) > 1 or isinstance(axes[0], tuple) else axes[0]  # type: ignore[return-value]


def parse_token(token: str) -> Layer:
    """One compact token to a layer; raises SpecError naming the bad part."""
    text = token.strip().lower()
    if text in NEUTRAL_NAMES:
        return Identity(name=text)
    m = _TOKEN.fullmatch(text)
    if not m:
        raise SpecError(f"cannot parse {token.strip()!r}: {GRAMMAR_HINT}")
    kwargs: Dict[str, Any] = {}
    rest, pos = m["options"], 0
    names = {"s": "stride", "p": "padding", "d": "dilation", "c": "ceil_mode"}
    while pos < len(rest):
        o = _OPTION.match(rest, pos)
        if not o:
            raise SpecError(f"cannot parse {rest[pos:]!r} in {token.strip()!r}: {GRAMMAR_HINT}")
        key = next(k for k, v in o.groupdict().items() if v is not None)
        if names[key] in kwargs:
            raise SpecError(f"{names[key]} given twice in {token.strip()!r}")
        kwargs[names[key]] = True if key == "c" else (_pad if key == "p" else _ints)(o[key])
        pos = o.end()
    return OPS[m["op"]](_ints(m["kernel"]), **kwargs)


def split_tokens(text: str) -> List[str]:
    """Compact text to its layer tokens (separated by commas and/or white space)."""
    return [t for t in re.split(r"[,\s]+", text.strip()) if t]


def parse_layers(text: str) -> Tuple[Layer, ...]:
    """Compact text (comma-separated tokens) to layers; errors name the token index."""
    tokens = split_tokens(text)
    if not tokens:
        raise SpecError("empty spec: give at least one layer, e.g. conv3s1p1")
    layers = []
    for index, token in enumerate(tokens):
        try:
            layers.append(parse_token(token))
        except SpecError as e:
            raise e.located(layer=index) from None
    return tuple(layers)


def parse_size(text: Union[str, int, Sequence[int]]) -> Tuple[int, ...]:
    """'224', '224x224', 224 or (224, 224) to a tuple of positive ints."""
    if isinstance(text, str):
        try:
            values = tuple(int(v) for v in text.lower().split("x"))
        except ValueError:
            raise SpecError(f"input size must look like 32 or 224x224, got {text!r}") from None
    elif isinstance(text, int):
        values = (text,)
    else:
        values = tuple(text)
    for axis, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise SpecError(f"input size must be positive integers, got {v!r} on axis {axis}")
    return values


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
