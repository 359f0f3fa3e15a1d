"""pytest-benchmark benchmarks of the core at a moderate size (N = 2e5 stacks, depth 10).

    pytest bench/ --benchmark-only                  # time them
    pytest bench/ --benchmark-disable               # only the correctness assertions

Not part of the default `pytest` run (pyproject.toml: testpaths = ["tests"]). Every benchmark
also asserts that its result equals the numpy baseline's (bench/numpy_baseline.py), which is
itself checked against the pure-Python reference on a sample. The full benchmark with the
targets is bench/run.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from numpy_baseline import NumpyScores, score_numpy
from rfsearch import batch_receptive_fields, receptive_field, receptive_fields_by_id
from workload import IdWorkload, Workload, make_network, make_workload, to_ids

N_STACKS = 200_000
DEPTH = 10

pytestmark = pytest.mark.filterwarnings("ignore::pytest_benchmark.logger.PytestBenchmarkWarning")


@pytest.fixture(scope="module")
def workload() -> Workload:
    return make_workload(N_STACKS, DEPTH, seed=0)


@pytest.fixture(scope="module")
def expected(workload: Workload) -> NumpyScores:
    return score_numpy(workload)


def _cpp(w: Workload, threads: int):  # type: ignore[no-untyped-def]
    return batch_receptive_fields(
        w.kernel, w.stride, w.padding, w.dilation, ceil_mode=w.ceil_mode, input_size=w.input_size, threads=threads
    )


def _assert_same(got, want: NumpyScores) -> None:  # type: ignore[no-untyped-def]
    np.testing.assert_array_equal(got.rf, want.rf)
    np.testing.assert_array_equal(got.jump, want.jump)
    np.testing.assert_array_equal(got.effective_padding, want.effective_padding)
    np.testing.assert_array_equal(got.output_size, want.output_size)
    np.testing.assert_array_equal(got.status, want.status)


def test_numpy_baseline_matches_reference(workload: Workload, expected: NumpyScores) -> None:
    sample = workload.slice(500)
    ref = batch_receptive_fields(
        sample.kernel, sample.stride, sample.padding, sample.dilation, ceil_mode=sample.ceil_mode,
        input_size=sample.input_size, backend="python",
    )
    got = score_numpy(sample)
    _assert_same(ref, got)
    assert (expected.status != 0).mean() < 0.05  # the workload is not mostly collapsed stacks


@pytest.mark.parametrize("threads", [1, -1], ids=["threads=1", "threads=all"])
def test_cpp(benchmark, workload: Workload, expected: NumpyScores, threads: int) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = f"batch_receptive_fields N={N_STACKS} depth={DEPTH}"
    benchmark.extra_info["stacks"] = N_STACKS
    result = benchmark(_cpp, workload, threads)
    _assert_same(result, expected)


def test_numpy(benchmark, workload: Workload, expected: NumpyScores) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = f"batch_receptive_fields N={N_STACKS} depth={DEPTH}"
    benchmark.extra_info["stacks"] = N_STACKS
    result = benchmark(score_numpy, workload)
    _assert_same(result, expected)


@pytest.fixture(scope="module")
def id_workload(workload: Workload) -> IdWorkload:
    return to_ids(workload)


@pytest.mark.parametrize("threads", [1, -1], ids=["threads=1", "threads=all"])
def test_cpp_by_id(benchmark, id_workload: IdWorkload, expected: NumpyScores, threads: int) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = f"batch_receptive_fields N={N_STACKS} depth={DEPTH}"
    benchmark.extra_info["stacks"] = N_STACKS
    w = id_workload
    result = benchmark(receptive_fields_by_id, w.table, w.ids, input_size=w.input_size, threads=threads)
    _assert_same(result, expected)


@pytest.mark.parametrize("n_layers", [1_000, 100_000])
def test_receptive_field_network(benchmark, n_layers: int) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "receptive_field of one network"
    layers, size = make_network(n_layers)
    result = benchmark(receptive_field, layers, size)
    assert result.valid and len(result.layers) == n_layers and result.output_size == (size >> 10,)
