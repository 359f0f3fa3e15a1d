"""Reading batch files in blocks of rows: CSV, JSON lines, Parquet (text stacks) and NPZ (arrays).

Text formats are read in one pass over a byte stream, in blocks of `chunk_rows` records; the
encoder (encode.py) turns each block into row ids. CSV blocks are parsed by numpy while they
are plain (csvfast.py) and by csv.reader from the first one that is not; csv.reader and JSON
lines read through inputs.TextLines, which bounds each line and names the line of bad bytes.
NPZ is one chunk of its arrays as they are.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gc
import itertools
import json
import re
import zipfile
from typing import (
    IO,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Optional,
    Tuple,
    cast,
)

import numpy as np

from ..errors import SpecError
from . import inputs as _inputs
from .csvfast import parse_block
from .encode import StackEncoder
from .formats import (
    MISSING,
    NPZ_LAYER_ARRAYS,
    Chunk,
    Column,
    Rows,
    Stack,
    StackArrays,
    Where,
    listed,
    pyarrow_modules,
)
from .inputs import BLOCK_BYTES, TextLines

__all__ = ["MAX_JSON_DIGITS", "MAX_JSON_NESTING", "TEXT_READERS", "encoded_chunks", "npz_chunk"]

MIN_BLOCK_BYTES = 1 << 16  # CSV blocks for csvfast hold at least this much (tests make it small)
MAX_JSON_NESTING = 64  # a layer object needs 4 levels; carried JSON values get the rest
MAX_JSON_DIGITS = 400  # digits in one JSON number (a layer value beyond int64 is refused later anyway)


def _lines_of(source: str, lines: List[int]) -> Where:
    return lambda i: (source, lines[i])


def _lines_from(source: str, first: int) -> Where:
    return lambda i: (source, first + i)


def _rows_of(source: str, first: int) -> Where:
    return lambda i: (f"{source}: row {first + i}", None)  # Parquet has rows, not lines


def _breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


@contextlib.contextmanager
def _parsing() -> Iterator[None]:
    """While csv parses: fields as long as a line may be (the default 128 KiB is shorter than a
    13,000-layer spec), and no garbage collection (rows are lists of strings: no cycles to find,
    and the collector would walk every row held so far, again and again)."""
    limit = csv.field_size_limit(_inputs.MAX_LINE_CHARS)
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        csv.field_size_limit(limit)
        if collecting:
            gc.enable()


class _Prefixed:
    """A byte stream that first gives back bytes already read."""

    def __init__(self, prefix: bytes, rest: IO[bytes]) -> None:
        self._prefix = prefix
        self._rest = rest

    def read(self, n: int = -1) -> bytes:
        if self._prefix:
            head = self._prefix if n < 0 else self._prefix[:n]
            self._prefix = self._prefix[len(head) :]
            return head
        return self._rest.read(n)


class _RawBlocks:
    """Whole lines of a byte stream in blocks of about `target` bytes (for csvfast)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._carry = b""  # the start of a line whose end was not read yet
        self.bytes_read = 0
        self.lines_done = 0  # line ends handed out so far
        self.eof = False

    def _read(self, size: int) -> bytes:
        data = self._stream.read(size)
        self.bytes_read += len(data)
        self.eof = not data
        return data

    def _until_line_end(self, data: bytes) -> Optional[bytes]:
        """`data` extended to a line end (or the end of the stream); None past the line limit."""
        parts = [data]
        size = len(data)
        while not self.eof:
            more = self._read(BLOCK_BYTES)
            parts.append(more)
            size += len(more)
            if b"\n" in more:
                break
            if size > _inputs.MAX_LINE_CHARS:
                self._carry = b"".join(parts)
                return None
        return b"".join(parts)

    def _cut(self, data: bytes, end: int) -> bytes:
        block, self._carry = (data, b"") if end < 0 or end == len(data) - 1 else (data[: end + 1], data[end + 1 :])
        self.lines_done += block.count(b"\n")
        return block

    def first_line(self) -> Optional[bytes]:
        """Line 1 (with its "\n"), or None if it is longer than a line may be (csv.reader reports it)."""
        data = self._carry + self._read(BLOCK_BYTES)
        if b"\n" not in data and not self.eof:
            joined = self._until_line_end(data)
            if joined is None:
                return None
            data = joined
        end = data.find(b"\n")
        line, self._carry = (data, b"") if end < 0 else (data[: end + 1], data[end + 1 :])
        self.lines_done += line.count(b"\n")
        return line

    def block(self, target: int) -> Optional[bytes]:
        """About `target` bytes of whole lines (the last line may lack its "\n" at the end of the
        stream); b"" at the end; None if a line is longer than a line may be."""
        data = self._carry + self._read(max(target - len(self._carry), 1))
        end = data.rfind(b"\n")
        if end < 0 and not self.eof:  # one line longer than the target
            joined = self._until_line_end(data)
            if joined is None:
                return None
            data = joined
            end = data.rfind(b"\n")
        return self._cut(data, -1 if self.eof else end)

    def rest(self, prefix: bytes) -> Tuple[IO[bytes], int]:
        """What is left of the stream, `prefix` first (it was handed out but not used), and the
        number of bytes before it."""
        self.lines_done -= prefix.count(b"\n")
        rest, self._carry = prefix + self._carry, b""
        return cast(IO[bytes], _Prefixed(rest, self._stream)), self.bytes_read - len(rest)


