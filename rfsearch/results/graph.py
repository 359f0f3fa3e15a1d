"""Results for a graph: one row per node (per axis: RF max and min over paths and units, jump,
effective padding, centre, output size, blind spots), the endpoint's values at top level, the
alignment report, and their table / JSON / CSV text.

Values are exact: integers, or `fractions.Fraction` where a transposed convolution or an
upsampling makes them fractional. JSON writes an integral value as a number and any other as
the string "p/q". User text (node ids) is data, never rich markup.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ..errors import SpecError
from ..model.values import as_index
from .network import UnitRF

__all__ = [
    "AxisRF",
    "GraphRF",
    "Misalignment",
    "NodeRF",
    "PathInfo",
    "Rational",
    "UnitPattern",
    "exact",
    "normalized",
    "show",
]

Rational = Union[int, Fraction]


def normalized(value: Union[int, Fraction]) -> Rational:
    """An int when the value is integral, else the Fraction."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value.numerator)
    return value


def exact(value: Optional[Rational]) -> Union[None, int, str]:
    """For JSON: an integral value as a number, any other as the string "p/q"."""
    if value is None:
        return None
    value = normalized(value)
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    return int(value)


def show(value: Optional[Rational]) -> str:
    """For tables: 3, 1/2, or - for None."""
    shown = exact(value)
    return "-" if shown is None else str(shown)


@dataclass(frozen=True)
class UnitPattern:
    """Unit u's extent [lo(u), hi(u)] over every path (None: it sees nothing); it repeats every
    `period` units, moved by `shift` input positions."""

    period: int
    shift: int
    lo: Tuple[Optional[int], ...]
    hi: Tuple[Optional[int], ...]

    def at(self, u: int) -> Optional[Tuple[int, int]]:
        q, r = divmod(u, self.period)
        lo, hi = self.lo[r], self.hi[r]
        return None if lo is None or hi is None else (lo + q * self.shift, hi + q * self.shift)


@dataclass(frozen=True)
class AxisRF:
    """One node on one axis.

    rf / rf_min: the largest / smallest extent over all paths and output units (0: a unit that
    sees nothing). jump, start (unit 0's first position) and center (of unit 0's extent): those
    of the max-RF path. period: the per-unit pattern of that path repeats every `period` units
    (1 for integer jumps). whole_input: every path is global (one unit that sees the whole
    input: rf = the input size, None if unknown; jump None). context: a broadcast input (a global
    branch, or size 1 against a larger size) reaches this node; it is not part of rf.
    blind_spots: the most positions inside a unit's extent no path reaches (None: not computed).
    """

    rf: Optional[int]
    rf_min: Optional[int]
    jump: Optional[Rational]
    start: Optional[int]
    center: Optional[Rational]
    output_size: Optional[int]
    blind_spots: Optional[int]
    period: int
    whole_input: bool
    context: bool
    extent: Optional[UnitPattern]

    @property
    def effective_padding(self) -> Optional[int]:
        """Distill's effective padding: -start."""
        return None if self.start is None else -self.start


def _per_axis(axes: Optional[Tuple[AxisRF, ...]], name: str) -> Optional[Tuple[Any, ...]]:
    return None if axes is None else tuple(getattr(a, name) for a in axes)


