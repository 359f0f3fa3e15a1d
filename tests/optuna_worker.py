"""A search worker process for tests/test_search_optuna_workers.py (run as a script).

It runs `Search.run_worker` on a shared study with a hook that makes the test deterministic,
called before each of its trials is told (the trial's attrs and constraints are set):

  --hang-at K    on its K-th trial, print "hang <trial number>" and block forever (the test kills it)
  --block-first  on its first trial, print "blocked <trial number>" and wait for a line on stdin

It prints "done <trials it completed>" at the end. Run it with -W error: a warning (Optuna's
"constraint already set" on a retried trial, for one) fails the worker and so the test.
"""

from __future__ import annotations

import argparse
import sys
import threading

import optuna

from rfsearch.search import load_space
from rfsearch.search.optuna_search import Search, SearchOptions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("space")
    parser.add_argument("--storage", required=True)
    parser.add_argument("--study-name", required=True)
    parser.add_argument("--trials", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", type=int, default=0)
    parser.add_argument("--hang-at", type=int, default=0)
    parser.add_argument("--block-first", action="store_true")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    options = SearchOptions(trials=args.trials, storage=args.storage, study_name=args.study_name, seed=args.seed,
                            inner="batch", inner_size=64, heartbeat=1, grace=2)  # fmt: skip
    search = Search(load_space(args.space), options)
    study = search.open(args.worker)
    seen = [0]

    def hook(trial: optuna.Trial) -> None:
        seen[0] += 1
        if args.hang_at and seen[0] == args.hang_at:
            print(f"hang {trial.number}", flush=True)
            threading.Event().wait()  # until SIGKILL; the heartbeat thread keeps the trial alive
        if args.block_first and seen[0] == 1:
            print(f"blocked {trial.number}", flush=True)
            sys.stdin.readline()

    stats = search.run_worker(study, on_trial=hook)
    search.close()
    print(f"done {stats.trials}", flush=True)


if __name__ == "__main__":
    main()