def _header(names: List[str], source: str) -> Tuple[int, List[Tuple[str, int]]]:
    """The spec column's index and the carried (name, index) pairs; errors name line 1."""
    if "spec" not in names:
        raise SpecError(f"no 'spec' column in the header (columns: {listed(names)})", source=source, line=1)
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise SpecError(f"column {duplicate[:40]!r} appears twice in the header", source=source, line=1)
    spec_at = names.index("spec")
    return spec_at, [(n, i) for i, n in enumerate(names) if i != spec_at]


def _csv_rows(stream: IO[bytes], source: str, chunk_rows: int, total: Optional[int]) -> Iterator[Rows]:
    """CSV with a header: a 'spec' column of compact text; every other column is carried through.

    Plain blocks are parsed with numpy (csvfast); from the first block that is not plain, the
    rest of the file goes through csv.reader (which reads every CSV, and reports bad ones).
    """
    raw = _RawBlocks(stream)
    line = raw.first_line()
    header = line or b""
    if header.startswith(codecs.BOM_UTF8):
        header = header[len(codecs.BOM_UTF8) :]
    if header.endswith(b"\r\n"):
        header = header[:-2] + b"\n"
    if line is None or not header.endswith(b"\n") or not header.isascii() or any(c in header for c in b'"\r\x00'):
        rest, _ = raw.rest(line or b"")  # a header csv.reader must read: it reads the whole file
        yield from _csv_reader_rows(rest, source, chunk_rows, total, None, 0, 0, at_start=True, first_block=True)
        return
    names = [h.strip() for h in header[:-1].decode("ascii").split(",")]
    spec_at, carried = _header(names, source)
    width = len(names)
    target = max(min(chunk_rows * 128, 1 << 24), MIN_BLOCK_BYTES)  # bytes per block, then from the rows seen
    yielded = False
    while True:
        lines_before = raw.lines_done
        data = raw.block(target)
        if data == b"":
            break
        parsed = None if data is None else parse_block(data if data.endswith(b"\n") else data + b"\n", width, spec_at,
                                                  _inputs.MAX_LINE_CHARS)  # fmt: skip
        if parsed is None:  # not plain (or a line too long): csv.reader reads the rest, and reports
            rest, consumed = raw.rest(data or b"")
            yield from _csv_reader_rows(rest, source, chunk_rows, total, names, lines_before, consumed,
                                        at_start=False, first_block=not yielded)  # fmt: skip
            return
        n = len(parsed)
        assert data is not None
        # the next block: about chunk_rows rows of this size (a little under, so it is one chunk)
        target = max(min(int(len(data) / n * chunk_rows * 0.98), 1 << 26), MIN_BLOCK_BYTES)
        for lo in range(0, n, chunk_rows):
            part = parsed.rows(lo, min(lo + chunk_rows, n))
            where = _offset_lines(source, lines_before + 1, part.newlines_before)
            columns: Dict[str, Column] = {name: part.columns[k] for k, (name, _) in enumerate(carried)}
            yield Rows(part.specs, columns, where, raw.bytes_read, total, tokens=part.tokens)
            yielded = True
    if not yielded:
        yield Rows([], {name: [] for name, _ in carried}, _lines_from(source, 2), raw.bytes_read, total)


