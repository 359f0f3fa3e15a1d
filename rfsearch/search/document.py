"""Space files as data plus the line of every key: the one place a space file's text is read.

`load_document` turns YAML (or JSON) text into plain Python data (dicts, lists, scalars) and a map
from each node's path (``("layers", "kernel", 2)``) to its 1-based line, so that validation can
name the bad key and its line. It refuses what a small configuration file never needs and a
hostile one uses: aliases (billion-laughs expansion), duplicate keys (YAML keeps the last one
silently), non-string keys, nesting deeper than `MAX_DEPTH`, more than `MAX_NODES` nodes, and
texts over `MAX_BYTES`.

This is deliberately small and isolated: the model room is building a hardened document loader
for spec files, and this module is meant to be replaced by it (same contract: data + lines).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

import yaml

from ..errors import SpecError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "Document", "KeyPath", "format_path", "load_document"]

KeyPath = Tuple[Union[str, int], ...]

MAX_BYTES = 1 << 20  # a space file is a page of text
MAX_DEPTH = 32
MAX_NODES = 10_000  # values; a real space file has a few hundred


def format_path(path: KeyPath) -> str:
    """``("positions", 2, "kernel")`` -> ``positions[2].kernel`` (what messages show)."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "the document"


@dataclass(frozen=True)
class Document:
    """Parsed data plus the line of each node (by key path); lines are unknown for JSON fallbacks."""

    data: Any
    lines: Dict[KeyPath, int] = field(default_factory=dict)
    source: Optional[str] = None

    def line(self, path: KeyPath) -> Optional[int]:
        """Line of the node at `path`, else of its closest ancestor that has one (None if none)."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return None


class _Walker:
    """Builds plain data from a composed YAML node tree, recording lines and refusing aliases."""

    def __init__(self, loader: yaml.SafeLoader, source: Optional[str]) -> None:
        self.loader = loader
        self.source = source
        self.lines: Dict[KeyPath, int] = {}
        self.seen: set[int] = set()

    def fail(self, message: str, node: yaml.Node) -> SpecError:
        return SpecError(message, source=self.source, line=node.start_mark.line + 1)

    def walk(self, node: yaml.Node, path: KeyPath) -> Any:
        if id(node) in self.seen:
            raise self.fail("aliases (*name) are not allowed in space files; write the value out", node)
        self.seen.add(id(node))
        if len(self.seen) > MAX_NODES:
            raise self.fail(f"the document has more than {MAX_NODES} values", node)
        if len(path) > MAX_DEPTH:
            raise self.fail(f"the document nests deeper than {MAX_DEPTH} levels", node)
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: Dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                    plain = isinstance(key_node, yaml.ScalarNode)
                    shown = repr(key_node.value) if plain else "a " + type(key_node).__name__
                    raise self.fail(f"keys must be plain names, got {shown}", key_node)
                key = str(key_node.value)
                if key in out:
                    raise self.fail(f"duplicate key {format_path((*path, key))!r}", key_node)
                out[key] = self.walk(value_node, (*path, key))
                self.lines[path + (key,)] = key_node.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            items: List[Any] = []
            for index, item in enumerate(node.value):
                items.append(self.walk(item, (*path, index)))
            return items
        return self.loader.construct_object(node)


_OPEN = (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken, yaml.BlockSequenceStartToken,
         yaml.BlockMappingStartToken)  # fmt: skip
_CLOSE = (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken, yaml.BlockEndToken)


def _json_depth_ok(text: str) -> bool:
    """Whether the JSON text nests at most MAX_DEPTH brackets (json.loads recurses)."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif char in "]}":
            depth -= 1
    return True


def _count_values(data: Any, limit: int) -> int:
    """Number of values in parsed JSON, stopping past `limit`."""
    count, stack = 0, [data]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def _no_duplicates(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise SpecError(f"duplicate key {key!r}")
        out[key] = value
    return out


def load_document(text: str, source: Optional[str] = None) -> Document:
    """YAML or JSON text to a Document (data + line of every key path); SpecError with the line if bad."""
    if len(text) > MAX_BYTES:
        raise SpecError(f"the file is larger than {MAX_BYTES} characters", source=source)
    try:
        # A first pass over the tokens, lazily: aliases are refused where they are used (the
        # composed tree no longer says where), and nesting is bounded before PyYAML's scanner
        # slows down (its cost grows with depth x tokens: 5,000 unclosed '[' take seconds).
        depth = 0
        for count, token in enumerate(yaml.scan(text, Loader=yaml.SafeLoader)):
            if count > 4 * MAX_NODES:  # every value is at least one token; PyYAML is slow per token
                raise SpecError(f"the document has more than {MAX_NODES} values", source=source,
                                line=token.start_mark.line + 1)  # fmt: skip
            if isinstance(token, yaml.AliasToken):
                raise SpecError("aliases (*name) are not allowed in space files; write the value out",
                                source=source, line=token.start_mark.line + 1)  # fmt: skip
            if isinstance(token, _OPEN):
                depth += 1
                if depth > MAX_DEPTH:
                    raise SpecError(f"the document nests deeper than {MAX_DEPTH} levels", source=source,
                                    line=token.start_mark.line + 1)  # fmt: skip
            elif isinstance(token, _CLOSE):
                depth -= 1
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return Document(None, {}, source)
            walker = _Walker(loader, source)
            data = walker.walk(node, ())
            return Document(data, walker.lines, source)
        finally:
            loader.dispose()
    except RecursionError:  # PyYAML composes recursively: "- - - - ..." nests one level per dash
        raise SpecError(f"the document nests deeper than {MAX_DEPTH} levels", source=source) from None
    except yaml.YAMLError as e:
        yaml_error = e
    # JSON that YAML could not read (tabs, for instance): lines are then unknown.
    if _json_depth_ok(text):
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicates)
            if _count_values(data, MAX_NODES) > MAX_NODES:
                raise SpecError(f"the document has more than {MAX_NODES} values")
            return Document(data, {}, source)
        except json.JSONDecodeError:
            pass
        except SpecError as e:
            raise e.located(source=source) from None
    mark = getattr(yaml_error, "problem_mark", None) or getattr(yaml_error, "context_mark", None)
    line = mark.line + 1 if mark else None
    if isinstance(yaml_error, yaml.reader.ReaderError):  # a control character: offset, no mark
        line = text.count("\n", 0, yaml_error.position) + 1
    problem = getattr(yaml_error, "problem", None) or str(yaml_error).splitlines()[0]
    raise SpecError(f"not valid YAML/JSON: {problem}", source=source, line=line) from None