@dataclass(frozen=True)
class NodeRF:
    """One node's values per axis (`axes` None: not evaluated, the graph collapsed before it)."""

    id: str
    kind: str
    spec: str
    inputs: Tuple[str, ...]
    axes: Optional[Tuple[AxisRF, ...]]

    @property
    def rf(self) -> Optional[Tuple[Optional[int], ...]]:
        return _per_axis(self.axes, "rf")

    @property
    def rf_min(self) -> Optional[Tuple[Optional[int], ...]]:
        return _per_axis(self.axes, "rf_min")

    @property
    def jump(self) -> Optional[Tuple[Optional[Rational], ...]]:
        return _per_axis(self.axes, "jump")

    @property
    def effective_padding(self) -> Optional[Tuple[Optional[int], ...]]:
        return _per_axis(self.axes, "effective_padding")

    @property
    def start(self) -> Optional[Tuple[Optional[int], ...]]:
        return _per_axis(self.axes, "start")

    @property
    def center(self) -> Optional[Tuple[Optional[Rational], ...]]:
        return _per_axis(self.axes, "center")

    @property
    def output_size(self) -> Optional[Tuple[Optional[int], ...]]:
        sizes = _per_axis(self.axes, "output_size")
        return None if sizes is None or any(s is None for s in sizes) else sizes

    @property
    def blind_spots(self) -> Optional[Tuple[Optional[int], ...]]:
        return _per_axis(self.axes, "blind_spots")

    def to_dict(self) -> Dict[str, Any]:
        axes = self.axes

        def values(name: str, convert: Any = None) -> Optional[List[Any]]:
            got = _per_axis(axes, name)
            return None if got is None else [convert(v) if convert else v for v in got]

        return {
            "id": self.id,
            "op": self.kind,
            "spec": self.spec,
            "inputs": list(self.inputs),
            "rf": values("rf"),
            "rf_min": values("rf_min"),
            "jump": values("jump", exact),
            "effective_padding": values("effective_padding"),
            "start": values("start"),
            "center": values("center", exact),
            "output_size": values("output_size"),
            "blind_spots": values("blind_spots"),
            "period": values("period"),
            "whole_input": values("whole_input"),
            "context": values("context"),
        }


@dataclass(frozen=True)
class PathInfo:
    """One input of a misaligned merge: its id, one path through it, its jump and centre line."""

    input: str
    route: Tuple[str, ...]
    jump: Rational
    center: Optional[Rational]

    def to_dict(self) -> Dict[str, Any]:
        return {"input": self.input, "path": list(self.route), "jump": exact(self.jump), "center": exact(self.center)}


def _route_text(route: Sequence[str]) -> str:
    shown = list(route) if len(route) <= 7 else [*route[:3], "...", *route[-3:]]
    return " -> ".join(shown)


@dataclass(frozen=True)
class Misalignment:
    """A merge whose inputs' (max-RF) paths have different jumps or centres on one axis."""

    node: str
    axis: int
    paths: Tuple[PathInfo, ...]

    def message(self) -> str:
        """One line naming the node, the axis and each input path's jump and centre."""
        parts = "; ".join(f"{p.input!r} (path {_route_text(p.route)}): jump {show(p.jump)}, centre {show(p.center)}"
                          for p in self.paths)  # fmt: skip
        return f"node {self.node!r}, axis {self.axis}: the inputs are not aligned (Distill: same jump and centre on every path): {parts}"

    def to_dict(self) -> Dict[str, Any]:
        return {"node": self.node, "axis": self.axis, "paths": [p.to_dict() for p in self.paths]}


