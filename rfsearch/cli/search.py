"""`rfsearch search SPACE`: an Optuna search of a space file. A thin shell over
``rfsearch.search.optuna_search``."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import os
import re
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence

from .common import UsageError, int_option

if TYPE_CHECKING:  # the search room is imported when the command runs, not when the parser is built
    from ..search.evaluate import Entry
    from ..search.optuna_search import Search, SearchOptions, SearchResult

__all__ = ["add_search_parser"]

# The API's values (rfsearch.search.optuna_search), repeated so that building the parser stays
# cheap for every other command; tests/test_cli_search.py checks that they agree.
MODES = ("hierarchical", "flat")
SAMPLERS = ("tpe", "nsga2", "random", "qmc")
INNERS = ("sweep", "batch")
DEFAULT_TRIALS = 100
DEFAULT_INNER_SIZE = 65536
DEFAULT_BATCH = 64
DEFAULT_HEARTBEAT = 20
DEFAULT_GRACE = 60

EPILOG = """\
modes:
  hierarchical (default)  Optuna proposes the macro architecture (depth, where the downsampling
                          goes, dilations, kinds, ... per position, until at most --inner-size
                          candidates are left); the sweep engine solves the rest exactly and the
                          trial reports the best stack of its macro
  flat                    Optuna proposes whole stacks (depth, layer[i]), scored in batches

--trials N is the number of COMPLETE trials the study should reach: a rerun of the same command
resumes the study up to N (shared by every worker). The study name defaults to
rfsearch-<mode>-<hash of the space's content and the mode>; the journal file is
$RFSEARCH_STUDY_DIR/<study>.journal (default directory $XDG_DATA_HOME/rfsearch/studies, i.e.
~/.local/share/rfsearch/studies).
--storage takes a journal file path or any Optuna storage URL, e.g.
postgresql+psycopg://user@host/db: then several machines can run the same command, workers
record heartbeats and a dead worker's trial is retried after --grace seconds.

Every trial gets one constraint per target (rf, jump, output_size, rf_within_input, coverage,
params, macs), rules when the space has rules, and valid; infeasible stacks are complete trials
with positive (graded) violations. Several objectives: NSGA-II by default, and a Pareto front.

examples:
  rfsearch search examples/spaces/imagenet_stem.yaml --trials 50
  rfsearch search examples/spaces/tcn_history.yaml --trials 100 -f json
  rfsearch search space.yaml --storage postgresql+psycopg://me@db/studies --workers 4
"""

_NUMBER = re.compile(r"\s*\d+(\.\d*)?\s*|\s*\.\d+\s*", re.ASCII)


def _seconds(text: str, name: str) -> float:
    if not _NUMBER.fullmatch(text):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise UsageError(f"{name} must be a positive number of seconds, got {shown!r}")
    value = float(text)
    if not math.isfinite(value) or value <= 0 or value > 1e9:
        raise UsageError(f"{name} must be a positive number of seconds (at most 1e9), got {text.strip()!r}")
    return value


def _options(args: argparse.Namespace) -> SearchOptions:
    from ..search.optuna_search import SearchOptions

    heartbeat = int_option(args.heartbeat, "--heartbeat", minimum=1)
    grace = int_option(args.grace, "--grace", minimum=1)
    if grace <= heartbeat:
        raise UsageError(f"--grace ({grace} s) must be longer than --heartbeat ({heartbeat} s)")
    return SearchOptions(
        trials=int_option(args.trials, "--trials", minimum=1),
        timeout=None if args.timeout is None else _seconds(args.timeout, "--timeout"),
        mode=args.mode,
        sampler=args.sampler,
        seed=None if args.seed is None else int_option(args.seed, "--seed", minimum=0),
        storage=args.storage,
        study_name=args.study_name,
        workers=int_option(args.workers, "--workers", minimum=1),
        top=int_option(args.top, "--top", minimum=1),
        inner_size=int_option(args.inner_size, "--inner-size", minimum=1),
        inner=args.inner,
        batch=int_option(args.batch, "--batch", minimum=1),
        heartbeat=heartbeat,
        grace=grace,
    )


class _Bar:
    """The study's COMPLETE trials against the target, on stderr (a terminal only)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.progress: Any = None
        self.task: Any = None
        self.last = (0, 0)

    def __call__(self, done: int, total: int) -> None:
        self.last = (done, total)
        if not self.enabled:
            return
        if self.progress is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            self.progress = Progress("trials", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                     console=Console(stderr=True), transient=True)  # fmt: skip
            self.progress.start()
            self.task = self.progress.add_task("trials", total=total)
        self.progress.update(self.task, completed=min(done, total))

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _axes(values: Optional[Sequence[int]]) -> str:
    return "-" if values is None else "x".join(map(str, values))


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _objective_text(entry: Entry) -> str:
    return ", ".join(_number(v if isinstance(v, int) else float(v)) for v in entry.objective)


