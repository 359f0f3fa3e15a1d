"""Batch files of stacks: read (CSV, JSON lines, NPZ, Parquet), score in chunks, write.

Data flows one way: file -> layers (text formats) -> padded integer arrays -> ``score_stacks``
-> ``StackScores`` -> writer. NPZ input has no layers: its arrays go to ``score_stacks`` as
they are. Text formats are read in chunks of rows, so memory stays bounded for any file size.
"""

from __future__ import annotations

import contextlib
import csv
import enum
import functools
import itertools
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import (
    IO,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
)

import numpy as np

from ..errors import SpecError
from ..model.layers import PAD_SAME, AxisParams, Identity, Layer
from ..core.batch import StackScores, Status, score_stacks
from ..model.grammar import parse_layers, split_tokens
from ..model.specfile import layer_from_entry
from ..model.values import parse_size

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "FORMATS",
    "MISSING",
    "Chunk",
    "MissingDependencyError",
    "StackArrays",
    "format_from_suffix",
    "read_batch",
    "score_chunks",
    "score_file",
    "write_batch",
]

FORMATS = ("csv", "jsonl", "npz", "parquet")
SUFFIX_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".npz": "npz", ".parquet": "parquet"}
DEFAULT_CHUNK_ROWS = 100_000
NPZ_LAYER_ARRAYS = ("kernel", "stride", "padding", "padding_after", "dilation", "ceil_mode", "depth")
# Per axis (rf or rf_0, rf_1, ...), then per stack. The order of the output columns.
AXIS_FIELDS = ("rf", "jump", "effective_padding", "output_size", "center")
STACK_FIELDS = ("valid", "status")
_RESERVED = re.compile(r"(?:%s)(?:_\d+)?|%s" % ("|".join(AXIS_FIELDS), "|".join(STACK_FIELDS)))
_STATUS_NAMES = np.array([s.name.lower() for s in sorted(Status)])
_INT64_MAX = int(np.iinfo(np.int64).max)
_WRITE_ROWS = 65_536  # rows converted to Python objects at a time by the text writers

PathLike = Union[str, "os.PathLike[str]"]
Stack = Any  # compact text (str) or a list of layer dicts / tokens, as read; checked by _check_stack
SizeLike = Union[None, int, str, Sequence[int]]
Column = Union[List[Any], np.ndarray]  # carried through: a list (text formats) or an array (NPZ)


class _Missing(enum.Enum):
    MISSING = "MISSING"


#: A carried cell a JSON-lines record did not have (written as an empty cell, or left out of JSON).
MISSING = _Missing.MISSING


class MissingDependencyError(ImportError):
    """An optional dependency (pyarrow, for Parquet) is not installed."""


def format_from_suffix(path: PathLike) -> Optional[str]:
    """'csv', 'jsonl', 'npz' or 'parquet' from the file name; None if the suffix says nothing."""
    return SUFFIX_FORMATS.get(Path(path).suffix.lower())


def _pyarrow() -> Tuple[Any, Any]:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise MissingDependencyError(
            "Parquet needs pyarrow, which is not installed: pip install rfsearch[parquet]"
        ) from None
    return pyarrow, pyarrow.parquet


# ----------------------------------------------------------------------------- layers


@functools.lru_cache(maxsize=1 << 16)
def _token_layer(token: str) -> Layer:
    # NAS files repeat a few hundred distinct tokens millions of times: parse each once.
    return layer_from_entry(token)


@functools.lru_cache(maxsize=1 << 16)
def _dict_layer(canonical_json: str) -> Layer:
    return layer_from_entry(json.loads(canonical_json))


def _entry_layer(entry: object) -> Layer:
    """A stack's entry (token or layer dict) to a layer, through the caches."""
    if isinstance(entry, str):
        return _token_layer(entry)
    if isinstance(entry, dict):
        return _dict_layer(json.dumps(entry, sort_keys=True))
    return layer_from_entry(entry)  # raises its "must be a mapping or a token" error


