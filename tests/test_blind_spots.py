"""Blind spots everywhere they are reported: the batch core (C++ and the Python reference, dense and
by id, per stack and per layer) against every path enumerated; `receptive_field` / `rfsearch
compute` (JSON, CSV, table); `rfsearch batch --blind-spots` in every output format; the cap."""

import itertools
import json
import subprocess
import time

import numpy as np
import pytest
from budgets import budget
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rfsearch import LayerTable, batch_receptive_fields, layer_receptive_fields, receptive_field, receptive_fields_by_id
from rfsearch.cli import main
from rfsearch.core.reach import NOT_COMPUTED, REACH_MAX_RF, AxisReach, blind_spots, layer_blind_spots
from rfsearch.core.reference import OK, OVERFLOW, AxisState, fold_layer
from rfsearch.model.grammar import parse_layers
from rfsearch.model.layers import PAD_SAME, AxisParams


def every_path(params):
    """Blind spots by enumerating every path: offsets = sums of one tap per layer."""
    offsets, jump, rf = {0}, 1, 1
    for p in params:
        offsets = {o + t * p.dilation * jump for o in offsets for t in range(p.kernel)}
        rf += (p.kernel - 1) * p.dilation * jump
        jump *= p.stride
    return rf - len(offsets)


def every_path_capped(params):
    """every_path, or NOT_COMPUTED where the RF is above the cap (as the core reports it)."""
    rf, jump = 1, 1
    for p in params:
        rf += (p.kernel - 1) * p.dilation * jump
        jump *= p.stride
    return NOT_COMPUTED if rf > REACH_MAX_RF else every_path(params)


def applied(params, size):
    """The layers an axis applies: up to and including a collapse, before an overflow."""
    state, out = AxisState(size=size), []
    for p in params:
        state, code = fold_layer(state, p)
        if code == OVERFLOW:
            break
        out.append(p)
        if code != OK:
            break
    return out


@st.composite
def batches(draw):
    """Dense (N, L, A) arrays of small layers (few paths to enumerate), a depth per stack, maybe
    an input size (collapses) and huge strides (overflows)."""
    n, layers, axes = draw(st.integers(1, 6)), draw(st.integers(1, 5)), draw(st.integers(1, 2))
    shape = (n, layers, axes)
    ints = lambda lo, hi: draw(st.lists(st.integers(lo, hi), min_size=n * layers * axes, max_size=n * layers * axes))  # noqa: E731
    kernel = np.array(ints(1, 4), dtype=np.int64).reshape(shape)
    stride = np.array(ints(1, 3), dtype=np.int64).reshape(shape)
    if draw(st.integers(0, 5)) == 0:  # a jump past int64 somewhere
        stride[0, 0, 0] = 2**62
    dilation = np.array(ints(1, 4), dtype=np.int64).reshape(shape)
    padding = np.array(ints(0, 2), dtype=np.int64).reshape(shape)
    depth = np.array(draw(st.lists(st.integers(0, layers), min_size=n, max_size=n)), dtype=np.int64)
    size = draw(st.one_of(st.none(), st.integers(1, 40)))
    return kernel, stride, dilation, padding, depth, size


@settings(max_examples=budget(ci=1000, dev=150), deadline=None)
@given(batches())
def test_batch_blind_spots_are_every_path_on_both_backends(batch):
    kernel, stride, dilation, padding, depth, size = batch
    n, _, axes = kernel.shape
    results = {}
    for backend in ("cpp", "python"):
        r = batch_receptive_fields(kernel, stride, padding, dilation, depth=depth, input_size=size, backend=backend,
                                   blind_spots=True)  # fmt: skip
        assert r.blind_spots.shape == (n, axes) and r.blind_spots.dtype == np.int64
        results[backend] = r.blind_spots
    assert np.array_equal(results["cpp"], results["python"])
    for i in range(n):
        for a in range(axes):
            params = [AxisParams(int(kernel[i, j, a]), int(stride[i, j, a]), int(dilation[i, j, a]),
                                 int(padding[i, j, a]), int(padding[i, j, a]), False)
                      for j in range(depth[i])]  # fmt: skip
            assert results["cpp"][i, a] == every_path_capped(applied(params, size))
    plain = batch_receptive_fields(kernel, stride, padding, dilation, depth=depth, input_size=size)
    assert plain.blind_spots is None


