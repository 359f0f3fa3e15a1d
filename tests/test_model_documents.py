"""The document loader (YAML and JSON): data plus lines, every failure a one-line SpecError, bounded."""

import json
import math
import time
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfsearch import SpecError
from rfsearch.model import documents
from rfsearch.model.documents import MAX_ALIAS_VALUES, MAX_DEPTH, parse_document, read_document
from rfsearch.model.values import OversizedInt


def budget(n):
    return settings(max_examples=min(n, settings().max_examples))


def refused(text, fmt="yaml", source="f"):
    with pytest.raises(SpecError) as e:
        parse_document(text, format=fmt, source=source)
    message = str(e.value)
    assert "\n" not in message and len(message) < 300, message
    return message


# --- data and lines ------------------------------------------------------------------------------------

JSON_TEXT = """{
 "layers": [
  {"type": "conv",
   "kernel_size": 3},
  "relu",
  {"a": [1, {"b": 2}], "name": "x\\"]{"}
 ],
 "input_size": 9
}"""

PATHS = {(): 1, ("layers",): 2, ("layers", 0): 3, ("layers", 0, "kernel_size"): 4, ("layers", 1): 5,
         ("layers", 2, "name"): 6, ("layers", 2, "a", 1, "b"): 6, ("input_size",): 8, ("nope",): None,
         ("layers", 9): None, ("layers", -1): None, ("layers", "x"): None, ("input_size", 0): None}  # fmt: skip


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_data_and_the_line_of_any_key_or_item(fmt):
    doc = parse_document(JSON_TEXT, format=fmt, source="f")
    assert doc.data == json.loads(JSON_TEXT) and doc.format == fmt
    for path, line in PATHS.items():
        assert doc.line(*path) == line, path
    error = doc.error("stride must be >= 1", "layers", 0, "kernel_size", layer=0)
    assert str(error) == "f:4: layer 0: stride must be >= 1"


def test_yaml_block_style_lines():
    doc = parse_document("# net\ninput_size: 32\nlayers:\n  - conv3\n  -\n    type: conv\n\n    kernel_size: 3\n")
    assert doc.line("layers") == 3 and doc.line("layers", 0) == 4 and doc.line("layers", 1) == 6
    assert doc.line("layers", 1, "kernel_size") == 8 and doc.line("input_size") == 2


def test_json_is_read_as_json_not_yaml(monkeypatch, tmp_path):
    def no_yaml(*args):
        raise AssertionError("a .json file went through the YAML parser")

    monkeypatch.setattr(documents, "_parse_yaml", no_yaml)
    path = tmp_path / "net.JSON"
    key = "k" * 2000  # YAML refuses keys longer than 1024 characters; JSON does not
    path.write_text(json.dumps({key: 1, "x": [1.5, None, True]}))
    doc = read_document(path)
    assert doc.format == "json" and doc.data == {key: 1, "x": [1.5, None, True]}


def test_yaml_scalars_follow_the_yaml_1_2_core_schema():
    doc = parse_document("[~, null, '', true, False, 3, -7, +4, 1.5, 1e3, .5, .inf, -.Inf, .nan, yes, no, on, "
                         "0x10, 0o7, 1:30, 2020-01-01, '010', \"3\", 1_000]")  # fmt: skip
    data = doc.data
    assert data[:13] == [None, None, "", True, False, 3, -7, 4, 1.5, 1000.0, 0.5, math.inf, -math.inf]
    assert math.isnan(data[13])
    assert data[14:] == ["yes", "no", "on", "0x10", "0o7", "1:30", "2020-01-01", "010", "3", "1_000"]


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_huge_integers_are_kept_as_oversized(fmt):
    doc = parse_document(f'{{"k": [{"9" * 5000}, -{"1" * 41}, {"1" * 40}]}}', format=fmt)
    assert doc.data["k"] == [OversizedInt(False, 5000), OversizedInt(True, 41), int("1" * 40)]


def test_bytes_bom_and_auto_format():
    assert parse_document(b"\xef\xbb\xbf- conv3\n").data == ["conv3"]
    assert parse_document('\ufeff{"a": 1}', format="json").data == {"a": 1}
    assert parse_document(' {"a": 1}', format="auto").format == "json"
    assert parse_document("[conv3, relu]", format="auto").data == ["conv3", "relu"]  # YAML flow, not JSON
    assert parse_document("- conv3", format="auto").format == "yaml"
    assert parse_document("").data is None and parse_document("# nothing\n").data is None


def test_aliases_share_their_anchor():
    doc = parse_document("base: &b {type: conv, kernel_size: 3}\nlayers: [*b, *b]\n")
    assert doc.data["layers"] == [doc.data["base"]] * 2 and doc.data["layers"][0] is doc.data["base"]