def _check_stack(stack: Stack) -> None:
    """Raises unless the stack is text or a non-empty list (text is checked for emptiness once split)."""
    if isinstance(stack, list):
        if not stack:
            raise SpecError("empty stack: give at least one layer")
    elif not isinstance(stack, str):
        raise SpecError(f"a stack must be compact text like conv3s1p1,maxpool2 or a list of layers, got {stack!r}")


def _stack_layers(stack: Stack) -> List[Layer]:
    """One stack as read (compact text, or a list of layer dicts/tokens) to layers; errors name the layer."""
    _check_stack(stack)
    entries = split_tokens(stack) if isinstance(stack, str) else stack
    if not entries:
        parse_layers(stack)  # raises its 'empty spec' error
    layers: List[Layer] = []
    try:
        for entry in entries:
            layers.append(_entry_layer(entry))
    except SpecError as e:
        raise e.located(layer=len(layers)) from None
    return layers


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class StackArrays:
    """Keyword arguments of ``score_stacks`` for one chunk (None: the default)."""

    kernel: np.ndarray
    stride: Optional[np.ndarray] = None
    padding: Optional[np.ndarray] = None
    padding_after: Optional[np.ndarray] = None
    dilation: Optional[np.ndarray] = None
    ceil_mode: Optional[np.ndarray] = None
    depth: Optional[np.ndarray] = None


@dataclass(frozen=True)
class Chunk:
    """A block of stacks from one file: what ``score_stacks`` takes, and the columns carried to the output."""

    arrays: StackArrays
    columns: Mapping[str, Column]  # in input order; MISSING where a JSON-lines record lacked the key
    source: str
    done: Optional[int] = None  # progress through the file (bytes or rows), and its total
    total: Optional[int] = None


@dataclass(frozen=True)
class _Rows:
    """Text-format records before encoding: each stack as written, and where it came from."""

    stacks: List[Stack]
    columns: Mapping[str, Column]
    where: Callable[[int], Tuple[str, Optional[int]]]  # stacks[i] -> (source, line) for SpecError
    done: int
    total: int

    def locate(self, error: SpecError, i: int) -> SpecError:
        source, line = self.where(i)
        return error.located(source=source, line=line)


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


def _csv_rows(path: PathLike, source: str, chunk_rows: int) -> Iterator[_Rows]:
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
                yield _Rows(stacks, columns, _lines_of(source, lines), _bytes_read(f), total)
        except csv.Error as e:
            raise SpecError(f"malformed CSV: {e}", source=source, line=reader.line_num) from None


def _jsonl_rows(path: PathLike, source: str, chunk_rows: int) -> Iterator[_Rows]:
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
            yield _Rows(stacks, columns, _lines_of(source, lines), _bytes_read(f), total)


def _parquet_rows(path: PathLike, source: str, chunk_rows: int) -> Iterator[_Rows]:
    """Parquet, with the columns of the CSV format. Errors name the 0-based row."""
    _, pq = _pyarrow()
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
        yield _Rows(stacks, data, _rows_of(source, first), done, total)


_TEXT_READERS: Dict[str, Callable[[PathLike, str, int], Iterator[_Rows]]] = {
    "csv": _csv_rows,
    "jsonl": _jsonl_rows,
    "parquet": _parquet_rows,
}


def _scan_ndim(blocks: Iterator[_Rows]) -> Tuple[int, str]:
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
                    layers = _stack_layers(stack)
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


def _smallest_int(table: np.ndarray) -> np.dtype[Any]:
    """The narrowest signed dtype holding every value: chunk arrays are N*L*A*5 values, keep them small."""
    low, high = (int(table.min()), int(table.max())) if table.size else (0, 0)
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


