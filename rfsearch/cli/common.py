"""What every subcommand shares."""

from __future__ import annotations

__all__ = ["UsageError"]


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit code 2."""
