"""CSV blocks parsed with numpy: structure from the positions of quotes, commas and line ends.

A block qualifies when csv.reader would read it the plain way: ASCII text without NUL, line
ends "\n" or "\r\n", every record with the header's number of fields and no blank lines, quotes
only around whole fields (a quote inside a quoted field doubled, as "" ), and a spec field
without quotes inside. Then a comma or line end is structure exactly when an even number of
quotes comes before it, and everything else follows by array operations. Any other block
returns None and the caller reads it with csv.reader, which then decides (and reports errors).

The spec column comes out as token spans (the bytes between its commas) for the encoder, the
other columns as `RawCells`: the field bytes as written, quotes kept, for the CSV writer to copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Union, overload

import numpy as np

__all__ = ["Parsed", "RawCells", "SpecTexts", "TokenSpans", "parse_block"]

_QUOTE, _COMMA, _NEWLINE = 34, 44, 10


@dataclass(frozen=True)
class RawCells:
    """A text column as the bytes of its fields (quotes and "" kept): field i is data[start[i]:end[i]]."""

    data: np.ndarray  # uint8, shared by the columns of a block
    start: np.ndarray
    end: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    def __getitem__(self, rows: slice) -> RawCells:
        return RawCells(self.data, self.start[rows], self.end[rows])

    def tolist(self) -> List[str]:
        """The values as csv.reader gives them (quotes removed, "" as ")."""
        raw = self.data.tobytes()
        out = []
        for s, e in zip(self.start.tolist(), self.end.tolist()):
            text = raw[s:e].decode("ascii")
            out.append(text[1:-1].replace('""', '"') if text[:1] == '"' else text)
        return out


@dataclass(frozen=True)
class TokenSpans:
    """The spec column as tokens: token t is data[start[t]:end[t]]; stack i has depth[i] tokens."""

    data: bytes
    start: np.ndarray
    end: np.ndarray
    depth: np.ndarray


class SpecTexts(Sequence[str]):
    """The spec of each record as text, made on demand (the encoder needs few of them)."""

    def __init__(self, data: bytes, start: np.ndarray, end: np.ndarray) -> None:
        self.data, self.start, self.end = data, start, end

    def __len__(self) -> int:
        return len(self.start)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> List[str]: ...

    def __getitem__(self, i: Union[int, slice]) -> Union[str, List[str]]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        return self.data[int(self.start[i]) : int(self.end[i])].decode("ascii")


@dataclass(frozen=True)
class Parsed:
    """A block of records: spec tokens, the other columns raw, each record's first line offset."""

    specs: SpecTexts
    tokens: TokenSpans
    columns: List[RawCells]  # the carried columns, in header order
    newlines_before: np.ndarray  # per record: line ends in the block before it (its line - first line)

    def __len__(self) -> int:
        return len(self.specs)

    def rows(self, lo: int, hi: int) -> Parsed:
        """Records lo..hi-1."""
        if (lo, hi) == (0, len(self)):
            return self
        t = self.tokens
        first = int(t.depth[:lo].sum())
        last = first + int(t.depth[lo:hi].sum())
        specs = SpecTexts(self.specs.data, self.specs.start[lo:hi], self.specs.end[lo:hi])
        tokens = TokenSpans(t.data, t.start[first:last], t.end[first:last], t.depth[lo:hi])
        return Parsed(specs, tokens, [c[lo:hi] for c in self.columns], self.newlines_before[lo:hi])


def parse_block(data: bytes, width: int, spec_at: int, max_field: int = 1 << 25) -> Optional[Parsed]:
    """Records of a block of whole lines (ending in "\\n"), or None if csv.reader must read it."""
    if not data.isascii() or b"\x00" in data or not data.endswith(b"\n"):
        return None
    crlf = b"\r" in data
    if crlf and data.count(b"\r") != data.count(b"\r\n"):
        return None  # a carriage return that does not end a line
    codes = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(codes == _QUOTE)
    separators = np.flatnonzero((codes == _COMMA) | (codes == _NEWLINE))
    is_newline = codes[separators] == _NEWLINE
    if quotes.size:
        outside = (np.searchsorted(quotes, separators) & 1) == 0  # an even number of quotes before it
        at = np.flatnonzero(outside)
    else:
        outside, at = np.ones(len(separators), dtype=bool), np.arange(len(separators))
    if len(at) % width or not len(at):
        return None
    fields = separators[at].reshape(-1, width)  # the comma or line end that closes each field
    closes_line = is_newline[at].reshape(-1, width)
    if not (closes_line[:, -1].all() and not closes_line[:, :-1].any()):
        return None  # a record with another number of fields
    n = len(fields)
    ends = fields  # field k of record r is [starts[r, k], ends[r, k])
    starts = np.empty_like(fields)
    starts[:, 1:] = fields[:, :-1] + 1
    starts[0, 0] = 0
    starts[1:, 0] = fields[:-1, -1] + 1
    if crlf:  # Windows line ends: a record ends at its "\r\n"; inside quotes "\r\n" is text
        ends = fields.copy()
        ends[:, -1] -= codes[fields[:, -1] - 1] == ord("\r")
    if width == 1 and (ends[:, 0] == starts[:, 0]).any():
        return None  # a blank line: csv.reader skips it
    if int((ends - starts).max()) > max_field:
        return None  # csv.reader reports the field that is too long
    quoted = (codes[starts] == _QUOTE) & (ends > starts)
    if quotes.size:
        # a quoted field ends in a quote; any other quote must be one of a doubled pair inside one
        closing = ends[quoted] - 1
        if (closing - starts[quoted] < 1).any() or (codes[closing] != _QUOTE).any():
            return None
        if len(quotes) != 2 * len(closing):
            inner = np.setdiff1d(quotes, np.concatenate([starts[quoted], closing]), assume_unique=True)
            if inner.size % 2 or not (inner[1::2] == inner[0::2] + 1).all():
                return None
            field = np.searchsorted(starts.reshape(-1), inner, side="right") - 1
            if not quoted.reshape(-1)[field].all() or (field % width == spec_at).any():
                return None  # a quote in an unquoted field, or in the spec
    spec_start = starts[:, spec_at] + quoted[:, spec_at]
    spec_end = ends[:, spec_at] - quoted[:, spec_at]

    # tokens: the commas inside the spec fields cut them (inside quotes, so not structure)
    inside = np.flatnonzero(~outside & ~is_newline)
    if quoted[:, [k for k in range(width) if k != spec_at]].any():  # commas in other quoted fields too
        field_of = np.cumsum(outside)[inside]  # structural separators before: the field the comma is in
        in_spec = np.zeros(n * width, dtype=bool)
        in_spec[spec_at::width] = True
        keep = in_spec[field_of]
        inside, field_of = inside[keep], field_of[keep]
    else:
        field_of = np.cumsum(outside)[inside]
    cuts = separators[inside]
    cut_row = field_of // width if width > 1 else field_of
    depth = np.bincount(cut_row, minlength=n).astype(np.int64) + 1
    token_start = np.empty(n + len(cuts), dtype=np.intp)
    token_end = np.empty_like(token_start)
    first = np.cumsum(depth) - depth  # index of each record's first token
    later = np.ones(len(token_start), dtype=bool)
    later[first] = False
    token_start[first] = spec_start
    token_start[later] = cuts + 1
    last = first + depth - 1
    earlier = np.ones(len(token_end), dtype=bool)
    earlier[last] = False
    token_end[last] = spec_end
    token_end[earlier] = cuts

    # line ends before each record (quoted fields may hold some)
    if is_newline.sum() == n:  # every line end ends a record: record r starts on line r
        newlines_before = np.arange(n, dtype=np.int64)
    else:
        newlines_before = np.searchsorted(separators[is_newline], starts[:, 0])
    columns = [RawCells(codes, starts[:, k], ends[:, k]) for k in range(width) if k != spec_at]
    return Parsed(SpecTexts(data, spec_start, spec_end), TokenSpans(data, token_start, token_end, depth), columns,
                  newlines_before)  # fmt: skip
