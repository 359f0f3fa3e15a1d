"""Plots (optional extra `plot`: matplotlib, drawn with the Agg canvas, no display needed).

Importing this package does not import matplotlib; drawing does.

    from rfsearch.plot import plot_growth, plot_unit, plot_erf
    plot_growth("zoo:resnet50").save("growth.png")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Plot", "plot_erf", "plot_growth", "plot_unit"]

if TYPE_CHECKING:
    from .figures import Plot as Plot
    from .figures import plot_erf as plot_erf
    from .figures import plot_growth as plot_growth
    from .figures import plot_unit as plot_unit
else:

    def __getattr__(name: str) -> Any:
        if name in __all__:
            from . import figures

            return getattr(figures, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