def _offset_lines(source: str, first: int, newlines_before: np.ndarray) -> Where:
    return lambda i: (source, first + int(newlines_before[i]))


def _csv_reader_rows(stream: IO[bytes], source: str, chunk_rows: int, total: Optional[int],
                     names: Optional[List[str]], lines_before: int, bytes_before: int, *, at_start: bool,
                     first_block: bool) -> Iterator[Rows]:  # fmt: skip
    """CSV through csv.reader, from where `stream` starts (after `lines_before` lines, with the
    header already read if `names` is given). first_block: no block was given out yet (then one
    is, even if empty, so the output gets its header)."""
    text = TextLines(stream, source, at_start=at_start, lines_before=lines_before, bytes_before=bytes_before)
    reader = csv.reader(itertools.chain.from_iterable(text))
    try:
        if names is None:
            with _parsing():
                header = next(reader, None)
            if header is None:
                raise SpecError("empty file: expected a header row with a 'spec' column", source=source)
            names = [h.strip() for h in header]
        spec_at, carried = _header(names, source)
        width = len(names)
        while True:
            before = lines_before + reader.line_num
            with _parsing():
                raw = list(itertools.islice(reader, chunk_rows))
            if not raw and not first_block:
                return
            first_block = False
            where: Where
            if lines_before + reader.line_num - before == len(raw) and (not raw or set(map(len, raw)) == {width}):
                rows = raw  # one record per line, no blank lines: line numbers follow from the position
                where = _lines_from(source, before + 1)
            else:
                rows, lines = [], []
                line = before + 1
                for row in raw:
                    if row:  # not a blank line
                        if len(row) != width:
                            hint = " (quote the spec: it contains commas)" if len(row) > width else ""
                            raise SpecError(f"expected {width} fields as in the header, got {len(row)}{hint}",
                                            source=source, line=line)  # fmt: skip
                        rows.append(row)
                        lines.append(line)
                    line += 1 + sum(map(_breaks, row))  # a quoted field may span lines
                where = _lines_of(source, lines)
            columns = {n: [row[i] for row in rows] for n, i in carried}
            stacks: List[Stack] = [row[spec_at] for row in rows]
            yield Rows(stacks, columns, where, text.bytes_read, total)
    except csv.Error as e:
        raise SpecError(f"malformed CSV: {e}", source=source, line=lines_before + reader.line_num) from None


class _Refused(ValueError):
    """A JSON value rfsearch does not accept (NaN, duplicate keys, huge numbers)."""


def _pairs(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    record = dict(pairs)
    if len(record) != len(pairs):
        seen = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise _Refused(f"key {twice[:40]!r} appears twice in one object")
    return record


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_JSON_DIGITS:
        raise _Refused(f"a number of {digits} digits (at most {MAX_JSON_DIGITS})")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_JSON_DIGITS:
        raise _Refused(f"a number of {len(text)} characters (at most {MAX_JSON_DIGITS})")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Refused(f"{text} is out of the range of a float")
    return value


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant, parse_int=_int, parse_float=_float)
_JSON_SPECIAL = re.compile(r'[\[\]{}"\\]')


