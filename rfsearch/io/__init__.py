"""Files in and out: batch files of many stacks (CSV, JSON lines, NPZ, Parquet), safe output."""

from .batchfile import read_batch, score_chunks, score_file
from .formats import (
    DEFAULT_CHUNK_ROWS,
    FORMATS,
    MISSING,
    SUFFIX_FORMATS,
    Chunk,
    MissingDependencyError,
    StackArrays,
    format_from_suffix,
)
from .output import Output, open_output
from .writers import write_batch

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "FORMATS",
    "MISSING",
    "SUFFIX_FORMATS",
    "Chunk",
    "MissingDependencyError",
    "Output",
    "StackArrays",
    "format_from_suffix",
    "open_output",
    "read_batch",
    "score_chunks",
    "score_file",
    "write_batch",
]
