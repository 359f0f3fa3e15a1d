"""`rfsearch sweep SPACE`: exhaustive sweep of a search space. A thin shell over rfsearch.search."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import stat
import sys
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, TextIO, Tuple

from ..errors import SpecError
from ..io.formats import MissingDependencyError
from ..io.output import open_output
from ..model.documents import read_bytes, read_document
from ..search import CountResult, Entry, SearchSpace, SweepResult, SweepState, Sweeper, count, load_space
from ..search.dask_runner import DaskRunner, DaskUnavailableError
from ..search.document import MAX_BYTES as MAX_SPACE_BYTES
from ..search.shard import merge_shards, shard_document
from ..search.space import parse_space
from ..search.sweep import DEFAULT_MAX_VISITS, FeasibleRows, SweepRun
from .common import UsageError, int_option, threads_option
from .sweep_rows import ROW_FORMATS, RowSpool, RowWriter, row_format

__all__ = ["add_sweep_parser"]

CHECKPOINT_FORMAT = "rfsearch-sweep-checkpoint"

EPILOG = """\
SPACE is a search-space file (YAML or JSON; - for standard input): see the README, "Search
spaces". Output (-f) goes to standard output: table (default), json or csv. JSON has total
and feasible (exact integers), objective, top (spec, choices, depth, rf, jump, output_size,
params, macs, objective, blind_spots), pareto (several objectives), rf_histogram ([rf, count]
pairs; per axis [[rf_0, rf_1], count]) and stats.

--out FILE writes every feasible stack (format from the suffix: .csv, .jsonl, .npz, .parquet)
in chunks; rows come in no particular order with several threads. The file appears only when
the sweep is complete (written beside it under a temporary name, then renamed).

--checkpoint FILE saves the progress after each batch of tasks (about a second of work; the
file is replaced atomically). Run the same command again to resume: finished tasks are not
redone. Ctrl-C or SIGTERM: the checkpoint holds every finished batch; kill -9: the same, minus
the batch in flight. With --out, the rows of finished batches wait in FILE.rows beside the
checkpoint. Both are removed when the sweep completes.

--shard i/n runs shard i of n (1 <= i <= n; a deterministic split balanced by work);
write each with -f json and combine them with --merge: the result is exactly the one a single
process gives. --dask local runs on a local Dask cluster (one worker process per core, or -j
N workers); --dask tcp://host:8786 on a running scheduler.

examples:
  rfsearch sweep examples/spaces/tcn_history.yaml --top 5
  rfsearch sweep space.yaml -f json --out stacks.parquet --checkpoint sweep.ckpt
  rfsearch sweep space.yaml --shard 2/4 -f json > part2.json
  rfsearch sweep space.yaml --merge part1.json part2.json part3.json part4.json
  rfsearch sweep examples/spaces/mstcn_dilations.yaml --count-only
"""

_SHARD = re.compile(r"\s*(\d{1,18})\s*/\s*(\d{1,18})\s*", re.ASCII)


def _shard(text: str) -> Tuple[int, int]:
    match = _SHARD.fullmatch(text)
    if not match:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise UsageError(f"--shard must look like i/n (shard i of n, 1 <= i <= n), got {shown!r}")
    index, total = int(match.group(1)), int(match.group(2))
    if total < 1 or not 1 <= index <= total:
        raise UsageError(f"--shard {index}/{total}: the index must be between 1 and n (n >= 1)")
    return index, total


def _read_space(name: str) -> SearchSpace:
    if name == "-":
        return parse_space(read_bytes(sys.stdin.buffer, "<stdin>", MAX_SPACE_BYTES), source="<stdin>")
    return load_space(name)


# ---------------------------------------------------------------------------------------------
# Output


def _axes(values: Optional[Sequence[int]]) -> str:
    return "-" if values is None else "x".join(str(v) for v in values)


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return str(int(value)) if value == int(value) else str(value)
    return f"{value}"


def _objective_text(entry: Entry) -> List[str]:
    return [_number(float(v)) if not isinstance(v, int) else str(v) for v in entry.objective]


def _grid(headers: List[str], rows: List[List[str]], right: int = 1) -> List[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: List[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            out.append(cell.ljust(widths[i]) if i < right else cell.rjust(widths[i]))
        return "  ".join(out).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def _entry_rows(entries: Sequence[Entry], space: SearchSpace) -> Tuple[List[str], List[List[str]]]:
    headers = ["#", "spec", "depth", "rf", "jump"]
    sized, costed = space.input_size is not None, space.channels is not None
    if sized:
        headers.append("output")
    if costed:
        headers += ["params"] + (["macs"] if sized else [])
    error_at = space.objective.index("rf_error") if "rf_error" in space.objective else None
    if error_at is not None:  # the other objectives are columns already
        headers.append("rf_error")
    rows = []
    for i, e in enumerate(entries, start=1):
        row = [str(i), e.spec, str(e.depth), _axes(e.rf), _axes(e.jump)]
        if sized:
            row.append(_axes(e.output_size))
        if costed:
            row += [_number(e.params)] + ([_number(e.macs)] if sized else [])
        if error_at is not None:
            row.append(_objective_text(e)[error_at])
        rows.append(row)
    return headers, rows


def _aligned(headers: List[str], rows: List[List[str]]) -> List[str]:
    """'#' and spec left-aligned, numbers right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    out = []
    for cells in [headers, *rows]:
        parts = [c.ljust(widths[i]) if i == 1 else c.rjust(widths[i]) for i, c in enumerate(cells)]
        out.append("  ".join(parts).rstrip())
    return out


