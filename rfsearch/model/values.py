"""Plain values shared by every input path: checked integers and input sizes.

Python ints are unbounded and the core's are int64: every integer a user gives enters through
`as_int`, which names the field when the value is not an integer or leaves the allowed range.
numpy integer scalars are integers; bools and floats are not (a silent cast could change values).
"""

from __future__ import annotations

import operator
from typing import Optional, Sequence, Tuple, Union

from ..errors import INT64_MAX, SpecError, describe_int

__all__ = ["INT64_MAX", "as_int", "parse_size"]


def as_int(value: object, what: str, *, minimum: Optional[int] = None, maximum: int = INT64_MAX) -> int:
    """`value` as a Python int in [minimum, maximum]; SpecError naming `what` otherwise."""
    if isinstance(value, bool):
        raise SpecError(f"{what} must be an integer, got {value!r}")
    try:
        number = operator.index(value)  # type: ignore[arg-type]  # int, numpy integers, not floats
    except TypeError:
        shown = repr(value) if len(repr(value)) <= 40 else type(value).__name__
        raise SpecError(f"{what} must be an integer, got {shown}") from None
    if number > maximum:
        limit = "the int64 range" if maximum == INT64_MAX else str(maximum)
        raise SpecError(f"{what} is larger than {limit}, got {describe_int(number)}")
    if minimum is not None and number < minimum:
        raise SpecError(f"{what} must be >= {minimum}, got {describe_int(number)}")
    return number


def parse_size(text: Union[str, int, Sequence[int]]) -> Tuple[int, ...]:
    """'224', '224x224', 224 or (224, 224) to a tuple of positive ints."""
    if isinstance(text, str):
        try:
            values = tuple(int(v) for v in text.lower().split("x"))
        except ValueError:
            raise SpecError(f"input size must look like 32 or 224x224, got {text!r}") from None
    elif isinstance(text, int):
        values = (text,)
    else:
        values = tuple(text)
    for axis, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise SpecError(f"input size must be positive integers, got {v!r} on axis {axis}")
    return values
