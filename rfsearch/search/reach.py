"""Blind spots of search candidates: the one computation lives in `rfsearch.core.reach` (the core
owns it: `rfsearch compute`, the batch core, graphs and the exact effective RF read it there).
Re-exported here for the search code and for callers of round 1."""

from __future__ import annotations

from ..core.reach import REACH_MAX_RF, AxisReach, axis_blind_spots, axis_reached, blind_spots, layer_blind_spots

__all__ = ["REACH_MAX_RF", "AxisReach", "axis_blind_spots", "axis_reached", "blind_spots", "layer_blind_spots"]