@settings(max_examples=budget(ci=800, dev=100), deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 5), st.integers(0, 3)), min_size=1,
                max_size=6), st.one_of(st.none(), st.integers(1, 64)), st.integers(1, 2))  # fmt: skip
def test_by_id_and_per_layer_blind_spots(rows, size, axes):
    table = LayerTable.from_columns(kernel=[r[0] for r in rows], stride=[r[1] for r in rows],
                                    dilation=[r[2] for r in rows], padding=[r[3] for r in rows])  # fmt: skip
    ids = np.array([[i % len(rows) for i in range(j, j + 4)] for j in range(len(rows))], dtype=np.int32)
    depth = np.array([j % 5 for j in range(len(rows))], dtype=np.int64)
    cpp = receptive_fields_by_id(table, ids, depth, input_size=size, blind_spots=True)
    python = receptive_fields_by_id(table, ids, depth, input_size=size, blind_spots=True, backend="python")
    assert np.array_equal(cpp.blind_spots, python.blind_spots) and cpp.blind_spots.shape == (len(rows),)
    for backend in ("cpp", "python"):
        per_layer = layer_receptive_fields(table, ids[0], input_size=size, backend=backend, blind_spots=True)
        params = [AxisParams(*rows[i][:3], rows[i][3], rows[i][3], False) for i in ids[0]]
        kept = applied(params, size)
        for j in range(4):
            assert per_layer.blind_spots[j] == every_path(kept[: j + 1])


@settings(max_examples=budget(ci=1000, dev=200))
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(1, 6)), max_size=6))
def test_axis_reach_layer_by_layer_is_every_path(rows):
    params = [AxisParams(k, s, d, 0, 0, False) for k, s, d in rows]
    paths = 1
    for k, _, _ in rows:
        paths *= k
    assume(paths <= 20_000)
    reach = AxisReach()
    for i, p in enumerate(params):
        reach.push(p)
        assert reach.blind_spots == every_path(params[: i + 1])
        bits = reach.bits
        assert bits is not None and bits & 1 and bits >> (reach.rf - 1) == 1  # both ends reached


def test_known_cases_and_stopping_rules():
    r = batch_receptive_fields([[3, 3, 1, 3]], [[1, 1, 2, 1]], 0, [[2, 2, 1, 1]], blind_spots=True)
    assert r.blind_spots.tolist() == [6]  # {0,2,4}+{0,2,4}: evens of 9; after stride 2, +{0,2}
    # Collapsed at layer 1 (6 -> 2 -> -2): the collapsing layer counts, as it does for the RF.
    r = batch_receptive_fields([[3, 3, 3]], 1, 0, [[2, 2, 1]], input_size=6, blind_spots=True)
    assert r.status.tolist() == [1] and r.rf.tolist() == [9] and r.blind_spots.tolist() == [4]
    # Overflow: the jump passes int64 at layer 1; the RF and blind spots are those before it.
    r = batch_receptive_fields([[2, 1, 3]], [[2**62, 4, 1]], 0, blind_spots=True)
    assert r.status.tolist() == [2] and r.rf.tolist() == [2] and r.blind_spots.tolist() == [0]
    # Several axes: each its own.
    r = batch_receptive_fields([[[3, 3], [3, 3]]], 1, 0, [[[2, 1], [2, 1]]], blind_spots=True)
    assert r.blind_spots.tolist() == [[4, 0]]


