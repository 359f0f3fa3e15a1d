#!/usr/bin/env python
"""rfsearch benchmark: stacks/s of the C++ core against baselines, with asserted targets.

    python bench/run.py                 # full run: N = 1e3 .. 1e7, depth 4, 10, 32 (~3-5 min)
    python bench/run.py --quick         # N = 1e3 .. 1e6, depth 10, 3 repeats; writes nothing
    python bench/run.py --max-n 1e6 --depths 10,32 --repeats 3

Methods, each on the same deterministic workload (bench/workload.py: int32 (N, L) arrays,
input size 224, one axis):

    cpp-1      rfsearch.batch_receptive_fields(..., threads=1)            (C++ core, public API)
    cpp-2      threads=2
    cpp-all    threads=-1 (all cores)
    id-1       rfsearch.receptive_fields_by_id(table, ids, threads=1): the same stacks as a table
               of their distinct layers plus (N, L) int32 row ids (the core's second input)
    id-2       the same, threads=2
    numpy      bench/numpy_baseline.py (vectorised over stacks, loop over layers)
    python     rfsearch.batch_receptive_fields(..., backend="python") (the pure-Python reference), only
               for N <= --reference-max-n (default 1e4); larger N are marked "not run";
               best of min(--repeats, 3) (it is slow and steady)
    mem-sum    np.sum over each input array the core reads (4 int32 arrays + the bool
               ceil_mode array: the same bytes). numpy sums int32 into an int64 accumulator,
               so this is a cast-and-add loop, not a pure memory read.
    mem-read   np.add.reduce over the same bytes viewed as int64 (no cast; SIMD adds): about
               the single-core memory bandwidth.

Timing: a warm-up call, then best of --repeats samples (time.perf_counter); a sample calls the
method enough times to last >= --min-time seconds (small N). Every configuration asserts that
cpp-1, cpp-2, cpp-all and numpy agree exactly (rf, jump, effective padding, output size,
status), and that the reference agrees where it runs.

Memory budget: configurations with N*L > --budget (default 1e8 layers = 1.7 GB of input) are
skipped and listed as such; with the default grid that is N = 1e7 at depth 32 (5.4 GB).

Networks (receptive_field, one stack of L layers, L = --layers, default 1e3, 1e4, 1e5):
    rf         rfsearch.receptive_field(layers, input_size): Layer objects -> table -> per-layer
               states -> RFResult (the whole public call)
    core       rfsearch.layer_receptive_fields(table, ids): the per-layer mode alone, O(L)
    prefixes   the old way, every prefix scored as its own stack (receptive_fields_by_id on L
               stacks, L(L+1)/2 folds), for L <= --prefix-max-layers (default 1e4; larger L are
               "not run"); asserted equal to `core`

Targets (issue), at N = 1e6, depth 10:
    T1  cpp-1   >= 50 x python     (python rate from the N = 1e4, depth 10 configuration: the
                                    first 1e4 stacks of the same workload; the reference is a
                                    per-stack Python loop, so its rate does not depend on N)
    T2  cpp-all >= 10 x numpy
    T3  cpp-1   >= 0.4 x memory read  (--memory-read sum (default, the issue's example np.sum)
                                       or int64; the other ratio is printed as information)
    T4  cpp-2   >= 1.6 x cpp-1
and T5: receptive_field of a 100,000-layer network < 1 s (when L = 1e5 is in --layers).
The script exits with status 1 if a target fails (2 if a result disagrees).

Writes (unless --no-write; --quick implies --no-write unless --write is given):
bench/results.json, bench/RESULTS.md, and the results table in bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import rfsearch  # noqa: E402
from rfsearch import (  # noqa: E402
    LayerTable,
    batch_receptive_fields,
    layer_receptive_fields,
    receptive_field,
    receptive_fields_by_id,
)

from numpy_baseline import score_numpy  # noqa: E402
from workload import (  # noqa: E402
    DOWNSAMPLINGS,
    INPUT_SIZE,
    IdWorkload,
    Workload,
    make_network,
    make_workload,
    stride2_probability,
    to_ids,
)

METHODS = ["cpp-1", "cpp-2", "cpp-all", "id-1", "id-2", "numpy", "python", "mem-sum", "mem-read"]
NETWORK_TARGET_LAYERS, NETWORK_TARGET_SECONDS = 100_000, 1.0
TARGET_N, TARGET_DEPTH = 1_000_000, 10
README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


# --- methods ------------------------------------------------------------------------------

def run_cpp(w: Workload, threads: int):  # type: ignore[no-untyped-def]
    return batch_receptive_fields(
        w.kernel, w.stride, w.padding, w.dilation, ceil_mode=w.ceil_mode, input_size=w.input_size, threads=threads
    )


def run_by_id(w: IdWorkload, threads: int):  # type: ignore[no-untyped-def]
    return receptive_fields_by_id(w.table, w.ids, input_size=w.input_size, threads=threads)  # type: ignore[arg-type]


def run_python(w: Workload):  # type: ignore[no-untyped-def]
    return batch_receptive_fields(
        w.kernel, w.stride, w.padding, w.dilation, ceil_mode=w.ceil_mode, input_size=w.input_size, backend="python"
    )


def mem_sum(arrays: List[np.ndarray]) -> int:
    total = 0
    for a in arrays:
        total += int(np.sum(a))
    return total


def _int64_views(arrays: List[np.ndarray]) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Each array's bytes as an int64 view (the largest 8-byte multiple) plus the byte tail."""
    out = []
    for a in arrays:
        raw = a.reshape(-1).view(np.uint8)  # C-contiguous: no copy
        m = raw.size // 8 * 8
        out.append((raw[:m].view(np.int64), raw[m:]))
    return out


