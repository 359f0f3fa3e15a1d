"""Graph spec files and the graph model: the contract (nodes with id, op, inputs and the layer
keys; output; input_size; alignment), chains, and one clear error naming file:line, node and
field for every mistake."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfsearch import Conv, SpecError, receptive_field
from rfsearch.graph import Graph, GraphBuilder, Node, compute_graph, load_graph, parse_graph
from rfsearch.graph.ops import ConvTranspose, Merge, Upsample

EXAMPLES = sorted(Path(__file__).resolve().parents[1].joinpath("examples", "graphs").glob("*.yaml"))


def write(tmp_path, text, name="g.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GRAPH = """\
input_size: 32
output: [sum, up]
nodes:
  - {id: a, op: conv, kernel_size: 3, padding: 1}
  - id: b
    op: Conv2d
    kernel_size: 3
    padding: [[1, 1]]
    inputs: [a]
  - {id: sum, op: add, inputs: [a, b]}
  - {id: up, op: upsample, inputs: [sum], scale_factor: 2, mode: bilinear, align_corners: true}
"""


def test_graph_file_contract(tmp_path):
    graph = load_graph(write(tmp_path, GRAPH))
    assert [n.id for n in graph.nodes] == ["a", "b", "sum", "up"]
    assert graph.outputs == ("sum", "up") and graph.input_size == (32,)
    assert graph.node("b").inputs == ("a",) and graph.node("a").inputs == ("input",)
    assert isinstance(graph.node("up").op, Upsample) and graph.node("up").op.align_corners
    r = compute_graph(graph)
    assert r.output == "sum" and r.rf == (5,) and r.rf_min == (3,)
    d = r.to_dict()
    assert d["outputs"] == ["sum", "up"] and {"id", "rf", "rf_min", "jump", "effective_padding", "center",
                                                "output_size"} <= set(d["nodes"][0])  # fmt: skip
    assert r.node("up").jump == (__import__("fractions").Fraction(31, 63),)


def test_json_graph_and_default_inputs_chain_the_nodes(tmp_path):
    doc = {"nodes": [{"id": "c1", "op": "conv3s2p1"}, {"id": "c2", "op": "conv", "kernel_size": 3}]}
    graph = load_graph(write(tmp_path, json.dumps(doc), "g.json"))
    assert graph.node("c2").inputs == ("c1",) and graph.outputs == ("c2",)
    assert compute_graph(graph).rf == receptive_field("conv3s2p1,conv3").rf


def test_layer_lists_stay_valid_as_chains(tmp_path):
    path = write(tmp_path, "input_size: 32\nlayers:\n  - conv3s1p1\n  - {type: maxpool, kernel_size: 2}\n")
    graph = load_graph(path)
    assert [n.id for n in graph.nodes] == ["0", "1"] and graph.input_size == (32,)
    assert compute_graph(path).rf == receptive_field("conv3s1p1,maxpool2", 32).rf
    assert compute_graph(write(tmp_path, "- conv3\n- conv3\n", "list.yaml")).rf == (5,)


def test_nodes_may_come_in_any_order(tmp_path):
    text = "nodes:\n  - {id: b, op: conv, kernel_size: 3, inputs: [a]}\n  - {id: a, op: conv, kernel_size: 5, inputs: [input]}\n"
    graph = load_graph(write(tmp_path, text))
    assert [n.id for n in graph.nodes] == ["a", "b"] and graph.outputs == ("a",)  # default: the last listed


@pytest.mark.parametrize("text,message", [
    ("nodes:\n  - {id: a, op: conv, kernel_size: 3}\n  - {id: b, op: conv, strid: 2, kernel_size: 3}\n",
     r"g.yaml:3: node 'b': unknown key 'strid' for conv"),
    ("nodes:\n  - {id: a, op: conv, kernel_size: 3}\n  - id: b\n    op: conv\n    kernel_size: 3\n    stride: 0\n",
     r"g.yaml:6: node 'b': stride must be >= 1, got 0"),
    ("nodes:\n  - {id: a, op: conv, kernel_size: 3}\n  - {id: a, op: conv, kernel_size: 3}\n",
     r"g.yaml:3: node 'a': duplicate id \(first defined on line 2\)"),
    ("nodes:\n  - {id: a, op: conv, kernel_size: 3, inputs: [inptu]}\n",
     r"g.yaml:2: node 'a': unknown input 'inptu' \(did you mean 'input'\?\)"),
    ("nodes:\n  - {id: a, op: add, inputs: [input, b]}\n  - {id: b, op: conv, kernel_size: 1, inputs: [a]}\n",
     r"g.yaml:2: the graph has a cycle: a -> b -> a"),
    ("nodes:\n  - {id: input, op: relu}\n", r"g.yaml:2: node 'input': 'input' names the network input"),
    ("nodes:\n  - {id: a, op: convolve}\n", r"g.yaml:2: node 'a': unknown op 'convolve'"),
    ("nodes:\n  - {op: relu}\n", r"g.yaml:2: node 0: needs an id"),
    ("nodes:\n  - {id: 3, op: relu}\n", r"g.yaml:2: node 0: id must be text, got 3"),
    ("nodes:\n  - {id: a, op: add, inputs: [input]}\n", r"g.yaml:2: node 'a': add needs at least 2 inputs, got 1"),
    ("nodes:\n  - {id: a, op: conv, kernel_size: 3, inputs: [input, input]}\n",
     r"node 'a': conv takes exactly one input, got 2"),
    ("nodes:\n  - {id: a, op: conv_transpose, kernel_size: 3, stride: 2, output_padding: 2}\n",
     r"g.yaml:2: node 'a': output_padding must be smaller than the stride or the dilation, got 2"),
    ("nodes:\n  - {id: a, op: upsample, scale_factor: 1.5}\n",
     r"node 'a': scale_factor must be an integer or an exact ratio like '3/2', got the float 1.5"),
    ("nodes:\n  - {id: a, op: upsample, scale_factor: 2, size: 4}\n", r"needs exactly one of scale_factor and size"),
    ("nodes:\n  - {id: a, op: conv, kernel_size: [3, 3]}\n  - {id: b, op: conv, kernel_size: [3, 3, 3]}\n",
     r"g.yaml:3: node 'b': has 3 axes but earlier nodes have 2"),
    ("output: c\nnodes:\n  - {id: a, op: relu}\n", r"g.yaml:1: output 'c' is not a node id"),
    ("output: []\nnodes:\n  - {id: a, op: relu}\n", r"g.yaml:1: output must be a node id or a non-empty list of ids"),
    # ASCII digits only, as everywhere (int() would read Arabic-Indic digits)
    ("nodes:\n  - {id: a, op: upsample, scale_factor: '\u0663'}\n",
     r"g.yaml:2: node 'a': scale_factor must be a positive integer or a ratio like '3/2'"),
    ("nodes:\n  - {id: a, op: upsample, scale_factor: '3/\u0662'}\n", r"g.yaml:2: node 'a': scale_factor must be a positive"),
    ("nodes:\n  - {id: a, op: relu}\nextra: 1\n", r"g.yaml:3: unknown key 'extra'"),
    ("nodes: []\n", r"g.yaml:1: nodes must be a non-empty list"),
    ("nodes:\n  - {id: a, op: conv, kernel_size: 3, kernel_size: 5}\n", r"g.yaml:2: duplicate key 'kernel_size'"),
    ("nodes: [" * 70 + "]" * 70, r"g.yaml:1: nested deeper than 64 levels"),
    ("nodes: &a0 [{id: x, op: relu}]\n" + "".join(f"l{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n"
                                                  for i in range(1, 9)), r"g.yaml:\d+: .*alias"),  # 10^8 values
    ("nodes:\n  - {id: a, op: conv, kernel_size: 99999999999999999999}\n",
     r"node 'a': kernel is larger than the int64 range"),
    ("nodes:\n  - {id: a, op: crop}\n", r"crop needs either `crop` amounts or `like`"),
    ("nodes:\n  - {id: a, op: pad, padding: [[1, 2, 3]]}\n", r"padding must be an int or a \[before, after\] pair"),
    ("nodes:\n  - {id: '[bold]x', op: relu, inputs: []}\n", r"inputs must be a non-empty list"),
    ("nodes:\n  - {id: a, op: adaptive_avgpool}\n", r"adaptive_avgpool needs output_size"),
    ("nodes:\n  - {id: a, op: conv3, kernel_size: 3}\n", r"a compact token \(conv3\) takes no other keys"),
    ("{nodes: [", r"g.yaml:\d+: not valid YAML"),
    ("alignment: maybe\nnodes:\n  - {id: a, op: relu}\n", r"g.yaml:1: alignment must be one of error, warn, ignore"),
])  # fmt: skip
def test_errors_name_file_line_node_and_field(tmp_path, text, message):
    with pytest.raises(SpecError, match=message):
        load_graph(write(tmp_path, text))


def test_file_level_errors(tmp_path):
    with pytest.raises(SpecError, match="missing.yaml: cannot read"):
        load_graph(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"nodes:\n  - {id: a, op: relu}\n\xff\n")
    with pytest.raises(SpecError, match="bad.yaml:3: not UTF-8 text"):
        load_graph(bad)
    # YAML aliases are read as spec files read them (their expansion is bounded by the loader).
    text = "nodes:\n  - {id: a, op: conv, kernel_size: &k 3}\n  - {id: b, op: conv, kernel_size: *k}\n"
    assert load_graph(write(tmp_path, text, "alias.yaml")).node("b").op == Conv(3)
    with pytest.raises(SpecError, match="list.yaml:2: layer 1: unknown key 'strid'"):  # chains: the spec-file reader
        load_graph(write(tmp_path, "- conv3\n- {type: conv, kernel_size: 3, strid: 2}\n", "list.yaml"))
    with pytest.raises(SpecError, match="expected a mapping with `nodes`"):
        parse_graph("42")


@settings(max_examples=min(2000, settings.default.max_examples))  # one YAML parse each: cheap enough for CI's budget
@given(st.text(max_size=200))
def test_any_text_gives_a_graph_or_a_spec_error(text):
    try:
        graph = parse_graph(text, source="t.yaml")
    except SpecError:
        graph = None
    assert graph is None or isinstance(graph, Graph)


@settings(max_examples=min(300, settings.default.max_examples))  # six parses each
@given(st.recursive(st.none() | st.booleans() | st.integers(-3, 2**70) | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=12))  # fmt: skip
def test_any_node_values_give_a_graph_or_a_spec_error(value):
    docs = [{"nodes": [{"id": "a", "op": "conv", "kernel_size": value}]},
            {"nodes": [{"id": "a", "op": "upsample", "scale_factor": value}]},
            {"nodes": [{"id": "a", "op": "conv_transpose", "kernel_size": 2, "padding": value}]},
            {"nodes": [{"id": "a", "op": value}]}, {"nodes": value}, {"nodes": [{"id": "a", "op": "relu"}],
                                                                      "output": value}]  # fmt: skip
    for doc in docs:
        try:
            graph = parse_graph(json.dumps(doc, default=str), source="t.json")
        except SpecError:
            continue
        except ValueError as e:  # json.dumps of NaN gives NaN, which YAML reads as text
            raise AssertionError(e)
        assert isinstance(graph, Graph)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_compute(path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fpn_nearest.yaml asks for a warning
        r = compute_graph(path)
    assert r.valid and r.rf[0] >= 3 and r.table()


def test_examples_say_what_their_comments_say():
    examples = {p.name: p for p in EXAMPLES}
    r = compute_graph(examples["residual.yaml"])
    assert (r.rf, r.rf_min, r.output_size) == ((9, 9), (3, 3), (28, 28))
    r = compute_graph(examples["se_block.yaml"])
    assert r.aligned and all(a.context for a in r.node("scale").axes) and r.rf == (3, 3)
    with pytest.warns(UserWarning, match="node 'p1'"):
        r = compute_graph(examples["fpn_nearest.yaml"])
    assert not r.aligned
    r = compute_graph(examples["unet_level.yaml"])
    assert r.node("up").axes[0].period == 2 and r.rf == (18,) and r.rf_min == (9,) and r.output_size == (52,)
    r = compute_graph(examples["causal_tcn.yaml"])
    assert r.rf == (15,) and r.start == (-14,) and not r.aligned
    assert compute_graph(examples["chain.yaml"]).rf == receptive_field("conv7s2p3,maxpool3s2p1,conv3s1p1").rf


# --- the Python builder and the model ---------------------------------------------------------------


def test_builder_ids_and_validation():
    g = GraphBuilder()
    a = g.conv("input", 3)
    b = g.node("conv_transpose", a, kernel_size=2, stride=2)
    c = g.concat(a, b)
    assert (a, b, c) == ("conv_1", "conv_transpose_2", "concat_3")
    graph = g.build()
    assert isinstance(graph.node(b).op, ConvTranspose) and isinstance(graph.node(c).op, Merge)
    with pytest.raises(SpecError, match="node 'x': unknown op 'nope'"):
        g.node("nope", a, id="x")
    with pytest.raises(SpecError, match="node 'conv': stride must be >= 1"):
        g.node("conv", a, kernel_size=3, stride=0)
    with pytest.raises(SpecError, match=r"node 'x\\nred': id must be printable text, got 'x\\nred' \(character U\+000A\)"):
        Graph((Node("bad", Conv(1), ("input",)), Node("x\nred", Conv(1), ("bad",))))
    with pytest.raises(SpecError, match="a graph needs at least one node"):
        Graph(())
    with pytest.raises(KeyError):
        graph.node("missing")


def test_cycle_through_builder_nodes_is_named():
    nodes = (Node("a", Merge("add"), ("input", "c")), Node("b", Conv(1), ("a",)), Node("c", Conv(1), ("b",)))
    with pytest.raises(SpecError, match="the graph has a cycle: a -> c -> b -> a"):
        Graph(nodes)
