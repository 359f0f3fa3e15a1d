"""`rfsearch zoo`: the built-in models (name, what they are, the published RF of their endpoint)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["add_zoo_parser", "cmd_zoo"]


def cmd_zoo(args: argparse.Namespace) -> int:
    from ..graph.zoo import zoo_entries

    entries = zoo_entries()
    if args.format == "json":
        sys.stdout.write(json.dumps([e._asdict() for e in entries], indent=2) + "\n")
        return 0
    rows = [("name", "published RF", "model"), *((e.name, "-" if e.published_rf is None else str(e.published_rf),
                                                  e.description) for e in entries)]  # fmt: skip
    widths = [max(len(r[c]) for r in rows) for c in range(2)]
    lines = [f"  {r[0].ljust(widths[0])}   {r[1].rjust(widths[1])}   {r[2]}" for r in rows]
    lines.insert(1, " " + "\u2500" * (max(map(len, lines)) - 1))
    lines += ["", "  use one anywhere a SPEC goes: rfsearch compute zoo:resnet50 -i 224;",
              "  sources of the published numbers: rfsearch zoo -f json"]  # fmt: skip
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def add_zoo_parser(sub: Any) -> None:
    """Registers `rfsearch zoo`."""
    z = sub.add_parser("zoo", help="list the built-in models (zoo:NAME)",
                       description="The built-in models: use one as SPEC, e.g. rfsearch compute zoo:vgg16 -i 224.")  # fmt: skip
    z.add_argument("-f", "--format", choices=["table", "json"], default="table")
    z.set_defaults(func=cmd_zoo)
