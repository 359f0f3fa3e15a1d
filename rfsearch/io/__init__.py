"""Files in and out: batch files of many stacks (CSV, JSON lines, NPZ, Parquet), safe output."""

from .batchfile import score_chunks, score_file
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
from .readers import read_batch
from .writers import write_batch

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "FORMATS",
    "MISSING",
    "SUFFIX_FORMATS",
    "Chunk",
    "MissingDependencyError",
    "StackArrays",
    "format_from_suffix",
    "read_batch",
    "score_chunks",
    "score_file",
    "write_batch",
]
