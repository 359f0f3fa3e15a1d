"""Output text: the table looks as rich draws it, names are data (never markup), big tables are fast."""

import csv
import io
import json
import time
from fractions import Fraction

import pytest
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from rfsearch import Conv, MaxPool, receptive_field
from rfsearch.results import render
from rfsearch.results.network import LayerRF, RFResult

SEED = "conv3s1p1,maxpool2s2,conv3s1p1,maxpool2s2"


def rich_reference(result, unit=None):
    """The table as rich's own Table draws it (cells as Text: no markup), then the summary lines."""
    table = Table(box=box.SIMPLE_HEAD)
    for title, justify in render.COLUMNS:
        table.add_column(title, justify=justify)
    for row in zip(*render._cells(result)):
        table.add_row(*(Text(cell) for cell in row))
    console = Console(file=io.StringIO(), width=10_000, color_system=None, legacy_windows=False)
    console.print(table)
    summary = render.table_text(result, unit).split("\n")[len(result.layers) + 5:]
    return console.file.getvalue() + "\n".join(summary)


CASES = [
    (SEED, 32, 2),
    ("conv3,conv3,conv3", 4, None),  # collapses
    ("conv1x7p0x3,conv7x1p3x0,relu", "17x17", (1, 2)),
    ("conv7s2p3,maxpool3s2p1c,conv3d2", None, None),
    ("conv3p1x1x1,maxpool1x2x2", "8x32x32", None),
    (",".join(["conv3s2p1"] * 12 + ["relu"] * 3), 5000, None),
]


@pytest.mark.parametrize("spec, size, unit", CASES)
def test_table_looks_as_rich_draws_it(spec, size, unit):
    result = receptive_field(spec, size)
    assert render.table_text(result, unit) == rich_reference(result, unit)


def test_table_with_user_names_looks_as_rich_draws_it():
    layers = [Conv(3, padding=1, name="[/bold]"), MaxPool(2, name="日本語の層"), Conv(3, name="[red]x[/red]"),
              Conv(1, name="😀 emoji"), Conv(1, name=5)]  # fmt: skip
    result = receptive_field(layers, 32)
    text = render.table_text(result)
    assert text == rich_reference(result)
    for name in ("[/bold]", "日本語の層", "[red]x[/red]", "😀 emoji", " 5 "):
        assert name in text


def test_markup_names_never_crash_any_output():
    result = receptive_field([Conv(3, name="[/bold]"), Conv(3, name="[link=file:///etc/passwd]x"),
                              Conv(3, name="<script>alert(1)</script>")], 9)  # fmt: skip
    assert "[/bold]" in str(result) and "[/bold]" in result.table()
    console = Console(file=io.StringIO(), width=200, color_system="truecolor", force_terminal=True)
    console.print(result)  # __rich__: a Text, nothing parsed as markup
    shown = console.file.getvalue()
    assert "[/bold]" in shown and "[link=file:///etc/passwd]x" in shown
    html = result._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert json.loads(render.json_text(result))["layers"][0]["name"] == "[/bold]"
    assert list(csv.reader(io.StringIO(render.csv_text(result))))[3][1] == "<script>alert(1)</script>"


def test_rich_text_styles_header_collapse_and_invalid():
    result = receptive_field("conv3,conv3,conv3", 4)
    text = render.table_renderable(result)
    assert text.plain == render.table_text(result).rstrip("\n")
    styled = {text.plain[s.start:s.end].strip(): str(s.style) for s in text.spans}
    assert styled["#   layer   RF   jump   eff. padding   start   centre   output size"] == "bold"
    assert styled["1   conv3    5      1              0       0        2             0"] == "red"
    assert styled["INVALID: output collapsed at layer 1 (size < 1 for this input)"] == "bold red"


def test_print_table_plain_when_not_a_terminal():
    out = io.StringIO()
    render.print_table(receptive_field(SEED, 32), 2, out)
    assert out.getvalue() == render.table_text(receptive_field(SEED, 32), 2)


def test_html_table_is_escaped_and_long_tables_elided():
    rows = tuple(LayerRF(i, Conv(1, name=f"l{i}&"), (1,), (1,), (0,), (9,)) for i in range(5000))
    result = RFResult(rows, (9,), 1, None)
    html = render.html_table(result)
    assert html.count("<tr") == 1 + 1 + render.HTML_ROWS + 1  # header, input, layers, the gap
    assert "... 4,000 more layers ..." in html and "l0&amp;" in html and "l4999&amp;" in html and "l2500&" not in html
    small = receptive_field("conv3,conv3,conv3", 4)._repr_html_()
    assert small.count('<tr style="color:red">') == 1 and "INVALID: output collapsed at layer 1" in small


def test_centres_are_exact_half_integers():
    big = 2**62 + 1  # beyond float precision: (rf - 1) / 2 as a float would round
    row = LayerRF(0, Conv(3), (big,), (1,), (5,), None)
    result = RFResult((row,), None, 1, None)
    centre = render.table_text(result).split("\n")[4].split()[6]
    assert Fraction(centre) == Fraction(big - 1, 2) - 5 and centre == "2305843009213693947"
    assert render._half(-1) == "-0.5" and render._half(3) == "1.5" and render._half(-4) == "-2"


def test_json_and_csv_hold_every_value():
    result = receptive_field("conv1x7p0x3,maxpool2", "16x16")
    data = json.loads(render.json_text(result, unit=(1, 2)))
    assert data == json.loads(json.dumps(result.to_dict(unit=(1, 2))))
    assert render.json_text(result).count("\n") == 2 + len(result.to_dict()) - 1 + len(result.layers) + 1
    rows = list(csv.reader(io.StringIO(render.csv_text(result))))
    assert rows[0][:4] == ["index", "name", "rf_0", "rf_1"] and rows[1][:4] == ["0", "conv1x7p0x3", "1", "7"]


def _big_result(n):
    layers = [Conv(3, padding=1, name=f"block{i}.conv") if i % 3 else Conv(1) for i in range(n)]
    rows, rf = [], 1
    for i, layer in enumerate(layers):  # the Distill recursion for stride 1: rf grows by k - 1
        rf += layer.kernel - 1
        rows.append(LayerRF(i, layer, (rf,), (1,), (rf // 2,), (224,)))
    return RFResult(tuple(rows), (224,), 1, None)


@pytest.mark.slow
def test_a_100k_layer_table_renders_fast():
    result = _big_result(100_000)
    start = time.perf_counter()
    text = render.table_text(result)
    table_s = time.perf_counter() - start
    lines = text.split("\n")
    # blank, header, rule, input row, 100,000 rows, blank, 3 summary lines, and the final newline
    assert len(lines) == 4 + 100_000 + 1 + 3 + 1 and lines[-6].split()[:3] == ["99999", "conv1", "133333"]
    assert lines[-7].split()[:3] == ["99998", "block99998.conv", "133333"]
    assert len({len(line) for line in lines[:-4]}) == 1  # fixed width
    start = time.perf_counter()
    assert len(json.loads(render.json_text(result))["layers"]) == 100_000
    assert render.csv_text(result).count("\n") == 100_001
    assert table_s < 3 and time.perf_counter() - start < 10, table_s