class _Encoder:
    """Stacks to padded arrays. Each distinct token or layer object becomes a row of a parameter
    table once; a chunk is then an (N, L) matrix of row ids, expanded by one fancy index per field."""

    def __init__(self, ndim: int, ndim_origin: str, size_known: bool) -> None:
        self.ndim = ndim
        self._origin = ndim_origin
        self._size_known = size_known
        # id 0 is a neutral layer: it pads short stacks (depth also says where each one ends).
        self._layers: List[Layer] = [Identity()]
        self._params: List[Tuple[AxisParams, ...]] = [Identity().axis_params(ndim)]
        self._piece_ids: Dict[str, int] = {}  # comma-separated piece of compact text, as written
        self._dict_ids: Dict[str, int] = {}  # layer object, as canonical JSON
        self._table: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]] = None

    def _add(self, layer: Layer) -> int:
        if layer.ndim is not None and layer.ndim != self.ndim:
            raise SpecError(f"{layer.spec()} has {layer.ndim} axes but {self._origin} "
                            "(every stack needs the same number of axes)")  # fmt: skip
        params = layer.axis_params(self.ndim)
        if any(abs(v) > _INT64_MAX for p in params for v in p[:5]):
            raise SpecError(f"{layer.spec()}: a value is larger than the int64 range")
        self._layers.append(layer)
        self._params.append(params)
        self._table = None
        return len(self._layers) - 1

    def _token_id(self, token: str) -> int:
        key = self._piece_ids.get(token)
        if key is None:
            key = self._piece_ids[token] = self._add(_token_layer(token))
        return key

    def _dict_id(self, entry: object) -> int:
        if not isinstance(entry, dict):
            layer_from_entry(entry)  # raises its "must be a mapping or a token" error
        canonical = json.dumps(entry, sort_keys=True)
        key = self._dict_ids.get(canonical)
        if key is None:
            key = self._dict_ids[canonical] = self._add(_dict_layer(canonical))
        return key

    def _row_ids(self, stack: Stack) -> List[int]:
        """One stack's table ids; errors name the layer. The fast path is one dict lookup per token."""
        if isinstance(stack, str):
            try:
                return [self._piece_ids[piece] for piece in stack.split(",")]
            except KeyError:
                pass
        _check_stack(stack)
        ids: List[int] = []
        try:
            if isinstance(stack, str):
                for piece in stack.split(","):
                    tokens = split_tokens(piece)  # pieces may hold spaces
                    ids.extend(self._token_id(t) for t in tokens)
                    if len(tokens) == 1:  # " conv3" next time: the fast path
                        self._piece_ids[piece] = ids[-1]
            else:
                for entry in stack:
                    ids.append(self._token_id(entry) if isinstance(entry, str) else self._dict_id(entry))
        except SpecError as e:
            raise e.located(layer=len(ids)) from None
        if not ids:
            parse_layers(stack)  # raises its 'empty spec' error
        return ids

    def _tables(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, A, 5) ints, (ids, A) ceil_mode, (ids,) needs-an-input-size."""
        if self._table is None:
            ints = np.array([[p[:5] for p in params] for params in self._params], dtype=np.int64)
            ints = ints.astype(_smallest_int(ints))
            ceil = np.array([[p.ceil_mode for p in params] for params in self._params], dtype=bool)
            needs_size = ((ints[:, :, 3] == PAD_SAME) & (ints[:, :, 1] > 1)).any(axis=1)
            self._table = (ints, ceil, needs_size)
        return self._table

    def encode(self, block: _Rows) -> StackArrays:
        id_lists: List[List[int]] = []
        row_ids = self._row_ids
        for i, stack in enumerate(block.stacks):
            try:
                id_lists.append(row_ids(stack))
            except SpecError as e:
                raise block.locate(e, i) from None

        n = len(id_lists)
        depth = np.fromiter(map(len, id_lists), dtype=np.int64, count=n)
        width = int(depth.max()) if n else 0
        ids = np.zeros((n, width), dtype=np.intp)
        flat = np.fromiter(itertools.chain.from_iterable(id_lists), dtype=np.intp, count=int(depth.sum()))
        starts = np.cumsum(depth) - depth
        ids[np.repeat(np.arange(n), depth), np.arange(flat.size) - np.repeat(starts, depth)] = flat

        ints, ceil, needs_size = self._tables()
        if not self._size_known and needs_size.any():
            hit = needs_size[ids]
            if hit.any():
                row_i, layer_i = (int(v) for v in np.argwhere(hit)[0])
                layer = self._layers[ids[row_i, layer_i]]
                stride = max(p.stride for p in layer.axis_params(self.ndim) if p.pad_before == PAD_SAME)
                error = SpecError(f"{layer.spec()}: padding 'same' with stride {stride} depends on the input "
                                  "size; give an input size", layer=layer_i)  # fmt: skip
                raise block.locate(error, row_i)

        def expand(values: np.ndarray) -> np.ndarray:
            """(ids, A) table column to (N, L, A) (or (N, L) for one axis)."""
            expanded: np.ndarray = values[ids]
            return expanded[:, :, 0] if self.ndim == 1 else expanded

        def unless(default: np.ndarray, values: np.ndarray) -> Optional[np.ndarray]:
            # A field every layer leaves at its default is not expanded: score_stacks broadcasts it.
            return None if np.array_equal(values, default) else expand(values)

        ones = np.ones_like(ints[:, :, 0])
        return StackArrays(
            kernel=expand(ints[:, :, 0]),
            stride=unless(ones, ints[:, :, 1]),
            dilation=unless(ones, ints[:, :, 2]),
            padding=unless(ones * 0, ints[:, :, 3]),
            padding_after=unless(ints[:, :, 3], ints[:, :, 4]),
            ceil_mode=unless(np.zeros_like(ceil), ceil),
            depth=depth,
        )


def _npz_chunk(path: PathLike, source: str) -> Chunk:
    """NPZ: the arrays of score_stacks by name; other (N,) arrays (ids, ...) are carried through."""
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
        yield _npz_chunk(path, source)
        return

    rows = _TEXT_READERS[fmt]
    if size is not None and len(size) > 1:
        ndim, origin = len(size), f"the input size {'x'.join(map(str, size))} has {len(size)}"
    else:
        ndim, origin = _scan_ndim(rows(path, source, chunk_rows))
    encoder = _Encoder(ndim, origin, size is not None)
    for block in rows(path, source, chunk_rows):
        yield Chunk(encoder.encode(block), block.columns, source, block.done, block.total)


# ----------------------------------------------------------------------------- scoring


def score_chunks(
    chunks: Iterator[Chunk],
    *,
    input_size: SizeLike = None,
    threads: Optional[int] = None,
    backend: str = "cpp",
) -> Iterator[Tuple[Chunk, StackScores]]:
    """Each chunk with its scores; errors from score_stacks get the file name in front."""
    size = None if input_size is None else parse_size(input_size)
    # The caller's own arguments, checked by score_stacks on no stacks: their errors are not the file's.
    score_stacks(np.ones((0, 1), np.int8), threads=threads, backend=backend)
    for chunk in chunks:
        clash = next((name for name in chunk.columns if _RESERVED.fullmatch(name)), None)
        if clash is not None:
            raise SpecError(f"input column {clash!r} has the name of an output column; rename it", source=chunk.source)
        a = chunk.arrays
        try:
            scores = score_stacks(
                a.kernel, a.stride, a.padding, a.dilation, padding_after=a.padding_after, ceil_mode=a.ceil_mode,
                depth=a.depth, input_size=None if size is None else size[0] if len(size) == 1 else size,
                threads=threads, backend=backend,
            )  # fmt: skip
        except (ValueError, TypeError) as e:
            raise SpecError(str(e), source=chunk.source) from e
        yield chunk, scores


# ----------------------------------------------------------------------------- writing


def _per_axis(values: np.ndarray) -> np.ndarray:
    return values if values.ndim == 2 else values[:, None]


def _axis_columns(scores: StackScores) -> List[Tuple[str, np.ndarray]]:
    """(name, (N, A) values) for each per-axis field; output_size only with an input size."""
    fields = {"rf": scores.rf, "jump": scores.jump, "effective_padding": scores.effective_padding,
              "output_size": scores.output_size, "center": scores.center}  # fmt: skip
    return [(name, _per_axis(v)) for name, v in fields.items() if v is not None]


def _stack_status(scores: StackScores) -> np.ndarray:
    """Per stack the worst axis: overflow > collapsed > ok, as names."""
    codes = scores.status if scores.status.ndim == 1 else scores.status.max(axis=1, initial=0)
    names: np.ndarray = _STATUS_NAMES[codes]
    return names


def _flat_columns(scores: StackScores) -> Dict[str, np.ndarray]:
    """The result columns of tabular outputs: rf (one axis) or rf_0, rf_1, ... (as `compute --format csv`)."""
    out: Dict[str, np.ndarray] = {}
    for name, values in _axis_columns(scores):
        if values.shape[1] == 1:
            out[name] = values[:, 0]
        else:
            out.update((f"{name}_{axis}", values[:, axis]) for axis in range(values.shape[1]))
    out["valid"] = scores.valid
    out["status"] = _stack_status(scores)
    return out


def _cell(value: Any) -> Any:
    """A carried value for CSV: scalars as they are, JSON values as JSON text."""
    if value is MISSING or value is None:
        return ""
    if isinstance(value, (str, int, float)):
        return value
    return json.dumps(value)


def _values(column: Column, start: int, stop: int) -> List[Any]:
    part = column[start:stop]
    return part.tolist() if isinstance(part, np.ndarray) else list(part)


class _Writer:
    """Writes the scored chunks of one output, in order."""

    def __init__(self, file: IO[Any]) -> None:
        self.file = file

    def write(self, columns: Mapping[str, Column], scores: StackScores) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Called once after the last chunk."""

    def discard(self) -> None:
        """Called instead of close after an error (the output file is then removed)."""


