"""Filter a NAS tool's candidate list by receptive-field targets, at batch-core speed.

Any NAS tool that can write its candidates as compact text (or `rfsearch` layers) gets per-stack
metrics and graded constraint violations as numpy arrays from `rfsearch.score`: one batch-core
call for the whole list.

    python examples/filter_candidates.py
"""

import random
import time

from rfsearch import score

rng = random.Random(0)


def candidate() -> str:
    """What a NAS tool might propose: 6 to 10 convolutions and max-pools, kernels 1..7, some strided."""
    layers = []
    for _ in range(rng.randint(6, 10)):
        k = rng.choice([1, 3, 5, 7])
        op = rng.choice(["conv", "conv", "maxpool"])
        s = rng.choice([1, 1, 2])
        layers.append(f"{op}{k}s{s}p{k // 2}")
    return ",".join(layers)


candidates = [candidate() for _ in range(100_000)]
start = time.perf_counter()
s = score(candidates, {"rf": [100, 200], "jump": [8, 32], "output_size": [7, 28]}, input_size=224,
          channels={"input": 3, "widths": [32, 64, 128, 256]}, objective="macs")
seconds = time.perf_counter() - start
keep = [c for c, ok in zip(candidates, s.feasible) if ok]
print(f"{len(keep)} of {len(candidates)} candidates meet the targets (scored in {seconds:.2f} s)")
print(f"cheapest kept: {keep[int(s.macs[s.feasible].argmin())]}")
print(f"median RF shortfall of the others: {float(sorted(s.violations['rf'][~s.feasible])[len(candidates) - len(keep) >> 1]):g} px")
assert 0 < len(keep) < len(candidates)