def _rows_table(entries: Sequence[Entry], result: SearchResult, title: str) -> List[str]:
    header = ["#", ", ".join(result.objective), "trial", "depth", "RF", "jump", "output", "params", "MACs", "spec"]
    rows = [header]
    for i, e in enumerate(entries, start=1):
        rows.append([str(i), _objective_text(e), str(result.found_by.get(e.choices, "-")), str(e.depth),
                     _axes(e.rf), _axes(e.jump), _axes(e.output_size), _number(e.params) if e.params is not None
                     else "-", _number(e.macs) if e.macs is not None else "-", e.spec])  # fmt: skip
    widths = [max(len(r[c]) for r in rows) for c in range(len(header))]
    right = set(range(len(header) - 1))
    lines = [title]
    for r in rows:
        cells = [r[c].rjust(widths[c]) if c in right else r[c] for c in range(len(header))]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


def _table(result: SearchResult, space_input: Any, plots: Sequence[str]) -> str:
    from ..core.network import receptive_field

    out = io.StringIO()
    new = f"{result.new_trials} new" if result.new_trials else "none new: the study had reached --trials"
    out.write(f"study {result.study_name} ({result.storage})\n")
    out.write(f"{result.trials} complete trials ({result.feasible_trials} feasible; {new}), {result.mode} mode, "
              f"sampler {result.sampler}, objective {', '.join(result.objective)}\n")  # fmt: skip
    if result.interrupted:
        out.write("interrupted: these are the results so far; run the same command again to resume\n")
    if not result.best:
        out.write("\nno feasible stack found yet: run more trials (--trials), or check the targets "
                  "(rfsearch.search.count tells whether any stack meets them)\n")  # fmt: skip
    else:
        out.write("\n" + "\n".join(_rows_table(result.best, result, f"best {len(result.best)}:")) + "\n")
        if result.pareto is not None:
            out.write("\n" + "\n".join(_rows_table(result.pareto, result, f"Pareto front ({len(result.pareto)}):"))
                      + "\n")  # fmt: skip
        for i, e in enumerate(result.best, start=1):
            out.write(f"\n#{i}  {e.spec}  (objective {_objective_text(e)})\n")
            from ..results import render

            out.write(render.table_text(receptive_field(e.layers, space_input)))
    if plots:
        out.write("\nplots: " + ", ".join(plots) + "\n")
    return out.getvalue()


def _csv(result: SearchResult) -> str:
    entries = [("best", e) for e in result.best] + [("pareto", e) for e in (result.pareto or ())]
    ndim = len(result.best[0].rf) if result.best else 1
    per_axis = (lambda name: [name]) if ndim == 1 else (lambda name: [f"{name}_{a}" for a in range(ndim)])
    header = ["set", "rank", "trial", "spec", "depth", *result.objective, *per_axis("rf"), *per_axis("jump"),
              *per_axis("output_size"), "params", "macs"]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    ranks = {"best": 0, "pareto": 0}
    for kind, e in entries:
        ranks[kind] += 1
        sizes = list(e.output_size) if e.output_size is not None else [""] * ndim
        writer.writerow([kind, ranks[kind], result.found_by.get(e.choices, ""), e.spec, e.depth,
                         *(_number(v if isinstance(v, int) else float(v)) for v in e.objective), *e.rf, *e.jump,
                         *sizes, "" if e.params is None else e.params, "" if e.macs is None else e.macs])  # fmt: skip
    return out.getvalue()


def _json_text(data: Dict[str, Any]) -> str:
    """One key per line, one entry per line in the lists of entries."""
    parts = []
    for key, value in data.items():
        if key in ("best", "pareto") and value:
            rows = ",\n".join("    " + json.dumps(row) for row in value)
            parts.append(f"  {json.dumps(key)}: [\n{rows}\n  ]")
        else:
            parts.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _write_plots(search_: Search, directory: str) -> List[str]:
    from ..io import open_output
    from ..search.optuna_plots import MissingPlotDependency, plot_images

    os.environ.setdefault("MPLBACKEND", "Agg")  # files only: never open a window
    try:
        images = plot_images(search_.open(), search_.space.objective)
    except MissingPlotDependency as e:
        raise UsageError(str(e)) from None
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--plot {directory}: not a directory")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in images.items():
        target = folder / name
        with open_output(target) as output:
            output.file.write(data)
        written.append(str(target))
    return written


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[_Bar]:
    bar = _Bar(enabled)
    try:
        yield bar
    finally:
        bar.stop()


