"""`rfsearch inspect MODEL`: the per-node receptive fields of a PyTorch or ONNX model."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Optional, Tuple, Union

from ..model.values import parse_ints
from .common import UsageError

__all__ = ["add_inspect_parser", "add_model_arguments", "load_graph_rf", "unit_option"]


def unit_option(text: Optional[str]) -> Union[None, int, Tuple[int, ...]]:
    """--unit 3 or 3x4 (0-based unit indices)."""
    if text is None:
        return None
    values = parse_ints(text, "unit index", minimum=0)
    return values[0] if len(values) == 1 else values


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """MODEL, --input-size, --neutral-op, --output: what inspect, verify and plot share."""
    p.add_argument("model", metavar="MODEL", help="FILE.py:NAME, package.module:NAME or FILE.onnx (see below)")
    p.add_argument("-i", "--input-size", help="input size: 224 (every axis), 224x224, or the full shape 1x3x224x224")
    p.add_argument("--neutral-op", action="append", default=[], metavar="NAME",
                   help="treat operators named NAME (module class, module path, function, method, ONNX op type) "
                        "as RF-neutral; repeat for several")  # fmt: skip
    p.add_argument("--output", metavar="NODE", help="the endpoint node (default: the model's output, or the feature "
                   "map its global pooling / flatten / linear head reads)")  # fmt: skip


def load_graph_rf(args: argparse.Namespace, alignment: str = "ignore") -> Any:
    """The GraphRF of the model the arguments name (errors as SpecError / UsageError)."""
    try:
        from ..importers import inspect
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise UsageError(str(e)) from None
    try:
        return inspect(args.model, args.input_size, neutral_ops=args.neutral_op, output=args.output,
                       alignment=alignment)  # fmt: skip
    except ImportError as e:
        raise UsageError(f"{e} (needed for {args.model})") from None


def cmd_inspect(args: argparse.Namespace) -> int:
    unit = unit_option(args.unit)
    result = load_graph_rf(args, args.alignment)
    if unit is not None:
        result.unit(unit)  # validate before printing anything
    if args.format == "json":
        sys.stdout.write(result.json(unit) + "\n")
    elif args.format == "csv":
        sys.stdout.write(result.csv())
    else:
        result.print_table(unit, sys.stdout)  # as `rfsearch compute` prints a graph
    return 0


def add_inspect_parser(sub: Any) -> None:
    from ..importers.api import MODEL_HELP

    p = sub.add_parser(
        "inspect",
        help="receptive field of every node of a PyTorch or ONNX model",
        description="Imports a PyTorch model (torch.fx symbolic tracing, no forward pass) or an ONNX file and prints "
        "every node's receptive field, jump, effective padding, centre and output size, as `rfsearch compute` "
        "does for a graph file.",
        epilog=MODEL_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_arguments(p)
    p.add_argument("-u", "--unit", help="also show the RF of output unit i (or ixj) of the endpoint")
    p.add_argument("-f", "--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--alignment", choices=["error", "warn", "ignore"], default="ignore",
                   help="misaligned merges: error, warn, or ignore (default; the table lists them)")  # fmt: skip
    p.set_defaults(func=cmd_inspect)
