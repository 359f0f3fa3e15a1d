"""Spec files (YAML/JSON) and the SPEC rule: errors at file:line, layer; text is never read as a file."""

import io
import json
import time

import pytest

from rfsearch import Conv, Identity, MaxPool, SpecError, load_spec, parse_spec
from rfsearch.model import source
from rfsearch.model.source import read_spec


def spec_error(text, fmt="yaml", source="net.yaml"):
    with pytest.raises(SpecError) as e:
        parse_spec(text, source, format=fmt)
    assert "\n" not in str(e.value)
    return str(e.value)


# --- spec files --------------------------------------------------------------------------------------------


def test_yaml_and_json_spec_files_agree():
    yaml_text = ("input_size: 224x224\nlayers:\n  - {type: Conv2d, kernel_size: [3, 3], padding: [[0, 1], [1, 0]]}\n"
                 "  - {type: relu, name: act}\n  - maxpool2\n  - {type: MaxPool2d, kernel_size: 3, stride: 2, "
                 "ceil_mode: true, name: 5}\n")  # fmt: skip
    json_text = json.dumps({"input_size": [224, 224], "layers": [
        {"type": "Conv2d", "kernel_size": [3, 3], "padding": [[0, 1], [1, 0]]}, {"type": "relu", "name": "act"},
        "maxpool2", {"type": "MaxPool2d", "kernel_size": 3, "stride": 2, "ceil_mode": True, "name": 5}]})  # fmt: skip
    a, b = parse_spec(yaml_text), parse_spec(json_text, format="json")
    assert a == b and a.input_size == (224, 224)
    assert a.layers == (Conv((3, 3), padding=((0, 1), (1, 0))), Identity(), MaxPool(2), MaxPool(3, 2, ceil_mode=True))
    assert [layer.label for layer in a.layers] == ["conv3x3p0:1x1:0", "act", "maxpool2", "5"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("- conv3\n- {type: conv, kernel_size: 3,\n   strid: 2}\n", "net.yaml:3: layer 1: unknown key 'strid'"),
        ("- conv3\n-\n  type: conv\n  kernel_size: 3.5\n", "net.yaml:4: layer 1: kernel must be an integer, got 3.5"),
        ("-\n  type: conv\n  kernel_size: .nan\n", "net.yaml:3: layer 0: kernel must be an integer, got nan"),
        ("-\n  type: conv\n  kernel_size: .inf\n", "net.yaml:3: layer 0: kernel must be an integer, got inf"),
        ("- {type: conv, kernel_size: 3, padding: [1, 1.5]}", "net.yaml:1: layer 0, axis 1: padding must be an integer"),
        ("- {type: conv, kernel_size: [3, 0]}", "layer 0, axis 1: kernel must be >= 1, got 0"),
        ("- {type: conv, kernel_size: [[3]]}", "layer 0, axis 0: kernel must be an integer, got (3,)"),
        ("- {type: conv, kernel_size: 3, padding: [[[1]]]}", "layer 0, axis 0: padding must be an int or a (before"),
        ("- {type: conv, kernel_size: " + "9" * 5000 + "}",
         "net.yaml:1: layer 0: kernel is larger than the int64 range, got a number of 5000 digits"),
        ("- {type: conv, kernel_size: 3, stride: true}", "layer 0: stride must be an integer, got True"),
        ("- {type: conv, kernel_size: 3, ceil_mode: yes}", "layer 0: ceil_mode must be true or false, got 'yes'"),
        ("-\n  type: conv\n  kernel_size: 3\n  name: 1.5\n", "net.yaml:4: layer 0: name must be text, got 1.5"),
        ('- {type: conv, kernel_size: 3, name: "\\e[31m"}', "layer 0: name must be printable text"),
        ("- {type: 5}", "layer 0: type must be text (conv, maxpool, avgpool, relu, ...), got 5"),
        ("- {type: dense}", "layer 0: unknown layer type 'dense'"),
        ("- {kernel_size: 3}", "layer 0: layer needs a 'type'"),
        ("- {type: conv}", "layer 0: conv needs kernel_size"),
        ("- {type: conv, kernel: 3, kernel_size: 3}", "give kernel_size or kernel, not both"),
        ("- {type: relu, kernel_size: 3}", "an RF-neutral layer takes no kernel"),
        ("- conv3\n- Conv2d3\n", "net.yaml:2: layer 1: cannot parse 'Conv2d3'"),
        ("- conv3\n- [conv3, relu]\n", "net.yaml:2: layer 1: a layer must be a mapping like {type: conv, kernel_size:"),
        ("- conv3\n- 7\n", "net.yaml:2: layer 1: a layer must be a mapping"),
        ("- conv3\n- null\n", "layer 1: a layer must be a mapping"),
        ("[]", "net.yaml: expected a non-empty list of layers, got an empty list"),
        ("conv3,relu", "net.yaml: expected a non-empty list of layers, got 'conv3,relu'"),
        ("", "net.yaml: expected a non-empty list of layers, got None"),
        ("layers: []\n", "net.yaml:1: expected a non-empty list of layers"),
        ("input_size: 32\nlayer: [conv3]\n", "net.yaml:2: unknown key 'layer'"),
        ("input_size: 32\n", "expected 'layers'"),
        ("input_size: 3.5\nlayers: [conv3]\n", "net.yaml:1: input size must be an integer, got 3.5"),
        ("input_size: [32, 0]\nlayers: [conv3]\n", "net.yaml:1: input size must be positive integers, got 0 on axis 1"),
        ("input_size: " + "9" * 5000 + "\nlayers: [conv3]\n",
         "net.yaml:1: input size is larger than the int64 range, got a number of 5000 digits"),
        ("input_size: 224X224\nlayers: [conv3]\n", "input size must look like 32 or 224x224"),
        ("layers: [conv3]\nlayers: [conv5]\n", "net.yaml:2: duplicate key 'layers'"),
    ],
)
def test_spec_file_errors_name_the_line_and_layer(text, message):
    assert message in spec_error(text)


