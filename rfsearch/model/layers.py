"""The layer model: what a stack is made of, validated once, at construction.

Every parameter is an int (the same on every axis) or a tuple with one entry per spatial axis
(1D, 2D, 3D, anisotropic like (1, 7)). Padding is an int, a per-axis tuple whose entries are
ints or (before, after) pairs, or "same" / "valid".
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple, Optional, Tuple, Union

from ..errors import SpecError

__all__ = [
    "PAD_SAME",
    "AxisParams",
    "AvgPool",
    "Conv",
    "Identity",
    "Layer",
    "MaxPool",
    "Padding",
    "Param",
]

#: Padding value in the batch arrays that means TensorFlow 'SAME'.
PAD_SAME = -1

Param = Union[int, Tuple[int, ...]]
Padding = Union[int, str, Tuple[Union[int, Tuple[int, int]], ...]]


class AxisParams(NamedTuple):
    """One layer's parameters on one axis, as the math (reference and core) consumes them."""

    kernel: int
    stride: int
    dilation: int
    pad_before: int  # or PAD_SAME
    pad_after: int  # or PAD_SAME
    ceil_mode: bool


def _as_int(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise SpecError(f"{what} must be an integer, got {value!r}")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise SpecError(f"{what} must be an integer, got {value!r}") from None


def _param(value: object, what: str, minimum: int) -> Param:
    """Normalises an int-or-per-axis parameter and checks its range."""
    if isinstance(value, (tuple, list)):
        if not value:
            raise SpecError(f"{what} must not be an empty tuple")
        items = tuple(_as_int(v, what) for v in value)
    else:
        items = (_as_int(value, what),)
    for axis, v in enumerate(items):
        if v < minimum:
            on_axis = f" on axis {axis}" if len(items) > 1 else ""
            raise SpecError(f"{what} must be >= {minimum}{on_axis}, got {v}")
    return items if isinstance(value, (tuple, list)) else items[0]


def _padding(value: object) -> Padding:
    if isinstance(value, str):
        mode = value.lower()
        if mode not in ("same", "valid"):
            raise SpecError(f"padding must be an int, a per-axis tuple, 'same' or 'valid', got {value!r}")
        return mode
    if not isinstance(value, (tuple, list)):
        pad = _as_int(value, "padding")
        if pad < 0:
            raise SpecError(f"padding must be >= 0, got {pad}")
        return pad
    if not value:
        raise SpecError("padding must not be an empty tuple")
    axes: list[Union[int, Tuple[int, int]]] = []
    for axis, entry in enumerate(value):
        if isinstance(entry, (tuple, list)):
            if len(entry) != 2:
                raise SpecError(f"padding on axis {axis} must be an int or a (before, after) pair, got {entry!r}")
            pair = (_as_int(entry[0], "padding"), _as_int(entry[1], "padding"))
            if min(pair) < 0:
                raise SpecError(f"padding on axis {axis} must be >= 0, got {pair}")
            axes.append(pair)
        else:
            pad = _as_int(entry, "padding")
            if pad < 0:
                raise SpecError(f"padding on axis {axis} must be >= 0, got {pad}")
            axes.append(pad)
    return tuple(axes)


def _axes(value: Union[Param, Padding]) -> Optional[int]:
    return len(value) if isinstance(value, tuple) else None


def _fmt(value: Param) -> str:
    return "x".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _fmt_padding(value: Padding) -> str:
    if isinstance(value, (int, str)):
        return str(value)
    return "x".join(f"{e[0]}:{e[1]}" if isinstance(e, tuple) else str(e) for e in value)


@dataclass(frozen=True)
class Layer:
    """A layer with a sliding window. Use the subclasses: Conv, MaxPool, AvgPool, Identity."""

    kind: ClassVar[str] = "layer"
    kernel: Param = 1
    stride: Param = 1
    padding: Padding = 0
    dilation: Param = 1
    ceil_mode: bool = False
    name: Optional[str] = field(default=None, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "kernel", _param(self.kernel, "kernel", 1))
        set_(self, "stride", _param(self.stride, "stride", 1))
        set_(self, "dilation", _param(self.dilation, "dilation", 1))
        set_(self, "padding", _padding(self.padding))
        if not isinstance(self.ceil_mode, bool):
            raise SpecError(f"ceil_mode must be true or false, got {self.ceil_mode!r}")
        lengths = {n for n in map(_axes, (self.kernel, self.stride, self.dilation, self.padding)) if n}
        if len(lengths) > 1:
            raise SpecError(f"per-axis values disagree on the number of axes: {sorted(lengths)}")

    @functools.cached_property  # hot in batch parsing; the layer is immutable
    def ndim(self) -> Optional[int]:
        """Number of axes the layer fixes (None: all scalar, fits any number of axes)."""
        for value in (self.kernel, self.stride, self.dilation, self.padding):
            n = _axes(value)
            if n:
                return n
        return None

    def axis_params(self, ndim: int) -> Tuple[AxisParams, ...]:
        """The layer's parameters on each of `ndim` axes; 'same' becomes PAD_SAME, 'valid' 0."""
        if self.ndim not in (None, ndim):
            raise SpecError(f"layer has {self.ndim} axes but the stack has {ndim}")

        def on(value: Param, axis: int) -> int:
            return value[axis] if isinstance(value, tuple) else value

        out = []
        for axis in range(ndim):
            pad = self.padding
            before: int
            after: int
            if isinstance(pad, str):
                before = after = PAD_SAME if pad == "same" else 0
            else:
                entry = pad[axis] if isinstance(pad, tuple) else pad
                before, after = entry if isinstance(entry, tuple) else (entry, entry)
            out.append(
                AxisParams(
                    on(self.kernel, axis), on(self.stride, axis), on(self.dilation, axis), before, after, self.ceil_mode
                )
            )
        return tuple(out)

    def spec(self) -> str:
        """The layer in the compact text grammar (parses back to an equal layer)."""
        text = f"{self.kind}{_fmt(self.kernel)}"
        if self.stride != self._default_stride():
            text += f"s{_fmt(self.stride)}"
        if self.padding != 0:
            text += f"p{_fmt_padding(self.padding)}"
        if self.dilation != 1:
            text += f"d{_fmt(self.dilation)}"
        if self.ceil_mode:
            text += "c"
        return text

    def _default_stride(self) -> Param:
        return 1

    @property
    def label(self) -> str:
        """What tables show: the user's name if given, else the compact spec."""
        return self.name or self.spec()


@dataclass(frozen=True)
class Conv(Layer):
    """Convolution. ``Conv(3, stride=2, padding=1)``; ``Conv((1, 7), padding=(0, 3))``."""

    kind: ClassVar[str] = "conv"

    def __post_init__(self) -> None:
        if self.ceil_mode:
            raise SpecError("ceil_mode applies to pooling layers only, not conv")
        super().__post_init__()


@dataclass(frozen=True)
class _Pool(Layer):
    # stride None means "same as kernel", as in PyTorch and Keras pooling layers.
    stride: Optional[Param] = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.stride is None:
            object.__setattr__(self, "stride", self.kernel)
        super().__post_init__()

    def _default_stride(self) -> Param:
        return self.kernel


@dataclass(frozen=True)
class MaxPool(_Pool):
    """Max pooling. ``MaxPool(2)`` has stride 2 (stride defaults to the kernel, as in PyTorch)."""

    kind: ClassVar[str] = "maxpool"


@dataclass(frozen=True)
class AvgPool(_Pool):
    """Average pooling. Stride defaults to the kernel, as in PyTorch."""

    kind: ClassVar[str] = "avgpool"


@dataclass(frozen=True)
class Identity(Layer):
    """An RF-neutral layer (activation, batch norm, dropout...): kernel 1, stride 1, no padding."""

    kind: ClassVar[str] = "identity"

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.kernel, self.stride, self.padding, self.dilation, self.ceil_mode) != (1, 1, 0, 1, False):
            raise SpecError("an RF-neutral layer takes no kernel, stride, padding, dilation or ceil_mode")

    def spec(self) -> str:
        return self.name or "identity"
