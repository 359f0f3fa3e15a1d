"""Deterministic random workload for the benchmarks: N conv/pool stacks of L layers, one axis.

Every stack uses all L layers (no ragged depth array: the core reads no depth bytes), on one
spatial axis of input size 224. Arrays are (N, L), C-contiguous:

    kernel, stride, dilation, padding : int32
    ceil_mode                         : bool (True only on pooling layers)

Per layer (independently, numpy Generator seeded by `seed`):

* layer type: pooling with probability 1/3, else convolution;
* kernel k uniform in 1..7;
* dilation d uniform in {1, 2, 4} on convolutions, 1 on pooling layers (pooling layers are
  not dilated in practice, and an undilated pool with k up to 7 is the usual shape);
* padding: with probability 0.85 'same'-like (conv: d*(k-1)//2, i.e. half the effective
  kernel; pool: k//2, PyTorch's maximum for pooling), else 0 ('valid'): unpadded dilated
  layers shrink the map by up to 24 pixels each, and with half the layers unpadded most
  depth-32 stacks collapsed;
* ceil_mode: uniform True/False on pooling layers, False on convolutions;
* stride 2 with probability p2(L) = min(1/2, DOWNSAMPLINGS / L), else 1.

Why p2(L): 224 = 2**7.8, so a stack survives about 7 halvings at most, and fewer once valid
(unpadded) layers shrink it further. With a fixed stride-2 probability, deep stacks would
almost all collapse (output size < 1) after a few layers; the core stops folding a stack at
its collapse, so the benchmark would measure far less work than N*L layer folds and flatter
the core. p2(L) keeps the expected number of stride-2 layers at DOWNSAMPLINGS = 3 for L >= 6
(like a real backbone: 224 -> 28), and at L/2 for shallower stacks. `describe()` reports the
fraction of collapsed stacks and the fraction of layer folds actually done (the honest amount
of work); run.py prints both per configuration. Measured (seed 0): depth 4: 0.0% collapsed,
100% of the N*L folds done; depth 10: 2.4%, 99.7%; depth 32: 16%, 97%.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np

__all__ = ["DOWNSAMPLINGS", "INPUT_SIZE", "IdWorkload", "Workload", "make_network", "make_workload",
           "stride2_probability", "to_ids"]

INPUT_SIZE = 224
DOWNSAMPLINGS = 3.0  # expected number of stride-2 layers per stack (for L >= 6)
POOL_PROB = 1.0 / 3.0
SAME_PAD_PROB = 0.85


def stride2_probability(n_layers: int) -> float:
    return min(0.5, DOWNSAMPLINGS / max(n_layers, 1))


@dataclass(frozen=True)
class Workload:
    kernel: np.ndarray  # (N, L) int32
    stride: np.ndarray
    dilation: np.ndarray
    padding: np.ndarray
    ceil_mode: np.ndarray  # (N, L) bool
    input_size: int = INPUT_SIZE
    seed: int = 0

    @property
    def n_stacks(self) -> int:
        return int(self.kernel.shape[0])

    @property
    def n_layers(self) -> int:
        return int(self.kernel.shape[1])

    def arrays(self) -> Dict[str, np.ndarray]:
        """The arrays the core reads (padding_after is not passed: the core reads `padding`
        again for it, the same bytes)."""
        return {
            "kernel": self.kernel,
            "stride": self.stride,
            "dilation": self.dilation,
            "padding": self.padding,
            "ceil_mode": self.ceil_mode,
        }

    @property
    def nbytes(self) -> int:
        """Bytes of input the core reads: 4 int32 arrays and one bool array."""
        return sum(a.nbytes for a in self.arrays().values())

    def slice(self, n: int) -> "Workload":
        """The first n stacks (views, no copy)."""
        return Workload(
            self.kernel[:n], self.stride[:n], self.dilation[:n], self.padding[:n], self.ceil_mode[:n],
            self.input_size, self.seed,
        )


def make_workload(n_stacks: int, n_layers: int, seed: int = 0, input_size: int = INPUT_SIZE) -> Workload:
    """Generates the workload described in the module docstring. Same (N, L, seed) -> same arrays.

    Memory: 17 bytes per layer of the result, plus transient int64/bool temporaries; the
    generation is done in chunks of stacks to keep the temporaries small.
    """
    if n_stacks < 0 or n_layers < 1:
        raise ValueError("need n_stacks >= 0 and n_layers >= 1")
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, n_layers])))
    shape = (n_stacks, n_layers)
    kernel = np.empty(shape, np.int32)
    stride = np.empty(shape, np.int32)
    dilation = np.empty(shape, np.int32)
    padding = np.empty(shape, np.int32)
    ceil_mode = np.empty(shape, np.bool_)
    p2 = stride2_probability(n_layers)
    chunk = max(1, (1 << 22) // n_layers)  # ~4M layers at a time
    dil_choices = np.array([1, 2, 4], np.int32)
    for lo in range(0, n_stacks, chunk):
        hi = min(n_stacks, lo + chunk)
        sub = (hi - lo, n_layers)
        pool = rng.random(sub) < POOL_PROB
        k = rng.integers(1, 8, size=sub, dtype=np.int32)
        d = np.where(pool, np.int32(1), dil_choices[rng.integers(0, 3, size=sub)])
        same = rng.random(sub) < SAME_PAD_PROB
        half = np.where(pool, k // 2, d * (k - 1) // 2)
        kernel[lo:hi] = k
        dilation[lo:hi] = d
        padding[lo:hi] = np.where(same, half, 0)
        stride[lo:hi] = np.where(rng.random(sub) < p2, 2, 1)
        ceil_mode[lo:hi] = pool & (rng.random(sub) < 0.5)
    return Workload(kernel, stride, dilation, padding, ceil_mode, input_size, seed)


def describe(w: Workload) -> Dict[str, float]:
    """Fraction of collapsed stacks and of the N*L layer folds actually done (numpy baseline)."""
    from numpy_baseline import score_numpy  # bench/ is a script directory, not a package

    res = score_numpy(w)
    folds = np.where(res.status == 0, w.n_layers, res.layers_done).sum()
    n = max(w.n_stacks, 1)
    return {
        "collapsed_fraction": float((res.status != 0).sum() / n),
        "folds_done_fraction": float(folds / (n * w.n_layers)),
    }


@dataclass(frozen=True)
class IdWorkload:
    """The same stacks as a table of distinct layers plus (N, L) int32 row ids (the core's by-id input)."""

    table: object  # rfsearch.LayerTable (bench/ imports rfsearch lazily)
    ids: np.ndarray  # (N, L) int32
    input_size: int = INPUT_SIZE

    def slice(self, n: int) -> "IdWorkload":
        return IdWorkload(self.table, self.ids[:n], self.input_size)


def to_ids(w: Workload) -> IdWorkload:
    """Each distinct (kernel, stride, dilation, padding, ceil_mode) once in a table; the stacks as row ids."""
    from rfsearch import LayerTable

    rows = np.stack([w.kernel, w.stride, w.dilation, w.padding, w.ceil_mode.astype(np.int32)], axis=-1)
    # Rows are small non-negative ints: one int64 key per layer makes np.unique fast.
    key = ((((rows[..., 0].astype(np.int64) * 64 + rows[..., 1]) * 64 + rows[..., 2]) * 64 + rows[..., 3]) * 2
           + rows[..., 4])  # fmt: skip
    assert int(rows[..., :4].max()) < 64
    distinct, inverse = np.unique(key.ravel(), return_inverse=True)
    ceil = distinct % 2
    rest = distinct // 2
    padding, rest = rest % 64, rest // 64
    dilation, rest = rest % 64, rest // 64
    stride, kernel = rest % 64, rest // 64
    table = LayerTable.from_columns(kernel, stride, padding, dilation, ceil_mode=ceil.astype(bool))
    return IdWorkload(table, inverse.reshape(w.kernel.shape).astype(np.int32), w.input_size)


# --- one long network, for receptive_field -------------------------------------------------

NETWORK_INPUT = 2**20
NETWORK_DOWNSAMPLINGS = 10


def make_network(n_layers: int) -> Tuple[List[object], int]:
    """A plain long network of Layer objects and its input size: conv3 p1, relu, dilated conv3,
    maxpool3 s1 p1 repeated, with 10 stride-2 convolutions spread evenly (input 2^20 -> 1024, no
    collapse, no overflow). Deterministic."""
    from rfsearch import Conv, Identity, MaxPool

    cycle = [Conv(3, padding=1), Identity(name="relu"), Conv(3, dilation=2, padding=2),
             MaxPool(3, stride=1, padding=1)]  # fmt: skip
    layers: List[object] = [cycle[i % len(cycle)] for i in range(n_layers)]
    step = max(1, n_layers // NETWORK_DOWNSAMPLINGS)
    for i in range(0, n_layers, step)[:NETWORK_DOWNSAMPLINGS]:
        layers[i] = Conv(3, stride=2, padding=1)
    return layers, NETWORK_INPUT