def _summary(result: SweepResult, source: str) -> str:
    stats = dict(result.stats or {})
    feasible = "not counted (--best-only)" if result.feasible is None else f"{result.feasible:,} feasible"
    if result.feasible is not None and result.total:
        feasible += f" ({100 * result.feasible / result.total:.3g}%)"
    text = f"{source}: {result.total:,} candidates, {feasible}"
    if "shard" in stats:
        text += f" in shard {stats['shard'][0]}/{stats['shard'][1]}"
    if "shards" in stats:
        text += f" (merged from {stats['shards']} shards)"
    if "seconds" in stats:
        text += f"; {stats.get('visited', 0):,} stacks visited in {stats['seconds']:.3g} s"
        if stats.get("threads"):
            text += f" ({stats['threads']} threads)"
        if stats.get("method") == "count+bound":
            text += "; counted by the DP counter, best stacks by branch-and-bound"
    return text


def top_zero(result: SweepResult) -> bool:
    """Whether the sweep listed no stack because none is feasible (not because of --top 0)."""
    return result.feasible is None and not result.top


def print_sweep_table(result: SweepResult, space: SearchSpace, source: str, out: TextIO) -> None:
    from ..core.network import receptive_field
    from ..model import parse_layers
    from ..results import render

    lines = [_summary(result, source)]
    if result.top:
        lines += ["", f"top {len(result.top)} by {', '.join(space.objective)}:"]
        lines += _aligned(*_entry_rows(result.top, space))
    elif result.pareto is None:
        lines += ["", "no feasible stack" if result.feasible == 0 or top_zero(result) else "no stack listed"]
    if result.pareto is not None:
        lines += ["", f"Pareto front ({', '.join(space.objective)}): {len(result.pareto)} points"]
        lines += _aligned(*_entry_rows(result.pareto, space))
    out.write("\n".join(lines) + "\n")
    best = result.top[0] if result.top else (result.pareto[0] if result.pareto else None)
    if best is not None:
        out.write(f"\nbest: {best.spec}\n")
        out.flush()
        render.print_table(receptive_field(parse_layers(best.spec), space.input_size), None, out)


def _csv_line(cells: Sequence[Any]) -> str:
    def cell(value: Any) -> str:
        text = _number(value) if value is not None else ""
        return f'"{text}"' if "," in text or '"' in text else text

    return ",".join(cell(c) for c in cells) + "\n"


def sweep_csv(result: SweepResult, space: SearchSpace) -> str:
    ndim = space.ndim
    per_axis = ["rf", "jump"] + (["output_size"] if space.input_size is not None else [])
    names: List[str] = ["list", "rank", "spec", "depth"]
    for field in per_axis:
        names += [field] if ndim == 1 else [f"{field}_{a}" for a in range(ndim)]
    names += ["params", "macs"]
    names += ["objective"] if len(space.objective) == 1 else [f"objective_{n}" for n in space.objective]
    out = [_csv_line(names)]
    for label, entries in (("top", result.top), ("pareto", result.pareto or ())):
        for rank, e in enumerate(entries, start=1):
            row: List[Any] = [label, rank, e.spec, e.depth]
            for field in per_axis:
                row += list(getattr(e, field) or ())
            row += [e.params, e.macs]
            row += [v if isinstance(v, int) else float(v) for v in e.objective]
            out.append(_csv_line(row))
    return "".join(out)


