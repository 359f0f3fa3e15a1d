"""Writing scored chunks: CSV, JSON lines, NPZ, Parquet, to binary files opened by output.open_output."""

from __future__ import annotations

import contextlib
import json
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
    Tuple,
    Union,
)

import numpy as np

from ..core.batch import BatchRF
from .formats import (
    FORMATS,
    MISSING,
    STATUS_NAMES,
    WRITE_ROWS,
    Chunk,
    Column,
    PathLike,
    pyarrow_modules,
)
from .csvfast import RawCells
from .csvtext import choice_cells, csv_bytes, csv_module_bytes, half_cells, int_cells, raw_cells, text_cells
from .output import open_output


def _per_axis(values: np.ndarray) -> np.ndarray:
    return values if values.ndim == 2 else values[:, None]


def _axis_columns(scores: BatchRF) -> List[Tuple[str, np.ndarray]]:
    """(name, (N, A) values) for each per-axis field; output_size only with an input size,
    blind_spots only when they were computed (NOT_COMPUTED = -1 where the RF is above the cap)."""
    fields = {"rf": scores.rf, "jump": scores.jump, "effective_padding": scores.effective_padding,
              "output_size": scores.output_size, "center": scores.center,
              "blind_spots": scores.blind_spots}  # fmt: skip
    return [(name, _per_axis(v)) for name, v in fields.items() if v is not None]


def _is_blind(name: str) -> bool:
    return name == "blind_spots" or name.startswith("blind_spots_")


def _status_codes(scores: BatchRF) -> np.ndarray:
    """Per stack the worst axis: overflow > collapsed > ok, as Status codes."""
    codes: np.ndarray = scores.status if scores.status.ndim == 1 else scores.status.max(axis=1, initial=0)
    return codes


def _stack_status(scores: BatchRF) -> np.ndarray:
    """Per stack the worst axis, as names."""
    names: np.ndarray = STATUS_NAMES[_status_codes(scores)]
    return names


def _flat_columns(scores: BatchRF, *, status_names: bool = True) -> Dict[str, np.ndarray]:
    """The result columns of tabular outputs: rf (one axis) or rf_0, rf_1, ... (as `compute --format csv`);
    status as names (or as Status codes)."""
    out: Dict[str, np.ndarray] = {}
    for name, values in _axis_columns(scores):
        if values.shape[1] == 1:
            out[name] = values[:, 0]
        else:
            out.update((f"{name}_{axis}", values[:, axis]) for axis in range(values.shape[1]))
    out["valid"] = scores.valid
    out["status"] = _stack_status(scores) if status_names else _status_codes(scores)
    return out


def _cell(value: Any) -> Any:
    """A carried value for CSV: scalars as they are, JSON values as JSON text."""
    if type(value) is str:
        return value
    if value is MISSING or value is None:
        return ""
    if isinstance(value, (str, int, float)):
        return value
    return json.dumps(value)


def _cells(values: List[Any]) -> List[Any]:
    """Carried values for CSV (text columns as they are)."""
    return values if set(map(type, values)) <= {str} else [_cell(v) for v in values]


def _values(column: Column, start: int, stop: int) -> List[Any]:
    part = column[start:stop]
    return part.tolist() if isinstance(part, (np.ndarray, RawCells)) else list(part)


