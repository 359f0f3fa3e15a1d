"""Many workers share one study through a real PostgreSQL server (tests/conftest_postgres.py).

The killed-worker test is deterministic: the test decides when each worker stops (a hook in
tests/optuna_worker.py, called before a trial is told), the heartbeat is 1 s and the grace
period 2 s, and the survivors cannot stop while a trial is RUNNING (`Search.run_worker`), so the
dead worker's trial is always failed, retried and completed; nothing waits on a timer to decide
an order. Workers run with -W error: a warning (such as Optuna's about a constraint set twice on
the retried trial) fails them.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import optuna
import pytest

from rfsearch.search import load_space
from rfsearch.search.nas import constraint_keys
from rfsearch.search.optuna_search import Search, SearchOptions

optuna.logging.set_verbosity(optuna.logging.WARNING)

WORKER = Path(__file__).resolve().parent / "optuna_worker.py"
SPACE = """\
input_size: 64
depth: [2, 4]
layers: {kind: [conv, maxpool], kernel: [2, 3, 5], stride: [1, 2], dilation: [1, 2]}
channels: {input: 3, widths: [8, 16]}
targets: {rf: [20, 30], jump: 4}
objective: [macs, rf_error]
"""
TrialState = optuna.trial.TrialState


def _space(tmp_path: Path) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(SPACE, encoding="utf-8")
    return path


class Worker:
    """A worker process whose stdout lines are read with a time limit (a hung test fails)."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONWARNINGS": "error"}
        self.proc = subprocess.Popen([sys.executable, "-W", "error", str(WORKER), *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.errors: list[str] = []
        # One reader per pipe, and nothing else reads them (communicate() would race the readers
        # for the last line of stdout).
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.err_reader = threading.Thread(target=self._read_errors, daemon=True)
        self.reader.start()
        self.err_reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def _read_errors(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.errors.append(line)

    def line(self, timeout: float = 120) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            self.proc.kill()
            self.proc.wait()
            self.err_reader.join(timeout=10)
            raise AssertionError(f"no output from the worker: {''.join(self.errors)}") from None

    def kill(self) -> None:
        """SIGKILL: no cleanup in the worker."""
        self.proc.kill()
        self.proc.wait()
        self.reader.join()
        self.err_reader.join()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 120) -> str:
        """Waits for the worker to end; its last line (stdout fully read first)."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=timeout)
        self.reader.join(timeout=timeout)
        self.err_reader.join(timeout=timeout)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.proc.stdout.close()
        self.proc.stderr.close()
        err = "".join(self.errors)
        assert self.proc.returncode == 0, err
        assert err == "", err
        *_, last = [self.lines.get_nowait() for _ in range(self.lines.qsize())] or [""]
        return last


@pytest.mark.slow  # ~10 s: three worker processes, a heartbeat grace period
def test_a_killed_workers_trial_is_retried_and_nothing_is_lost(postgres_url, tmp_path):
    space_file = _space(tmp_path)
    space = load_space(space_file)
    target, name = 10, "killed-worker"
    options = SearchOptions(trials=target, storage=postgres_url, study_name=name, inner="batch", inner_size=64,
                            heartbeat=1, grace=2)  # fmt: skip
    with Search(space, options) as search:
        _killed_worker(search, space, space_file, postgres_url, name, target)


def _killed_worker(search, space, space_file, postgres_url, name, target):
    common = [str(space_file), "--storage", postgres_url, "--study-name", name, "--trials", str(target)]
    search.open()  # the schema and the study exist before the workers start
    # B and C each hold their first trial (RUNNING, heartbeats alive) until released; A runs
    # two trials, then hangs in its third with its constraints set, and is killed there.
    b = Worker(*common, "--worker", "1", "--block-first")
    c = Worker(*common, "--worker", "2", "--block-first")
    assert b.line().startswith("blocked ") and c.line().startswith("blocked ")
    a = Worker(*common, "--worker", "3", "--hang-at", "3")
    hang = a.line()
    assert hang.startswith("hang "), hang
    dead = int(hang.split()[1])

    study = search.open()
    before = {t.number: (t.values, t.params, t.constraints) for t in study.get_trials(states=(TrialState.COMPLETE,))}
    assert len(before) == 2
    held = study.trials[dead]
    assert held.state == TrialState.RUNNING and set(held.constraints) == set(constraint_keys(space))
    a.kill()  # its trial stays RUNNING until its heartbeat goes stale

    b.release()
    c.release()
    done = [int(w.finish().split()[1]) for w in (b, c)]

    trials = search.open().get_trials()
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) >= target and sum(done) == len(complete) - 2
    for number, (values, params, constraints) in before.items():  # no completed trial is lost or changed
        t = trials[number]
        assert (t.state, t.values, t.params, t.constraints) == (TrialState.COMPLETE, values, params, constraints)
    assert trials[dead].state == TrialState.FAIL
    retried = [t for t in trials if t.system_attrs.get("failed_trial") == dead]
    assert len(retried) == 1, [t.system_attrs for t in trials]
    again = retried[0]
    assert again.state == TrialState.COMPLETE and again.params == held.params
    assert again.system_attrs["retry_history"] == [dead]
    assert again.constraints == held.constraints  # the same macro, judged again: the same values
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    for t in complete:
        assert set(t.constraints) == set(constraint_keys(space)), t.number


@pytest.mark.slow  # ~10 s: process start-up
def test_cli_workers_and_other_machines_share_one_study(postgres_url, tmp_path):
    space_file = _space(tmp_path)
    base = ["rfsearch", "search", str(space_file), "--storage", postgres_url, "--inner", "batch", "--inner-size",
            "1000", "--sampler", "random", "-f", "json"]  # fmt: skip
    run = subprocess.run([*base, "--workers", "2", "--trials", "16"], capture_output=True, text=True, timeout=300,
                         check=False)  # fmt: skip
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["trials"] >= 16 and data["new_trials"] == data["trials"] and data["pareto"]
    with Search(load_space(space_file), SearchOptions(storage=postgres_url, inner="batch", inner_size=1000)) as search:
        _many_machines(search, base, postgres_url)


def _many_machines(search, base, postgres_url):
    first = search.open().get_trials()
    workers = {t.user_attrs["rfsearch"]["worker"] for t in first}
    assert len(workers) == 2 and all(t.state == TrialState.COMPLETE for t in first)
    # "Other machines": two separate commands on the same study at the same time, resuming it.
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    procs = [subprocess.Popen([*base, "--trials", "32", "--seed", str(seed)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for seed in (1, 2)]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    assert all(err == "" for _, err in outs)
    trials = search.open().get_trials()
    assert len([t for t in trials if t.state == TrialState.COMPLETE]) >= 32
    assert not [t for t in trials if t.state != TrialState.COMPLETE]
    assert [(t.number, t.values) for t in trials[: len(first)]] == [(t.number, t.values) for t in first]
    assert len({t.user_attrs["rfsearch"]["worker"] for t in trials}) >= 3  # the two commands took part
