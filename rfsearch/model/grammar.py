"""The compact grammar: one stack as text, ``conv3s1p1,maxpool2s2``.

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

import re
from typing import Any, Dict, List, Tuple, Type

from ..errors import SpecError
from .layers import AvgPool, Conv, Identity, Layer, MaxPool, Padding, Param

__all__ = ["GRAMMAR_HINT", "NEUTRAL_NAMES", "OPS", "TYPE_ALIASES", "parse_layers", "parse_token", "split_tokens"]

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