@pytest.mark.parametrize(
    "text, message",
    [
        ('[{"type": "conv",\n  "kernel_size": 3,\n  "stride": 0}]', "net.json:3: layer 0: stride must be >= 1, got 0"),
        ('{"layers": [\n"conv3",\n{"type": "conv", "kernel_size": NaN}]}', "net.json:3: NaN is not a number JSON"),
        ('[\n{"type": "conv", "kernel_size": 3, "kernel_size": 5}]', "net.json:2: duplicate key 'kernel_size'"),
        ('[\n{"type": "conv", "kernel_size": 1e400}]', "net.json:2: layer 0: kernel must be an integer, got inf"),
        ('[\n{"type": "conv", "kernel_size": 3.0}]', "net.json:2: layer 0: kernel must be an integer, got 3.0"),
        ('{"input_size": 9,\n "layers": ["conv3", "conv3s0"]}', "net.json:2: layer 1: stride must be >= 1, got 0"),
        ('{"input_size": 9,\n "layers": "conv3"}', "net.json:2: expected a non-empty list of layers, got 'conv3'"),
    ],
)
def test_json_spec_errors_name_the_line_and_layer(text, message):
    assert message in spec_error(text, "json", "net.json")


def test_distinct_layers_built_once_but_every_entry_checked():
    # The cache behind big specs never lets a value through that the layer would refuse.
    for bad, message in [("3.0", "kernel must be an integer, got 3.0"), ("true", "kernel must be an integer, got True"),
                         ("'3'", "kernel must be an integer, got '3'")]:  # fmt: skip
        text = f"- {{type: conv, kernel_size: 3}}\n- {{type: conv, kernel_size: {bad}}}\n"
        assert f"net.yaml:2: layer 1: {message}" in spec_error(text)
    text = "- {type: conv, kernel_size: 3, name: a}\n- {type: conv, kernel_size: 3, name: 1.5}\n"
    assert "net.yaml:2: layer 1: name must be text" in spec_error(text)
    spec = parse_spec("- {type: relu, name: x}\n- {type: relu}\n- {type: conv, kernel_size: 3, name: c}\n"
                      "- {type: conv, kernel_size: 3}\n- {type: conv, kernel_size: 3, name: null}\n")  # fmt: skip
    assert [layer.label for layer in spec.layers] == ["x", "relu", "c", "conv3", "conv3"]


def test_load_spec_reads_json_files_as_json(tmp_path):
    path = tmp_path / "net.json"
    path.write_text('{"layers": ["conv3", {"type": "conv", "kernel_size": 3, "kernel_size": 3}]}')
    with pytest.raises(SpecError, match=r"net\.json:1: duplicate key 'kernel_size'"):
        load_spec(path)


@pytest.mark.slow
def test_a_100k_layer_json_spec_loads_in_seconds(tmp_path):
    layers = [{"type": "conv", "kernel_size": 3, "stride": 1, "padding": 1, "name": f"block{i}.conv"} if i % 3
              else {"type": "relu"} for i in range(100_000)]  # fmt: skip
    path = tmp_path / "net.json"
    path.write_text(json.dumps({"input_size": 224, "layers": layers}, indent=1))
    start = time.perf_counter()
    spec = load_spec(path)
    elapsed = time.perf_counter() - start
    assert len(spec.layers) == 100_000 and spec.layers[1] == Conv(3, padding=1) and spec.layers[1].name == "block1.conv"
    assert spec.layers[99_999].label == "relu" and spec.input_size == (224,)
    assert elapsed < 5, elapsed


