"""Errors raised for bad input, and the wording shared by both backends."""

from __future__ import annotations

from typing import Optional

__all__ = ["SpecError", "batch_param_message"]


class SpecError(ValueError):
    """A layer spec (Python objects, compact text or a file) is invalid.

    The message says where: the file and line, the layer index, and the field.
    """

    def __init__(
        self,
        message: str,
        *,
        source: Optional[str] = None,
        line: Optional[int] = None,
        layer: Optional[int] = None,
    ) -> None:
        self.reason = message
        self.source = source
        self.line = line
        self.layer = layer
        where = []
        if source is not None:
            where.append(f"{source}:{line}" if line is not None else source)
        if layer is not None:
            where.append(f"layer {layer}")
        super().__init__(": ".join([*where, message]))

    def located(
        self, *, source: Optional[str] = None, line: Optional[int] = None, layer: Optional[int] = None
    ) -> SpecError:
        """The same error with more context filled in (what is already known is kept)."""
        return SpecError(
            self.reason,
            source=self.source if self.source is not None else source,
            line=self.line if self.line is not None else line,
            layer=self.layer if self.layer is not None else layer,
        )


def batch_param_message(stack: int, layer: int, axis: int, field: str, reason: str, value: int, n_layers: int) -> str:
    """Message for an invalid value in the batch arrays (identical for the C++ and Python backends)."""
    if reason == "depth_range":
        return f"stack {stack}: depth must be in [0, {n_layers}], got {value}"
    where = f"stack {stack}, layer {layer}, axis {axis}"
    if reason == "too_large":
        return f"{where}: {field} is larger than the int64 range"
    if reason == "negative":
        return f"{where}: padding must be >= 0 or PAD_SAME (-1), got {value}"
    if reason == "padding_after":
        return (
            f"{where}: padding_after must be >= 0, and PAD_SAME (-1) exactly when padding is PAD_SAME, got {value}"
        )
    if reason == "same_needs_size":
        return f"{where}: padding 'same' with stride > 1 depends on the input size; pass input_size"
    return f"{where}: {field} must be >= 1, got {value}"
