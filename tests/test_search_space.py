"""Search spaces: the file contract (keys, semantics, what is counted), the Python objects, and
validation that names the bad key and its line; hostile documents give SpecError, nothing else."""

import json
import textwrap
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from search_strategies import space_maps

from rfsearch import AvgPool, Conv, MaxPool, SpecError
from rfsearch.model import parse_layers
from rfsearch.search import AxisRanges, Channels, Choices, Rules, SearchSpace, Targets, load_space, parse_space
from rfsearch.search.document import load_document

ROOT = Path(__file__).resolve().parents[1]

ISSUE_EXAMPLE = """\
input_size: 224                 # int or per axis (224x224 or [224, 224]); optional if no target needs it
depth: [4, 12]                  # min and max number of layers (or one int)
layers:                         # choices for every position
  kind: [conv, maxpool]         # conv | maxpool | avgpool
  kernel: [1, 3, 5, 7]          # ints, or per-axis values: [[1, 7], [7, 1], [3, 3]]
  stride: [1, 2]
  dilation: [1, 2, 4]           # conv (and max-pool) only
  padding: half                 # half | same (TF) | valid | [ints] (a choice list)
positions:                      # optional: one choice set per position (overrides `layers` there)
  - {kind: [conv], kernel: [7], stride: [2]}
rules:                          # optional structural rules, e.g.
  max_downsampling: 5           # at most 5 layers with stride > 1
  stride_on: [maxpool]          # stride > 1 only on these kinds
channels:                       # optional cost model -> params and MACs
  input: 3
  widths: [64, 128, 256, 512]   # conv width per stage; a stage ends at each downsampling
targets:                        # all optional; ranges are [lo, hi], inclusive; one value = exact
  rf: [180, 240]                # one range for every axis; per axis always a list of ranges
  jump: 32                      # output stride
  output_size: [7, 14]
  rf_within_input: true
  coverage: full                # no blind spots (see below)
  max_params: 2.0e7
  max_macs: 4.0e9
objective: macs
"""


def space(text):
    return parse_space(textwrap.dedent(text), source="space.yaml")


def error(text):
    with pytest.raises(SpecError) as info:
        space(text)
    return str(info.value)


# ---------------------------------------------------------------------------------------------
# The contract


def test_issue_example_loads_with_its_semantics():
    s = parse_space(ISSUE_EXAMPLE)
    assert s.input_size == (224,) and s.ndim == 1 and s.depth == (4, 12)
    # conv: 4 kernels x 2 strides x 3 dilations; maxpool the same (ceil_mode only false): 48.
    assert s.choice_counts[1:] == (48,) * 11
    # Position 0 overrides kind, kernel and stride; dilation and padding come from `layers`.
    assert s.choices(0) == (Conv(7, stride=2, padding=3), Conv(7, stride=2, padding=6, dilation=2),
                            Conv(7, stride=2, padding=12, dilation=4))  # fmt: skip
    assert s.total == sum(3 * 48 ** (n - 1) for n in range(4, 13))
    assert s.rules == Rules(max_downsampling=5, stride_on=("maxpool",))
    assert s.channels == Channels(input=3, widths=(64, 128, 256, 512))
    t = s.targets
    assert t.rf == AxisRanges(((180, 240),)) and t.jump == AxisRanges(((32, 32),))
    assert t.output_size == AxisRanges(((7, 14),)) and t.rf_within_input and t.coverage == "full"
    assert (t.max_params, t.max_macs) == (20_000_000, 4_000_000_000)  # YAML reads 2.0e7 as text
    assert s.objective == ("macs",)
    assert s.uncountable_targets() == ("coverage", "max_params", "max_macs")


def test_choice_order_and_kind_rules():
    s = SearchSpace.from_dict({"depth": 1, "layers": {"kind": ["conv", "avgpool", "maxpool"], "kernel": [2, 3],
                               "dilation": [1, 2], "ceil_mode": [False, True]}})  # fmt: skip
    specs = [layer.spec() for layer in s.choices(0)]
    # conv: kernel x dilation (no ceil_mode); avgpool: kernel x ceil_mode (no dilation); maxpool: all.
    assert specs == ["conv2", "conv2d2", "conv3", "conv3d2",
                     "avgpool2", "avgpool2c", "avgpool3", "avgpool3c",
                     "maxpool2", "maxpool2c", "maxpool2d2", "maxpool2d2c",
                     "maxpool3", "maxpool3c", "maxpool3d2", "maxpool3d2c"]  # fmt: skip
    # Without a stride key pooling strides equal the kernel (PyTorch); with one, they follow it.
    assert s.choices(0)[4] == AvgPool(2) and s.choices(0)[4].stride == 2
    s1 = SearchSpace.from_dict({"depth": 1, "layers": {"kind": "maxpool", "kernel": 3, "stride": [1, 2]}})
    assert s1.choices(0) == (MaxPool(3, stride=1), MaxPool(3, stride=2))


