"""Search spaces: which layer stacks a sweep, a count or a sampler ranges over, and what they must meet.

A space is a YAML/JSON file or the same as Python objects (`SearchSpace`, `Choices`, `Rules`,
`Channels`, `Targets`); both go through the same validation, and errors name the key (and, from a
file, its line): ``space.yaml:7: layers.kernel[2]: kernel must be >= 1, got 0``.

What is counted, everywhere the same:

- A **candidate** is a sequence of layers whose length is within `depth`; the layer at position i
  is one of that position's choices. A position's choices are the product, in this order,
  kind x kernel x stride x dilation x padding x ceil_mode, each list in the order written (the
  first key varies slowest). Dilation does not multiply avg-pool choices (they get dilation 1),
  ceil_mode multiplies pooling choices only, and without a `stride` key conv strides are 1 and
  pooling strides equal the kernel (PyTorch). `positions[i]` overrides `layers` key by key at
  position i. Two choices that happen to build the same layer (``padding: [half, 1]`` with
  kernel 3) are still two choices: counts are of choice sequences.
- A candidate is identified by its **choice indices** (one per layer, into `SearchSpace.choices`);
  candidates are ordered lexicographically on them, a stack before its extensions (the order of
  a depth-first walk). Ties in top-K lists and the representative of a Pareto vector use it.
- `total` counts all candidates (before rules and targets); `feasible` those that satisfy the
  rules and every target and neither collapse (an output size below 1) nor overflow (int64).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cached_property
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from ..errors import INT64_MAX, SpecError
from ..model.layers import PAD_SAME, AvgPool, Conv, Layer, MaxPool
from ..model.values import as_int, parse_ints
from .document import KeyPath, SpaceDocument, format_path, load_document, read_space_document

__all__ = [
    "KINDS",
    "MAX_DEPTH",
    "OBJECTIVES",
    "AxisRanges",
    "Channels",
    "Choices",
    "Rules",
    "SearchSpace",
    "SpaceError",
    "SpaceLike",
    "Targets",
    "as_space",
    "load_space",
    "parse_space",
]

KINDS = ("conv", "maxpool", "avgpool")
OBJECTIVES = ("macs", "params", "depth", "rf_error")
PADDING_MODES = ("half", "same", "valid")
#: Targets the exact counter cannot handle (see count.py): they need the whole stack.
UNCOUNTABLE_TARGETS = ("coverage", "max_params", "max_macs")
MAX_DEPTH = 4096  # a stack longer than this overflows the jump long before with any stride > 1

AxisValue = Union[int, Tuple[int, ...]]  # one int for every axis, or one per axis
PaddingChoice = Union[str, int, Tuple[int, ...]]  # "half" | "same" | "valid" | int | per-axis ints
Range = Tuple[int, int]


class SpaceError(SpecError):
    """A bad value in a space, with the key path where it sits (the file loader turns it into a line)."""

    def __init__(self, path: KeyPath, reason: str) -> None:
        self.path = path
        self.detail = reason
        super().__init__(f"{format_path(path)}: {reason}" if path else reason)


@contextlib.contextmanager
def _under(*prefix: Union[str, int]) -> Iterator[None]:
    """Errors raised inside are re-raised with `prefix` in front of their key path."""
    try:
        yield
    except SpaceError as e:
        raise SpaceError((*prefix, *e.path), e.detail) from None


def _name(path: KeyPath) -> str:
    return next((p for p in reversed(path) if isinstance(p, str)), "value")


def _int(value: object, path: KeyPath, minimum: int) -> int:
    try:
        return as_int(value, _name(path), minimum=minimum)
    except SpecError as e:
        raise SpaceError(path, e.reason) from None


def _bool(value: object, path: KeyPath) -> bool:
    if not isinstance(value, bool):
        raise SpaceError(path, f"{_name(path)} must be true or false, got {value!r}")
    return value


def _list(value: object) -> Optional[List[Any]]:
    return list(value) if isinstance(value, (list, tuple)) else None


def _axis_value(value: object, path: KeyPath, minimum: int) -> AxisValue:
    """An int, or a per-axis list of ints (one per axis)."""
    items = _list(value)
    if items is None:
        return _int(value, path, minimum)
    if not items:
        raise SpaceError(path, f"a per-axis {_name(path)} needs one value per axis, got []")
    return tuple(_int(v, (*path, a), minimum) for a, v in enumerate(items))


def _choice_list(value: object, path: KeyPath, item: Any) -> Tuple[Any, ...]:
    """A choice list: one value (a list of one) or a list of values; no duplicates, not empty."""
    items = _list(value)
    if items is None:
        return (item(value, path),)
    if not items:
        raise SpaceError(path, f"{_name(path)} needs at least one choice")
    out = tuple(item(v, (*path, i)) for i, v in enumerate(items))
    seen: set[Any] = set()
    for i, v in enumerate(out):
        if v in seen:
            raise SpaceError((*path, i), f"{_name(path)} lists {_show(v)} twice")
        seen.add(v)
    return out


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _kind(value: object, path: KeyPath) -> str:
    if not isinstance(value, str) or value.lower() not in KINDS:
        raise SpaceError(path, f"kind must be one of {', '.join(KINDS)}, got {value!r}")
    return value.lower()


def _padding(value: object, path: KeyPath) -> PaddingChoice:
    if isinstance(value, str):
        if value.lower() not in PADDING_MODES:
            raise SpaceError(path, f"padding must be half, same, valid, an int or per-axis ints, got {value!r}")
        return value.lower()
    return _axis_value(value, path, 0)


def _ceil(value: object, path: KeyPath) -> bool:
    return _bool(value, path)


# ---------------------------------------------------------------------------------------------
# Choices


@dataclass(frozen=True)
class Choices:
    """The choices for a layer position; None means "not given here" (inherited, then defaulted).

    Each field is a tuple of alternatives (a single value is a one-element tuple):
    kind ("conv" | "maxpool" | "avgpool"; default conv), kernel (required somewhere), stride
    (default: 1 for conv, the kernel for pooling), dilation (default 1; conv and max-pool only),
    padding ("half" = floor(d(k-1)/2) on both sides, "same" (TensorFlow), "valid" = 0, an int
    or per-axis ints; default valid), ceil_mode (pooling only; default false). Per-axis values
    are tuples with one entry per axis: kernel ((1, 7), (7, 1)).
    """

    kind: Optional[Tuple[str, ...]] = None
    kernel: Optional[Tuple[AxisValue, ...]] = None
    stride: Optional[Tuple[AxisValue, ...]] = None
    dilation: Optional[Tuple[AxisValue, ...]] = None
    padding: Optional[Tuple[PaddingChoice, ...]] = None
    ceil_mode: Optional[Tuple[bool, ...]] = None

    def __post_init__(self) -> None:
        def norm(name: str, item: Any) -> None:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _choice_list(value, (name,), item))

        norm("kind", _kind)
        norm("kernel", lambda v, p: _axis_value(v, p, 1))
        norm("stride", lambda v, p: _axis_value(v, p, 1))
        norm("dilation", lambda v, p: _axis_value(v, p, 1))
        norm("padding", _padding)
        norm("ceil_mode", _ceil)

    @classmethod
    def from_dict(cls, data: object) -> Choices:
        """A mapping of a space file (``{kind: [conv], kernel: [3, 5]}``) to Choices."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise SpaceError((), f"expected a mapping of choices (kind, kernel, stride, ...), got {_type(data)}")
        known = [f.name for f in fields(cls)]
        for key in data:
            if key not in known:
                raise SpaceError((key,), f"unknown key {key!r} (known: {', '.join(known)})")
        return cls(**{k: v for k, v in data.items() if v is not None})

    def merged(self, over: Choices) -> Choices:
        """These choices with every key that `over` gives replaced by `over`'s."""
        return Choices(**{f.name: getattr(over, f.name) if getattr(over, f.name) is not None
                          else getattr(self, f.name) for f in fields(self)})  # fmt: skip

    def to_dict(self) -> Dict[str, Any]:
        """The keys that are given, as JSON-ready lists (per-axis values as lists)."""
        out: Dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = [list(v) if isinstance(v, tuple) else v for v in value]
        return out


