"""Hostile batch input, as a class: each case exits 2 with one line naming file:line, in bounded
time and memory; arbitrary bytes in any format give results or a SpecError, never another error."""

import io
import json
import time
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from budgets import budget
from rfsearch import SpecError
from rfsearch.cli import main
from rfsearch.io import inputs, score_file


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def deep(n):
    return "[" * n + "]" * n


HOSTILE = [
    ("bad-utf8.csv", b"id,spec\n1,conv3\n2,conv3\xc3\x28\n", "bad-utf8.csv:3: not UTF-8 text (invalid continuation byte"),
    ("bad-utf8.jsonl", b'{"spec": "conv3"}\n\n{"spec": "conv\xff3"}\n', "bad-utf8.jsonl:3: not UTF-8 text"),
    ("nul.csv", b"id,spec\n1,conv3\n2,con\x00v3\n", "nul.csv:3: NUL character: not a text file"),
    ("nul.jsonl", b'{"spec": "conv3"}\n{"spec": "conv3"}\x00\n', "nul.jsonl:2: NUL character"),
    ("digits.csv", ("spec\nconv3\n\"conv3,conv" + "9" * 5000 + "\"\n").encode(),
     "digits.csv:3: layer 1: kernel is larger than the int64 range, got a number of 5000 digits"),
    ("digits.jsonl", ('{"layers": [{"type": "conv", "kernel_size": ' + "9" * 5000 + "}]}\n").encode(),
     "digits.jsonl:1: not accepted in JSON: a number of 5000 digits (at most 400)"),
    ("big.jsonl", b'{"layers": [{"type": "conv", "kernel_size": 99999999999999999999}]}\n',
     "big.jsonl:1: layer 0: "),
    ("deep.jsonl", ('{"spec": "conv3"}\n{"spec": "conv3", "x": ' + deep(100_000) + "}\n").encode(),
     "deep.jsonl:2: JSON nested deeper than 64 levels"),
    ("deep-layers.jsonl", ('{"layers": ' + deep(100_000) + "}\n").encode(), "deep-layers.jsonl:1: JSON nested deeper"),
    ("nan.jsonl", b'{"spec": "conv3", "score": NaN}\n', "nan.jsonl:1: not accepted in JSON: NaN is not a JSON number"),
    ("inf.jsonl", b'{"spec": "conv3", "score": 1e999}\n', "inf.jsonl:1: not accepted in JSON: 1e999 is out of the range"),
    ("dup.jsonl", b'{"spec": "conv3", "spec": "conv5"}\n', "dup.jsonl:1: not accepted in JSON: key 'spec' appears twice"),
    ("surrogate.jsonl", b'{"spec": "conv3", "id": "\\ud800"}\n', "surrogate.jsonl:1: a string holds a lone surrogate"),
    ("object.npz", None, "object.npz: cannot read NPZ array"),
    ("strings.npz", None, "strings.npz: kernel: expected an integer array, got dtype <U5000"),
]


