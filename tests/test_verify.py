"""Gradient verification done right: the seed tutorial's numbers (the naive check shows 4x4 and 7x7
where the RF is 10x10; the probe shows 10x10), `verify` == analytic on random graphs built as
PyTorch modules, the probe against what undercounts a naive check, the empirical ERF."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from budgets import budget
from hypothesis import assume, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch", reason="gradient verification needs PyTorch")
nn = torch.nn
F = torch.nn.functional

from realnet_cases import graphs, module_of  # noqa: E402

from rfsearch.errors import SpecError  # noqa: E402
from rfsearch.graph import compute_graph  # noqa: E402
from rfsearch.graph.erf import graph_erf  # noqa: E402
from rfsearch.importers import TraceError, from_torch  # noqa: E402
from rfsearch.importers.verify import empirical_erf, sum_pool, verify  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _tutorial():
    spec = importlib.util.spec_from_file_location("tutorial_cnn", ROOT / "examples" / "tutorial_cnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TUTORIAL = _tutorial()


def test_the_tutorial_check_as_written_undercounts():
    # Run as the tutorial writes it: 4x4 for unit (0, 0), 7x7 for the central unit (4, 4), not 10x10.
    assert TUTORIAL.naive_check((0, 0), seed=0) == (4, 4)
    assert TUTORIAL.naive_check((4, 4), seed=0) == (7, 7)
    # Which conv2 output wins pool2's max decides unit (0, 0): 4 or 6 rows / columns; the centre is
    # always 7: pool1 passes one element of each 2x2 window, so 3 conv2 taps reach 3 conv1 outputs
    # 2 apart: 3 + 2 + 2 = 7 input positions.
    corner = Counter(TUTORIAL.naive_check((0, 0), seed=s) for s in range(12))
    centre = Counter(TUTORIAL.naive_check((4, 4), seed=s) for s in range(12))
    assert set(corner) <= {(4, 4), (4, 6), (6, 4), (6, 6)} and centre == Counter({(7, 7): 12})


def test_verify_shows_the_exact_10x10():
    torch.manual_seed(0)
    model = TUTORIAL.SimpleCNN()
    v = verify(model, (1, 1, 32, 32), unit=(4, 4), naive=True)
    assert v.rf == (10, 10) and v.extent == ((13, 22), (13, 22)) and v.inside
    assert v.gradient == v.extent and v.gradient_rf == (10, 10) and v.gradient_center == v.center
    assert v.same_positions and v.same_counts and v.agrees
    assert v.naive.rf == (7, 7)
    # The border unit: 3 of its 10 positions per axis are padding; the 7 inside all have gradient.
    corner = verify(model, (1, 1, 32, 32), unit=(0, 0), naive=True)
    assert corner.extent == ((-3, 6), (-3, 6)) and not corner.inside
    assert corner.gradient == ((0, 6), (0, 6)) and corner.agrees and corner.naive.rf == (4, 4)
    report = str(corner)
    assert "a border unit: the RF leaves the input: 7x7 of it lie inside" in report and report.endswith("AGREES")
    assert json.loads(json.dumps(v.to_dict()))["naive_rf"] == [7, 7]


@settings(max_examples=budget(ci=200, dev=25), deadline=None)
@given(graphs(max_nodes=5, max_size=20), st.data())
def test_verify_equals_analytic_on_random_graphs(case, data):
    """Random graphs as PyTorch modules (real Conv / MaxPool / ConvTranspose / Upsample / adaptive
    pooling / pad / crop layers, add / cat / mul, squeeze-excitation): the import gives the graph's
    numbers, and the probe's gradient reaches exactly the positions the exact count reaches, with
    the analytic extent and centre when the unit's RF lies inside the input."""
    graph, size = case
    torch.manual_seed(0)
    model = module_of(graph)
    expected = compute_graph(graph)
    try:
        imported = compute_graph(from_torch(model, size))
    except TraceError as e:  # only crops of nothing: no spatial op to import
        assert "no spatial operation" in str(e)
        assume(False)
    assert (imported.rf, imported.rf_min, imported.jump, imported.effective_padding, imported.output_size) == (
        expected.rf, expected.rf_min, expected.jump, expected.effective_padding, expected.output_size)  # fmt: skip
    unit = tuple(data.draw(st.integers(0, n - 1)) for n in imported.output_size)
    v = verify(model, (1, 1, *size), unit=unit)
    assert v.agrees, str(v)
    assert v.same_positions
    if v.inside and v.gradient is not None and not v.context:
        assert v.gradient == v.extent and v.gradient_center == v.center


