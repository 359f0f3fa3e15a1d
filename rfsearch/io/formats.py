"""Batch file formats: names, suffixes, optional dependencies, shared types."""

from __future__ import annotations

import enum
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import (
    Any,
    Callable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np

from ..core.batch import Status
from ..core.table import LayerTable
from ..errors import SpecError
from .csvfast import RawCells, TokenSpans

FORMATS = ("csv", "jsonl", "npz", "parquet")
SUFFIX_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".npz": "npz", ".parquet": "parquet"}
DEFAULT_CHUNK_ROWS = 100_000
NPZ_LAYER_ARRAYS = ("kernel", "stride", "padding", "padding_after", "dilation", "ceil_mode", "depth")
# Per axis (rf or rf_0, rf_1, ...), then per stack. The order of the output columns.
AXIS_FIELDS = ("rf", "jump", "effective_padding", "output_size", "center")
STACK_FIELDS = ("valid", "status")
RESERVED_COLUMNS = re.compile(r"(?:%s)(?:_\d+)?|%s" % ("|".join(AXIS_FIELDS), "|".join(STACK_FIELDS)))
BLIND_SPOT_COLUMNS = re.compile(r"blind_spots(?:_\d+)?")  # output columns only when blind spots are asked for
STATUS_NAMES = np.array([s.name.lower() for s in sorted(Status)])
INT64_MAX = int(np.iinfo(np.int64).max)
WRITE_ROWS = 65_536  # rows converted to Python objects at a time by the text writers

PathLike = Union[str, "os.PathLike[str]"]
Stack = Any  # compact text (str) or a list of layer dicts / tokens, as read; checked by check_stack
SizeLike = Union[None, int, str, Sequence[int]]
Column = Union[List[Any], np.ndarray, RawCells]  # carried: a list (text), an array (NPZ), raw CSV fields


class _Missing(enum.Enum):
    MISSING = "MISSING"


#: A carried cell a JSON-lines record did not have (written as an empty cell, or left out of JSON).
MISSING = _Missing.MISSING


class MissingDependencyError(ImportError):
    """An optional dependency (pyarrow, for Parquet) is not installed."""


def shown(text: str, limit: int = 40) -> str:
    """A name from the input, fit for a one-line message: as it is if printable and short, else its repr."""
    if len(text) > limit:
        return repr(text[: limit - 3]) + "..."
    return text if text.isprintable() else repr(text)


def listed(names: Sequence[str], limit: int = 10) -> str:
    """Names from the input as a short comma-separated list (see `shown`)."""
    parts = [shown(n) for n in names[:limit]]
    return ", ".join(parts + ([f"... ({len(names)} in all)"] if len(names) > limit else [])) or "none"


def format_from_suffix(path: PathLike) -> Optional[str]:
    """'csv', 'jsonl', 'npz' or 'parquet' from the file name; None if the suffix says nothing."""
    return SUFFIX_FORMATS.get(Path(path).suffix.lower())


def pyarrow_modules() -> Tuple[Any, Any]:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise MissingDependencyError(
            "Parquet needs pyarrow, which is not installed: pip install rfsearch[parquet]"
        ) from None
    return pyarrow, pyarrow.parquet


@dataclass(frozen=True)
class StackArrays:
    """Keyword arguments of ``batch_receptive_fields`` for one chunk (None: the default)."""

    kernel: np.ndarray
    stride: Optional[np.ndarray] = None
    padding: Optional[np.ndarray] = None
    padding_after: Optional[np.ndarray] = None
    dilation: Optional[np.ndarray] = None
    ceil_mode: Optional[np.ndarray] = None
    depth: Optional[np.ndarray] = None


Where = Callable[[int], Tuple[str, Optional[int]]]  # stack i of a block -> (source, line) for SpecError


@dataclass(frozen=True)
class Chunk:
    """A block of stacks from one file, ready for the core, and the columns carried to the output.

    Text formats give stacks as row ids of a shared `LayerTable` (`ids`: (N, L), `depth`: (N,));
    NPZ gives the dense arrays of ``batch_receptive_fields`` (`arrays`). Exactly one of the two is set.
    """

    columns: Mapping[str, Column]  # in input order; MISSING where a JSON-lines record lacked the key
    source: str
    ids: Optional[np.ndarray] = None
    depth: Optional[np.ndarray] = None
    table: Optional[LayerTable] = None
    arrays: Optional[StackArrays] = None
    done: Optional[int] = None  # progress through the file (bytes or rows), and its total if known
    total: Optional[int] = None
    where: Optional[Where] = None

    def __len__(self) -> int:
        if self.depth is not None:
            return len(self.depth)
        assert self.arrays is not None
        return len(self.arrays.kernel)


@dataclass(frozen=True)
class Rows:
    """Text-format records before encoding: each stack as written, and where it came from."""

    stacks: Sequence[Stack]
    columns: Mapping[str, Column]
    where: Where  # stacks[i] -> (source, line) for SpecError
    done: Optional[int]
    total: Optional[int]
    tokens: Optional[TokenSpans] = None  # CSV read by csvfast: the specs' tokens as spans of the file's bytes

    def locate(self, error: SpecError, i: int) -> SpecError:
        source, line = self.where(i)
        return error.located(source=source, line=line)
