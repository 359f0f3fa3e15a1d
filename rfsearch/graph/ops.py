"""What a graph node does: the layer kinds of the sequential engine plus merges, padding and
cropping, global and adaptive pooling, flatten / linear, transposed convolution and upsampling.

Every op is an immutable value validated once, at construction (integers through
`rfsearch.model.values.as_int`, errors as `SpecError` naming the field and axis). Parameters are
an int (the same on every axis) or a tuple with one entry per spatial axis, as for layers.
The receptive-field math of each op lives in `rfsearch.graph.reference`; this module only says
what the op is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Dict, Optional, Tuple, Union

from ..errors import SpecError
from ..model.layers import Layer
from ..model.values import as_int

__all__ = [
    "MERGE_KINDS",
    "UPSAMPLE_MODES",
    "AdaptivePool",
    "ConvTranspose",
    "Crop",
    "Flatten",
    "GlobalPool",
    "Linear",
    "Merge",
    "Op",
    "Pad",
    "PairParam",
    "Upsample",
    "op_kind",
    "op_ndim",
    "op_spec",
    "pair_on",
    "param_on",
]

Param = Union[int, Tuple[int, ...]]
#: An amount per side: one int (both sides, every axis), or per axis an int or a (before, after) pair.
PairParam = Union[int, Tuple[Union[int, Tuple[int, int]], ...]]
ScaleParam = Union[Fraction, Tuple[Fraction, ...]]

MERGE_KINDS = ("add", "concat", "multiply")
#: Upsampling modes (PyTorch's names); linear, bilinear and trilinear are the same rule per axis.
UPSAMPLE_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear")
PAD_MODES = ("constant", "zeros", "reflect", "replicate", "circular")


def _located(e: SpecError, axis: int, n: int) -> SpecError:
    return e.located(axis=axis) if n > 1 else e


def _ints(value: object, what: str, minimum: int, *, allow_none: bool = False) -> Union[None, Param]:
    """An int or a per-axis tuple of ints (each >= minimum); errors name the field and axis."""
    if allow_none and value is None:
        return None
    if isinstance(value, (tuple, list)):
        if not value:
            raise SpecError(f"{what} must not be an empty list")
        out = []
        for axis, v in enumerate(value):
            try:
                out.append(as_int(v, what, minimum=minimum))
            except SpecError as e:
                raise _located(e, axis, len(value)) from None
        return tuple(out)
    return as_int(value, what, minimum=minimum)


def _pairs(value: object, what: str) -> PairParam:
    """Amounts before/after per axis: an int, or per axis an int or a [before, after] pair (>= 0)."""
    if not isinstance(value, (tuple, list)):
        return as_int(value, what, minimum=0)
    if not value:
        raise SpecError(f"{what} must not be an empty list")
    out: list[Union[int, Tuple[int, int]]] = []
    for axis, entry in enumerate(value):
        try:
            if isinstance(entry, (tuple, list)):
                if len(entry) != 2:
                    raise SpecError(f"{what} must be an int or a [before, after] pair, got {entry!r:.60}")
                out.append((as_int(entry[0], what, minimum=0), as_int(entry[1], what, minimum=0)))
            else:
                out.append(as_int(entry, what, minimum=0))
        except SpecError as e:
            raise _located(e, axis, len(value)) from None
    return tuple(out)


_RATIO = re.compile(r"\s*(\d+)\s*(?:/\s*(\d+)\s*)?", re.ASCII)  # ASCII digits, as int_literal


def _ratio(value: object, what: str) -> Fraction:
    """A positive rational: an int, a Fraction or text 'p/q' (floats are refused: they are rarely exact)."""
    if isinstance(value, Fraction):
        num, den = value.numerator, value.denominator
    elif isinstance(value, str):
        m = _RATIO.fullmatch(value)
        if m is None:
            raise SpecError(f"{what} must be a positive integer or a ratio like '3/2', got {value!r:.60}")
        if max(len(m[1]), len(m[2] or "")) > 40:  # far outside int64; int() of long text is slow
            raise SpecError(f"{what} is larger than the int64 range, got {value[:40]!r}...")
        num, den = int(m[1]), int(m[2] or 1)
    elif isinstance(value, float):
        raise SpecError(f"{what} must be an integer or an exact ratio like '3/2', got the float {value!r}")
    else:
        num, den = as_int(value, what, minimum=1), 1
    num, den = as_int(num, f"{what} (numerator)", minimum=1), as_int(den, f"{what} (denominator)", minimum=1)
    return Fraction(num, den)


def _ratios(value: object, what: str) -> ScaleParam:
    if isinstance(value, (tuple, list)):
        if not value:
            raise SpecError(f"{what} must not be an empty list")
        out = []
        for axis, v in enumerate(value):
            try:
                out.append(_ratio(v, what))
            except SpecError as e:
                raise _located(e, axis, len(value)) from None
        return tuple(out)
    return _ratio(value, what)


def _bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{what} must be true or false, got {value!r:.60}")
    return value


def _axes(*values: object) -> Optional[int]:
    lengths = {len(v) for v in values if isinstance(v, tuple)}
    if len(lengths) > 1:
        raise SpecError(f"per-axis values disagree on the number of axes: {sorted(lengths)}")
    return lengths.pop() if lengths else None


def param_on(value: Param, axis: int) -> int:
    """The value of an int-or-per-axis parameter on one axis."""
    return value[axis] if isinstance(value, tuple) else value


def pair_on(value: PairParam, axis: int) -> Tuple[int, int]:
    """(before, after) of a pair parameter on one axis."""
    entry = value[axis] if isinstance(value, tuple) else value
    return entry if isinstance(entry, tuple) else (entry, entry)


def _fmt(value: object) -> str:
    if isinstance(value, tuple):
        return "x".join(_fmt(v) for v in value)
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    return str(value)


def _fmt_pairs(value: PairParam) -> str:
    if isinstance(value, int):
        return str(value)
    return "x".join(f"{e[0]}:{e[1]}" if isinstance(e, tuple) else str(e) for e in value)


@dataclass(frozen=True)
class Merge:
    """Elementwise add or multiply, or concatenation along channels, of two or more inputs.

    Spatial sizes must agree; for add and multiply an input of size 1 broadcasts (PyTorch's rule).
    """

    kind: str

    def __post_init__(self) -> None:
        if self.kind not in MERGE_KINDS:
            raise SpecError(f"merge must be one of {', '.join(MERGE_KINDS)}, got {self.kind!r:.60}")


@dataclass(frozen=True)
class Pad:
    """Explicit padding (PyTorch F.pad / nn.*Pad): `padding` per axis as int or (before, after).

    The mode (constant, reflect, replicate, circular) does not change the geometry rfsearch
    reports: coordinates of the padded border count as positions outside the input, as for a
    convolution's padding.
    """

    padding: PairParam
    mode: str = "constant"

    def __post_init__(self) -> None:
        object.__setattr__(self, "padding", _pairs(self.padding, "padding"))
        if self.mode not in PAD_MODES:
            raise SpecError(f"mode must be one of {', '.join(PAD_MODES)}, got {self.mode!r:.60}")


@dataclass(frozen=True)
class Crop:
    """Cropping: `crop` amounts per axis as int or (before, after), or `like`: the id of a node whose
    output size this node is centre-cropped to (before = (n - m) // 2, the rest after), as U-Net
    crops its skip connections."""

    crop: Optional[PairParam] = None
    like: Optional[str] = None

    def __post_init__(self) -> None:
        if (self.crop is None) == (self.like is None):
            raise SpecError("crop needs either `crop` amounts or `like` (a node id to crop to the size of), not both")
        if self.crop is not None:
            object.__setattr__(self, "crop", _pairs(self.crop, "crop"))
        if self.like is not None and not isinstance(self.like, str):
            raise SpecError(f"like must be a node id (text), got {self.like!r:.60}")


@dataclass(frozen=True)
class GlobalPool:
    """Global average or max pooling: one output unit that sees the whole input."""

    kind: str = "avg"

    def __post_init__(self) -> None:
        if self.kind not in ("avg", "max"):
            raise SpecError(f"global pooling is avg or max, got {self.kind!r:.60}")


@dataclass(frozen=True)
class AdaptivePool:
    """PyTorch's adaptive pooling: output size m per axis (None keeps the size); unit i pools input
    [floor(i*n/m), ceil((i+1)*n/m)). An axis with m = 1 is global (the whole input)."""

    output_size: Union[int, Tuple[Optional[int], ...]]
    kind: str = "avg"

    def __post_init__(self) -> None:
        value = self.output_size
        if isinstance(value, (tuple, list)):
            if not value:
                raise SpecError("output_size must not be an empty list")
            out: list[Optional[int]] = []
            for axis, v in enumerate(value):
                try:
                    out.append(None if v is None else as_int(v, "output_size", minimum=1))
                except SpecError as e:
                    raise _located(e, axis, len(value)) from None
            object.__setattr__(self, "output_size", tuple(out))
        else:
            object.__setattr__(self, "output_size", as_int(value, "output_size", minimum=1))
        if self.kind not in ("avg", "max"):
            raise SpecError(f"adaptive pooling is avg or max, got {self.kind!r:.60}")

    def size_on(self, axis: int) -> Optional[int]:
        """Output size on `axis` (None: the input's size)."""
        v = self.output_size
        return v[axis] if isinstance(v, tuple) else v


@dataclass(frozen=True)
class Flatten:
    """Flatten the spatial axes into features: the one output sees every input unit."""


@dataclass(frozen=True)
class Linear:
    """A fully connected layer (after flatten or global pooling): the output sees every input unit."""


@dataclass(frozen=True)
class ConvTranspose:
    """Transposed convolution (PyTorch ConvTranspose1d/2d/3d): output o = i*stride - pad_before +
    j*dilation for input i and tap j; output size (n-1)*stride - before - after + dilation*(k-1)
    + output_padding + 1. `padding` may be per axis (before, after) (ONNX pads); PyTorch pads both
    sides alike."""

    kernel: Param
    stride: Param = 1
    padding: PairParam = 0
    output_padding: Param = 0
    dilation: Param = 1

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "kernel", _ints(self.kernel, "kernel", 1))
        set_(self, "stride", _ints(self.stride, "stride", 1))
        set_(self, "dilation", _ints(self.dilation, "dilation", 1))
        set_(self, "output_padding", _ints(self.output_padding, "output_padding", 0))
        set_(self, "padding", _pairs(self.padding, "padding"))
        n = _axes(self.kernel, self.stride, self.dilation, self.output_padding, self.padding) or 1
        for axis in range(n):
            op, s, d = (param_on(v, axis) for v in (self.output_padding, self.stride, self.dilation))
            if op >= s and op >= d:  # PyTorch's rule
                where = f" on axis {axis}" if n > 1 else ""
                raise SpecError(f"output_padding{where} must be smaller than the stride or the dilation, got {op}")


@dataclass(frozen=True)
class Upsample:
    """Upsampling (nn.Upsample / F.interpolate) by `scale_factor` (ints or exact ratios, per axis)
    or to `size`. Modes: nearest, nearest-exact, and (bi/tri)linear with align_corners.

    The source coordinate of output unit o is (PyTorch): nearest floor(o*r), nearest-exact
    floor((o + 1/2)*r), linear (o + 1/2)*r - 1/2, or o*(n-1)/(m-1) with align_corners, where
    r = 1/scale_factor, or n/m when the size is given (or recompute_scale_factor is set).
    """

    mode: str = "nearest"
    scale_factor: Optional[ScaleParam] = None
    size: Optional[Param] = None
    align_corners: bool = False
    recompute_scale_factor: bool = False

    def __post_init__(self) -> None:
        mode = self.mode.lower() if isinstance(self.mode, str) else self.mode
        if mode not in UPSAMPLE_MODES:
            raise SpecError(f"mode must be one of {', '.join(UPSAMPLE_MODES)}, got {self.mode!r:.60}")
        object.__setattr__(self, "mode", mode)
        if (self.scale_factor is None) == (self.size is None):
            raise SpecError("upsample needs exactly one of scale_factor and size")
        if self.scale_factor is not None:
            object.__setattr__(self, "scale_factor", _ratios(self.scale_factor, "scale_factor"))
        if self.size is not None:
            object.__setattr__(self, "size", _ints(self.size, "size", 1))
        _bool(self.align_corners, "align_corners")
        _bool(self.recompute_scale_factor, "recompute_scale_factor")
        if self.align_corners and not self.linear:
            raise SpecError("align_corners applies to the linear modes (linear, bilinear, trilinear) only")
        _axes(self.scale_factor, self.size)

    @property
    def linear(self) -> bool:
        """True for the (bi/tri)linear modes (two taps per axis)."""
        return self.mode in ("linear", "bilinear", "trilinear")


Op = Union[Layer, Merge, Pad, Crop, GlobalPool, AdaptivePool, Flatten, Linear, ConvTranspose, Upsample]

_KINDS: Dict[type, str] = {
    Merge: "merge",
    Pad: "pad",
    Crop: "crop",
    GlobalPool: "global_pool",
    AdaptivePool: "adaptive_pool",
    Flatten: "flatten",
    Linear: "linear",
    ConvTranspose: "conv_transpose",
    Upsample: "upsample",
}


def op_kind(op: Op) -> str:
    """The op's kind as results show it: conv, maxpool, avgpool, identity, add, concat, multiply,
    pad, crop, global_avgpool, global_maxpool, adaptive_avgpool, adaptive_maxpool, flatten,
    linear, conv_transpose, upsample."""
    if isinstance(op, Layer):
        return op.kind
    if isinstance(op, Merge):
        return op.kind
    if isinstance(op, GlobalPool):
        return f"global_{op.kind}pool"
    if isinstance(op, AdaptivePool):
        return f"adaptive_{op.kind}pool"
    return _KINDS[type(op)]


def op_ndim(op: Op) -> Optional[int]:
    """Number of axes the op's per-axis values fix (None: all scalar, fits any number of axes)."""
    if isinstance(op, Layer):
        return op.ndim
    if isinstance(op, Pad):
        return _axes(op.padding)
    if isinstance(op, Crop):
        return None if op.crop is None else _axes(op.crop)
    if isinstance(op, AdaptivePool):
        return _axes(op.output_size)
    if isinstance(op, ConvTranspose):
        return _axes(op.kernel, op.stride, op.dilation, op.output_padding, op.padding)
    if isinstance(op, Upsample):
        return _axes(op.scale_factor, op.size)
    return None


def op_spec(op: Op) -> str:
    """A short description of the op for tables (compact grammar for layers)."""
    if isinstance(op, Layer):
        return op.spec()
    if isinstance(op, Pad):
        return f"pad{_fmt_pairs(op.padding)}" + ("" if op.mode in ("constant", "zeros") else f" {op.mode}")
    if isinstance(op, Crop):
        return f"crop{_fmt_pairs(op.crop)}" if op.crop is not None else f"crop like {op.like}"
    if isinstance(op, AdaptivePool):
        size = op.output_size
        shown = "x".join("-" if v is None else str(v) for v in size) if isinstance(size, tuple) else str(size)
        return f"adaptive_{op.kind}pool{shown}"
    if isinstance(op, ConvTranspose):
        text = f"conv_transpose{_fmt(op.kernel)}"
        if op.stride != 1:
            text += f"s{_fmt(op.stride)}"
        if op.padding != 0:
            text += f"p{_fmt_pairs(op.padding)}"
        if op.output_padding != 0:
            text += f"o{_fmt(op.output_padding)}"
        if op.dilation != 1:
            text += f"d{_fmt(op.dilation)}"
        return text
    if isinstance(op, Upsample):
        how = f"x{_fmt(op.scale_factor)}" if op.scale_factor is not None else f"to {_fmt(op.size)}"
        corners = " align_corners" if op.align_corners else ""
        return f"upsample {op.mode} {how}{corners}"
    return op_kind(op)


# --- ops from spec-file keys ------------------------------------------------------------------

#: Graph op names (besides the layer types of sequential spec files) and their aliases.
OP_ALIASES: Dict[str, str] = {
    "add": "add", "sum": "add",
    "concat": "concat", "cat": "concat", "concatenate": "concat",
    "multiply": "multiply", "mul": "multiply",
    "pad": "pad", "zeropad": "pad", **{f"zeropad{n}d": "pad" for n in (1, 2, 3)},
    "crop": "crop",
    "global_avgpool": "global_avgpool", "global_avg_pool": "global_avgpool", "globalavgpool": "global_avgpool",
    "globalaveragepool": "global_avgpool", "global_pool": "global_avgpool", "gap": "global_avgpool",
    "global_maxpool": "global_maxpool", "global_max_pool": "global_maxpool", "globalmaxpool": "global_maxpool",
    "adaptive_avgpool": "adaptive_avgpool", "adaptive_avg_pool": "adaptive_avgpool",
    **{f"adaptiveavgpool{n}d": "adaptive_avgpool" for n in (1, 2, 3)},
    "adaptive_maxpool": "adaptive_maxpool", "adaptive_max_pool": "adaptive_maxpool",
    **{f"adaptivemaxpool{n}d": "adaptive_maxpool" for n in (1, 2, 3)},
    "flatten": "flatten",
    "linear": "linear", "fc": "linear", "dense": "linear", "gemm": "linear",
    "conv_transpose": "conv_transpose", "convtranspose": "conv_transpose", "deconv": "conv_transpose",
    "upconv": "conv_transpose", "transposed_conv": "conv_transpose",
    **{f"convtranspose{n}d": "conv_transpose" for n in (1, 2, 3)},
    "upsample": "upsample", "interpolate": "upsample", "resize": "upsample",
}  # fmt: skip

#: Keys each graph op takes (besides id, op, inputs); layer ops take the keys of spec-file layers.
OP_KEYS: Dict[str, Tuple[str, ...]] = {
    "add": (), "concat": (), "multiply": (), "flatten": (), "linear": (),
    "global_avgpool": (), "global_maxpool": (),
    "pad": ("padding", "mode"),
    "crop": ("crop", "like"),
    "adaptive_avgpool": ("output_size",), "adaptive_maxpool": ("output_size",),
    "conv_transpose": ("kernel_size", "kernel", "stride", "padding", "output_padding", "dilation"),
    "upsample": ("mode", "scale_factor", "size", "align_corners", "recompute_scale_factor"),
}  # fmt: skip
LAYER_KEYS = ("kernel_size", "kernel", "stride", "padding", "dilation", "ceil_mode")


def op_from_params(name: str, params: Dict[str, object]) -> Op:
    """The op a node names (`op`: a graph op, a layer type of spec files, or a compact token like
    conv3s2p1) with its parameters (the other keys of the node, as in spec files). Unknown keys
    and bad values raise SpecError naming the key."""
    from ..model.grammar import NEUTRAL_NAMES, OPS, TYPE_ALIASES, parse_token
    from ..model.specfile import layer_from_dict

    if not isinstance(name, str):
        raise SpecError(f"op must be text (conv, add, upsample, ...), got {name!r:.60}")
    key = name.strip().lower()
    kind = OP_ALIASES.get(key)
    if kind is None:
        layer_kind = TYPE_ALIASES.get(key, key)
        if layer_kind in OPS or layer_kind in NEUTRAL_NAMES:
            unknown = sorted(set(params) - set(LAYER_KEYS))
            if unknown:
                raise SpecError(f"unknown key {unknown[0]!r:.60} for {key} (known: {', '.join(LAYER_KEYS)})")
            return layer_from_dict({"type": key, **params})
        try:
            layer = parse_token(key)
        except SpecError:
            raise SpecError(
                f"unknown op {name!r:.60} (graph ops: add, concat, multiply, pad, crop, global_avgpool, "
                "adaptive_avgpool, flatten, linear, conv_transpose, upsample; layers: conv, maxpool, "
                "avgpool, relu, ... or a compact token like conv3s2p1)"
            ) from None
        if params:
            raise SpecError(f"a compact token ({key}) takes no other keys, got {sorted(params)[0]!r:.60}")
        return layer
    unknown = sorted(set(params) - set(OP_KEYS[kind]))
    if unknown:
        known = ", ".join(OP_KEYS[kind]) or "none"
        raise SpecError(f"unknown key {unknown[0]!r:.60} for {kind} (known: {known})")
    p = dict(params)
    try:
        if kind in MERGE_KINDS:
            return Merge(kind)
        if kind == "pad":
            if "padding" not in p:
                raise SpecError("pad needs padding")
            return Pad(p["padding"], **({"mode": p["mode"]} if "mode" in p else {}))  # type: ignore[arg-type]
        if kind == "crop":
            return Crop(p.get("crop"), p.get("like"))  # type: ignore[arg-type]
        if kind in ("global_avgpool", "global_maxpool"):
            return GlobalPool(kind[7:10])
        if kind in ("adaptive_avgpool", "adaptive_maxpool"):
            if "output_size" not in p:
                raise SpecError(f"{kind} needs output_size")
            return AdaptivePool(p["output_size"], kind[9:12])  # type: ignore[arg-type]
        if kind == "flatten":
            return Flatten()
        if kind == "linear":
            return Linear()
        if kind == "conv_transpose":
            if "kernel" in p and "kernel_size" in p:
                raise SpecError("give kernel_size or kernel, not both")
            kernel = p.pop("kernel_size", p.pop("kernel", None))
            if kernel is None:
                raise SpecError("conv_transpose needs kernel_size")
            return ConvTranspose(kernel, **p)  # type: ignore[arg-type]
        return Upsample(**p)  # type: ignore[arg-type]
    except TypeError as e:  # a value of the wrong shape reached a constructor
        raise SpecError(str(e)) from None
