"""Plain values shared by every input path: sizes (and, later, checked integers)."""

from __future__ import annotations

from typing import Sequence, Tuple, Union

from ..errors import SpecError

__all__ = ["parse_size"]


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
