"""The computation: layers as integer arrays, the compiled core and the pure-Python reference."""

from .batch import StackScores, Status, score_stacks
from .network import receptive_field

__all__ = ["StackScores", "Status", "receptive_field", "score_stacks"]
