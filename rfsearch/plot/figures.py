"""Figures (matplotlib, Agg: no display needed): RF and jump per layer, and one unit's RF, ERF and
blind spots over the input grid or an image.

    from rfsearch.plot import plot_growth, plot_unit, plot_erf
    plot_growth("zoo:resnet50").save("growth.png")            # RF and jump per node, per axis
    plot_unit("zoo:resnet50", unit=(3, 3)).save("unit.svg")   # RF, exact ERF, blind spots
    plot_erf(empirical_erf(model, 224)).save("erf.png")       # any ERF, e.g. a real model's

Each returns a `Plot`: `.figure` is the matplotlib Figure, `.save(path)` writes PNG, SVG or PDF
(by the suffix, through rfsearch's safe output), and Jupyter shows it inline.
"""

from __future__ import annotations

import io
import math
import os
from fractions import Fraction
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..core.erf import ERF
from ..errors import SpecError
from ..graph import compute_graph
from ..graph.compute import GraphLike
from ..graph.erf import as_graph, graph_erf
from ..results.graph import GraphRF
from ..results.network import RFResult

__all__ = ["FORMATS", "Plot", "plot_erf", "plot_growth", "plot_unit"]

#: Output formats by file suffix.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
MAX_MARKERS = 4000  # blind spots drawn one by one up to this many, as a shaded layer beyond


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'rfsearch[plot]'") from e
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)  # no pyplot, no display: the Agg canvas renders PNG; SVG and PDF by their own
    return fig


class Plot:
    """A figure: `figure` (matplotlib), `save(path)` (PNG, SVG or PDF by the suffix), shown inline
    in Jupyter (`_repr_png_`)."""

    def __init__(self, figure: Any) -> None:
        self.figure = figure

    def save(self, path: Union[str, "os.PathLike[str]", Any], format: Optional[str] = None) -> None:
        """Writes the figure to a path (suffix .png, .svg or .pdf, or `format`), "-" (standard
        output) or a binary stream, through rfsearch's safe output (temporary file, then rename)."""
        from ..io.output import open_output

        fmt = format
        if fmt is None and isinstance(path, (str, os.PathLike)) and os.fspath(path) != "-":
            fmt = FORMATS.get(os.path.splitext(os.fspath(path))[1].lower())
            if fmt is None:
                raise SpecError(f"{os.fspath(path)}: the file name must end in {', '.join(FORMATS)} (or give a format)")
        fmt = fmt or "png"
        if fmt not in FORMATS.values():
            raise SpecError(f"format must be one of {', '.join(FORMATS.values())}, got {fmt!r:.40}")
        with open_output(path) as out:
            self.figure.savefig(out.file, format=fmt, metadata=_metadata(fmt))

    def png(self) -> bytes:
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png")
        return buf.getvalue()

    def _repr_png_(self) -> bytes:
        return self.png()

    def __repr__(self) -> str:
        w, h = self.figure.get_size_inches()
        return f"<Plot {w * self.figure.dpi:.0f}x{h * self.figure.dpi:.0f}: {len(self.figure.axes)} axes>"


def _metadata(fmt: str) -> Any:
    # Reproducible files: no creation date in SVG / PDF metadata.
    return {"Date": None} if fmt == "svg" else {"CreationDate": None} if fmt == "pdf" else None


def _result(model: Union[GraphLike, RFResult, GraphRF], input_size: Any) -> Union[RFResult, GraphRF]:
    if isinstance(model, (RFResult, GraphRF)):
        return model
    return compute_graph(as_graph(model), input_size, alignment="ignore")


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    return float(Fraction(value)) if isinstance(value, Fraction) else float(value)


