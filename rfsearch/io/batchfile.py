"""Batch files of stacks: read (CSV, JSON lines, NPZ, Parquet), score in chunks, write.

Data flows one way: bytes (inputs.py) -> records (readers.py: numpy blocks by csvfast.py,
csv.reader, JSON) -> row ids of a LayerTable (encode.py) -> ``receptive_fields_by_id`` ->
``BatchRF`` -> writer (writers.py, csvtext.py) -> safe output (output.py). NPZ input has no
layers: its arrays go to ``batch_receptive_fields`` as they are.

The number of axes of a text file is known before its first row is written: from the input
size if it has several values; otherwise one axis is assumed and, if a stack with per-axis
values (conv1x7) comes after rows were written to a temporary output, the run starts again
with the axes known (the input is read twice only then). An output that cannot be rewritten
(standard output, a FIFO, a device) gets a first pass that only looks for the axes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import (
    IO,
    Any,
    Callable,
    Iterator,
    Optional,
    Tuple,
    Union,
)

import numpy as np

from ..core.batch import BatchRF, batch_receptive_fields
from ..core.table import receptive_fields_by_id
from ..errors import SpecError
from ..model.values import parse_size
from .encode import AxesFound, StackEncoder
from .formats import (
    BLIND_SPOT_COLUMNS,
    DEFAULT_CHUNK_ROWS,
    FORMATS,
    RESERVED_COLUMNS,
    SUFFIX_FORMATS,
    Chunk,
    PathLike,
    Rows,
    SizeLike,
    format_from_suffix,
    pyarrow_modules,
)
from .inputs import InputSource
from .output import open_output, same_file
from .readers import TEXT_READERS, encoded_chunks, npz_chunk
from .writers import check_format, write_scored

__all__ = ["read_batch", "scan_axes", "score_chunks", "score_file"]

Progress = Callable[[Optional[int], Optional[int]], None]


def _input_format(path: PathLike, input_format: Optional[str]) -> str:
    source = os.fspath(path)
    fmt = input_format or (None if source == "-" else format_from_suffix(path))
    if fmt is None and source == "-":
        raise SpecError("standard input has no suffix: name its format (input_format / --input-format)")
    if fmt not in FORMATS:
        raise SpecError(f"unknown input format {fmt!r} (known: {', '.join(FORMATS)})" if fmt else
                        f"cannot tell the format from the suffix {Path(path).suffix!r}: use "
                        f"{', '.join(SUFFIX_FORMATS)} or name the format", source=source)  # fmt: skip
    return fmt


def _check_chunk_rows(chunk_rows: int) -> None:
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")


def _size_axes(size: Optional[Tuple[int, ...]]) -> Tuple[Optional[int], str]:
    if size is not None and len(size) > 1:
        return len(size), f"the input size {'x'.join(map(str, size))} has {len(size)}"
    return None, ""


def _blocks(source: InputSource, fmt: str, chunk_rows: int) -> Iterator[Rows]:
    """One pass over the text records of the input, in blocks of chunk_rows."""
    if fmt == "parquet":
        return TEXT_READERS[fmt](source.seekable_file(), source.name, chunk_rows, None)
    return TEXT_READERS[fmt](source.stream(), source.name, chunk_rows, source.size)


def scan_axes(source: InputSource, fmt: str, chunk_rows: int, size_known: bool) -> Tuple[int, str]:
    """A pass that only looks for the number of axes: from the first stack with per-axis values
    (1 if none has any), and where it came from. Errors in the stacks are raised here already."""
    encoder = StackEncoder(None, "", size_known)
    for block in _blocks(source, fmt, chunk_rows):
        encoder.ids(block)
        if encoder.fixed:
            return encoder.ndim, encoder.origin
    return 1, "the stacks have 1"  # not used in messages: no stack can disagree


def _text_chunks(source: InputSource, fmt: str, chunk_rows: int, ndim: Optional[int], origin: str,
                 size_known: bool) -> Iterator[Chunk]:  # fmt: skip
    encoder = StackEncoder(ndim, origin, size_known)
    return encoded_chunks(_blocks(source, fmt, chunk_rows), encoder, source.name)


def read_batch(
    path: PathLike,
    input_format: Optional[str] = None,
    *,
    input_size: SizeLike = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[Chunk]:
    """Chunks of stacks from a batch file ("-": standard input; format from the suffix unless given).

    Text formats (CSV, JSON lines, Parquet) give row ids of a shared LayerTable plus each stack's
    depth, in chunks of at most chunk_rows stacks (fewer when their padded ids would pass the
    cell budget). Their number of axes comes from the input size if it has several values, else
    from the first stack with per-axis values (such as conv1x7), else 1, so the file may be read
    twice; a stack disagreeing is an error naming its line. NPZ input is one chunk of its arrays.
    """
    fmt = _input_format(path, input_format)
    _check_chunk_rows(chunk_rows)
    size = None if input_size is None else parse_size(input_size)
    ndim, origin = _size_axes(size)
    with InputSource(path, spool=fmt != "csv" and fmt != "jsonl" or ndim is None) as source:
        if fmt == "npz":
            yield npz_chunk(source.seekable_file(), source.name)
            return
        if ndim is None:
            ndim, origin = scan_axes(source, fmt, chunk_rows, size is not None)
        yield from _text_chunks(source, fmt, chunk_rows, ndim, origin, size is not None)


def _scores(chunk: Chunk, size: Optional[Tuple[int, ...]], threads: Optional[int], backend: str,
            blind_spots: bool = False) -> BatchRF:  # fmt: skip
    input_size = None if size is None else size[0] if len(size) == 1 else size
    if chunk.ids is not None:
        assert chunk.table is not None
        return receptive_fields_by_id(chunk.table, chunk.ids, chunk.depth, input_size=input_size, threads=threads,
                                      backend=backend, where=chunk.where, blind_spots=blind_spots)  # fmt: skip
    assert chunk.arrays is not None
    a = chunk.arrays
    return batch_receptive_fields(
        a.kernel, a.stride, a.padding, a.dilation, padding_after=a.padding_after, ceil_mode=a.ceil_mode,
        depth=a.depth, input_size=input_size, threads=threads, backend=backend, where=chunk.where,
        blind_spots=blind_spots,
    )  # fmt: skip


def score_chunks(
    chunks: Iterator[Chunk],
    *,
    input_size: SizeLike = None,
    threads: Optional[int] = None,
    backend: str = "cpp",
    blind_spots: bool = False,
) -> Iterator[Tuple[Chunk, BatchRF]]:
    """Each chunk with its receptive fields (and blind spots, if asked for); errors of the core get
    the file (and line) in front."""
    size = None if input_size is None else parse_size(input_size)
    # The caller's own arguments, checked on no stacks: their errors are not the file's.
    batch_receptive_fields(np.ones((0, 1), np.int8), threads=threads, backend=backend)
    for chunk in chunks:
        clash = next((name for name in chunk.columns if RESERVED_COLUMNS.fullmatch(name)
                      or (blind_spots and BLIND_SPOT_COLUMNS.fullmatch(name))), None)  # fmt: skip
        if clash is not None:
            raise SpecError(f"input column {clash!r} has the name of an output column; rename it",
                            source=chunk.source)  # fmt: skip
        try:
            scores = _scores(chunk, size, threads, backend, blind_spots)
        except SpecError as e:  # located by the core through chunk.where when it names a stack
            raise e.located(source=chunk.source) from None
        except (ValueError, TypeError, OverflowError) as e:
            raise SpecError(str(e), source=chunk.source) from None
        yield chunk, scores


def score_file(
    path: PathLike,
    output: Union[PathLike, IO[Any], None],
    *,
    input_format: Optional[str] = None,
    output_format: Optional[str] = None,
    input_size: SizeLike = None,
    threads: Optional[int] = None,
    backend: str = "cpp",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_progress: Optional[Progress] = None,
    blind_spots: bool = False,
) -> int:
    """Scores every stack of a batch file and writes one result row per stack, in input order.

    path: a file, or "-" for standard input (give input_format). output: a path ("-" or None:
    standard output) or an open stream, written under the rules of `output.open_output`. Formats
    default to the files' suffixes (a stream output needs output_format). The output may not be
    the input file. blind_spots: add each stack's blind spots per axis (a `blind_spots` column;
    empty / null where not computed, -1 in NPZ). Returns the number of stacks.
    """
    named = isinstance(output, (str, os.PathLike)) and os.fspath(output) != "-"
    fmt_out = output_format or (format_from_suffix(output) if named else None)  # type: ignore[arg-type]
    if fmt_out is None:
        raise ValueError("cannot tell the output format from the output: give output_format")
    check_format(fmt_out)
    fmt_in = _input_format(path, input_format)
    if fmt_in == "parquet":
        pyarrow_modules()
    _check_chunk_rows(chunk_rows)
    size = None if input_size is None else parse_size(input_size)
    batch_receptive_fields(np.ones((0, 1), np.int8), threads=threads, backend=backend)  # the caller's arguments
    ndim, origin = _size_axes(size)

    with InputSource(path, spool=fmt_in not in ("csv", "jsonl") or ndim is None) as source:
        if same_file(source.identity, output):
            raise SpecError("the output is the input file: write it to another file", source=source.name)
        with open_output(output) as out:
            if fmt_in == "npz":
                chunks: Iterator[Chunk] = iter([npz_chunk(source.seekable_file(), source.name)])
                scored = score_chunks(chunks, input_size=size, threads=threads, backend=backend, blind_spots=blind_spots)
                return write_scored(scored, out.file, fmt_out, on_progress)
            if ndim is None and not out.restartable:
                ndim, origin = scan_axes(source, fmt_in, chunk_rows, size is not None)
            while True:
                chunks = _text_chunks(source, fmt_in, chunk_rows, ndim, origin, size is not None)
                scored = score_chunks(chunks, input_size=size, threads=threads, backend=backend, blind_spots=blind_spots)
                try:
                    return write_scored(scored, out.file, fmt_out, on_progress)
                except AxesFound as found:  # rows were written with one axis: write them again
                    out.restart()
                    ndim, origin = found.ndim, found.origin
