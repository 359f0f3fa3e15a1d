"""Reached offsets and blind spots (rfsearch.search.reach) against every path, enumerated."""

import itertools
import os

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rfsearch import Conv, MaxPool
from rfsearch.model.layers import AxisParams
from rfsearch.search.reach import REACH_MAX_RF, axis_blind_spots, axis_reached, blind_spots


def axis(kernel, stride=1, dilation=1):
    return AxisParams(kernel, stride, dilation, 0, 0, False)


def every_path(params):
    """Offsets reached by some path: one tap per layer, summed (tap t of layer l at t * d_l * J_l)."""
    gaps, jump = [], 1
    for p in params:
        gaps.append([t * p.dilation * jump for t in range(p.kernel)])
        jump *= p.stride
    return {sum(taps) for taps in itertools.product(*gaps)}


def rf_of(params):
    rf, jump = 1, 1
    for p in params:
        rf += (p.kernel - 1) * p.dilation * jump
        jump *= p.stride
    return rf


layers_1d = st.lists(st.builds(axis, st.integers(1, 5), st.integers(1, 3), st.integers(1, 4)), max_size=6)


@settings(max_examples=3000 if os.environ.get("CI") else 300)
@given(layers_1d)
def test_reached_offsets_are_exactly_the_path_sums(params):
    paths = 1
    for p in params:
        paths *= p.kernel
    assume(paths <= 20_000)
    rf, bits = axis_reached(params)
    offsets = every_path(params)
    assert rf == rf_of(params)
    assert {o for o in range(rf) if bits >> o & 1} == offsets
    assert bits >> rf == 0  # nothing past the RF
    assert axis_blind_spots(params) == rf - len(offsets)
    assert min(offsets) == 0 and max(offsets) == rf - 1  # the RF's two ends are always reached


def test_known_cases():
    assert axis_blind_spots([]) == 0
    assert axis_blind_spots([axis(3, dilation=2), axis(3, dilation=2)]) == 4  # gridding: even offsets of 9
    assert axis_blind_spots([axis(2, dilation=2), axis(2)]) == 0  # a dense layer repairs the holes
    assert axis_blind_spots([axis(2, dilation=d) for d in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)]) == 0  # WaveNet
    assert axis_blind_spots([axis(2), axis(2), axis(2, dilation=4)]) == 1  # {0,1,2}+{0,4}: 3 is missed
    assert axis_blind_spots([axis(2, stride=3), axis(2)]) == 1  # taps 3 apart after stride 3
    assert axis_blind_spots([axis(3, 1, 1), axis(3, 1, 60)]) == 114  # RF 123, 9 offsets reached


def test_cap_says_not_computed():
    assert axis_reached([axis(100)], cap=100) == (100, (1 << 100) - 1)
    assert axis_reached([axis(101)], cap=100) is None
    assert axis_blind_spots([axis(101)], cap=100) is None
    assert axis_blind_spots([axis(3, dilation=REACH_MAX_RF)]) is None  # RF 2 * 2^22 + 1


def test_blind_spots_per_axis_of_layers():
    layers = [Conv((3, 3), dilation=(2, 1)), Conv((3, 1), dilation=(2, 1)), MaxPool(2, stride=1)]
    # axis 0: {0,2,4} + {0,2,4} + {0,1} = 0..9 all reached; axis 1: {0,1,2} + {0} + {0,1}: 0..3.
    assert blind_spots(layers, 2) == (0, 0)
    assert blind_spots([Conv(3, dilation=2), Conv(3, dilation=2)], 1) == (4,)
    assert blind_spots([Conv((3, 3), dilation=(2, 1))] * 2, 2) == (4, 0)