def _type(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return "text" if isinstance(value, str) else repr(value)


# ---------------------------------------------------------------------------------------------
# Rules, channels, targets


@dataclass(frozen=True)
class Rules:
    """Structural rules. max_downsampling: at most this many layers with stride > 1 (on any axis).
    stride_on: stride > 1 only on these kinds (e.g. ("maxpool",))."""

    max_downsampling: Optional[int] = None
    stride_on: Optional[Tuple[str, ...]] = None

    def __post_init__(self) -> None:
        if self.max_downsampling is not None:
            object.__setattr__(self, "max_downsampling", _int(self.max_downsampling, ("max_downsampling",), 0))
        if self.stride_on is not None:
            object.__setattr__(self, "stride_on", _choice_list(self.stride_on, ("stride_on",), _kind))

    @classmethod
    def from_dict(cls, data: object) -> Rules:
        """A `rules` mapping of a space file to Rules."""
        return cls(**_known_keys(data, cls, "rules"))

    def to_dict(self) -> Dict[str, Any]:
        """The rules that are set, JSON-ready."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(self).items() if v is not None}


@dataclass(frozen=True)
class Channels:
    """The cost model. input: channels of the input; widths: conv output width per stage (stage i
    uses widths[min(i, len - 1)]; a stage ends after each layer with stride > 1). A conv has
    prod(kernel) * c_in * c_out weights (+ c_out biases when `bias`) and prod(kernel) * c_in *
    c_out * (output pixels) MACs; pooling has none and keeps the channels."""

    input: int
    widths: Tuple[int, ...]
    bias: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "input", _int(self.input, ("input",), 1))
        items = _list(self.widths)
        if items is None:
            items = [self.widths]
        if not items:
            raise SpaceError(("widths",), "widths needs at least one width")
        object.__setattr__(self, "widths", tuple(_int(w, ("widths", i), 1) for i, w in enumerate(items)))
        _bool(self.bias, ("bias",))

    @classmethod
    def from_dict(cls, data: object) -> Channels:
        """A `channels` mapping of a space file to Channels."""
        values = _known_keys(data, cls, "channels")
        for key in ("input", "widths"):
            if key not in values:
                raise SpaceError((), f"channels needs {key!r}")
        return cls(**values)

    def width(self, stage: int) -> int:
        """Conv output width in stage `stage` (0-based)."""
        return self.widths[min(stage, len(self.widths) - 1)]

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready."""
        return {"input": self.input, "widths": list(self.widths), "bias": self.bias}


@dataclass(frozen=True)
class AxisRanges:
    """Inclusive [lo, hi] ranges: one for every axis (per_axis False), or one per axis (None: no
    target on that axis)."""

    ranges: Tuple[Optional[Range], ...]
    per_axis: bool = False

    def on(self, ndim: int) -> Tuple[Optional[Range], ...]:
        """The range on each of `ndim` axes."""
        return self.ranges if self.per_axis else self.ranges * ndim

    def to_json(self) -> Any:
        """As written in a space file: [lo, hi] (lo when exact), or a per-axis list of those."""

        def one(r: Optional[Range]) -> Any:
            return None if r is None else (r[0] if r[0] == r[1] else list(r))

        return [None if r is None else list(r) for r in self.ranges] if self.per_axis else one(self.ranges[0])


def _range(value: object, path: KeyPath, minimum: int) -> Range:
    items = _list(value)
    if items is None:
        exact = _int(value, path, minimum)
        return (exact, exact)
    if len(items) != 2:
        raise SpaceError(path, f"{_name(path)} must be a value or a [lo, hi] range, got {len(items)} values")
    lo, hi = _int(items[0], (*path, 0), minimum), _int(items[1], (*path, 1), minimum)
    if lo > hi:
        raise SpaceError(path, f"{_name(path)} range [{lo}, {hi}] is empty: lo must be <= hi")
    return (lo, hi)


def _axis_ranges(value: object, path: KeyPath, minimum: int) -> AxisRanges:
    if isinstance(value, AxisRanges):
        return value
    items = _list(value)
    if items is not None and any(isinstance(v, (list, tuple)) or v is None for v in items):
        if not items:
            raise SpaceError(path, f"{_name(path)} needs at least one axis")
        ranges: List[Optional[Range]] = []
        for a, v in enumerate(items):
            if v is not None and not isinstance(v, (list, tuple)):
                raise SpaceError((*path, a), f"per-axis {_name(path)} targets are [lo, hi] ranges (or null), "
                                             f"got {v!r}; write [{v}, {v}] for an exact value")  # fmt: skip
            ranges.append(None if v is None else _range(v, (*path, a), minimum))
        return AxisRanges(tuple(ranges), per_axis=True)
    return AxisRanges((_range(value, path, minimum),))


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)


