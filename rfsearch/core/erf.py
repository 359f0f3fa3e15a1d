"""Effective receptive fields: the `ERF` result, and the exact uniform-weight ERF of a stack.

The theoretical RF says which input positions a unit can see; the effective RF says how much it
weighs each (Luo, Li, Urtasun and Zemel, "Understanding the Effective Receptive Field in Deep
Convolutional Neural Networks", NeurIPS 2016). With every weight equal, the gradient of a unit
with respect to the input is proportional to the number of paths from the unit down to each
input position; rfsearch counts them exactly:

    from rfsearch.core.erf import stack_erf
    e = stack_erf("conv3,conv3,conv3")     # per axis: 1 3 6 7 6 3 1 (positions from the RF's start)
    e.radius(0.95), e.width(0.5)           # summaries: see ERF

For a chain the counts on one axis are the convolution of every layer's tap indicator (k taps,
d apart) scaled by the jump before it, and an N-D chain's counts are the outer product of its
axes'. Graphs (sums over merges, transposed convolutions, upsampling, borders) are counted by
`rfsearch.graph.erf.graph_erf`. Counts are exact int64 (checked); beyond 2^63 - 1 they are
float64 (`exact` False), each within a relative (additions) * 2^-53.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import SpecError
from ..model.grammar import parse_layers
from ..model.layers import Layer
from ..model.specfile import Spec
from ..model.values import parse_size
from .network import receptive_field

__all__ = ["ERF", "chain_counts_reference", "stack_erf"]

FRACTIONS = (0.5, 0.95)


@dataclass(frozen=True, repr=False)
class ERF:
    """An effective receptive field: a weight per input position around one unit.

    counts: an N-D array over a box of input positions whose first element is at `origin` (input
    coordinates; negative positions and positions past the input are padding). kind "paths": exact
    path counts of a uniform-weight network (int64, or float64 when `exact` is False); "gradient":
    mean absolute gradients of a real model (float64). extent: the unit's theoretical RF per axis,
    (first, last) position (padding included); center: its midpoint, from which radii and widths
    are measured. borders: counts stop at intermediate borders (False: every position counts, as
    Distill counts padding, which is also what a unit far from every border sees).
    """

    counts: np.ndarray
    origin: Tuple[int, ...]
    extent: Tuple[Tuple[int, int], ...]
    exact: bool = True
    kind: str = "paths"
    unit: Optional[Tuple[int, ...]] = None
    node: Optional[str] = None
    input_size: Optional[Tuple[int, ...]] = None
    borders: bool = False
    samples: Optional[int] = None
    _cache: Dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def ndim(self) -> int:
        return len(self.origin)

    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(int(n) for n in self.counts.shape)

    @property
    def rf(self) -> Tuple[int, ...]:
        """The theoretical RF size per axis (the extent's length)."""
        return tuple(hi - lo + 1 for lo, hi in self.extent)

    @property
    def center(self) -> Tuple[float, ...]:
        """The theoretical RF's centre per axis (input coordinates)."""
        return tuple((lo + hi) / 2 for lo, hi in self.extent)

    def positions(self, axis: int) -> np.ndarray:
        """The input positions of the counts' indices on one axis."""
        return np.arange(self.origin[axis], self.origin[axis] + self.counts.shape[axis])

    @property
    def total(self) -> Union[int, float]:
        """The sum of the counts (exactly, as a Python int, for exact counts)."""
        if "total" not in self._cache:
            if self.exact and self.counts.dtype.kind in "iu":
                self._cache["total"] = int(sum(int(v) for v in self.counts.reshape(-1).tolist()))
            else:
                self._cache["total"] = float(self.counts.sum())
        return self._cache["total"]  # type: ignore[no-any-return]

    @property
    def weights(self) -> np.ndarray:
        """The counts as a distribution (float64, summing to 1; all zero if nothing is reached)."""
        if "weights" not in self._cache:
            values = self.counts.astype(np.float64)
            peak = values.max() if values.size else 0.0
            self._cache["weights"] = values / values.sum() if peak > 0 else values * 0.0
        return self._cache["weights"]  # type: ignore[no-any-return]

    def marginal(self, axis: int) -> np.ndarray:
        """The distribution summed over the other axes."""
        others = tuple(a for a in range(self.ndim) if a != axis)
        return np.asarray(self.weights.sum(axis=others) if others else self.weights)

    @property
    def mean(self) -> Tuple[float, ...]:
        """The centre of mass per axis (input coordinates)."""
        return tuple(float((self.marginal(a) * self.positions(a)).sum()) for a in range(self.ndim))

    @property
    def std(self) -> Tuple[float, ...]:
        """The standard deviation per axis (Luo et al.: it grows like the square root of depth)."""
        out = []
        for a, m in enumerate(self.mean):
            w, x = self.marginal(a), self.positions(a)
            out.append(math.sqrt(max(float((w * (x - m) ** 2).sum()), 0.0)))
        return tuple(out)

    def width(self, fraction: float) -> Tuple[int, ...]:
        """Per axis, the fewest positions of a window centred on the RF's centre that hold at least
        `fraction` of the mass (the window grows one position on each side at a time)."""
        _check_fraction(fraction)
        out = []
        for a in range(self.ndim):
            w, x = self.marginal(a), self.positions(a)
            c = self.center[a]
            distance = np.abs(x - c)
            order = np.unique(distance)
            reached = 0
            for d in order:
                if w[distance <= d].sum() >= fraction - 1e-12:
                    reached = int(2 * d + 1)
                    break
            out.append(reached)
        return tuple(out)

    def radius(self, fraction: float) -> float:
        """The smallest Euclidean distance from the RF's centre within which at least `fraction`
        of the mass lies (0 if the centre alone holds it)."""
        _check_fraction(fraction)
        grids = np.meshgrid(*[self.positions(a) - self.center[a] for a in range(self.ndim)], indexing="ij")
        distance = np.sqrt(sum(g.astype(np.float64) ** 2 for g in grids))
        order = np.argsort(distance, axis=None, kind="stable")
        mass = np.cumsum(self.weights.reshape(-1)[order])
        if mass.size == 0 or mass[-1] <= 0:
            return 0.0
        k = int(np.searchsorted(mass, fraction - 1e-12))
        return float(distance.reshape(-1)[order][min(k, mass.size - 1)])

    @property
    def blind_spots(self) -> int:
        """Positions inside the theoretical RF (within the counted box) that no path reaches."""
        inside = tuple(slice(max(lo - o, 0), max(hi - o + 1, 0)) for (lo, hi), o in zip(self.extent, self.origin))
        return int((self.counts[inside] == 0).sum())

    def summary(self) -> Dict[str, Any]:
        """Plain data: the theoretical RF, and the ERF's spread against it (widths holding 50% and
        95% of the mass per axis, as a fraction of the RF; Euclidean radii; mean and std)."""
        out: Dict[str, Any] = {
            "kind": self.kind,
            "exact": self.exact,
            "node": self.node,
            "unit": None if self.unit is None else list(self.unit),
            "rf": list(self.rf),
            "extent": [list(e) for e in self.extent],
            "center": list(self.center),
            "mean": [round(v, 6) for v in self.mean],
            "std": [round(v, 6) for v in self.std],
            "blind_spots": self.blind_spots if self.kind == "paths" else None,
        }
        for f in FRACTIONS:
            pct = int(round(f * 100))
            width = self.width(f)
            out[f"width_{pct}"] = list(width)
            out[f"width_{pct}_of_rf"] = [round(w / r, 6) if r else None for w, r in zip(width, self.rf)]
            out[f"radius_{pct}"] = round(self.radius(f), 6)
        if self.kind == "paths":
            out["paths"] = self.total if isinstance(self.total, int) else float(self.total)
        if self.samples is not None:
            out["samples"] = self.samples
        return out

    def __repr__(self) -> str:
        what = "exact path counts" if self.kind == "paths" and self.exact else self.kind
        return (f"<ERF {what} of {'unit ' + str(self.unit) if self.unit is not None else 'a unit'}"
                f"{' of ' + repr(self.node) if self.node else ''}: RF {'x'.join(map(str, self.rf))}, 95% of the mass "
                f"in {'x'.join(map(str, self.width(0.95)))}, std {'x'.join(f'{s:.3g}' for s in self.std)}>")  # fmt: skip

    def _repr_html_(self) -> str:
        import html

        rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
                       for k, v in self.summary().items())  # fmt: skip
        return f"<table><thead><tr><th>ERF</th><th></th></tr></thead><tbody>{rows}</tbody></table>"


