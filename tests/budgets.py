"""Example budgets: each property test says how many examples it runs in CI and locally.

Cheap differential tests take 10,000 in CI; expensive ones (brute force over a space, torch
models, subprocesses) a number that fits in a CI run. `CI` is set (and not 0/false/no) in CI.
A plain local run is a quick pass (the whole of it under a minute on 2 cores): each test takes
its `dev` budget, at most DEV_CAP examples (25; RFSEARCH_DEV_EXAMPLES=N changes the cap).
"""

from __future__ import annotations

import os

__all__ = ["CI", "DEV_CAP", "budget"]

CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
DEV_CAP = int(os.environ.get("RFSEARCH_DEV_EXAMPLES", "25"))


def budget(*, ci: int, dev: int) -> int:
    """max_examples for a hypothesis test: `ci` in CI, `dev` in a local run."""
    return ci if CI else min(dev, DEV_CAP)