def _write_count(result: CountResult, fmt: str, source: str, out: TextIO) -> None:
    if fmt == "json":
        out.write(json.dumps(result.to_dict()) + "\n")
        return
    if fmt == "csv":
        ndim = len(result.rf_histogram[0][0]) if result.rf_histogram and isinstance(result.rf_histogram[0][0],
                                                                                      tuple) else 1  # fmt: skip
        head = ["rf"] if ndim == 1 else [f"rf_{a}" for a in range(ndim)]
        lines = [_csv_line([*head, "count"])]
        for rf, n in result.rf_histogram:
            lines.append(_csv_line([*(rf if isinstance(rf, tuple) else (rf,)), n]))
        out.write("".join(lines))
        return
    lines = [f"{source}: {result.total:,} candidates, {result.feasible:,} feasible (exact count, no enumeration)"]
    if result.rf_histogram:
        rows = [[_axes(rf if isinstance(rf, tuple) else (rf,)), f"{n:,}"] for rf, n in result.rf_histogram]
        lines += ["", *_grid(["rf", "feasible stacks"], rows)]
    out.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------
# Checkpoints


def _regular_or_new(path: str, option: str) -> None:
    try:
        st = os.stat(os.path.realpath(path))
    except FileNotFoundError:
        return
    except OSError as e:
        raise UsageError(f"{option} {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{option} {path}: must be a regular file (or a new one)")


class _Checkpoint:
    """The CLI's checkpoint file: the sweep state plus, with --out, how much of the rows spool is
    committed. Written through open_output (a temporary file renamed over it)."""

    def __init__(self, path: str, with_rows: bool) -> None:
        _regular_or_new(path, "--checkpoint")
        self.path = path
        self.with_rows = with_rows
        self.state: Optional[SweepState] = None
        self.rows_bytes = 0
        if os.path.exists(path):
            doc = read_document(path, format="json")
            data = doc.data
            if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
                raise SpecError("not an rfsearch sweep checkpoint", source=path)
            rows = data.get("rows")
            if (rows is not None) != with_rows:
                need = "with" if rows is not None else "without"
                raise UsageError(f"--checkpoint {path}: it was written {need} --out; use the same options to resume "
                                 "(or delete it to start again)")  # fmt: skip
            if rows is not None:
                if not isinstance(rows, dict) or type(rows.get("bytes")) is not int or rows["bytes"] < 0:
                    raise SpecError("malformed rows entry", source=path)
                self.rows_bytes = rows["bytes"]
            self.state = SweepState.from_json(data.get("state"), where=path)

    def save(self, state: SweepState, rows_bytes: Optional[int]) -> None:
        data = {"format": CHECKPOINT_FORMAT, "state": state.to_json(),
                "rows": None if rows_bytes is None else {"bytes": rows_bytes}}  # fmt: skip
        with open_output(self.path) as out:
            out.file.write(json.dumps(data).encode())

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)


# ---------------------------------------------------------------------------------------------
# Progress, signals