def plot_growth(
    model: Union[GraphLike, RFResult, GraphRF],
    input_size: Union[None, int, str, Sequence[int]] = None,
    *,
    log: Optional[bool] = None,
    title: Optional[str] = None,
) -> Plot:
    """RF and jump per layer (node), per axis: a line per axis (one when the axes agree), the RF
    min over paths dashed for graphs, nodes that see the whole input marked. model: a stack or
    graph result, a Graph, a spec file, "zoo:NAME", compact text or a list of layers. log: a log
    scale for the RF (default: when it spans more than a factor 50)."""
    result = _result(model, input_size)
    ndim = result.ndim
    one = tuple([1] * ndim)
    # The input first (RF 1, jump 1), then every layer / node in order.
    labels = ["input"]
    rf: List[Optional[Tuple[Any, ...]]] = [one]
    rf_min: List[Optional[Tuple[Any, ...]]] = [one]
    jump: List[Optional[Tuple[Any, ...]]] = [one]
    whole = [False]
    if isinstance(result, RFResult):
        for row in result.layers:
            labels.append(f"{row.index}: {row.layer.label}")
            rf.append(row.rf)
            rf_min.append(None)
            jump.append(row.jump)
            whole.append(False)
    else:
        for node in result.nodes:
            labels.append(f"{node.id}: {node.spec}" if node.id.isdigit() else node.id)
            rf.append(node.rf)
            rf_min.append(node.rf_min)
            jump.append(node.jump)
            whole.append(node.axes is not None and all(a.whole_input for a in node.axes))
    n = len(labels)
    x = np.arange(n)

    def series(rows: Sequence[Optional[Tuple[Any, ...]]], axis: int) -> np.ndarray:
        return np.array([_number(r[axis]) if r is not None else math.nan for r in rows], dtype=float)

    same = all(r is None or len(set(r)) == 1 for r in rf) and all(j is None or len(set(j)) == 1 for j in jump)
    axes_drawn = [0] if same else list(range(ndim))
    fig = _figure(max(6.0, min(0.16 * n + 3, 18.0)), 6.0)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    colors = ["tab:blue", "tab:orange", "tab:green"]
    peak = 1.0
    for a in axes_drawn:
        name = "every axis" if same and ndim > 1 else f"axis {a}" if ndim > 1 else "RF"
        values = series(rf, a)
        local = np.where(np.array(whole), np.nan, values)
        top.plot(x, local, marker="o", markersize=3, linewidth=1, color=colors[a % 3],
                 label=f"RF ({name})" if ndim > 1 else "RF")  # fmt: skip
        if any(r is not None for r in rf_min[1:]) and not np.array_equal(series(rf_min, a), values, equal_nan=True):
            top.plot(x, np.where(np.array(whole), np.nan, series(rf_min, a)), linestyle="--", color=colors[a % 3],
                     alpha=0.7, label=f"RF min over paths ({name})" if ndim > 1 else "RF min over paths")  # fmt: skip
        if any(whole):
            top.plot(x[np.array(whole)], values[np.array(whole)], "x", color=colors[a % 3], markersize=7,
                     label="whole input (global)" if a == axes_drawn[0] else None)  # fmt: skip
        j = series(jump, a)
        bottom.plot(x, j, drawstyle="steps-mid", marker="o", markersize=3, linewidth=1, color=colors[a % 3],
                    label=f"jump ({name})" if ndim > 1 else "jump")  # fmt: skip
        peak = max(peak, float(np.nanmax(values)) if np.isfinite(values).any() else 1.0)
    lows = [float(np.nanmin(series(rf, a))) for a in axes_drawn if np.isfinite(series(rf, a)).any()]
    if log is None:
        log = bool(lows) and peak / max(min(lows), 1.0) > 50
    if log:
        top.set_yscale("log")
        bottom.set_yscale("log", base=2)
    top.set_ylabel("receptive field (input positions)")
    bottom.set_ylabel("jump (input positions per unit)")
    top.grid(True, alpha=0.3)
    bottom.grid(True, alpha=0.3)
    top.legend(loc="upper left", fontsize=8)
    if len(axes_drawn) > 1:
        bottom.legend(loc="upper left", fontsize=8)
    every = max(1, math.ceil(n / 40))  # at most ~40 labels
    bottom.set_xticks(x[::every])
    bottom.set_xticklabels([labels[i] for i in range(0, n, every)], rotation=90, fontsize=7)
    bottom.set_xlim(-0.5, n - 0.5)
    if title is None:
        if isinstance(result, RFResult):
            name = f"layer {result.final.index} ({result.final.layer.label})"
        else:
            last = result.final
            name = f"node {last.id}" + (f" ({last.spec})" if last.id.isdigit() else "")
        title = f"RF per layer: {name} sees {'x'.join(str(v) for v in result.rf)}"
    top.set_title(title)
    return Plot(fig)