class _CsvWriter(_Writer):
    def __init__(self, file: IO[Any]) -> None:
        super().__init__(file)
        self._csv = csv.writer(file, lineterminator="\n")
        self._carried: Optional[List[str]] = None

    def write(self, columns: Mapping[str, Column], scores: StackScores) -> None:
        results = _flat_columns(scores)
        if self._carried is None:
            self._carried = list(columns)
            self._csv.writerow([*self._carried, *results])
        for start in range(0, len(scores), _WRITE_ROWS):
            stop = start + _WRITE_ROWS
            carried = [[_cell(v) for v in _values(columns[n], start, stop)] for n in self._carried]
            self._csv.writerows(zip(*carried, *(_values(v, start, stop) for v in results.values())))


class _JsonlWriter(_Writer):
    """One object per stack: carried keys, then per-axis lists as in `compute --format json` ("rf": [10, 10])."""

    _encode = json.JSONEncoder(check_circular=False).encode

    def write(self, columns: Mapping[str, Column], scores: StackScores) -> None:
        per_axis = _axis_columns(scores)
        valid, status = scores.valid, _stack_status(scores)
        keys = [*columns, *(n for n, _ in per_axis), "valid", "status"]
        encode = self._encode
        for start in range(0, len(scores), _WRITE_ROWS):
            stop = start + _WRITE_ROWS
            carried = [_values(v, start, stop) for v in columns.values()]
            results = [v[start:stop].tolist() for _, v in per_axis]
            results += [valid[start:stop].tolist(), status[start:stop].tolist()]
            rows = zip(*carried, *results)
            if any(MISSING in values for values in carried):  # a JSON-lines input record lacked a key
                records = ({k: v for k, v in zip(keys, row) if v is not MISSING} for row in rows)
            else:
                records = (dict(zip(keys, row)) for row in rows)
            self.file.write("".join([encode(record) + "\n" for record in records]))