def _nesting(text: str, limit: int) -> int:
    """How deep JSON text nests (brackets inside strings do not count); stops once past `limit`."""
    depth = deepest = 0
    in_string = False
    skip = -1
    for m in _JSON_SPECIAL.finditer(text):
        at = m.start()
        if at == skip:  # the character after a backslash
            continue
        c = text[at]
        if in_string:
            if c == "\\":
                skip = at + 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif c in "]}":
            depth -= 1
    return deepest


def _json_record(text: str, source: str, line: int) -> Any:
    """One JSON line to a value; nesting, NaN, duplicate keys, huge numbers and lone surrogates refused."""
    if text.count("[") + text.count("{") > MAX_JSON_NESTING and _nesting(text, MAX_JSON_NESTING) > MAX_JSON_NESTING:
        raise SpecError(f"JSON nested deeper than {MAX_JSON_NESTING} levels", source=source, line=line)
    try:
        record = _DECODER.decode(text)
    except json.JSONDecodeError as e:
        raise SpecError(f"not valid JSON: {e.msg} (column {e.colno})", source=source, line=line) from None
    except _Refused as e:
        raise SpecError(f"not accepted in JSON: {e}", source=source, line=line) from None
    except (ValueError, RecursionError) as e:
        raise SpecError(f"not valid JSON: {e}", source=source, line=line) from None
    if "\\u" in text:
        try:
            json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise SpecError("a string holds a lone surrogate (\\ud800-\\udfff): not Unicode text", source=source,
                            line=line) from None  # fmt: skip
    return record


def _jsonl_rows(stream: IO[bytes], source: str, chunk_rows: int, total: Optional[int]) -> Iterator[Rows]:
    """JSON lines: one object per line with 'spec' (compact text) or 'layers' (a list of layer objects).

    The other keys are carried through. The first record fixes them (tabular outputs need the
    same columns on every row); later records may leave some out, but not add new ones.
    """
    text = TextLines(stream, source)
    known: Optional[List[str]] = None
    known_set: frozenset[str] = frozenset()
    numbered = enumerate(itertools.chain.from_iterable(text), start=1)
    more = True
    while more:
        stacks: List[Stack] = []
        records: List[Dict[str, Any]] = []
        lines: List[int] = []
        for line_no, line in numbered:
            if not line.strip():
                continue
            record = _json_record(line, source, line_no)
            if not isinstance(record, dict):
                raise SpecError(f"expected a JSON object, got {type(record).__name__}", source=source, line=line_no)
            has_spec, has_layers = "spec" in record, "layers" in record
            if has_spec == has_layers:
                what = "not both" if has_spec else f"got keys {sorted(record)[:10]}"
                raise SpecError(f"give 'spec' (compact text) or 'layers' (a list of layer objects), {what}",
                                source=source, line=line_no)  # fmt: skip
            stacks.append(record.pop("spec") if has_spec else record.pop("layers"))
            if known is None:
                known, known_set = list(record), frozenset(record)
            elif not known_set.issuperset(record):
                extra = next(k for k in record if k not in known_set)
                raise SpecError(f"key {extra[:40]!r} is not in the first record (keys: {listed(known)}); "
                                "later records may leave keys out but not add new ones",
                                source=source, line=line_no)  # fmt: skip
            records.append(record)
            lines.append(line_no)
            if len(records) == chunk_rows:
                break
        else:
            more = False
        columns = {k: [r.get(k, MISSING) for r in records] for k in known or ()}
        yield Rows(stacks, columns, _lines_of(source, lines), text.bytes_read, total)


