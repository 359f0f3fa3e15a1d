"""Many candidate stacks from numpy arrays: rfsearch.score_stacks (see README, "Many stacks")."""

import numpy as np

from rfsearch import Status, score_stacks

rng = np.random.default_rng(0)
n, depth = 100_000, 10
kernel = rng.integers(1, 8, (n, depth), dtype=np.int32)  # (N, L): one axis; (N, L, A): A axes
stride = rng.integers(1, 3, (n, depth), dtype=np.int32)
scores = score_stacks(kernel, stride, padding=kernel // 2, input_size=224)

wanted = scores.valid & (scores.rf >= 100) & (scores.rf <= 120) & (scores.jump == 16)
print(f"{n:,} stacks: {int(scores.valid.sum()):,} valid on 224, {int((scores.status == Status.COLLAPSED).sum()):,} "
      f"collapsed; {int(wanted.sum()):,} with an RF of 100-120 at output stride 16")
best = int(np.flatnonzero(wanted)[0])
print(f"e.g. stack {best}: kernels {kernel[best].tolist()}, strides {stride[best].tolist()}, RF {int(scores.rf[best])}")
