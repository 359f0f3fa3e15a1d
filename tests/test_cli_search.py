"""`rfsearch search`: outputs (table with per-layer tables, JSON, CSV), one-line errors with exit 2
for bad options and space files, --plot without warnings, Ctrl-C then resume, --workers on a
journal file."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from rfsearch.search import load_space
from rfsearch.search.optuna_search import Search, SearchOptions

# Every test here runs `rfsearch search` in subprocesses that import Optuna (~0.5 s each, ~20 s in
# all): CI and `pytest --run-slow` run them; tests/test_search_optuna.py covers the API locally.
pytestmark = pytest.mark.slow

optuna.logging.set_verbosity(optuna.logging.WARNING)
ROOT = Path(__file__).resolve().parents[1]
SPACES = ROOT / "examples" / "spaces"
SMALL = """\
input_size: 64
depth: [2, 4]
layers: {kind: [conv, maxpool], kernel: [2, 3, 5], stride: [1, 2], dilation: [1, 2]}
channels: {input: 3, widths: [8, 16]}
targets: {rf: [20, 30], jump: 4}
objective: [macs, rf_error]
"""


@pytest.fixture(autouse=True)
def fresh_studies(study_dir):
    return study_dir


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def rfsearch(*args, check=True, env=None, timeout=300):
    proc = subprocess.run(["rfsearch", *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONWARNINGS": "error", **(env or {})}, check=False)  # fmt: skip
    if check:
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == "", proc.stderr
    return proc


def test_table_json_and_csv(small):
    table = rfsearch("search", small, "--trials", "12", "--seed", "0", "--inner", "batch", "--inner-size", "200").stdout
    assert "12 complete trials" in table and "sampler nsga2" in table and "Pareto front" in table
    assert "eff. padding" in table and "#1  " in table  # the per-layer table of the best stack
    data = json.loads(rfsearch("search", small, "--trials", "12", "--inner", "batch", "--inner-size", "200",
                               "-f", "json").stdout)  # fmt: skip
    assert data["trials"] == 12 and data["new_trials"] == 0 and data["study_name"].startswith("rfsearch-hierarchical-")
    assert data["objective"] == ["macs", "rf_error"] and data["mode"] == "hierarchical"
    for entry in data["best"] + data["pareto"]:
        assert {"spec", "objective", "rf", "jump", "params", "macs", "choices", "trial"} <= set(entry)
        rerun = json.loads(rfsearch("compute", entry["spec"], "-i", "64", "-f", "json").stdout)
        assert rerun["rf"] == entry["rf"] and rerun["jump"] == entry["jump"] == [4]
        assert 20 <= entry["rf"][0] <= 30
    objectives = [tuple(e["objective"]) for e in data["best"]]
    assert objectives == sorted(objectives)
    rows = list(csv.DictReader(io.StringIO(rfsearch("search", small, "--trials", "12", "--inner", "batch",
                                                    "--inner-size", "200", "-f", "csv").stdout)))  # fmt: skip
    assert rows and {r["set"] for r in rows} == {"best", "pareto"}
    assert [r["spec"] for r in rows if r["set"] == "best"] == [e["spec"] for e in data["best"]]


def test_flat_mode_and_one_objective():
    out = json.loads(rfsearch("search", SPACES / "imagenet_stem.yaml", "--mode", "flat", "--trials", "64",
                              "--seed", "1", "-f", "json").stdout)  # fmt: skip
    assert out["mode"] == "flat" and out["sampler"] == "tpe" and out["objective"] == "macs" and "pareto" not in out
    for entry in out["best"]:
        assert entry["jump"] == [32] and entry["output_size"] == [7] and 180 <= entry["rf"][0] <= 260


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trials", "0"], "--trials must be >= 1, got 0"),
        (["--trials", "1e3"], "--trials must be a whole number"),
        (["--trials", "9" * 40], "--trials is larger than the int64 range"),
        (["--timeout", "-3"], "--timeout must be a positive number of seconds"),
        (["--timeout", "inf"], "--timeout must be a positive number of seconds"),
        (["--mode", "deep"], "argument --mode: invalid choice: 'deep'"),
        (["--sampler", "cmaes"], "argument --sampler: invalid choice: 'cmaes'"),
        (["--workers", "0"], "--workers must be >= 1"),
        (["--workers", "100000"], "workers must be at most"),  # not 100,000 interpreters
        (["--seed", "-1"], "--seed must be >= 0, got -1"),
        (["--top", "x"], "--top must be a whole number"),
        (["--inner-size", "0"], "--inner-size must be >= 1"),
        (["--heartbeat", "10", "--grace", "5"], "--grace (5 s) must be longer than --heartbeat (10 s)"),
        (["-f", "xml"], "argument -f/--format: invalid choice: 'xml'"),
        (["--storage", "nope://x"], "storage: not a database URL: nope://x"),
        (["--storage", "postgresql+psycopg://me:secret@127.0.0.1:1/db"], "postgresql+psycopg://me:***@127.0.0.1:1"),
    ],
)
def test_bad_options_are_one_line_errors(small, args, message):
    proc = rfsearch("search", small, *args, check=False)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "secret" not in proc.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("depth: [2, 4]\nlayers: {kernel: [3]}\ntargets: {rff: 3}\n", "bad.yaml:3: targets.rff: unknown key 'rff'"),
        ("depth: [2, 4]\nlayers: {kernel: [0, 3]}\n", "bad.yaml:2: layers.kernel[0]: kernel must be >= 1, got 0"),
        ("depth: [4, 2]\nlayers: {kernel: 3}\n", "bad.yaml:1: depth: depth [4, 2]: min must be <= max"),
        ("layers: {kernel: 3}\n", "a space needs 'depth'"),
        ("depth: 2\nlayers: {kernel: 3}\nobjective: macs\n", "objective macs needs channels"),
        ("depth: [2\n", "bad.yaml:2: not valid YAML: "),
        ("- 1\n- 2\n", "a space file is a mapping"),
    ],
)
def test_bad_space_files_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    proc = rfsearch("search", path, "--trials", "1", check=False)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert message in proc.stderr, proc.stderr
    proc = rfsearch("search", tmp_path / "missing.yaml", check=False)
    assert proc.returncode == 2 and "missing.yaml: cannot read: No such file" in proc.stderr


def test_a_study_name_made_for_another_space_is_refused(small):
    rfsearch("search", small, "--trials", "2", "--study-name", "mine", "--inner", "batch")
    proc = rfsearch("search", SPACES / "tcn_history.yaml", "--trials", "2", "--study-name", "mine", check=False)
    assert proc.returncode == 2 and "was made for another space" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1


@pytest.mark.slow  # ~10 s: matplotlib and the plots themselves
def test_plots_are_written_without_warnings(small, tmp_path):
    out = tmp_path / "plots"
    data = json.loads(rfsearch("search", small, "--trials", "20", "--inner", "batch", "--inner-size", "200",
                               "--plot", out, "-f", "json").stdout)  # fmt: skip
    names = sorted(p.name for p in out.iterdir())
    assert names == ["history_macs.png", "history_rf_error.png", "importances_macs.png", "importances_rf_error.png",
                     "pareto_front.png"]  # fmt: skip
    assert sorted(Path(p).name for p in data["plots"]) == names
    for name in names:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (out / name).stat().st_size > 5000
    single = tmp_path / "single"
    rfsearch("search", SPACES / "imagenet_stem.yaml", "--trials", "8", "--inner", "batch", "--plot", single)
    assert sorted(p.name for p in single.iterdir()) == ["history.png", "importances.png"]
    (tmp_path / "file").write_text("x")
    proc = rfsearch("search", small, "--trials", "1", "--plot", tmp_path / "file", check=False)
    assert proc.returncode == 2 and "not a directory" in proc.stderr


def _complete(space_file, **options):
    with Search(load_space(space_file), SearchOptions(**options)) as s:
        return [t for t in s.open().get_trials() if t.state == optuna.trial.TrialState.COMPLETE]


@pytest.mark.slow  # ~10 s
def test_ctrl_c_stops_cleanly_and_a_rerun_resumes(small):
    cmd = ["rfsearch", "search", str(small), "--trials", "100000", "--mode", "flat", "--batch", "4", "--seed", "3",
           "-f", "json"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "error"})  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while len(_complete(small, mode="flat")) < 8:  # wait for a state, not for a time
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert err.startswith("rfsearch: interrupted: ") and "run the same command again to resume" in err
    assert len(err.splitlines()) == 1
    data = json.loads(out)  # the results so far
    with Search(load_space(small), SearchOptions(mode="flat")) as s:
        trials = s.open().get_trials()
    states = {t.state for t in trials}
    assert states == {optuna.trial.TrialState.COMPLETE}  # no trial left RUNNING, none failed
    done = len(trials)
    assert data["trials"] == done >= 8
    again = json.loads(rfsearch("search", small, "--trials", done + 4, "--mode", "flat", "--batch", "4",
                                "-f", "json").stdout)  # fmt: skip
    assert (again["trials"], again["new_trials"]) == (done + 4, 4)
    with Search(load_space(small), SearchOptions(mode="flat")) as s:
        after = s.open().get_trials()
    assert [(t.number, t.values) for t in after[:done]] == [(t.number, t.values) for t in trials]


@pytest.mark.slow  # ~10 s: worker processes
def test_workers_share_a_journal_file(small, study_dir):
    data = json.loads(rfsearch("search", small, "--trials", "24", "--workers", "2", "--inner", "batch",
                               "--inner-size", "200", "-f", "json").stdout)  # fmt: skip
    assert data["trials"] >= 24 and Path(data["storage"]).parent == study_dir
    trials = _complete(small, inner="batch", inner_size=200)
    assert len({t.user_attrs["rfsearch"]["worker"] for t in trials}) == 2


def test_the_python_module_entry_point_runs(small):
    proc = subprocess.run([sys.executable, "-m", "rfsearch.cli", "search", str(small), "--trials", "2", "--inner",
                           "batch"], capture_output=True, text=True, check=False, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def test_the_parser_repeats_the_apis_values():
    from rfsearch.cli import search as cli
    from rfsearch.search import optuna_search as api

    for name in ("MODES", "SAMPLERS", "INNERS", "DEFAULT_TRIALS", "DEFAULT_INNER_SIZE", "DEFAULT_BATCH",
                 "DEFAULT_HEARTBEAT", "DEFAULT_GRACE"):  # fmt: skip
        assert getattr(cli, name) == getattr(api, name), name
    # Commands outside the search room do not pay for it: their parser imports none of it.
    for command in ("compute", "batch", "zoo", "inspect", "verify", "plot"):
        proc = subprocess.run([sys.executable, "-c", "import sys, importlib; "
                               f"importlib.import_module('rfsearch.cli.main').build_parser({command!r}); "
                               "print(any(k.startswith('rfsearch.search') for k in sys.modules))"],
                              capture_output=True, text=True, check=True)  # fmt: skip
        assert proc.stdout.strip() == "False", command
