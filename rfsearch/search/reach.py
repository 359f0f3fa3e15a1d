"""Reached offsets and blind spots of a sequential stack, per axis: the one exact computation.

On one axis, an output unit of a sequential stack sees input offset o (0 <= o < RF, counted
from the first input pixel of its RF) through some path iff o is a sum of one tap per layer:
layer l contributes a tap in {0, g_l, 2 g_l, ..., (k_l - 1) g_l} with g_l = d_l * J_l (J_l the
jump before layer l). The reached offsets are the sum-set of those tap sets; the RF is
1 + sum (k_l - 1) g_l, so every reached offset lies in [0, RF - 1], and the **blind spots** are
the offsets of the RF that no path reaches (the gridding problem of dilated stacks). Padding does
not matter: it moves the RF, not which offsets inside it have paths.

The set is kept as a Python int used as a bitset (bit o = offset o reached). Each layer is a
union of shifted copies, so the cost is O(k * RF / word) per layer; RFs above `REACH_MAX_RF`
are "not computed" (None), never guessed. The C++ twin is src_cpp/include/rfsearch/reach.hpp
(same cap). This module belongs to the core once the pipeline rework lands (graphs and the exact
effective RF reuse it); it lives here for now.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

from ..model.layers import AxisParams, Layer

__all__ = ["REACH_MAX_RF", "axis_blind_spots", "axis_reached", "blind_spots"]

#: Largest RF (per axis) whose reached offsets are computed (a 4 Mi-bit set, 512 KiB).
REACH_MAX_RF = 1 << 22


def axis_reached(params: Sequence[AxisParams], cap: int = REACH_MAX_RF) -> Optional[Tuple[int, int]]:
    """(rf, bitset of reached offsets) on one axis, or None when the RF exceeds `cap`.

    `params` are the layers' parameters on this axis (kernel, stride, dilation; padding and
    ceil_mode do not matter)."""
    rf, jump, reached = 1, 1, 1  # before any layer: one offset, reached
    for p in params:
        gap = p.dilation * jump
        rf += (p.kernel - 1) * gap
        if rf > cap:
            return None
        spread = 0
        for tap in range(p.kernel):  # union of the set shifted by each tap
            spread |= reached << (tap * gap)
        reached = spread
        jump *= p.stride
    return rf, reached


def axis_blind_spots(params: Sequence[AxisParams], cap: int = REACH_MAX_RF) -> Optional[int]:
    """Number of offsets inside the RF that no path reaches on one axis (None: RF above `cap`)."""
    found = axis_reached(params, cap)
    if found is None:
        return None
    rf, reached = found
    return rf - bin(reached).count("1")


def blind_spots(layers: Sequence[Layer], ndim: int, cap: int = REACH_MAX_RF) -> Tuple[Optional[int], ...]:
    """Blind spots of a sequential stack on each of `ndim` axes (None where the RF exceeds `cap`).

    The reached offsets of several axes are the product of the per-axis sets (every layer's
    taps are a grid), so a stack has full coverage iff every axis has 0 blind spots."""
    per_layer = [layer.axis_params(ndim) for layer in layers]
    return tuple(axis_blind_spots([axes[a] for axes in per_layer], cap) for a in range(ndim))
