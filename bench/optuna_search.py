"""Optuna search benchmark: hierarchical against flat mode, storages, a space beyond any sweep.

    python bench/optuna_search.py              # full run (~15 min), writes optuna_search.json / .md
    python bench/optuna_search.py --quick      # short budgets, nothing written (~3 min)

1. Three spaces small enough for the exact sweep (bench/spaces/: an ImageNet stem to stride 32
   with an RF target, a 1-D dilated TCN with a history target and full coverage, an anisotropic
   2-D audio front end): the exact optimum from `rfsearch.search.sweep` (several objectives: the
   exact Pareto front) against the best found by random, TPE and NSGA-II in flat mode and by the
   hierarchical mode, per number of trials and per second, with the share of wall time spent
   inside Optuna (ask, suggest, tell, attrs, storage). The hierarchical mode must reach the
   exact optimum (every vector of the exact front) on all three: the script exits with status 1
   otherwise.
2. Trials per second with the journal file (on disk, and on /dev/shm) and with PostgreSQL (a
   server started here as tests/conftest_postgres.py does, or --postgres URL).
3. The 40-layer MS-TCN dilation space with kernel 2 or 3 (bench/spaces/mstcn_cost.yaml, 22^40
   candidates, a cost objective, optimum known analytically), hierarchical against flat at equal
   wall time; the inner problem size bounds the time of a hierarchical trial.

Runs are single workers with fixed seeds; every search uses a fresh journal study on /dev/shm
(so that Optuna, not the disk, is measured) unless the storage is what is measured.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import optuna

from rfsearch.search import SearchSpace, load_space, sweep
from rfsearch.search.optuna_search import Search, SearchOptions, _decode

HERE = Path(__file__).resolve().parent
SPACES = HERE / "spaces"
SMALL = ("imagenet_small", "tcn_small", "audio_small")
# (mode, sampler, inner engine): the hierarchical mode's trials are the same with either exact
# engine (same seed, same macros, same answers); only their cost differs.
METHODS = (("flat", "random", "batch"), ("flat", "tpe", "batch"), ("flat", "nsga2", "batch"),
           ("hierarchical", None, "batch"), ("hierarchical", None, "sweep"), ("hierarchical", "random", "batch"))
TRIAL_MARKS = (10, 30, 100, 300, 1000, 3000)
SECOND_MARKS = (1, 3, 10, 30, 60)

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _scratch() -> Path:
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="rfsearch-bench-", dir=base))


def _exact(space: SearchSpace) -> Dict[str, Any]:
    start = time.perf_counter()
    r = sweep(space, top=1)
    seconds = time.perf_counter() - start
    front = [list(map(float, e.objective)) for e in (r.pareto or r.top)]
    return {"candidates": space.total, "feasible": r.feasible, "seconds": round(seconds, 2),
            "optimum": [float(v) for v in r.top[0].objective], "front": front if r.pareto is not None else None,
            "spec": r.top[0].spec}  # fmt: skip


def _curve(study: optuna.Study, multi: bool, exact: Dict[str, Any]) -> Dict[str, Any]:
    """Best-so-far per trial and per second, and when the optimum (every exact Pareto vector) was reached."""
    trials = sorted(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)),
                    key=lambda t: t.datetime_complete or datetime.datetime.min)  # fmt: skip
    if not trials:
        return {"trials": 0}
    start = min(t.datetime_start for t in trials if t.datetime_start is not None)
    target_front = {tuple(v) for v in exact["front"]} if multi and exact.get("front") else None
    optimum = tuple(exact["optimum"]) if exact.get("optimum") else None
    best: Optional[Tuple[float, ...]] = None
    found: set = set()
    reached: Optional[Dict[str, float]] = None
    points: List[Tuple[int, float, Optional[Tuple[float, ...]]]] = []
    for i, t in enumerate(trials, start=1):
        attrs = t.user_attrs.get("rfsearch", {})
        if attrs.get("feasible"):
            for _, encoded in attrs.get("top", []) + attrs.get("front", []):
                vector = tuple(float(v) for v in _decode(encoded))
                best = vector if best is None or vector < best else best
                found.add(vector)
        seconds = (t.datetime_complete - start).total_seconds() if t.datetime_complete else 0.0
        points.append((i, seconds, best))
        done = (target_front is not None and target_front <= found) or (target_front is None and optimum is not None
                                                                        and best == optimum)  # fmt: skip
        if done and reached is None:
            reached = {"trial": i, "seconds": round(seconds, 3)}

    def at_trial(n: int) -> Optional[List[float]]:
        hit = [b for i, _, b in points if i <= n]
        return list(hit[-1]) if hit and hit[-1] is not None and n <= len(points) else None

    def at_second(s: float) -> Optional[List[float]]:
        hit = [b for _, sec, b in points if sec <= s]
        return list(hit[-1]) if hit and hit[-1] is not None else None

    return {
        "trials": len(trials),
        "best": list(best) if best is not None else None,
        "reached": reached,
        "front_found": len(target_front & found) if target_front is not None else None,
        "front_size": len(target_front) if target_front is not None else None,
        "by_trials": {str(n): at_trial(n) for n in TRIAL_MARKS if n <= len(points)},
        "by_seconds": {str(s): at_second(s) for s in SECOND_MARKS},
    }


def _run(space: SearchSpace, mode: str, sampler: Optional[str], trials: int, seconds: float, storage: str,
         name: str, **extra: Any) -> Tuple[Search, optuna.Study, Any]:  # fmt: skip
    options = SearchOptions(trials=trials, timeout=seconds, mode=mode, sampler=sampler, seed=0, storage=storage,
                            study_name=name, **extra)  # fmt: skip
    s = Search(space, options)
    study = s.open()
    stats = s.run_worker(study)
    return s, study, stats


def small_spaces(args: argparse.Namespace, scratch: Path) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for name in SMALL:
        space = load_space(SPACES / f"{name}.yaml")
        multi = len(space.objective) > 1
        print(f"\n{name}: {space.total:,} candidates, objective {', '.join(space.objective)}", flush=True)
        exact = _exact(space)
        print(f"  exact sweep: {exact['optimum']} ({exact['feasible']:,} feasible, {exact['seconds']} s)", flush=True)
        rows = {}
        for mode, sampler, inner in METHODS:
            cap = args.flat_trials if mode == "flat" else args.hier_trials
            label = f"{mode}/{sampler or 'default'}" + (f"/{inner}" if mode == "hierarchical" else "")
            s, study, stats = _run(space, mode, sampler, cap, args.seconds, str(scratch / f"{name}-{mode}.journal"),
                                   f"{name}-{mode}-{sampler}-{inner}", inner=inner, batch=64)  # fmt: skip
            curve = _curve(study, multi, exact)
            s.close()
            row = {"sampler": s.sampler_name, **curve, "wall_seconds": round(stats.wall_seconds, 2),
                   "trials_per_second": round(stats.trials / stats.wall_seconds, 1),
                   "optuna_share": round(stats.optuna_share, 3),
                   "engine_share": round(stats.engine_seconds / stats.wall_seconds, 3)}  # fmt: skip
            rows[label] = row
            reached = f"reached at trial {row['reached']['trial']} ({row['reached']['seconds']} s)" if row["reached"] \
                else "not reached"  # fmt: skip
            print(f"  {label:22s} {row['trials']:5d} trials {row['trials_per_second']:7.1f}/s  optuna "
                  f"{100 * row['optuna_share']:4.0f}%  best {row['best']}  {reached}", flush=True)  # fmt: skip
        out[name] = {"exact": exact, "methods": rows}
    return out


def _start_postgres() -> Tuple[Optional[str], Any]:
    sys.path.insert(0, str(HERE.parent / "tests"))
    import conftest_postgres as pg  # the tests' throw-away server

    try:
        server, stop = pg.start_server()
    except pg.Unavailable as e:
        print(f"  PostgreSQL not started: {e}", flush=True)
        return None, None
    return server.url("postgres"), stop


def storages(args: argparse.Namespace, scratch: Path) -> Dict[str, Any]:
    space = load_space(SPACES / "tcn_small.yaml")
    disk = Path(tempfile.mkdtemp(prefix="rfsearch-bench-disk-"))
    postgres, stop = (args.postgres, None) if args.postgres != "auto" else _start_postgres()
    targets = [("journal file on disk", str(disk / "s.journal")), ("journal file on /dev/shm", str(scratch / "s.journal"))]
    if postgres:
        targets.append(("PostgreSQL", postgres))
    out: Dict[str, Any] = {}
    print("\nstorages (trials/s; one worker):", flush=True)
    try:
        for label, storage in targets:
            row = {}
            for mode, sampler in (("flat", "random"), ("flat", "tpe"), ("hierarchical", "random")):
                cap = args.storage_trials
                s, study, stats = _run(space, mode, sampler, cap, args.seconds, storage, f"st-{mode}-{sampler}",
                                       inner="batch")  # fmt: skip
                s.close()
                row[f"{mode}/{sampler}"] = {"trials": stats.trials,
                                            "trials_per_second": round(stats.trials / stats.wall_seconds, 1),
                                            "optuna_share": round(stats.optuna_share, 3)}  # fmt: skip
            out[label] = row
            print(f"  {label:26s} " + "  ".join(f"{k} {v['trials_per_second']}/s" for k, v in row.items()), flush=True)
    finally:
        shutil.rmtree(disk, ignore_errors=True)
        if stop is not None:
            stop()
    return out


def mstcn(args: argparse.Namespace, scratch: Path) -> Dict[str, Any]:
    space = load_space(SPACES / "mstcn_cost.yaml")
    first = 2 * 2048 * 64 + 64
    optimum = [float(first + 39 * (2 * 64 * 64 + 64)), 0.0]
    print(f"\nMS-TCN with kernel 2 or 3 ({float(space.total):.2e} candidates), {args.mstcn_seconds} s each, "
          f"optimum {optimum}:", flush=True)  # fmt: skip
    out: Dict[str, Any] = {"optimum": optimum, "seconds": args.mstcn_seconds, "methods": {}}
    runs = (("hierarchical", None, 2**16), ("hierarchical", None, 2**12), ("flat", "nsga2", 0), ("flat", "tpe", 0),
            ("flat", "random", 0))  # fmt: skip
    for mode, sampler, inner_size in runs:
        label = f"{mode}/{sampler or 'default'}" + (f"/inner {inner_size}" if inner_size else "")
        s, study, stats = _run(space, mode, sampler, 10**6, args.mstcn_seconds, str(scratch / f"mstcn-{mode}.journal"),
                               f"mstcn-{mode}-{sampler}-{inner_size}", inner="batch",
                               inner_size=inner_size or 4096)  # fmt: skip
        curve = _curve(study, True, {"optimum": optimum, "front": [optimum]})
        row = {"sampler": s.sampler_name, "trials": curve["trials"], "best": curve["best"],
               "seconds_per_trial": round(stats.wall_seconds / max(stats.trials, 1), 3),
               "optuna_share": round(stats.optuna_share, 3), "by_seconds": curve["by_seconds"],
               "inner_size": s.options.inner_size if mode == "hierarchical" else None}  # fmt: skip
        s.close()
        out["methods"][label] = row
        print(f"  {label:22s} {row['trials']:6d} trials ({row['seconds_per_trial']} s each)  best {row['best']}",
              flush=True)  # fmt: skip
    return out


def markdown(results: Dict[str, Any]) -> str:
    lines = ["# Optuna search benchmark", "", f"Recorded {results['date']} on {results['machine']} "
             f"(`python bench/optuna_search.py`; {results['budget']}).", ""]  # fmt: skip
    lines += ["## Exact optimum against the searches (three sweepable spaces)", "",
              "Best objective found after n trials / s seconds (`=`: the exact optimum; several objectives: the "
              "lexicographic best, and `front` the share of the exact Pareto front found).", ""]  # fmt: skip
    for name, block in results["small"].items():
        exact = block["exact"]
        lines += [f"### {name}: {exact['candidates']:,} candidates, {exact['feasible']:,} feasible; exact optimum "
                  f"{exact['optimum']} (`{exact['spec']}`; Python sweep {exact['seconds']} s)", ""]  # fmt: skip
        lines += ["| method | trials | trials/s | in Optuna | optimum reached | "
                  + " | ".join(f"{n} trials" for n in (10, 100, 1000)) + " | "
                  + " | ".join(f"{s} s" for s in (1, 10, 60)) + " |", "|---" * 11 + "|"]  # fmt: skip
        for label, row in block["methods"].items():
            def show(v: Any) -> str:
                if v is None:
                    return "-"
                return "=" if v == exact["optimum"] else ", ".join(f"{x:g}" for x in v)

            reached = (f"trial {row['reached']['trial']}, {row['reached']['seconds']} s" if row.get("reached")
                       else "no")  # fmt: skip
            if row.get("front_size"):
                reached += f" (front {row['front_found']}/{row['front_size']})"
            cells = [show(row["by_trials"].get(str(n))) for n in (10, 100, 1000)]
            cells += [show(row["by_seconds"].get(str(s))) for s in (1, 10, 60)]
            lines.append(f"| {label} ({row['sampler']}) | {row['trials']} | {row['trials_per_second']} | "
                         f"{100 * row['optuna_share']:.0f}% | {reached} | " + " | ".join(cells) + " |")  # fmt: skip
        lines.append("")
    lines += ["## Storages (trials/s, one worker, tcn_small)", "", "| storage | " + " | ".join(
        next(iter(results["storages"].values())).keys()) + " |", "|---" * (1 + len(next(iter(
            results["storages"].values())))) + "|"]  # fmt: skip
    for label, row in results["storages"].items():
        lines.append(f"| {label} | " + " | ".join(f"{v['trials_per_second']} ({100 * v['optuna_share']:.0f}% in "
                                                 f"Optuna)" for v in row.values()) + " |")  # fmt: skip
    m = results["mstcn"]
    lines += ["", f"## MS-TCN dilations with kernel 2 or 3 (22^40 candidates): {m['seconds']} s each", "",
              f"Known optimum (params, rf_error): {m['optimum']}.", "",
              "| method | trials | s/trial | in Optuna | best | best after 10 s |", "|---|---|---|---|---|---|"]  # fmt: skip
    for label, row in m["methods"].items():
        lines.append(f"| {label} ({row['sampler']}) | {row['trials']} | {row['seconds_per_trial']} | "
                     f"{100 * row['optuna_share']:.0f}% | {row['best']} | {row['by_seconds'].get('10')} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short budgets, nothing written")
    parser.add_argument("--no-record", action="store_true", help="do not write optuna_search.json / .md")
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget per search (small spaces)")
    parser.add_argument("--flat-trials", type=int, default=3000)
    parser.add_argument("--hier-trials", type=int, default=300)
    parser.add_argument("--storage-trials", type=int, default=200)
    parser.add_argument("--mstcn-seconds", type=float, default=60.0)
    parser.add_argument("--postgres", default="auto", help="a PostgreSQL URL, 'auto' (start one here) or ''")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.flat_trials, args.hier_trials, args.storage_trials = 10.0, 400, 60, 40
        args.mstcn_seconds, args.no_record = 10.0, True
    scratch = _scratch()
    try:
        results = {
            "date": datetime.date.today().isoformat(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                       f"Optuna {optuna.__version__}",
            "budget": f"per search at most {args.seconds:g} s; flat {args.flat_trials} trials, hierarchical "
                      f"{args.hier_trials}",
            "small": small_spaces(args, scratch),
            "storages": storages(args, scratch),
            "mstcn": mstcn(args, scratch),
        }  # fmt: skip
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    failed = [name for name, block in results["small"].items()
              if not block["methods"]["hierarchical/default/batch"].get("reached")]  # fmt: skip
    if not args.no_record:
        (HERE / "optuna_search.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        (HERE / "optuna_search.md").write_text(markdown(results), encoding="utf-8")
    if failed:
        print(f"\nFAILED: the hierarchical mode did not reach the exact optimum on {', '.join(failed)}", flush=True)
        return 1
    print("\nthe hierarchical mode reached the exact optimum on every sweepable space", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
