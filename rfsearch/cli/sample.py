"""`rfsearch sample SPACE -n N`: feasible stacks of a search space, drawn uniformly. A thin shell
over ``rfsearch.search.sample``."""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
from fractions import Fraction
from typing import Any, List, Sequence

from ..io.output import open_output
from ..search.evaluate import Entry
from ..search.sample import Sampler
from ..search.space import load_space
from .common import UsageError, int_option

__all__ = ["add_sample_parser", "entries_csv", "entries_json"]

EPILOG = """\
SPACE is a search space file (YAML or JSON; see README "Search spaces"). Each stack is drawn
uniformly among the feasible ones: an index below the exact feasible count (SHA-256 of the seed
and the draw number, by rejection: integers only) mapped to that stack in choice order. The same
--seed gives the same stacks on every run and platform; without one a random seed is used.
Targets the exact counter cannot handle (coverage, max_params, max_macs) are met by rejection
from the stacks feasible without them (still uniform), at most --max-draws draws.

output (-f): json, a list of entries {spec, choices, depth, rf, jump, output_size, params,
macs, objective, blind_spots} (per-axis values as lists; objective a number, or a list with
several objectives); csv, one row per entry with the same columns (rf, or rf_0, rf_1, ... per
axis; objective_<name> per objective when there are several; choices as space-separated
indices; empty cells for none). `spec` is compact text that `rfsearch compute` accepts.

examples:
  rfsearch sample examples/spaces/imagenet_stem.yaml -n 3 --seed 1
  rfsearch sample examples/spaces/tcn_history.yaml -n 2 --seed 7 -f csv
"""


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, Fraction) else value


def entries_json(entries: Sequence[Entry], multi_objective: bool) -> str:
    """The entries as a JSON list, one entry per line (exact integers; x.5 RF errors as floats)."""
    if not entries:
        return "[]"
    rows = ",\n".join("  " + json.dumps(e.to_dict(multi_objective)) for e in entries)
    return "[\n" + rows + "\n]"


def entries_csv(entries: Sequence[Entry], ndim: int, objectives: Sequence[str]) -> str:
    """The entries as CSV: spec, choices, depth, per-axis rf / jump / output_size, params, macs,
    the objective(s), per-axis blind_spots."""
    axes = [""] if ndim == 1 else [f"_{a}" for a in range(ndim)]
    names = ["objective"] if len(objectives) == 1 else [f"objective_{o}" for o in objectives]
    header = ["spec", "choices", "depth", *(f"{f}{s}" for f in ("rf", "jump", "output_size") for s in axes),
              "params", "macs", *names, *(f"blind_spots{s}" for s in axes)]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)

    def per_axis(values: Any) -> List[Any]:
        return [""] * ndim if values is None else ["" if v is None else v for v in values]

    for e in entries:
        writer.writerow([e.spec, " ".join(map(str, e.choices)), e.depth, *per_axis(e.rf), *per_axis(e.jump),
                         *per_axis(e.output_size), "" if e.params is None else e.params,
                         "" if e.macs is None else e.macs, *(_number(v) for v in e.objective),
                         *per_axis(e.blind_spots)])  # fmt: skip
    return out.getvalue()


def cmd_sample(args: argparse.Namespace) -> int:
    n = int_option(args.n, "-n", minimum=0)
    seed = None if args.seed is None else int_option(args.seed, "--seed", minimum=0)
    max_draws = None if args.max_draws is None else int_option(args.max_draws, "--max-draws", minimum=1)
    if args.format not in ("json", "csv"):  # pragma: no cover - argparse checks choices
        raise UsageError(f"unknown format {args.format!r}")
    space = load_space(args.space)
    multi = len(space.objective) > 1
    sampler = Sampler(space, backend=args.backend)
    chunks = sampler.iter_choices(n, seed, max_draws=max_draws)
    first = next(chunks, [])  # errors (no feasible stack, ...) before any output is opened
    with open_output(args.output) as out:
        # written a chunk at a time: -n 10**9 streams instead of holding every entry in memory
        for i, choices in enumerate(itertools.chain([first], chunks)):
            entries = [sampler.entry(c) for c in choices]
            if args.format == "json":
                text = entries_json(entries, multi)
                if n == 0:
                    text += "\n"
                elif i == 0:
                    text = text[: -len("\n]")]
                else:
                    text = ",\n" + text[len("[\n") : -len("\n]")]
            else:
                text = entries_csv(entries, space.ndim, space.objective)
                if i > 0:
                    text = text.split("\n", 1)[1]  # the header once
            out.file.write(text.encode("utf-8"))
        if args.format == "json" and n > 0:
            out.file.write(b"\n]\n")
    return 0


def add_sample_parser(sub: Any) -> None:
    """Registers the `sample` subcommand on cli's subparsers."""
    s = sub.add_parser(
        "sample",
        help="feasible stacks of a search space, drawn uniformly (exact, seeded)",
        description="N feasible stacks of the search space SPACE, each drawn uniformly and independently "
        "among all feasible stacks, with their metrics.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("space", metavar="SPACE", help="a search space file (.yaml, .yml or .json)")
    s.add_argument("-n", required=True, metavar="N", help="number of stacks to draw (with replacement)")
    s.add_argument("--seed", metavar="S", help="a non-negative integer: the same seed gives the same stacks")
    s.add_argument("-f", "--format", choices=["json", "csv"], default="json",
                   help="output format (default: json)")  # fmt: skip
    s.add_argument("-o", "--output", metavar="OUT", help="output file (default, or -: standard output); written "
                   "to a temporary file and renamed when complete")  # fmt: skip
    s.add_argument("--max-draws", metavar="M", help="most draws when coverage or cost targets are met by "
                   "rejection (default: 1000 + 100 N)")  # fmt: skip
    s.add_argument("--backend", choices=["cpp", "python"], default="cpp",
                   help="the exact counter: cpp (compiled, default) or python (the reference); "
                   "the same stacks")  # fmt: skip
    s.set_defaults(func=cmd_sample)
