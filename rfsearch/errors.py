"""Errors raised for bad input, and the wording shared by every input path and both backends.

Everything a user can get wrong is reported as a `SpecError` (a `ValueError`) whose message says
where: the file and line, then the stack, layer and axis, then what is wrong with which field.
"""

from __future__ import annotations

from typing import Callable, Optional, Tuple

__all__ = ["INT64_MAX", "INT64_MIN", "SpecError", "core_error", "describe_digits", "describe_int", "shown"]

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
_SHOWN_DIGITS = 30  # up to this many digits a number is shown; beyond, its length is


def describe_digits(digits: int, negative: bool = False) -> str:
    """How a message names an integer too long to show: 'a number of 5000 digits'."""
    return f"a {'negative ' if negative else ''}number of {digits} digits"


def describe_int(value: int) -> str:
    """An integer for a message: the number itself, or its length when it has more than 30 digits
    (str() of a number above 4300 digits raises, and is quadratic below that)."""
    if -(10**_SHOWN_DIGITS) < value < 10**_SHOWN_DIGITS:
        return str(value)
    size = abs(value)
    digits = size.bit_length() * 30103 // 100000 + 1  # >= log10(2) * bits + 1: never too small
    while size < 10 ** (digits - 1):  # at most a step or two: exact without str()
        digits -= 1
    return describe_digits(digits, value < 0)


def shown(value: object, limit: int = 60) -> str:
    """A user's value for a message: its repr, cut to `limit` characters (a message stays one short line).

    Huge integers are described by their length; other values longer than the limit are cut
    and their full length given, so a 10 MB token cannot turn into a 10 MB message.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return describe_int(value)
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    if isinstance(value, (list, tuple, dict)) and len(value) > limit // 2:  # repr of the whole would be big
        return f"a {type(value).__name__} of {len(value)} items"
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # a container holding a huge int, or nested too deep
        return f"a {type(value).__name__}"
    return text if len(text) <= limit else f"{text[:limit]}... ({type(value).__name__})"


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
