"""The `rfsearch` command: a thin shell over the API (the API never imports this package)."""

from .main import main

__all__ = ["main"]
