"""Output: RFResult as a rich table, JSON or CSV text."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:  # render reads results; results never need render at import time
    from .network import RFResult

__all__ = ["csv_text", "json_text", "table_renderable", "table_text"]

Unit = Union[None, int, Sequence[int]]


def _axes(values: Optional[Sequence[Any]]) -> str:
    if values is None:
        return "-"
    return "x".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def table_renderable(result: RFResult, unit: Unit = None) -> Group:
    """A rich renderable: one row per layer, then a summary (and the chosen unit's RF)."""
    table = Table(box=box.SIMPLE_HEAD, title_justify="left")
    for name, justify in [("#", "right"), ("layer", "left"), ("RF", "right"), ("jump", "right"),
                          ("eff. padding", "right"), ("start", "right"), ("centre", "right"),
                          ("output size", "right")]:  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    ones = (1,) * result.ndim
    table.add_row("", "input", _axes(ones), _axes(ones), _axes((0,) * result.ndim), _axes((0,) * result.ndim),
                  _axes((0,) * result.ndim), _axes(result.input_size))  # fmt: skip
    for row in result.layers:
        style = "red" if result.collapsed_at == row.index else None
        table.add_row(str(row.index), row.layer.label, _axes(row.rf), _axes(row.jump), _axes(row.effective_padding),
                      _axes(row.start), _axes(row.center), _axes(row.output_size), style=style)  # fmt: skip
    lines = [
        f"RF {_axes(result.rf)}, jump {_axes(result.jump)}, effective padding {_axes(result.effective_padding)}"
        + ("" if result.output_size is None else f", output {_axes(result.output_size)}"),
        f"unit 0 sees input from {_axes(result.start)}, centre {_axes(result.center)}",
    ]
    if not result.valid:
        lines.append(f"INVALID: output collapsed at layer {result.collapsed_at} (size < 1 for this input)")
    exceeds = result.rf_exceeds_input
    if exceeds and any(exceeds):
        axes = ", ".join(str(a) for a, e in enumerate(exceeds) if e)
        lines.append(f"note: RF larger than the input on axis {axes}")
    if unit is not None:
        u = result.unit(unit)
        seen = " x ".join(f"[{lo}, {hi}]" for lo, hi in u.interval)
        lines.append(f"unit {_axes(u.index)} sees input {seen}")
        if u.clipped is not None:
            clip = " x ".join("none (all padding)" if c is None else f"[{c[0]}, {c[1]}]" for c in u.clipped)
            lines.append(f"  inside the image: {clip}")
    return Group(table, *(Text(line, style="bold red" if line.startswith("INVALID") else "") for line in lines))


def table_text(result: RFResult, unit: Unit = None, width: int = 120) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(table_renderable(result, unit))
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


def json_text(result: RFResult, unit: Unit = None) -> str:
    return json.dumps(result.to_dict(unit), indent=2)


def csv_text(result: RFResult) -> str:
    """One row per layer; per-axis values as rf (1 axis) or rf_0, rf_1, ... (several axes)."""
    fields = ["rf", "jump", "effective_padding", "start", "center", "output_size"]
    suffixes = [""] if result.ndim == 1 else [f"_{a}" for a in range(result.ndim)]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["index", "name", *(f + s for f in fields for s in suffixes)])
    for row in result.layers:
        d = row.to_dict()
        values = [d[f][a] if d[f] is not None else "" for f in fields for a in range(result.ndim)]
        writer.writerow([row.index, row.layer.label, *values])
    return buf.getvalue()
