"""The core's SIMD code paths: which one runs, the override tests use, and counters showing that the
fast path really ran (the differential tests compare every path: tests/test_core_fast_path.py)."""

import numpy as np
import pytest

from rfsearch import PAD_SAME, LayerTable, _core, batch_receptive_fields, receptive_fields_by_id
from differential import SIMD_PATHS, simd_path  # tests/differential.py

INFO = _core.build_info()
FAST_PATHS = [p for p in SIMD_PATHS if p != "scalar"]


def fast_eligible(n, layers=10, seed=0):
    rng = np.random.default_rng(seed)
    return {"kernel": rng.integers(1, 8, (n, layers)), "stride": rng.choice([1, 2], (n, layers), p=[0.8, 0.2]),
            "padding": rng.integers(0, 3, (n, layers))}  # fmt: skip


def counted(fn):
    _core._reset_fast_path_counters()
    result = fn()
    return result, _core._fast_path_counters()


def test_build_info_says_what_runs():
    assert INFO["compiler"] in ("GCC", "Clang", "MSVC", "unknown") and INFO["compiler_version"]
    assert INFO["simd_path"] in INFO["simd_paths_supported"]
    assert set(INFO["simd_paths_supported"]) <= set(INFO["simd_paths_compiled"])
    assert {"scalar", "baseline"} <= set(INFO["simd_paths_supported"])
    assert INFO["runtime_dispatch"] == ("v3" in INFO["simd_paths_compiled"])
    # The default is the best path this CPU runs.
    best = [p for p in ("v4", "v3", "baseline") if p in INFO["simd_paths_supported"]][0]
    assert INFO["simd_path"] == best
    assert INFO["max_axes"] == _core.MAX_AXES and INFO["hardware_threads"] == _core.hardware_threads()


@pytest.mark.parametrize("path", FAST_PATHS)
def test_fast_path_runs_on_each_path(path):
    arrays = fast_eligible(1600)
    with simd_path(path):
        assert _core.build_info()["simd_path"] == path
        got, counts = counted(lambda: batch_receptive_fields(**arrays, input_size=224, threads=1))
    assert counts == {"fast_blocks": 100, "scalar_reruns": 0, "scalar_stacks": 0}
    with simd_path("scalar"):
        want, counts = counted(lambda: batch_receptive_fields(**arrays, input_size=224, threads=2))
    assert counts == {"fast_blocks": 0, "scalar_reruns": 0, "scalar_stacks": 1600}
    for field in ("rf", "jump", "effective_padding", "output_size", "status"):
        assert np.array_equal(getattr(got, field), getattr(want, field))


@pytest.mark.parametrize("path", FAST_PATHS)
def test_by_id_fast_path_runs_on_each_path(path):
    rng = np.random.default_rng(3)
    table = LayerTable.from_columns(rng.integers(1, 8, 50), rng.choice([1, 2], 50), rng.integers(0, 3, 50))
    ids = rng.integers(0, 50, (1000, 12), dtype=np.int32)
    depth = rng.integers(0, 13, 1000)
    with simd_path(path):
        got, counts = counted(lambda: receptive_fields_by_id(table, ids, depth, input_size=300, threads=1))
    assert counts["fast_blocks"] == 1000 // 16 and counts["scalar_stacks"] == 1000 % 16
    with simd_path("scalar"):
        want = receptive_fields_by_id(table, ids, depth, input_size=300)
    assert np.array_equal(got.rf, want.rf) and np.array_equal(got.output_size, want.output_size)


def test_blocks_off_the_fast_path_are_rerun_and_counted():
    arrays = fast_eligible(320)
    arrays["padding"] = np.full_like(arrays["kernel"], PAD_SAME)  # 'same' padding: never on the fast path
    with simd_path(FAST_PATHS[-1]):
        _, counts = counted(lambda: batch_receptive_fields(**arrays, input_size=224, threads=1))
    # After the k-th miss in a row, 2^(k-1) - 1 blocks skip the attempt: of 20 blocks, 0, 1, 3, 7, 15 are tried.
    assert counts["fast_blocks"] == 0 and counts["scalar_reruns"] == 5 and counts["scalar_stacks"] == 320


def test_unknown_or_unsupported_paths_are_refused():
    before = _core.build_info()["simd_path"]
    with pytest.raises(ValueError, match="unknown SIMD path 'avx9'"):
        _core._set_simd_path("avx9")
    for path in set(INFO["simd_paths_compiled"]) - set(INFO["simd_paths_supported"]):
        with pytest.raises(ValueError, match=f"SIMD path '{path}' is not available here"):
            _core._set_simd_path(path)
    assert _core.build_info()["simd_path"] == before
