"""`rfsearch batch` (placeholder until batch file I/O lands)."""

from __future__ import annotations

import argparse
from typing import Any


def add_batch_parser(sub: Any) -> None:
    """Registers the `batch` subcommand."""
    _ = (sub, argparse)
