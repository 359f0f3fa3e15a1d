"""Hypothesis strategies for small random search spaces (shared by the search tests).

Spaces are drawn as space-file mappings (what users write) and built with SearchSpace.from_dict,
so the differential tests also exercise the file contract. They stay small (a few thousand
candidates at most) so the brute-force oracle can visit all of them.
"""

from __future__ import annotations

import os

from hypothesis import assume
from hypothesis import strategies as st

from rfsearch.search import SearchSpace
from rfsearch.search.evaluate import evaluate

KINDS = ["conv", "maxpool", "avgpool"]

#: Examples for the expensive differential tests (each runs the oracle on a whole space).
BUDGET = 600 if os.environ.get("CI") else 120


def _axis_value(draw, options, ndim, per_axis_ok):
    if ndim > 1 and per_axis_ok and draw(st.booleans()):
        return [draw(st.sampled_from(options)) for _ in range(ndim)]
    return draw(st.sampled_from(options))


def _unique_list(draw, make, min_size=1, max_size=3):
    items = []
    for _ in range(draw(st.integers(min_size, max_size))):
        value = make()
        if value not in items:
            items.append(value)
    return items


@st.composite
def choice_maps(draw, ndim, sized, partial):
    """A `layers` (partial=False) or `positions` entry (partial=True) mapping."""
    out = {}
    per_axis = draw(st.booleans())
    if not partial or draw(st.booleans()):
        out["kind"] = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=3, unique=True))
    if not partial or draw(st.booleans()):
        out["kernel"] = _unique_list(draw, lambda: _axis_value(draw, [1, 2, 3, 5], ndim, per_axis))
    if draw(st.booleans()):
        out["stride"] = _unique_list(draw, lambda: _axis_value(draw, [1, 2, 3], ndim, per_axis), max_size=2)
    if draw(st.booleans()):
        out["dilation"] = _unique_list(draw, lambda: _axis_value(draw, [1, 2, 3], ndim, per_axis), max_size=2)
    if draw(st.booleans()):
        modes = ["half", "valid", 0, 1, 2] + (["same"] if sized else [])
        out["padding"] = draw(st.lists(st.sampled_from(modes), min_size=1, max_size=2, unique=True))
    if draw(st.booleans()):
        out["ceil_mode"] = draw(st.sampled_from([[False], [True], [False, True]]))
    return out


def _ranges(draw, ndim, low, high, width):
    def one():
        lo = draw(st.integers(low, high))
        return lo if draw(st.booleans()) else [lo, lo + draw(st.integers(0, width))]

    if ndim > 1 and draw(st.booleans()):
        return [None if draw(st.integers(0, 4)) == 0 else (lambda r: r if isinstance(r, list) else [r, r])(one())
                for _ in range(ndim)]  # fmt: skip
    return one()


@st.composite
def space_maps(draw, countable=True, max_depth=4):
    """A space-file mapping. countable=False may add coverage and cost budgets."""
    ndim = draw(st.sampled_from([1, 1, 2]))
    sized = draw(st.booleans())
    lo = draw(st.integers(1, 3))
    hi = draw(st.integers(lo, max_depth))
    data = {"depth": lo if lo == hi and draw(st.booleans()) else [lo, hi]}
    if sized:
        sizes = [draw(st.integers(2, 64)) for _ in range(ndim)]
        data["input_size"] = sizes if ndim > 1 else sizes[0]
    data["layers"] = draw(choice_maps(ndim, sized, partial=False))
    if ndim > 1 and "input_size" not in data:  # make sure the space has ndim axes
        kernels = [[k, k] if isinstance(k, int) else k for k in data["layers"]["kernel"]]
        data["layers"]["kernel"] = [k for i, k in enumerate(kernels) if k not in kernels[:i]]
    data["positions"] = [draw(choice_maps(ndim, sized, partial=True)) for _ in range(draw(st.integers(0, min(hi, 2))))]
    rules = {}
    if draw(st.integers(0, 2)) == 0:
        rules["max_downsampling"] = draw(st.integers(0, 3))
    if draw(st.integers(0, 3)) == 0:
        rules["stride_on"] = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=2, unique=True))
    if rules:
        data["rules"] = rules
    with_channels = draw(st.booleans())
    if with_channels:
        data["channels"] = {"input": draw(st.integers(1, 4)),
                            "widths": draw(st.lists(st.integers(1, 8), min_size=1, max_size=3))}  # fmt: skip
    targets = {}
    if draw(st.booleans()):
        targets["rf"] = _ranges(draw, ndim, 1, 25, 40)
    if draw(st.integers(0, 2)) == 0:
        targets["jump"] = _ranges(draw, ndim, 1, 8, 8)
    if sized and draw(st.integers(0, 2)) == 0:
        targets["output_size"] = _ranges(draw, ndim, 1, 16, 16)
    if sized and draw(st.integers(0, 3)) == 0:
        targets["rf_within_input"] = True
    if not countable:
        if draw(st.booleans()):
            targets["coverage"] = "full"
        if with_channels and draw(st.booleans()):
            targets["max_params"] = draw(st.integers(0, 600))
        if with_channels and sized and draw(st.booleans()):
            targets["max_macs"] = draw(st.integers(0, 20000))
    data["targets"] = targets
    objectives = ["depth"] + (["rf_error"] if "rf" in targets else [])
    if with_channels:
        objectives += ["params"] + (["macs"] if sized else [])
    names = draw(st.lists(st.sampled_from(objectives), min_size=1, max_size=3, unique=True))
    data["objective"] = names[0] if len(names) == 1 and draw(st.booleans()) else names
    return data


@st.composite
def small_spaces(draw, countable=True, max_total=1500, max_depth=4):
    """A SearchSpace with at most `max_total` candidates."""
    data = draw(space_maps(countable=countable, max_depth=max_depth))
    space = SearchSpace.from_dict(data)
    assume(space.total <= max_total)
    if draw(st.booleans()):
        # Aim the targets at a random candidate, so that some but rarely all stacks are feasible.
        depth = draw(st.integers(*space.depth))
        choices = [draw(st.integers(0, space.choice_counts[i] - 1)) for i in range(depth)]
        ev = evaluate(space, space.stack(choices))
        if ev.status == "ok":
            targets = dict(data["targets"])
            near = st.integers(0, 3)
            targets["rf"] = [[r - min(r - 1, draw(near)), r + draw(near)] for r in ev.rf]
            if draw(st.booleans()):
                targets["jump"] = [[j, j] for j in ev.jump]
            if ev.output_size is not None and draw(st.booleans()):
                targets["output_size"] = [[n - min(n - 1, draw(near)), n + draw(near)] for n in ev.output_size]
            space = SearchSpace.from_dict({**data, "targets": targets})
    return space
