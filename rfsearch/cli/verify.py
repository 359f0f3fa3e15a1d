"""`rfsearch verify MODEL`: the analytic RF of one unit against the gradient of an exact probe."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .common import UsageError
from .inspect import add_model_arguments, unit_option

__all__ = ["add_verify_parser"]

EPILOG = """\
The probe (see README, "Gradient verification"): the model traced by torch.fx, run in float64 on
an input of ones, every weight a positive constant, max and average pooling replaced by sums over
the same windows, activations / normalisation / dropout passed through, products of two computed
tensors replaced by sums. Its gradient is then nonzero exactly where a path reaches, and equals
the exact path count. --naive also runs the usual check (the model as it is, an input of zeros,
output channel 0), which max pooling, dead ReLUs and cancelling weights make undercount.

Exit code: 0 when everything compared agrees, 1 when something differs, 2 for bad input.
"""


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        from ..importers.verify import verify
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise UsageError(str(e)) from None
    if args.input_size is None:
        raise UsageError("verify needs --input-size (e.g. 32, 224x224 or 1x3x224x224)")
    try:
        result = verify(args.model, args.input_size, unit=unit_option(args.unit), node=args.output,
                        neutral_ops=args.neutral_op, naive=args.naive)  # fmt: skip
    except ImportError as e:
        raise UsageError(f"{e} (needed for {args.model})") from None
    if args.format == "json":
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(str(result) + "\n")
    return 0 if result.agrees else 1


def add_verify_parser(sub: Any) -> None:
    from ..importers.api import MODEL_HELP

    p = sub.add_parser(
        "verify",
        help="check a unit's analytic RF against the gradient of an exact probe (PyTorch)",
        description="Back-propagates from one output unit of a PyTorch model through a probe built so the answer is "
        "exact, and compares where the gradient is nonzero with the analytic RF, its centre and the exact path "
        "count.",
        epilog=EPILOG + "\n" + MODEL_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_arguments(p)
    p.add_argument("-u", "--unit", help="the unit i (or ixj) of the endpoint to check (default: the centre unit)")
    p.add_argument("--naive", action="store_true", help="also run the usual (undercounting) gradient check")
    p.add_argument("-f", "--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_verify)
