"""Batch input as bytes: a path, standard input ("-") or a pipe; read as often as the pipeline needs.

Text is read in blocks and split into lines here, not by the file object, so every line has a
bounded length (MAX_LINE_CHARS), NUL characters and bytes that are not UTF-8 are reported with
their line, and memory stays bounded whatever the file holds.
"""

from __future__ import annotations

import codecs
import io
import os
import stat
import sys
import tempfile
from typing import IO, BinaryIO, Iterator, List, Optional, Tuple, cast

from ..errors import SpecError
from .formats import PathLike

__all__ = ["BLOCK_BYTES", "MAX_LINE_CHARS", "InputSource", "TextLines"]

BLOCK_BYTES = 1 << 20  # read this much at a time
MAX_LINE_CHARS = 1 << 25  # 32 Mi characters: far above any stack (a 1M-layer spec is ~11 MB)


class _Tee:
    """Reads a stream, keeping a copy of every byte in `spool` (a temporary file)."""

    def __init__(self, raw: BinaryIO, spool: BinaryIO) -> None:
        self._raw = raw
        self._spool = spool
        self.end = 0  # bytes copied so far

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        if data:
            self._spool.seek(self.end)
            self._spool.write(data)
            self.end += len(data)
        return data


class _Replay:
    """A pass over a tee'd stream from its start: the spooled bytes, then the rest (still tee'd)."""

    def __init__(self, tee: _Tee, spool: BinaryIO) -> None:
        self._tee = tee
        self._spool = spool
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        if self._pos < self._tee.end:
            self._spool.seek(self._pos)
            data = self._spool.read(self._tee.end - self._pos if n < 0 else min(n, self._tee.end - self._pos))
            self._pos += len(data)
            return data
        data = self._tee.read(n)
        self._pos += len(data)
        return data


class InputSource:
    """A batch file opened once. `stream()` starts a pass from its first byte.

    A regular file is re-read by seeking. A pipe, FIFO or standard input cannot seek: with
    spool=True every byte read is also copied to an anonymous temporary file, so later passes
    replay it; with spool=False only one pass is possible.
    """

    def __init__(self, path: PathLike, *, spool: bool = True) -> None:
        self.name = os.fspath(path)
        self._owned = self.name != "-"
        st: Optional[os.stat_result]
        try:
            if self._owned:
                raw = cast(BinaryIO, open(self.name, "rb"))  # noqa: SIM115 - closed by close()
            else:
                raw = cast(BinaryIO, sys.stdin.buffer)
            try:
                st = os.fstat(raw.fileno())
            except io.UnsupportedOperation:  # a stdin without a file descriptor (tests, embedding)
                st = None
        except OSError as e:
            raise SpecError(f"cannot read batch file: {e.strerror or e}", source=self.name) from None
        self._raw = raw
        self.seekable = st is not None and stat.S_ISREG(st.st_mode)
        self.size: Optional[int] = st.st_size if self.seekable and st is not None else None
        self.identity: Optional[Tuple[int, int]] = (st.st_dev, st.st_ino) if self.seekable and st else None
        self._spool_wanted = spool
        self._spool: Optional[BinaryIO] = None
        self._tee: Optional[_Tee] = None
        self._passes = 0

    def stream(self) -> BinaryIO:
        """A new pass from the start (the previous pass must not be read any more)."""
        self._passes += 1
        if self.seekable:
            self._raw.seek(0)
            return self._raw
        if self._tee is None:
            if self._passes > 1:
                raise RuntimeError(f"{self.name}: a stream can be read once (no spool)")
            if not self._spool_wanted:
                return self._raw
            self._spool = cast(BinaryIO, tempfile.TemporaryFile())  # noqa: SIM115 - closed by close()
            self._tee = _Tee(self._raw, self._spool)
            return cast(BinaryIO, self._tee)
        assert self._spool is not None
        return cast(BinaryIO, _Replay(self._tee, self._spool))

    def seekable_file(self) -> BinaryIO:
        """The whole input as a seekable binary file (a pipe is copied to a temporary file first)."""
        if self.seekable:
            self._raw.seek(0)
            return self._raw
        stream = self.stream()
        while stream.read(BLOCK_BYTES):
            pass
        if self._spool is None:  # spool=False: copy now
            raise RuntimeError("seekable_file needs spool=True for a stream")
        self._spool.seek(0)
        return self._spool

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
        if self._owned:
            self._raw.close()

    def __enter__(self) -> InputSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _breaks(text: str) -> int:
    """Line breaks in `text` (\\n, \\r and \\r\\n, as universal newlines count them)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


class TextLines:
    """The lines of a UTF-8 byte stream (line ends kept, a BOM dropped), in blocks of lines.

    Iterating yields lists of lines; `bytes_read` says how far the stream was read. Errors
    (bytes that are not UTF-8, NUL characters, a line longer than MAX_LINE_CHARS) are SpecErrors
    naming the source and the 1-based line.
    """

    def __init__(self, stream: IO[bytes], source: str, *, at_start: bool = True, lines_before: int = 0,
                 bytes_before: int = 0) -> None:  # fmt: skip
        self._stream = stream
        self.source = source
        self._encoding = "utf-8-sig" if at_start else "utf-8"  # a BOM counts only at the start of a file
        self.bytes_read = bytes_before  # position in the file (the stream may start part way)
        self.lines_done = lines_before  # complete lines handed out so far

    def _error(self, message: str, before: str) -> SpecError:
        return SpecError(message, source=self.source, line=self.lines_done + _breaks(before) + 1)

    def __iter__(self) -> Iterator[List[str]]:
        decoder = codecs.getincrementaldecoder(self._encoding)()
        carry: List[str] = []  # the start of a line that has no end yet
        carry_len = 0
        while True:
            raw = self._stream.read(BLOCK_BYTES)
            self.bytes_read += len(raw)
            try:
                pending = len(decoder.getstate()[0])
                text = decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as e:
                start = max(0, e.start - pending)
                before = "".join(carry) + raw[:start].decode("utf-8", "replace")
                raise self._error(f"not UTF-8 text ({e.reason} at byte {self.bytes_read - len(raw) + start})",
                                  before) from None  # fmt: skip
            nul = text.find("\x00")
            if nul >= 0:
                raise self._error("NUL character: not a text file", "".join(carry) + text[:nul])
            if not raw:  # end of the stream
                rest = "".join(carry) + text
                if rest:
                    lines = list(io.StringIO(rest, newline=""))
                    self.lines_done += len(lines)
                    yield lines
                return
            cut = max(text.rfind("\n"), text.rfind("\r"))
            if cut >= 0 and cut == len(text) - 1 and text[cut] == "\r":  # maybe the first half of \r\n: keep it
                cut = max(text.rfind("\n", 0, cut), text.rfind("\r", 0, cut))
            if cut < 0:
                carry.append(text)
                carry_len += len(text)
                if carry_len > MAX_LINE_CHARS:
                    raise SpecError(f"line longer than {MAX_LINE_CHARS} characters", source=self.source,
                                    line=self.lines_done + 1)  # fmt: skip
                continue
            head = text[: cut + 1]
            if carry:
                head = "".join(carry) + head
            tail = text[cut + 1 :]
            carry, carry_len = ([tail], len(tail)) if tail else ([], 0)
            lines = list(io.StringIO(head, newline=""))
            self.lines_done += len(lines)
            yield lines