def _budget(value: object, path: KeyPath) -> int:
    """A cost budget: an int, or a float or number text with a whole value (YAML reads 2.0e7 as
    text), converted exactly (Decimal, not through float arithmetic)."""
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise SpaceError(path, f"{_name(path)} must be a whole number, got {value!r}")
        number: object = int(value)
    elif isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        try:
            exact = Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
            raise SpaceError(path, f"{_name(path)} must be a number, got {value!r}") from None
        if exact != exact.to_integral_value():
            raise SpaceError(path, f"{_name(path)} must be a whole number, got {value!r}")
        if abs(exact.adjusted()) > 40:  # far outside int64 either way; avoid huge exact ints
            raise SpaceError(path, f"{_name(path)} is larger than the int64 range, got {value!r}")
        number = int(exact)
    else:
        number = value
    return _int(number, path, 0)


@dataclass(frozen=True)
class Targets:
    """What a feasible stack must meet; every target is optional.

    rf, jump, output_size: inclusive ranges; one value is exact; one range applies to every axis,
    `AxisRanges(..., per_axis=True)` (a list of ranges in a file) gives one per axis.
    rf_within_input: RF <= input size on every axis. coverage "full": no blind spots on any axis.
    max_params, max_macs: cost budgets (need `channels`; MACs also the input size).
    """

    rf: Optional[AxisRanges] = None
    jump: Optional[AxisRanges] = None
    output_size: Optional[AxisRanges] = None
    rf_within_input: bool = False
    coverage: Optional[str] = None
    max_params: Optional[int] = None
    max_macs: Optional[int] = None

    def __post_init__(self) -> None:
        for name in ("rf", "jump", "output_size"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _axis_ranges(value, (name,), 1))
        _bool(self.rf_within_input, ("rf_within_input",))
        if self.coverage is not None and (not isinstance(self.coverage, str) or self.coverage.lower() != "full"):
            raise SpaceError(("coverage",), f"coverage must be 'full' (no blind spots), got {self.coverage!r}")
        if self.coverage is not None:
            object.__setattr__(self, "coverage", "full")
        for name in ("max_params", "max_macs"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _budget(value, (name,)))

    @classmethod
    def from_dict(cls, data: object) -> Targets:
        """A `targets` mapping of a space file to Targets."""
        return cls(**_known_keys(data, cls, "targets"))

    def given(self) -> Tuple[str, ...]:
        """Names of the targets that are set."""
        unset = (None, False)  # by identity: a budget of 0 is set (and 0 == False)
        return tuple(f.name for f in fields(self) if not any(getattr(self, f.name) is u for u in unset))

    def to_dict(self) -> Dict[str, Any]:
        """The set targets, as written in a space file."""
        out: Dict[str, Any] = {}
        for name in self.given():
            value = getattr(self, name)
            out[name] = value.to_json() if isinstance(value, AxisRanges) else value
        return out


