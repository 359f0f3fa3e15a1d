"""`rfsearch` argument parsing, error handling and `rfsearch compute`."""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
from typing import Any, Optional, Sequence, Tuple, Union

from ..errors import SpecError
from ..model.source import GraphSource, read_network
from ..model.values import parse_ints, parse_size
from .common import OneLineParser, UsageError

__all__ = ["SPEC_HELP", "main"]

SPEC_HELP = """\
SPEC (what it means is decided by its text alone, never by which files exist):
  conv3s1p1,maxpool2s2   compact text (anything not matched below), never read from a file
  net.yaml, net.json     a spec file: a name ending in .yaml, .yml or .json (any case)
  file:PATH              the spec file PATH, whatever its name
  -                      a spec file (YAML or JSON) from standard input
  zoo:NAME               a built-in model (rfsearch zoo lists them)
  (other prefixes like graph: are reserved for later kinds of SPEC: an error today)
A spec file holds a stack (a list of layers) or a graph (a mapping with `nodes`: ResNets,
U-Nets, ...); a graph prints one row per node.

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
    net = read_network(args.spec)
    unit: Union[None, int, Tuple[int, ...]] = None
    if args.unit is not None:
        values = parse_ints(args.unit, "unit index", minimum=0)
        unit = values[0] if len(values) == 1 else values
    if isinstance(net, GraphSource):
        return _compute_graph(args, net, unit)
    from ..results import render

    size = parse_size(args.input_size) if args.input_size is not None else net.input_size
    result = receptive_field(net.layers, size, backend=args.backend)
    if unit is not None:
        result.unit(unit)  # validate before printing anything
    if args.format == "json":
        sys.stdout.write(render.json_text(result, unit) + "\n")
    elif args.format == "csv":
        sys.stdout.write(render.csv_text(result))
    else:
        render.print_table(result, unit, sys.stdout)
    return 0


def receptive_field(layers: Any, size: Any, backend: str = "cpp") -> Any:
    """The sequential engine (rfsearch.core.network.receptive_field), imported on first use: it
    needs numpy, which a graph or a zoo model does not."""
    from ..core.network import receptive_field as engine

    return engine(layers, size, backend=backend)


def _compute_graph(args: argparse.Namespace, net: GraphSource, unit: Union[None, int, Tuple[int, ...]]) -> int:
    """A graph (zoo:NAME, or a file with `nodes`): the exact reference, one row per node."""
    import warnings

    from ..graph.compute import compute_graph, to_graph
    from ..graph.reference import AlignmentWarning

    graph = to_graph(net)
    size = parse_size(args.input_size) if args.input_size is not None else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AlignmentWarning)
        result = compute_graph(graph, size, alignment=args.alignment)
    for w in caught:  # misaligned merges under --alignment warn: one line each, on stderr
        print(f"rfsearch: warning: {one_line(str(w.message))}", file=sys.stderr)
    if unit is not None:
        result.unit(unit)  # validate before printing anything
    if args.format == "json":
        sys.stdout.write(result.json(unit) + "\n")
    elif args.format == "csv":
        sys.stdout.write(result.csv())
    else:
        result.print_table(unit, sys.stdout)
    return 0


#: Subcommands besides compute: (module, function adding its parser). A command line that names
#: one gets a parser with that subcommand alone, so each command imports its own room only
#: (`rfsearch compute zoo:vgg16` never loads numpy, `rfsearch batch` never the search room).
COMMANDS = {
    "batch": ("batch", "add_batch_parser"),
    "sample": ("sample", "add_sample_parser"),
    "sweep": ("sweep", "add_sweep_parser"),
    "zoo": ("zoo", "add_zoo_parser"),
    "inspect": ("inspect", "add_inspect_parser"),
    "verify": ("verify", "add_verify_parser"),
    "plot": ("plot", "add_plot_parser"),
    "search": ("search", "add_search_parser"),
}


def _add_command(sub: Any, name: str) -> None:
    import importlib

    module, function = COMMANDS[name]
    getattr(importlib.import_module(f".{module}", __package__), function)(sub)


def build_parser(only: Optional[str] = None) -> argparse.ArgumentParser:
    """The argument parser; `only`: a subcommand to register alone (None: all of them)."""
    parser = OneLineParser(prog="rfsearch", description="Exact receptive-field arithmetic for CNNs (Distill conventions).")
    parser.add_argument("--version", action=_Version)
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    if only in COMMANDS:
        _add_command(sub, only)
        return parser
    c = sub.add_parser(
        "compute",
        help="receptive field of one stack (per layer) or graph (per node)",
        description="Receptive field, jump, effective padding, centre and output size of one stack, per layer, "
        "or of one graph (zoo:NAME or a graph file), per node: RF max and min over paths, alignment of merges.",
        epilog=SPEC_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("spec", metavar="SPEC", help="compact text like conv3s1p1,maxpool2s2, a spec file (.yaml, .yml, "
                   ".json, or file:PATH), or - for a spec file on standard input (see below)")  # fmt: skip
    c.add_argument("-i", "--input-size", help="input size: 32 (every axis) or 224x224")
    c.add_argument("-u", "--unit", help="also show the RF of output unit i (or ixj)")
    c.add_argument("-f", "--format", choices=["table", "json", "csv"], default="table")
    c.add_argument("--backend", choices=["cpp", "python"], default="cpp",
                   help="stacks: cpp, the compiled core (default), or python, the pure-Python reference "
                        "(graphs are computed by the exact reference)")  # fmt: skip
    c.add_argument("--alignment", choices=["error", "warn", "ignore"], default=None,
                   help="graphs: what a merge whose inputs are not aligned (Distill) does: error (exit 2), warn "
                        "(one line on stderr) or ignore; default: the graph's own setting, else error")  # fmt: skip
    c.set_defaults(func=cmd_compute)
    if only == "compute":
        return parser

    for name in COMMANDS:
        _add_command(sub, name)
    return parser


class _Version(argparse.Action):
    """--version: the version looked up only when asked (importlib.metadata takes ~40 ms)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: Optional[str] = None) -> None:  # fmt: skip
        from .. import __version__

        print(f"rfsearch {__version__}")
        parser.exit()


def _command(argv: Sequence[str]) -> Optional[str]:
    """The subcommand named on the command line (None: none, or not one of ours: the full parser
    lists them)."""
    words = [a for a in argv if a != "--debug"]
    return words[0] if words and (words[0] in COMMANDS or words[0] == "compute") else None


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def one_line(message: str, limit: int = 1000) -> str:
    """An error message as one safe line: control characters (newlines, terminal escapes, bidi
    overrides) shown as escapes, and cut to `limit` characters."""
    safe = _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), message)
    return safe if len(safe) <= limit else safe[:limit] + "..."


def main(argv: Optional[Sequence[str]] = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command(words))
    args = parser.parse_args(words)
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


