"""Reached offsets and blind spots of a sequential stack, per axis: the one exact computation.

On one axis, an output unit of a sequential stack sees input offset o (0 <= o < RF, counted
from the first input pixel of its RF) through some path iff o is a sum of one tap per layer:
layer l contributes a tap in {0, g_l, 2 g_l, ..., (k_l - 1) g_l} with g_l = d_l * J_l (J_l the
jump before layer l). The reached offsets are the sum-set of those tap sets; the RF is
1 + sum (k_l - 1) g_l, so every reached offset lies in [0, RF - 1], and the **blind spots** are
the offsets of the RF that no path reaches (the gridding problem of dilated stacks). Padding and
ceil_mode do not matter: they move the RF, not which offsets inside it have paths. On several
axes the reached offsets are the product of the per-axis sets (every layer's taps form a grid),
so a stack covers its whole RF iff every axis has 0 blind spots.

The set is kept as a Python int used as a bitset (bit o = offset o reached); a layer is the
union of k shifted copies. While the set is the whole interval [0, RF - 1] it stays whole under
a layer whose tap gap is at most the RF (k copies of an interval, g <= RF apart, overlap or
touch), which is checked in O(1) without building the bits: ordinary stacks of any depth cost
O(1) per layer. RFs above `REACH_MAX_RF` (2^22) on an axis are **not computed** (None), never
guessed. The C++ twin is src_cpp/include/rfsearch/reach.hpp (same cap, same rule); the batch
functions (`batch_receptive_fields(..., blind_spots=True)`) run it over many stacks.

This module is the owner of blind spots: `rfsearch compute`, the batch core, search spaces
(``coverage: full``) and, later, graphs and the exact effective RF read them from here.
"""

from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from ..model.layers import AxisParams, Layer
from .intake import LayerArrays
from .reference import OK, OVERFLOW, AxisState, fold_layer

__all__ = [
    "NOT_COMPUTED",
    "REACH_MAX_RF",
    "AxisReach",
    "axis_blind_spots",
    "axis_reached",
    "batch_blind_spots_reference",
    "blind_spots",
    "by_id_blind_spots_reference",
    "layer_blind_spots",
]

#: Largest RF (per axis) whose reached offsets are computed (a 4 Mi-bit set, 512 KiB).
REACH_MAX_RF = 1 << 22
#: The value of "not computed" (RF above the cap) in integer arrays of blind spots.
NOT_COMPUTED = -1


class AxisReach:
    """The reached offsets of one axis, layer by layer. `blind_spots` is None once the RF
    passes `cap` (and stays None: the RF never shrinks)."""

    def __init__(self, cap: int = REACH_MAX_RF) -> None:
        if cap < 1:
            raise ValueError(f"cap must be >= 1, got {cap}")
        self.cap = cap
        self.rf = 1
        self.jump = 1
        self._bits = 1  # offset 0 reached; kept only while not `_full`
        self._full = True  # every offset of [0, rf - 1] reached
        self.computed = True

    def push(self, p: AxisParams) -> None:
        """Appends a layer (kernel, stride and dilation of `p` on this axis)."""
        if not self.computed:
            return
        if p.kernel > 1:
            gap = p.dilation * self.jump
            rf = self.rf + (p.kernel - 1) * gap
            if rf > self.cap:
                self.computed, self._bits = False, 0
                return
            if not (self._full and gap <= self.rf):
                bits = (1 << self.rf) - 1 if self._full else self._bits
                spread = 0
                for tap in range(p.kernel):  # union of the set shifted by each tap
                    spread |= bits << (tap * gap)
                self._full = spread == (1 << rf) - 1
                self._bits = 0 if self._full else spread
            self.rf = rf
        self.jump *= p.stride

    @property
    def bits(self) -> Optional[int]:
        """The reached offsets as a bitset (bit o: offset o), None when not computed."""
        if not self.computed:
            return None
        return (1 << self.rf) - 1 if self._full else self._bits

    @property
    def blind_spots(self) -> Optional[int]:
        """Offsets of the RF that no path reaches (None: RF above the cap)."""
        if not self.computed:
            return None
        return 0 if self._full else self.rf - self._bits.bit_count()


def axis_reached(params: Sequence[AxisParams], cap: int = REACH_MAX_RF) -> Optional[Tuple[int, int]]:
    """(rf, bitset of reached offsets) on one axis, or None when the RF exceeds `cap`.

    `params` are the layers' parameters on this axis (kernel, stride, dilation; padding and
    ceil_mode do not matter)."""
    reach = AxisReach(cap)
    for p in params:
        reach.push(p)
    bits = reach.bits
    return None if bits is None else (reach.rf, bits)


