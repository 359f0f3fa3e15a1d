"""Errors raised for bad input, and the wording shared by every input path and both backends.

Everything a user can get wrong is reported as a `SpecError` (a `ValueError`) whose message says
where: the file and line, then the stack, layer and axis, then what is wrong with which field.
"""

from __future__ import annotations

from typing import Callable, Optional, Tuple

__all__ = ["INT64_MAX", "SpecError", "batch_param_message", "core_error", "describe_int"]

INT64_MAX = 2**63 - 1


def describe_int(value: int) -> str:
    """An integer for a message: huge ones are summarised (and str() of > 4300 digits would raise)."""
    if -(10**30) < value < 10**30:
        return str(value)
    digits = value.bit_length() * 30103 // 100000 + 1  # ~log10(2) * bits, no str() needed
    return f"{'-' if value < 0 else ''}a number of about {digits} digits"


class SpecError(ValueError):
    """An input (Python objects, compact text, a file, arrays) is invalid.

    The message says where: ``source:line``, then ``stack s, layer l, axis a``, then the reason.
    Any of them may be unknown (None); `located` fills in what a caller knows further out.
    """

    def __init__(
        self,
        message: str,
        *,
        source: Optional[str] = None,
        line: Optional[int] = None,
        stack: Optional[int] = None,
        layer: Optional[int] = None,
        axis: Optional[int] = None,
    ) -> None:
        self.reason = message
        self.source = source
        self.line = line
        self.stack = stack
        self.layer = layer
        self.axis = axis
        where = []
        if source is not None:
            where.append(f"{source}:{line}" if line is not None else source)
        parts = [f"{name} {value}" for name, value in (("stack", stack), ("layer", layer), ("axis", axis))
                 if value is not None]  # fmt: skip
        if parts:
            where.append(", ".join(parts))
        super().__init__(": ".join([*where, message]))

    def located(
        self,
        *,
        source: Optional[str] = None,
        line: Optional[int] = None,
        stack: Optional[int] = None,
        layer: Optional[int] = None,
        axis: Optional[int] = None,
    ) -> SpecError:
        """The same error with more context filled in (what is already known is kept)."""

        def keep(mine: Optional[object], given: Optional[object]) -> Optional[object]:
            return mine if mine is not None else given

        return SpecError(
            self.reason,
            source=keep(self.source, source),  # type: ignore[arg-type]
            line=keep(self.line, line),  # type: ignore[arg-type]
            stack=keep(self.stack, stack),  # type: ignore[arg-type]
            layer=keep(self.layer, layer),  # type: ignore[arg-type]
            axis=keep(self.axis, axis),  # type: ignore[arg-type]
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


def core_error(
    stack: int,
    layer: int,
    axis: int,
    field: str,
    code: str,
    value: int,
    *,
    n_layers: int,
    n_rows: Optional[int] = None,
    where: Optional[Callable[[int], Tuple[Optional[str], Optional[int]]]] = None,
    first_stack: int = 0,
) -> SpecError:
    """The located SpecError for an invalid input the core or the reference found; the one wording
    of each parameter error code (rfsearch._core.PARAM_ERRORS).

    stack, layer, axis: where in the batch (layer / axis -1: not about one layer / axis); field:
    the input (kernel, stride, dilation, padding, padding_after, depth, ids); value: the offending
    value. n_layers: L (the depth range); n_rows: the layer table's rows (the id range).
    where(stack) -> (source, line): where that stack came from (e.g. a batch file and line); a
    line then names the stack instead of its index. first_stack is added to the index shown (a
    chunk's first stack in its file). Returns the error (the caller raises it).
    """
    shown = describe_int(value)
    if code in ("kernel_below_one", "stride_below_one", "dilation_below_one"):
        reason = f"{field} must be >= 1, got {shown}"
    elif code == "padding_negative":
        reason = f"padding must be >= 0 or PAD_SAME (-1), got {shown}"
    elif code == "padding_after_mismatch":
        reason = f"padding_after must be >= 0, and PAD_SAME (-1) exactly when padding is PAD_SAME, got {shown}"
    elif code == "same_needs_size":
        reason = f"padding 'same' with stride {shown} depends on the input size; give an input size"
    elif code == "too_large":
        reason = f"{field} is larger than the int64 range, got {shown}"
    elif code == "depth_out_of_range":
        reason = f"depth must be in [0, {n_layers}], got {shown}"
    elif code == "id_out_of_range":
        rows = "" if n_rows is None else " (the table is empty)" if n_rows == 0 else f" (rows 0..{n_rows - 1})"
        reason = f"id {shown} is not a row of the layer table{rows}"
    else:
        raise ValueError(f"unknown core error code {code!r}")
    source, line = where(stack) if where is not None else (None, None)
    return SpecError(
        reason,
        source=source,
        line=line,
        stack=first_stack + stack if line is None else None,
        layer=layer if layer >= 0 else None,
        axis=axis if axis >= 0 else None,
    )