def _unit_erf(model: Union[GraphLike, GraphRF], input_size: Any, unit: Any, node: Optional[str], borders: bool) -> ERF:
    if isinstance(model, GraphRF):
        raise SpecError("plot_unit needs the graph itself (a Graph, a spec, 'zoo:NAME'), not its result")
    return graph_erf(as_graph(model), input_size, node=node, unit=unit, borders=borders)


def plot_unit(
    model: Union[GraphLike, ERF],
    unit: Union[None, int, Sequence[int]] = None,
    *,
    input_size: Union[None, int, str, Sequence[int]] = None,
    node: Optional[str] = None,
    image: Union[None, str, "os.PathLike[str]", np.ndarray] = None,
    borders: bool = False,
    erf: bool = True,
    blind_spots: bool = True,
    title: Optional[str] = None,
) -> Plot:
    """One unit's RF (its extent, padding included), its exact uniform-weight ERF (path counts as a
    heat map, with the window holding 95% of them) and its blind spots (positions of the RF no
    path reaches), over the input grid or an image (a path to a PNG / JPEG, or an array of shape
    (H, W) or (H, W, 3|4); its size is the input size unless one is given). model: a Graph, a spec
    file, "zoo:NAME", compact text, a list of layers, or an ERF (e.g. `empirical_erf(...)`) to draw
    instead of the exact one. unit: default the centre unit. borders: count paths through padding
    as cut (see graph_erf)."""
    picture = _image(image)
    if input_size is None and picture is not None:
        input_size = tuple(picture.shape[:2])
    e = model if isinstance(model, ERF) else _unit_erf(model, input_size, unit, node, borders)
    size = e.input_size
    if e.ndim == 1:
        return _plot_1d(e, size, erf, blind_spots, title)
    if e.ndim != 2:
        raise SpecError(f"plot_unit draws 1-D and 2-D inputs; this one has {e.ndim} axes")
    return _plot_2d(e, size, picture, erf, blind_spots, title)


def plot_erf(erf: ERF, *, image: Union[None, str, "os.PathLike[str]", np.ndarray] = None,
             title: Optional[str] = None) -> Plot:  # fmt: skip
    """An ERF (exact or empirical) over its input: `plot_unit(erf)`."""
    if not isinstance(erf, ERF):
        raise SpecError(f"plot_erf draws an ERF (graph_erf, stack_erf, empirical_erf), got {type(erf).__name__}")
    return plot_unit(erf, image=image, title=title)


def _image(image: Union[None, str, "os.PathLike[str]", np.ndarray]) -> Optional[np.ndarray]:
    if image is None:
        return None
    if isinstance(image, np.ndarray):
        picture = image
    else:
        path = os.fspath(image)
        if not os.path.isfile(path):
            raise SpecError(f"no such image file: {path}")
        try:
            from matplotlib import image as mpimg

            picture = mpimg.imread(path)
        except Exception as e:  # PIL / PNG readers raise many kinds
            raise SpecError(f"{path}: cannot read the image ({type(e).__name__}: {str(e)[:120]})") from None
    if picture.ndim not in (2, 3) or (picture.ndim == 3 and picture.shape[2] not in (3, 4)):
        raise SpecError(f"an image must have shape (H, W) or (H, W, 3|4), got {picture.shape}")
    return picture