def _known_keys(data: object, cls: type, what: str) -> Dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise SpaceError((), f"{what} must be a mapping, got {_type(data)}")
    known = [f.name for f in fields(cls)]
    for key in data:
        if key not in known:
            raise SpaceError((key,), f"unknown key {key!r} in {what} (known: {', '.join(known)})")
    return {k: v for k, v in data.items() if v is not None}


# ---------------------------------------------------------------------------------------------
# The space


def _input_size(value: object, path: KeyPath) -> Tuple[int, ...]:
    if isinstance(value, str):  # the house parser: ASCII digits only ('²'.isdigit() is True)
        try:
            return parse_ints(value.replace("X", "x"), "input_size", minimum=1, example="224 or 224x224")
        except SpecError as e:
            where = (*path, e.axis) if e.axis is not None else path
            raise SpaceError(where, e.reason) from None
    items = _list(value)
    if items is None:
        return (_int(value, path, 1),)
    if not items:
        raise SpaceError(path, "input_size needs at least one axis")
    return tuple(_int(v, (*path, a), 1) for a, v in enumerate(items))


def _objective(value: object) -> Tuple[str, ...]:
    items = _list(value)
    names = [value] if items is None else items
    if not names:
        raise SpaceError(("objective",), "objective needs at least one of " + ", ".join(OBJECTIVES))
    out = []
    for i, name in enumerate(names):
        path: KeyPath = ("objective",) if items is None else ("objective", i)
        if not isinstance(name, str) or name.lower() not in OBJECTIVES:
            raise SpaceError(path, f"objective must be one of {', '.join(OBJECTIVES)}, got {name!r}")
        if name.lower() in out:
            raise SpaceError(path, f"objective lists {name.lower()} twice")
        out.append(name.lower())
    return tuple(out)


