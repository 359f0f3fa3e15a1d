"""`rfsearch` argument parsing, error handling and `rfsearch compute`."""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
from typing import Optional, Sequence, Tuple, Union

from ..core.network import receptive_field
from ..errors import SpecError
from ..model.source import read_spec
from ..model.values import parse_ints, parse_size
from .common import UsageError

__all__ = ["SPEC_HELP", "main"]

SPEC_HELP = """\
SPEC (what it means is decided by its text alone, never by which files exist):
  conv3s1p1,maxpool2s2   compact text (anything not matched below), never read from a file
  net.yaml, net.json     a spec file: a name ending in .yaml, .yml or .json (any case)
  file:PATH              the spec file PATH, whatever its name
  -                      a spec file (YAML or JSON) from standard input
  zoo:NAME               a built-in model (reserved: none are available yet)
  (other prefixes like graph: are reserved for later kinds of SPEC: an error today)

compact grammar: tokens separated by commas, lowercase, each fully used:
  <op><kernel>[s<stride>][p<padding>][d<dilation>][c]   op: conv, maxpool, avgpool
  values: 3 (every axis) or 1x7 (per axis); padding also same, valid, 0:1 (before:after)
  c = ceil_mode (pooling); RF-neutral words: relu, bn, identity, dropout, ...
  e.g. conv7s2p3,bn,relu,maxpool3s2p1,conv3d2p2    (Conv2d3 is refused: conv3 is a 3x3 conv)
"""


def cmd_compute(args: argparse.Namespace) -> int:
    # One network's data (layers, rows, cells) holds no reference cycles: the cyclic collector
    # would only rescan it, over and over (3x the time on 100,000 layers).
    paused = gc.isenabled()
    gc.disable()
    try:
        return _compute(args)
    finally:
        if paused:
            gc.enable()


def _compute(args: argparse.Namespace) -> int:
    from ..results import render

    spec = read_spec(args.spec)
    size = parse_size(args.input_size) if args.input_size is not None else spec.input_size
    unit: Union[None, int, Tuple[int, ...]] = None
    if args.unit is not None:
        values = parse_ints(args.unit, "unit index", minimum=0)
        unit = values[0] if len(values) == 1 else values
    result = receptive_field(spec.layers, size, backend=args.backend)
    if unit is not None:
        result.unit(unit)  # validate before printing anything
    if args.format == "json":
        sys.stdout.write(render.json_text(result, unit) + "\n")
    elif args.format == "csv":
        sys.stdout.write(render.csv_text(result))
    else:
        render.print_table(result, unit, sys.stdout)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="rfsearch", description="Exact receptive-field arithmetic for CNNs (Distill conventions)."
    )
    parser.add_argument("--version", action="version", version=f"rfsearch {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    c = sub.add_parser(
        "compute",
        help="receptive field of one stack, per layer",
        description="Receptive field, jump, effective padding, centre and output size of one stack.",
        epilog=SPEC_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("spec", metavar="SPEC", help="compact text like conv3s1p1,maxpool2s2, a spec file (.yaml, .yml, "
                   ".json, or file:PATH), or - for a spec file on standard input (see below)")  # fmt: skip
    c.add_argument("-i", "--input-size", help="input size: 32 (every axis) or 224x224")
    c.add_argument("-u", "--unit", help="also show the RF of output unit i (or ixj)")
    c.add_argument("-f", "--format", choices=["table", "json", "csv"], default="table")
    c.add_argument("--backend", choices=["cpp", "python"], default="cpp",
                   help="cpp: the compiled core (default); python: the pure-Python reference")  # fmt: skip
    c.set_defaults(func=cmd_compute)

    from .batch import add_batch_parser

    add_batch_parser(sub)
    from .search import add_search_parser

    add_search_parser(sub)
    return parser


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def one_line(message: str, limit: int = 1000) -> str:
    """An error message as one safe line: control characters (newlines, terminal escapes, bidi
    overrides) shown as escapes, and cut to `limit` characters."""
    safe = _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), message)
    return safe if len(safe) <= limit else safe[:limit] + "..."


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # e.g. `rfsearch compute ... | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (SpecError, ValueError, TypeError, OverflowError, OSError, UsageError, RecursionError, MemoryError) as e:
        if args.debug:
            raise
        print(f"rfsearch: error: {one_line(str(e) or type(e).__name__)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rfsearch: interrupted", file=sys.stderr)
        return 130


