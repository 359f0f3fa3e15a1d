"""The layer model: what a stack is made of, validated once, at construction.

Every parameter is an int (the same on every axis) or a tuple with one entry per spatial axis
(2D, 3D, anisotropic like (1, 7)); a one-entry tuple (3,) is the int 3, as in the compact text. Padding is an int, a per-axis tuple whose entries are
ints or (before, after) pairs, or "same" / "valid". Every integer enters through
`values.as_int` (int64 range; numpy integers accepted; bools, floats and text refused, naming the
field and axis). A name is printable text of at most MAX_NAME_LENGTH characters (an integer is
taken as its digits); it labels the layer in tables and never takes part in equality.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple, Optional, Tuple, Union

from ..errors import INT64_MAX, SpecError, shown
from .values import as_int

__all__ = [
    "PAD_SAME",
    "AxisParams",
    "AvgPool",
    "Conv",
    "Identity",
    "Layer",
    "MAX_NAME_LENGTH",
    "MaxPool",
    "NEUTRAL_NAMES",
    "Padding",
    "Param",
    "check_field",
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


#: Names of RF-neutral layers (activations, normalisation, dropout, ...): the compact grammar's
#: words for an Identity layer, also accepted as a spec file's `type`.
NEUTRAL_NAMES = frozenset(
    "identity relu relu6 leakyrelu prelu elu selu gelu silu swish mish sigmoid tanh softmax "
    "act activation bn batchnorm norm layernorm groupnorm instancenorm dropout flatten".split()
)

#: Longest layer name accepted: names are labels in tables, not documents.
MAX_NAME_LENGTH = 200
# Characters a name may not hold: control characters (terminal escapes, newlines that would split
# a table row or a one-line error), line separators, the bidi overrides that reorder text, and
# lone surrogates (JSON's "\ud800": no UTF-8 output can print them).
_BAD_NAME_CHAR = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _param(value: object, what: str, minimum: int) -> Param:
    """Normalises an int-or-per-axis parameter and checks its range (errors name the axis)."""
    if type(value) is int and minimum <= value <= INT64_MAX:  # the common case, first
        return value
    if isinstance(value, (tuple, list)):
        if not value:
            raise SpecError(f"{what} must not be an empty tuple")
        items = []
        for axis, v in enumerate(value):
            try:
                items.append(as_int(v, what, minimum=minimum))
            except SpecError as e:
                raise e.located(axis=axis) from None
        return tuple(items) if len(items) > 1 else items[0]  # one value, 3 or (3,), is every axis's
    return as_int(value, what, minimum=minimum)


def _padding(value: object) -> Padding:
    if type(value) is int and 0 <= value <= INT64_MAX:
        return value
    if isinstance(value, str):
        mode = value.lower()
        if mode not in ("same", "valid"):
            raise SpecError(f"padding must be an int, a per-axis tuple, 'same' or 'valid', got {shown(value)}")
        return mode
    if not isinstance(value, (tuple, list)):
        return as_int(value, "padding", minimum=0)
    if not value:
        raise SpecError("padding must not be an empty tuple")
    axes: list[Union[int, Tuple[int, int]]] = []
    for axis, entry in enumerate(value):
        try:
            if isinstance(entry, (tuple, list)):
                if len(entry) != 2:
                    raise SpecError(f"padding must be an int or a (before, after) pair, got {shown(entry)}")
                axes.append((as_int(entry[0], "padding", minimum=0), as_int(entry[1], "padding", minimum=0)))
            else:
                axes.append(as_int(entry, "padding", minimum=0))
        except SpecError as e:
            raise e.located(axis=axis) from None
    if len(axes) == 1 and not isinstance(axes[0], tuple):
        return axes[0]  # one value is every axis's; a (before, after) pair stays: it fixes one axis
    return tuple(axes)


def _name(value: object) -> Optional[str]:
    """A layer's name: text (an integer is taken as its digits; None or "" is no name)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        if isinstance(value, (float, bool, list, tuple, dict)) or not hasattr(value, "__index__"):
            raise SpecError(f"name must be text, got {shown(value, 40)}")
        return str(as_int(value, "name"))
    if len(value) > MAX_NAME_LENGTH:
        raise SpecError(f"name must be at most {MAX_NAME_LENGTH} characters, got {len(value)}")
    bad = _BAD_NAME_CHAR.search(value)
    if bad:
        raise SpecError(f"name must be printable text, got {shown(value, 40)} (character U+{ord(bad[0]):04X})")
    return value


def _ceil_mode(value: object) -> bool:
    np = sys.modules.get("numpy")  # not imported for this: if it was never imported, nothing is a numpy bool
    if isinstance(value, bool) or (np is not None and isinstance(value, np.bool_)):  # numpy's bool is a bool too
        return bool(value)
    raise SpecError(f"ceil_mode must be true or false, got {shown(value, 40)}")


_FIELD_CHECKS = {
    "kernel": lambda v: _param(v, "kernel", 1),
    "stride": lambda v: _param(v, "stride", 1),
    "dilation": lambda v: _param(v, "dilation", 1),
    "padding": _padding,
    "ceil_mode": _ceil_mode,
    "name": _name,
}


def check_field(name: str, value: object) -> object:
    """One layer field checked alone, as the layer classes check it: the normalised value, or the
    SpecError they would raise (lets a file reader point at the offending key's line)."""
    return _FIELD_CHECKS[name](value)


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
        ceil: object = self.ceil_mode  # typed bool, but callers may pass anything
        if ceil is not False and ceil is not True:
            set_(self, "ceil_mode", _ceil_mode(ceil))
        if self.name is not None:
            set_(self, "name", _name(self.name))
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
        # Kept on the instance for the last ndim asked (the layer is immutable; a search space
        # evaluates the same layer objects in many stacks). Not a field: equality ignores it.
        cached = self.__dict__.get("_axis_params")
        if cached is not None and cached[0] == ndim:
            return cached[1]  # type: ignore[no-any-return]
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
        params = tuple(out)
        self.__dict__["_axis_params"] = (ndim, params)
        return params

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

    def named(self, name: object) -> Layer:
        """This layer under another name (checked as at construction; parameters are not re-checked)."""
        other = object.__new__(type(self))  # copy.copy, without its generic machinery (hot in big specs)
        other.__dict__.update(self.__dict__)
        other.__dict__["name"] = _name(name)
        return other

    @property
    def label(self) -> str:
        """What tables show: the user's name if given, else the compact spec."""
        return self.name or self.spec()


@dataclass(frozen=True)
class Conv(Layer):
    """Convolution. ``Conv(3, stride=2, padding=1)``; ``Conv((1, 7), padding=(0, 3))``."""

    kind: ClassVar[str] = "conv"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.ceil_mode:
            raise SpecError("ceil_mode applies to pooling layers only, not conv")


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
        # The neutral word it was written as (relu, bn, ...); a free-form name is a label, not a token.
        return self.name if self.name is not None and self.name in NEUTRAL_NAMES else "identity"