def test_padding_modes_and_per_axis_values():
    s = SearchSpace.from_dict({"depth": 1, "input_size": "32x48",
                               "layers": {"kernel": [[1, 7], [3, 3]], "dilation": [[1, 2]],
                                          "padding": ["half", "same", "valid", 1, [0, 2]]}})  # fmt: skip
    assert s.ndim == 2 and s.input_size == (32, 48)
    layers = s.choices(0)
    assert layers[0] == Conv((1, 7), padding=(0, 6), dilation=(1, 2))  # half: floor(d(k-1)/2) per axis
    assert layers[1] == Conv((1, 7), padding="same", dilation=(1, 2))
    assert layers[2] == Conv((1, 7), padding=0, dilation=(1, 2))
    assert layers[3].padding == 1 and layers[4].padding == (0, 2)
    assert len(layers) == 10
    # Every choice is compact text that `rfsearch compute` reads back to the same layer.
    assert all(parse_layers(layer.spec()) == (layer,) for layer in layers)


def test_input_size_forms():
    for value in (224, "224", [224]):
        assert SearchSpace.from_dict({"depth": 1, "input_size": value, "layers": {"kernel": 3}}).input_size == (224,)
    two = SearchSpace.from_dict({"depth": 1, "input_size": 64, "layers": {"kernel": [[3, 1]]}})
    assert two.input_size == (64, 64)  # one size for every axis


def test_positions_override_key_by_key_and_rest_use_layers():
    s = SearchSpace.from_dict({"depth": [1, 3], "positions": [{"kernel": [5]}, {}],
                               "layers": {"kind": ["conv", "maxpool"], "kernel": [3], "stride": [1, 2]}})  # fmt: skip
    assert s.choice_counts == (4, 4, 4)
    assert [c.spec() for c in s.choices(0)] == ["conv5", "conv5s2", "maxpool5s1", "maxpool5s2"]
    assert s.choices(1) == s.choices(2)
    assert s.position_choices(0) == Choices(kind=("conv", "maxpool"), kernel=(5,), stride=(1, 2))
    assert s.total == 4 + 16 + 64


def test_targets_forms():
    t = Targets(rf=[[180, 240], [60, 80]], jump=32, output_size=[7, 14])
    assert t.rf == AxisRanges(((180, 240), (60, 80)), per_axis=True)
    assert t.rf.on(2) == ((180, 240), (60, 80)) and t.jump.on(2) == ((32, 32), (32, 32))
    assert Targets(rf=[[10, 10], None]).rf.on(2) == ((10, 10), None)
    s = SearchSpace.from_dict({"depth": 1, "layers": {"kernel": [[3, 3]]}, "targets": {"rf": [[3, 4], [1, 2]]},
                               "objective": "rf_error"})  # fmt: skip
    assert s.rf_target_centre() == (Fraction(7, 2), Fraction(3, 2))


def test_budgets_accept_whole_numbers_exactly():
    for value, expected in ((20_000_000, 20_000_000), (2.0e7, 20_000_000), ("2e7", 20_000_000),
                            ("4.0e9", 4_000_000_000), ("1.5e3", 1500), ("9223372036854775807", 2**63 - 1)):  # fmt: skip
        assert Targets(max_params=value).max_params == expected
    for bad in (2.5, "2.5", "1e30", float("inf"), -1, True, "many"):
        with pytest.raises(SpecError, match="max_params"):
            Targets(max_params=bad)
    # JSON numbers: 2e7 is a float there.
    data = {"depth": 1, "layers": {"kernel": 3}, "channels": {"input": 1, "widths": 8}, "targets": {"max_params": 2e7}}
    assert parse_space(json.dumps(data)).targets.max_params == 20_000_000


def test_python_objects_equal_the_file():
    from_file = space("""
        depth: [1, 2]
        input_size: 32
        layers: {kind: [conv, maxpool], kernel: [3, 5], stride: [1, 2], padding: half}
        positions: [{kind: conv, kernel: 7, stride: 2}]
        rules: {max_downsampling: 2}
        channels: {input: 3, widths: [16, 32]}
        targets: {rf: [10, 40], jump: [2, 4]}
        objective: [macs, rf_error]
    """)
    objects = SearchSpace(
        depth=(1, 2),
        input_size=(32,),
        layers=Choices(kind=("conv", "maxpool"), kernel=(3, 5), stride=(1, 2), padding=("half",)),
        positions=(Choices(kind=("conv",), kernel=(7,), stride=(2,)),),
        rules=Rules(max_downsampling=2),
        channels=Channels(input=3, widths=(16, 32)),
        targets=Targets(rf=(10, 40), jump=(2, 4)),
        objective=("macs", "rf_error"),
    )
    assert from_file == objects
    assert SearchSpace.from_dict(objects.to_dict()) == objects


