"""`rfsearch plot growth|unit TARGET -o FILE`: figures as PNG, SVG or PDF."""

from __future__ import annotations

import argparse
import re
from typing import Any, Optional

from ..model.values import parse_ints
from .common import UsageError, int_option

__all__ = ["add_plot_parser"]

TARGET_HELP = """\
TARGET (decided by its text alone):
  conv3p1,maxpool2       compact text (a stack)
  net.yaml, file:PATH    a spec or graph file;  zoo:NAME  a built-in model
  FILE.onnx, FILE.py:NAME, package.module:NAME   a model (as for rfsearch inspect; a .py file is run)
The format of -o is its suffix: .png, .svg or .pdf.
"""

_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def _is_model(target: str) -> bool:
    if target.startswith(("zoo:", "file:")):
        return False
    return target.lower().endswith(".onnx") or ".py:" in target or bool(_MODULE.fullmatch(target))


def _graph(args: argparse.Namespace) -> Any:
    """The Graph TARGET names (models imported with their input size)."""
    if _is_model(args.target):
        try:
            from ..importers import to_graph
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise UsageError(str(e)) from None
        return to_graph(args.target, args.input_size, neutral_ops=args.neutral_op)
    from ..graph.erf import as_graph

    return as_graph(args.target)


def _size(args: argparse.Namespace) -> Optional[str]:
    return None if _is_model(args.target) else args.input_size


def cmd_plot(args: argparse.Namespace) -> int:
    try:
        from ..plot import plot_erf, plot_growth, plot_unit
        from ..plot.figures import FORMATS
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise UsageError(str(e)) from None
    if args.out != "-" and not args.out.lower().endswith(tuple(FORMATS)):
        raise UsageError(f"-o {args.out}: the file name must end in {', '.join(FORMATS)}")
    try:
        if args.kind == "growth":
            figure = plot_growth(_graph(args), _size(args), log={"auto": None, "yes": True, "no": False}[args.log])
        else:
            unit = None
            if args.unit is not None:
                values = parse_ints(args.unit, "unit index", minimum=0)
                unit = values[0] if len(values) == 1 else values
            if args.erf == "empirical":
                if not _is_model(args.target) or args.target.lower().endswith(".onnx"):
                    raise UsageError("--erf empirical needs a PyTorch model (FILE.py:NAME or package.module:NAME)")
                if args.input_size is None:
                    raise UsageError("--erf empirical needs --input-size")
                from ..importers.verify import empirical_erf

                samples = int_option(args.samples, "--samples")
                erf = empirical_erf(args.target, args.input_size, unit=unit, node=args.node, samples=samples,
                                  seed=int_option(args.seed, "--seed", minimum=0), neutral_ops=args.neutral_op)  # fmt: skip
                figure = plot_erf(erf, image=args.image)
            else:
                figure = plot_unit(_graph(args), unit, input_size=_size(args), node=args.node, image=args.image,
                                   borders=args.borders, erf=args.erf == "exact")  # fmt: skip
    except ImportError as e:
        raise UsageError(f"{e} (needed for {args.target})") from None
    figure.save(args.out)
    return 0


def add_plot_parser(sub: Any) -> None:
    p = sub.add_parser(
        "plot",
        help="draw RF and jump per layer, or one unit's RF, ERF and blind spots (PNG, SVG, PDF)",
        description="growth: RF and jump per layer (node), per axis. unit: one unit's RF (padding included), its ERF "
        "(exact path counts, or a PyTorch model's empirical gradients) and blind spots, over the input grid or an "
        "image.",
        epilog=TARGET_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("kind", choices=["growth", "unit"], help="what to draw")
    p.add_argument("target", metavar="TARGET", help="a stack, graph file, zoo:NAME or model (see below)")
    p.add_argument("-o", dest="out", required=True, metavar="FILE", help="output file: .png, .svg or .pdf")
    p.add_argument("-i", "--input-size", help="input size: 32 (every axis), 224x224, or 1x3x224x224 for a model")
    p.add_argument("-u", "--unit", help="unit: the unit i (or ixj) to draw (default: the centre unit)")
    p.add_argument("--node", help="unit: the node whose unit is drawn (default: the endpoint)")
    p.add_argument("--image", help="unit: draw over this image (PNG; its size is the input size unless given)")
    p.add_argument("--erf", choices=["exact", "empirical", "none"], default="exact",
                   help="unit: exact path counts (default), a PyTorch model's empirical gradients, or none")  # fmt: skip
    p.add_argument("--borders", action="store_true", help="unit: exact counts stop at borders (paths through "
                   "padding cut)")  # fmt: skip
    p.add_argument("--samples", default="16", help="unit, --erf empirical: random inputs averaged (default 16)")
    p.add_argument("--seed", default="0", help="unit, --erf empirical: random seed (default 0)")
    p.add_argument("--log", choices=["auto", "yes", "no"], default="auto", help="growth: log scale for the RF")
    p.add_argument("--neutral-op", action="append", default=[], metavar="NAME", help="for models: treat NAME as "
                   "RF-neutral (as for rfsearch inspect)")  # fmt: skip
    p.set_defaults(func=cmd_plot)
