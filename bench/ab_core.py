#!/usr/bin/env python
"""A/B: this build's core against another build's, interleaved in one process.

On a shared machine absolute rates drift with the load; calls of the two cores taken in turn
see the same load, so their ratio is steady. Build the other commit's wheel and point --old at
its extension module:

    git archive <commit> | tar -x -C /tmp/old
    pip wheel --no-deps --no-build-isolation /tmp/old -w /tmp/oldwheel
    unzip -q /tmp/oldwheel/*.whl -d /tmp/oldwheel/x
    python bench/ab_core.py --old /tmp/oldwheel/x/rfsearch/_core.*.so

Prints stacks/s of the old dense path, the new dense path and the new by-id path (same
workload as run.py, input 224), best of --repeats, and asserts that all three agree.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rfsearch import _core as new  # noqa: E402

from workload import make_workload, to_ids  # noqa: E402


def load_core(path: str) -> Any:
    loader = importlib.machinery.ExtensionFileLoader("old_rfsearch._core", path)
    spec = importlib.util.spec_from_loader("old_rfsearch._core", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def old_dense(old: Any, k: np.ndarray, s: np.ndarray, d: np.ndarray, p: np.ndarray, c: np.ndarray,
              threads: int) -> np.ndarray:  # fmt: skip
    """The old core's dense entry: score_stacks (positional: kernel, stride, dilation, padding) before
    issue 5, batch_receptive_fields (keywords) after."""
    if hasattr(old, "batch_receptive_fields"):
        out = old.batch_receptive_fields(kernel=k, stride=s, padding=p, dilation=d, padding_after=p, ceil_mode=c,
                                         depth=None, input_size=[224], threads=threads)  # fmt: skip
        return np.asarray(out["rf"])
    return np.asarray(old.score_stacks(k, s, d, p, p, c, None, [224], threads)[0])


def main(argv: List[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", required=True, help="the other build's rfsearch/_core*.so")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args(argv)
    old = load_core(args.old)
    for depth, n in ((4, 1_000_000), (10, 1_000_000), (32, 300_000)):
        w = make_workload(n, depth)
        wid = to_ids(w)
        k, s, d, p = (a[:, :, None] for a in (w.kernel, w.stride, w.dilation, w.padding))
        c = w.ceil_mode[:, :, None]
        cols = wid.table.columns  # type: ignore[attr-defined]
        for threads in (int(t) for t in args.threads.split(",")):
            runs: Dict[str, Callable[[], np.ndarray]] = {
                "old": lambda: old_dense(old, k, s, d, p, c, threads),
                "new": lambda: np.asarray(new.batch_receptive_fields(
                    kernel=k, stride=s, padding=p, dilation=d, padding_after=p, ceil_mode=c, depth=None,
                    input_size=[224], threads=threads)["rf"]),
                "by_id": lambda: np.asarray(new.receptive_fields_by_id(
                    kernel=cols.kernel, stride=cols.stride, padding=cols.padding, dilation=cols.dilation,
                    padding_after=cols.padding_after, ceil_mode=cols.ceil_mode, ids=wid.ids, depth=None,
                    input_size=[224], threads=threads)["rf"]),
            }  # fmt: skip
            first = {name: run() for name, run in runs.items()}
            assert all(np.array_equal(first["old"], rf) for rf in first.values()), "the cores disagree"
            times: Dict[str, List[float]] = {name: [] for name in runs}
            for _ in range(args.repeats):
                for name, run in runs.items():
                    t0 = time.perf_counter()
                    run()
                    times[name].append(time.perf_counter() - t0)
            rate = {name: n / min(t) / 1e6 for name, t in times.items()}
            print(f"depth {depth:2d} N {n:.0e} threads {threads}: old {rate['old']:.1f}M  new {rate['new']:.1f}M "
                  f"(x{rate['new'] / rate['old']:.2f})  by id {rate['by_id']:.1f}M (x{rate['by_id'] / rate['new']:.2f} "
                  f"dense; {len(wid.table)} distinct layers)", flush=True)  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
