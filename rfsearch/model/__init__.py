"""The layer model: layers, the compact grammar, spec files. Everything here is validated once,
where it is built; later rooms (core, results, io, cli) trust what they get from here."""

from .grammar import parse_layers, parse_token, split_tokens
from .layers import PAD_SAME, AvgPool, Conv, Identity, Layer, MaxPool
from .specfile import Spec, load_spec, parse_spec
from .values import parse_size

__all__ = [
    "PAD_SAME",
    "AvgPool",
    "Conv",
    "Identity",
    "Layer",
    "MaxPool",
    "Spec",
    "load_spec",
    "parse_layers",
    "parse_size",
    "parse_spec",
    "parse_token",
    "split_tokens",
]
