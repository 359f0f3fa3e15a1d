#!/usr/bin/env python
"""Analysing a ResNet-50 from PyTorch: rfsearch (torch.fx trace + exact graph computation) against
torchscan 0.1.2's summary with receptive fields, in one run, on the same model.

    python bench/import_resnet50.py                    # 5 rounds, records results
    python bench/import_resnet50.py --rounds 2 --no-record

The model is torchvision's ResNet-50 layout (examples/torchvision_models.py: torchvision has no
CPU build on this machine's index), in eval mode, input 3x224x224. Measured, interleaved round
by round (best and median of --rounds; the machine may be shared), all warm (one untimed call of
each first: imports, torch.fx's first trace):

    rfsearch        rfsearch.inspect(model, 224): trace with torch.fx (no forward pass), build the
                    graph (175 nodes), compute every node's RF exactly
    rfsearch-trace  from_torch alone (the trace and the graph)
    torchscan       torchscan.summary(model, (3, 224, 224), receptive_field=True): forward hooks on
                    a real forward pass (stdout captured)

Checked: rfsearch's endpoint (layer4) has RF 427, jump 32, effective padding 213, the zoo's
hand-written numbers, node by node; torchscan's receptive-field column is parsed and reported
(it adds the RFs of branches in the order the modules run, so its values are not receptive
fields of the graph). Exits with 2 if rfsearch's numbers are wrong, 1 if rfsearch is not at
least --target times faster (default 5), and 3 when torchscan is missing (pip install
torchscan==0.1.2; --no-torchscan times rfsearch alone).

Results go to bench/import_resnet50.json and bench/import_resnet50.md (--no-record: not).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import platform
import re
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _models() -> Any:
    spec = importlib.util.spec_from_file_location("torchvision_models", ROOT / "examples" / "torchvision_models.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def torchscan_rf(model: Any) -> Dict[str, int]:
    """torchscan 0.1.2's summary with receptive fields; the RF column per top-level module."""
    import torchscan

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "CUDA is unavailable"
        torchscan.summary(model, (3, 224, 224), receptive_field=True, max_depth=1)
    rows = {}
    for line in buf.getvalue().splitlines():
        m = re.match(r"[├└]─(\S+)\s+\S+\s+\(.*?\)\s+[\d,]+\s+(\d+)\s*$", line)
        if m:
            rows[m.group(1)] = int(m.group(2))
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--target", type=float, default=5.0, help="rfsearch must be this many times faster")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--no-torchscan", action="store_true", help="time rfsearch alone")
    args = parser.parse_args(argv)

    import torch

    import rfsearch
    from rfsearch.graph import compute_graph, zoo_model
    from rfsearch.importers import from_torch

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None  # before the run
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model = _models().resnet50().eval()

    # Correctness first: every node the zoo names has the zoo's numbers.
    result = rfsearch.inspect(model, 224)
    zoo = compute_graph(zoo_model("resnet50"))
    ids = {row.id for row in result.nodes}
    compared = 0
    for row in zoo.nodes:
        other = row.id if row.id in ids else row.id + ".add" if row.id + ".add" in ids else None
        if other is None:
            continue
        mine, theirs = result.node(other), row
        if (mine.rf, mine.jump, mine.effective_padding, mine.output_size) != (
            theirs.rf, theirs.jump, theirs.effective_padding, theirs.output_size):  # fmt: skip
            print(f"WRONG: {other}: {mine.rf} {mine.jump} against the zoo's {theirs.rf} {theirs.jump}", file=sys.stderr)
            return 2
        compared += 1
    if (result.rf, result.jump, result.effective_padding) != ((427, 427), (32, 32), (213, 213)):
        print(f"WRONG: endpoint RF {result.rf}, jump {result.jump}", file=sys.stderr)
        return 2

    have_torchscan = importlib.util.find_spec("torchscan") is not None and not args.no_torchscan
    if not have_torchscan and not args.no_torchscan:
        print("torchscan is not installed: pip install torchscan==0.1.2 (or --no-torchscan)", file=sys.stderr)
        return 3
    scan_rows: Dict[str, int] = {}
    methods: Dict[str, Callable[[], Any]] = {
        "rfsearch": lambda: rfsearch.inspect(model, 224),
        "rfsearch-trace": lambda: from_torch(model, 224),
    }
    if have_torchscan:
        import torchscan

        methods["torchscan"] = lambda: scan_rows.update(torchscan_rf(model))
    for fn in methods.values():  # warm: imports, torch.fx's first trace, torch's first forward
        fn()
    times: Dict[str, List[float]] = {name: [] for name in methods}
    for _ in range(args.rounds):
        for name, fn in methods.items():
            times[name].append(timed(fn))

    best = {name: min(t) for name, t in times.items()}
    median = {name: statistics.median(t) for name, t in times.items()}
    print(f"ResNet-50 (torchvision layout), input 3x224x224, {args.rounds} rounds, best / median seconds")
    for name in methods:
        print(f"  {name:15s} {best[name]:8.4f}  {median[name]:8.4f}")
    ratio = None
    if have_torchscan:
        ratio = median["torchscan"] / median["rfsearch"]
        print(f"  rfsearch is {ratio:.1f}x faster (medians); {best['torchscan'] / best['rfsearch']:.1f}x (best)")
        print(f"  torchscan's RF column: layer4 {scan_rows.get('layer4')}, avgpool {scan_rows.get('avgpool')}, "
              f"fc {scan_rows.get('fc')} (the true RF of layer4: 427)")  # fmt: skip
    print(f"  rfsearch: {len(result.nodes)} nodes; {compared} of the zoo's nodes equal; layer4 RF {result.rf[0]}")

    if not args.no_record:
        import numpy

        record = {
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "rounds": args.rounds,
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
            "load_average": load,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": numpy.__version__,
            "torchscan": getattr(sys.modules.get("torchscan"), "__version__", None),
            "best_seconds": best,
            "median_seconds": median,
            "speedup_median": ratio,
            "rfsearch_rf": list(result.rf),
            "torchscan_rf": scan_rows,
            "nodes": len(result.nodes),
        }
        (HERE / "import_resnet50.json").write_text(json.dumps(record, indent=2) + "\n")
        lines = [
            "# Analysing a ResNet-50 from PyTorch",
            "",
            f"Recorded by `python bench/import_resnet50.py` on {record['date']}: torchvision-layout ResNet-50, input "
            f"3x224x224, {args.rounds} interleaved rounds, warm; {record['cpus']} CPUs ({record['machine']}), load "
            f"average {load if load is None else round(load, 2)} before the run, Python {record['python']}, torch "
            f"{record['torch']}, torchscan {record['torchscan']}.",
            "",
            "| method | best s | median s | RF of layer4 |",
            "|---|---:|---:|---:|",
            f"| rfsearch: `rfsearch.inspect(model, 224)` (torch.fx trace + exact graph) | {best['rfsearch']:.4f} | "
            f"{median['rfsearch']:.4f} | {result.rf[0]} |",
            f"| rfsearch: `from_torch` alone (trace + graph) | {best['rfsearch-trace']:.4f} | "
            f"{median['rfsearch-trace']:.4f} | |",
        ]
        if have_torchscan:
            lines.append(f"| torchscan 0.1.2: `summary(model, (3, 224, 224), receptive_field=True)` | "
                         f"{best['torchscan']:.4f} | {median['torchscan']:.4f} | {scan_rows.get('layer4')} |")  # fmt: skip
            lines += ["", f"rfsearch is {ratio:.1f}x faster (medians). torchscan's receptive-field column reads "
                      f"layer4 {scan_rows.get('layer4')}, avgpool {scan_rows.get('avgpool')}, fc {scan_rows.get('fc')}: "
                      "it adds the RFs of the branches of each block in the order the modules run; the RF of "
                      "layer4 is 427 (every node checked against the zoo's hand-written graph)."]  # fmt: skip
        (HERE / "import_resnet50.md").write_text("\n".join(lines) + "\n")
    if ratio is not None and args.target and ratio < args.target:
        print(f"rfsearch is {ratio:.1f}x faster, below the target {args.target}x", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