@dataclass(frozen=True)
class SearchSpace:
    """A search space (see the module docstring for what is counted).

    depth: (min, max) number of layers (an int: exactly that many). layers: the choices of every
    position; positions: per-position overrides (key by key) for the first positions. input_size:
    per axis (one int: every axis); needed by output_size, rf_within_input, MACs and by 'same'
    padding with stride > 1. objective: names to minimise, in order (several: a Pareto front;
    `top` lists sort by them lexicographically). Default objective: depth.

    Construct it with normalised values (tuples), or from loose data with `from_dict`; both
    validate everything, and the file loaders add the line of a bad key.
    """

    depth: Tuple[int, int]
    layers: Choices = field(default_factory=Choices)
    positions: Tuple[Choices, ...] = ()
    input_size: Optional[Tuple[int, ...]] = None
    rules: Rules = field(default_factory=Rules)
    channels: Optional[Channels] = None
    targets: Targets = field(default_factory=Targets)
    objective: Tuple[str, ...] = ("depth",)
    source: Optional[str] = field(default=None, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "depth", self._depth(self.depth))
        set_(self, "objective", _objective(self.objective))
        if self.input_size is not None:
            set_(self, "input_size", _input_size(self.input_size, ("input_size",)))
        for name, cls in (("layers", Choices), ("rules", Rules), ("targets", Targets)):
            if not isinstance(getattr(self, name), cls):
                raise SpaceError((name,), f"{name} must be a {cls.__name__}, got {type(getattr(self, name)).__name__}")
        if self.channels is not None and not isinstance(self.channels, Channels):
            raise SpaceError(("channels",), f"channels must be a Channels, got {type(self.channels).__name__}")
        set_(self, "positions", tuple(self.positions))
        for i, p in enumerate(self.positions):
            if not isinstance(p, Choices):
                raise SpaceError(("positions", i), f"a position must be a Choices, got {type(p).__name__}")
        if len(self.positions) > self.depth[1]:
            raise SpaceError(("positions",),
                             f"{len(self.positions)} positions given but depth is at most {self.depth[1]}")  # fmt: skip
        self._check_kernels()
        ndim = self.ndim  # checks that every per-axis value agrees
        if self.input_size is not None and len(self.input_size) == 1 and ndim > 1:
            set_(self, "input_size", self.input_size * ndim)
        self._check_needs()
        for i in range(min(self.depth[1], len(self.positions) + 1)):
            with _under(*self._path_of(i)):
                self.choices(i)  # builds the layers, checks 'same' padding needs
        self._check_cost_range()

    # -- construction helpers ---------------------------------------------------------------

    @staticmethod
    def _depth(value: object) -> Tuple[int, int]:
        items = _list(value)
        if items is None:
            exact = _int(value, ("depth",), 1)
            lo, hi = exact, exact
        elif len(items) != 2:
            raise SpaceError(("depth",), f"depth must be an int or [min, max], got {len(items)} values")
        else:
            lo, hi = _int(items[0], ("depth", 0), 1), _int(items[1], ("depth", 1), 1)
        if lo > hi:
            raise SpaceError(("depth",), f"depth [{lo}, {hi}]: min must be <= max")
        if hi > MAX_DEPTH:
            raise SpaceError(("depth",), f"depth is at most {MAX_DEPTH}, got {hi}")
        return (lo, hi)

    @classmethod
    def from_dict(cls, data: object, *, source: Optional[str] = None) -> SearchSpace:
        """A space from loose data (a parsed space file, or dicts and lists written in Python)."""
        if not isinstance(data, Mapping):
            raise SpaceError((), f"a space file is a mapping (depth, layers, targets, ...), got {_type(data)}")
        known = ("input_size", "depth", "layers", "positions", "rules", "channels", "targets", "objective")
        for key in data:
            if key not in known:
                raise SpaceError((key,), f"unknown key {key!r} (known: {', '.join(known)})")
        if "depth" not in data:
            raise SpaceError((), "a space needs 'depth' (an int, or [min, max])")
        kwargs: Dict[str, Any] = {"depth": data["depth"], "source": source}
        if data.get("input_size") is not None:
            kwargs["input_size"] = data["input_size"]
        with _under("layers"):
            kwargs["layers"] = Choices.from_dict(data.get("layers"))
        raw_positions = data.get("positions")
        if raw_positions is not None:
            items = _list(raw_positions)
            if items is None:
                got = _type(raw_positions)
                raise SpaceError(("positions",), f"positions must be a list of choice mappings, got {got}")
            positions = []
            for i, entry in enumerate(items):
                with _under("positions", i):
                    positions.append(Choices.from_dict(entry))
            kwargs["positions"] = tuple(positions)
        with _under("rules"):
            kwargs["rules"] = Rules.from_dict(data.get("rules"))
        if data.get("channels") is not None:
            with _under("channels"):
                kwargs["channels"] = Channels.from_dict(data["channels"])
        with _under("targets"):
            kwargs["targets"] = Targets.from_dict(data.get("targets"))
        if data.get("objective") is not None:
            kwargs["objective"] = data["objective"]
        return cls(**kwargs)

    def to_dict(self) -> Dict[str, Any]:
        """The space as a space-file mapping (JSON-ready); from_dict(to_dict()) gives an equal space."""
        out: Dict[str, Any] = {"depth": list(self.depth)}
        if self.input_size is not None:
            out["input_size"] = list(self.input_size)
        out["layers"] = self.layers.to_dict()
        if self.positions:
            out["positions"] = [p.to_dict() for p in self.positions]
        if self.rules.to_dict():
            out["rules"] = self.rules.to_dict()
        if self.channels is not None:
            out["channels"] = self.channels.to_dict()
        if self.targets.given():
            out["targets"] = self.targets.to_dict()
        out["objective"] = self.objective[0] if len(self.objective) == 1 else list(self.objective)
        return out

    def _path_of(self, position: int) -> KeyPath:
        return ("positions", position) if position < len(self.positions) else ("layers",)

    def _check_kernels(self) -> None:
        if self.layers.kernel is None:
            for i in range(self.depth[1]):
                if i >= len(self.positions) or self.positions[i].kernel is None:
                    where: KeyPath = ("positions", i) if i < len(self.positions) else ("layers",)
                    raise SpaceError(where, f"position {i} has no kernel choices: give layers.kernel "
                                            "(or a kernel in every position)")  # fmt: skip

    def _check_needs(self) -> None:
        t = self.targets
        sized = self.input_size is not None
        for name, needed in (("output_size", t.output_size is not None), ("rf_within_input", t.rf_within_input),
                             ("max_macs", t.max_macs is not None)):  # fmt: skip
            if needed and not sized:
                raise SpaceError(("targets", name), f"{name} needs input_size")
        for name in ("max_params", "max_macs"):
            if getattr(t, name) is not None and self.channels is None:
                raise SpaceError(("targets", name), f"{name} needs channels (the cost model)")
        for i, name in enumerate(self.objective):
            path: KeyPath = ("objective", i) if len(self.objective) > 1 else ("objective",)
            if name in ("params", "macs") and self.channels is None:
                raise SpaceError(path, f"objective {name} needs channels (the cost model)")
            if name == "macs" and not sized:
                raise SpaceError(path, "objective macs needs input_size")
            if name == "rf_error" and t.rf is None:
                raise SpaceError(path, "objective rf_error needs targets.rf")

    @cached_property
    def ndim(self) -> int:
        """Number of spatial axes: from input_size, per-axis choices or per-axis targets (they must
        agree), else 1."""
        found: Optional[int] = None
        where: KeyPath = ()

        def see(n: int, path: KeyPath) -> None:
            nonlocal found, where
            if found is not None and n != found:
                raise SpaceError(path, f"{n} axes here but {format_path(where)} has {found}")
            found, where = n, path

        if self.input_size is not None and len(self.input_size) > 1:
            see(len(self.input_size), ("input_size",))
        sets: List[Tuple[KeyPath, Choices]] = [(("layers",), self.layers)]
        sets += [(("positions", i), p) for i, p in enumerate(self.positions)]
        for prefix, choices in sets:
            for name in ("kernel", "stride", "dilation", "padding"):
                for j, value in enumerate(getattr(choices, name) or ()):
                    if isinstance(value, tuple):
                        see(len(value), (*prefix, name, j))
        for name in ("rf", "jump", "output_size"):
            ranges = getattr(self.targets, name)
            if ranges is not None and ranges.per_axis:
                see(len(ranges.ranges), ("targets", name))
        return found or 1

    # -- what the engines read ----------------------------------------------------------------

    def position_choices(self, position: int) -> Choices:
        """The merged choices (layers, overridden by positions[position]) at a position."""
        if not 0 <= position < self.depth[1]:
            raise IndexError(f"position {position} is outside depth {list(self.depth)}")
        if position < len(self.positions):
            return self.layers.merged(self.positions[position])
        return self.layers

    def choices(self, position: int) -> Tuple[Layer, ...]:
        """The layers position `position` can hold, in choice-index order."""
        key = min(position, len(self.positions))  # positions past the overrides share `layers`
        if not 0 <= position < self.depth[1]:
            raise IndexError(f"position {position} is outside depth {list(self.depth)}")
        cache = self._choice_cache
        if key not in cache:
            try:
                cache[key] = _build_layers(self.position_choices(position), self.input_size is not None, self.ndim)
            except SpaceError:
                raise
            except SpecError as e:  # a layer the model refuses (should not pass the checks above)
                raise SpaceError((), e.reason) from None
        return cache[key]

    @cached_property
    def _choice_cache(self) -> Dict[int, Tuple[Layer, ...]]:
        return {}

    @cached_property
    def choice_counts(self) -> Tuple[int, ...]:
        """Number of choices at each position (0 .. max depth - 1)."""
        return tuple(len(self.choices(i)) for i in range(self.depth[1]))

    @cached_property
    def total(self) -> int:
        """Number of candidates: the sum over depths of the product of the choice counts."""
        total, prefix = 0, 1
        for length, n in enumerate(self.choice_counts, start=1):
            prefix *= n
            if length >= self.depth[0]:
                total += prefix
        return total

    def stack(self, choices: Sequence[int]) -> Tuple[Layer, ...]:
        """The layers of the candidate with these choice indices."""
        if not self.depth[0] <= len(choices) <= self.depth[1]:
            raise ValueError(f"a candidate has {self.depth[0]}..{self.depth[1]} layers, got {len(choices)}")
        return tuple(self.choices(i)[c] for i, c in enumerate(choices))

    def rf_targets(self) -> Optional[Tuple[Optional[Range], ...]]:
        """The RF range on each axis (None: no RF target at all)."""
        return None if self.targets.rf is None else self.targets.rf.on(self.ndim)

    def rf_target_centre(self) -> Tuple[Optional[Fraction], ...]:
        """Per axis the t of rf_error: the exact target, or the middle of the range (may be x.5)."""
        ranges = self.rf_targets() or (None,) * self.ndim
        return tuple(None if r is None else Fraction(r[0] + r[1], 2) for r in ranges)

    def uncountable_targets(self) -> Tuple[str, ...]:
        """Targets set here that the exact counter refuses (coverage, cost budgets)."""
        return tuple(name for name in UNCOUNTABLE_TARGETS if name in self.targets.given())

    def without_targets(self, *names: str) -> SearchSpace:
        """The same space with these targets removed (e.g. to count or sample, then filter)."""
        cleared: Dict[str, Any] = {}
        for name in names:
            if name not in [f.name for f in fields(Targets)]:
                raise ValueError(f"unknown target {name!r}")
            cleared[name] = False if name == "rf_within_input" else None
        return replace(self, targets=replace(self.targets, **cleared))

    def _check_cost_range(self) -> None:
        """Costs are exact Python ints here but int64 in the C++ engine: refuse spaces whose
        params or MACs could leave int64, so that cost never decides feasibility by overflowing."""
        if self.channels is None:
            return
        widest = max(self.channels.input, *self.channels.widths)
        kernel_volume, grow = 1, [0] * self.ndim
        for i in range(min(self.depth[1], len(self.positions) + 1)):  # later positions share `layers`
            for layer in self.choices(i):
                axes = layer.axis_params(self.ndim)
                kernel_volume = max(kernel_volume, math.prod(p.kernel for p in axes))
                for a, p in enumerate(axes):  # output size <= input + padding (any stride)
                    pad = 0 if p.pad_before == PAD_SAME else p.pad_before + p.pad_after
                    grow[a] = max(grow[a], pad)
        per_layer = kernel_volume * widest * widest + widest
        bound = self.depth[1] * per_layer
        if self.input_size is not None:
            size_bound = [n + self.depth[1] * g for n, g in zip(self.input_size, grow)]
            bound = max(bound, self.depth[1] * kernel_volume * widest * widest * math.prod(size_bound))
        if bound > INT64_MAX:
            raise SpaceError(("channels",), "params or MACs of some stacks could exceed the int64 range "
                                            "(widths, kernels, depth or input size too large)")  # fmt: skip


