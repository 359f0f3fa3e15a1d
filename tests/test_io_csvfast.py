"""The numpy CSV block parser (rfsearch.io.csvfast) reads exactly what csv.reader reads, or
declines (None) and leaves the block to csv.reader."""

import csv
import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budgets import budget
from rfsearch.io.csvfast import parse_block

FRAGMENTS = ['"', '""', ",", "\n", " ", "a", "conv3", "s2", "x", "'", "\t", "é", "\r", "\r\n", "\x00", "1"]
FIELD = st.lists(st.sampled_from(["conv3", "maxpool2", "a", "1", " ", "", ",", '"', "\n", "p1", "'"]), max_size=4).map("".join)


def quoted(field, how):
    if how == "always" or (how == "needed" and any(c in field for c in ',"\n')):
        return '"' + field.replace('"', '""') + '"'
    return field


ROWS = st.integers(1, 3).flatmap(lambda width: st.tuples(
    st.just(width), st.integers(0, width - 1),
    st.lists(st.lists(st.tuples(FIELD, st.sampled_from(["needed", "always", "never"])), min_size=width,
                      max_size=width), min_size=1, max_size=6)))  # fmt: skip


def text_of(rows):
    return "".join(",".join(quoted(f, how) for f, how in row) + "\n" for row in rows)


def check(data, width, spec_at):
    parsed = parse_block(data, width, spec_at)
    if parsed is None:
        return None
    reader = csv.reader(io.StringIO(data.decode("ascii"), newline=""))
    rows, lines, line = [], [], 0
    for row in reader:
        rows.append(row)
        lines.append(line)
        line = reader.line_num
    assert all(len(r) == width for r in rows)
    assert len(parsed) == len(rows)
    assert list(parsed.specs[0 : len(parsed)]) == [r[spec_at] for r in rows]
    carried = [k for k in range(width) if k != spec_at]
    for column, k in zip(parsed.columns, carried):
        assert column.tolist() == [r[k] for r in rows]
    assert parsed.newlines_before.tolist() == lines
    t = parsed.tokens
    tokens = [data[s:e].decode() for s, e in zip(t.start.tolist(), t.end.tolist())]
    assert tokens == sum((r[spec_at].split(",") for r in rows), [])
    assert t.depth.tolist() == [len(r[spec_at].split(",")) for r in rows]
    return parsed


@settings(max_examples=budget(ci=5000, dev=300), deadline=None)
@given(ROWS)
def test_well_formed_rows_equal_csv_reader(case):
    width, spec_at, rows = case
    data = text_of(rows).encode()
    parsed = check(data, width, spec_at)
    simple = not any('"' in f for row in rows for f, _ in row[spec_at : spec_at + 1]) and not any(
        how == "never" and any(c in f for c in ',"\n') for row in rows for f, how in row)  # fmt: skip
    blank = width == 1 and any(quoted(*row[0]) == "" for row in rows)
    if simple and not blank:
        assert parsed is not None  # the plain case really takes the fast path


@settings(max_examples=budget(ci=10_000, dev=400), deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join), st.integers(1, 3), st.data())
def test_arbitrary_text_equals_csv_reader_or_is_declined(text, width, data):
    spec_at = data.draw(st.integers(0, width - 1))
    raw = (text + "\n").encode("utf-8")
    check(raw, width, spec_at)


def test_quoted_fields_with_commas_newlines_and_doubled_quotes():
    data = b'id,spec\n"a, ""b""","conv3,maxpool2"\n"multi\nline",conv5\n'
    parsed = check(data[8:], 2, 1)
    assert parsed is not None and parsed.columns[0].tolist() == ['a, "b"', "multi\nline"]
    assert parsed.newlines_before.tolist() == [0, 1]


def test_declines_what_csv_reader_must_judge():
    assert parse_block(b'a"b,conv3\n', 2, 1) is None  # a quote inside an unquoted field
    assert parse_block(b'"a"b,conv3\n', 2, 1) is None  # text after a closing quote
    assert parse_block(b"a,conv3\n\nb,conv5\n", 2, 1) is None  # a blank line
    assert parse_block(b"a,conv3\rb,conv3\n", 2, 1) is None  # a carriage return that ends no line
    assert parse_block(b"a,conv3,x\n", 2, 1) is None  # a field too many
    assert parse_block("é,conv3\n".encode(), 2, 1) is None  # not ASCII
    assert parse_block(b'a,"con""v3"\n', 2, 1) is None  # a quote in the spec
    assert parse_block(b"a," + b"c" * 100 + b"\n", 2, 1, max_field=50) is None  # a field past the limit
    assert np.array_equal(parse_block(b"a,conv3\n", 2, 1).tokens.depth, [1])


def test_windows_line_ends_read_the_same(tmp_path):
    from rfsearch.io import score_file

    text = 'id,spec\n"a\r\nb","conv3,maxpool2"\nc,conv5\n' + "".join(f"{i},conv3s2\n" for i in range(50))
    outputs = []
    for name, ending in (("unix.csv", "\n"), ("windows.csv", "\r\n")):
        (tmp_path / name).write_bytes(text.replace("\n", ending).replace("\r\r\n", "\r\n").encode())
        out = io.StringIO()
        score_file(tmp_path / name, out, output_format="csv", chunk_rows=7)
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1] and outputs[0].split("\n")[1].startswith('"a\r')  # the field keeps its \r\n


LINES = st.lists(st.one_of(
    st.tuples(FIELD, FIELD).map(lambda t: f'{quoted(t[0], "needed")},"{t[1]}"' if '"' not in t[1] else f"{t[0]},x"),
    st.sampled_from(["7,conv3", '8,"conv3,maxpool2s2"', "9,conv1x7", '"a""b",relu', "", "bad,\"x", "x,conv3s0",
                     "1,2,3", ' "q",conv3', "é,conv3"]),
), min_size=0, max_size=12)  # fmt: skip


@settings(max_examples=budget(ci=3000, dev=150), deadline=None)
@given(LINES, st.sampled_from(["\n", "\r\n"]), st.integers(1, 4), st.integers(1, 64), st.booleans())
def test_whole_files_read_as_csv_reader_reads_them(lines, ending, chunk_rows, block, trailing):
    """Numpy blocks, then csv.reader from the first block that is not plain, give what csv.reader
    alone gives: the same output, or the same error."""
    from rfsearch import SpecError
    from rfsearch.io import readers, score_file

    text = ending.join(["id,spec", *lines]) + (ending if trailing else "")
    path = _FILES["dir"] / "whole.csv"
    path.write_bytes(text.encode("utf-8"))

    def outcome():
        out = io.StringIO()
        try:
            score_file(path, out, output_format="csv", chunk_rows=chunk_rows)
        except SpecError as e:
            return str(e)
        return out.getvalue()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(readers, "MIN_BLOCK_BYTES", block)
        fast = outcome()
        mp.setattr(readers, "parse_block", lambda *a, **k: None)  # every block through csv.reader
        slow = outcome()
    assert fast == slow


_FILES = {}


@pytest.fixture(autouse=True, scope="module")
def _module_dir(tmp_path_factory):
    _FILES["dir"] = tmp_path_factory.mktemp("whole")
