"""Plain values shared by every input path: checked integers, integer literals and input sizes.

Python ints are unbounded and the core's are int64: every integer a user gives enters through
`as_int`, which names the field when the value is not an integer or leaves the allowed range.
numpy integer scalars are integers; bools and floats are not (a silent cast could change values).

Text (compact tokens, spec files, command-line options) reaches `as_int` through `int_literal`:
a literal longer than `MAX_LITERAL_DIGITS` digits is far outside int64, so it is not converted
(`int()` refuses more than 4300 digits and is quadratic below that) but kept as an
`OversizedInt`, which `as_int` reports like any other out-of-range value, naming the field.
"""

from __future__ import annotations

import operator
import re
import sys
from typing import Optional, Tuple, Union

from ..errors import INT64_MAX, INT64_MIN, SpecError, describe_digits, describe_int, shown

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_LITERAL_DIGITS",
    "OversizedInt",
    "as_index",
    "as_int",
    "int_literal",
    "parse_ints",
    "parse_size",
]

#: Integer literals with more digits than this are kept as OversizedInt, never converted.
MAX_LITERAL_DIGITS = 40


class OversizedInt:
    """An integer literal too long to convert (more than MAX_LITERAL_DIGITS digits), kept as text.

    It is outside int64 by far: `as_int` refuses it naming the field, like any out-of-range value.
    """

    __slots__ = ("negative", "digits")

    def __init__(self, negative: bool, digits: int) -> None:
        self.negative = negative
        self.digits = digits  # significant digits

    def __repr__(self) -> str:
        return describe_digits(self.digits, self.negative)

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OversizedInt) and (self.negative, self.digits) == (other.negative, other.digits)

    def __hash__(self) -> int:
        return hash((OversizedInt, self.negative, self.digits))


_LITERAL = re.compile(r"([-+]?)(?=[0-9])0*([0-9]*)")


def int_literal(text: str) -> Union[int, OversizedInt]:
    """Decimal digits with an optional sign (already checked to be that) to an int, or an
    OversizedInt when there are more than MAX_LITERAL_DIGITS significant digits."""
    m = _LITERAL.fullmatch(text)
    if m is None:
        raise ValueError(f"not a decimal integer literal: {shown(text)}")
    sign, digits = m.groups()
    if len(digits) > MAX_LITERAL_DIGITS:
        return OversizedInt(sign == "-", len(digits))
    return int(text)


def as_int(value: object, what: str, *, minimum: Optional[int] = None, maximum: int = INT64_MAX) -> int:
    """`value` as a Python int in [minimum, maximum] (minimum None: the int64 range); SpecError
    naming `what` otherwise. ints and numpy integers pass; bools, floats and text do not."""
    if type(value) is int:  # the common case, first
        number = value
    elif isinstance(value, bool):
        raise SpecError(f"{what} must be an integer, got {value!r}")
    elif isinstance(value, OversizedInt):
        side = "smaller" if value.negative else "larger"
        raise SpecError(f"{what} is {side} than the int64 range, got {value}")
    else:
        try:
            number = operator.index(value)  # type: ignore[arg-type]  # int subclasses, numpy integers
        except TypeError:
            raise SpecError(f"{what} must be an integer, got {shown(value, 40)}") from None
    if number > maximum:
        limit = "the int64 range" if maximum == INT64_MAX else str(maximum)
        raise SpecError(f"{what} is larger than {limit}, got {describe_int(number)}")
    if minimum is None:
        if number < INT64_MIN:
            raise SpecError(f"{what} is smaller than the int64 range, got {describe_int(number)}")
    elif number < minimum:
        raise SpecError(f"{what} must be >= {minimum}, got {describe_int(number)}")
    return number


_INTS_TEXT = re.compile(r"[-+]?[0-9]+(?:x[-+]?[0-9]+)*")


def parse_ints(text: str, what: str, *, minimum: Optional[int] = None, example: str = "3 or 3x4") -> Tuple[int, ...]:
    """Command-line text like '224' or '224x224' to ints, each checked by `as_int`.

    SpecError naming `what` (and the axis, for several values) when the text has another shape
    or a value is out of range; a 5000-digit value is reported by its length.
    """
    if not isinstance(text, str) or _INTS_TEXT.fullmatch(text.strip()) is None:
        raise SpecError(f"{what} must look like {example}, got {shown(text)}")
    parts = text.strip().split("x")
    out = []
    for axis, part in enumerate(parts):
        try:
            out.append(as_int(int_literal(part), what, minimum=minimum))
        except SpecError as e:
            raise (e.located(axis=axis) if len(parts) > 1 else e) from None
    return tuple(out)


def _is_ndarray(value: object) -> bool:
    """A numpy array? (numpy is not imported for this: if it was never imported, nothing is one.)"""
    np = sys.modules.get("numpy")
    return np is not None and isinstance(value, np.ndarray)


def as_index(value: object, ndim: int, what: str = "unit index") -> Tuple[int, ...]:
    """A unit index to one int per axis: an int (numpy integers too) for every axis, or a list,
    tuple or 1-D numpy array with one per axis. SpecError naming `what` (and the axis) for a
    wrong count, a bool, a float or a value outside int64; bounds are the caller's."""
    if isinstance(value, (list, tuple)) or (_is_ndarray(value) and value.ndim == 1):  # type: ignore[attr-defined]
        values: Tuple[object, ...] = tuple(value)  # type: ignore[arg-type]  # a list, tuple or 1-D array
        if len(values) != ndim:
            raise SpecError(f"{what} needs {ndim} values (one per axis), got {len(values)}")
    else:
        values = (value,)
    checked = []
    for axis, v in enumerate(values):
        try:
            checked.append(as_int(v, what))
        except SpecError as e:
            raise (e.located(axis=axis) if len(values) > 1 else e) from None
    return tuple(checked) if len(checked) == ndim else tuple(checked) * ndim


def parse_size(value: object) -> Tuple[int, ...]:
    """An input size to a tuple of positive ints: '224', '224x224', 224, numpy integers,
    or a sequence (224, 224). SpecError naming the axis otherwise (floats are refused)."""
    if isinstance(value, str):
        values: Tuple[object, ...] = parse_ints(value, "input size", example="32 or 224x224")
    elif isinstance(value, (list, tuple)) or (_is_ndarray(value) and value.ndim == 1):  # type: ignore[attr-defined]
        values = tuple(value)  # type: ignore[arg-type]  # a list, tuple or 1-D numpy array
        if not values:
            raise SpecError("input size needs at least one value (one per axis)")
    else:
        values = (value,)
    sizes = []
    for axis, v in enumerate(values):
        try:
            size = as_int(v, "input size")
        except SpecError as e:
            raise (e.located(axis=axis) if len(values) > 1 else e) from None
        if size < 1:
            raise SpecError(f"input size must be positive integers, got {size} on axis {axis}")
        sizes.append(size)
    return tuple(sizes)
