"""The SPEC argument: how a user names one network (``rfsearch compute SPEC``).

One rule, tried in this order, so that what a SPEC means never depends on which files exist:

==========================  ============================================================
``-``                       a spec file (YAML or JSON) read from standard input
``file:PATH``               the spec file at PATH, whatever its name (``.json``: JSON, else YAML)
``zoo:NAME``                a built-in model (reserved: none yet; they come with graph support)
``word:...``                any other prefix of two or more letters and a colon: reserved for
                            later kinds of SPEC, refused today
``*.yaml *.yml *.json``     a spec file (suffix in any case); it must exist
anything else               compact text (``conv3s1p1,maxpool2s2``), never a file
==========================  ============================================================

Compact text never needs a colon right after letters (``p0:1`` follows digits), and never ends
in a file suffix, so the kinds cannot be confused. If compact text fails to parse and a file of
that name exists, the error says how to read it (``file:NAME``).
"""

from __future__ import annotations

import os
import re
import sys
from typing import BinaryIO, Callable, Dict, Optional

from ..errors import SpecError, shown
from .documents import parse_document, read_bytes
from .grammar import parse_layers
from .specfile import Spec, load_spec, spec_from_document

__all__ = ["SPEC_FILE_SUFFIXES", "SPEC_PREFIXES", "ZOO", "read_spec"]

SPEC_FILE_SUFFIXES = (".yaml", ".yml", ".json")
SPEC_PREFIXES = ("file:", "zoo:")
#: Built-in models by name, each a function returning its Spec. Empty until the zoo arrives.
ZOO: Dict[str, Callable[[], Spec]] = {}

_PREFIX = re.compile(r"([A-Za-z]{2,}):")
_PATHLIKE = re.compile(r"[/\\.]")  # compact text has no slash, backslash or dot


def read_spec(spec: str, *, stdin: Optional[BinaryIO] = None) -> Spec:
    """The SPEC argument (see the module's rule) to a Spec; SpecError saying what and where.

    stdin: where ``-`` reads from (default: the process's standard input, as bytes).
    """
    if not isinstance(spec, str):
        raise SpecError(f"SPEC must be text, got {shown(spec, 40)}")
    if spec == "-":
        data = read_bytes(stdin if stdin is not None else sys.stdin.buffer, "<stdin>")
        return spec_from_document(parse_document(data, format="auto", source="<stdin>"))
    prefix = _PREFIX.match(spec)
    if prefix and prefix[0] == "file:":
        path = spec[len("file:"):]
        if not path:
            raise SpecError("file: needs a path, e.g. file:net.yaml")
        return load_spec(path)
    if prefix and prefix[0] == "zoo:":
        return _zoo(spec[len("zoo:"):])
    if prefix:
        raise SpecError(f"unknown SPEC prefix {shown(prefix[0], 30)} (known: {', '.join(SPEC_PREFIXES)}; compact "
                        "text like conv3s1p1 has no prefix; write file:PATH for a file whose name has one)")  # fmt: skip
    if spec.lower().endswith(SPEC_FILE_SUFFIXES):
        return load_spec(spec)
    try:
        return Spec(parse_layers(spec))
    except SpecError as e:
        hint = _file_hint(spec)
        if not hint:
            raise
        raise SpecError(e.reason + hint, source=e.source, line=e.line, stack=e.stack, layer=e.layer,
                        axis=e.axis) from None  # fmt: skip


def _zoo(name: str) -> Spec:
    if not ZOO:
        raise SpecError(f"zoo:{shown(name, 40)[1:-1]}: no built-in models are available yet (they come with graph "
                        "support); give compact text or a spec file")  # fmt: skip
    if name not in ZOO:
        raise SpecError(f"unknown zoo model {shown(name, 40)} (known: {', '.join(sorted(ZOO))})")
    return ZOO[name]()


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
