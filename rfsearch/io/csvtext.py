"""CSV text built column by column with numpy, not row by row in Python.

Each column becomes an (N, W) uint8 matrix holding each row's text, padded with zero bytes
(numbers right-aligned, text left-aligned). The columns are laid side by side with the commas
and line ends, and dropping the zero bytes (bytes.translate) leaves, in row-major order, the
CSV text. Integers are written as digits by a few array operations per digit position. The
text is what ``csv.writer`` (QUOTE_MINIMAL, "\\n" line ends) writes for the same values: ints
as ``str``, floats as ``repr``, bools as True/False, text quoted when it holds a comma, a quote
or a line break (a lone "\\r" too, which csv.writer leaves bare and its reader then rejects).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["choice_cells", "csv_bytes", "csv_module_bytes", "half_cells", "int_cells", "raw_cells", "text_cells"]

_COMMA, _NEWLINE, _MINUS, _DOT, _ZERO, _FIVE = (ord(c) for c in ",\n-.05")
_POW10 = np.array([10**k for k in range(20)], dtype=np.uint64)
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def _magnitude(values: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """|values| as uint64 (exact for the int64 minimum too) and the sign mask."""
    v = values.astype(np.int64, copy=False)
    negative = v < 0
    magnitude = v.view(np.uint64).copy()
    magnitude[negative] = ~magnitude[negative] + np.uint64(1)
    return magnitude, negative


def _number(magnitude: np.ndarray, negative: np.ndarray, suffix: int) -> np.ndarray:
    """(n, W) text: an optional minus, the decimal digits, then `suffix` free columns; zero-padded left."""
    n = len(magnitude)
    ndigits = np.maximum(np.searchsorted(_POW10, magnitude, side="right"), 1)
    digits = int(ndigits.max(initial=1))
    text = np.zeros((n, 1 + digits + suffix), dtype=np.uint8)
    # int64 arithmetic where it fits (the magnitude of the int64 minimum does not)
    rest = magnitude.astype(np.int64) if digits < 19 else magnitude.copy()
    ten = rest.dtype.type(10)
    for k in range(digits):
        quotient = rest // ten
        digit = (rest - quotient * ten).astype(np.uint8) + _ZERO
        text[:, digits - k] = digit if k == 0 else np.where(ndigits > k, digit, 0)
        rest = quotient
    if negative.any():
        rows = np.flatnonzero(negative)
        text[rows, digits - ndigits[rows]] = _MINUS
    return text


def int_cells(values: np.ndarray) -> np.ndarray:
    """Integers (any integer dtype up to int64) as decimal text."""
    magnitude, negative = _magnitude(values)
    return _number(magnitude, negative, 0)


def half_cells(twice: np.ndarray) -> np.ndarray:
    """Halves of integers (|twice| < 2**53) as repr(float) writes them: 1.5, -0.5, 10.0."""
    magnitude, negative = _magnitude(twice)
    text = _number(magnitude >> np.uint64(1), negative, 2)
    text[:, -2] = _DOT
    text[:, -1] = np.where(magnitude & np.uint64(1), _FIVE, _ZERO)
    return text


def choice_cells(codes: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """codes[i] -> names[codes[i]] (bools as False/True, statuses by name)."""
    table = np.array([name.encode("utf-8") for name in names])
    rows: np.ndarray = table.view(np.uint8).reshape(len(names), -1)[codes.astype(np.intp, copy=False)]
    return rows


def _text(value: Any) -> str:
    """What csv.writer writes for a value: None as nothing, floats by repr, the rest by str."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def text_cells(values: Sequence[Any]) -> Optional[np.ndarray]:
    """Text cells (other values through str, floats through repr), quoted where CSV needs it.

    None if a cell holds a NUL character (zero bytes are the padding): the caller writes that
    block with the csv module instead.
    """
    texts: Sequence[str]
    try:
        joined = "\x00".join(values)  # NUL: the cell separator here (a NUL inside a cell shows in the count)
        texts = values
    except TypeError:  # not all text
        texts = [_text(v) for v in values]
        joined = "\x00".join(texts)
    n = len(texts)
    if n == 0:
        return np.zeros((0, 1), dtype=np.uint8)
    if joined.count("\x00") != n - 1:
        return None
    if any(c in joined for c in ',"\r\n'):
        texts = ['"' + t.replace('"', '""') + '"' if _NEEDS_QUOTES.search(t) else t for t in texts]
        joined = "\x00".join(texts)
    data = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
    ends = np.append(np.flatnonzero(data == 0), len(data))
    lengths = ends - np.append(0, ends[:-1] + 1)
    cells = np.zeros((n, int(lengths.max())), dtype=np.uint8)
    cells[np.arange(cells.shape[1])[None, :] < lengths[:, None]] = data[data != 0]
    return cells


def raw_cells(data: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Fields copied as they are from a byte buffer (data[start[i]:end[i]], no NUL bytes in them)."""
    lengths = end - start
    n = len(lengths)
    cells = np.zeros((n, max(int(lengths.max(initial=0)), 1)), dtype=np.uint8)
    total = int(lengths.sum())
    if total:
        inside = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        cells[np.arange(cells.shape[1])[None, :] < lengths[:, None]] = data[np.repeat(start, lengths) + inside]
    return cells


def csv_bytes(columns: Sequence[np.ndarray]) -> bytes:
    """Rows of the columns' cells (each (N, W), zero-padded), comma-separated, each ending in "\\n"."""
    n = len(columns[0]) if columns else 0
    if n == 0:
        return b""
    parts: List[np.ndarray] = []
    comma = np.full((n, 1), _COMMA, dtype=np.uint8)
    for cells in columns:
        parts += [cells, comma]
    parts[-1] = np.full((n, 1), _NEWLINE, dtype=np.uint8)
    text: bytes = np.concatenate(parts, axis=1).tobytes()
    return text.translate(None, b"\x00")  # drop the padding


def csv_module_bytes(columns: Sequence[Sequence[Any]]) -> bytes:
    """The same rows through the csv module (for cells holding NUL characters)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(zip(*columns))
    return out.getvalue().encode("utf-8")
