"""PyTorch as an outside oracle: output sizes (floor, ceil_mode, padding, dilation) and the
input extent a unit's gradient reaches. CI installs torch (the CPU wheel); locally it is optional.

The gradient check uses positive weights and average pooling so no gradient is zero by accident
(with max pooling a gradient reaches only the arg-max, which undercounts the RF).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfsearch import AvgPool, Conv, MaxPool, receptive_field

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


@settings(max_examples=300, deadline=None)
@given(st.lists(layer_1d(), min_size=1, max_size=6), st.integers(1, 40))
def test_output_sizes_match_pytorch(layers, n):
    r = receptive_field(layers, n)
    x = torch.zeros(1, 1, n)
    for i, layer in enumerate(layers):
        try:
            x = torch_layer(layer)(x)
        except RuntimeError:  # PyTorch refuses an output size < 1
            assert r.collapsed_at == i
            return
        assert r.layers[i].output_size == (x.shape[-1],), f"layer {i} {layer.spec()}"
    assert r.valid


@settings(max_examples=200, deadline=None)
@given(st.lists(layer_1d().filter(lambda l: not isinstance(l, MaxPool)), min_size=1, max_size=5),
       st.integers(8, 60), st.data())  # fmt: skip
def test_unit_gradient_extent_matches_clipped_interval(layers, n, data):
    r = receptive_field(layers, n)
    if not r.valid:
        return
    u = data.draw(st.integers(0, r.output_size[0] - 1), label="unit")
    x = torch.ones(1, 1, n, dtype=torch.float64, requires_grad=True)
    y = x
    for layer in layers:
        y = torch_layer(layer).double()(y)
    y[0, 0, u].backward()
    touched = np.flatnonzero(x.grad[0, 0].numpy() != 0)
    (lo, hi), clipped = r.unit(u).interval[0], r.unit(u).clipped[0]
    if touched.size:  # the Distill interval always contains what the unit depends on
        assert clipped is not None and clipped[0] <= touched.min() and touched.max() <= clipped[1]
    if 0 <= lo and hi <= n - 1:
        # Inside the image, the first and last taps are real pixels: the extent is exact.
        # (At the border the gradient can fall short: a dilation hole or an intermediate
        # layer's padding sits where the interval ends. That is why gradient checks undercount.)
        assert (touched.min(), touched.max()) == (lo, hi)
