"""The README's search examples run, and print what the README says they print."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def python_blocks():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Search spaces: exact counts"):]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def run_block(code, monkeypatch):
    monkeypatch.chdir(ROOT)
    names = {}
    exec(compile(code, "README.md", "exec"), names)
    return names


def test_readme_search_example_runs(monkeypatch):
    code = python_blocks()[0]
    names = run_block(code, monkeypatch)
    c, stacks, r = names["c"], names["stacks"], names["r"]
    # The values shown in the README's comments.
    assert (c.total == 11**40, c.feasible) == (True, 41624959228865193364216285254362596833645)
    assert c.rf_histogram[:1] == ((6001, 4105167468348457603758733972728103104),)
    assert (stacks[0].rf, stacks[0].spec[:29]) == ((9315,), "conv3p64d64,conv3p1,conv3p4d4")
    assert (r.total, r.feasible) == (819, 170)
    assert [(e.spec, e.objective) for e in r.pareto] == [("conv5d2,conv2", (184, 1)), ("conv5d2,conv3", (248, 0))]
    for shown in re.findall(r"# (\(True, \d+\))", code):
        assert shown == f"(True, {c.feasible})"


def test_readme_space_block_is_a_valid_space():
    from rfsearch.search import parse_space

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Search spaces: exact counts"):]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    space = parse_space(block, source="README.md")
    assert space.depth == (4, 12) and space.objective == ("macs",)
    assert space.uncountable_targets() == ("coverage", "max_params", "max_macs")


def test_readme_counter_and_blind_spot_examples_print_what_they_say(monkeypatch):
    counter_block, blind_block = python_blocks()[1:3]
    names = run_block(counter_block, monkeypatch)
    counter, stop, behind = names["counter"], names["stop"], names["behind"]
    assert (stop, len(behind), sum(behind) == counter.feasible) == (0, 11, True)
    assert counter.unrank(0)[:8] == (0,) * 8
    names = run_block(blind_block, monkeypatch)
    r = names["r"]
    assert (r.rf.tolist(), r.blind_spots.tolist()) == ([9, 7], [4, 0])
    assert names["rfsearch"].receptive_field("conv3d2,conv3d2").blind_spots == (4,)
