#!/usr/bin/env python
"""Graph evaluation: the C++ core on many parameter sets of one topology against the pure-Python
reference, and one zoo model through `rfsearch compute` (start-up, imports, compute).

    python bench/graph.py                    # 10,000 ResNet-50 sets, 3 rounds, records results
    python bench/graph.py --sets 1000 --rounds 1 --no-record      # a quick check

Workload (deterministic, seed 0): torchvision's ResNet-50 topology (77 nodes, 2 axes, input
224x224, the zoo's `resnet50`); in every set, each bottleneck's 3x3 conv (conv2) takes a
kernel from 1, 3, 5, 7 (padded to keep the size; the stride of the block kept) and each stage's
first downsample a 1x1 or a 3x3 (padded) conv: 16 + 4 choices, 10,000 sets.

Measured (best of --rounds; CPU time, which a busy shared machine inflates far less than wall
time; core-all in wall time):
    core-1      GraphSkeleton.evaluate(ids, threads=1): graphs/s, whole batch (ids in, arrays out)
    core-all    the same on every core
    reference   compute_graph on --reference-sets of the sets (exact reference, rationals, blind
                spots): graphs/s
and the ratio core-1 / reference (target: >= --target, default 100). Checked: the sampled sets'
every node and axis (rf, rf_min, jump, start, centre, output size) equal in both.

`rfsearch compute zoo:resnet50` (default --zoo) as subprocesses, median of --cli-runs of the
child's CPU time (user + system; wall time too), with bytecode caches in place as an installed
package has them (this script writes them first):
    start-up    `python -c pass`
    import      `python -c "import rfsearch.cli.main, rfsearch.graph.compute, rfsearch.graph.zoo"`
    command     the whole command (table to /dev/null)
reported as import and command minus start-up; the compute alone (zoo model built, computed,
table text) is timed in this process. Target: command - start-up < --cli-target ms (default 100).

Results go to bench/graph_results.json and bench/graph_results.md (--no-record: not).
Exit status 2 if a result is wrong, 1 if a target is missed (--target 0 disables the checks).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import numpy as np

import rfsearch
from rfsearch import Conv
from rfsearch.graph import GraphSkeleton, compute_graph, zoo_model
from rfsearch.io.output import open_output

HERE = Path(__file__).resolve().parent
FIELDS = ("rf", "rf_min", "jump", "start", "center", "output_size")


def workload(n_sets: int, seed: int = 0) -> tuple:
    """(skeleton, ids (N, V) int32, the choices per varied node)."""
    sk = GraphSkeleton(zoo_model("resnet50"))
    own = sk.ids()
    rng = np.random.default_rng(seed)
    ids = np.tile(own.astype(np.int32), (n_sets, 1))
    varied = 0
    for name in sk.nodes:
        node = sk.graph.node(name)
        if name.endswith(".conv2") or name.endswith(".downsample.0"):
            stride = node.op.stride if isinstance(node.op.stride, int) else node.op.stride[0]
            kernels = (1, 3, 5, 7) if name.endswith(".conv2") else (1, 3)
            rows = [sk.row(Conv(k, stride=stride, padding=k // 2)) for k in kernels]
            ids[:, sk.index(name)] = rng.choice(rows, size=n_sets)
            varied += 1
    return sk, ids, varied


def best(fn: Any, rounds: int, clock: Any = time.process_time) -> float:
    """The best of `rounds` runs by `clock`: CPU time by default (the process's, threads
    included), which a busy shared machine inflates far less than wall time."""
    times = []
    for _ in range(rounds):
        start = clock()
        fn()
        times.append(clock() - start)
    return min(times)


def check(sk: GraphSkeleton, res: Any, ids: np.ndarray, sample: List[int]) -> int:
    """Sets in `sample` compared node by node with the reference; returns the number that differ."""
    wrong = 0
    for n in sample:
        ref = compute_graph(sk.graph_of(ids[n]), engine="reference")
        for v, row in enumerate(ref.nodes):
            for a, axis in enumerate(row.axes or ()):
                mine = res.axis_rf(n, v, a)
                if [getattr(mine, f) for f in FIELDS] != [getattr(axis, f) for f in FIELDS]:
                    wrong += 1
                    print(f"MISMATCH set {n} node {row.id} axis {a}", file=sys.stderr)
    return wrong


def cli_times(zoo: str, runs: int) -> Dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    py = sys.executable
    commands = {
        "start-up": [py, "-c", "pass"],
        "import": [py, "-c", "import rfsearch.cli.main, rfsearch.graph.compute, rfsearch.graph.zoo"],
        "command": [py, "-m", "rfsearch.cli", "compute", f"zoo:{zoo}"],
    }
    for cmd in commands.values():  # write the bytecode caches, as an installed package has them
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True, env=env)
    cpu: Dict[str, List[float]] = {k: [] for k in commands}
    wall: Dict[str, List[float]] = {k: [] for k in commands}
    for _ in range(runs):  # interleaved: a busy moment hits every command alike
        for name, cmd in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True, env=env)
            wall[name].append(1000 * (time.perf_counter() - start))
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(1000 * (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime))
    return {**{k: statistics.median(v) for k, v in cpu.items()}, **{f"{k} (wall)": statistics.median(v)
                                                                  for k, v in wall.items()}}  # fmt: skip


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sets", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reference-sets", type=int, default=30)
    p.add_argument("--zoo", default="resnet50")
    p.add_argument("--cli-runs", type=int, default=15)
    p.add_argument("--target", type=float, default=100.0, help="core-1 / reference at least (0: no checks)")
    p.add_argument("--cli-target", type=float, default=100.0, help="ms beyond start-up at most")
    p.add_argument("--no-record", action="store_true")
    args = p.parse_args(argv)

    sk, ids, varied = workload(args.sets)
    res = sk.evaluate(ids, threads=1)
    distinct = len({tuple(r) for r in res.rf[:, sk.index("layer4"), :]})
    assert res.ok.all(), "every set of the workload evaluates"
    t1 = best(lambda: sk.evaluate(ids, threads=1), args.rounds)
    tall = best(lambda: sk.evaluate(ids, threads=-1), args.rounds, time.perf_counter)  # wall: threads overlap
    sample = list(range(0, args.sets, max(1, args.sets // args.reference_sets)))[: args.reference_sets]
    graphs = [sk.graph_of(ids[n]) for n in sample]
    tref = best(lambda: [compute_graph(g, engine="reference") for g in graphs], max(1, args.rounds - 1)) / len(graphs)
    wrong = check(sk, res, ids, sample)

    zoo_graph = zoo_model(args.zoo)
    compute_ms = 1000 * best(lambda: compute_graph(zoo_graph).table(), 5)  # CPU
    cli = cli_times(args.zoo, args.cli_runs)
    results = {
        "workload": {"topology": "resnet50 (torchvision)", "nodes": len(sk), "axes": sk.ndim, "sets": args.sets,
                     "varied_nodes": varied, "table_rows": sk.n_rows, "distinct_layer4_rf": distinct},
        "graphs_per_s": {"core-1": args.sets / t1, "core-all": args.sets / tall, "reference": 1 / tref},
        "ratio_core1_reference": tref * args.sets / t1,
        "threads_all": int(rfsearch._core.hardware_threads()),
        "cli_ms": {"zoo": args.zoo, **cli, "import_beyond_start_up": cli["import"] - cli["start-up"],
                   "command_beyond_start_up": cli["command"] - cli["start-up"], "compute_in_process": compute_ms},
        "checked_sets": len(sample), "mismatches": wrong,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None},
    }  # fmt: skip
    g = results["graphs_per_s"]
    c = results["cli_ms"]
    lines = [
        f"| method | graphs/s (ResNet-50 topology, {args.sets:,} sets, {sk.ndim} axes) |",
        "|---|---|",
        f"| core, 1 thread | {g['core-1']:,.0f} |",
        f"| core, all {results['threads_all']} threads | {g['core-all']:,.0f} |",
        f"| pure-Python reference | {g['reference']:,.1f} |",
        f"| ratio core (1 thread) / reference | {results['ratio_core1_reference']:,.0f}x |",
        "",
        f"| `rfsearch compute zoo:{args.zoo}` | CPU ms (median of {args.cli_runs}) | wall ms |",
        "|---|---|---|",
        f"| interpreter start-up (`python -c pass`) | {c['start-up']:.0f} | {c['start-up (wall)']:.0f} |",
        f"| imports beyond start-up | {c['import_beyond_start_up']:.0f} | "
        f"{c['import (wall)'] - c['start-up (wall)']:.0f} |",
        f"| whole command beyond start-up | {c['command_beyond_start_up']:.0f} | "
        f"{c['command (wall)'] - c['start-up (wall)']:.0f} |",
        f"| compute + table text, in process | {c['compute_in_process']:.1f} | |",
    ]
    print("\n".join(lines))
    if not args.no_record:
        with open_output(HERE / "graph_results.json") as out:
            out.file.write((json.dumps(results, indent=2) + "\n").encode())
        with open_output(HERE / "graph_results.md") as out:
            out.file.write(("# Graph evaluation (bench/graph.py)\n\n" + "\n".join(lines) + "\n\n"
                            f"load average during the run: {results['machine']['load_average']}\n").encode())  # fmt: skip
    if wrong:
        return 2
    if args.target and (results["ratio_core1_reference"] < args.target
                        or c["command_beyond_start_up"] > args.cli_target):  # fmt: skip
        print("target missed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