class _Progress:
    """A bar on stderr once a sweep has more than one batch (only on a terminal)."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            if done >= total:
                return
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeElapsedColumn, TimeRemainingColumn

            self._bar = Progress("sweeping", BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                                 TimeRemainingColumn(), console=Console(stderr=True), transient=True)  # fmt: skip
            self._bar.start()
            self._task = self._bar.add_task("sweeping", total=total)
        self._bar.update(self._task, completed=done)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Optional[Callable[[int, int], None]]]:
    if not enabled:
        yield None
        return
    bar = _Progress()
    try:
        yield bar
    finally:
        bar.stop()


# ---------------------------------------------------------------------------------------------
# The command


def _check_combinations(args: argparse.Namespace) -> None:
    given = {"--out": args.out, "--shard": args.shard, "--dask": args.dask, "--checkpoint": args.checkpoint,
             "--merge": args.merge, "--best-only": args.best_only or None}  # fmt: skip
    if args.count_only:
        clash = [name for name, value in given.items() if value is not None]
        if clash:
            raise UsageError(f"--count-only counts without enumerating: it does not take {', '.join(clash)}")
    if args.merge is not None:
        clash = [name for name, value in given.items() if value is not None and name != "--merge"]
        if clash:
            raise UsageError(f"--merge combines shard results: it does not take {', '.join(clash)}")
    if args.out is not None:
        if args.out == "-":
            raise UsageError("--out takes a file (standard output holds the summary)")
        if args.out_format is None and row_format(args.out) is None:
            raise UsageError(f"--out {args.out}: cannot tell the format from the suffix; use one of "
                             f"{', '.join(ROW_FORMATS)} or --out-format")  # fmt: skip
        if args.best_only:
            raise UsageError("--out writes every feasible stack: it cannot be used with --best-only")
        if args.dask is not None:
            raise UsageError("--out is not available with --dask (rows stay on the workers); use --shard per machine")


def cmd_sweep(args: argparse.Namespace) -> int:
    _check_combinations(args)
    top = int_option(args.top, "--top", minimum=0)
    threads = -1 if args.threads is None else threads_option(args.threads)
    max_visits: Optional[int] = int_option(args.max_visits, "--max-visits", minimum=0)
    if max_visits == 0:
        max_visits = None
    shard = None if args.shard is None else _shard(args.shard)
    space = _read_space(args.space)
    source = args.space if args.space != "-" else "<stdin>"
    out = sys.stdout

    if args.count_only:
        _write_count(count(space), args.format, source, out)
        return 0
    if args.merge is not None:
        documents = [read_document(path, format="json").data for path in args.merge]
        result = merge_shards(space, documents, names=args.merge)
        _write_result(result, None, space, args.format, source, out)
        return 0

    sweeper = Sweeper(space)
    show_progress = not args.no_progress and sys.stderr.isatty()
    checkpoint = None if args.checkpoint is None else _Checkpoint(args.checkpoint, args.out is not None)
    from .batch import _terminate_cleanly

    try:
        with _terminate_cleanly(), _progress(show_progress) as on_progress:
            run = _run(sweeper, args, top, threads, max_visits, shard, checkpoint, on_progress)
    except KeyboardInterrupt:
        where = f"; progress saved in {args.checkpoint} (run the same command to resume)" if checkpoint else ""
        print(f"rfsearch: interrupted{where}", file=sys.stderr)
        return 130
    except (DaskUnavailableError, MissingDependencyError) as e:
        raise UsageError(str(e)) from None
    result = sweeper.result(run.restriction, run.state.partial, top=run.top, counts=run.counts, stats=run.stats)
    _write_result(result, run, space, args.format, source, out)
    return 0


def _run(sweeper: Sweeper, args: argparse.Namespace, top: int, threads: int, max_visits: Optional[int],
         shard: Optional[Tuple[int, int]], checkpoint: Optional[_Checkpoint],
         on_progress: Optional[Callable[[int, int], None]]) -> SweepRun:  # fmt: skip
    """Runs the sweep with its outputs: rows to --out (directly, or through the spool beside the
    checkpoint), checkpoints after each batch, Dask."""
    space = sweeper.space
    options: Dict[str, Any] = {"counts": not args.best_only, "threads": threads, "max_visits": max_visits,
                               "shard": shard, "on_progress": on_progress}  # fmt: skip
    spool: Optional[RowSpool] = None
    if checkpoint is not None:
        options["resume"] = checkpoint.state
        if args.out is not None:
            spool = RowSpool(checkpoint.path + ".rows", space, space.depth[1], sweeper.tokens)
            spool.open(checkpoint.rows_bytes if checkpoint.state is not None else 0)
            options["on_feasible"] = spool.append

        def commit(state: SweepState) -> None:
            checkpoint.save(state, None if spool is None else spool.commit())

        options["on_commit"] = commit
    runner: Any = contextlib.nullcontext()
    if args.dask is not None:
        runner = DaskRunner(args.dask, workers=None if args.threads is None else max(1, threads))
    try:
        with runner as dask:
            if dask is not None:
                options["executor"] = dask.executor
            if args.out is not None and spool is None:
                return _run_writing(sweeper, args.out, _out_format(args), top, options)
            run = sweeper.execute(top, **options)
        if spool is not None:
            with open_output(args.out) as target:
                writer = RowWriter(target.file, _out_format(args), space)
                try:
                    for rows in spool.blocks():
                        writer.write(rows)
                    writer.close()
                except BaseException:
                    writer.discard()
                    raise
        if checkpoint is not None:
            checkpoint.remove()
        if spool is not None:
            spool.close(remove=True)
            spool = None
        return run
    finally:
        if spool is not None:
            spool.close()


def _out_format(args: argparse.Namespace) -> str:
    found = args.out_format or row_format(args.out)
    assert found is not None  # checked with the options
    return str(found)


def _run_writing(sweeper: Sweeper, path: str, fmt: str, top: int, options: Dict[str, Any]) -> SweepRun:
    """A sweep writing its rows straight to --out (no checkpoint)."""
    with open_output(path) as target:
        writer = RowWriter(target.file, fmt, sweeper.space)

        def write(rows: FeasibleRows) -> None:
            writer.write(rows)

        try:
            run = sweeper.execute(top, on_feasible=write, **options)
            writer.close()
        except BaseException:
            writer.discard()
            raise
    return run


def _write_result(result: SweepResult, run: Optional[SweepRun], space: SearchSpace, fmt: str, source: str,
                  out: TextIO) -> None:  # fmt: skip
    if fmt == "json":
        doc = shard_document(run, result) if run is not None and run.shard is not None else result.to_dict()
        out.write(json.dumps(doc) + "\n")
    elif fmt == "csv":
        out.write(sweep_csv(result, space))
    else:
        print_sweep_table(result, space, source, out)


def add_sweep_parser(sub: Any) -> None:
    """Registers the `sweep` subcommand on cli's subparsers."""
    p = sub.add_parser(
        "sweep",
        help="exhaustive sweep of a search space: counts, best stacks, Pareto front",
        description="Every stack of a search space, enumerated in the C++ core with pruning: exact total and "
        "feasible counts, the best stacks by the space's objective, the Pareto front (several objectives), the RF "
        "histogram; or, with --count-only, exact counts without enumeration.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("space", metavar="SPACE", help="search-space file (.yaml, .yml, .json), - for standard input")
    p.add_argument("--count-only", action="store_true", help="exact total, feasible count and RF histogram by "
                   "dynamic programming, without enumerating (coverage and cost targets are refused)")  # fmt: skip
    p.add_argument("--top", default="10", metavar="K", help="how many best stacks to list (default 10)")
    p.add_argument("--best-only", action="store_true", help="only the best stacks and the Pareto front, by "
                   "branch-and-bound: faster, but feasible and rf_histogram are not counted")  # fmt: skip
    p.add_argument("--out", metavar="FILE", help="write every feasible stack to FILE (.csv, .jsonl, .npz, .parquet)")
    p.add_argument("--out-format", choices=sorted(set(ROW_FORMATS.values())),
                   help="format of --out (default: from its suffix)")  # fmt: skip
    p.add_argument("-f", "--format", choices=["table", "json", "csv"], default="table",
                   help="summary format on standard output (default table)")  # fmt: skip
    p.add_argument("-j", "--threads", default=None, metavar="N", help="threads: 1 or more, -1 for all cores "
                   "(default); with --dask local: the number of worker processes")  # fmt: skip
    p.add_argument("--checkpoint", metavar="FILE", help="save progress to FILE after each batch; resume from it "
                   "when it exists (removed when the sweep completes)")  # fmt: skip
    p.add_argument("--shard", metavar="i/n", help="run shard i of n (1-based), to merge later with --merge")
    p.add_argument("--merge", nargs="+", metavar="FILE", help="merge the JSON results of all shards of SPACE")
    p.add_argument("--dask", metavar="ADDR", help="run on Dask: 'local' (a LocalCluster) or a scheduler address "
                   "like tcp://host:8786")  # fmt: skip
    p.add_argument("--max-visits", default=str(DEFAULT_MAX_VISITS), metavar="N", help="refuse sweeps estimated "
                   f"to visit more stacks than N (default {DEFAULT_MAX_VISITS:.0e}; 0: no limit)")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no progress bar (none is shown when stderr is not "
                   "a terminal)")  # fmt: skip
    p.set_defaults(func=cmd_sweep)
