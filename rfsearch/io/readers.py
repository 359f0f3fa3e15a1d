"""Reading batch files in chunks: CSV, JSON lines, Parquet (text stacks) and NPZ (arrays)."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import zipfile
from pathlib import Path
from typing import (
    IO,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Optional,
    Set,
    Tuple,
)

import numpy as np

from ..errors import SpecError
from ..model.values import parse_size
from .encode import Encoder, stack_layers
from .formats import (
    DEFAULT_CHUNK_ROWS,
    FORMATS,
    MISSING,
    NPZ_LAYER_ARRAYS,
    SUFFIX_FORMATS,
    Chunk,
    PathLike,
    Rows,
    SizeLike,
    Stack,
    StackArrays,
    format_from_suffix,
    pyarrow_modules,
)


def _lines_of(source: str, lines: List[int]) -> Callable[[int], Tuple[str, Optional[int]]]:
    return lambda i: (source, lines[i])


def _rows_of(source: str, first: int) -> Callable[[int], Tuple[str, Optional[int]]]:
    return lambda i: (f"{source}: row {first + i}", None)  # Parquet has rows, not lines


@contextlib.contextmanager
def _open_text(path: PathLike, source: str) -> Iterator[IO[str]]:
    try:
        f = open(path, encoding="utf-8-sig", newline="")  # -sig: spreadsheets write a BOM
    except OSError as e:
        raise SpecError(f"cannot read batch file: {e.strerror}", source=source) from None
    with f:
        try:
            yield f
        except UnicodeDecodeError as e:
            raise SpecError(f"not UTF-8 text: {e.reason}", source=source) from None


def _bytes_read(f: IO[str]) -> int:
    return f.buffer.tell()  # type: ignore[attr-defined,no-any-return]


def _csv_rows(path: PathLike, source: str, chunk_rows: int) -> Iterator[Rows]:
    """CSV with a header: a 'spec' column of compact text; every other column is carried through."""
    with _open_text(path, source) as f:
        total = os.fstat(f.fileno()).st_size
        reader = csv.reader(f)
        try:
            header = next(reader, None)
            if header is None:
                raise SpecError("empty file: expected a header row with a 'spec' column", source=source)
            names = [h.strip() for h in header]
            if "spec" not in names:
                raise SpecError(f"no 'spec' column in the header (columns: {', '.join(names)})", source=source, line=1)
            duplicate = next((n for n in names if names.count(n) > 1), None)
            if duplicate is not None:
                raise SpecError(f"column {duplicate!r} appears twice in the header", source=source, line=1)
            spec_at = names.index("spec")
            carried = [(n, i) for i, n in enumerate(names) if i != spec_at]
            width = len(names)
            more = True
            while more:
                rows: List[List[str]] = []
                lines: List[int] = []
                start = reader.line_num + 1  # a quoted field may span lines: a record starts after the last
                for row in reader:
                    if row:  # not a blank line
                        if len(row) != width:
                            hint = " (quote the spec: it contains commas)" if len(row) > width else ""
                            raise SpecError(f"expected {width} fields as in the header, got {len(row)}{hint}",
                                            source=source, line=start)  # fmt: skip
                        rows.append(row)
                        lines.append(start)
                        if len(rows) == chunk_rows:
                            break
                    start = reader.line_num + 1
                else:
                    more = False
                columns = {n: [row[i] for row in rows] for n, i in carried}
                stacks = [row[spec_at] for row in rows]
                yield Rows(stacks, columns, _lines_of(source, lines), _bytes_read(f), total)
        except csv.Error as e:
            raise SpecError(f"malformed CSV: {e}", source=source, line=reader.line_num) from None


def _jsonl_rows(path: PathLike, source: str, chunk_rows: int) -> Iterator[Rows]:
    """JSON lines: one object per line with 'spec' (compact text) or 'layers' (a list of layer objects).

    The other keys are carried through. The first record fixes them (tabular outputs need the
    same columns on every row); later records may leave some out, but not add new ones.
    """
    with _open_text(path, source) as f:
        total = os.fstat(f.fileno()).st_size
        known: Optional[List[str]] = None
        known_set: frozenset[str] = frozenset()
        numbered = enumerate(f, start=1)
        more = True
        while more:
            stacks: List[Stack] = []
            records: List[Dict[str, Any]] = []
            lines: List[int] = []
            for line_no, text in numbered:
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                except json.JSONDecodeError as e:
                    message = f"not valid JSON: {e.msg} (column {e.colno})"
                    raise SpecError(message, source=source, line=line_no) from None
                if not isinstance(record, dict):
                    raise SpecError(f"expected a JSON object, got {type(record).__name__}", source=source, line=line_no)
                has_spec, has_layers = "spec" in record, "layers" in record
                if has_spec == has_layers:
                    what = "not both" if has_spec else f"got keys {sorted(record)}"
                    raise SpecError(f"give 'spec' (compact text) or 'layers' (a list of layer objects), {what}",
                                    source=source, line=line_no)  # fmt: skip
                stacks.append(record.pop("spec") if has_spec else record.pop("layers"))
                if known is None:
                    known, known_set = list(record), frozenset(record)
                elif not known_set.issuperset(record):
                    extra = next(k for k in record if k not in known_set)
                    raise SpecError(f"key {extra!r} is not in the first record (keys: {', '.join(known) or 'none'}); "
                                    "later records may leave keys out but not add new ones",
                                    source=source, line=line_no)  # fmt: skip
                records.append(record)
                lines.append(line_no)
                if len(records) == chunk_rows:
                    break
            else:
                more = False
            columns = {k: [r.get(k, MISSING) for r in records] for k in known or ()}
            yield Rows(stacks, columns, _lines_of(source, lines), _bytes_read(f), total)


def _parquet_rows(path: PathLike, source: str, chunk_rows: int) -> Iterator[Rows]:
    """Parquet, with the columns of the CSV format. Errors name the 0-based row."""
    _, pq = pyarrow_modules()
    try:
        file = pq.ParquetFile(path)
    except (OSError, ValueError) as e:  # missing file; not Parquet (pyarrow's ArrowInvalid is a ValueError)
        raise SpecError(f"cannot read Parquet file: {e}", source=source) from None
    names = list(file.schema_arrow.names)
    if "spec" not in names:
        raise SpecError(f"no 'spec' column (columns: {', '.join(names)})", source=source)
    total = int(file.metadata.num_rows)
    batches = file.iter_batches(batch_size=chunk_rows) if total else iter([None])
    done = 0
    for batch in batches:
        data: Dict[str, List[Any]] = {n: [] for n in names} if batch is None else batch.to_pydict()
        stacks = data.pop("spec")
        first = done
        done += len(stacks)
        yield Rows(stacks, data, _rows_of(source, first), done, total)


TEXT_READERS: Dict[str, Callable[[PathLike, str, int], Iterator[Rows]]] = {
    "csv": _csv_rows,
    "jsonl": _jsonl_rows,
    "parquet": _parquet_rows,
}


def scan_ndim(blocks: Iterator[Rows]) -> Tuple[int, str]:
    """Number of axes from the first stack with per-axis values (1 if none has any), and where it came from.

    Usually no stack has any, so this reads the whole file: a row whose comma-separated pieces
    were all seen before in scalar-only rows is skipped with one set operation.
    """
    scalar_pieces: Set[str] = set()
    try:
        for block in blocks:
            for i, stack in enumerate(block.stacks):
                pieces = stack.split(",") if isinstance(stack, str) else None
                if pieces is not None and scalar_pieces.issuperset(pieces):
                    continue
                try:
                    layers = stack_layers(stack)
                except SpecError as e:
                    raise block.locate(e, i) from None
                ndim = next((layer.ndim for layer in layers if layer.ndim), None)
                if ndim is not None:
                    source, line = block.where(i)
                    return ndim, f"the stack at {source}" + ("" if line is None else f":{line}") + f" has {ndim}"
                scalar_pieces.update(pieces or ())
    finally:
        close = getattr(blocks, "close", None)
        if close is not None:
            close()  # stop the reader, closing its file
    return 1, "the stacks have 1"  # not used in messages: no stack can disagree


def npz_chunk(path: PathLike, source: str) -> Chunk:
    """NPZ: the arrays of batch_receptive_fields by name; other (N,) arrays (ids, ...) are carried through."""
    try:
        with open(path, "rb") as f:
            is_zip = zipfile.is_zipfile(f)  # else np.load would try a .npy array, or pickle
    except OSError as e:
        raise SpecError(f"cannot read batch file: {e.strerror or e}", source=source) from None
    if not is_zip:
        raise SpecError("not an NPZ archive (the zip file np.savez writes)", source=source)
    try:
        with np.load(path, allow_pickle=False) as loaded:
            data = {name: loaded[name] for name in loaded.files}
    except OSError as e:
        raise SpecError(f"cannot read batch file: {e.strerror or e}", source=source) from None
    except (ValueError, zipfile.BadZipFile, EOFError) as e:  # e.g. object arrays, which need pickle
        raise SpecError(f"cannot read NPZ array: {e}", source=source) from None
    if "kernel" not in data:
        raise SpecError(f"no 'kernel' array (arrays: {', '.join(data) or 'none'})", source=source)
    kernel = data.pop("kernel")
    if kernel.ndim not in (2, 3):
        raise SpecError(f"kernel: expected shape (N, L) or (N, L, A), got {kernel.shape}", source=source)
    layer_arrays = {name: data.pop(name) for name in NPZ_LAYER_ARRAYS if name in data}
    for name, values in data.items():
        if values.shape != (len(kernel),):
            raise SpecError(f"array {name!r} has shape {values.shape}: expected the layer arrays "
                            f"({', '.join(NPZ_LAYER_ARRAYS)}) or a column of shape ({len(kernel)},) "
                            "to carry through", source=source)  # fmt: skip
    return Chunk(StackArrays(kernel=kernel, **layer_arrays), dict(data), source)


def read_batch(
    path: PathLike,
    input_format: Optional[str] = None,
    *,
    input_size: SizeLike = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[Chunk]:
    """Chunks of stacks from a batch file (format from the suffix unless given).

    Text formats (CSV, JSON lines, Parquet) are parsed and padded to the longest stack of
    each chunk, with ``depth`` giving each stack's length. Their number of axes comes from
    the input size if it has several values, else from the first stack with per-axis values
    (such as conv1x7), else 1; a stack disagreeing is an error naming its line. NPZ input is
    one chunk of its arrays as they are.
    """
    source = os.fspath(path)
    fmt = input_format or format_from_suffix(path)
    if fmt not in FORMATS:
        raise SpecError(f"unknown input format {fmt!r} (known: {', '.join(FORMATS)})" if fmt else
                        f"cannot tell the format from the suffix {Path(path).suffix!r}: use "
                        f"{', '.join(SUFFIX_FORMATS)} or name the format", source=source)  # fmt: skip
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    size = None if input_size is None else parse_size(input_size)
    if fmt == "npz":
        yield npz_chunk(path, source)
        return

    rows = TEXT_READERS[fmt]
    if size is not None and len(size) > 1:
        ndim, origin = len(size), f"the input size {'x'.join(map(str, size))} has {len(size)}"
    else:
        ndim, origin = scan_ndim(rows(path, source, chunk_rows))
    encoder = Encoder(ndim, origin, size is not None)
    for block in rows(path, source, chunk_rows):
        yield Chunk(encoder.encode(block), block.columns, source, block.done, block.total)
