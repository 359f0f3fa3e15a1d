"""CSV text built column-wise with numpy reads back to the values, byte for byte as csv.writer writes it."""

import csv
import io

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from budgets import budget
from rfsearch.io import csvtext

INT64 = st.integers(-(2**63), 2**63 - 1)
SMALL = st.integers(-1000, 100_000)
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


def reference(columns):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(zip(*columns))
    return out.getvalue().encode("utf-8")


@settings(max_examples=budget(ci=1500, dev=150), deadline=None)
@given(st.integers(1, 30).flatmap(lambda n: st.tuples(
    st.lists(INT64 | SMALL, min_size=n, max_size=n),
    st.lists(st.integers(-(2**52) + 1, 2**52 - 1) | st.integers(-40, 40), min_size=n, max_size=n),
    st.lists(TEXT | st.integers() | st.floats(allow_nan=False) | st.none(), min_size=n, max_size=n),
    st.lists(st.booleans(), min_size=n, max_size=n),
    st.lists(st.integers(0, 2), min_size=n, max_size=n))))  # fmt: skip
def test_columns_equal_csv_writer(columns):
    ints, twice, texts, flags, codes = columns
    names = ["ok", "collapsed", "overflow"]
    cells = [
        csvtext.text_cells(texts),
        csvtext.int_cells(np.array(ints, dtype=np.int64)),
        csvtext.half_cells(np.array(twice, dtype=np.int64)),
        csvtext.choice_cells(np.array(flags), ("False", "True")),
        csvtext.choice_cells(np.array(codes), names),
    ]
    values = [["" if t is None else t for t in texts], ints, [t / 2 for t in twice], flags, [names[c] for c in codes]]
    got = csvtext.csv_bytes(cells)
    # Read back, every cell is what csv.writer would write for it (str; repr for floats) ...
    text = [["" if v is None else repr(v) if isinstance(v, float) else str(v) for v in column] for column in values]
    assert list(csv.reader(io.StringIO(got.decode("utf-8"), newline=""))) == [list(row) for row in zip(*text)]
    # ... and the bytes are csv.writer's, except that a lone "\r" is quoted here (csv.writer with
    # "\n" line ends leaves it bare, and then its own reader cannot read the row back).
    if not any("\r" in t for t in text[0]):
        assert got == reference(values)


def test_nul_in_text_falls_back_to_the_csv_module():
    assert csvtext.text_cells(["a\x00b", "c"]) is None
    assert csvtext.csv_module_bytes([["a\x00b", "c"], [1, 2]]) == b"a\x00b,1\nc,2\n"


def test_extremes():
    values = np.array([0, -1, 9, 10, -(2**63), 2**63 - 1])
    assert csvtext.csv_bytes([csvtext.int_cells(values)]) == reference([values.tolist()])
    halves = np.array([-1, 1, 0, -(2**53) + 1, 2**53 - 1])
    assert csvtext.csv_bytes([csvtext.half_cells(halves)]) == reference([[h / 2 for h in halves.tolist()]])


def test_a_nul_in_a_carried_value_is_written_by_the_csv_module(tmp_path):
    import json

    from rfsearch.io import score_file

    path = tmp_path / "n.jsonl"
    path.write_text(json.dumps({"id": "a\u0000b", "spec": "conv3"}) + "\n" + json.dumps({"id": "c", "spec": "conv3s2"}))
    out = io.StringIO()
    score_file(path, out, output_format="csv", input_size=8)
    assert out.getvalue().splitlines()[1:] == ["a\x00b,3,1,0,6,1.0,True,ok", "c,3,2,0,3,1.0,True,ok"]