@dataclass(frozen=True, repr=False)
class GraphRF:
    """What `compute_graph` returns: every node's receptive field and the endpoint's at top level.

    If an output size falls below 1 the graph collapses (PyTorch would raise): `valid` is False,
    `collapsed_at` names the node, top-level values are that node's and later nodes hold None.
    """

    nodes: Tuple[NodeRF, ...]
    outputs: Tuple[str, ...]
    input_size: Optional[Tuple[int, ...]]
    ndim: int
    collapsed_at: Optional[str]
    misaligned: Tuple[Misalignment, ...] = ()

    def node(self, node_id: str) -> NodeRF:
        """The row of node `node_id` (KeyError if none)."""
        for row in self.nodes:
            if row.id == node_id:
                return row
        raise KeyError(node_id)

    @property
    def output(self) -> str:
        """The endpoint: the first output."""
        return self.outputs[0]

    @property
    def final(self) -> NodeRF:
        """The endpoint's row, or the collapsing node's if the graph collapsed before the endpoint."""
        row = self.node(self.output)
        if row.axes is None and self.collapsed_at is not None:
            return self.node(self.collapsed_at)
        return row

    @property
    def rf(self) -> Tuple[Optional[int], ...]:
        return self.final.rf  # type: ignore[return-value]

    @property
    def rf_min(self) -> Tuple[Optional[int], ...]:
        return self.final.rf_min  # type: ignore[return-value]

    @property
    def jump(self) -> Tuple[Optional[Rational], ...]:
        return self.final.jump  # type: ignore[return-value]

    @property
    def effective_padding(self) -> Tuple[Optional[int], ...]:
        return self.final.effective_padding  # type: ignore[return-value]

    @property
    def start(self) -> Tuple[Optional[int], ...]:
        return self.final.start  # type: ignore[return-value]

    @property
    def center(self) -> Tuple[Optional[Rational], ...]:
        return self.final.center  # type: ignore[return-value]

    @property
    def output_size(self) -> Optional[Tuple[Optional[int], ...]]:
        return self.final.output_size

    @property
    def blind_spots(self) -> Tuple[Optional[int], ...]:
        return self.final.blind_spots  # type: ignore[return-value]

    @property
    def valid(self) -> bool:
        return self.collapsed_at is None

    @property
    def aligned(self) -> bool:
        """True when every merge's input paths agree on jump and centre (broadcast inputs exempt)."""
        return not self.misaligned

    @property
    def rf_exceeds_input(self) -> Optional[Tuple[bool, ...]]:
        if self.input_size is None:
            return None
        return tuple(r is not None and r > n for r, n in zip(self.rf, self.input_size))

    def unit(self, index: Union[int, Sequence[int]], node: Optional[str] = None) -> UnitRF:
        """The input interval a unit of the endpoint (or of `node`) sees, over every path."""
        row = self.final if node is None else self.node(node)
        if row.axes is None:
            raise SpecError(f"node {row.id!r} was not evaluated (the graph collapsed at {self.collapsed_at!r})")
        idx = as_index(index, self.ndim)  # numpy integers too; bools and floats refused
        intervals = []
        for axis, (u, a) in enumerate(zip(idx, row.axes)):
            if u < 0 or (a.output_size is not None and u >= a.output_size):
                bound = f" < {a.output_size}" if a.output_size is not None else ""
                raise SpecError(f"unit index on axis {axis} must be >= 0{bound}, got {u}")
            if a.whole_input:
                if self.input_size is None:
                    raise SpecError(f"node {row.id!r} sees the whole input on axis {axis}; give an input size")
                intervals.append((0, self.input_size[axis] - 1))
                continue
            seen = None if a.extent is None else a.extent.at(u)
            if a.extent is None:
                raise SpecError(f"node {row.id!r}, axis {axis}: its paths have different jumps; no single interval")
            if seen is None:
                raise SpecError(f"node {row.id!r}, axis {axis}: unit {u} sees no input")
            intervals.append(seen)
        clipped = None
        if self.input_size is not None:
            clipped = tuple((max(lo, 0), min(hi, n - 1)) if hi >= 0 and lo <= n - 1 else None
                            for (lo, hi), n in zip(intervals, self.input_size))  # fmt: skip
        return UnitRF(idx, tuple(intervals), clipped)

    def to_dict(self, unit: Union[None, int, Sequence[int]] = None) -> Dict[str, Any]:
        """Plain data for JSON: the endpoint's values per axis at top level, `aligned` (and the
        misaligned merges), validity, and a `nodes` list. Fractions are "p/q" strings."""
        final = self.final.to_dict()
        out: Dict[str, Any] = {"input_size": None if self.input_size is None else list(self.input_size),
                               "output": self.output, "outputs": list(self.outputs)}  # fmt: skip
        for key in ("rf", "rf_min", "jump", "effective_padding", "start", "center", "output_size", "blind_spots"):
            out[key] = final[key]
        exceeds = self.rf_exceeds_input
        out.update(
            valid=self.valid,
            collapsed_at=self.collapsed_at,
            rf_exceeds_input=None if exceeds is None else list(exceeds),
            aligned=self.aligned,
            misaligned=[m.to_dict() for m in self.misaligned],
            nodes=[row.to_dict() for row in self.nodes],
        )
        if unit is not None:
            out["unit"] = self.unit(unit).to_dict()
        return out

    def json(self, unit: Union[None, int, Sequence[int]] = None) -> str:
        """to_dict(unit) as indented JSON text."""
        import json

        return json.dumps(self.to_dict(unit), indent=2)

    def csv(self) -> str:
        """One row per node; per-axis values as rf (1 axis) or rf_0, rf_1, ... (several)."""
        import csv

        fields = ["rf", "rf_min", "jump", "effective_padding", "start", "center", "output_size", "blind_spots"]
        suffixes = [""] if self.ndim == 1 else [f"_{a}" for a in range(self.ndim)]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["id", "op", "inputs", *(f + s for f in fields for s in suffixes)])
        for row in self.nodes:
            d = row.to_dict()
            values = [("" if d[f] is None or d[f][a] is None else d[f][a]) for f in fields for a in range(self.ndim)]
            writer.writerow([row.id, row.kind, " ".join(row.inputs), *values])
        return buf.getvalue()

    def table(self, unit: Union[None, int, Sequence[int]] = None) -> str:
        """The per-node table and a summary, as plain text (what `rfsearch compute GRAPH` prints)."""
        lines, _, _ = self.table_lines(unit)
        return "\n".join(lines) + "\n"

    def table_lines(self, unit: Union[None, int, Sequence[int]] = None) -> Tuple[List[str], int, Optional[int]]:
        """The table as lines (rich's SIMPLE_HEAD layout, drawn by hand: a few string joins per
        row), the index of the header line and of the collapsed node's line (None if valid)."""
        rows = [[row.id, row.spec, ", ".join(row.inputs),
                 *(_axes(getattr(row, f)) for f in ("rf", "rf_min", "jump", "effective_padding", "center")),
                 _axes(_per_axis(row.axes, "output_size")), _axes(row.blind_spots), _notes(row)]
                for row in self.nodes]  # fmt: skip
        body = []
        for c, (title, justify) in enumerate(_COLUMNS):
            texts = [title, *(r[c] for r in rows)]
            if "".join(texts).isascii():
                width = max(map(len, texts))
                body.append([t.rjust(width) if justify == "right" else t.ljust(width) for t in texts])
                continue
            from rich.cells import cell_len  # wide characters (CJK, emoji) take two cells

            lengths = [cell_len(t) for t in texts]
            width = max(lengths)
            pad = [" " * (width - n) for n in lengths]
            body.append([p + t if justify == "right" else t + p for t, p in zip(texts, pad)])
        lines_ = [("  " + "   ".join(cells) + "  ").rstrip() for cells in zip(*body)]
        width = max(len(line) for line in lines_)
        if not all(line.isascii() for line in lines_):
            from rich.cells import cell_len

            width = max(cell_len(line) for line in lines_)
        collapsed = None
        if self.collapsed_at is not None:
            collapsed = 3 + [r.id for r in self.nodes].index(self.collapsed_at)
        return ["", lines_[0], " " + "\u2500" * (width - 1), *lines_[1:], "", *self._summary(unit)], 1, collapsed

    def print_table(self, unit: Union[None, int, Sequence[int]] = None, file: Optional[Any] = None) -> None:
        """Writes the table to `file` (stdout): on a terminal the header bold and the collapsed
        node red (node ids stay text, never markup); plain text otherwise."""
        import sys

        out = file if file is not None else sys.stdout
        if not out.isatty():
            out.write(self.table(unit))
            return
        from rich.console import Console

        Console(file=out, soft_wrap=True).print(self._renderable(unit), crop=False)

    def _renderable(self, unit: Union[None, int, Sequence[int]] = None) -> Any:
        from rich.text import Text

        lines, header, collapsed = self.table_lines(unit)
        text = Text("\n".join(lines), no_wrap=True, overflow="ignore", end="\n")
        starts = [0]
        for line in lines:
            starts.append(starts[-1] + len(line) + 1)
        text.stylize("bold", starts[header], starts[header + 1] - 1)
        if collapsed is not None:
            text.stylize("red", starts[collapsed], starts[collapsed + 1] - 1)
        for i, line in enumerate(lines):
            if line.startswith(("INVALID", "aligned: NO")):
                text.stylize("bold red", starts[i], starts[i + 1] - 1)
        return text

    def _summary(self, unit: Union[None, int, Sequence[int]]) -> List[str]:
        final = self.final
        size = "" if self.output_size is None else f", output {_axes(self.output_size)}"
        lines = [
            f"{final.id}: RF {_axes(self.rf)} (min over paths {_axes(self.rf_min)}), jump {_axes(self.jump)}, "
            f"effective padding {_axes(self.effective_padding)}{size}",
            f"unit 0 sees input from {_axes(self.start)}, centre {_axes(self.center)}",
        ]
        if not self.valid:
            lines.append(f"INVALID: output collapsed at node {self.collapsed_at!r} (size < 1 for this input)")
        lines.append("aligned: yes" if self.aligned else f"aligned: NO ({len(self.misaligned)} merge(s))")
        lines.extend(f"  {m.message()}" for m in self.misaligned)
        if unit is not None:
            u = self.unit(unit)
            lines.append(f"unit {_axes(u.index)} sees input {' x '.join(f'[{lo}, {hi}]' for lo, hi in u.interval)}")
        return lines

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        state = "valid" if self.valid else f"collapsed at {self.collapsed_at!r}"
        return (f"<GraphRF {len(self.nodes)} nodes, {state}, {'aligned' if self.aligned else 'NOT aligned'}: "
                f"{self.final.id!r} rf={_axes(self.rf)}, jump={_axes(self.jump)}>")  # fmt: skip

    def __rich__(self) -> Any:
        return self._renderable()

    def _repr_html_(self) -> str:
        """The per-node table and the summary as HTML (Jupyter); every cell is escaped, and past
        1,000 nodes the middle ones are left out."""
        import html

        head = ["node", "op", "inputs", "RF", "RF min", "jump", "eff. padding", "centre", "output size", "blind",
                "notes"]  # fmt: skip
        right = {"RF", "RF min", "jump", "eff. padding", "centre", "output size", "blind"}
        cells = "".join(f'<th style="text-align:{"right" if h in right else "left"}">{html.escape(h)}</th>'
                        for h in head)  # fmt: skip
        rows: List[str] = []
        nodes: List[Optional[NodeRF]] = list(self.nodes)
        limit = 1000
        shown = nodes if len(nodes) <= limit else nodes[: limit // 2] + [None] + nodes[-limit // 2 :]
        for row in shown:
            if row is None:
                rows.append(f'<tr><td colspan="{len(head)}">... {len(nodes) - limit:,} more nodes ...</td></tr>')
                continue
            values = [row.id, row.spec, ", ".join(row.inputs),
                      *(_axes(getattr(row, f)) for f in ("rf", "rf_min", "jump", "effective_padding", "center")),
                      _axes(_per_axis(row.axes, "output_size")), _axes(row.blind_spots), _notes(row)]  # fmt: skip
            red = ' style="color:red"' if row.id == self.collapsed_at else ""
            tds = "".join(f'<td style="text-align:{"right" if h in right else "left"}">{html.escape(v)}</td>'
                          for h, v in zip(head, values))  # fmt: skip
            rows.append(f"<tr{red}>{tds}</tr>")
        summary = "<br>".join(html.escape(line) for line in self._summary(None))
        return (f"<table><thead><tr>{cells}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
                f'<p style="font-family:monospace">{summary}</p>')  # fmt: skip


_COLUMNS = (("node", "left"), ("op", "left"), ("inputs", "left"), ("RF", "right"), ("RF min", "right"),
            ("jump", "right"), ("eff. padding", "right"), ("centre", "right"), ("output size", "right"),
            ("blind", "right"), ("notes", "left"))  # fmt: skip


def _axes(values: Optional[Sequence[Any]]) -> str:
    if values is None:
        return "-"
    return "x".join(show(v) if not isinstance(v, float) else f"{v:g}" for v in values)


def _notes(row: NodeRF) -> str:
    if row.axes is None:
        return "not evaluated"
    notes = []
    if any(a.whole_input for a in row.axes):
        notes.append("whole input" + ("" if all(a.whole_input for a in row.axes) else " on some axes"))
    if any(a.context for a in row.axes):
        notes.append("+ global context")
    periods = [a.period for a in row.axes]
    if any(p > 1 for p in periods):
        notes.append(f"period {'x'.join(map(str, periods))}")
    return ", ".join(notes)
