"""Output: RFResult as a table (plain text, rich Text, HTML), JSON or CSV text.

User strings (layer names) are data, never markup: the table is laid out here as plain text
(rich never parses it), rich output is a `Text` with styles set by position, and HTML is
escaped. The layout is rich's SIMPLE_HEAD table drawn by hand, so it costs a few string joins
per row: a 100,000-layer table renders in well under a second (rich's Table takes minutes).
"""

from __future__ import annotations

import csv
import html
import io
import json
from typing import TYPE_CHECKING, List, Optional, Sequence, TextIO, Tuple, Union

from rich.cells import cell_len
from rich.text import Text

if TYPE_CHECKING:  # render reads results; results never need render at import time
    from .network import RFResult

__all__ = ["csv_text", "html_table", "json_text", "print_table", "table_lines", "table_renderable", "table_text"]

Unit = Union[None, int, Sequence[int]]

COLUMNS: Tuple[Tuple[str, str], ...] = (
    ("#", "right"), ("layer", "left"), ("RF", "right"), ("jump", "right"), ("eff. padding", "right"),
    ("start", "right"), ("centre", "right"), ("output size", "right"),
)  # fmt: skip
_RULE = "\u2500"


def _axes(values: Optional[Sequence[int]]) -> str:
    return "-" if values is None else "x".join(map(str, values))


def _half(twice: int) -> str:
    """twice / 2 exactly: '3', '1.5', '-0.5' (centres are half-integers; floats would round big ones)."""
    whole, half = divmod(abs(twice), 2)
    text = f"{whole}.5" if half else str(whole)
    return f"-{text}" if twice < 0 else text


def _centre(rf: Optional[Sequence[int]], padding: Optional[Sequence[int]]) -> str:
    if rf is None or padding is None:
        return "-"
    return "x".join(_half(r - 1 - 2 * p) for r, p in zip(rf, padding))


def _column(values: Sequence[Optional[Sequence[int]]], ndim: int) -> List[str]:
    """Per-axis values of every row as cells ('-' where a row has none)."""
    if ndim == 1:  # the common case, ~10x faster than joining
        return ["-" if v is None else str(v[0]) for v in values]
    return [_axes(v) for v in values]


def _cells(result: RFResult) -> List[List[str]]:
    """The table's cells, column by column: the input row, then one row per layer."""
    ndim, rows = result.ndim, result.layers
    ones, zeros = "x".join(["1"] * ndim), "x".join(["0"] * ndim)
    pads = [r.effective_padding for r in rows]
    rfs = [r.rf for r in rows]
    starts = [None if p is None else tuple(-v for v in p) for p in pads]
    return [
        ["", *map(str, range(len(rows)))] if all(r.index == i for i, r in enumerate(rows))
        else ["", *(str(r.index) for r in rows)],
        ["input", *(r.layer.label for r in rows)],
        [ones, *_column(rfs, ndim)],
        [ones, *_column([r.jump for r in rows], ndim)],
        [zeros, *_column(pads, ndim)],
        [zeros, *_column(starts, ndim)],
        [zeros, *(_centre(r, p) for r, p in zip(rfs, pads))],
        [_axes(result.input_size), *_column([r.output_size for r in rows], ndim)],
    ]  # fmt: skip


def _blind_line(spots: Sequence[Optional[int]]) -> str:
    """The summary line for blind spots (only when some axis has any, or was not computed)."""
    counts = "x".join("?" if s is None else str(s) for s in spots)
    line = f"blind spots {counts}: offsets inside the RF that no path reaches (gridding)"
    if any(s is None for s in spots):
        axes = ", ".join(str(a) for a, s in enumerate(spots) if s is None)
        line += f"; ? = not computed, the RF on axis {axes} is above the reach cap"
    return line


def _summary(result: RFResult, unit: Unit) -> List[str]:
    lines = [
        f"RF {_axes(result.rf)}, jump {_axes(result.jump)}, effective padding {_axes(result.effective_padding)}"
        + ("" if result.output_size is None else f", output {_axes(result.output_size)}"),
        f"unit 0 sees input from {_axes(result.start)}, centre {_centre(result.rf, result.effective_padding)}",
    ]
    spots = result.blind_spots
    if spots is not None and any(s != 0 for s in spots):
        lines.append(_blind_line(spots))
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
    return lines


def table_lines(result: RFResult, unit: Unit = None) -> Tuple[List[str], int, Optional[int]]:
    """The table as lines of text, plus the index of the header line and of the collapsed layer's
    line (None if the stack is valid): rich's SIMPLE_HEAD layout, then the summary lines."""
    columns = _cells(result)
    body: List[List[str]] = []
    for (title, justify), cells in zip(COLUMNS, columns):
        texts = [title, *cells]
        if "".join(texts).isascii():  # one character, one cell: str's own padding (C speed)
            width = max(map(len, texts))
            body.append([t.rjust(width) if justify == "right" else t.ljust(width) for t in texts])
            continue
        lengths = [cell_len(t) for t in texts]  # wide characters (CJK, emoji) take two cells
        width = max(lengths)
        if justify == "right":
            body.append([" " * (width - n) + t for t, n in zip(texts, lengths)])
        else:
            body.append([t + " " * (width - n) for t, n in zip(texts, lengths)])
    # rich's SIMPLE_HEAD: an edge space, then each cell padded by a space on either side, columns
    # separated by a space: two spaces before the first cell, three between cells, two at the end.
    rows = ["  " + "   ".join(row) + "  " for row in zip(*body)]
    width = len(rows[0]) if rows[0].isascii() else cell_len(rows[0])
    rule = " " + _RULE * (width - 2) + " "
    blank = " " * width
    lines = [blank, rows[0], rule, *rows[1:], blank, *_summary(result, unit)]
    collapsed = None if result.collapsed_at is None else 4 + result.collapsed_at  # blank, header, rule, input
    return lines, 1, collapsed


