"""`rfsearch batch FILE`: score a file of many stacks. A thin shell over ``rfsearch.io``."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any, Callable, Iterator, Optional

from ..io import (
    DEFAULT_CHUNK_ROWS,
    FORMATS,
    SUFFIX_FORMATS,
    MissingDependencyError,
    format_from_suffix,
    score_file,
)
from ..model.values import parse_size
from .common import UsageError, int_option, threads_option

__all__ = ["add_batch_parser"]

Progress = Callable[[Optional[int], Optional[int]], None]

EPILOG = """\
input formats (from FILE's suffix, or --input-format):
  .csv              header row; a 'spec' column of compact text, quoted: "conv3s1p1,maxpool2s2"
  .jsonl, .ndjson   one object per line with "spec" (compact text) or "layers" (a list of
                    layer objects: {"type": "conv", "kernel_size": 3, "stride": 1})
  .npz              arrays kernel (N, L) or (N, L, A); optional stride, padding, padding_after,
                    dilation, ceil_mode, depth (N,) - as for rfsearch.score_stacks
  .parquet          columns as in CSV (needs pyarrow: pip install rfsearch[parquet])
Other columns (ids, ...; in NPZ, other arrays of shape (N,)) are carried through unchanged.
The stack's own column (spec, layers) is not repeated; rows keep the input order.
FILE '-' is standard input (give --input-format); pipes and /dev/stdin work too.

output: OUT '-' (or no -o) is standard output. A file is written to a temporary file beside it
and renamed over it only when complete (a failed or interrupted run leaves it as it was); a
symlink is followed and stays a link; an existing file keeps its permissions; a device or FIFO
(/dev/null, a named pipe) is written in place. The output may not be the input file.

output columns: the carried columns, then rf, jump, effective_padding, output_size (with an
input size), center - per axis as rf_0, rf_1, ... when there are several (lists in JSON
lines) - then valid and status (ok, collapsed, overflow). With --blind-spots, blind_spots
(per axis) follows center: offsets inside the RF that no path reaches (empty / null where the
RF is above 2^22: not computed; -1 in NPZ). NPZ output holds the arrays of score_stacks'
result, status as Status codes per stack and axis.

examples:
  rfsearch batch stacks.csv -i 224x224 -o scores.csv
  zcat stacks.csv.gz | rfsearch batch - --input-format csv -o scores.csv
"""


def _format_error(path: str, option: str) -> UsageError:
    suffix = os.path.splitext(path)[1]
    return UsageError(f"{path}: cannot tell the format from the suffix {suffix!r}: "
                      f"use {', '.join(SUFFIX_FORMATS)} or {option}")  # fmt: skip


class _ProgressBar:
    """A bar on stderr, once the first chunk shows more are coming (small files get none). Without a
    known total (standard input, a pipe) it pulses and counts what was read."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None

    def __call__(self, done: Optional[int], total: Optional[int]) -> None:
        if done is None:
            return
        if self._bar is None:
            if total is not None and done >= total:
                return
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeElapsedColumn, TimeRemainingColumn

            columns = [TaskProgressColumn(), TimeRemainingColumn()] if total is not None else [TimeElapsedColumn()]
            self._bar = Progress("scoring", BarColumn(), *columns, console=Console(stderr=True),
                                 transient=True)  # fmt: skip
            self._bar.start()
            self._task = self._bar.add_task("scoring", total=total)
        self._bar.update(self._task, completed=done)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()


class Terminated(SystemExit):
    """SIGTERM during a run: raised like Ctrl-C's KeyboardInterrupt, so temporary files are removed."""


@contextlib.contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """While the run lasts, SIGTERM raises Terminated (exit status 143) instead of killing the
    process outright, so the output's temporary file is removed (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Optional[FrameType]) -> None:
        raise Terminated(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Optional[Progress]]:
    if not enabled:
        yield None
        return
    bar = _ProgressBar()
    try:
        yield bar
    finally:
        bar.stop()


def cmd_batch(args: argparse.Namespace) -> int:
    from_stdin = args.file == "-"
    input_format = args.input_format or (None if from_stdin else format_from_suffix(args.file))
    if input_format is None:
        if from_stdin:
            raise UsageError("standard input has no suffix: give --input-format csv|jsonl|npz|parquet")
        raise _format_error(args.file, "--input-format")
    to_stdout = args.output in (None, "-")
    output_format = args.format or ("csv" if to_stdout else format_from_suffix(args.output))
    if output_format is None:
        raise _format_error(args.output, "--format")
    if to_stdout and output_format in ("npz", "parquet"):
        raise UsageError(f"{output_format} output is binary: write it to a file with -o OUT")
    size = parse_size(args.input_size) if args.input_size else None
    threads = None if args.threads is None else threads_option(args.threads)
    chunk_rows = int_option(args.chunk_rows, "--chunk-rows", minimum=1)
    show_progress = not args.no_progress and sys.stderr.isatty()
    try:
        with _terminate_cleanly(), _progress(show_progress) as on_progress:
            score_file(args.file, "-" if to_stdout else args.output, input_format=input_format,
                       output_format=output_format, input_size=size, threads=threads, backend=args.backend,
                       chunk_rows=chunk_rows, on_progress=on_progress, blind_spots=args.blind_spots)  # fmt: skip
    except MissingDependencyError as e:
        raise UsageError(str(e)) from None
    except BrokenPipeError:  # `rfsearch batch big.csv | head`: the reader has what it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail again
        return 0
    return 0


def add_batch_parser(sub: Any) -> None:
    """Registers the `batch` subcommand on cli's subparsers."""
    b = sub.add_parser(
        "batch",
        help="score a file of many stacks (CSV, JSON lines, NPZ, Parquet)",
        description="Receptive field, jump, effective padding, centre, output size and validity of every "
        "stack in FILE, one output row per stack.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("file", metavar="FILE", help="stacks: .csv, .jsonl/.ndjson, .npz or .parquet; - for standard input")
    b.add_argument("-o", "--output", metavar="OUT", help="output file, format from its suffix (default, or -: CSV on "
                   "standard output)")  # fmt: skip
    b.add_argument("-f", "--format", choices=FORMATS, help="output format (default: from OUT's suffix, else csv)")
    b.add_argument("--input-format", choices=FORMATS, help="input format (default: from FILE's suffix)")
    b.add_argument("-i", "--input-size", help="input size: 224 (every axis) or 224x224; enables output sizes "
                   "and collapse detection")  # fmt: skip
    b.add_argument("-j", "--threads", default=None, metavar="N",
                   help="worker threads for the C++ core: 1 or more (at most the number of cores is used), "
                   "-1 for all cores (default)")  # fmt: skip
    b.add_argument("--backend", choices=["cpp", "python"], default="cpp",
                   help="cpp: the compiled core (default); python: the pure-Python reference")  # fmt: skip
    b.add_argument("--chunk-rows", default=str(DEFAULT_CHUNK_ROWS), metavar="N",
                   help=f"rows of a text file read and scored at a time (default: {DEFAULT_CHUNK_ROWS})")  # fmt: skip
    b.add_argument("--blind-spots", action="store_true", help="add each stack's blind spots per axis (offsets "
                   "inside the RF that no path reaches)")  # fmt: skip
    b.add_argument("--no-progress", action="store_true", help="no progress bar (none is shown when stderr is "
                   "not a terminal, or for files of one chunk)")  # fmt: skip
    b.set_defaults(func=cmd_batch)
