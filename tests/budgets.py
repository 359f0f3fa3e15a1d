"""Example budgets: each property test says how many examples it runs in CI and locally.

Cheap differential tests take 10,000 in CI; expensive ones (brute force over a space, torch
models, subprocesses) a number that fits in a CI run. `CI` is set (and not 0/false/no) in CI.
"""

from __future__ import annotations

import os

__all__ = ["CI", "budget"]

CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def budget(*, ci: int, dev: int) -> int:
    """max_examples for a hypothesis test: `ci` in CI, `dev` in a local run."""
    return ci if CI else dev