def table_text(result: RFResult, unit: Unit = None) -> str:
    """The per-layer table as plain text (what `rfsearch compute` prints), ending in a newline."""
    lines, _, _ = table_lines(result, unit)
    return "\n".join(lines) + "\n"


def table_renderable(result: RFResult, unit: Unit = None) -> Text:
    """The table as a rich Text: bold header, the collapsed layer and INVALID line in red. Names
    stay text: nothing in it is parsed as markup."""
    lines, header, collapsed = table_lines(result, unit)
    text = Text("\n".join(lines), no_wrap=True, overflow="ignore", end="\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    text.stylize("bold", starts[header], starts[header + 1] - 1)
    if collapsed is not None:
        text.stylize("red", starts[collapsed], starts[collapsed + 1] - 1)
    for i, line in enumerate(lines):
        if line.startswith("INVALID"):
            text.stylize("bold red", starts[i], starts[i + 1] - 1)
    return text


#: Up to this many layers, a terminal gets the table styled by rich; beyond, plain text (rich
#: would take seconds to style it, and nobody reads 100,000 coloured rows).
STYLED_ROWS = 5000


def print_table(result: RFResult, unit: Unit = None, file: Optional[TextIO] = None) -> None:
    """Writes the table to `file` (stdout): styled on a terminal, plain text otherwise."""
    import sys

    out = file if file is not None else sys.stdout
    if out.isatty() and len(result.layers) <= STYLED_ROWS:
        from rich.console import Console

        Console(file=out, soft_wrap=True).print(table_renderable(result, unit), crop=False)
    else:
        out.write(table_text(result, unit))


#: HTML tables show at most this many layers: the first and last halves, and how many are left out.
HTML_ROWS = 1000


def html_table(result: RFResult, unit: Unit = None) -> str:
    """The table as an HTML fragment (Jupyter's rich display); every cell is escaped."""
    columns = _cells(result)
    head = "".join(f"<th style=\"text-align:{j}\">{html.escape(t)}</th>" for t, j in COLUMNS)
    rows = []
    table = list(enumerate(zip(*columns)))
    if len(table) > HTML_ROWS + 1:  # the input row, then layers
        half = HTML_ROWS // 2
        left_out = len(table) - 1 - 2 * half
        gap = f'<tr><td colspan="{len(COLUMNS)}">... {left_out:,} more layers ...</td></tr>'
        table = table[: 1 + half] + [(-1, ())] + table[-half:]
    for i, row in table:
        if i < 0:
            rows.append(gap)
            continue
        red = ' style="color:red"' if result.collapsed_at is not None and i - 1 == result.collapsed_at else ""
        cells = "".join(f"<td style=\"text-align:{j}\">{html.escape(c)}</td>" for c, (_, j) in zip(row, COLUMNS))
        rows.append(f"<tr{red}>{cells}</tr>")
    summary = "<br>".join(html.escape(line) for line in _summary(result, unit))
    return (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"<p style=\"font-family:monospace\">{summary}</p>")  # fmt: skip


def json_text(result: RFResult, unit: Unit = None) -> str:
    """result.to_dict(unit) as JSON: one key per line, and one line per layer (json.dumps with
    indent runs in pure Python: 100,000 layers would take seconds)."""
    data = result.to_dict(unit)
    parts = []
    for key, value in data.items():
        if key == "layers":
            rows = ",\n".join("    " + json.dumps(row) for row in value)
            parts.append(f'  "layers": [\n{rows}\n  ]' if value else '  "layers": []')
        else:
            parts.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(parts) + "\n}"


def csv_text(result: RFResult) -> str:
    """One row per layer; per-axis values as rf (1 axis) or rf_0, rf_1, ... (several axes);
    blind spots last (an empty cell: not computed, or not reached)."""
    fields = ["rf", "jump", "effective_padding", "start", "center", "output_size", "blind_spots"]
    ndim = result.ndim
    suffixes = [""] if ndim == 1 else [f"_{a}" for a in range(ndim)]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["index", "name", *(f + s for f in fields for s in suffixes)])
    blank = [""] * ndim
    for row in result.layers:
        values: List[object] = [row.index, row.layer.label]
        for v in (row.rf, row.jump, row.effective_padding, row.start, row.center, row.output_size, row.blind_spots):
            values.extend(blank if v is None else ("" if x is None else x for x in v))
        writer.writerow(values)
    return buf.getvalue()
