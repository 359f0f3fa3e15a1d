#!/usr/bin/env python
"""The exhaustive sweep engine against the batch core and the Python brute force, in one run.

    python bench/sweep.py              # the recorded run (a few minutes; a quiet machine)
    python bench/sweep.py --quick      # smaller spaces and samples, nothing written (~1 min)

Spaces (rfsearch.search): every position is conv|maxpool x kernel {2, 3, 5} x stride {1, 2} x
dilation {1, 2} with padding half (24 choices), input 224, RF target [100, 140]; depth exactly
D for D = 3, 5, 7, 10 ("S3" ... "S10"). S7 has 4.6e9 candidates (7.9e8 feasible), S10 6.3e13
(6.8e12 feasible: counting them one by one is out of reach, the exact DP counter says how many).

Methods (rates per second of wall time; "visited" = stacks judged one by one, "covered" =
candidates accounted for, i.e. including those in pruned subtrees):
    count+bound  rfsearch.search.Sweeper.sweep as it runs by default (method="auto"): exact counts
                 and histogram from the DP counter, top-10 by branch-and-bound (prune on)
    sweep        the same results by enumeration (method="enumerate": every feasible stack
                 judged one by one; what a sweep writing --out rows does)
    unpruned     the enumeration with prune=False (every node folded)
    best-only    counts=False: branch-and-bound top-10 (objective: depth, then rf_error)
    batch-core   the same candidates materialised as (N, D) row ids into the layer table of the
                 24 choices and scored with rfsearch.receptive_fields_by_id, feasibility in numpy
                 (blocks of 1,048,576 consecutive candidates)
    python       rfsearch.search.reference.brute_force (the oracle; S3 only: 13,824 candidates)
Threads 1 and all cores. Where a full run would take too long (S10 sweeps, unpruned S7) the rate
is measured on a seeded random sample of the sweep's tasks (each task is a prefix of the first
positions with all its extensions; `covered` counts their candidates): marked "sampled".

Checked: sweep == brute_force on S3 (counts, top, histogram); the batch core's feasible count of
all S5 candidates == the sweep's == the exact DP counter's; S7's and S10's sweep / sampled counts
against the DP where complete. Exit 2 if a result disagrees, 1 if an aim is missed (--no-aims:
report only). Results go to bench/sweep.json and bench/sweep.md (--no-record: not).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

import rfsearch
from rfsearch import LayerTable, receptive_fields_by_id
from rfsearch.search import SearchSpace, Sweeper, count
from rfsearch.search.reference import brute_force

HERE = Path(__file__).resolve().parent
CORES = os.cpu_count() or 1


def space(depth: int, objective: Any = "depth") -> SearchSpace:
    return SearchSpace.from_dict({
        "input_size": 224, "depth": depth,
        "layers": {"kind": ["conv", "maxpool"], "kernel": [2, 3, 5], "stride": [1, 2], "dilation": [1, 2],
                   "padding": "half"},
        "targets": {"rf": [100, 140]}, "objective": objective})  # fmt: skip


class Fail(Exception):
    pass


def check(ok: bool, what: str) -> None:
    if not ok:
        raise Fail(what)


def row(name: str, space_name: str, threads: int, seconds: float, visited: Optional[float], covered: float,
        sampled: bool = False, **extra: Any) -> Dict[str, Any]:  # fmt: skip
    out = {"method": name, "space": space_name, "threads": threads, "seconds": round(seconds, 4),
           "visited": visited, "covered": covered, "visited_per_s": None if visited is None else visited / seconds,
           "covered_per_s": covered / seconds, "sampled": sampled}  # fmt: skip
    out.update(extra)
    show = f"{out['visited_per_s']:.3g}" if visited is not None else "-"
    print(f"  {name:<11} {space_name:<4} threads {threads}: {seconds:8.3f} s  visited/s {show:>9}  "
          f"covered/s {out['covered_per_s']:.3g}{'  (sampled)' if sampled else ''}", flush=True)
    return out


def full_sweep(s: SearchSpace, name: str, threads: int, method: str = "sweep", **kw: Any) -> Dict[str, Any]:
    sweeper = Sweeper(s)
    if method == "sweep":
        kw = {"method": "enumerate", **kw}
    t = time.perf_counter()
    r = sweeper.sweep(10, threads=threads, max_visits=None, **kw)
    dt = time.perf_counter() - t
    return row(method, name, threads, dt, r.stats["visited"], r.total, feasible=r.feasible,
               best=r.top[0].spec if r.top else None)  # fmt: skip


def sampled_sweep(s: SearchSpace, name: str, threads: int, fraction: float, method: str = "sweep",
                  prune: bool = True) -> Dict[str, Any]:  # fmt: skip
    """Rates on a seeded random sample of the tasks (the shallow task excluded: exact depth)."""
    sweeper = Sweeper(s)
    restriction = sweeper.restriction()
    tasks = sweeper.tasks(restriction, prune)
    split = tasks.shape[1]
    body = tasks[1:] if split and tasks[0, 0] < 0 else tasks
    rng = np.random.default_rng(7)
    pick = np.sort(rng.choice(len(body), size=max(threads, int(len(body) * fraction)), replace=False))
    chosen = np.ascontiguousarray(body[pick])
    per_task = 24 ** (s.depth[1] - split)
    t = time.perf_counter()
    partial = sweeper.run(restriction, chosen, top=10, threads=threads, prune=prune)
    dt = time.perf_counter() - t
    return row(method, name, threads, dt, partial.visited, len(chosen) * per_task, sampled=True,
               tasks=f"{len(chosen)} of {len(body)}", sample_feasible=partial.feasible)  # fmt: skip


def layer_table(s: SearchSpace) -> Any:
    """The 24 choices in a LayerTable (conv and max-pool rows with equal parameters are one row)
    and the row of each choice index."""
    table = LayerTable(1)
    return table, np.array([table.add(layer) for layer in s.choices(0)], dtype=np.int32)


def batch_core(s: SearchSpace, name: str, threads: int, blocks: int, block: int = 1 << 20) -> Dict[str, Any]:
    """Consecutive candidates (mixed radix 24) as row ids, scored by the batch core."""
    depth = s.depth[1]
    table, row_of = layer_table(s)
    lo, hi = s.targets.rf.ranges[0]  # type: ignore[union-attr]
    total = 24**depth
    rng = np.random.default_rng(3)
    starts = rng.integers(0, total - block, size=blocks)
    feasible = 0
    t = time.perf_counter()
    for start in starts:
        index = np.arange(start, start + block, dtype=np.int64)
        ids = np.empty((block, depth), dtype=np.int32)
        for i in range(depth - 1, -1, -1):
            ids[:, i] = row_of[index % 24]
            index //= 24
        r = receptive_fields_by_id(table, ids, input_size=224, threads=threads)
        rf = r.rf if r.rf.ndim == 1 else r.rf[:, 0]
        feasible += int(np.count_nonzero(r.valid & (rf >= lo) & (rf <= hi)))
    dt = time.perf_counter() - t
    n = blocks * block
    return row("batch-core", name, threads, dt, n, n, feasible_in_blocks=feasible)


def python_oracle(s: SearchSpace, name: str) -> Dict[str, Any]:
    t = time.perf_counter()
    r = brute_force(s, 10, max_candidates=None)
    dt = time.perf_counter() - t
    out = row("python", name, 1, dt, r.total, r.total, feasible=r.feasible)
    out["_result"] = r
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller spaces and samples; nothing written")
    parser.add_argument("--no-record", action="store_true", help="do not write bench/sweep.json and sweep.md")
    parser.add_argument("--no-aims", action="store_true", help="report the aims, never fail on them")
    args = parser.parse_args(argv)
    quick = args.quick
    record = not (quick or args.no_record)
    big, bigger = (6, 8) if quick else (7, 10)
    rows: List[Dict[str, Any]] = []
    print(f"rfsearch {rfsearch.__version__}, {platform.processor() or platform.machine()}, {CORES} cores")
    try:
        # Correctness first: the oracle, the batch core and the DP counter agree with the sweep.
        s3 = space(3)
        oracle = python_oracle(s3, "S3")
        engine = Sweeper(s3).sweep(10, threads=1, method="enumerate")
        expected = oracle.pop("_result")
        check(engine == expected, "sweep != brute_force on S3")
        check(Sweeper(s3).sweep(10, threads=1) == expected, "count+bound != brute_force on S3")
        rows.append(oracle)
        rows.append(full_sweep(s3, "S3", 1))
        s5 = space(5)
        table5, row_of5 = layer_table(s5)
        ids = row_of5[np.indices((24,) * 5).reshape(5, -1).T]
        r5 = receptive_fields_by_id(table5, ids, input_size=224)
        core5 = int(np.count_nonzero(r5.valid & (r5.rf >= 100) & (r5.rf <= 140)))
        sweep5 = Sweeper(s5).sweep(0, threads=-1, method="enumerate").feasible
        check(core5 == sweep5 == count(s5).feasible, f"S5 feasible: batch core {core5}, sweep {sweep5}")

        sb, sbb = space(big), space(bigger)
        nb, nbb = f"S{big}", f"S{bigger}"
        exact_b, exact_bb = count(sb).feasible, count(sbb).feasible
        for threads in (1, CORES):
            r = full_sweep(sb, nb, threads)
            check(r["feasible"] == exact_b, f"{nb} feasible {r['feasible']} != DP {exact_b}")
            rows.append(r)
        counted = full_sweep(sb, nb, CORES, method="count+bound")
        check((counted["feasible"], counted["best"]) == (exact_b, r["best"]), f"{nb}: count+bound differs from the sweep")
        rows.append(counted)
        counted_bb = full_sweep(sbb, nbb, CORES, method="count+bound")
        check(counted_bb["feasible"] == exact_bb, f"{nbb}: count+bound feasible {counted_bb['feasible']} != DP")
        rows.append(counted_bb)
        for threads in (1, CORES):
            rows.append(sampled_sweep(sb, nb, threads, 0.02 if quick else 0.05, method="unpruned", prune=False))
        for threads in (1, CORES):
            rows.append(sampled_sweep(sbb, nbb, threads, 0.0005 if quick else 0.002))
        for objective in ("depth", "rf_error"):
            for s, n in ((space(big, objective), nb), (space(bigger, objective), nbb)):
                rows.append(full_sweep(s, n, CORES, method="best-only", counts=False))
        for threads in (1, CORES):
            rows.append(batch_core(sb, nb, threads, 2 if quick else 8))
        rows.append({"method": "dp-count", "space": nbb, "feasible": exact_bb})
    except Fail as e:
        print(f"RESULT MISMATCH: {e}", file=sys.stderr)
        return 2

    def rate(method: str, space_name: str, threads: int, what: str) -> float:
        for r in rows:
            if r.get("method") == method and r.get("space") == space_name and r.get("threads") == threads:
                return float(r[what])
        return float("nan")

    visited1 = rate("sweep", nb, 1, "visited_per_s")
    covered_all = rate("count+bound", nb, CORES, "covered_per_s")  # a counting sweep as it runs by default
    core1 = rate("batch-core", nb, 1, "visited_per_s")
    python1 = rate("python", "S3", 1, "visited_per_s")
    sweep3 = rate("sweep", "S3", 1, "covered_per_s")
    aims = [
        ("A1 visited stacks/s per thread >= 1e8", visited1, visited1 >= 1e8),
        (f"A2 candidates covered/s by a counting sweep (counts, top-10, histogram), all threads >= 1e9 ({nb})",
         covered_all, covered_all >= 1e9),
        ("A3 sweep visited/s >= 10x batch core stacks/s (1 thread)", visited1 / core1, visited1 >= 10 * core1),
    ]
    ratios = {
        "sweep visited / batch core (1 thread)": visited1 / core1,
        "sweep covered / batch core (1 thread)": rate("sweep", nb, 1, "covered_per_s") / core1,
        "sweep / python brute force (S3, 1 thread)": sweep3 / python1,
        "threads speed-up (sweep)": rate("sweep", nb, CORES, "covered_per_s") / rate("sweep", nb, 1, "covered_per_s"),
        f"pruning: covered / visited ({nb}, 1 thread)": rate("sweep", nb, 1, "covered_per_s") / visited1,
        f"count+bound / enumeration, covered/s ({nb}, all threads)":
            covered_all / rate("sweep", nb, CORES, "covered_per_s"),
    }
    print("\nratios:")
    for k, v in ratios.items():
        print(f"  {k}: {v:.3g}")
    print("aims:")
    for name, value, ok in aims:
        print(f"  {'ok  ' if ok else 'MISS'} {name}: {value:.3g}")
    if record:
        data = {"machine": {"processor": platform.processor() or platform.machine(), "cores": CORES,
                            "python": platform.python_version()},  # fmt: skip
                "rows": rows, "ratios": ratios, "aims": [{"aim": a, "value": v, "ok": ok} for a, v, ok in aims]}
        (HERE / "sweep.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
        (HERE / "sweep.md").write_text(markdown(rows, ratios, aims))
    if not args.no_aims and not all(ok for _, _, ok in aims):
        return 1
    return 0


def markdown(rows: List[Dict[str, Any]], ratios: Dict[str, float], aims: List[Any]) -> str:
    lines = ["# Sweep benchmark (bench/sweep.py)", "",
             f"{CORES} cores; rates per second of wall time; sampled = rates on a random sample of tasks.", "",
             "| method | space | threads | seconds | visited/s | covered/s | note |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        if "seconds" not in r:
            continue
        v = "-" if r.get("visited_per_s") is None else f"{r['visited_per_s']:.3g}"
        note = "sampled " + r.get("tasks", "") if r.get("sampled") else ""
        lines.append(f"| {r['method']} | {r['space']} | {r['threads']} | {r['seconds']:.3f} | {v} | "
                     f"{r['covered_per_s']:.3g} | {note} |")  # fmt: skip
    lines += ["", "| ratio | value |", "|---|---|"] + [f"| {k} | {v:.3g} |" for k, v in ratios.items()]
    lines += ["", "| aim | value | met |", "|---|---|---|"] + [f"| {a} | {v:.3g} | {'yes' if ok else 'no'} |"
                                                            for a, v, ok in aims]  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
