"""PyTorch as an outside oracle: output sizes (floor, ceil_mode, padding, dilation) and the
input extent a unit's gradient reaches. CI installs torch (the CPU wheel); locally it is optional.

The gradient check uses positive weights and average pooling so no gradient is zero by accident
(with max pooling a gradient reaches only the arg-max, which undercounts the RF).
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from budgets import budget
from rfsearch import AvgPool, Conv, MaxPool, receptive_field

# Skipped without torch locally; with CI set a skip fails the run (tests/run_policy.py).
torch = pytest.importorskip("torch", reason="PyTorch oracle: pip install torch (CI installs the CPU wheel)")


@st.composite
def layer_1d(draw):
    kind = draw(st.sampled_from(["conv", "maxpool", "avgpool"]))
    k = draw(st.integers(1, 5))
    s = draw(st.integers(1, 3))
    d = draw(st.integers(1, 3)) if kind != "avgpool" else 1
    # PyTorch pooling requires pad <= kernel // 2 (a framework limit; rfsearch accepts any pad).
    p = draw(st.integers(0, 3 if kind == "conv" else k // 2))
    if kind == "conv":
        return Conv(k, stride=s, padding=p, dilation=d)
    ceil = draw(st.booleans())
    cls = MaxPool if kind == "maxpool" else AvgPool
    return cls(k, stride=s, padding=p, dilation=d, ceil_mode=ceil)


def torch_layer(layer):
    if isinstance(layer, Conv):
        m = torch.nn.Conv1d(1, 1, layer.kernel, layer.stride, layer.padding, layer.dilation, bias=False)
        torch.nn.init.constant_(m.weight, 1.0)
        return m
    if isinstance(layer, MaxPool):
        return torch.nn.MaxPool1d(layer.kernel, layer.stride, layer.padding, layer.dilation, ceil_mode=layer.ceil_mode)
    return torch.nn.AvgPool1d(layer.kernel, layer.stride, layer.padding, ceil_mode=layer.ceil_mode)


@pytest.mark.slow  # torch per example: CI runs its budget, `pytest --run-slow` a quick one
@settings(max_examples=budget(ci=2000, dev=150), deadline=None)
@given(st.lists(layer_1d(), min_size=1, max_size=6), st.integers(1, 40))
def test_output_sizes_match_pytorch(layers, n):
    r = receptive_field(layers, n)
    x = torch.zeros(1, 1, n)
    sizes, refused_at = [], None
    for i, layer in enumerate(layers):
        try:
            x = torch_layer(layer)(x)
        except RuntimeError:  # PyTorch refuses an output size < 1: no later layer can run
            refused_at = i
            break
        sizes.append((x.shape[-1],))
    assert r.collapsed_at == refused_at and r.valid == (refused_at is None)
    assert [r.layers[i].output_size for i in range(len(sizes))] == sizes


@st.composite
def valid_stacks(draw):
    """Stacks without max pooling and an input size they do not collapse on (so every example runs)."""
    layers = draw(st.lists(layer_1d().filter(lambda l: not isinstance(l, MaxPool)), min_size=1, max_size=5))
    # the smallest input that survives every layer, found from the last layer back (PyTorch sizes)
    need = 1
    for layer in reversed(layers):
        k_eff = layer.dilation * (layer.kernel - 1) + 1
        need = max(1, (need - 1) * layer.stride + k_eff - 2 * layer.padding)
    n = draw(st.integers(max(8, need), max(8, need) + 52), label="n")
    return layers, n


@pytest.mark.slow
@settings(max_examples=budget(ci=1000, dev=100), deadline=None)
@given(valid_stacks(), st.data())
def test_unit_gradient_extent_matches_clipped_interval(stack, data):
    layers, n = stack
    r = receptive_field(layers, n)
    assume(r.valid)  # by construction every drawn stack is valid; the assumption states it
    u = data.draw(st.integers(0, r.output_size[0] - 1), label="unit")
    x = torch.ones(1, 1, n, dtype=torch.float64, requires_grad=True)
    y = x
    for layer in layers:
        y = torch_layer(layer).double()(y)
    y[0, 0, u].backward()
    touched = np.flatnonzero(x.grad[0, 0].numpy() != 0)
    (lo, hi), clipped = r.unit(u).interval[0], r.unit(u).clipped[0]
    # the Distill interval always contains what the unit depends on (which may be nothing: a unit
    # that sees only padding, or whose taps all fall in dilation holes)
    if touched.size:
        assert clipped is not None and clipped[0] <= touched.min() and touched.max() <= clipped[1]
    if 0 <= lo and hi <= n - 1:
        # Inside the image, the first and last taps are real pixels: the extent is exact.
        # (At the border the gradient can fall short: a dilation hole or an intermediate
        # layer's padding sits where the interval ends. That is why gradient checks undercount.)
        assert (touched.min(), touched.max()) == (lo, hi)
