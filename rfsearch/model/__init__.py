"""The layer model: layers, the compact grammar, spec files and the SPEC argument. Everything
here is validated once, where it is built; later rooms (core, results, io, cli) trust it."""

from .documents import Document, parse_document, read_document
from .grammar import parse_layers, parse_token, split_tokens
from .layers import PAD_SAME, AvgPool, Conv, Identity, Layer, MaxPool
from .source import read_spec
from .specfile import Spec, load_spec, parse_spec
from .values import as_int, parse_size

__all__ = [
    "PAD_SAME",
    "AvgPool",
    "Conv",
    "Document",
    "Identity",
    "Layer",
    "MaxPool",
    "Spec",
    "as_int",
    "load_spec",
    "parse_document",
    "parse_layers",
    "parse_size",
    "parse_spec",
    "parse_token",
    "read_document",
    "read_spec",
    "split_tokens",
]