def _per_axis(value: AxisValue, ndim: int) -> Tuple[int, ...]:
    return value if isinstance(value, tuple) else (value,) * ndim


def _build_layers(c: Choices, sized: bool, ndim: int) -> Tuple[Layer, ...]:
    """All layers of one position's choices, in choice-index order (kind x kernel x stride x
    dilation x padding x ceil_mode)."""
    assert c.kernel is not None  # checked by SearchSpace
    out: List[Layer] = []
    for kind in c.kind or ("conv",):
        for kernel in c.kernel:
            for stride in c.stride or (None,):
                for dilation in (c.dilation or (1,)) if kind != "avgpool" else (1,):
                    for pad in c.padding or ("valid",):
                        for ceil in (c.ceil_mode or (False,)) if kind != "conv" else (False,):
                            out.append(_layer(kind, kernel, stride, dilation, pad, ceil, sized, ndim))
    return tuple(out)


def _layer(kind: str, kernel: AxisValue, stride: Optional[AxisValue], dilation: AxisValue, pad: PaddingChoice,
           ceil: bool, sized: bool, ndim: int) -> Layer:  # fmt: skip
    if stride is None:
        stride = 1 if kind == "conv" else kernel
    padding: Any
    if pad == "half":
        halves = tuple(d * (k - 1) // 2 for k, d in zip(_per_axis(kernel, ndim), _per_axis(dilation, ndim)))
        padding = halves[0] if not isinstance(kernel, tuple) and not isinstance(dilation, tuple) else halves
    elif pad == "valid":
        padding = 0
    else:
        padding = pad
    if pad == "same" and not sized and any(s > 1 for s in _per_axis(stride, ndim)):
        raise SpaceError(("padding",), "padding 'same' with stride > 1 depends on the input size; give input_size")
    if kind == "conv":
        return Conv(kernel, stride=stride, padding=padding, dilation=dilation)
    if kind == "maxpool":
        return MaxPool(kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil)
    return AvgPool(kernel, stride=stride, padding=padding, ceil_mode=ceil)


# ---------------------------------------------------------------------------------------------
# Files


def parse_space(text: Union[str, bytes], source: Optional[str] = None) -> SearchSpace:
    """A space file's text (YAML or JSON; bytes: UTF-8) to a SearchSpace; SpecError with file:line if bad."""
    return _space_of(load_document(text, source))


def load_space(path: Union[str, "os.PathLike[str]"]) -> SearchSpace:
    """Reads a space file (YAML or JSON, at most 1 MiB); SpecError naming the file if it cannot
    be read (missing, a directory, not UTF-8, too large) or file:line if it is not a valid space."""
    return _space_of(read_space_document(path))


def _space_of(document: SpaceDocument) -> SearchSpace:
    try:
        return SearchSpace.from_dict(document.data, source=document.source)
    except SpaceError as e:
        raise SpecError(str(e), source=document.source, line=document.line(e.path)) from None


SpaceLike = Union[SearchSpace, str, "os.PathLike[str]", Mapping[str, Any]]


def as_space(space: SpaceLike) -> SearchSpace:
    """A SearchSpace from a SearchSpace, a space file path, or a mapping (as in a file)."""
    if isinstance(space, SearchSpace):
        return space
    if isinstance(space, Mapping):
        return SearchSpace.from_dict(space)
    if isinstance(space, (str, os.PathLike)):
        return load_space(space)
    raise TypeError(f"expected a SearchSpace, a space file path or a mapping, got {type(space).__name__}")