@pytest.mark.slow  # many random spaces
@settings(max_examples=200)
@given(space_maps(countable=False))
def test_to_dict_round_trips(data):
    s = SearchSpace.from_dict(data)
    again = SearchSpace.from_dict(json.loads(json.dumps(s.to_dict())))
    assert again == s
    assert again.total == s.total
    assert all(again.choices(i) == s.choices(i) for i in range(s.depth[1]))


def test_example_space_files_load():
    files = sorted((ROOT / "examples" / "spaces").glob("*.yaml"))
    assert len(files) >= 4
    for path in files:
        s = load_space(path)
        assert s.total >= 1 and s.source == str(path)


def test_without_targets():
    s = parse_space(ISSUE_EXAMPLE).without_targets("coverage", "max_params", "max_macs")
    assert s.uncountable_targets() == () and s.targets.rf is not None
    assert s.without_targets("rf_within_input").targets.rf_within_input is False
    with pytest.raises(ValueError, match="unknown target"):
        s.without_targets("speed")


# ---------------------------------------------------------------------------------------------
# Errors name the key and its line

BAD = [
    ("depth: 2\nlayers: {kernel: 3}\nspeed: 1\n", "space.yaml:3: speed: unknown key 'speed'"),
    ("depth: 2\nlayers:\n  kernel: [3, 0, 5]\n", "space.yaml:3: layers.kernel[1]: kernel must be >= 1, got 0"),
    ("depth: 2\nlayers:\n  kernel:\n    - 3\n    - 3.0\n",
     "space.yaml:5: layers.kernel[1]: kernel must be an integer, got 3.0"),
    ("depth: 2\nlayers:\n  kernel: [3, 3]\n", "space.yaml:3: layers.kernel[1]: kernel lists 3 twice"),
    ("depth: 2\nlayers:\n  kernel: 3\n  strid: 2\n", "space.yaml:4: layers.strid: unknown key 'strid'"),
    ("depth: [3, 2]\nlayers: {kernel: 3}\n", "space.yaml:1: depth: depth [3, 2]: min must be <= max"),
    ("depth: 0\nlayers: {kernel: 3}\n", "space.yaml:1: depth: depth must be >= 1, got 0"),
    ("depth: true\nlayers: {kernel: 3}\n", "depth must be an integer, got True"),
    ("layers: {kernel: 3}\n", "space.yaml:1: a space needs 'depth'"),
    ("depth: 1\nlayers: {kind: [conv, pool], kernel: 3}\n", "space.yaml:2: layers.kind[1]: kind must be one of"),
    ("depth: 1\nlayers: {kernel: 3, padding: full}\n", "space.yaml:2: layers.padding: padding must be half, same"),
    ("depth: 1\nlayers: {kernel: 3, stride: 99999999999999999999}\n",
     "space.yaml:2: layers.stride: stride is larger than the int64 range"),
    ("depth: 1\nlayers: {kernel: 3, stride: 2, padding: same}\n",
     "space.yaml:2: layers.padding: padding 'same' with stride > 1 depends on the input size"),
    ("depth: 2\nlayers: {kernel: 3}\npositions:\n  - {kernel: 3}\n  - {kernel: -1}\n",
     "space.yaml:5: positions[1].kernel: kernel must be >= 1, got -1"),
    ("depth: 1\npositions: [{kernel: 3}, {kernel: 3}]\n", "space.yaml:2: positions: 2 positions given but depth is"),
    ("depth: 2\npositions: [{kernel: 3}]\n", "space.yaml:1: layers: position 1 has no kernel choices"),
    ("depth: 1\nlayers: {kernel: [[1, 7]]}\ninput_size: [8, 8, 8]\n",
     "space.yaml:2: layers.kernel[0]: 2 axes here but input_size has 3"),
    ("depth: 1\nlayers: {kernel: 3}\ntargets:\n  rf: [9, 3]\n", "space.yaml:4: targets.rf: rf range [9, 3] is empty"),
    ("depth: 1\nlayers: {kernel: 3}\ntargets:\n  rf: [1, 2, 3]\n",
     "space.yaml:4: targets.rf: rf must be a value or a [lo, hi] range, got 3 values"),
    ("depth: 1\nlayers: {kernel: [[3, 3]]}\ntargets:\n  rf: [[1, 2], 5]\n",
     "space.yaml:4: targets.rf[1]: per-axis rf targets are [lo, hi] ranges"),
    ("depth: 1\nlayers: {kernel: 3}\ntargets: {output_size: 7}\n",
     "space.yaml:3: targets.output_size: output_size needs input_size"),
    ("depth: 1\nlayers: {kernel: 3}\ntargets: {coverage: most}\n",
     "space.yaml:3: targets.coverage: coverage must be 'full'"),
    ("depth: 1\nlayers: {kernel: 3}\ntargets: {max_params: 10}\n", "targets.max_params: max_params needs channels"),
    ("depth: 1\nlayers: {kernel: 3}\nobjective: speed\n", "space.yaml:3: objective: objective must be one of"),
    ("depth: 1\nlayers: {kernel: 3}\nobjective:\n  - depth\n  - macs\n",
     "space.yaml:5: objective[1]: objective macs needs channels"),
    ("depth: 1\nlayers: {kernel: 3}\nobjective: rf_error\n",
     "space.yaml:3: objective: objective rf_error needs targets.rf"),
    ("depth: 1\nlayers: {kernel: 3}\nchannels: {input: 3}\n", "space.yaml:3: channels: channels needs 'widths'"),
    ("depth: 1\nlayers: {kernel: 3}\nchannels: {input: 3, widths: []}\n", "channels.widths: widths needs at least one"),
    ("depth: 1\nlayers: {kernel: 3}\nchannels: {input: 3, widths: [4000000000]}\n",
     "space.yaml:3: channels: params or MACs of some stacks could exceed the int64 range"),
    ("depth: 1\nlayers: {kernel: 3}\nrules: {max_downsampling: -1}\n",
     "space.yaml:3: rules.max_downsampling: max_downsampling must be >= 0"),
    ("depth: 1\nlayers: {kernel: 3}\nrules: {stride_on: [relu]}\n",
     "space.yaml:3: rules.stride_on[0]: kind must be one of"),
    ("depth: 1\nlayers: {kernel: 3, ceil_mode: [yes, maybe]}\n",
     "space.yaml:2: layers.ceil_mode[0]: ceil_mode must be true or false, got 'yes'"),  # YAML 1.2: yes is text
    ("depth: 1\nlayers: {kernel: 3}\ndepth: 2\n", "space.yaml:3: duplicate key 'depth'"),
    ("depth: 1\n" + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}' if i else '1'] * 10)}]\n" for i in range(6)),
     "aliases expand to more than 100,000 values"),  # an alias bomb (aliases themselves are fine)
    ("depth: 1\nlayers: {kernel: 3\n", "space.yaml:3: not valid YAML"),
    ("- 1\n- 2\n", "a space file is a mapping"),
    ("depth: 1\nlayers: [3]\n", "space.yaml:2: layers: expected a mapping of choices"),
    ("depth: 1\nlayers: {kernel: 3}\ninput_size: '0x4'\n",
     "space.yaml:3: input_size[0]: input_size must be >= 1, got 0"),
    ("depth: 5000\nlayers: {kernel: 1}\n", "depth: depth is at most 4096"),
]