def _title(e: ERF) -> str:
    if e.kind == "paths":
        what = "exact ERF (path counts, " + ("cut at borders)" if e.borders else "through padding)")
    else:
        what = f"empirical ERF (mean |gradient| over {e.samples} inputs)"
    unit = "x".join(map(str, e.unit)) if e.unit is not None else "?"
    node = f"node {e.node}, " if e.node else ""
    return f"{node}unit {unit}: RF {'x'.join(map(str, e.rf))}, {what}"


def _plot_2d(e: ERF, size: Optional[Tuple[int, ...]], picture: Optional[np.ndarray], draw_erf: bool,
             draw_blind: bool, title: Optional[str]) -> Plot:  # fmt: skip
    from matplotlib import colors as mcolors
    from matplotlib.patches import Rectangle

    fig = _figure(7.5, 6.5)
    ax = fig.subplots()
    (r0, r1), (c0, c1) = e.extent
    shape = e.counts.shape
    lo_r, lo_c = min(r0, e.origin[0]), min(c0, e.origin[1])
    hi_r, hi_c = max(r1, e.origin[0] + shape[0] - 1), max(c1, e.origin[1] + shape[1] - 1)
    if size is not None:
        lo_r, lo_c, hi_r, hi_c = min(lo_r, 0), min(lo_c, 0), max(hi_r, size[0] - 1), max(hi_c, size[1] - 1)
    margin = max(1.0, 0.03 * max(hi_r - lo_r, hi_c - lo_c))
    ax.set_xlim(lo_c - 0.5 - margin, hi_c + 0.5 + margin)
    ax.set_ylim(hi_r + 0.5 + margin, lo_r - 0.5 - margin)  # rows grow downwards, as in an image
    ax.set_aspect("equal")
    ax.set_facecolor("#f2f2f2")
    handles = []
    if size is not None:
        if picture is not None:
            ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None, extent=(-0.5, picture.shape[1] - 0.5,
                      picture.shape[0] - 0.5, -0.5), interpolation="nearest", zorder=1)  # fmt: skip
        else:
            ax.add_patch(Rectangle((-0.5, -0.5), size[1], size[0], facecolor="white", edgecolor="none", zorder=0))
        handles.append(ax.add_patch(Rectangle((-0.5, -0.5), size[1], size[0], fill=False, edgecolor="black",
                                              linewidth=1.5, zorder=5, label=f"input {size[0]}x{size[1]}")))  # fmt: skip
        if picture is None and max(size) <= 64:  # the pixel grid, faintly
            for i in range(size[0] + 1):
                ax.plot([-0.5, size[1] - 0.5], [i - 0.5, i - 0.5], color="#dddddd", linewidth=0.4, zorder=0.5)
            for j in range(size[1] + 1):
                ax.plot([j - 0.5, j - 0.5], [-0.5, size[0] - 0.5], color="#dddddd", linewidth=0.4, zorder=0.5)
    if draw_erf and e.counts.size:
        weights = e.counts.astype(np.float64)
        peak = weights.max()
        shown = np.ma.masked_where(weights <= 0, weights / peak if peak > 0 else weights)
        heat = ax.imshow(shown, cmap="inferno_r", norm=mcolors.Normalize(0, 1), alpha=0.6 if picture is not None else 1,
                         extent=(e.origin[1] - 0.5, e.origin[1] + shape[1] - 0.5, e.origin[0] + shape[0] - 0.5,
                                 e.origin[0] - 0.5), interpolation="nearest", zorder=2)  # fmt: skip
        bar = fig.colorbar(heat, ax=ax, shrink=0.8)
        bar.set_label("paths, relative to the most" if e.kind == "paths" else "mean |gradient|, relative")
        w = e.width(0.95)
        c = e.center
        handles.append(ax.add_patch(Rectangle((c[1] - w[1] / 2, c[0] - w[0] / 2), w[1], w[0], fill=False,
                                              edgecolor="tab:green", linewidth=1.5, linestyle=":", zorder=6,
                                              label=f"95% of the ERF: {w[0]}x{w[1]}")))  # fmt: skip
    handles.append(ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False,
                                          edgecolor="tab:blue", linewidth=2, linestyle="--", zorder=7,
                                          label=f"RF {r1 - r0 + 1}x{c1 - c0 + 1} (padding included)")))  # fmt: skip
    center = e.center
    handles.append(ax.plot([center[1]], [center[0]], marker="+", color="tab:blue", markersize=12, zorder=8,
                           linestyle="none", label=f"RF centre ({center[0]:g}, {center[1]:g})")[0])  # fmt: skip
    if draw_blind and e.kind == "paths":
        holes = _holes(e)
        if holes.size:
            label = f"blind spots: {len(holes)}"
            if len(holes) <= MAX_MARKERS:
                handles.append(ax.plot(holes[:, 1], holes[:, 0], "x", color="red", markersize=max(2, min(6, 300 / (
                    hi_c - lo_c + 1))), linestyle="none", zorder=9, label=label)[0])  # fmt: skip
            else:
                mask = np.zeros(shape, dtype=float)
                mask[tuple((holes - np.array(e.origin)).T)] = 1
                ax.imshow(np.ma.masked_where(mask == 0, mask), cmap=mcolors.ListedColormap(["red"]), alpha=0.6,
                          extent=(e.origin[1] - 0.5, e.origin[1] + shape[1] - 0.5, e.origin[0] + shape[0] - 0.5,
                                  e.origin[0] - 0.5), interpolation="nearest", zorder=3)  # fmt: skip
                handles.append(Rectangle((0, 0), 1, 1, color="red", alpha=0.6, label=label))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, fontsize=8, frameon=False)
    ax.set_xlabel("input column (axis 1)")
    ax.set_ylabel("input row (axis 0)")
    ax.set_title(title or _title(e), fontsize=10)
    return Plot(fig)


