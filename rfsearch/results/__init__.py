"""Results of one network (final values, per-layer rows, a unit's RF) and their text forms."""

from .network import LayerRF, RFResult, UnitRF

__all__ = ["LayerRF", "RFResult", "UnitRF"]