class _NpzWriter(_Writer):
    """Arrays as StackScores has them (status: Status codes per stack and axis); carried columns too."""

    def __init__(self, file: IO[Any]) -> None:
        super().__init__(file)
        self._parts: Dict[str, List[np.ndarray]] = {}

    def write(self, columns: Mapping[str, Column], scores: StackScores) -> None:
        results = {"rf": scores.rf, "jump": scores.jump, "effective_padding": scores.effective_padding,
                   "output_size": scores.output_size, "status": scores.status, "valid": scores.valid,
                   "center": scores.center}  # fmt: skip
        parts = {n: _column_array(v) for n, v in columns.items()}
        parts.update((n, v) for n, v in results.items() if v is not None)
        for name, values in parts.items():
            self._parts.setdefault(name, []).append(values)

    def close(self) -> None:
        arrays = {n: p[0] if len(p) == 1 else np.concatenate(p) for n, p in self._parts.items()}
        taken = next((n for n in arrays if n in ("file", "allow_pickle")), None)
        if taken is not None:  # np.savez's own parameters
            raise ValueError(f"a column named {taken!r} cannot be an NPZ array; rename it")
        savez: Callable[..., None] = np.savez
        savez(self.file, **arrays)


def _column_array(values: Column) -> np.ndarray:
    """A carried column as an array np.load reads without pickle (text when the values are mixed)."""
    if isinstance(values, np.ndarray):
        return values
    arr = np.asarray(values)
    if arr.dtype.kind == "O":
        arr = np.asarray([str(_cell(v)) for v in values])
    return arr


