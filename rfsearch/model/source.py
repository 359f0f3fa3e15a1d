"""The SPEC argument: how a user names one network (``rfsearch compute SPEC``).

One rule, tried in this order, so that what a SPEC means never depends on which files exist:

==========================  ============================================================
``-``                       a spec file (YAML or JSON) read from standard input
``file:PATH``               the spec file at PATH, whatever its name (``.json``: JSON, else YAML)
``zoo:NAME``                a built-in model (a graph: ``rfsearch zoo`` lists them)
``word:...``                any other prefix of two or more letters and a colon: reserved for
                            later kinds of SPEC, refused today
``*.yaml *.yml *.json``     a spec file (suffix in any case); it must exist
anything else               compact text (``conv3s1p1,maxpool2s2``), never a file
==========================  ============================================================

Compact text never needs a colon right after letters (``p0:1`` follows digits), and never ends
in a file suffix, so the kinds cannot be confused. If compact text fails to parse and a file of
that name exists, the error says how to read it (``file:NAME``).

A spec file is a stack (a layer list, or ``{layers, input_size}``) or a graph (a mapping with
``nodes``). `read_network` returns either a Spec or a GraphSource (a zoo name or a graph
document) for the graph room to build; `read_spec` accepts stacks only. This room does not
build graphs itself: it sits below them.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import BinaryIO, Optional, Union

from ..errors import SpecError, shown
from .documents import Document, parse_document, read_bytes, read_document
from .grammar import parse_layers
from .specfile import Spec, spec_from_document

__all__ = ["SPEC_FILE_SUFFIXES", "SPEC_PREFIXES", "GraphSource", "read_network", "read_spec"]

SPEC_FILE_SUFFIXES = (".yaml", ".yml", ".json")
SPEC_PREFIXES = ("file:", "zoo:")


@dataclass(frozen=True)
class GraphSource:
    """A SPEC that names a graph: a built-in model (`zoo`, its name) or a graph file (`document`,
    a mapping with `nodes`). rfsearch.graph builds the Graph (`compute_graph` takes either)."""

    zoo: Optional[str] = None
    document: Optional[Document] = None

_PREFIX = re.compile(r"([A-Za-z]{2,}):")
_PATHLIKE = re.compile(r"[/\\.]")  # compact text has no slash, backslash or dot


def read_network(spec: str, *, stdin: Optional[BinaryIO] = None) -> Union[Spec, GraphSource]:
    """The SPEC argument (see the module's rule): a Spec (a stack), or a GraphSource (``zoo:NAME``,
    or a spec file holding a graph); SpecError saying what and where.

    stdin: where ``-`` reads from (default: the process's standard input, as bytes).
    """
    if not isinstance(spec, str):
        raise SpecError(f"SPEC must be text, got {shown(spec, 40)}")
    if spec == "-":
        data = read_bytes(stdin if stdin is not None else sys.stdin.buffer, "<stdin>")
        return _from_document(parse_document(data, format="auto", source="<stdin>"))
    prefix = _PREFIX.match(spec)
    if prefix and prefix[0] == "file:":
        path = spec[len("file:"):]
        if not path:
            raise SpecError("file: needs a path, e.g. file:net.yaml")
        return _from_document(read_document(path))
    if prefix and prefix[0] == "zoo:":
        name = spec[len("zoo:"):]
        if not name:
            raise SpecError("zoo: needs a model name, e.g. zoo:resnet50 (rfsearch zoo lists them)")
        return GraphSource(zoo=name)
    if prefix:
        raise SpecError(f"unknown SPEC prefix {shown(prefix[0], 30)} (known: {', '.join(SPEC_PREFIXES)}; compact "
                        "text like conv3s1p1 has no prefix; write file:PATH for a file whose name has one)")  # fmt: skip
    if spec.lower().endswith(SPEC_FILE_SUFFIXES):
        return _from_document(read_document(spec))
    try:
        return Spec(parse_layers(spec))
    except SpecError as e:
        hint = _file_hint(spec)
        if not hint:
            raise
        raise SpecError(e.reason + hint, source=e.source, line=e.line, stack=e.stack, layer=e.layer,
                        axis=e.axis) from None  # fmt: skip


def _from_document(doc: Document) -> Union[Spec, GraphSource]:
    if isinstance(doc.data, dict) and "nodes" in doc.data:
        return GraphSource(document=doc)
    return spec_from_document(doc)


def read_spec(spec: str, *, stdin: Optional[BinaryIO] = None) -> Spec:
    """The SPEC argument as a stack (a Spec); SpecError for a graph (a zoo model or a file with
    `nodes`: `read_network` reads those), or saying what and where."""
    found = read_network(spec, stdin=stdin)
    if isinstance(found, GraphSource):
        what = f"zoo:{found.zoo}" if found.zoo is not None else "this spec file"
        raise SpecError(f"{shown(what, 60)[1:-1]} is a graph, not a stack: read it with rfsearch.graph "
                        "(compute_graph) or `rfsearch compute`",
                        source=None if found.document is None else found.document.source)  # fmt: skip
    return found


def _file_hint(spec: str) -> str:
    """A hint for compact text that failed to parse but looks like, or is, a file's name."""
    try:
        exists = len(spec) < 4096 and os.path.lexists(spec)
    except (OSError, ValueError):
        exists = False
    if exists:
        return f" (a file named {shown(spec, 40)} exists: write file:{spec} to read it as a spec file)"
    if _PATHLIKE.search(spec):
        return " (to read a spec file, name it *.yaml, *.yml or *.json, or write file:PATH)"
    return ""