def test_cap_says_not_computed():
    huge = REACH_MAX_RF  # a kernel-3 layer at dilation 2^22: RF 2^23 + 1
    r = batch_receptive_fields([[3, 3]], 1, 0, [[huge, 1]], blind_spots=True)
    assert r.blind_spots.tolist() == [NOT_COMPUTED]
    r = batch_receptive_fields([[3, 3]], 1, 0, [[huge, 1]], blind_spots=True, backend="python")
    assert r.blind_spots.tolist() == [NOT_COMPUTED]
    result = receptive_field(f"conv3d2,conv3d{huge}", None)
    assert result.blind_spots == (None,) and [row.blind_spots for row in result.layers] == [(2,), (None,)]
    assert "blind spots ?" in result.table() and "not computed" in result.table()
    assert result.to_dict()["blind_spots"] == [None]


def test_long_dense_stacks_cost_o1_per_layer():
    # 100,000 layers, RF 200,001: the whole-interval shortcut keeps this linear on both sides.
    layers = parse_layers(",".join(["conv3p1"] * 100_000))
    start = time.perf_counter()
    assert blind_spots(layers, 1) == (0,)
    assert layer_blind_spots(layers[:1000], 1)[-1] == (0,)
    result = receptive_field(layers, 64)
    assert result.blind_spots == (0,) and result.layers[-1].blind_spots == (0,)
    assert time.perf_counter() - start < 20


# ---------------------------------------------------------------------------------------------
# rfsearch compute


class Run:
    """`rfsearch ARGS` in this process: returncode, stdout, stderr."""

    def __init__(self, capsys):
        self.capsys = capsys

    def __call__(self, *argv):
        code = main([str(a) for a in argv])
        out, err = self.capsys.readouterr()
        return subprocess.CompletedProcess(argv, code, out, err)


@pytest.fixture
def run(capsys):
    return Run(capsys)


@pytest.mark.parametrize("backend", ["cpp", "python"])
def test_compute_reports_blind_spots(backend):
    gridded = receptive_field("conv3d2,conv3d2,conv1s2,conv3", 64, backend=backend)
    assert gridded.blind_spots == (6,)
    assert [row.blind_spots for row in gridded.layers] == [(2,), (4,), (4,), (6,)]
    data = gridded.to_dict()
    assert data["blind_spots"] == [6] and [row["blind_spots"] for row in data["layers"]] == [[2], [4], [4], [6]]
    assert "blind spots 6: offsets inside the RF that no path reaches" in gridded.table()
    dense = receptive_field("conv3p1,maxpool2,conv3p1", 32, backend=backend)
    assert dense.blind_spots == (0,) and "blind spots" not in dense.table()
    two = receptive_field("conv3x3d2x1,conv3x3d2x1", "32x32", backend=backend)
    assert two.blind_spots == (4, 0) and "blind spots 4x0" in two.table()
    collapsed = receptive_field("conv3d2,conv3d2,conv3", 6, backend=backend)
    assert [row.blind_spots for row in collapsed.layers] == [(2,), (4,), None]