class _Writer:
    """Writes the scored chunks of one output, in order."""

    def __init__(self, file: IO[Any]) -> None:
        self.file = file

    def write(self, columns: Mapping[str, Column], scores: BatchRF) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Called once after the last chunk."""

    def discard(self) -> None:
        """Called instead of close after an error (the output file is then removed)."""


class _CsvWriter(_Writer):
    """Header from the first chunk; rows built column-wise (csvtext), one write per block of rows."""

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__(file)
        self._carried: Optional[List[str]] = None

    def write(self, columns: Mapping[str, Column], scores: BatchRF) -> None:
        results = _flat_columns(scores, status_names=False)
        if self._carried is None:
            self._carried = list(columns)
            self._write_block([[name] for name in [*self._carried, *results]], [])
        names = STATUS_NAMES.tolist()
        for start in range(0, len(scores), WRITE_ROWS):
            stop = min(start + WRITE_ROWS, len(scores))
            numbers: List[np.ndarray] = []
            for name, values in results.items():
                part = values[start:stop]
                if name == "valid":
                    numbers.append(choice_cells(part.view(np.uint8), ("False", "True")))
                elif name == "status":
                    numbers.append(choice_cells(part, names))
                elif part.dtype.kind == "f":
                    numbers.append(_center_cells(part))
                elif _is_blind(name):  # not computed: an empty cell
                    cells = int_cells(part)
                    cells[part < 0] = 0
                    numbers.append(cells)
                else:
                    numbers.append(int_cells(part))

            def as_values(start: int = start, stop: int = stop) -> List[List[Any]]:
                return [(STATUS_NAMES[v[start:stop]] if n == "status" else v[start:stop]).tolist()
                        if not _is_blind(n) else _nulls(v[start:stop]) for n, v in results.items()]  # fmt: skip

            self._write_block([columns[n][start:stop] for n in self._carried], numbers, as_values)

    def _write_block(self, carried: Sequence[Column], numbers: List[np.ndarray],
                     number_values: Optional[Callable[[], List[List[Any]]]] = None) -> None:  # fmt: skip
        # CSV fields read by csvfast are copied as they were written (already CSV text)
        texts = [raw_cells(c.data, c.start, c.end) if isinstance(c, RawCells) else text_cells(_cells(_values(c, 0, len(c))))
                 for c in carried]  # fmt: skip
        if all(t is not None for t in texts):
            self.file.write(csv_bytes([*texts, *numbers]))  # type: ignore[list-item]
        else:  # a cell holds a NUL character: the csv module writes this block
            values = [_cells(_values(c, 0, len(c))) for c in carried]
            self.file.write(csv_module_bytes([*values, *(number_values() if number_values else [])]))


def _nulls(spots: np.ndarray) -> List[Any]:
    """Blind spots as Python values, None where not computed (nested per axis like the array)."""
    values: List[Any] = spots.tolist()
    if spots.ndim == 1:
        return [None if v < 0 else v for v in values]
    return [[None if v < 0 else v for v in row] for row in values]


def _center_cells(center: np.ndarray) -> np.ndarray:
    """Centres (halves of integers) as repr(float) writes them, vectorised while they are exact."""
    twice = center * 2.0
    if center.size == 0 or (np.abs(twice).max() < 2.0**53 and np.array_equal(twice, np.round(twice))):
        return half_cells(twice.astype(np.int64))
    texts = text_cells([repr(v) for v in center.tolist()])
    assert texts is not None
    return texts


class _JsonlWriter(_Writer):
    """One object per stack: carried keys, then per-axis lists as in `compute --format json` ("rf": [10, 10])."""

    _encode = json.JSONEncoder(check_circular=False).encode

    def write(self, columns: Mapping[str, Column], scores: BatchRF) -> None:
        per_axis = _axis_columns(scores)
        valid, status = scores.valid, _stack_status(scores)
        keys = [*columns, *(n for n, _ in per_axis), "valid", "status"]
        encode = self._encode
        for start in range(0, len(scores), WRITE_ROWS):
            stop = start + WRITE_ROWS
            carried = [_values(v, start, stop) for v in columns.values()]
            results = [_nulls(v[start:stop]) if _is_blind(n) else v[start:stop].tolist()
                       for n, v in per_axis]  # fmt: skip
            results += [valid[start:stop].tolist(), status[start:stop].tolist()]
            rows = zip(*carried, *results)
            if any(MISSING in values for values in carried):  # a JSON-lines input record lacked a key
                records = ({k: v for k, v in zip(keys, row) if v is not MISSING} for row in rows)
            else:
                records = (dict(zip(keys, row)) for row in rows)
            self.file.write("".join([encode(record) + "\n" for record in records]).encode("utf-8"))


class _NpzWriter(_Writer):
    """Arrays as BatchRF has them (status: Status codes per stack and axis); carried columns too."""

    def __init__(self, file: IO[Any]) -> None:
        super().__init__(file)
        self._parts: Dict[str, List[np.ndarray]] = {}

    def write(self, columns: Mapping[str, Column], scores: BatchRF) -> None:
        results = {"rf": scores.rf, "jump": scores.jump, "effective_padding": scores.effective_padding,
                   "output_size": scores.output_size, "status": scores.status, "valid": scores.valid,
                   "center": scores.center, "blind_spots": scores.blind_spots}  # fmt: skip
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
    items = _values(values, 0, len(values))
    arr = np.asarray(items)
    if arr.dtype.kind == "O":
        arr = np.asarray([str(_cell(v)) for v in items])
    return arr


class _ParquetWriter(_Writer):
    """Columns as in CSV; the first chunk fixes the schema."""

    def __init__(self, file: IO[Any]) -> None:
        super().__init__(file)
        self._pa, self._pq = pyarrow_modules()
        self._writer: Any = None

    def write(self, columns: Mapping[str, Column], scores: BatchRF) -> None:
        data: Dict[str, Any] = {n: [None if v is MISSING else v for v in _values(c, 0, len(c))]
                                for n, c in columns.items()}  # fmt: skip
        for name, values in _flat_columns(scores).items():
            data[name] = self._pa.array(values, mask=values < 0) if _is_blind(name) else values
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


def check_format(output_format: str) -> None:
    """Raises for an unknown format, or Parquet without pyarrow (before anything is read)."""
    if output_format not in _WRITERS:
        raise ValueError(f"unknown output format {output_format!r} (known: {', '.join(FORMATS)})")
    if output_format == "parquet":
        pyarrow_modules()


def write_scored(
    scored: Iterator[Tuple[Chunk, BatchRF]],
    file: IO[bytes],
    output_format: str,
    on_progress: Optional[Callable[[Optional[int], Optional[int]], None]] = None,
) -> int:
    """Writes scored chunks to an open binary file; returns the number of stacks written."""
    check_format(output_format)
    writer = _WRITERS[output_format](file)
    count = 0
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


def write_batch(
    scored: Iterator[Tuple[Chunk, BatchRF]],
    output: Union[PathLike, IO[Any], None],
    output_format: str,
    *,
    on_progress: Optional[Callable[[Optional[int], Optional[int]], None]] = None,
) -> int:
    """Writes scored chunks to a path ("-" or None: standard output) or an open stream, through
    `output.open_output` (temporary file renamed on success; devices and FIFOs written in place).

    Returns the number of stacks written. on_progress(done, total) is called after each chunk.
    """
    check_format(output_format)
    with open_output(output) as out:
        return write_scored(scored, out.file, output_format, on_progress)
