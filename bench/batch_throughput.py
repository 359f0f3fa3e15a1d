#!/usr/bin/env python
"""`rfsearch batch` throughput against the plain read of the same CSV, side by side in one run.

    python bench/batch_throughput.py                  # 1,000,000 rows (~120 MB), 3 rounds, records results
    python bench/batch_throughput.py --rows 100000 --rounds 2 --no-record   # a quick check

Workload (deterministic, seed 5): a CSV with a header `id,spec`, one million rows, each spec 10
compact tokens drawn from 42 (conv k 1/3/5/7, s 1/2, p 0..3; dilated convs; max/avg pooling with
padding and ceil mode; relu, bn), quoted as csv.writer quotes them.

Measured, interleaved round by round (best of --rounds; the machine may be shared):
    read        the baseline: csv.reader over the file, each spec split on commas (what any
                Python reader of this file must at least do)
    batch       rfsearch.io.score_file(in.csv, out.csv) in this process (read, score, write)
    batch-cli   `rfsearch batch in.csv -o out.csv --no-progress` as a subprocess (interpreter
                start and imports included)
    phases      the same pipeline cut into read (records), encode (row ids), score (the core)
                and write (CSV text), each over the whole file
Checked: the in-process and CLI outputs are byte-identical, and sampled rows (first, last and
--sample random ones) equal `receptive_field` of their spec (rf, jump, effective padding,
centre, valid, status). The script exits with 2 if a result is wrong, and with 1 if
batch / read exceeds --target (default 2.0; --target 0 disables the check).

Results go to bench/batch_throughput.json and bench/batch_throughput.md (--no-record: not).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import numpy as np

import rfsearch
from rfsearch import receptive_field
from rfsearch.io import score_file
from rfsearch.io.batchfile import score_chunks
from rfsearch.io.encode import StackEncoder
from rfsearch.io.inputs import InputSource
from rfsearch.io.readers import TEXT_READERS, encoded_chunks
from rfsearch.io.writers import write_scored

HERE = Path(__file__).resolve().parent
TOKENS = (
    [f"conv{k}s{s}p{p}" for k in (1, 3, 5, 7) for s in (1, 2) for p in (0, 1, 2, 3)]
    + ["conv3d2p2", "conv3d4p4", "conv5d2p4", "maxpool2s2", "maxpool3s2p1", "maxpool3s2p1c", "avgpool2s2",
       "avgpool3s1p1", "relu", "bn"]  # fmt: skip
)


def generate(path: Path, rows: int, seed: int = 5) -> None:
    """The workload file (the same bytes for the same rows and seed)."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id", "spec"])
        for start in range(0, rows, 100_000):
            writer.writerows([f"stack-{i:07d}", ",".join(rng.choices(TOKENS, k=10))]
                             for i in range(start, min(start + 100_000, rows)))  # fmt: skip


def baseline_read(path: Path) -> int:
    """csv.reader plus splitting each spec on commas: the floor for reading this file in Python."""
    layers = 0
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            layers += len(row[1].split(","))
    return layers


def phases(path: Path, out: Path) -> Dict[str, float]:
    """The pipeline's stages one after the other, each over the whole file (so it holds it all)."""
    times: Dict[str, float] = {}
    with InputSource(path) as source:
        t = time.perf_counter()
        blocks = list(TEXT_READERS["csv"](source.stream(), source.name, 100_000, source.size))
        times["read"] = time.perf_counter() - t
        t = time.perf_counter()
        chunks = list(encoded_chunks(iter(blocks), StackEncoder(None, "", False), source.name))
        times["encode"] = time.perf_counter() - t
        t = time.perf_counter()
        scored = list(score_chunks(iter(chunks)))
        times["score"] = time.perf_counter() - t
        t = time.perf_counter()
        with out.open("wb") as f:
            write_scored(iter(scored), f, "csv")
        times["write"] = time.perf_counter() - t
    return times


def check(path: Path, out: Path, sample: int, seed: int = 1) -> int:
    """Sampled output rows against receptive_field of their spec; returns the number checked."""
    with path.open(newline="", encoding="utf-8") as f:
        specs = [row[1] for row in csv.reader(f)][1:]
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != len(specs):
        raise AssertionError(f"{len(rows)} output rows for {len(specs)} stacks")
    picks = sorted({0, len(specs) - 1, *random.Random(seed).sample(range(len(specs)), min(sample, len(specs)))})
    for i in picks:
        r, row = receptive_field(specs[i]), rows[i]
        want = {"id": f"stack-{i:07d}", "rf": str(r.rf[0]), "jump": str(r.jump[0]),
                "effective_padding": str(r.effective_padding[0]), "center": repr(float(r.center[0])),
                "valid": str(r.valid), "status": "ok"}  # fmt: skip
        if row != want:
            raise AssertionError(f"row {i} ({specs[i]}): got {row}, want {want}")
    return len(picks)