@pytest.mark.parametrize("text, message", BAD)
def test_bad_spaces_name_key_and_line(text, message):
    found = error(text)
    assert message in found, found
    assert "\n" not in found


def test_error_fields_and_json_without_lines():
    with pytest.raises(SpecError) as info:
        parse_space('{"depth": 1, "layers": {"kernel": [3, 0]}}', source="s.json")
    assert info.value.source == "s.json" and info.value.line == 1
    assert "layers.kernel[1]" in str(info.value)
    with pytest.raises(SpecError, match="duplicate key 'depth'"):  # JSON with a tab YAML refuses
        parse_space('{\t"depth": 1, "depth": 2}', source="s.json")


def test_python_objects_validate_too():
    with pytest.raises(SpecError, match=r"kernel\[1\]: kernel must be >= 1, got 0"):
        Choices(kernel=(3, 0))
    with pytest.raises(SpecError, match="widths"):
        Channels(input=3, widths=())
    with pytest.raises(SpecError, match="positions: 2 positions given"):
        SearchSpace(depth=(1, 1), layers=Choices(kernel=(3,)), positions=(Choices(), Choices()))
    with pytest.raises(SpecError, match="depth must be an integer"):
        SearchSpace(depth=2.0, layers=Choices(kernel=(3,)))  # type: ignore[arg-type]


