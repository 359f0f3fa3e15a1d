"""Every example in README.md runs, and every file it names exists.

The README is parsed when the tests are collected, so new examples are tested without being
listed here:
- ```bash blocks: each `rfsearch ...` command (also after `&&`) runs and exits 0;
- `$ ` lines in any code block run in bash; the lines after one, up to the next `$ `, are its
  expected output (stderr and exit code 2 when they start with "rfsearch: error:");
- ```python blocks run as scripts, ```yaml blocks load as spec files;
- paths in `code spans` and relative links exist (with a "/": from the repository root; bare
  file names: somewhere in the repository), and so do the files commands read;
- every examples/*.py runs.
Commands run in a temporary directory holding a copy of examples/, so they may write files.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, NamedTuple, Optional

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent  # the venv's rfsearch
SUFFIXES = (".py", ".yaml", ".yml", ".json", ".jsonl", ".ndjson", ".csv", ".md", ".hpp", ".cpp", ".npz", ".parquet",
            ".toml", ".txt", ".pyi")  # fmt: skip


class Block(NamedTuple):
    lang: str
    line: int  # 1-based line of the first line of the body
    body: List[str]


class Example(NamedTuple):
    line: int
    command: str
    expected: Optional[List[str]]  # None: only success is checked


def blocks(text: str) -> List[Block]:
    found, lang, start, body = [], None, 0, []
    for number, line in enumerate(text.splitlines(), start=1):
        fence = re.match(r"^\s*```(\S*)", line)
        if fence and lang is None:
            lang, start, body = fence.group(1), number + 1, []
        elif fence:
            found.append(Block(lang, start, body))
            lang = None
        elif lang is not None:
            body.append(line)
    return found


def examples(all_blocks: List[Block]) -> List[Example]:
    found = []
    for block in all_blocks:
        prompt: Optional[Example] = None
        for offset, line in enumerate(block.body):
            number = block.line + offset
            if line.startswith("$ "):
                prompt = Example(number, line[2:], [])
                found.append(prompt)
            elif prompt is not None:
                assert prompt.expected is not None
                prompt.expected.append(line)
            elif block.lang in ("bash", "sh", "shell", "console"):
                for part in line.split("&&"):
                    if part.strip().startswith("rfsearch "):
                        found.append(Example(number, part.strip(), None))
    return found


TEXT = README.read_text(encoding="utf-8")
BLOCKS = blocks(TEXT)
EXAMPLES = examples(BLOCKS)
PYTHON = [b for b in BLOCKS if b.lang == "python"]
YAML = [b for b in BLOCKS if b.lang in ("yaml", "yml")]


@pytest.fixture
def workdir(tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "COLUMNS": "120"}
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, check=False,
                          timeout=300)  # fmt: skip


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 8 and PYTHON and any(e.expected for e in EXAMPLES)


# The examples run subprocesses (~40 s in all): CI and `pytest --run-slow` run them.
@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=[f"line{e.line}" for e in EXAMPLES])
def test_command_runs(example, workdir):
    proc = shell(example.command, workdir)
    expected = [line for line in example.expected or [] if line.strip()]
    if expected and expected[0].startswith("rfsearch: error:"):
        assert proc.returncode == 2 and proc.stderr.splitlines() == expected, proc.stderr
        return
    assert proc.returncode == 0, f"README.md:{example.line}: {example.command}\n{proc.stderr}"
    if expected:
        assert proc.stdout.splitlines() == expected, f"README.md:{example.line}: {example.command}"


@pytest.mark.slow
@pytest.mark.parametrize("block", PYTHON, ids=[f"line{b.line}" for b in PYTHON])
def test_python_block_runs(block, workdir):
    proc = subprocess.run([sys.executable, "-c", "\n".join(block.body)], cwd=workdir, capture_output=True, text=True,
                          check=False, timeout=300)  # fmt: skip
    assert proc.returncode == 0, f"README.md:{block.line}:\n{proc.stderr}"


@pytest.mark.parametrize("block", YAML, ids=[f"line{b.line}" for b in YAML])
def test_yaml_block_loads(block, tmp_path):
    """Each YAML block loads as what it shows: a graph (`nodes`), a search space (`depth`) or a spec."""
    import yaml

    from rfsearch import load_spec

    text = "\n".join(block.body) + "\n"
    data = yaml.safe_load(text)
    path = tmp_path / "block.yaml"
    path.write_text(text, encoding="utf-8")
    if isinstance(data, dict) and "nodes" in data:
        from rfsearch.graph import load_graph

        assert load_graph(path).nodes
    elif isinstance(data, dict) and "depth" in data:
        from rfsearch.search.space import load_space

        assert load_space(path).total >= 1
    else:
        assert load_spec(path).layers


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_example_script_runs(script, workdir):
    proc = subprocess.run([sys.executable, str(workdir / "examples" / script.name)], cwd=workdir, capture_output=True,
                          text=True, check=False, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def _tracked() -> List[str]:
    proc = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode == 0 and proc.stdout:
        return proc.stdout.splitlines()
    return [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if ".git" not in p.parts]  # not a git checkout


def mentioned_paths() -> List[str]:
    """Paths the README names: code spans that look like files, relative links, files commands read."""
    found = set()
    for span in re.findall(r"`([^`\n]+)`", TEXT):
        span = span.strip()
        if re.fullmatch(r"\.?[\w.\-]+(/[\w.\-]+)*/?", span) and ("/" in span or span.endswith(SUFFIXES)):
            # ".csv" is a suffix, ".ci/run" a path; "resnet_v1_50/block3" (a layer name) is not a path
            # unless it looks like one: a known suffix, a trailing slash, or a first part that exists
            looks_like_path = span.endswith(SUFFIXES) or span.endswith("/") or (ROOT / span.split("/")[0]).exists()
            if (not span.startswith(".") or "/" in span) and ("/" not in span or looks_like_path):
                found.add(span)
    for target in re.findall(r"\]\(([^)\s]+)\)", TEXT):
        if not re.match(r"[a-z]+:", target) and not target.startswith("#"):
            found.add(target.split("#")[0])
    for example in EXAMPLES:
        words = shlex.split(example.command, comments=True)
        # files the command writes (outputs, redirections) may be read by a later part of it
        written = {w for b, w in zip([""] + words, words) if b in ("-o", "--output", "--out", ">")}
        for before, word in zip([""] + words, words):
            if word.endswith(SUFFIXES) and word not in written and not word.startswith("-"):
                found.add(word)
    return sorted(found)


def test_every_path_the_readme_names_exists():
    tracked = _tracked()
    names = {Path(p).name for p in tracked}
    missing = []
    for path in mentioned_paths():
        if "/" in path:
            if not (ROOT / path).exists():
                missing.append(path)
        elif path not in names:
            missing.append(path)
    assert not missing, f"README.md names files that do not exist: {missing}"