def _parquet_rows(file: IO[bytes], source: str, chunk_rows: int, total: Optional[int]) -> Iterator[Rows]:
    """Parquet, with the columns of the CSV format. Errors name the 0-based row."""
    _, pq = pyarrow_modules()
    try:
        parquet = pq.ParquetFile(file)
        names = list(parquet.schema_arrow.names)
        rows = int(parquet.metadata.num_rows)
    except (OSError, ValueError, TypeError) as e:  # not Parquet (pyarrow's ArrowInvalid is a ValueError)
        raise SpecError(f"cannot read Parquet file: {e}", source=source) from None
    if "spec" not in names:
        raise SpecError(f"no 'spec' column (columns: {listed(names)})", source=source)
    batches = parquet.iter_batches(batch_size=chunk_rows) if rows else iter([None])
    done = 0
    end = object()
    while True:
        try:
            batch: Any = next(batches, end)
        except (OSError, ValueError, TypeError) as e:
            raise SpecError(f"cannot read Parquet file: {e}", source=source) from None
        if batch is end:
            return
        data: Dict[str, List[Any]] = {n: [] for n in names} if batch is None else batch.to_pydict()
        stacks = data.pop("spec")
        first = done
        done += len(stacks)
        yield Rows(stacks, data, _rows_of(source, first), done, rows)


TEXT_READERS: Dict[str, Callable[[IO[bytes], str, int, Optional[int]], Iterator[Rows]]] = {
    "csv": _csv_rows,
    "jsonl": _jsonl_rows,
    "parquet": _parquet_rows,
}


def encoded_chunks(blocks: Iterator[Rows], encoder: StackEncoder, source: str) -> Iterator[Chunk]:
    """Blocks of stacks to chunks of row ids (a block whose padded ids would pass the encoder's cell
    budget becomes several chunks). Raises encode.AxesFound if a late stack changes the axes."""
    for block in blocks:
        groups = encoder.encode(block)
        for lo, hi, ids, depth in groups:
            whole = lo == 0 and hi == len(block.stacks)
            columns = block.columns if whole else {n: c[lo:hi] for n, c in block.columns.items()}
            where = block.where if lo == 0 else (lambda i, lo=lo, block=block: block.where(lo + i))
            encoder.emitted = True  # from here on, a change of axes means starting again
            yield Chunk(columns, source, ids=ids, depth=depth, table=encoder.table, done=block.done,
                        total=block.total, where=where)  # fmt: skip


def npz_chunk(file: IO[bytes], source: str) -> Chunk:
    """NPZ: the arrays of batch_receptive_fields by name; other (N,) arrays (ids, ...) are carried through."""
    try:
        is_zip = zipfile.is_zipfile(file)  # else np.load would try a .npy array, or pickle
        file.seek(0)
    except OSError as e:
        raise SpecError(f"cannot read batch file: {e.strerror or e}", source=source) from None
    if not is_zip:
        raise SpecError("not an NPZ archive (the zip file np.savez writes)", source=source)
    try:
        with np.load(file, allow_pickle=False) as loaded:
            data = {name: loaded[name] for name in loaded.files}
    except OSError as e:
        raise SpecError(f"cannot read batch file: {e.strerror or e}", source=source) from None
    except (ValueError, TypeError, KeyError, zipfile.BadZipFile, EOFError, NotImplementedError) as e:
        # e.g. object arrays (they need pickle), corrupt members, unknown compression
        raise SpecError(f"cannot read NPZ array: {e}", source=source) from None
    if "kernel" not in data:
        raise SpecError(f"no 'kernel' array (arrays: {listed(list(data))})", source=source)
    kernel = data.pop("kernel")
    if kernel.ndim not in (2, 3):
        raise SpecError(f"kernel: expected shape (N, L) or (N, L, A), got {kernel.shape}", source=source)
    layer_arrays = {name: data.pop(name) for name in NPZ_LAYER_ARRAYS if name in data}
    for name, values in data.items():
        if values.shape != (len(kernel),):
            raise SpecError(f"array {name[:40]!r} has shape {values.shape}: expected the layer arrays "
                            f"({', '.join(NPZ_LAYER_ARRAYS)}) or a column of shape ({len(kernel)},) "
                            "to carry through", source=source)  # fmt: skip
    return Chunk(dict(data), source, arrays=StackArrays(kernel=kernel, **layer_arrays))
