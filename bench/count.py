#!/usr/bin/env python
"""Exact counting and uniform sampling: agreement with enumeration, time on huge spaces, C++ vs Python.

    python bench/count.py            # full run, records bench/count.json and bench/count.md
    python bench/count.py --quick    # one round, nothing written (~1 min)

Three parts, each asserting its results (exit 2 if a result is wrong, 1 if a target fails):

1. agreement: small spaces that the brute-force oracle (rfsearch.search.reference, every
   candidate folded in Python) can still visit: total, feasible and the RF histogram from the
   C++ counter, the Python counter and the oracle must be equal.
2. huge spaces: the issue's enumeration space (conv/maxpool x k {2, 3, 5} x s {1, 2} x d {1, 2},
   padding half, input 224, RF target [100, 140]) at depth 11 (1.5e15 candidates) and 1..12
   (3.8e16), and without the RF target at depth 14 (2.1e19); the MS-TCN dilation space of
   Global2Local (4 stages x 10 layers, dilation in {1, 2, ..., 1024}: 11^40 = 4.5e41) with its
   RF target [6000, 10000] and without targets. For each: the C++ count, the Python count (same
   result asserted), the completion tables (FeasibleCounter) and 1000 uniform samples. Target:
   counting a >= 1e15 space in C++ takes < 1 s.
3. targets the counter refuses: MS-TCN with a params budget (NotCountableError, never an
   approximation) is counted without it and sampled by rejection; a coverage target likewise
   (the TCN example space).

Times are the best of --rounds (the machine may be shared); ratios C++ / Python are in one run.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import rfsearch
from rfsearch.search import FeasibleCounter, NotCountableError, Sampler, SearchSpace, count, load_space
from rfsearch.search.reference import brute_force

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ISSUE_LAYERS = {"kind": ["conv", "maxpool"], "kernel": [2, 3, 5], "stride": [1, 2], "dilation": [1, 2],
                "padding": "half"}  # fmt: skip
MSTCN_LAYERS = {"kind": "conv", "kernel": 3, "dilation": [2**i for i in range(11)], "padding": "half"}


def issue_space(depth: Any, rf: bool = True) -> SearchSpace:
    data: Dict[str, Any] = {"input_size": 224, "depth": depth, "layers": ISSUE_LAYERS}
    if rf:
        data["targets"] = {"rf": [100, 140]}
    return SearchSpace.from_dict(data)


def mstcn(targets: Dict[str, Any]) -> SearchSpace:
    data: Dict[str, Any] = {"depth": 40, "layers": MSTCN_LAYERS, "targets": targets,
                            "channels": {"input": 2048, "widths": [64]}}  # fmt: skip
    return SearchSpace.from_dict(data)


def best(fn: Callable[[], Any], rounds: int) -> Tuple[float, Any]:
    """(best wall time over `rounds` calls, the last result)."""
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def agreement(rounds: int) -> List[Dict[str, Any]]:
    spaces = {
        "issue space, depth 1..3, RF [10, 30]": SearchSpace.from_dict({"input_size": 224, "depth": [1, 3],
                                                                       "layers": ISSUE_LAYERS,
                                                                       "targets": {"rf": [10, 30]}}),  # fmt: skip
        "audio example, depth 3, RF [[5, 20], [5, 30]]": SearchSpace.from_dict({
            **load_space(ROOT / "examples/spaces/audio_anisotropic.yaml").to_dict(), "depth": 3,
            "targets": {"rf": [[5, 20], [5, 30]], "jump": [[2, 4], [1, 4]]}}),  # fmt: skip
        "imagenet example, depth 4..5": SearchSpace.from_dict({**load_space(ROOT / "examples/spaces/imagenet_stem.yaml")
                                                              .to_dict(), "depth": [4, 5],
                                                              "targets": {"rf": [20, 60], "jump": 8}}),  # fmt: skip
        "tcn example without coverage, depth 4": SearchSpace.from_dict({"depth": 4, "layers": {"kernel": [2, 3],
                                                                        "dilation": [1, 2, 4, 8, 16, 32]},
                                                                        "targets": {"rf": [40, 140]}}),  # fmt: skip
    }
    rows = []
    for name, space in spaces.items():
        t_brute, oracle = best(lambda: brute_force(space, top=0), 1)
        t_cpp, cpp = best(lambda: count(space), rounds)
        t_py, py = best(lambda: count(space, backend="python"), rounds)
        same = (cpp.total, cpp.feasible, cpp.rf_histogram) == (py.total, py.feasible, py.rf_histogram) == (
            oracle.total, oracle.feasible, oracle.rf_histogram)  # fmt: skip
        rows.append({"space": name, "total": space.total, "feasible": cpp.feasible, "rf_values": len(cpp.rf_histogram),
                     "agree": same, "brute_s": t_brute, "cpp_s": t_cpp, "python_s": t_py})  # fmt: skip
    return rows


def huge(rounds: int, samples: int) -> List[Dict[str, Any]]:
    spaces = {
        "issue space, depth 11, RF [100, 140]": issue_space(11),
        "issue space, depth 1..12, RF [100, 140]": issue_space([1, 12]),
        "issue space, depth 14, no target": issue_space(14, rf=False),
        "MS-TCN 4x10, RF [6000, 10000]": mstcn({"rf": [6000, 10000]}),
        "MS-TCN 4x10, no target": mstcn({}),
    }
    rows = []
    for name, space in spaces.items():
        t_cpp, cpp = best(lambda: count(space), rounds)
        t_py, py = best(lambda: count(space, backend="python"), max(1, rounds // 2))
        t_tables, counter = best(lambda: FeasibleCounter(space), rounds)
        sampler = Sampler(space)
        t_sample, drawn = best(lambda: sampler.sample_choices(samples, seed=0), rounds)
        ok = cpp == py and counter.feasible == cpp.feasible and len(drawn) == samples
        rows.append({"space": name, "total": space.total, "feasible": cpp.feasible, "rf_values": len(cpp.rf_histogram),
                     "agree": ok, "cpp_s": t_cpp, "python_s": t_py, "tables_s": t_tables,
                     "sample_s": t_sample, "samples": samples})  # fmt: skip
    return rows


def refused(rounds: int) -> List[Dict[str, Any]]:
    rows = []
    imagenet = load_space(ROOT / "examples/spaces/imagenet_stem.yaml").to_dict()
    cases = {
        "ImageNet example, max_macs 5e6": SearchSpace.from_dict({**imagenet, "targets": {
            **imagenet["targets"], "max_macs": 5_000_000}}),  # fmt: skip
        "MS-TCN 4x10, RF [6000, 10000], max_params 1e6": mstcn({"rf": [6000, 10000], "max_params": 1_000_000}),
        "TCN example (coverage: full)": load_space(ROOT / "examples/spaces/tcn_history.yaml"),
    }
    for name, space in cases.items():
        try:
            count(space)
            message = "counted (expected a refusal)"
        except NotCountableError as e:
            message = e.reason.split(" (")[0]
        relaxed = space.without_targets(*space.uncountable_targets())
        t_relaxed, upper = best(lambda: count(relaxed), rounds)
        sampler = Sampler(space)
        t_sample, drawn = best(lambda: sampler.sample_choices(100, seed=0, max_draws=100_000), rounds)
        ok = message.startswith("cannot count exactly") and all(sampler.accepts(c) for c in drawn)
        rows.append({"space": name, "refusal": message, "upper_bound": upper.feasible, "count_without_s": t_relaxed,
                     "sample_100_s": t_sample, "accepted": 100 / sampler.draws, "agree": ok})  # fmt: skip
    return rows


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def markdown(result: Dict[str, Any]) -> str:
    lines = [f"# Counting benchmark ({result['date']})", "",
             f"{result['machine']}; rfsearch {result['version']}; best of {result['rounds']} rounds.", "",
             "## Agreement with enumeration (brute force over every candidate)", "",
             "| space | candidates | feasible | RF values | agree | brute force | C++ count | Python count |",
             "|---|---:|---:|---:|---|---:|---:|---:|"]  # fmt: skip
    for r in result["agreement"]:
        lines.append(f"| {r['space']} | {r['total']:,} | {r['feasible']:,} | {r['rf_values']} | {r['agree']} | "
                     f"{fmt_s(r['brute_s'])} | {fmt_s(r['cpp_s'])} | {fmt_s(r['python_s'])} |")  # fmt: skip
    lines += ["", "## Huge spaces", "",
              "| space | candidates | feasible | RF values | C++ count | Python count | C++ / Python | tables | "
              "1000 samples |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in result["huge"]:
        lines.append(f"| {r['space']} | {r['total']:.3g} | {r['feasible']:.3g} | {r['rf_values']:,} | "
                     f"{fmt_s(r['cpp_s'])} | {fmt_s(r['python_s'])} | {r['python_s'] / r['cpp_s']:.0f}x faster | "
                     f"{fmt_s(r['tables_s'])} | {fmt_s(r['sample_s'])} |")  # fmt: skip
    lines += ["", "## Targets the counter refuses (counted without them, sampled by rejection)", "",
              "| space | count | feasible without the target | count without it | 100 samples by rejection | "
              "draws accepted |", "|---|---|---:|---:|---:|---:|"]  # fmt: skip
    for r in result["refused"]:
        lines.append(f"| {r['space']} | {r['refusal']} | {r['upper_bound']:.3g} | {fmt_s(r['count_without_s'])} | "
                     f"{fmt_s(r['sample_100_s'])} | {r['accepted']:.0%} |")  # fmt: skip
    lines += ["", f"Target: a >= 1e15 space counted in C++ in < 1 s: {'met' if result['target_met'] else 'MISSED'}.", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one round, nothing written")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    result: Dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
        "version": rfsearch.__version__, "rounds": rounds,
    }  # fmt: skip
    result["agreement"] = agreement(rounds)
    result["huge"] = huge(rounds, args.samples)
    result["refused"] = refused(rounds)
    big = [r for r in result["huge"] if r["total"] >= 10**15]
    result["target_met"] = all(r["cpp_s"] < 1.0 for r in big)
    text = markdown(result)
    print(text)
    wrong = [r["space"] for part in ("agreement", "huge", "refused") for r in result[part] if not r["agree"]]
    if wrong:
        print(f"WRONG RESULTS: {wrong}", file=sys.stderr)
        return 2
    if not args.quick:
        (HERE / "count.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
        (HERE / "count.md").write_text(text)
    return 0 if result["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
