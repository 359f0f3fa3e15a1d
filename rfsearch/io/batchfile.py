"""Batch files of stacks: read (CSV, JSON lines, NPZ, Parquet), score in chunks, write.

Data flows one way: file -> layers (text formats) -> padded integer arrays -> ``batch_receptive_fields``
-> ``BatchRF`` -> writer. NPZ input has no layers: its arrays go to ``batch_receptive_fields`` as
they are. Text formats are read in chunks of rows, so memory stays bounded for any file size.
"""

from __future__ import annotations

import os
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
from ..errors import SpecError
from ..model.values import parse_size
from .formats import (
    DEFAULT_CHUNK_ROWS,
    RESERVED_COLUMNS,
    Chunk,
    PathLike,
    SizeLike,
    format_from_suffix,
)
from .readers import read_batch
from .writers import write_batch


def score_chunks(
    chunks: Iterator[Chunk],
    *,
    input_size: SizeLike = None,
    threads: Optional[int] = None,
    backend: str = "cpp",
) -> Iterator[Tuple[Chunk, BatchRF]]:
    """Each chunk with its scores; errors from batch_receptive_fields get the file name in front."""
    size = None if input_size is None else parse_size(input_size)
    # The caller's own arguments, checked by batch_receptive_fields on no stacks: their errors are not the file's.
    batch_receptive_fields(np.ones((0, 1), np.int8), threads=threads, backend=backend)
    for chunk in chunks:
        clash = next((name for name in chunk.columns if RESERVED_COLUMNS.fullmatch(name)), None)
        if clash is not None:
            raise SpecError(f"input column {clash!r} has the name of an output column; rename it", source=chunk.source)
        a = chunk.arrays
        try:
            scores = batch_receptive_fields(
                a.kernel, a.stride, a.padding, a.dilation, padding_after=a.padding_after, ceil_mode=a.ceil_mode,
                depth=a.depth, input_size=None if size is None else size[0] if len(size) == 1 else size,
                threads=threads, backend=backend,
            )  # fmt: skip
        except (ValueError, TypeError) as e:
            raise SpecError(str(e), source=chunk.source) from e
        yield chunk, scores


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