def mem_read(views: List[Tuple[np.ndarray, np.ndarray]]) -> int:
    total = 0
    for body, tail in views:
        total += int(np.add.reduce(body)) + int(tail.sum())
    return total


# --- timing -------------------------------------------------------------------------------

def measure(fn: Callable[[], Any], repeats: int, min_time: float) -> Tuple[float, Any]:
    """Best seconds per call, and the result of the first (warm-up) call.

    Warm-up call, then best of `repeats` samples; a sample loops over enough calls to last
    >= min_time (for small N, where one call is shorter than the timer's useful resolution).
    """
    t0 = time.perf_counter()
    result = fn()
    first = time.perf_counter() - t0
    number = max(1, math.ceil(min_time / max(first, 1e-9))) if first < min_time else 1
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best, result


def same_results(name: str, got, want) -> Optional[str]:  # type: ignore[no-untyped-def]
    pairs = {
        "rf": (got.rf, want.rf),
        "jump": (got.jump, want.jump),
        "effective_padding": (got.effective_padding, want.effective_padding),
        "output_size": (got.output_size, want.output_size),
        "status": (got.status, want.status),
    }
    for field, (a, b) in pairs.items():
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or not np.array_equal(a.astype(np.int64), b.astype(np.int64)):
            bad = np.flatnonzero(a.astype(np.int64) != b.astype(np.int64)) if a.shape == b.shape else None
            where = f" (first differing stack {int(bad[0])})" if bad is not None and len(bad) else ""
            return f"{name}: {field} differs from the numpy baseline{where}"
    return None


# --- machine info -------------------------------------------------------------------------

