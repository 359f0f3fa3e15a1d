"""`rfsearch` argument parsing, error handling and `rfsearch compute`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from ..core.network import receptive_field
from ..errors import SpecError
from ..model.grammar import parse_layers
from ..model.specfile import Spec, load_spec
from ..model.values import parse_size
from .common import UsageError

__all__ = ["main"]

SPEC_SUFFIXES = (".yaml", ".yml", ".json")


def read_spec(text: str) -> Spec:
    """SPEC argument: a spec file path, or compact text."""
    path = Path(text)
    if path.suffix.lower() in SPEC_SUFFIXES or path.is_file():
        return load_spec(path)
    return Spec(parse_layers(text))


def _unit(text: str) -> List[int]:
    try:
        return [int(v) for v in text.lower().split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"unit must look like 3 or 3x4, got {text!r}") from None


def cmd_compute(args: argparse.Namespace) -> int:
    from ..results import render

    spec = read_spec(args.spec)
    size = parse_size(args.input_size) if args.input_size else spec.input_size
    result = receptive_field(spec.layers, size, backend=args.backend)
    unit = None
    if args.unit is not None:
        unit = args.unit[0] if len(args.unit) == 1 else args.unit
        result.unit(unit)  # validate before printing anything
    if args.format == "json":
        print(render.json_text(result, unit))
    elif args.format == "csv":
        sys.stdout.write(render.csv_text(result))
    else:
        from rich.console import Console

        Console().print(render.table_renderable(result, unit))
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
    )
    c.add_argument("spec", help="compact text like conv3s1p1,maxpool2s2 or a .yaml/.json spec file")
    c.add_argument("-i", "--input-size", help="input size: 32 (every axis) or 224x224")
    c.add_argument("-u", "--unit", type=_unit, help="also show the RF of output unit i (or ixj)")
    c.add_argument("-f", "--format", choices=["table", "json", "csv"], default="table")
    c.add_argument("--backend", choices=["cpp", "python"], default="cpp",
                   help="cpp: the compiled core (default); python: the pure-Python reference")  # fmt: skip
    c.set_defaults(func=cmd_compute)

    from .batch import add_batch_parser

    add_batch_parser(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # e.g. `rfsearch compute ... | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (SpecError, ValueError, TypeError, OverflowError, OSError, UsageError) as e:
        if args.debug:
            raise
        print(f"rfsearch: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rfsearch: interrupted", file=sys.stderr)
        return 130


