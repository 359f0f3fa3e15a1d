"""`rfsearch sweep --out FILE`: every feasible stack of a sweep, written in chunks with bounded
memory (CSV, JSON lines, NPZ, Parquet), and the spool that keeps them across a resumed sweep.

Columns (every format): spec (compact text), choices (choice indices: space-separated text in
CSV, a list in JSON lines and Parquet, an (N, max depth) array padded with -1 in NPZ), depth, rf,
jump and output_size (per axis as rf_0, rf_1, ... when there are several; output_size with an
input size), params and macs (with a cost model; macs also needs the input size), rf_error
(when it is an objective; x.5 values are exact).

Memory: a writer holds one chunk at a time. NPZ needs every array's length up front, so its
columns go to anonymous temporary files first and are copied into the archive at the end.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import struct
import tempfile
import zipfile
from typing import IO, Any, BinaryIO, Dict, Iterator, List, Optional, Tuple, cast

import numpy as np

from ..io.formats import pyarrow_modules
from ..search import SearchSpace
from ..search.sweep import FeasibleRows, row_width

__all__ = ["ROW_FORMATS", "RowSpool", "RowWriter", "row_format"]

ROW_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".npz": "npz", ".parquet": "parquet"}


def row_format(path: str) -> Optional[str]:
    """The row format of an output path from its suffix (None if unknown)."""
    return ROW_FORMATS.get(os.path.splitext(path)[1].lower())


def _axis_names(name: str, ndim: int) -> List[str]:
    return [name] if ndim == 1 else [f"{name}_{a}" for a in range(ndim)]


def _number(value: float) -> Any:
    return int(value) if value == int(value) else value


class RowWriter:
    """Writes FeasibleRows to an open binary file in one format; `close` finishes the file."""

    def __init__(self, file: BinaryIO, output_format: str, space: SearchSpace) -> None:
        self.file = file
        self.format = output_format
        self.space = space
        self.ndim = space.ndim
        self.rows = 0
        self._parquet: Any = None
        self._npz: Dict[str, Tuple[IO[bytes], str, Tuple[int, ...]]] = {}
        if output_format == "parquet":
            self._pa, self._pq = pyarrow_modules()
        if output_format == "csv":
            self.file.write((",".join(self._columns()) + "\n").encode())

    def _columns(self) -> List[str]:
        names = ["spec", "choices", "depth"]
        for field in ("rf", "jump") + (("output_size",) if self.space.input_size is not None else ()):
            names += _axis_names(field, self.ndim)
        if self.space.channels is not None:
            names.append("params")
            if self.space.input_size is not None:
                names.append("macs")
        if "rf_error" in self.space.objective:
            names.append("rf_error")
        return names

    def _values(self, rows: FeasibleRows) -> Dict[str, np.ndarray]:
        """The numeric columns of a chunk, by name (per-axis fields split)."""
        out: Dict[str, np.ndarray] = {"depth": rows.depth}
        fields = [("rf", rows.rf), ("jump", rows.jump)]
        if rows.output_size is not None:
            fields.append(("output_size", rows.output_size))
        for name, values in fields:
            for a, column in enumerate(_axis_names(name, self.ndim)):
                out[column] = values[:, a]
        if rows.params is not None:
            out["params"] = rows.params
        if rows.macs is not None:
            out["macs"] = rows.macs
        if "rf_error" in rows.objective:
            out["rf_error"] = rows.objective["rf_error"]
        return out

    def write(self, rows: FeasibleRows) -> None:
        """Appends a chunk."""
        if len(rows) == 0:
            return
        self.rows += len(rows)
        getattr(self, "_write_" + self.format)(rows)

    def _write_csv(self, rows: FeasibleRows) -> None:
        specs = rows.specs()
        values = self._values(rows)
        columns = [c for c in self._columns() if c not in ("spec", "choices")]
        cells = [[str(_number(v)) if c == "rf_error" else str(v) for v in values[c].tolist()] for c in columns]
        lines = []
        for i, (spec, row, depth) in enumerate(zip(specs, rows.choices.tolist(), rows.depth.tolist())):
            numbers = ",".join(column[i] for column in cells)
            lines.append(f'"{spec}",{" ".join(map(str, row[:depth]))},{numbers}\n')
        self.file.write("".join(lines).encode())

    def _write_jsonl(self, rows: FeasibleRows) -> None:
        specs = rows.specs()
        per_axis = {"rf": rows.rf.tolist(), "jump": rows.jump.tolist()}
        if rows.output_size is not None:
            per_axis["output_size"] = rows.output_size.tolist()
        scalars = {k: v.tolist() for k, v in (("params", rows.params), ("macs", rows.macs)) if v is not None}
        rf_error = rows.objective["rf_error"].tolist() if "rf_error" in rows.objective else None
        out = []
        for i, (spec, row, depth) in enumerate(zip(specs, rows.choices.tolist(), rows.depth.tolist())):
            record: Dict[str, Any] = {"spec": spec, "choices": row[:depth], "depth": depth}
            record.update((k, v[i]) for k, v in per_axis.items())
            record.update((k, v[i]) for k, v in scalars.items())
            if rf_error is not None:
                record["rf_error"] = _number(rf_error[i])
            out.append(json.dumps(record, separators=(",", ":")) + "\n")
        self.file.write("".join(out).encode())

    def _write_parquet(self, rows: FeasibleRows) -> None:
        pa = self._pa
        data: Dict[str, Any] = {"spec": pa.array(rows.specs(), pa.string()),
                                "choices": pa.array([r[:d] for r, d in zip(rows.choices.tolist(), rows.depth.tolist())],
                                                    pa.list_(pa.int32()))}  # fmt: skip
        data.update((k, pa.array(v)) for k, v in self._values(rows).items())
        table = pa.table(data)
        if self._parquet is None:
            self._parquet = self._pq.ParquetWriter(self.file, table.schema)
        self._parquet.write_table(table)

    def _write_npz(self, rows: FeasibleRows) -> None:
        arrays = {"choices": rows.choices, "rf": rows.rf, "jump": rows.jump, "depth": rows.depth}
        if rows.output_size is not None:
            arrays["output_size"] = rows.output_size
        if rows.params is not None:
            arrays["params"] = rows.params
        if rows.macs is not None:
            arrays["macs"] = rows.macs
        if "rf_error" in rows.objective:
            arrays["rf_error"] = rows.objective["rf_error"]
        for name, values in arrays.items():
            values = np.ascontiguousarray(values)
            if name not in self._npz:
                self._npz[name] = (tempfile.TemporaryFile(), values.dtype.str, tuple(values.shape[1:]))
            self._npz[name][0].write(values.tobytes())

    def close(self) -> None:
        """Finishes the file (Parquet footer, NPZ archive); an empty sweep still gives a valid file."""
        if self.format == "parquet":
            if self._parquet is None:
                self._parquet = self._pq.ParquetWriter(self.file, self._empty_parquet_schema())
            self._parquet.close()
        elif self.format == "npz":
            self._finish_npz()

    def discard(self) -> None:
        """Releases what a failed run holds (temporary files, an open Parquet writer)."""
        if self._parquet is not None:
            with contextlib.suppress(Exception):
                self._parquet.close()
        for spool, _, _ in self._npz.values():
            spool.close()
        self._npz.clear()

    def _empty_parquet_schema(self) -> Any:
        pa = self._pa
        fields = [pa.field("spec", pa.string()), pa.field("choices", pa.list_(pa.int32()))]
        fields += [pa.field(c, pa.float64() if c == "rf_error" else pa.int64()) for c in self._columns()[2:]]
        return pa.schema(fields)

    def _finish_npz(self) -> None:
        n = self.rows
        max_depth = self.space.depth[1]
        defaults = {"choices": ("<i8", (max_depth,)), "rf": ("<i8", (self.ndim,)), "jump": ("<i8", (self.ndim,)),
                    "depth": ("<i8", ())}  # fmt: skip
        with zipfile.ZipFile(self.file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            names = list(self._npz) or list(defaults)
            for name in names:
                spool, dtype, tail = self._npz.get(name, (None, *defaults.get(name, ("<i8", ()))))
                header = io.BytesIO()
                np.lib.format.write_array_header_2_0(header, {"descr": dtype, "fortran_order": False,
                                                              "shape": (n, *tail)})  # fmt: skip
                with archive.open(name + ".npy", "w", force_zip64=True) as entry:
                    entry.write(header.getvalue())
                    if spool is not None:
                        spool.seek(0)
                        while True:
                            data = spool.read(1 << 22)
                            if not data:
                                break
                            entry.write(data)
                if spool is not None:
                    spool.close()
        self._npz.clear()


class RowSpool:
    """The feasible rows of a checkpointed sweep, kept beside the checkpoint until the sweep is
    complete: raw engine blocks appended as they come, `commit()` returns the length that holds
    the rows of every committed batch (the checkpoint records it), `truncate(n)` drops what a
    killed run appended after its last commit. Then `blocks()` replays them for the writer."""

    _HEADER = struct.Struct("<qq")  # rows, width

    def __init__(self, path: str, space: SearchSpace, max_depth: int, tokens: Tuple[Tuple[str, ...], ...]) -> None:
        self.path = path
        self.space = space
        self.max_depth = max_depth
        self.tokens = tokens
        self.width = row_width(space, max_depth)
        self._file: Optional[BinaryIO] = None

    def open(self, committed: int) -> None:
        """Opens the spool for appending after its first `committed` bytes (0: a new spool)."""
        mode = "r+b" if committed and os.path.exists(self.path) else "w+b"
        file = cast(BinaryIO, open(self.path, mode))  # noqa: SIM115  (closed by close())
        size = file.seek(0, os.SEEK_END)
        if size < committed:
            file.close()
            raise OSError(f"{self.path}: the rows spool is shorter than the checkpoint says ({size} < {committed} "
                          "bytes); delete the checkpoint to start again")  # fmt: skip
        file.truncate(committed)
        file.seek(committed)
        self._file = file

    def append(self, rows: FeasibleRows) -> None:
        """Appends a chunk (as the engine gave it)."""
        assert self._file is not None
        block = np.ascontiguousarray(rows.block, dtype="<i8")
        self._file.write(self._HEADER.pack(block.shape[0], block.shape[1]))
        self._file.write(block.tobytes())

    def commit(self) -> int:
        """Flushes to disk; the length that holds everything appended so far."""
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        return self._file.tell()

    def blocks(self) -> Iterator[FeasibleRows]:
        """The committed rows, chunk by chunk."""
        assert self._file is not None
        end = self._file.tell()
        self._file.seek(0)
        while self._file.tell() < end:
            head = self._file.read(self._HEADER.size)
            rows, width = self._HEADER.unpack(head)
            if width != self.width or rows < 0:
                raise OSError(f"{self.path}: the rows spool is damaged; delete the checkpoint to start again")
            data = np.frombuffer(self._file.read(rows * width * 8), dtype="<i8").reshape(rows, width)
            yield FeasibleRows.from_block(data, self.space, self.max_depth, self.tokens)

    def close(self, remove: bool = False) -> None:
        """Closes (and with remove, deletes) the spool."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if remove:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)
