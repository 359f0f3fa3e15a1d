"""What every subcommand shares."""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import NoReturn

from ..model.values import as_int

__all__ = ["OneLineParser", "UsageError", "int_option", "threads_option"]

_WHOLE = re.compile(r"\s*[+-]?\d+\s*", re.ASCII)  # ASCII digits only, as int_literal


class OneLineParser(argparse.ArgumentParser):
    """argparse's parser whose errors are one line (argparse prints the whole usage first), exit
    code 2, as every other error. Subparsers are of the same class (add_subparsers' default)."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} -h)\n")
        raise SystemExit(2)


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit code 2."""


def int_option(text: str, name: str, *, minimum: int = 1) -> int:
    """A whole number given on the command line (decimal digits only), checked by `as_int`.

    Raises UsageError or SpecError naming the option: '1e3', '2.5' and 5,000-digit numbers
    are refused before anything runs.
    """
    if not _WHOLE.fullmatch(text):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise UsageError(f"{name} must be a whole number, got {shown!r}")
    digits = len(text.strip().lstrip("+-"))
    if digits > 30:  # int() of thousands of digits is slow, and refused past 4,300
        raise UsageError(f"{name} is larger than the int64 range, got a number of {digits} digits")
    return as_int(int(text), name, minimum=minimum)


def threads_option(text: str) -> int:
    """-j/--threads: -1 for all cores, else 1 or more, capped at the number of cores (more threads
    than cores only add overhead; the core caps again on its side)."""
    value = int_option(text, "--threads", minimum=-1)
    if value == 0:
        raise UsageError("--threads must be 1 or more, or -1 for all cores, got 0")
    return -1 if value == -1 else min(value, os.cpu_count() or 1)