def _holes(e: ERF) -> np.ndarray:
    """Input positions inside the RF (within the counted box) that no path reaches: (k, ndim)."""
    inside = tuple(slice(max(lo - o, 0), max(hi - o + 1, 0)) for (lo, hi), o in zip(e.extent, e.origin))
    block = e.counts[inside]
    where = np.argwhere(block == 0)
    offset = np.array([o + s.start for o, s in zip(e.origin, inside)])
    return where + offset if where.size else where


def _plot_1d(e: ERF, size: Optional[Tuple[int, ...]], draw_erf: bool, draw_blind: bool, title: Optional[str]) -> Plot:
    fig = _figure(8.0, 3.6)
    ax = fig.subplots()
    (lo, hi), = e.extent
    positions = e.positions(0)
    if size is not None:
        ax.axvspan(-0.5, size[0] - 0.5, color="#eeeeee", zorder=0, label=f"input {size[0]}")
    ax.axvspan(lo - 0.5, hi + 0.5, fill=False, edgecolor="tab:blue", linestyle="--", linewidth=2, zorder=3,
               label=f"RF {hi - lo + 1} (padding included)")  # fmt: skip
    if draw_erf and e.counts.size:
        weights = e.counts.astype(np.float64)
        ax.bar(positions, weights / weights.max(), width=1.0, color="tab:orange", alpha=0.85, zorder=2,
               label="paths, relative to the most" if e.kind == "paths" else "mean |gradient|, relative")  # fmt: skip
        w = e.width(0.95)[0]
        c = e.center[0]
        ax.axvspan(c - w / 2, c + w / 2, color="tab:green", alpha=0.12, zorder=1, label=f"95% of the ERF: {w}")
    if draw_blind and e.kind == "paths":
        holes = _holes(e)
        if holes.size:
            ax.plot(holes[:, 0], np.zeros(len(holes)), "x", color="red", linestyle="none", zorder=4,
                    label=f"blind spots: {len(holes)}")  # fmt: skip
    ax.axvline(e.center[0], color="tab:blue", linewidth=1, zorder=3)
    ax.set_xlabel("input position")
    ax.set_ylim(-0.08, 1.12)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(title or _title(e), fontsize=10)
    return Plot(fig)