class _ParquetWriter(_Writer):
    """Columns as in CSV; the first chunk fixes the schema."""

    def __init__(self, file: IO[Any]) -> None:
        super().__init__(file)
        self._pa, self._pq = _pyarrow()
        self._writer: Any = None

    def write(self, columns: Mapping[str, Column], scores: StackScores) -> None:
        data: Dict[str, Any] = {n: [None if v is MISSING else v for v in _values(c, 0, len(c))]
                                for n, c in columns.items()}  # fmt: skip
        data.update(_flat_columns(scores))
        table = self._pa.table(data)
        if self._writer is None:
            self._writer = self._pq.ParquetWriter(self.file, table.schema)
        self._writer.write_table(table.cast(self._writer.schema))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def discard(self) -> None:
        if self._writer is not None:  # before the file closes, or pyarrow complains when collected
            with contextlib.suppress(Exception):
                self._writer.close()


_WRITERS: Dict[str, Callable[[IO[Any]], _Writer]] = {
    "csv": _CsvWriter,
    "jsonl": _JsonlWriter,
    "npz": _NpzWriter,
    "parquet": _ParquetWriter,
}


@contextlib.contextmanager
def _output(target: Union[PathLike, IO[Any]], binary: bool) -> Iterator[IO[Any]]:
    """A stream as it is; a path through a temporary file renamed at the end, so an error
    part way through leaves no half-written output behind."""
    if not isinstance(target, (str, os.PathLike)):
        yield target
        return
    path = Path(target)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        try:
            f = open(tmp, "wb") if binary else open(tmp, "w", encoding="utf-8", newline="")
        except OSError as e:
            raise OSError(f"{path}: cannot write output: {e.strerror}") from None
        with f:
            yield f
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_batch(
    scored: Iterator[Tuple[Chunk, StackScores]],
    output: Union[PathLike, IO[Any]],
    output_format: str,
    *,
    on_progress: Optional[Callable[[Optional[int], Optional[int]], None]] = None,
) -> int:
    """Writes scored chunks to a path or an open stream (text for csv/jsonl, binary otherwise).

    Returns the number of stacks written. on_progress(done, total) is called after each chunk.
    """
    if output_format not in _WRITERS:
        raise ValueError(f"unknown output format {output_format!r} (known: {', '.join(FORMATS)})")
    make = _WRITERS[output_format]
    if output_format == "parquet":
        _pyarrow()  # fail before reading anything
    count = 0
    with _output(output, binary=output_format in ("npz", "parquet")) as file:
        writer = make(file)
        try:
            for chunk, scores in scored:
                writer.write(chunk.columns, scores)
                count += len(scores)
                if on_progress is not None:
                    on_progress(chunk.done, chunk.total)
        except BaseException:
            writer.discard()
            raise
        writer.close()
    return count


def score_file(
    path: PathLike,
    output: Union[PathLike, IO[Any]],
    *,
    input_format: Optional[str] = None,
    output_format: Optional[str] = None,
    input_size: SizeLike = None,
    threads: Optional[int] = None,
    backend: str = "cpp",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_progress: Optional[Callable[[Optional[int], Optional[int]], None]] = None,
) -> int:
    """Scores every stack of a batch file and writes one result row per stack, in input order.

    Formats default to the files' suffixes (a stream output needs output_format). Returns the
    number of stacks.
    """
    fmt = output_format or (format_from_suffix(output) if isinstance(output, (str, os.PathLike)) else None)
    if fmt is None:
        raise ValueError("cannot tell the output format from the output: give output_format")
    chunks = read_batch(path, input_format, input_size=input_size, chunk_rows=chunk_rows)
    scored = score_chunks(chunks, input_size=input_size, threads=threads, backend=backend)
    return write_batch(scored, output, fmt, on_progress=on_progress)
