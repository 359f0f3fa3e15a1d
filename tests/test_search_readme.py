"""The README's search examples run, and print what the README says they print."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_search_example_runs(monkeypatch):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Search spaces: exact counts"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(ROOT)
    names = {}
    exec(compile(code, "README.md", "exec"), names)
    c, stacks, r = names["c"], names["stacks"], names["r"]
    # The values shown in the README's comments.
    assert (c.total == 11**40, c.feasible) == (True, 41624959228865193364216285254362596833645)
    assert c.rf_histogram[:1] == ((6001, 4105167468348457603758733972728103104),)
    assert (stacks[0].rf, stacks[0].spec[:29]) == ((9661,), "conv3p16d16,conv3p2d2,conv3p1")
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
