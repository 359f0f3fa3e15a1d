"""The core's public names, the codes shared with C++, deprecated aliases, and hostile arguments
(threads, input sizes, axes) refused or capped with a message naming them."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import rfsearch
from rfsearch import (
    BatchRF,
    LayerTable,
    SpecError,
    Status,
    _core,
    batch_receptive_fields,
    layer_receptive_fields,
    receptive_fields_by_id,
)
from rfsearch.core.status import CoreError
from rfsearch.errors import core_error

K = np.full((2, 3), 3)


def test_status_takes_its_values_from_the_core():
    assert {s.name.lower(): int(s) for s in Status} == _core.STATUS_CODES == {"ok": 0, "collapsed": 1, "overflow": 2}


def test_every_param_error_code_has_one_wording():
    codes = set(_core.PARAM_ERRORS) - {"none"}
    assert codes == {"kernel_below_one", "stride_below_one", "dilation_below_one", "padding_negative",
                     "padding_after_mismatch", "same_needs_size", "too_large", "depth_out_of_range",
                     "id_out_of_range"}  # fmt: skip
    field = {"stride_below_one": "stride", "dilation_below_one": "dilation"}
    messages = {code: str(core_error(1, 2, 0, field.get(code, "kernel"), code, 7, n_layers=5, n_rows=3))
                for code in codes}  # fmt: skip
    assert len(set(messages.values())) == len(codes)  # each code its own message
    assert messages["depth_out_of_range"] == "stack 1, layer 2, axis 0: depth must be in [0, 5], got 7"
    with pytest.raises(ValueError, match="unknown core error code"):
        core_error(0, 0, 0, "kernel", "no_such_code", 0, n_layers=1)
    assert set(_core.FIELDS) == {"kernel", "stride", "dilation", "padding", "padding_after", "depth", "ids"}


def test_core_errors_are_located_by_the_caller():
    error = CoreError(stack=4, layer=1, axis=0, field="stride", code="stride_below_one", value=0)
    assert str(error.exception(n_layers=3)) == "stack 4, layer 1, axis 0: stride must be >= 1, got 0"
    assert str(error.exception(n_layers=3, first_stack=1000)) == "stack 1004, layer 1, axis 0: stride must be >= 1, got 0"
    # A batch file knows where each stack came from: the line names it.
    where = {4: ("nets.csv", 12)}.__getitem__
    located = error.exception(n_layers=3, where=where)
    assert str(located) == "nets.csv:12: layer 1, axis 0: stride must be >= 1, got 0"
    assert (located.source, located.line, located.stack, located.layer) == ("nets.csv", 12, None, 1)
    huge = CoreError(0, 0, 0, "kernel", "kernel_below_one", -(10**40)).exception(n_layers=1)
    assert "a negative number of 41 digits" in str(huge)


def test_new_names_are_exported_and_old_ones_warn():
    for name in ("BatchRF", "LayerTable", "LayerColumns", "batch_receptive_fields", "receptive_fields_by_id",
                 "layer_receptive_fields"):  # fmt: skip
        assert name in rfsearch.__all__
    assert "score_stacks" not in rfsearch.__all__ and "StackScores" not in rfsearch.__all__
    with pytest.warns(DeprecationWarning, match="use rfsearch.batch_receptive_fields"):
        old = rfsearch.score_stacks(K, 1, 1, input_size=5)
    new = batch_receptive_fields(K, 1, 1, input_size=5)
    assert isinstance(old, BatchRF) and np.array_equal(old.rf, new.rf)
    with pytest.warns(DeprecationWarning, match="use rfsearch.BatchRF"):
        assert rfsearch.StackScores is BatchRF
    with pytest.warns(DeprecationWarning, match="use rfsearch.BatchRF"):
        from rfsearch import StackScores  # noqa: F401
    with pytest.warns(DeprecationWarning):
        from rfsearch.core import StackScores as core_alias  # noqa: F401
    with pytest.raises(AttributeError):
        rfsearch.no_such_name  # noqa: B018
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rfsearch.batch_receptive_fields(K)  # the new name does not warn


def test_positional_order_is_kernel_stride_padding_dilation():
    r = batch_receptive_fields([[3]], [[2]], [[1]], [[4]], input_size=20)  # k3 s2 p1 d4: keff 9
    assert (r.rf.tolist(), r.jump.tolist(), r.effective_padding.tolist(), r.output_size.tolist()) == (
        [9], [2], [1], [7])  # fmt: skip
    with pytest.raises(TypeError):  # the core takes names only
        _core.batch_receptive_fields(np.ones((1, 1, 1), np.int64))


@pytest.mark.parametrize("backend", ["cpp", "python"])
def test_threads_are_checked_and_capped(backend):
    ok = batch_receptive_fields(K, threads=np.int32(2), backend=backend)
    assert ok.rf.tolist() == [7, 7]
    for bad, message in [(0, "threads must be a positive integer, or -1 / None for all cores, got 0"),
                         (-2, "got -2"), (2.0, "threads must be an integer, got 2.0"),
                         (True, "threads must be an integer, got True"), ("4", "threads must be an integer"),
                         (2**70, "threads is larger than the int64 range")]:  # fmt: skip
        with pytest.raises(SpecError, match=message):
            batch_receptive_fields(K, threads=bad, backend=backend)


def test_huge_thread_counts_are_capped_not_an_abort():
    # 60,000 threads aborted the interpreter (std::thread creation failed in a noexcept context).
    code = ("import numpy as np, rfsearch; k = np.full((200_000, 8), 3, np.int32);"
            "r = rfsearch.batch_receptive_fields(k, threads=60_000); t = rfsearch.LayerTable.from_columns([3]);"
            "s = rfsearch.receptive_fields_by_id(t, np.zeros((100_000, 4), np.int8), threads=2**62);"
            "print(int(r.rf.sum()), int(s.rf.sum()))")  # fmt: skip
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd="/")
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [str(200_000 * 17), str(100_000 * 9)]


@pytest.mark.parametrize("backend", ["cpp", "python"])
def test_input_sizes_name_the_parameter(backend):
    table = LayerTable.from_columns([3])
    for call, size_after in ((lambda **kw: batch_receptive_fields(K, backend=backend, **kw), 3),
                             (lambda **kw: receptive_fields_by_id(table, [[0]], backend=backend, **kw), 7),
                             (lambda **kw: layer_receptive_fields(table, [0], backend=backend, **kw), 7)):  # fmt: skip
        with pytest.raises(SpecError, match="^input_size must be an integer, got 3.5$"):
            call(input_size=3.5)
        with pytest.raises(SpecError, match="^input_size must be an integer, got '32'$"):
            call(input_size="32")
        with pytest.raises(SpecError, match="^input_size is larger than the int64 range, got a number of 5001 digits$"):
            call(input_size=10**5000)
        assert call(input_size=np.int16(9)).output_size.tolist()[-1] == size_after  # numpy ints are ints


@pytest.mark.parametrize("backend", ["cpp", "python"])
def test_at_most_max_axes(backend):
    assert _core.MAX_AXES == 8
    ok = batch_receptive_fields(np.full((1, 2, 8), 3), input_size=[9] * 8, backend=backend)
    assert ok.rf.tolist() == [[5] * 8]
    with pytest.raises(ValueError, match="kernel: at most 8 axes, got 9"):
        batch_receptive_fields(np.full((1, 2, 9), 3), backend=backend)
    with pytest.raises(SpecError, match="at most 8 axes, got 9"):
        LayerTable(9)
    with pytest.raises(ValueError, match="kernel: at most 8 axes, got 9"):
        LayerTable.from_columns(np.full((2, 9), 3))


def test_the_core_guards_its_own_invariants():
    # Called directly (bypassing the Python intake), _core refuses what it cannot read correctly.
    k = np.ones((1, 1, 1), np.int64)
    base = dict(kernel=k, stride=k, padding=k, dilation=k, padding_after=k, ceil_mode=np.zeros((1, 1, 1), bool),
                depth=None, input_size=None, threads=1)  # fmt: skip
    with pytest.raises(ValueError, match="kernel: byte order is not native"):
        _core.batch_receptive_fields(**{**base, "kernel": k.astype(">i8")})
    for entry in (_core.batch_receptive_fields, lambda **kw: _core.batch_blind_spots(**kw, cap=64)):
        # one layer-table intake for every binding
        with pytest.raises(TypeError, match="stride differs from kernel"):
            entry(**{**base, "stride": k.astype(np.int32)})
        with pytest.raises(TypeError, match="ceil_mode: expected a bool array"):
            entry(**{**base, "ceil_mode": np.zeros((1, 1, 1), np.int8)})
    with pytest.raises(TypeError, match="dilation: expected an integer array"):
        _core.batch_receptive_fields(**{**base, "dilation": k.astype(float)})
    with pytest.raises(ValueError, match=r"padding: expected shape \(1, 1, 1\), got \(1, 2, 1\)"):
        _core.batch_receptive_fields(**{**base, "padding": np.ones((1, 2, 1), np.int64)})
    with pytest.raises(ValueError, match="input_size: values must be >= 1"):
        _core.batch_receptive_fields(**{**base, "input_size": [0]})
    with pytest.raises(ValueError, match=r"the number of axes must be in \[1, 8\]"):
        z = np.ones((1, 1, 9), np.int64)
        _core.batch_receptive_fields(**{**base, **dict.fromkeys(("kernel", "stride", "padding", "dilation",
                                        "padding_after"), z), "ceil_mode": np.zeros((1, 1, 9), bool)})  # fmt: skip
    assert _core.batch_receptive_fields(**{**base, "threads": 2**62})["rf"].tolist() == [[1]]


@pytest.mark.parametrize("backend", ["cpp", "python"])
def test_batch_errors_located_by_where(backend):
    # A batch file passes where(stack) -> (file, line): the same message as for its text stacks.
    lines = {0: ("nets.csv", 2), 1: ("nets.csv", 5)}.__getitem__
    with pytest.raises(SpecError, match=r"^nets.csv:5: layer 2, axis 0: kernel must be >= 1, got 0$") as info:
        batch_receptive_fields([[3, 3, 3], [3, 3, 0]], where=lines, backend=backend)
    assert (info.value.source, info.value.line, info.value.stack) == ("nets.csv", 5, None)
    table = LayerTable.from_columns([3, 2])
    with pytest.raises(SpecError, match=r"^nets.csv:2: layer 1: id 9 is not a row of the layer table"):
        receptive_fields_by_id(table, [[0, 9]], where=lines, backend=backend)