def best(samples: List[float]) -> float:
    return min(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sample", type=int, default=2000, help="random rows checked against receptive_field")
    parser.add_argument("--target", type=float, default=2.0, help="fail if batch / read exceeds this (0: no check)")
    parser.add_argument("--no-record", action="store_true", help="do not write the results files")
    parser.add_argument("--workdir", help="where the files go (default: a temporary directory)")
    args = parser.parse_args()

    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="rfsearch-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    src, out, out_cli, out_phases = (work / n for n in ("in.csv", "out.csv", "out-cli.csv", "out-phases.csv"))
    try:
        t = time.perf_counter()
        generate(src, args.rows)
        print(f"workload: {args.rows:,} rows, {src.stat().st_size / 1e6:.1f} MB ({time.perf_counter() - t:.1f} s to "
              f"write)", flush=True)  # fmt: skip
        cli = shutil.which("rfsearch") or "rfsearch"
        methods: Dict[str, Callable[[], Any]] = {
            "read": lambda: baseline_read(src),
            "batch": lambda: score_file(src, out),
            "batch-cli": lambda: subprocess.run([cli, "batch", str(src), "-o", str(out_cli), "--no-progress"],
                                                check=True),  # fmt: skip
        }
        samples: Dict[str, List[float]] = {name: [] for name in methods}
        phase_samples: List[Dict[str, float]] = []
        for round_ in range(args.rounds):
            for name, run in methods.items():
                t = time.perf_counter()
                run()
                samples[name].append(time.perf_counter() - t)
            phase_samples.append(phases(src, out_phases))
            print(f"round {round_ + 1}: " + ", ".join(f"{n} {s[-1]:.2f} s" for n, s in samples.items()), flush=True)

        if out.read_bytes() != out_cli.read_bytes() or out.read_bytes() != out_phases.read_bytes():
            print("FAIL: the in-process, CLI and phased outputs differ", file=sys.stderr)
            return 2
        try:
            checked = check(src, out, args.sample)
        except AssertionError as e:
            print(f"FAIL: {e}", file=sys.stderr)
            return 2

        times = {name: best(s) for name, s in samples.items()}
        stage = {k: min(p[k] for p in phase_samples) for k in phase_samples[0]}
        ratio = times["batch"] / times["read"]
        result = {
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()[0], "python": platform.python_version(),
                        "numpy": np.__version__, "rfsearch": rfsearch.__version__,
                        "processor": platform.processor() or platform.machine()},  # fmt: skip
            "rows": args.rows,
            "megabytes": round(src.stat().st_size / 1e6, 1),
            "rounds": args.rounds,
            "seconds": {k: round(v, 3) for k, v in times.items()},
            "phases_seconds": {k: round(v, 3) for k, v in stage.items()},
            "ratio_batch_over_read": round(ratio, 2),
            "ratio_cli_over_read": round(times["batch-cli"] / times["read"], 2),
            "rows_checked": checked,
        }
        print(json.dumps(result, indent=2))
        if not args.no_record:
            (HERE / "batch_throughput.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
            (HERE / "batch_throughput.md").write_text(_markdown(result), encoding="utf-8")
        if args.target and ratio > args.target:
            print(f"target missed: batch / read = {ratio:.2f} > {args.target}", file=sys.stderr)
            return 1
        return 0
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


def _markdown(r: Dict[str, Any]) -> str:
    s, p = r["seconds"], r["phases_seconds"]
    return f"""# `rfsearch batch` throughput

Recorded by `python bench/batch_throughput.py` on {r['date']}: {r['rows']:,} rows, {r['megabytes']} MB,
best of {r['rounds']} interleaved rounds; {r['machine']['cpus']} CPUs ({r['machine']['processor']}), load average
{r['machine']['load_before']:.2f} before the run, Python {r['machine']['python']}, numpy {r['machine']['numpy']}.

| method | seconds | / read |
|---|---:|---:|
| read: `csv.reader` + split each spec on commas | {s['read']:.2f} | 1.00 |
| `score_file` in process (read, score, write) | {s['batch']:.2f} | {s['batch'] / s['read']:.2f} |
| `rfsearch batch in.csv -o out.csv` (subprocess) | {s['batch-cli']:.2f} | {s['batch-cli'] / s['read']:.2f} |

Phases (each over the whole file): read {p['read']:.2f} s, encode {p['encode']:.2f} s, score {p['score']:.2f} s,
write {p['write']:.2f} s (score: `receptive_fields_by_id`, which still expands the row ids to dense arrays in Python;
a by-id path in the core removes that). {r['rows_checked']} sampled rows equal `receptive_field`; the outputs of all
three runs are identical.

Before the one-pass pipeline (commit 658a755: two passes of `csv.reader`, Python per token and
per output row), the same 1,000,000-row file took 10.7 s through `rfsearch batch` against 1.49 s
for the read on this machine: 7.2x (the issue measured 6.3 s against 0.8 s on a quiet one).
The machine is shared by several jobs: absolute times drift, ratios from one run are the measure.
"""


if __name__ == "__main__":
    sys.exit(main())
