"""Space files as data plus the line of every key, read by the house loader
(`rfsearch.model.documents`): the one place a space file's text is read.

`load_document` turns YAML (or JSON) text into plain data and a `SpaceDocument` whose
`line(path)` gives the 1-based line of the node at a key path (``("layers", "kernel", 2)``), or
of its closest ancestor that exists, so that validation can name the bad key and its line. The
house loader bounds everything a hostile file could use (size, nesting, alias expansion,
duplicate and non-text keys, huge integer literals); on top of it a space file is at most
`MAX_BYTES` (a space is a page of text).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Optional, Tuple, Union

from ..errors import SpecError
from ..model.documents import Document, parse_document, read_document

__all__ = ["MAX_BYTES", "KeyPath", "SpaceDocument", "format_path", "load_document", "read_space_document"]

KeyPath = Tuple[Union[str, int], ...]

MAX_BYTES = 1 << 20  # a space file is a page of text


def format_path(path: KeyPath) -> str:
    """``("positions", 2, "kernel")`` -> ``positions[2].kernel`` (what messages show)."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "the document"


@dataclass(frozen=True)
class SpaceDocument:
    """A loaded space file: `data`, and lines by key path."""

    document: Document

    @property
    def data(self) -> Any:
        """The parsed data (dicts with text keys, lists, scalars); read-only (aliases share it)."""
        return self.document.data

    @property
    def source(self) -> Optional[str]:
        """The file name errors show."""
        return self.document.source

    def line(self, path: KeyPath) -> Optional[int]:
        """Line of the node at `path`, else of its closest ancestor that has one (None if none)."""
        for end in range(len(path), -1, -1):
            found = self.document.line(*path[:end])
            if found is not None:
                return found
        return None


def load_document(text: Union[str, bytes], source: Optional[str] = None) -> SpaceDocument:
    """YAML or JSON text (str, or UTF-8 bytes; JSON when it is a JSON object or array) to a
    SpaceDocument; SpecError with the line if bad."""
    if len(text) > MAX_BYTES:
        raise SpecError(f"larger than {MAX_BYTES // 2**20} MiB, the limit for a space file", source=source)
    return SpaceDocument(parse_document(text, format="auto", source=source))


def read_space_document(path: Union[str, "os.PathLike[str]"]) -> SpaceDocument:
    """Reads a space file through the house reader: at most MAX_BYTES (so /dev/zero or a giant
    file cannot fill the memory), directories and unreadable files refused naming the path."""
    return SpaceDocument(read_document(path, format="auto", max_bytes=MAX_BYTES))