def axis_blind_spots(params: Sequence[AxisParams], cap: int = REACH_MAX_RF) -> Optional[int]:
    """Number of offsets inside the RF that no path reaches on one axis (None: RF above `cap`)."""
    reach = AxisReach(cap)
    for p in params:
        reach.push(p)
    return reach.blind_spots


def blind_spots(layers: Sequence[Layer], ndim: int, cap: int = REACH_MAX_RF) -> Tuple[Optional[int], ...]:
    """Blind spots of a sequential stack on each of `ndim` axes (None where the RF exceeds `cap`)."""
    per_layer = [layer.axis_params(ndim) for layer in layers]
    return tuple(axis_blind_spots([axes[a] for axes in per_layer], cap) for a in range(ndim))


def layer_blind_spots(
    layers: Sequence[Layer], ndim: int, cap: int = REACH_MAX_RF
) -> List[Tuple[Optional[int], ...]]:
    """Blind spots after each layer of a stack, per axis: row l is what the stack cut after
    layer l has (None where the RF exceeds `cap`)."""
    reaches = [AxisReach(cap) for _ in range(ndim)]
    out = []
    for layer in layers:
        for reach, p in zip(reaches, layer.axis_params(ndim)):
            reach.push(p)
        out.append(tuple(r.blind_spots for r in reaches))
    return out


# ---------------------------------------------------------------------------------------------
# The batch reference: the same stacks, inputs and stopping rules as core.reference.fold_stacks


Read = Callable[[int, int, int], AxisParams]


def _fold_reach(read: Read, shape: Tuple[int, int, int], depth: Optional[np.ndarray],
                input_size: Optional[Tuple[int, ...]], per_layer: bool, cap: int) -> np.ndarray:  # fmt: skip
    """Blind spots of every stack (N, A), or after every layer (N, L, A); NOT_COMPUTED above the
    cap. An axis takes the layers its fold applied: it stops after the layer where it collapsed
    (that layer included, as its RF) and before the one where it overflowed. The inputs are
    valid (the receptive-field call that comes first checked them)."""
    n_stacks, n_layers, n_axes = shape
    out = np.zeros((n_stacks, n_layers, n_axes) if per_layer else (n_stacks, n_axes), dtype=np.int64)

    def values(reaches: List[AxisReach]) -> List[int]:
        return [NOT_COMPUTED if r.blind_spots is None else r.blind_spots for r in reaches]

    for n in range(n_stacks):
        d = n_layers if depth is None else int(depth[n])
        states = [AxisState(size=None if input_size is None else input_size[a]) for a in range(n_axes)]
        codes = [OK] * n_axes
        reaches = [AxisReach(cap) for _ in range(n_axes)]
        layer = 0
        while layer < d and OK in codes:
            for a in range(n_axes):
                if codes[a] != OK:
                    continue
                p = read(n, layer, a)
                states[a], codes[a] = fold_layer(states[a], p)
                if codes[a] != OVERFLOW:
                    reaches[a].push(p)
            if per_layer:
                out[n, layer] = values(reaches)
            layer += 1
        if per_layer:
            out[n, layer:] = values(reaches)
        else:
            out[n] = values(reaches)
    return out


def _params(arrays: LayerArrays, at: Tuple[int, ...]) -> AxisParams:
    return AxisParams(int(arrays.kernel[at]), int(arrays.stride[at]), int(arrays.dilation[at]),
                      int(arrays.padding[at]), int(arrays.padding_after[at]), bool(arrays.ceil_mode[at]))  # fmt: skip


def batch_blind_spots_reference(arrays: LayerArrays, depth: Optional[np.ndarray], input_size: Optional[Tuple[int, ...]],
                                cap: int = REACH_MAX_RF) -> np.ndarray:  # fmt: skip
    """Dense (N, L, A) arrays: blind spots (N, A), as _core.batch_blind_spots."""
    return _fold_reach(lambda n, layer, a: _params(arrays, (n, layer, a)), arrays.kernel.shape, depth, input_size,
                       False, cap)  # fmt: skip


def by_id_blind_spots_reference(table: LayerArrays, ids: np.ndarray, depth: Optional[np.ndarray],
                                input_size: Optional[Tuple[int, ...]], *, per_layer: bool = False,
                                cap: int = REACH_MAX_RF) -> np.ndarray:  # fmt: skip
    """(N, L) ids into (T, A) table columns: blind spots (N, A), or (N, L, A) with per_layer, as
    _core.blind_spots_by_id."""
    shape = (ids.shape[0], ids.shape[1], table.kernel.shape[1])
    return _fold_reach(lambda n, layer, a: _params(table, (int(ids[n, layer]), a)), shape, depth, input_size,
                       per_layer, cap)  # fmt: skip