def test_hostile_documents(tmp_path):
    for text, message in ((("- " * 5000) + "x", "nested deeper"), ("[" * 5000, "nest"),
                          ("a: " + "x" * (1 << 20), "larger than")):  # fmt: skip
        with pytest.raises(SpecError, match=message):
            parse_space(text)
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"depth: \xff\n")
    with pytest.raises(SpecError, match="bad.yaml:1: not UTF-8 text: byte 0xff at column 8"):
        load_space(bad)
    with pytest.raises(SpecError, match="missing.yaml: cannot read: No such file"):
        load_space(tmp_path / "missing.yaml")


@pytest.mark.parametrize("size, message", [
    ("'\u00b2'", "s.yaml:1: input_size: input_size must look like 224 or 224x224, got '\u00b2'"),  # isdigit() is True
    ("'\u0663x\u0663'", "s.yaml:1: input_size: input_size must look like 224 or 224x224"),  # non-ASCII digits
    ("'3x0'", "s.yaml:1: input_size[1]: input_size must be >= 1, got 0"),
    ("'3x" + "9" * 50 + "'", "s.yaml:1: input_size[1]: input_size is larger than the int64 range"),
])  # fmt: skip
def test_input_size_text_goes_through_the_house_parser(size, message):
    with pytest.raises(SpecError) as info:
        parse_space(f"input_size: {size}\ndepth: 1\nlayers: {{kernel: 3}}\n", source="s.yaml")
    assert str(info.value).startswith(message)
    assert parse_space("input_size: 32X16\ndepth: 1\nlayers: {kernel: 3}\n").input_size == (32, 16)


@pytest.mark.parametrize("name, message", [
    ("/dev/zero", "/dev/zero: larger than 1 MiB, the limit for a document"),  # bounded read, no MemoryError
    (".", ".: is a directory, not a file"),
    ("big.yaml", "big.yaml: larger than 1 MiB, the limit for a document"),
])  # fmt: skip
def test_space_files_are_read_through_the_house_reader(tmp_path, monkeypatch, name, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "big.yaml").write_bytes(b"# " + b"x" * (1 << 20) + b"\ndepth: 1\n")
    with pytest.raises(SpecError) as info:
        load_space(name)
    assert str(info.value) == message


@settings(max_examples=300)
@given(st.text(max_size=200) | st.sampled_from(ISSUE_EXAMPLE.splitlines(keepends=True)).map(str))
def test_any_text_gives_a_space_or_spec_error(text):
    try:
        result = parse_space(text)
    except SpecError as e:
        assert "\n" not in str(e)
    else:
        assert isinstance(result, SearchSpace)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(ISSUE_EXAMPLE.splitlines(keepends=True)), max_size=30), st.data())
def test_mangled_example_gives_a_space_or_spec_error(lines, data):
    text = "".join(lines)
    if text:
        cut = data.draw(st.integers(0, len(text)))
        junk = data.draw(st.sampled_from(["", "0", "-1", "x", "[", "]", ": ", "\n", "2.5", "null"]))
        text = text[:cut] + junk + text[cut:]
    try:
        parse_space(text)
    except SpecError:
        pass


# Letters only: YAML 1.1 (what safe_dump writes for) and 1.2 (what the house loader reads) differ
# on unquoted number-like text such as 0E0 or 1e5.
_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ", max_size=8)
json_like = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | _words,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_words.filter(bool), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200)
@given(json_like, st.booleans())
def test_document_loader_reads_what_safe_load_reads(data, flow):
    text = yaml.safe_dump(data, default_flow_style=flow)
    document = load_document(text, "d.yaml")
    assert document.data == yaml.safe_load(text)
    assert document.line(()) == 1
    if isinstance(data, dict):
        for key in data:  # every top-level key has the line where it is written
            line = document.line((key,))
            assert line is not None and 1 <= line <= text.count("\n") + 1


def test_aliases_are_read_by_the_house_loader():
    space = parse_space("depth: &d 2\nlayers: {kernel: [*d, 3]}\n", source="space.yaml")
    assert space.depth == (2, 2) and space.layers.kernel == (2, 3)


def test_document_lines_of_nested_items():
    document = load_document("a:\n  b: [1,\n    2]\n  c:\n    - x\n    - y\n")
    assert document.data == {"a": {"b": [1, 2], "c": ["x", "y"]}}
    paths = [("a",), ("a", "b"), ("a", "b", 1), ("a", "c", 1), ("a", "c", 5)]
    assert [document.line(p) for p in paths] == [1, 2, 3, 6, 4]  # a missing path: its closest ancestor