def machine_info() -> Dict[str, Any]:
    cpu = platform.processor() or "unknown"
    cpu_id, simd, mem_total = None, None, None
    try:
        fields: Dict[str, str] = {}
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if not line.strip():
                break  # first processor only
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
        cpu = fields.get("model name", cpu)
        cpu_id = f"family {fields.get('cpu family')} model {fields.get('model')} stepping {fields.get('stepping')}"
        flags = set(fields.get("flags", "").split())
        simd = [f for f in ("sse4_2", "avx2", "avx512f", "avx512dq", "avx512vl") if f in flags]
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_total = line.split(":", 1)[1].strip()
    except OSError:
        pass
    affinity: Optional[int]
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        affinity = os.cpu_count()
    commit = None
    try:
        root = HERE.parent
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        if dirty:
            commit += " (+ uncommitted changes)"
    except (OSError, subprocess.CalledProcessError):
        pass
    from rfsearch import _core

    return {
        "cpu_model": cpu,
        "cpu_id": cpu_id,
        "cpu_simd": simd,
        "mem_total": mem_total,
        "nproc": os.cpu_count(),
        "usable_cpus": affinity,
        "core_hardware_threads": int(_core.hardware_threads()),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "rfsearch": getattr(rfsearch, "__version__", "unknown"),
        "git_commit": commit,
        "platform": platform.platform(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


# --- formatting ---------------------------------------------------------------------------

def fmt_rate(x: Optional[float]) -> str:
    if x is None:
        return "-"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.3g}"


def fmt_n(n: int) -> str:
    e = int(round(math.log10(n))) if n > 0 else 0
    return f"1e{e}" if 10**e == n else str(n)


def table_rows(configs: List[Dict[str, Any]]) -> List[List[str]]:
    rows = []
    for c in configs:
        if c.get("skipped"):
            rows.append([str(c["depth"]), fmt_n(c["n"])] + ["skipped*"] + ["-"] * (len(HEADER) - 3))
            continue
        m = c["methods"]
        cells = [fmt_rate(m[k]["stacks_per_s"]) if m[k]["stacks_per_s"] else "not run" for k in METHODS]
        cpp1 = m["cpp-1"]
        gbs = c["input_bytes"] / cpp1["seconds"] / 1e9 if cpp1["seconds"] else None
        rows.append(
            [str(c["depth"]), fmt_n(c["n"])]
            + cells
            + [f"{gbs:.2f}" if gbs else "-", f"{100 * c['collapsed_fraction']:.1f}%",
               f"{100 * c['folds_done_fraction']:.1f}%"]
        )
    return rows


HEADER = ["depth", "N"] + METHODS + ["cpp-1 GB/s", "collapsed", "folds done"]


def skipped_note(configs: List[Dict[str, Any]]) -> str:
    skipped = [c for c in configs if c.get("skipped")]
    if not skipped:
        return ""
    return "skipped* = over the memory budget (--budget): " + "; ".join(
        f"depth {c['depth']}, N={fmt_n(c['n'])} ({c['skipped']})" for c in skipped
    )


def markdown_table(rows: List[List[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---:" for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def text_table(rows: List[List[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(HEADER)]
    out = ["  ".join(h.rjust(w) for h, w in zip(HEADER, widths))]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


# --- targets ------------------------------------------------------------------------------

def evaluate_targets(configs: List[Dict[str, Any]], memory_read: str,
                     networks: Optional[List[Dict[str, Any]]] = None) -> List[Dict[str, Any]]:  # fmt: skip
    by_key = {(c["n"], c["depth"]): c for c in configs if not c.get("skipped")}
    main = by_key.get((TARGET_N, TARGET_DEPTH))

    def rate(c: Optional[Dict[str, Any]], method: str) -> Optional[float]:
        if c is None:
            return None
        value = c["methods"][method]["stacks_per_s"]
        return None if value is None else float(value)

    ref_cfgs = [c for (n, d), c in by_key.items() if d == TARGET_DEPTH and rate(c, "python")]
    ref = max(ref_cfgs, key=lambda c: c["n"]) if ref_cfgs else None
    mem_key = "mem-sum" if memory_read == "sum" else "mem-read"
    other_key = "mem-read" if memory_read == "sum" else "mem-sum"
    cpp1, other = rate(main, "cpp-1"), rate(main, other_key)
    specs = [
        ("T1", "cpp-1 >= 50x python reference", rate(main, "cpp-1"), rate(ref, "python"), 50.0,
         f"python rate measured at N={fmt_n(ref['n'])}, depth {TARGET_DEPTH} (a prefix of the same workload)"
         if ref else "python reference not measured at depth 10"),
        ("T2", "cpp-all >= 10x numpy", rate(main, "cpp-all"), rate(main, "numpy"), 10.0, ""),
        ("T3", f"cpp-1 >= 0.4x memory read ({mem_key})", rate(main, "cpp-1"), rate(main, mem_key), 0.4,
         f"vs {other_key}: x{cpp1 / other:.3f}" if cpp1 and other else ""),
        ("T4", "cpp-2 >= 1.6x cpp-1", rate(main, "cpp-2"), rate(main, "cpp-1"), 1.6, ""),
    ]
    out = []
    for tid, desc, num, den, need, note in specs:
        if num is None or den is None:
            out.append({"id": tid, "target": desc, "ratio": None, "required": need, "status": "NOT RUN",
                        "note": note or f"needs N={fmt_n(TARGET_N)}, depth {TARGET_DEPTH}"})
            continue
        ratio = num / den
        out.append({"id": tid, "target": desc, "ratio": ratio, "required": need,
                    "status": "PASS" if ratio >= need else "FAIL", "note": note})
    # T5 is a time: its "ratio" is the margin (1 s / measured time), required >= 1.
    net = next((c for c in networks or [] if c["layers"] == NETWORK_TARGET_LAYERS), None)
    desc = f"receptive_field of {NETWORK_TARGET_LAYERS:,} layers < {NETWORK_TARGET_SECONDS:g} s"
    if net is None:
        out.append({"id": "T5", "target": desc, "ratio": None, "required": 1.0, "status": "NOT RUN",
                    "note": f"needs --layers to include {NETWORK_TARGET_LAYERS:.0e}"})
    else:
        margin = NETWORK_TARGET_SECONDS / net["rf_seconds"]
        out.append({"id": "T5", "target": desc, "ratio": margin, "required": 1.0,
                    "status": "PASS" if margin >= 1.0 else "FAIL", "note": f"{net['rf_seconds']:.3f} s"})
    return out


# --- networks: receptive_field of one long stack -----------------------------------------

def network_configs(layer_counts: List[int], prefix_max: int, repeats: int, failures: List[str]) -> List[Dict[str, Any]]:
    """receptive_field, the per-layer core alone, and the old every-prefix way, per network length."""
    out = []
    for n_layers in layer_counts:
        layers, size = make_network(n_layers)
        rf_seconds, result = measure(lambda: receptive_field(layers, size), repeats, 0.05)  # type: ignore[arg-type]
        table = LayerTable(1)
        ids = np.asarray(table.ids(layers), dtype=np.int32)  # type: ignore[arg-type]
        core_seconds, core = measure(lambda: layer_receptive_fields(table, ids, input_size=size), repeats, 0.05)
        if result.rf != (int(core.rf[-1]),) or result.valid is not True:
            failures.append(f"network L={n_layers}: receptive_field and the per-layer core disagree")
        prefix_seconds: Optional[float] = None
        if n_layers <= prefix_max:
            every = np.broadcast_to(ids, (n_layers, n_layers))
            depth = np.arange(1, n_layers + 1)
            prefix_seconds, old = measure(
                lambda: receptive_fields_by_id(table, every, depth, input_size=size, threads=1), min(repeats, 3), 0.05)
            for field in ("rf", "jump", "effective_padding", "output_size", "status"):
                if not np.array_equal(getattr(old, field), getattr(core, field)):
                    failures.append(f"network L={n_layers}: {field} of the prefixes differs from the per-layer core")
        cfg = {"layers": n_layers, "rf_seconds": rf_seconds, "core_seconds": core_seconds,
               "prefix_seconds": prefix_seconds, "rf": list(result.rf)}  # fmt: skip
        out.append(cfg)
        print("  " + "  ".join(f"{h}={v}" for h, v in zip(NETWORK_HEADER, network_row(cfg))), flush=True)
    return out


NETWORK_HEADER = ["layers", "receptive_field", "per-layer core", "prefixes (old, O(L^2))", "old / core"]


def fmt_seconds(x: Optional[float]) -> str:
    if x is None:
        return "not run"
    return f"{x * 1e3:.3g} ms" if x < 1 else f"{x:.3g} s"


def network_row(c: Dict[str, Any]) -> List[str]:
    ratio = "-" if c["prefix_seconds"] is None else f"x{c['prefix_seconds'] / c['core_seconds']:.3g}"
    return [f"{c['layers']:,}", fmt_seconds(c["rf_seconds"]), fmt_seconds(c["core_seconds"]),
            fmt_seconds(c["prefix_seconds"]), ratio]  # fmt: skip


def network_markdown(networks: List[Dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(NETWORK_HEADER) + " |", "|" + "|".join("---:" for _ in NETWORK_HEADER) + "|"]
    lines += ["| " + " | ".join(network_row(c)) + " |" for c in networks]
    return "\n".join(lines)


def targets_markdown(targets: List[Dict[str, Any]]) -> str:
    lines = [f"Targets at N = {fmt_n(TARGET_N)}, depth {TARGET_DEPTH}:", "",
             "| id | target | measured | status | note |", "|---|---|---:|---|---|"]
    for t in targets:
        measured = "-" if t["ratio"] is None else f"x{t['ratio']:.3g}"
        lines.append(f"| {t['id']} | {t['target']} | {measured} | **{t['status']}** | {t['note']} |")
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------

def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="N = 1e3..1e6, depth 10, 3 repeats, no files written")
    p.add_argument("--min-n", type=float, default=1e3)
    p.add_argument("--max-n", type=float, default=1e7)
    p.add_argument("--depths", default=None, help="comma-separated (default 4,10,32; --quick: 10)")
    p.add_argument("--repeats", type=int, default=None, help="best-of-k samples (default 5; --quick: 3)")
    p.add_argument("--min-time", type=float, default=0.05, help="seconds per timing sample (small N loop)")
    p.add_argument("--budget", type=float, default=1e8, help="max N*L per configuration (input = 17 bytes each)")
    p.add_argument("--reference-max-n", type=float, default=1e4, help="largest N run with the Python reference")
    p.add_argument("--memory-read", choices=["sum", "int64"], default="sum",
                   help="memory-read method target T3 is checked against (default: np.sum, the issue's example)")
    p.add_argument("--layers", default="1e3,1e4,1e5",
                   help="network lengths for receptive_field (comma-separated; empty: skip the networks)")
    p.add_argument("--prefix-max-layers", type=float, default=1e4,
                   help="longest network also scored the old way (every prefix as a stack, O(L^2))")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write", action="store_true", help="write result files even with --quick")
    p.add_argument("--no-write", action="store_true", help="do not write result files")
    p.add_argument("--out-dir", default=str(HERE), help="where results.json / RESULTS.md / README.md go")
    args = p.parse_args(argv)
    if args.depths is None:
        args.depths = "10" if args.quick else "4,10,32"
    if args.repeats is None:
        args.repeats = 3 if args.quick else 5
    if args.quick:
        args.max_n = min(args.max_n, 1e6)
    args.write_files = not args.no_write and (args.write or not args.quick)
    return args


def n_grid(lo: float, hi: float) -> List[int]:
    out, e = [], math.ceil(math.log10(lo) - 1e-9)
    while 10**e <= hi * (1 + 1e-9):
        out.append(10**e)
        e += 1
    return out


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    depths = [int(d) for d in args.depths.split(",")]
    ns = n_grid(args.min_n, args.max_n)
    info = machine_info()
    load_start = os.getloadavg()
    print(f"rfsearch benchmark  {info['date']}  {info['cpu_model']}  nproc={info['nproc']}  "
          f"numpy {info['numpy']}  commit {info['git_commit']}")
    print(f"load average at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}"
          + ("   (machine busy: timings will be noisy)" if load_start[0] > 0.5 else ""))
    print(f"workload: random conv/pool stacks, k 1..7, s 1|2 (P(2) = min(1/2, {DOWNSAMPLINGS:g}/L)), "
          f"d 1|2|4, input {INPUT_SIZE}, int32; repeats best of {args.repeats}\n")

    configs: List[Dict[str, Any]] = []
    failures: List[str] = []
    for depth in depths:
        fitting = [n for n in ns if n * depth <= args.budget]
        for n in ns:
            if n not in fitting:
                configs.append({"n": n, "depth": depth, "skipped": f"N*L = {n * depth:.2g} > budget {args.budget:.2g}"})
        if not fitting:
            continue
        t0 = time.perf_counter()
        full = make_workload(max(fitting), depth, seed=args.seed)
        full_ids = to_ids(full)
        print(f"depth {depth}: generated {max(fitting):,} stacks in {time.perf_counter() - t0:.1f} s "
              f"(P(stride 2) = {stride2_probability(depth):.3f}; {len(full_ids.table)} distinct layers)")
        for n in fitting:
            w = full.slice(n)
            arrays = list(w.arrays().values())
            views = _int64_views(arrays)
            expected = score_numpy(w)
            methods: Dict[str, Dict[str, Any]] = {}

            def record(name: str, fn: Callable[[], Any], check: bool = True, repeats: int = args.repeats) -> None:
                sec, result = measure(fn, repeats, args.min_time)
                if check:
                    err = same_results(name, result, expected)
                    if err:
                        failures.append(f"N={n}, depth {depth}: {err}")
                        print("  MISMATCH", failures[-1])
                methods[name] = {"seconds": sec, "stacks_per_s": n / sec, "gb_per_s": w.nbytes / sec / 1e9}

            record("cpp-1", lambda: run_cpp(w, 1))
            record("cpp-2", lambda: run_cpp(w, 2))
            record("cpp-all", lambda: run_cpp(w, -1))
            wid = full_ids.slice(n)
            record("id-1", lambda: run_by_id(wid, 1))
            record("id-2", lambda: run_by_id(wid, 2))
            record("numpy", lambda: score_numpy(w), check=False)
            if n <= args.reference_max_n:
                record("python", lambda: run_python(w), repeats=min(args.repeats, 3))
            else:
                methods["python"] = {"seconds": None, "stacks_per_s": None, "gb_per_s": None,
                                     "note": f"not run (N > {args.reference_max_n:.0e})"}
            record("mem-sum", lambda: mem_sum(arrays), check=False)
            record("mem-read", lambda: mem_read(views), check=False)
            folds = np.where(expected.status == 0, depth, expected.layers_done).sum()
            cfg = {
                "n": n, "depth": depth, "input_bytes": w.nbytes,
                "collapsed_fraction": float((expected.status != 0).mean()) if n else 0.0,
                "folds_done_fraction": float(folds / (n * depth)),
                "methods": methods,
            }
            configs.append(cfg)
            row = table_rows([cfg])[0]
            print("  " + "  ".join(f"{h}={v}" for h, v in zip(HEADER[1:], row[1:])), flush=True)
        del full, full_ids

    configs.sort(key=lambda c: (c["depth"], c["n"]))
    layer_counts = [int(float(v)) for v in args.layers.split(",") if v.strip()]
    networks: List[Dict[str, Any]] = []
    if layer_counts:
        print("\nnetworks: receptive_field of one stack of L layers (best of "
              f"{args.repeats}; prefixes best of {min(args.repeats, 3)})")
        networks = network_configs(layer_counts, int(args.prefix_max_layers), args.repeats, failures)
    rows = table_rows(configs)
    targets = evaluate_targets(configs, args.memory_read, networks)
    load_end = os.getloadavg()
    print("\nstacks/s (higher is better); mem-sum = np.sum over the input arrays, mem-read = int64-view "
          "np.add.reduce over the same bytes\n")
    print(text_table(rows))
    if skipped_note(configs):
        print(skipped_note(configs))
    if networks:
        print("\nnetworks (receptive_field of one stack; old = every prefix scored as its own stack)\n")
        print(network_markdown(networks))
    print(f"\nload average at end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}\n")
    for t in targets:
        measured = "-" if t["ratio"] is None else f"x{t['ratio']:.3g}"
        print(f"{t['id']} {t['target']:<46} {measured:>9}  {t['status']:<7} {t['note']}")
    for f in failures:
        print("MISMATCH:", f)

    if args.write_files:
        write_outputs(Path(args.out_dir), args, info, load_start, load_end, configs, rows, targets, failures,
                      networks)

    if failures:
        return 2
    return 1 if any(t["status"] == "FAIL" for t in targets) else 0


def write_outputs(out_dir: Path, args: argparse.Namespace, info: Dict[str, Any], load_start: Tuple[float, ...],
                  load_end: Tuple[float, ...], configs: List[Dict[str, Any]], rows: List[List[str]],
                  targets: List[Dict[str, Any]], failures: List[str], networks: List[Dict[str, Any]]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = {
        "machine": {**info, "loadavg_start": list(load_start), "loadavg_end": list(load_end)},
        "settings": {
            "repeats": args.repeats, "min_time": args.min_time, "budget_layers": args.budget,
            "reference_max_n": args.reference_max_n, "memory_read_for_T3": args.memory_read, "seed": args.seed,
            "input_size": INPUT_SIZE, "dtype": "int32", "downsamplings": DOWNSAMPLINGS,
        },
        "configs": configs,
        "networks": networks,
        "targets": targets,
        "mismatches": failures,
    }
    (out_dir / "results.json").write_text(json.dumps(doc, indent=2) + "\n")
    m = info
    body = "\n".join([
        f"Measured {m['date']} on {m['cpu_model']} ({m['nproc']} CPUs), numpy {m['numpy']}, "
        f"Python {m['python']}, commit {m['git_commit']}; load average {load_start[0]:.2f} at start, "
        f"{load_end[0]:.2f} at end. Command: `python bench/run.py"
        + ("" if not sys.argv[1:] else " " + " ".join(sys.argv[1:])) + "`.",
        "",
        "Stacks per second (best of "
        f"{args.repeats}); `mem-sum` = `np.sum` over the input arrays, `mem-read` = `np.add.reduce` over "
        "the same bytes viewed as int64; `cpp-1 GB/s` = input bytes read per second by cpp-1; "
        "`collapsed` = stacks whose output size fell below 1 (the core stops there), `folds done` = "
        "fraction of the N*L layer folds actually performed.",
        "",
        markdown_table(rows),
        "",
        *([skipped_note(configs), ""] if skipped_note(configs) else []),
        *(["`id-1`, `id-2` = the same stacks given to `receptive_fields_by_id` as a table of their distinct "
           "layers plus (N, L) int32 row ids (1 and 2 threads).", "",
           "Networks: `receptive_field` of one stack of L layers (Layer objects in, RFResult out); the "
           "per-layer core alone (`layer_receptive_fields`, O(L)); and the old way, every prefix scored as "
           "its own stack (O(L^2) folds).", "", network_markdown(networks), ""] if networks else []),
        targets_markdown(targets),
    ])
    (out_dir / "RESULTS.md").write_text("# rfsearch benchmark results\n\n" + body + "\n")
    readme = out_dir / "README.md"
    if readme.exists():
        text = readme.read_text()
        if README_START in text and README_END in text:
            pre, rest = text.split(README_START, 1)
            _, post = rest.split(README_END, 1)
            readme.write_text(pre + README_START + "\n" + body + "\n" + README_END + post)
    print(f"\nwrote {out_dir / 'results.json'}, {out_dir / 'RESULTS.md'}"
          + (f", table in {readme}" if readme.exists() else ""))


if __name__ == "__main__":
    sys.exit(main())