# --- the SPEC rule -------------------------------------------------------------------------------------------


def test_compact_text_is_never_read_from_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "relu").write_text("- conv7s2\n")
    (tmp_path / "conv3").write_text("- conv7s2\n")
    assert read_spec("relu").layers == (Identity(),)
    assert read_spec("conv3").layers == (Conv(3),)
    assert read_spec("file:relu").layers == (Conv(7, stride=2),)


def test_specs_longer_than_a_file_name_are_text():
    long = ",".join(["conv3p1", "relu"] * 20)  # 40 layers: "File name too long" before
    assert len(read_spec(long).layers) == 40
    assert len(read_spec(",".join(["conv3p1"] * 5000)).layers) == 5000  # 40,000 characters > PATH_MAX


def test_file_suffixes_any_case(tmp_path):
    for name in ("a.yaml", "b.YML", "c.Json"):
        (tmp_path / name).write_text('["conv3"]')
        assert read_spec(str(tmp_path / name)).layers == (Conv(3),)
    with pytest.raises(SpecError, match=r"missing\.JSON: cannot read: No such file"):
        read_spec("missing.JSON")


def test_file_prefix_reads_any_name_and_format_from_suffix(tmp_path):
    (tmp_path / "net.txt").write_text("- conv3\n- relu\n")
    (tmp_path / "net.v2.json").write_text('["conv5"]')
    assert len(read_spec(f"file:{tmp_path / 'net.txt'}").layers) == 2
    assert read_spec(f"file:{tmp_path / 'net.v2.json'}").layers == (Conv(5),)
    with pytest.raises(SpecError, match="file: needs a path"):
        read_spec("file:")


def test_stdin_reads_yaml_or_json():
    assert read_spec("-", stdin=io.BytesIO(b"- conv3\n- relu\n")).layers == (Conv(3), Identity())
    spec = read_spec("-", stdin=io.BytesIO(b'{"input_size": 9, "layers": ["conv3"]}'))
    assert spec.input_size == (9,) and spec.source == "<stdin>"
    assert read_spec("-", stdin=io.BytesIO(b"[conv3, relu]")).layers == (Conv(3), Identity())
    with pytest.raises(SpecError, match="<stdin>:2: duplicate key 'a'"):
        read_spec("-", stdin=io.BytesIO(b'{"a": 1,\n "a": 2}'))
    with pytest.raises(SpecError, match="<stdin>: larger than"):
        source_limit = io.BytesIO(b" " * (64 * 2**20 + 1))
        read_spec("-", stdin=source_limit)


def test_zoo_names_and_graph_files_are_graphs(tmp_path):
    # The SPEC rule hands graphs (zoo:NAME, a file with `nodes`) to rfsearch.graph, which builds
    # them; read_spec takes stacks only and says where graphs are read.
    assert source.read_network("zoo:resnet50") == source.GraphSource(zoo="resnet50")
    with pytest.raises(SpecError, match="zoo:resnet50 is a graph, not a stack"):
        read_spec("zoo:resnet50")
    with pytest.raises(SpecError, match="zoo: needs a model name"):
        read_spec("zoo:")
    path = tmp_path / "g.yaml"
    path.write_text("nodes:\n  - {id: a, op: conv3}\n")
    found = source.read_network(str(path))
    assert isinstance(found, source.GraphSource) and found.document.data["nodes"][0]["id"] == "a"
    with pytest.raises(SpecError, match="g.yaml: this spec file is a graph"):
        read_spec(str(path))
    assert source.read_network("conv3").layers == (Conv(3),)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("http://x/net.yaml", "unknown SPEC prefix 'http:' (known: file:, zoo:"),
        ("onnx:model", "unknown SPEC prefix 'onnx:'"),
        ("FILE:net", "unknown SPEC prefix 'FILE:'"),
        ("nets/vgg.txt", "(to read a spec file, name it *.yaml, *.yml or *.json, or write file:PATH)"),
        ("C:\\nets\\vgg", "to read a spec file"),
        ("conv3,conv3x", "layer 1: cannot parse 'x' in 'conv3x'"),
        ("", "empty spec"),
    ],
)
def test_spec_rule_refusals(spec, message):
    with pytest.raises(SpecError) as e:
        read_spec(spec)
    assert message in str(e.value)


def test_failed_compact_text_hints_at_a_same_named_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mynet").write_text("- conv3\n")
    with pytest.raises(SpecError, match="cannot parse 'mynet'.*a file named 'mynet' exists: write file:mynet"):
        read_spec("mynet")
    assert read_spec("file:mynet").layers == (Conv(3),)