# --- refusals --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, fmt, message",
    [
        ('[1, 2,\n {"a": 1,\n "a": 2}]', "json", "f:3: duplicate key 'a'"),
        ('{"a": {"b": 1, "b": 2}, "a": 3}', "json", "f:1: duplicate key 'b'"),
        ('{"a": 1,\n "b": {"c": 1},\n "a": 2}', "json", "f:3: duplicate key 'a'"),
        ("[1,\n NaN]", "json", "f:2: NaN is not a number JSON allows"),
        ('{"x":\n\n [Infinity]}', "json", "f:3: Infinity is not a number JSON allows"),
        ("[1,\n -Infinity]", "json", "f:2: -Infinity is not a number JSON allows"),
        ('["NaN", 1, {"k": NaN}]', "json", "f:1: NaN is not"),
        ("[1, 2", "json", "f:1: not valid JSON: Expecting ',' delimiter (column 6)"),
        ('{"a": 1}\n{"b": 2}', "json", "f:2: not valid JSON: Extra data"),
        ("", "json", "f:1: not valid JSON: Expecting value"),
        ("[" * 65 + "]" * 65, "json", f"f:1: nested deeper than {MAX_DEPTH} levels"),
        ('["[[[[", ' + "[" * 70 + "]" * 70 + "]", "json", "f:1: nested deeper than"),
        ("{\n" + '"a": {' * 70 + "}" * 70 + "}", "json", "f:2: nested deeper than"),
        ("a: 1\nb: [1,\n 2\n", "yaml", "f:4: not valid YAML"),
        ("a: 010", "yaml", "f:1: '010': numbers with leading zeros are ambiguous"),
        ("- -007", "yaml", "leading zeros"),
        ("a: !!int 3", "yaml", "f:1: YAML tags other than !!str are not supported, got '!!int'"),
        ("a: !!python/object:os.system x", "yaml", "YAML tags other than !!str are not supported, got '!!python/"),
        ("a: !!binary aGVsbG8=", "yaml", "got '!!binary'"),
        ("- !!set {a}\n", "yaml", "YAML tags are not supported here, got '!!set'"),
        ("- !custom x", "yaml", "got '!custom'"),
        ("? [a]\n: 1", "yaml", "f:1: mapping keys must be text, got a list or mapping"),
        ("{1: conv}", "yaml", "mapping keys must be text, got 1"),
        ("true: 1", "yaml", "mapping keys must be text, got True"),
        ("~: 1", "yaml", "mapping keys must be text, got None"),
        ("1.5: x", "yaml", "mapping keys must be text, got 1.5"),
        ("a: 1\nb: 2\na: 3", "yaml", "f:3: duplicate key 'a' (first at line 1)"),
        ("{a: 1, a: 2}", "yaml", "duplicate key 'a'"),
        ("a: 1\n---\nb: 2\n", "yaml", "f:2: expected one YAML document, found a second"),
        ("a: &x 1\nb: *y", "yaml", "f:2: unknown alias *y"),
        ("x: &a [1, *a]", "yaml", "unknown alias *a"),  # an anchor cannot refer to itself
        ("[" * 65 + "]" * 65, "yaml", f"nested deeper than {MAX_DEPTH} levels"),
        ("- " * 65 + "x", "yaml", f"nested deeper than {MAX_DEPTH} levels"),
        ("a: \x07\n", "yaml", "f:1: not valid YAML: control characters are not allowed"),
        ("a:\tb: c", "yaml", "not valid YAML"),
    ],
)
def test_refused_with_file_and_line(text, fmt, message):
    assert message in refused(text, fmt)


def test_non_utf8_names_the_line_and_byte():
    for fmt in ("yaml", "json"):
        message = refused(b'["conv3",\n "caf\xe9"]', fmt, source="net.x")
        assert message.startswith("net.x:2: not UTF-8 text: byte 0xe9 at column 6")
    assert refused(b"\xff\xfe- \x00c\x00", "yaml").startswith("f:1: not UTF-8 text: byte 0xff")  # UTF-16


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_deep_nesting_is_refused_quickly(fmt):
    for depth in (MAX_DEPTH + 1, 900, 100_000):  # 100,000: RecursionError in PyYAML and json today
        start = time.perf_counter()
        assert "nested deeper than 64 levels" in refused("[" * depth + "]" * depth, fmt)
        assert time.perf_counter() - start < 2
    assert parse_document("[" * MAX_DEPTH + "]" * MAX_DEPTH, format=fmt).data is not None


