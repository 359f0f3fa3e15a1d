"""Graph results: the per-node table (user text never markup), JSON (the contract's fields;
fractions as "p/q"), CSV, units, and the endpoint's values at top level as `rfsearch compute`
has them for a stack."""

import csv
import io
import json
from fractions import Fraction

import pytest

from rfsearch import SpecError, parse_layers, receptive_field
from rfsearch.graph import GraphBuilder, compute_graph
from rfsearch.results.graph import exact, normalized, show

NODE_FIELDS = {"id", "op", "spec", "inputs", "rf", "rf_min", "jump", "effective_padding", "start", "center",
               "output_size", "blind_spots", "period", "whole_input", "context"}  # fmt: skip
TOP_FIELDS = {"input_size", "output", "outputs", "rf", "rf_min", "jump", "effective_padding", "start", "center",
              "output_size", "blind_spots", "valid", "collapsed_at", "rf_exceeds_input", "aligned", "misaligned",
              "nodes"}  # fmt: skip


def test_exact_values():
    assert exact(Fraction(6, 2)) == 3 and exact(Fraction(1, 2)) == "1/2" and exact(Fraction(-3, 2)) == "-3/2"
    assert exact(None) is None and exact(4) == 4 and isinstance(normalized(Fraction(4, 1)), int)
    assert show(Fraction(2, 3)) == "2/3" and show(None) == "-"


def test_json_contract_and_top_level_like_compute():
    stack = "conv3s1p1,maxpool2s2,conv3s1p1,maxpool2s2"
    r = compute_graph(list(parse_layers(stack)), 32)
    d = json.loads(r.json(unit=2))
    assert set(d) == TOP_FIELDS | {"unit"} and all(set(n) == NODE_FIELDS for n in d["nodes"])
    seq = receptive_field(stack, 32).to_dict(unit=2)
    for key in ("rf", "jump", "effective_padding", "start", "output_size", "valid", "collapsed_at",
                "rf_exceeds_input", "input_size", "unit"):  # fmt: skip
        assert d[key] == seq[key], key
    assert d["center"] == ["3/2"] and seq["center"] == [1.5]  # exact: a fraction is "p/q"
    assert d["aligned"] is True and d["misaligned"] == [] and d["output"] == "3"
    assert [n["id"] for n in d["nodes"]] == ["0", "1", "2", "3"] and d["nodes"][1]["inputs"] == ["0"]


def test_table_shows_user_text_as_text_never_markup():
    g = GraphBuilder(input_size=8)
    x = g.conv("input", 3, padding=1, id="[bold red]conv[/]")
    g.add(x, "input", id="[/]")
    r = compute_graph(g.build())
    text = r.table()
    assert "[bold red]conv[/]" in text and "[/]" in text
    assert "RF min" in text and "aligned: yes" in text and "[/]: RF 3 (min over paths 1)" in text
    assert repr(r).startswith("<GraphRF 2 nodes, valid, aligned")


def test_table_notes_whole_input_context_period_and_collapse():
    g = GraphBuilder(input_size=8)
    x = g.conv_transpose("input", 2, stride=2, id="up")
    s = g.global_pool(x, id="gap")
    g.multiply(x, s, id="scaled")
    text = compute_graph(g.build()).table()
    assert "period 2" in text and "whole input" in text and "+ global context" in text
    g = GraphBuilder(input_size=3)
    g.conv(g.conv("input", 3, id="a"), 3, id="b")
    text = compute_graph(g.build()).table()
    assert "INVALID: output collapsed at node 'b'" in text


def test_csv_one_row_per_node_per_axis_columns():
    g = GraphBuilder(input_size=(8, 6))
    g.upsample("input", scale_factor=(2, 3), id="up")
    rows = list(csv.DictReader(io.StringIO(compute_graph(g.build()).csv())))
    assert rows[0]["id"] == "up" and rows[0]["jump_0"] == "1/2" and rows[0]["jump_1"] == "1/3"
    assert rows[0]["output_size_1"] == "18"


def test_unit_intervals_and_errors():
    g = GraphBuilder(input_size=10)
    g.conv("input", 3, stride=2, padding=1, id="c")
    r = compute_graph(g.build())
    u = r.unit(4)
    assert u.interval == ((7, 9),) and u.clipped == ((7, 9),)
    assert r.unit(0).clipped == ((0, 1),)
    with pytest.raises(SpecError, match="unit index on axis 0 must be >= 0 < 5"):
        r.unit(5)
    with pytest.raises(SpecError, match="needs 1 values"):
        r.unit((1, 2))
    assert r.unit(0, node="c") == r.unit(0)