@pytest.mark.parametrize("name, content, message", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_input_is_one_line_exit_2(tmp_path, capsys, monkeypatch, name, content, message):
    monkeypatch.chdir(tmp_path)
    if name == "object.npz":
        np.savez(name, kernel=np.array([[3]]), id=np.array([10**5000], dtype=object))
    elif name == "strings.npz":
        np.savez(name, kernel=np.array([["9" * 5000]]))
    else:
        (tmp_path / name).write_bytes(content)
    start = time.perf_counter()
    code, out, err = run(capsys, "batch", name)
    assert time.perf_counter() - start < 5
    assert (code, out) == (2, "")
    assert err.startswith("rfsearch: error: ") and message in err, err
    assert len(err.splitlines()) == 1 and len(err) < 400


def test_gigantic_line_is_refused_in_bounded_memory(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(inputs, "MAX_LINE_CHARS", 1 << 20)
    path = tmp_path / "huge.csv"
    with path.open("wb") as f:
        f.write(b"id,spec\n1,conv3\n")
        for _ in range(100):  # 100 MiB on one line, no line end
            f.write(b"a" * (1 << 20))
    tracemalloc.start()
    try:
        code, _, err = run(capsys, "batch", path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 2 and err == f"rfsearch: error: {path}:3: line longer than {1 << 20} characters\n"
    assert peak < 48 << 20  # a block or two (the first block is up to 16 MiB), not the 100 MiB line


def test_a_spec_longer_than_the_csv_field_limit_works(tmp_path, capsys):
    import csv

    assert csv.field_size_limit() == 131072  # the csv module's default, and left as it was
    spec = ",".join(["conv3"] * 30_000)  # 180,000 characters in one field
    (tmp_path / "long.csv").write_text(f'id,spec\n1,"{spec}"\n2,conv3\n')
    code, out, _ = run(capsys, "batch", tmp_path / "long.csv")
    assert code == 0 and [r.split(",")[1] for r in out.splitlines()[1:]] == ["60001", "3"]
    assert csv.field_size_limit() == 131072


def test_a_field_larger_than_the_limit_names_its_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(inputs, "MAX_LINE_CHARS", 1000)
    field = "\n".join(["conv3," * 100] * 5)  # a quoted field over several lines, 3000 characters
    (tmp_path / "s.csv").write_text(f'id,spec\n1,conv3\n2,"{field}"\n')
    code, _, err = run(capsys, "batch", tmp_path / "s.csv")
    assert code == 2 and f"{tmp_path / 's.csv'}:" in err and "malformed CSV: field larger than field limit" in err


# ----------------------------------------------------------------------------- arbitrary bytes


def _outcome(data, fmt):
    """Results or a SpecError; anything else fails the test."""
    out = io.BytesIO()
    try:
        return score_file(io_path(data, fmt), out, output_format="csv", chunk_rows=3)
    except SpecError as e:
        assert "\n" not in str(e)
        return None


_FILES = {}


def io_path(data, fmt):
    path = _FILES["dir"] / f"in.{fmt}"
    path.write_bytes(data)
    return path


@pytest.fixture(autouse=True, scope="module")
def _module_dir(tmp_path_factory):
    _FILES["dir"] = tmp_path_factory.mktemp("arbitrary")


CSVISH = st.lists(st.sampled_from(['id,spec\n', 'spec\n', '"', ',', '\n', '\r\n', '\r', 'conv3', 'conv1x7', 'p1',
                                   's2', 'maxpool2', 'c', 'relu', ' ', '""', 'psame', '\x00', 'é', '9' * 30, ':', 'x',
                                   '[', ']', '{', '}', '"spec": ', '"layers": ', '{"spec": "conv3"}\n']),
                  max_size=40).map("".join)  # fmt: skip


@settings(max_examples=budget(ci=3000, dev=150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300) | CSVISH.map(lambda s: s.encode("utf-8", "surrogatepass")),
       st.sampled_from(["csv", "jsonl", "npz", "parquet"]))  # fmt: skip
def test_arbitrary_bytes_give_results_or_a_spec_error(data, fmt):
    _outcome(data, fmt)


@settings(max_examples=budget(ci=2000, dev=100), deadline=None)
@given(st.dictionaries(st.sampled_from(["kernel", "stride", "padding", "dilation", "ceil_mode", "depth", "id"]),
                       st.one_of(st.integers(-3, 9), st.lists(st.integers(-3, 9), max_size=3),
                                 st.lists(st.lists(st.integers(-2, 2 ** 63 - 1), max_size=3), max_size=3),
                                 st.text(max_size=3), st.floats())))  # fmt: skip
def test_arbitrary_npz_arrays_give_results_or_a_spec_error(arrays):
    buffer = io.BytesIO()
    try:
        np.savez(buffer, **{k: np.asarray(v) for k, v in arrays.items()})
    except (ValueError, TypeError):  # ragged lists: not an array at all
        reject()
    _outcome(buffer.getvalue(), "npz")


@settings(max_examples=budget(ci=3000, dev=150), deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                    max_leaves=12),
       st.sampled_from(["spec", "layers", "id"]))  # fmt: skip
def test_arbitrary_json_records_give_results_or_a_spec_error(value, key):
    line = json.dumps({key: value, **({"spec": "conv3"} if key == "id" else {})})
    _outcome((line + "\n").encode(), "jsonl")
