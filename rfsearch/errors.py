"""Errors raised for bad input, and the wording shared by every input path and both backends.

Everything a user can get wrong is reported as a `SpecError` (a `ValueError`) whose message says
where: the file and line, then the stack, layer and axis, then what is wrong with which field.
"""

from __future__ import annotations

from typing import Optional

__all__ = ["INT64_MAX", "INT64_MIN", "SpecError", "batch_param_message", "describe_digits", "describe_int", "shown"]

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