def _check_fraction(fraction: float) -> None:
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise SpecError(f"fraction must be in (0, 1], got {fraction!r:.40}")


def chain_counts_reference(kernels: Sequence[int], strides: Sequence[int], dilations: Sequence[int]) -> List[int]:
    """The pure-Python reference of a chain's counts on one axis (Python ints, obviously right):
    unit 0 of the top layer, pushed down one layer at a time to the input."""
    # Positions relative to the RF's start: walk from the top layer down.
    reached = {0: 1}  # the unit, in the last layer's units
    for k, s, d in reversed(list(zip(kernels, strides, dilations))):
        below: Dict[int, int] = {}
        for v, c in reached.items():
            for j in range(k):
                p = v * s + j * d
                below[p] = below.get(p, 0) + c
        reached = below
    lo = min(reached)
    return [reached.get(p, 0) for p in range(lo, max(reached) + 1)]


def stack_erf(
    layers: Union[str, Spec, Sequence[Layer]],
    input_size: Union[None, int, str, Sequence[int]] = None,
    *,
    unit: Union[None, int, Sequence[int]] = None,
    backend: str = "cpp",
) -> ERF:
    """The exact uniform-weight ERF of a stack, for a unit far from every border (translation
    invariant: padding positions count, as in Distill). unit: whose RF is placed (default unit 0;
    any unit's counts are unit 0's moved by unit * jump). input_size: needed only for 'same'
    padding with stride > 1 (it fixes the padding). backend: "cpp" (the core) or "python".
    Returns an ERF (counts: the outer product of the axes' counts)."""
    if backend not in ("cpp", "python"):
        raise SpecError(f"backend must be 'cpp' or 'python', got {backend!r:.40}")
    if isinstance(layers, str):
        layers = parse_layers(layers)
    elif isinstance(layers, Spec):
        input_size = layers.input_size if input_size is None else input_size
        layers = layers.layers
    layers = tuple(layers)
    result = receptive_field(layers, input_size)
    ndim = result.ndim
    index = (0,) * ndim if unit is None else ((unit,) * ndim if isinstance(unit, int) else tuple(unit))
    if len(index) != ndim or any(isinstance(u, bool) or not isinstance(u, int) or u < 0 for u in index):
        raise SpecError(f"unit must be {ndim} non-negative integer(s), got {unit!r:.60}")
    per_axis: List[np.ndarray] = []
    exact = True
    for a in range(ndim):
        params = [layer.axis_params(ndim)[a] for layer in layers]
        k = np.array([p.kernel for p in params], np.int64)
        s = np.array([p.stride for p in params], np.int64)
        d = np.array([p.dilation for p in params], np.int64)
        if backend == "python":
            values = chain_counts_reference(k.tolist(), s.tolist(), d.tolist())
            big = max(values) > np.iinfo(np.int64).max
            per_axis.append(np.array(values, dtype=np.float64 if big else np.int64))
            exact &= not big
        else:
            from .. import _core

            got = _core.chain_erf(kernel=k, stride=s, dilation=d)
            per_axis.append(got["counts"])
            exact &= bool(got["exact"])
    counts = _outer(per_axis)
    if counts.dtype.kind == "f":
        exact = False
    start = result.final.start
    jump = result.jump
    assert start is not None
    origin = tuple(int(st + u * j) for st, u, j in zip(start, index, jump))
    extent = tuple((o, o + int(r) - 1) for o, r in zip(origin, result.rf))
    size = None if input_size is None else parse_size(input_size)
    return ERF(counts, origin, extent, exact, "paths", index, None, size, False)


def _outer(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """The outer product of per-axis counts: int64 when every product fits, else float64."""
    if all(v.dtype.kind in "iu" for v in vectors):
        peak = 1
        for v in vectors:
            peak *= int(v.max()) if v.size else 0
        if peak <= np.iinfo(np.int64).max:
            out = vectors[0].astype(np.int64)
            for v in vectors[1:]:
                out = np.multiply.outer(out, v.astype(np.int64))
            return out
    out_f = vectors[0].astype(np.float64)
    for v in vectors[1:]:
        out_f = np.multiply.outer(out_f, v.astype(np.float64))
    return out_f