@contextlib.contextmanager
def _graceful_interrupt() -> Iterator[threading.Event]:
    """While the search runs, the first Ctrl-C (SIGINT) sets the event: every worker finishes the
    trial it holds and stops (no storage write is cut in half). A second Ctrl-C raises
    KeyboardInterrupt as usual."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: Optional[FrameType]) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def cmd_search(args: argparse.Namespace) -> int:
    import optuna

    from ..search.optuna_search import Search, WorkerError, search
    from ..search.space import load_space

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    options = _options(args)
    space = load_space(args.space)
    search_ = Search(space, options)  # validates the plan and names the study before any work
    if args.plot is not None and Path(args.plot).exists() and not Path(args.plot).is_dir():
        raise UsageError(f"--plot {args.plot}: not a directory")
    show = not args.no_progress and sys.stderr.isatty()
    with _progress(show) as bar, _graceful_interrupt() as stop:
        try:
            result = search(space, options, stop=stop, on_progress=bar)
        except WorkerError as e:
            print(f"rfsearch: error: {e}", file=sys.stderr)
            return 1
    plots = _write_plots(search_, args.plot) if args.plot is not None and not result.interrupted else []
    if args.format == "json":
        data = result.to_dict()
        if args.plot is not None:
            data["plots"] = plots
        sys.stdout.write(_json_text(data))
    elif args.format == "csv":
        sys.stdout.write(_csv(result))
    else:
        sys.stdout.write(_table(result, space.input_size, plots))
    if result.interrupted:
        sys.stdout.flush()
        print(f"rfsearch: interrupted: {result.trials} of {options.trials} trials complete in study "
              f"{result.study_name} ({result.storage}); run the same command again to resume",
              file=sys.stderr)  # fmt: skip
        return 130
    return 0


def add_search_parser(sub: Any) -> None:
    """Registers the `search` subcommand on cli's subparsers."""
    s = sub.add_parser(
        "search",
        help="search a space file with Optuna (hierarchical: Optuna proposes macros, the engine solves them)",
        description="Optuna search of the stacks of a space file for the best ones that meet its targets.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("space", metavar="SPACE", help="a space file (YAML or JSON), as for rfsearch sweep")
    s.add_argument("--trials", default=str(DEFAULT_TRIALS), metavar="N",
                   help=f"COMPLETE trials the study should reach (default {DEFAULT_TRIALS}; a rerun resumes)")
    s.add_argument("--timeout", metavar="S", help="stop starting trials after S seconds")
    s.add_argument("--mode", choices=MODES, default="hierarchical", help="hierarchical (default) or flat")
    s.add_argument("--sampler", choices=SAMPLERS,
                   help="Optuna sampler (default: tpe for one objective, nsga2 for several)")
    s.add_argument("--seed", metavar="S", help="sampler seed (worker i uses S + i; qmc: S)")
    s.add_argument("--storage", metavar="URL",
                   help="a journal file path, or an Optuna storage URL (postgresql+psycopg://..., sqlite:///...)")
    s.add_argument("--study-name", metavar="NAME", help="default: rfsearch-<mode>-<hash of the space>")
    s.add_argument("--workers", default="1", metavar="N", help="worker processes on this machine (default 1)")
    s.add_argument("--top", default="3", metavar="K", help="best stacks to show, each with its per-layer table "
                   "(default 3)")  # fmt: skip
    s.add_argument("-f", "--format", choices=["table", "json", "csv"], default="table")
    s.add_argument("--plot", metavar="DIR", help="write PNG plots (history, Pareto front, importances) to DIR")
    s.add_argument("--inner-size", default=str(DEFAULT_INNER_SIZE), metavar="N",
                   help=f"hierarchical: most candidates per inner problem (default {DEFAULT_INNER_SIZE})")
    s.add_argument("--inner", choices=INNERS, default="sweep",
                   help="hierarchical: solve inner problems with the sweep engine (default) or by scoring "
                   "every candidate with the batch core")  # fmt: skip
    s.add_argument("--batch", default=str(DEFAULT_BATCH), metavar="N",
                   help=f"flat: trials asked and scored together (default {DEFAULT_BATCH})")
    s.add_argument("--heartbeat", default=str(DEFAULT_HEARTBEAT), metavar="S",
                   help=f"database storages: seconds between heartbeats (default {DEFAULT_HEARTBEAT})")
    s.add_argument("--grace", default=str(DEFAULT_GRACE), metavar="S",
                   help=f"database storages: seconds without a heartbeat before a trial is retried "
                   f"(default {DEFAULT_GRACE})")  # fmt: skip
    s.add_argument("--no-progress", action="store_true", help="no progress bar (none when stderr is not a terminal)")
    s.set_defaults(func=cmd_search)

