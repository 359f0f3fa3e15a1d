"""Results for one network: final values, a per-layer table, and a chosen unit's RF."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ..errors import SpecError
from ..model.layers import Layer
from ..model.values import as_index

__all__ = ["LayerRF", "RFResult", "UnitRF"]

Ints = Tuple[int, ...]


@dataclass(frozen=True)
class LayerRF:
    """The receptive field after one layer, per axis (None: not reached, the stack collapsed before)."""

    index: int
    layer: Layer
    rf: Optional[Ints]
    jump: Optional[Ints]
    effective_padding: Optional[Ints]
    output_size: Optional[Ints]  # None without an input size
    #: Per axis, offsets of the RF that no path reaches (rfsearch.core.reach); None on an axis
    #: whose RF is above the reach cap (not computed); None for the row itself when not reached
    #: or not computed at all.
    blind_spots: Optional[Tuple[Optional[int], ...]] = None

    @property
    def start(self) -> Optional[Ints]:
        """First input coordinate of output unit 0's RF (padding included): -P."""
        return None if self.effective_padding is None else tuple(-p for p in self.effective_padding)

    @property
    def center(self) -> Optional[Tuple[float, ...]]:
        """Centre of output unit 0's RF: -P + (rf - 1) / 2."""
        if self.rf is None or self.effective_padding is None:
            return None
        return tuple(-p + (r - 1) / 2 for r, p in zip(self.rf, self.effective_padding))

    def to_dict(self) -> Dict[str, Any]:
        """Plain data for JSON: the layer's name, kind and compact spec, then its values per axis."""
        rf, pad, layer = self.rf, self.effective_padding, self.layer
        spec = layer.spec()
        return {
            "index": self.index,
            "name": layer.name or spec,
            "kind": layer.kind,
            "spec": spec,
            "rf": None if rf is None else list(rf),
            "jump": None if self.jump is None else list(self.jump),
            "effective_padding": None if pad is None else list(pad),
            "start": None if pad is None else [-p for p in pad],
            "center": None if rf is None or pad is None else [-p + (r - 1) / 2 for r, p in zip(rf, pad)],
            "output_size": None if self.output_size is None else list(self.output_size),
            "blind_spots": None if self.blind_spots is None else list(self.blind_spots),
        }


@dataclass(frozen=True)
class UnitRF:
    """The input interval [lo, hi] (inclusive, per axis) seen by one output unit."""

    index: Ints
    interval: Tuple[Tuple[int, int], ...]
    clipped: Optional[Tuple[Optional[Tuple[int, int]], ...]]  # inside the image; None per axis if all padding

    def to_dict(self) -> Dict[str, Any]:
        return {
            "index": list(self.index),
            "interval": [list(i) for i in self.interval],
            "clipped": None if self.clipped is None else [None if c is None else list(c) for c in self.clipped],
        }


def _list(values: Optional[Sequence[Any]]) -> Optional[List[Any]]:
    return None if values is None else list(values)


@dataclass(frozen=True, repr=False)
class RFResult:
    """What ``receptive_field`` returns. Final values are per axis; ``layers`` has one row per layer.

    If the stack collapses (an output size < 1), ``valid`` is False, ``collapsed_at`` is the
    layer index, the final values are those of that layer and later rows hold None.
    """

    layers: Tuple[LayerRF, ...]
    input_size: Optional[Ints]
    ndim: int
    collapsed_at: Optional[int]

    @property
    def final(self) -> LayerRF:
        """The last layer reached (the collapsing one, for a collapsed stack)."""
        return self.layers[self.collapsed_at if self.collapsed_at is not None else -1]

    @property
    def rf(self) -> Ints:
        return self.final.rf  # type: ignore[return-value]

    @property
    def jump(self) -> Ints:
        return self.final.jump  # type: ignore[return-value]

    @property
    def effective_padding(self) -> Ints:
        return self.final.effective_padding  # type: ignore[return-value]

    @property
    def start(self) -> Ints:
        return self.final.start  # type: ignore[return-value]

    @property
    def center(self) -> Tuple[float, ...]:
        return self.final.center  # type: ignore[return-value]

    @property
    def output_size(self) -> Optional[Ints]:
        return self.final.output_size

    @property
    def valid(self) -> bool:
        return self.collapsed_at is None

    @property
    def blind_spots(self) -> Optional[Tuple[Optional[int], ...]]:
        """Per axis, the offsets of the RF that no path reaches (0: full coverage; None on an axis
        whose RF is above rfsearch.core.reach.REACH_MAX_RF: not computed)."""
        return self.final.blind_spots

    @property
    def rf_exceeds_input(self) -> Optional[Tuple[bool, ...]]:
        """Per axis: the RF is larger than the input (it then also sees padding on every unit)."""
        if self.input_size is None:
            return None
        return tuple(r > n for r, n in zip(self.rf, self.input_size))

    def unit(self, index: Union[int, Sequence[int]]) -> UnitRF:
        """RF interval of output unit `index` (an int for every axis, or one per axis; numpy
        integers too). SpecError naming the axis if it lies outside the output."""
        idx = as_index(index, self.ndim)
        for axis, u in enumerate(idx):
            limit = None if self.output_size is None else self.output_size[axis]
            if u < 0 or (limit is not None and u >= limit):
                bound = f" < {limit}" if limit is not None else ""
                raise SpecError(f"unit index on axis {axis} must be >= 0{bound}, got {u}")
        intervals = tuple(
            (u * j - p, u * j - p + r - 1) for u, j, p, r in zip(idx, self.jump, self.effective_padding, self.rf)
        )
        clipped = None
        if self.input_size is not None:
            clipped = tuple(
                (max(lo, 0), min(hi, n - 1)) if hi >= 0 and lo <= n - 1 else None
                for (lo, hi), n in zip(intervals, self.input_size)
            )
        return UnitRF(idx, intervals, clipped)

    def to_dict(self, unit: Union[None, int, Sequence[int]] = None) -> Dict[str, Any]:
        """Plain data for JSON: final values per axis, validity flags, blind spots per axis, and
        `layers` rows (each with its blind spots)."""
        out: Dict[str, Any] = {
            "input_size": _list(self.input_size),
            "rf": list(self.rf),
            "jump": list(self.jump),
            "effective_padding": list(self.effective_padding),
            "start": list(self.start),
            "center": list(self.center),
            "output_size": _list(self.output_size),
            "valid": self.valid,
            "collapsed_at": self.collapsed_at,
            "rf_exceeds_input": _list(self.rf_exceeds_input),
            "blind_spots": _list(self.blind_spots),
            "layers": [row.to_dict() for row in self.layers],
        }
        if unit is not None:
            out["unit"] = self.unit(unit).to_dict()
        return out

    def table(self, unit: Union[None, int, Sequence[int]] = None) -> str:
        """The per-layer table as text (what `rfsearch compute` prints)."""
        from .render import table_text

        return table_text(self, unit)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        size = "" if self.output_size is None else f", output_size={self.output_size}"
        state = "valid" if self.valid else f"collapsed at layer {self.collapsed_at}"
        return (
            f"<RFResult {len(self.layers)} layers, {state}: rf={self.rf}, jump={self.jump}, "
            f"effective_padding={self.effective_padding}{size}>"
        )

    def __rich__(self) -> Any:
        """Rich consoles (and IPython with rich) show the table (a Text: names are never markup)."""
        from .render import table_renderable

        return table_renderable(self)

    def _repr_html_(self) -> str:
        """Jupyter shows the table as HTML (escaped)."""
        from .render import html_table

        return html_table(self)