def test_alias_bombs_refused_in_bounded_time_and_memory():
    # "Billion laughs": 9 levels of 9 aliases expand to 9^9 values.
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    tracemalloc.start()
    start = time.perf_counter()
    message = refused("\n".join(lines))
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert f"aliases expand to more than {MAX_ALIAS_VALUES:,} values" in message and message.startswith("f:6:")
    assert elapsed < 2 and peak < 10 * 2**20
    # Many small aliases are the same bomb spread out: counted all the same.
    many = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: [" + ", ".join(["*a"] * 20_000) + "]"
    assert "aliases expand to more than" in refused(many)
    ok = "a: &a [1, 2]\nb: [" + ", ".join(["*a"] * 1000) + "]"
    assert len(parse_document(ok).data["b"]) == 1000


def test_yaml_documents_are_capped_lower_than_json():
    big = "[" + "1," * (documents.MAX_YAML_BYTES // 2) + "1]"
    assert "larger than 16 MiB, the limit for a YAML document (write big documents as JSON" in refused(big)
    assert len(parse_document(big, format="json").data) == documents.MAX_YAML_BYTES // 2 + 1


def test_files_size_missing_directory_and_devices(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("- conv3\n" * 1000)
    with pytest.raises(SpecError, match=r"^\S*big.yaml: larger than 0 MiB, the limit for a document$"):
        read_document(path, max_bytes=1000)
    assert len(read_document(path, max_bytes=10_000).data) == 1000
    with pytest.raises(SpecError, match=r"missing\.json: cannot read: No such file or directory"):
        read_document(tmp_path / "missing.json", source="missing.json")
    with pytest.raises(SpecError, match="is a directory, not a file"):
        read_document(tmp_path)
    with pytest.raises(SpecError, match="^/dev/zero: larger than 1 MiB"):  # a device: read to the limit, stop
        read_document("/dev/zero", max_bytes=2**20)


@pytest.mark.slow
def test_documents_of_100k_layers_load_in_seconds():
    layers = [{"type": "conv", "kernel_size": 3, "padding": [1, 1], "name": f"c{i}"} for i in range(100_000)]
    text = json.dumps({"layers": layers}, indent=1)
    start = time.perf_counter()
    doc = parse_document(text, format="json")
    assert doc.data["layers"] == layers
    assert time.perf_counter() - start < 3
    assert doc.line("layers", 99_999, "name") == text.count("\n", 0, text.index('"c99999"')) + 1


# --- properties: anything in, a document or a SpecError out ---------------------------------------------------

YAMLISH = st.lists(st.sampled_from(["- ", "a", ": ", "&x ", "*x", "[", "]", "{", "}", ", ", "\n", "  ", "'", '"',
                                    "!!str ", "!!int ", "? ", "---\n", "1", "010", ".nan", "9" * 50, "#", "\t",
                                    "\\", "\x00", "é"]), max_size=30).map("".join)  # fmt: skip
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                       lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=3), c, max_size=4),
                       max_leaves=20).map(lambda v: json.dumps(v))  # fmt: skip


def _document_or_spec_error(data, fmt):
    try:
        doc = parse_document(data, format=fmt, source="p")
    except SpecError as e:
        assert "\n" not in str(e) and str(e).startswith("p")
        return
    doc.line()  # locating works on anything loaded


@budget(3_000)
@given(st.text(), st.sampled_from(["yaml", "json", "auto"]))
def test_any_text_gives_a_document_or_spec_error(text, fmt):
    _document_or_spec_error(text, fmt)


@budget(3_000)
@given(st.binary(), st.sampled_from(["yaml", "json"]))
def test_any_bytes_give_a_document_or_spec_error(data, fmt):
    _document_or_spec_error(data, fmt)


@budget(3_000)
@given(YAMLISH | JSONISH, st.sampled_from(["yaml", "json", "auto"]))
def test_document_shaped_text_gives_a_document_or_spec_error(text, fmt):
    _document_or_spec_error(text, fmt)


# YAML streams may not hold control characters raw (JSON escapes only those below U+0020).
PRINTABLE = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Cn", "Co")), max_size=5)
FINITE_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                           | PRINTABLE,
                           lambda c: st.lists(c, max_size=4) | st.dictionaries(PRINTABLE, c, max_size=4),
                           max_leaves=20)  # fmt: skip


@budget(1_000)
@given(FINITE_JSON)
def test_json_reads_the_same_through_yaml(value):
    # JSON is YAML 1.2: a .yaml file holding JSON gives the same data. (libyaml does not decode
    # surrogate-pair escapes like \ud800\udc00: characters beyond U+FFFF are written as they are.)
    text = json.dumps(value, ensure_ascii=False)
    assert parse_document(text, format="json").data == value
    assert parse_document(text, format="yaml").data == value