def test_compute_cli_json_and_csv(run):
    proc = run("compute", "conv3d2,conv3d2", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["blind_spots"] == [4] and data["layers"][1]["blind_spots"] == [4]
    proc = run("compute", "conv3x1d2x1,conv3d2", "-f", "csv")
    header, first, second = proc.stdout.strip().splitlines()
    assert header.endswith(",blind_spots_0,blind_spots_1")
    assert first.split(",")[-2:] == ["2", "0"] and second.split(",")[-2:] == ["4", "2"]
    proc = run("compute", "conv3d2,conv3d2")
    assert "blind spots 4:" in proc.stdout


# ---------------------------------------------------------------------------------------------
# rfsearch batch --blind-spots


STACKS = 'spec,id\n"conv3d2,conv3d2",a\n"conv3,conv3",b\n"conv3d4194304,conv3",c\n'


def test_batch_cli_blind_spots_in_every_format(tmp_path, run):
    source = tmp_path / "stacks.csv"
    source.write_text(STACKS)
    proc = run("batch", str(source), "--blind-spots")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == "id,rf,jump,effective_padding,center,blind_spots,valid,status"
    assert [line.split(",")[5] for line in lines[1:]] == ["4", "0", ""]  # c: RF above the cap
    assert "blind_spots" not in run("batch", str(source)).stdout.splitlines()[0]
    proc = run("batch", str(source), "--blind-spots", "-f", "jsonl")
    assert [json.loads(line)["blind_spots"] for line in proc.stdout.splitlines()] == [[4], [0], [None]]
    npz = tmp_path / "out.npz"
    assert run("batch", str(source), "--blind-spots", "-o", str(npz)).returncode == 0
    assert np.load(npz)["blind_spots"].tolist() == [4, 0, -1]
    pq = pytest.importorskip("pyarrow.parquet")
    parquet = tmp_path / "out.parquet"
    assert run("batch", str(source), "--blind-spots", "-o", str(parquet)).returncode == 0
    assert pq.read_table(parquet).column("blind_spots").to_pylist() == [4, 0, None]
    two = tmp_path / "two.csv"
    two.write_text('spec\n"conv3x3d2x1,conv3x3d2x1"\n')
    assert run("batch", str(two), "--blind-spots").stdout.splitlines()[1].split(",")[-4:-2] == ["4", "0"]
    # A dense NPZ input goes through batch_receptive_fields.
    arrays = tmp_path / "in.npz"
    np.savez(arrays, kernel=np.array([[3, 3]]), dilation=np.array([[2, 2]]))
    out = tmp_path / "from_arrays.csv"
    assert run("batch", str(arrays), "--blind-spots", "-o", str(out)).returncode == 0
    assert out.read_text().splitlines()[1].split(",")[4] == "4"


def test_batch_input_column_named_blind_spots(tmp_path, run):
    source = tmp_path / "stacks.csv"
    source.write_text('spec,blind_spots\n"conv3",x\n')
    assert run("batch", str(source)).returncode == 0  # not an output column without the flag
    proc = run("batch", str(source), "--blind-spots")
    assert proc.returncode == 2 and "'blind_spots' has the name of an output column" in proc.stderr


def test_threads_give_the_same_blind_spots():
    rng = np.random.default_rng(5)
    kernel = rng.integers(1, 4, size=(3000, 6))
    dilation = rng.integers(1, 4, size=(3000, 6))
    one = batch_receptive_fields(kernel, dilation=dilation, threads=1, blind_spots=True)
    many = batch_receptive_fields(kernel, dilation=dilation, threads=-1, blind_spots=True)
    assert np.array_equal(one.blind_spots, many.blind_spots)
    for i in range(0, 3000, 300):
        params = [AxisParams(int(k), 1, int(d), 0, 0, False) for k, d in zip(kernel[i], dilation[i])]
        assert one.blind_spots[i] == every_path(params)


def test_same_padding_and_strided_stacks_match_the_reference():
    layers = list(itertools.product([1, 2, 3], [1, 2], [1, 3], [0, PAD_SAME]))
    kernel = np.array([[k for k, _, _, _ in layers]]).repeat(4, axis=0)
    stride = np.array([[s for _, s, _, _ in layers]]).repeat(4, axis=0)
    dilation = np.array([[d for _, _, d, _ in layers]]).repeat(4, axis=0)
    padding = np.array([[p for _, _, _, p in layers]]).repeat(4, axis=0)
    depth = np.array([3, 7, 12, len(layers)])
    cpp = batch_receptive_fields(kernel, stride, padding, dilation, depth=depth, input_size=10**6, blind_spots=True)
    python = batch_receptive_fields(kernel, stride, padding, dilation, depth=depth, input_size=10**6,
                                    blind_spots=True, backend="python")  # fmt: skip
    assert np.array_equal(cpp.blind_spots, python.blind_spots)
