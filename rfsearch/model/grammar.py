"""The compact grammar: one stack as text, ``conv3s1p1,maxpool2s2``.

::

    stack   := token ( "," token )*          white space around a token is ignored
    token   := op KERNEL option*  |  neutral
    op      := conv | maxpool | avgpool
    option  := s VALUES | p PADDING | d VALUES | c        each at most once, in any order
    VALUES  := INT ( "x" INT )*               one value for every axis, or one per axis: 1x7
    PADDING := same | valid | PAD ( "x" PAD )*     PAD := INT | INT ":" INT  (before:after)
    INT     := 0 | [1-9][0-9]*                ASCII digits, no sign, no leading zeros
    c       := ceil_mode (pooling only)
    neutral := identity | relu | bn | ...     (NEUTRAL_NAMES: RF-neutral layers)

Strict, so that no text parses by accident:

- Lowercase only. Op names, neutral names and option letters are exact lowercase words, so
  ``Conv2d3`` is refused (PyTorch's class names are spec-file types, not tokens; in this grammar
  ``conv2d3`` is kernel 2, dilation 3, and ``conv3`` is the kernel-3 conv that was meant).
- Every option letter is followed by its value and the token must be used up: ``conv3x``,
  ``conv3s``, ``conv3q1`` are errors, never a partial read.
- No white space inside a token; an empty token (``,,``, a comma at either end) is an error.
- Numbers are ASCII digits without leading zeros (``03`` is refused rather than guessed).

Pooling stride defaults to the kernel (PyTorch); conv stride to 1. Values are checked by the
layer classes (`as_int`: int64 range), so ``conv99999999999999999999`` says "kernel is larger
than the int64 range" here and in batch files alike.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Dict, List, Tuple, Type, Union

from ..errors import SpecError, shown
from .layers import NEUTRAL_NAMES, AvgPool, Conv, Identity, Layer, MaxPool
from .values import OversizedInt, int_literal

__all__ = ["GRAMMAR_HINT", "NEUTRAL_NAMES", "OPS", "TYPE_ALIASES", "parse_layers", "parse_token", "split_tokens"]

OPS: Dict[str, Type[Layer]] = {"conv": Conv, "maxpool": MaxPool, "avgpool": AvgPool}
# Spec-file `type` values accepted besides the compact op names (PyTorch-style and long names,
# matched case-insensitively there). They are not compact tokens.
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

_INTS = r"[0-9]+(?:x[0-9]+)*"
_TOKEN = re.compile(r"(?P<op>conv|maxpool|avgpool)(?P<kernel>" + _INTS + r")(?P<options>.*)", re.S)
_OPTION = re.compile(
    r"s(?P<s>" + _INTS + r")|p(?P<p>same|valid|[0-9]+(?::[0-9]+)?(?:x[0-9]+(?::[0-9]+)?)*)|d(?P<d>" + _INTS
    + r")|(?P<c>c)"
)
_OPTION_NAMES = {"s": "stride", "p": "padding", "d": "dilation", "c": "ceil_mode"}
_PYTORCH_NAME = re.compile(r"(conv|maxpool|avgpool)[123]d", re.I)
_SPACE = re.compile(r"\s")
GRAMMAR_HINT = "expected <op><k>[s<stride>][p<pad>][d<dilation>][c], e.g. conv3s2p1, maxpool2, conv1x7p0x3"

Number = Union[int, OversizedInt]


def _int(text: str, token: str) -> Number:
    if len(text) > 1 and text[0] == "0":
        raise SpecError(f"{shown(token)}: numbers have no leading zeros, got {shown(text, 30)}")
    return int_literal(text)


def _ints(text: str, token: str) -> Union[Number, Tuple[Number, ...]]:
    values = tuple(_int(v, token) for v in text.split("x"))
    return values if len(values) > 1 else values[0]


def _pad(text: str, token: str) -> Any:
    if text in ("same", "valid"):
        return text
    axes = tuple(tuple(_int(v, token) for v in a.split(":")) if ":" in a else _int(a, token) for a in text.split("x"))
    return axes if len(axes) > 1 or isinstance(axes[0], tuple) else axes[0]


def _refusal(text: str) -> str:
    """Why `text` (stripped, not a token) is refused: the most useful message we can give."""
    if not text:
        return "empty token"
    if _SPACE.search(text):
        return f"{shown(text)}: white space inside a token (separate layers with commas)"
    pytorch = _PYTORCH_NAME.match(text)
    if pytorch:
        op = pytorch[1].lower()
        return (f"cannot parse {shown(text)}: {pytorch[0]!r} reads like a PyTorch layer name, which is a spec-file "
                f"type, not a compact token: write {op}3 for kernel 3 ({op}2d3 would mean kernel 2, dilation 3)")  # fmt: skip
    if text != text.lower():
        lower = text.lower()
        try:
            _parse(lower)
        except SpecError:
            return f"cannot parse {shown(text)}: compact tokens are lowercase; {GRAMMAR_HINT}"
        return f"cannot parse {shown(text)}: compact tokens are lowercase (write {shown(lower)})"
    return f"cannot parse {shown(text)}: {GRAMMAR_HINT}"


@functools.lru_cache(maxsize=4096)  # specs repeat a few tokens many times; layers are immutable
def _parse(text: str) -> Layer:
    if text in NEUTRAL_NAMES:
        return Identity(name=text)
    m = _TOKEN.fullmatch(text)
    if not m:
        raise SpecError(_refusal(text))
    kwargs: Dict[str, Any] = {}
    rest, pos = m["options"], 0
    while pos < len(rest):
        o = _OPTION.match(rest, pos)
        if not o:
            if _SPACE.search(text) or text != text.lower() or _PYTORCH_NAME.match(text):
                raise SpecError(_refusal(text))
            raise SpecError(f"cannot parse {shown(rest[pos:], 30)} in {shown(text)}: {GRAMMAR_HINT}")
        key = next(k for k, v in o.groupdict().items() if v is not None)
        name = _OPTION_NAMES[key]
        if name in kwargs:
            raise SpecError(f"{name} given twice in {shown(text)}")
        kwargs[name] = True if key == "c" else (_pad if key == "p" else _ints)(o[key], text)
        pos = o.end()
    kernel: Any = _ints(m["kernel"], text)  # an OversizedInt is refused by the layer, naming the field
    return OPS[m["op"]](kernel, **kwargs)


def parse_token(token: str) -> Layer:
    """One compact token (white space around it ignored) to a layer; SpecError naming the bad part."""
    if not isinstance(token, str):
        raise SpecError(f"a compact token must be text, got {shown(token, 40)}")
    return _parse(token.strip())


def split_tokens(text: str) -> List[str]:
    """Compact text to its tokens: split at commas, white space around each token removed.

    Blank text gives []; an empty token (two commas in a row, a comma at either end) is a
    SpecError naming the layer index. Tokens are not checked here: `parse_token` does that.
    """
    if not text.strip():
        return []
    tokens = [piece.strip() for piece in text.split(",")]
    for index, token in enumerate(tokens):
        if not token:
            raise SpecError("empty token (two commas in a row, or a comma at the start or end)", layer=index)
    return tokens


def parse_layers(text: str) -> Tuple[Layer, ...]:
    """Compact text (comma-separated tokens) to layers; errors name the token index."""
    if not isinstance(text, str):
        raise SpecError(f"compact text expected, got {shown(text, 40)}")
    tokens = split_tokens(text)
    if not tokens:
        raise SpecError("empty spec: give at least one layer, e.g. conv3s1p1")
    layers = []
    for index, token in enumerate(tokens):
        try:
            layers.append(_parse(token))
        except SpecError as e:
            raise e.located(layer=index) from None
    return tuple(layers)
