"""YAML and JSON documents from users, loaded safely, with the line of every value for errors.

One loader for every structured input (spec files today; search-space and graph files next):

    doc = read_document("net.yaml")                 # format from the suffix (.json: JSON, else YAML)
    doc = parse_document(text, source="<stdin>", format="auto")
    doc.data                                        # dict (str keys), list, str, int, float, bool, None,
                                                    # OversizedInt (integer literals beyond 40 digits)
    doc.line("layers", 3, "stride")                 # 1-based line of that key / item, or None
    raise doc.error("stride must be >= 1", "layers", 3, "stride", layer=3)   # SpecError at file:line

Whatever the input, the result is a Document or a one-line SpecError naming the source and,
when known, the line; time and memory stay bounded by the input's size:

- Size: at most MAX_DOCUMENT_BYTES (64 MiB) for JSON and MAX_YAML_BYTES (16 MiB) for YAML
  (files people write; big machine-written documents should be JSON), checked before reading it
  all. Either loads in seconds: 100,000 spec layers are about 10 MB.
- Text: UTF-8 (a byte-order mark is skipped); other bytes are refused naming the line.
- Nesting: at most MAX_DEPTH (64) levels of lists/mappings, checked before anything recurses
  (JSON: a scan of the brackets before json.loads; YAML: on the parser's event stream, which is
  not recursive; PyYAML's composer is, and is not used).
- Keys: text only, each at most once per mapping (YAML 1.1's ``1:``, ``yes:``, ``null:`` keys and
  JSON's silent last-one-wins are refused).
- Numbers: JSON's NaN and Infinity are refused. Integer literals longer than MAX_LITERAL_DIGITS
  (40) digits are not converted but kept as `OversizedInt`, which `as_int` refuses naming the
  field ("kernel is larger than the int64 range, got a number of 5000 digits").
- YAML is read with the YAML 1.2 core schema's plain scalars, nothing more: ``null``/``~``,
  ``true``/``false``, decimal integers (``010`` is refused: YAML 1.1 reads it as octal 8),
  floats (``.nan``/``.inf`` included: fields that need integers refuse them by name); anything
  else is text (``yes``, ``0x10``, ``1:30``, dates). Tags other than ``!!str`` are refused, so
  are several documents in one stream.
- YAML aliases: allowed, and what they expand to is counted: together they may add at most
  MAX_ALIAS_VALUES (100,000) values, so an alias bomb ("billion laughs") is refused after a
  few thousand steps. An alias shares its anchor's data (nothing is copied): treat `data` as
  read-only.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Dict, List, Optional, Tuple, Union

from ..errors import SpecError, shown
from .values import MAX_LITERAL_DIGITS, int_literal

__all__ = [
    "FORMATS",
    "MAX_ALIAS_VALUES",
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "MAX_YAML_BYTES",
    "Document",
    "Key",
    "format_from_suffix",
    "parse_document",
    "read_bytes",
    "read_document",
]

MAX_DOCUMENT_BYTES = 64 * 2**20
MAX_YAML_BYTES = 16 * 2**20  # YAML is composed event by event in Python: ~4x slower than JSON
MAX_DEPTH = 64
MAX_ALIAS_VALUES = 100_000
FORMATS = ("yaml", "json")

Key = Union[str, int]  # a step of a path into a document: a mapping key or a list index


@dataclass(frozen=True)
class Document:
    """A loaded YAML or JSON document: `data`, and the line of any value or key in it."""

    data: Any
    source: Optional[str]
    format: str  # "yaml" or "json"
    _locate: Callable[[Tuple[Key, ...]], Optional[int]] = field(repr=False, compare=False)

    def line(self, *path: Key) -> Optional[int]:
        """The 1-based line where the value at `path` starts (for a mapping entry: its key's line).

        `path` is keys and list indices from the top: ``doc.line("layers", 3)``. None if the path
        does not exist (or the line is unknown); ``doc.line()`` is the line of the whole document.
        """
        try:
            return self._locate(tuple(path))
        except (KeyError, IndexError, TypeError, ValueError):
            return None

    def error(
        self, message: str, *path: Key, stack: Optional[int] = None, layer: Optional[int] = None,
        axis: Optional[int] = None,
    ) -> SpecError:  # fmt: skip
        """A SpecError at ``source:line`` of `path` (and stack, layer, axis when given)."""
        return SpecError(message, source=self.source, line=self.line(*path) if path else None, stack=stack,
                         layer=layer, axis=axis)  # fmt: skip


def format_from_suffix(path: Union[str, "os.PathLike[str]"]) -> str:
    """'json' for a .json file (any case), else 'yaml' (YAML reads JSON too, but JSON is faster and
    stricter read as JSON)."""
    return "json" if str(path).lower().endswith(".json") else "yaml"


def read_bytes(stream: BinaryIO, source: str, max_bytes: int = MAX_DOCUMENT_BYTES) -> bytes:
    """Up to `max_bytes` from an open binary stream (a file, a pipe, standard input); SpecError if
    there is more. Reading stops one byte past the limit, so a device like /dev/zero cannot fill
    the memory."""
    try:
        data = stream.read(max_bytes + 1)
    except OSError as e:
        raise SpecError(f"cannot read: {e.strerror or e}", source=source) from None
    if len(data) > max_bytes:
        raise SpecError(f"larger than {max_bytes // 2**20} MiB, the limit for a document", source=source)
    return data


def read_document(
    path: Union[str, "os.PathLike[str]"],
    *,
    format: Optional[str] = None,
    source: Optional[str] = None,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> Document:
    """Reads and parses the YAML or JSON file at `path` (format: from the suffix unless given).

    `source` names the file in errors (default: the path as given). Regular files larger than
    `max_bytes` are refused before reading; pipes and devices are read up to the limit.
    """
    name = source if source is not None else os.fspath(path)
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if st.st_size > max_bytes:
                raise SpecError(f"larger than {max_bytes // 2**20} MiB, the limit for a document", source=name)
            data = read_bytes(f, name, max_bytes)
    except SpecError:
        raise
    except IsADirectoryError:
        raise SpecError("is a directory, not a file", source=name) from None
    except OSError as e:
        raise SpecError(f"cannot read: {e.strerror or e}", source=name) from None
    except ValueError as e:  # e.g. a NUL byte in the path
        raise SpecError(f"cannot read: {e}", source=name) from None
    return parse_document(data, format=format or format_from_suffix(path), source=name)


def parse_document(data: Union[str, bytes], *, format: str = "yaml", source: Optional[str] = None) -> Document:
    """Parses YAML or JSON text (str, or bytes: UTF-8) into a Document.

    format: "yaml" (the default; YAML 1.2 reads JSON too), "json", or "auto" (JSON if the text
    is a JSON object or array, else YAML). SpecError (one line, source:line when known) for
    anything that is not a valid, bounded document; never another exception.
    """
    if format not in (*FORMATS, "auto"):
        raise ValueError(f"format must be one of {', '.join(FORMATS)} or auto, got {format!r}")
    text = _decode(data, source) if isinstance(data, bytes) else data
    if text.startswith("\ufeff"):
        text = text[1:]
    if len(text) > MAX_DOCUMENT_BYTES:  # str given directly: the same bound as files
        raise SpecError(f"larger than {MAX_DOCUMENT_BYTES // 2**20} MiB, the limit for a document", source=source)
    if format == "auto":
        stripped = text.lstrip(" \t\r\n")
        if stripped[:1] in ("{", "["):
            try:
                return _parse_json(text, source)
            except _NotJson:
                pass
        return _parse_yaml(text, source)
    return _parse_json(text, source, report=True) if format == "json" else _parse_yaml(text, source)


def _decode(data: bytes, source: Optional[str]) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise SpecError(f"not UTF-8 text: byte 0x{data[e.start]:02x} at column {column} ({e.reason})",
                        source=source, line=line) from None  # fmt: skip


# ---------------------------------------------------------------------------------------------
# JSON: the C parser for the data (fast), bounded first; positions found only when needed.

_JSON_ESCAPE = re.compile(rb"\\.", re.S)
_JSON_STRING_BYTES = re.compile(rb'"[^"]*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b'[]{}"')
_DELTA = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_LONG_DIGITS = re.compile(r"[0-9]{%d}" % (MAX_LITERAL_DIGITS + 1))
_WS = re.compile(r"[ \t\n\r]*")


class _NotJson(Exception):
    """format="auto": the text is not JSON after all (read it as YAML)."""


class _Refused(Exception):
    """Raised from json.loads' hooks: a duplicate key or a NaN/Infinity (located afterwards)."""


def _json_depth(text: str) -> int:
    """Deepest nesting of [ ] and { } outside strings, without recursion (escapes, then strings
    removed; what is left is brackets). Exact for valid JSON; for invalid JSON it is exact up to
    the first error, which is as far as json.loads goes."""
    raw = _JSON_ESCAPE.sub(b"", text.encode("utf-8", "surrogatepass"))
    brackets = _JSON_STRING_BYTES.sub(b"", raw.translate(None, _NOT_BRACKET)).replace(b'"', b"")
    if not brackets:
        return 0
    return max(itertools.accumulate(_DELTA[c] for c in brackets))


def _pairs(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Refused()
    return out


def _constant(name: str) -> Any:
    raise _Refused()


def _parse_json(text: str, source: Optional[str], report: bool = False) -> Document:
    depth = _json_depth(text)
    if depth > MAX_DEPTH:
        offset = _JsonScanner(text).deep_offset()
        raise SpecError(f"nested deeper than {MAX_DEPTH} levels", source=source, line=_line_at(text, offset))
    hooks: Dict[str, Any] = {"object_pairs_hook": _pairs, "parse_constant": _constant}
    if _LONG_DIGITS.search(text):  # only then pay for a Python call per integer
        hooks["parse_int"] = int_literal
    try:
        data = json.loads(text, **hooks)
    except json.JSONDecodeError as e:
        if not report:
            raise _NotJson() from None
        raise SpecError(f"not valid JSON: {e.msg} (column {e.colno})", source=source, line=e.lineno) from None
    except _Refused:
        offset, message = _JsonScanner(text).first_refusal()
        raise SpecError(message, source=source, line=_line_at(text, offset)) from None
    except RecursionError:  # not reached: the depth was checked; kept so no input can crash
        raise SpecError(f"nested deeper than {MAX_DEPTH} levels", source=source) from None
    scanner: Optional[_JsonScanner] = None

    def locate(path: Tuple[Key, ...]) -> Optional[int]:
        nonlocal scanner
        if scanner is None:
            scanner = _JsonScanner(text)
        offset = scanner.offset_of(path)
        return None if offset is None else _line_at(text, offset)

    return Document(data, source, "json", locate)


def _line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _skip_value(pairs: Any) -> Any:
    return None


class _JsonScanner:
    """Positions in a JSON text that json.loads has accepted (or whose depth was checked): the slow,
    exact walk used only to say where something is. Scalars are skipped by the C decoder."""

    def __init__(self, text: str) -> None:
        self.text = text
        # Skips values without building them (no huge ints converted, no hooks raising).
        self.decoder = json.JSONDecoder(parse_int=_skip_value, parse_float=_skip_value, parse_constant=_skip_value,
                                        object_pairs_hook=_skip_value)  # fmt: skip

    def _ws(self, i: int) -> int:
        return _WS.match(self.text, i).end()  # type: ignore[union-attr]

    def _skip(self, i: int) -> int:
        """Offset just past the value starting at i."""
        return int(self.decoder.raw_decode(self.text, i)[1])

    def offset_of(self, path: Tuple[Key, ...]) -> Optional[int]:
        """Offset of the value at `path` (of the key, when the last step is a mapping key)."""
        t = self.text
        i = self._ws(0)
        for n, step in enumerate(path):
            if t.startswith("[", i) and isinstance(step, int) and not isinstance(step, bool) and step >= 0:
                i = self._ws(i + 1)
                for _ in range(step):
                    if t.startswith("]", i):
                        return None
                    i = self._ws(self._skip(i))
                    if not t.startswith(",", i):
                        return None
                    i = self._ws(i + 1)
                if t.startswith("]", i):
                    return None
            elif t.startswith("{", i) and isinstance(step, str):
                i = self._ws(i + 1)
                while True:
                    if not t.startswith('"', i):
                        return None
                    key_at = i
                    key, end = self.decoder.raw_decode(t, i)
                    value_at = self._ws(self._ws(end) + 1)  # past the colon
                    if key == step:
                        i = key_at if n == len(path) - 1 else value_at
                        break
                    i = self._ws(self._skip(value_at))
                    if not t.startswith(",", i):
                        return None
                    i = self._ws(i + 1)
            else:
                return None
        return i

    def first_refusal(self) -> Tuple[int, str]:
        """Offset and message of the first duplicate key or NaN/Infinity, in document order."""
        t = self.text
        stack: List[Optional[set[str]]] = []  # per open container: keys seen (None for a list)
        i = self._ws(0)
        state = "value"
        while i < len(t):
            if state == "value":
                c = t[i]
                if c in "[{":
                    stack.append(None if c == "[" else set())
                    i = self._ws(i + 1)
                    if t.startswith("]" if c == "[" else "}", i):
                        stack.pop()
                        i = self._ws(i + 1)
                        state = "after"
                    elif c == "{":
                        state = "key"
                    continue
                if t.startswith(("NaN", "Infinity", "-Infinity"), i):
                    word = "-Infinity" if c == "-" else ("NaN" if c == "N" else "Infinity")
                    return i, f"{word} is not a number JSON allows (write a number, or null)"
                i = self._ws(self._skip(i))
                state = "after"
            elif state == "key":
                keys = stack[-1]
                key, end = self.decoder.raw_decode(t, i)
                if keys is not None:
                    if key in keys:
                        return i, f"duplicate key {shown(key, 40)}"
                    keys.add(key)
                i = self._ws(self._ws(end) + 1)  # past the colon
                state = "value"
            else:  # after a value
                if not stack:
                    break
                c = t[i]
                if c == ",":
                    i = self._ws(i + 1)
                    state = "value" if stack[-1] is None else "key"
                elif c in "]}":
                    stack.pop()
                    i = self._ws(i + 1)
                else:
                    break
        return 0, "duplicate key, NaN or Infinity"  # not reached for texts json.loads refused for those

    def deep_offset(self) -> int:
        """Offset of the first bracket past MAX_DEPTH (strings skipped)."""
        depth = 0
        for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', self.text, re.S):
            c = m[0]
            if c in "[{":
                depth += 1
                if depth > MAX_DEPTH:
                    return m.start()
            elif c in "]}":
                depth -= 1
        return 0


# ---------------------------------------------------------------------------------------------
# YAML: libyaml's (or PyYAML's) event stream, composed here, iteratively, with limits.

_YAML_NULL = frozenset(["", "~", "null", "Null", "NULL"])
_YAML_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_YAML_INT = re.compile(r"[-+]?[0-9]+")
_YAML_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_YAML_SPECIAL_FLOAT = {**{f"{s}.{w}": float(f"{s}inf") for s in ("", "+", "-") for w in ("inf", "Inf", "INF")},
                       **{f".{w}": float("nan") for w in ("nan", "NaN", "NAN")}}  # fmt: skip
_STR_TAG = "tag:yaml.org,2002:str"


@functools.lru_cache(maxsize=None)
def _yaml() -> Tuple[Any, Any]:
    """PyYAML and its parser class, imported on the first YAML document (~20 ms: JSON documents
    and commands that read none do not pay it). libyaml's parser (C) when PyYAML was built with
    it; the pure-Python one otherwise."""
    import yaml

    try:
        from yaml._yaml import CParser  # type: ignore[import-untyped,unused-ignore]

        return yaml, CParser
    except ImportError:  # pragma: no cover - depends on the PyYAML build

        class Parser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):  # type: ignore[misc]
            def __init__(self, stream: str) -> None:
                yaml.reader.Reader.__init__(self, stream)
                yaml.scanner.Scanner.__init__(self)
                yaml.parser.Parser.__init__(self)

        return yaml, Parser


def _tag(tag: str) -> str:
    """A tag as written: !!int for the YAML core tags."""
    short = "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag
    return shown(short, 40)


def _scalar(event: Any, source: Optional[str]) -> Any:
    """A scalar event's value under the YAML 1.2 core schema (plain scalars only are typed)."""
    value: str = event.value
    tag = event.tag
    if tag not in (None, "!"):
        if tag == _STR_TAG:
            return value
        raise SpecError(f"YAML tags other than !!str are not supported, got {_tag(tag)}", source=source,
                        line=event.start_mark.line + 1)  # fmt: skip
    if not event.implicit[0] or tag == "!":  # quoted or block scalar: text
        return value
    if value in _YAML_NULL:
        return None
    first = value[:1]
    if first in "tTfF" and value in _YAML_BOOL:
        return _YAML_BOOL[value]
    if first in "0123456789+-.":
        if _YAML_INT.fullmatch(value):
            digits = value.lstrip("+-")
            if len(digits) > 1 and digits[0] == "0":
                raise SpecError(f"{shown(value, 30)}: numbers with leading zeros are ambiguous (YAML 1.1 reads "
                                "010 as octal 8): write it without them, or quote it as text",
                                source=source, line=event.start_mark.line + 1)  # fmt: skip
            return int_literal(value)
        if _YAML_FLOAT.fullmatch(value):
            return float(value)
        if value in _YAML_SPECIAL_FLOAT:
            return _YAML_SPECIAL_FLOAT[value]
    return value


class _Frame:
    """A list or mapping being composed: its data, the lines of its entries, and its size."""

    __slots__ = ("data", "lines", "size", "anchor", "key", "key_line", "start_line", "is_list")

    def __init__(self, data: Any, lines: Any, anchor: Optional[str], start_line: int) -> None:
        self.data = data
        self.lines = lines
        self.size = 1
        self.anchor = anchor
        self.key: Any = _NO_KEY
        self.key_line = 0
        self.start_line = start_line
        self.is_list = isinstance(data, list)


_NO_KEY = object()
_MISSING = object()
_CONTAINER_TAGS = (None, "!", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map")


def _parse_yaml(text: str, source: Optional[str]) -> Document:
    """Composes the document from parser events: no recursion, limits checked as events arrive."""
    if len(text) > MAX_YAML_BYTES:
        raise SpecError(f"larger than {MAX_YAML_BYTES // 2**20} MiB, the limit for a YAML document (write big "
                        f"documents as JSON: up to {MAX_DOCUMENT_BYTES // 2**20} MiB)", source=source)  # fmt: skip
    lines_of: Dict[int, Any] = {}  # id(list or dict) -> its entries' lines (list, or dict by key)
    anchors: Dict[str, Tuple[Any, int]] = {}  # anchor -> (value, number of values it holds)
    plain: Dict[str, Any] = {}  # plain scalar text -> its value (specs repeat a few words and numbers)
    stack: List[_Frame] = []
    top: Optional[_Frame] = None  # stack[-1]
    root: List[Any] = []  # the document's value, once complete
    root_line = 1
    aliased = 0
    documents = 0

    def fail(message: str, line: int) -> SpecError:
        return SpecError(message, source=source, line=line)

    def add_to_mapping(frame: _Frame, value: Any, line: int) -> None:
        if frame.key is _NO_KEY:  # a key
            if not isinstance(value, str):
                what = "a list or mapping" if isinstance(value, (list, dict)) else shown(value, 30)
                raise fail(f"mapping keys must be text, got {what}", line)
            if value in frame.data:
                raise fail(f"duplicate key {shown(value, 40)} (first at line {frame.lines[value]})", line)
            frame.key, frame.key_line = value, line
        else:
            frame.data[frame.key] = value
            frame.lines[frame.key] = frame.key_line
            frame.key = _NO_KEY

    yaml, parser_class = _yaml()
    events = yaml.events
    Scalar, Alias = events.ScalarEvent, events.AliasEvent
    SeqStart, MapStart = events.SequenceStartEvent, events.MappingStartEvent
    SeqEnd, MapEnd = events.SequenceEndEvent, events.MappingEndEvent
    DocStart, StreamEnd = events.DocumentStartEvent, events.StreamEndEvent
    parser = parser_class(text)
    get_event = parser.get_event
    try:
        while True:
            event = get_event()
            cls = event.__class__
            if cls is Scalar or cls is Alias:
                line = event.start_mark.line + 1
                if cls is Scalar:
                    size = 1
                    value = plain.get(event.value, _MISSING) if event.implicit[0] and event.tag is None else _MISSING
                    if value is _MISSING:
                        value = _scalar(event, source)
                        if event.implicit[0] and event.tag is None and len(event.value) <= 40:
                            plain[event.value] = value
                    if event.anchor is not None:
                        anchors[event.anchor] = (value, 1)
                else:
                    if event.anchor not in anchors:
                        raise fail(f"unknown alias *{shown(event.anchor, 30)[1:-1]} (an anchor must come first, "
                                   "and may not refer to itself)", line)  # fmt: skip
                    value, size = anchors[event.anchor]
                    aliased += size
                    if aliased > MAX_ALIAS_VALUES:
                        raise fail(f"aliases expand to more than {MAX_ALIAS_VALUES:,} values (an alias bomb?)", line)
                if top is None:
                    root.append(value)
                elif top.is_list:
                    top.size += size
                    top.data.append(value)
                    top.lines.append(line)
                else:
                    top.size += size
                    add_to_mapping(top, value, line)
            elif cls is SeqStart or cls is MapStart:
                line = event.start_mark.line + 1
                if len(stack) >= MAX_DEPTH:
                    raise fail(f"nested deeper than {MAX_DEPTH} levels", line)
                if event.tag not in _CONTAINER_TAGS:
                    raise fail(f"YAML tags are not supported here, got {_tag(event.tag)}", line)
                is_list = cls is SeqStart
                top = _Frame([] if is_list else {}, [] if is_list else {}, event.anchor, line)
                stack.append(top)
            elif cls is SeqEnd or cls is MapEnd:
                frame = stack.pop()
                top = stack[-1] if stack else None
                lines_of[id(frame.data)] = frame.lines
                if frame.anchor is not None:
                    anchors[frame.anchor] = (frame.data, frame.size)
                if top is None:
                    root.append(frame.data)
                else:
                    top.size += frame.size
                    if top.is_list:
                        top.data.append(frame.data)
                        top.lines.append(frame.start_line)
                    else:
                        add_to_mapping(top, frame.data, frame.start_line)
            elif cls is DocStart:
                documents += 1
                if documents > 1:
                    raise fail("expected one YAML document, found a second ('---')", event.start_mark.line + 1)
                root_line = event.start_mark.line + 1
            elif cls is StreamEnd:
                break
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        problem = getattr(e, "problem", None) or getattr(e, "reason", None) or str(e).splitlines()[0]
        line = mark.line + 1 if mark is not None else None
        if "nesting depth" in str(problem):  # libyaml's own limit (1000), met while scanning ahead
            raise SpecError(f"nested deeper than {MAX_DEPTH} levels", source=source, line=line) from None
        if line is None and isinstance(getattr(e, "position", None), int):  # ReaderError
            line = _line_at(text, e.position)
        raise SpecError(f"not valid YAML: {problem}", source=source, line=line) from None
    finally:
        dispose = getattr(parser, "dispose", None)
        if dispose is not None:
            dispose()
    data: Any = root[0] if root else None

    def locate(path: Tuple[Key, ...]) -> Optional[int]:
        node: Any = data
        line = root_line
        for step in path:
            entries = lines_of[id(node)]
            if isinstance(node, list) and isinstance(step, int) and step < 0:
                raise IndexError(step)
            line = entries[step]
            node = node[step]
        return int(line)

    return Document(data, source, "yaml", locate)