class Undercounting(nn.Module):
    """Everything a naive check trips on: max pooling, ReLU, batch norm (training mode), dropout, a
    gate whose factor can be zero, negative weights, a reflect-padded conv."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1, padding_mode="reflect")
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=2, dilation=2)
        self.gate = nn.Conv2d(4, 4, 1)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        y = F.relu(self.bn(self.conv1(x)))
        y = F.max_pool2d(y, 3, stride=2, padding=1, ceil_mode=True)
        y = self.drop(self.conv2(y))
        return y * torch.sigmoid(self.gate(y)).clamp(max=0.5) - y.amax(1, keepdim=True)


def test_the_probe_is_immune_to_what_undercounts():
    torch.manual_seed(1)
    model = Undercounting()
    with torch.no_grad():
        model.conv1.weight.neg_()  # all-negative first layer + ReLU: a dead network for positive inputs
    v = verify(model, (1, 2, 24, 24), naive=True)
    assert v.agrees and v.same_positions and v.inside
    assert v.gradient == v.extent and v.rf == (13, 13)  # 3, + 2 (pool), + 2 x 2 x 2 (dilated conv at jump 2)
    # The naive check is wrong either way: dead ReLUs and max pooling hide positions, and batch norm in
    # training mode spreads the gradient over every position (its statistics are taken over positions).
    assert v.naive.box != v.extent


def test_sum_pool_has_the_pool_geometry():
    x = torch.rand(1, 3, 11, 13, dtype=torch.float64)
    for k, s, p, d, c in [(3, 2, 1, 1, True), (2, 2, 0, 1, True), (3, 3, 1, 2, False), (3, 2, 1, 2, True)]:
        got = sum_pool(torch, x, k, s, p, d, c)
        assert got.shape == F.max_pool2d(x, k, s, p, d, c).shape
    x = torch.ones(1, 1, 5, dtype=torch.float64)
    assert sum_pool(torch, x, 2, 2, 1, 1, True).tolist() == [[[1.0, 2.0, 2.0]]]


def test_errors():
    model = TUTORIAL.SimpleCNN()
    with pytest.raises(SpecError, match="verify needs an input size"):
        verify(model, None)
    with pytest.raises(SpecError, match="unit index on axis 0 must be >= 0 < 8"):
        verify(model, 32, unit=(8, 0))
    with pytest.raises(SpecError, match="no node 'x'"):
        verify(model, 32, node="x")
    with pytest.raises(SpecError, match="ONNX file has no PyTorch probe"):
        verify("model.onnx", 32)


def test_verify_an_intermediate_node_and_cli(capsys):
    torch.manual_seed(0)
    v = verify(TUTORIAL.SimpleCNN(), 32, node="conv2", unit=(8, 8))
    assert v.node == "conv2" and v.rf == (8, 8) and v.agrees
    from rfsearch.cli.main import main

    code = main(["verify", f"{ROOT / 'examples' / 'tutorial_cnn.py'}:SimpleCNN", "-i", "1x1x32x32", "-u", "4x4",
                 "--naive", "-f", "json"])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["rf"] == [10, 10] and out["gradient_rf"] == [10, 10] and out["agrees"]
    assert out["naive_rf"] == [7, 7]
    code = main(["verify", f"{ROOT / 'examples' / 'tutorial_cnn.py'}:SimpleCNN"])
    assert code == 2 and "verify needs --input-size" in capsys.readouterr().err


# --- the empirical ERF --------------------------------------------------------------------------------


def test_empirical_erf_of_a_uniform_linear_network_is_the_path_count():
    # Linear with equal positive weights: |gradient| is the path count times a constant, whatever the input.
    model = nn.Sequential(nn.Conv2d(1, 1, 3, bias=False), nn.AvgPool2d(2), nn.Conv2d(1, 1, 3, dilation=2, bias=False))
    with torch.no_grad():
        for m in (model[0], model[2]):
            m.weight.fill_(0.5)
    e = empirical_erf(model, (1, 1, 20, 20), unit=(3, 2), samples=2)
    exact = graph_erf(from_torch(model, 20), unit=(3, 2), borders=True)
    dense = np.zeros((20, 20))
    dense[tuple(slice(o, o + n) for o, n in zip(exact.origin, exact.counts.shape))] = exact.counts
    assert e.kind == "gradient" and e.samples == 2 and e.extent == exact.extent
    assert np.allclose(e.counts / e.counts.sum(), dense / dense.sum(), rtol=1e-6, atol=1e-12)


@pytest.mark.slow  # ~5 s of gradients
def test_empirical_erf_of_a_random_deep_network_is_a_fraction_of_the_rf():
    torch.manual_seed(0)
    layers = []
    for _ in range(8):
        layers += [nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()]
    model = nn.Sequential(nn.Conv2d(1, 4, 1), *layers)
    e = empirical_erf(model, (1, 1, 33, 33), samples=8)
    assert e.rf == (17, 17) and e.width(0.95)[0] < 17
    assert e.counts[e.counts > 0].size <= 17 * 17  # nothing outside the RF
    assert e.summary()["samples"] == 8 and e.summary()["blind_spots"] is None
