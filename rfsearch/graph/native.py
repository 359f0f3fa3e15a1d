"""The compiled graph core's view of ops (op codes, table rows), and one graph evaluated by it.

`evaluate_graph` is what `compute_graph` runs by default: one graph through graph.hpp with
Python lists (no numpy to import), turned into the reference's GraphRF, value for value; None
where the core's answer would not be the reference's whole answer (then the reference runs).
`GraphSkeleton` (skeleton.py) uses the same rows for many parameter sets at once.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .. import _core
from ..errors import SpecError
from ..model.layers import Layer
from ..model.values import parse_size
from ..results.graph import AxisRF, GraphRF, NodeRF, UnitPattern
from .model import INPUT, Graph
from .ops import (
    AdaptivePool,
    ConvTranspose,
    Crop,
    Flatten,
    GlobalPool,
    Linear,
    Merge,
    Op,
    Pad,
    Upsample,
    op_kind,
    op_ndim,
    op_spec,
    pair_on,
    param_on,
)

__all__ = ["FLAGS", "GRAPH_STATUS", "OPS", "ROW_FIELDS", "axis_fields", "evaluate_graph", "op_code"]

#: Op codes of the core (graph.hpp Op), by name.
OPS: Dict[str, int] = dict(_core.GRAPH_OPS)
#: Per-set status codes (graph.hpp GraphStatus), by name.
GRAPH_STATUS: Dict[str, int] = dict(_core.GRAPH_STATUS_CODES)
FLAGS: Dict[str, int] = dict(_core.GRAPH_FLAGS)
ROW_FIELDS = 8
_MODES = {"nearest": 0, "nearest-exact": 1, "linear": 2, "bilinear": 2, "trilinear": 2}
_MERGE_CODES = {OPS["add"], OPS["concat"], OPS["multiply"]}


def op_code(op: Op) -> str:
    """The core's op kind of an op."""
    if isinstance(op, Layer):
        return "layer"
    if isinstance(op, Merge):
        return op.kind
    if isinstance(op, Crop):
        return "crop" if op.like is None else "crop_like"
    if isinstance(op, (GlobalPool, Flatten, Linear)):
        return "global"
    return {ConvTranspose: "conv_transpose", Upsample: "upsample", Pad: "pad", AdaptivePool: "adaptive_pool"}[type(op)]


def axis_fields(op: Op, axis: int, ndim: int) -> Tuple[int, ...]:
    """The op's ROW_FIELDS values on one axis (graph.hpp documents each op's fields)."""
    values: Tuple[int, ...] = ()
    if isinstance(op, Layer):
        p = op.axis_params(ndim)[axis]
        values = (p.kernel, p.stride, p.dilation, p.pad_before, p.pad_after, int(p.ceil_mode))
    elif isinstance(op, ConvTranspose):
        before, after = pair_on(op.padding, axis)
        k, s, d, extra = (param_on(v, axis) for v in (op.kernel, op.stride, op.dilation, op.output_padding))
        values = (k, s, d, before, after, extra)
    elif isinstance(op, Upsample):
        if op.size is not None:
            num, den, size = 0, 0, param_on(op.size, axis)
        else:
            factor = op.scale_factor[axis] if isinstance(op.scale_factor, tuple) else op.scale_factor
            assert factor is not None
            num, den, size = factor.numerator, factor.denominator, 0
        values = (_MODES[op.mode], num, den, size, int(op.align_corners), int(op.recompute_scale_factor))
    elif isinstance(op, Pad):
        values = pair_on(op.padding, axis)
    elif isinstance(op, Crop) and op.crop is not None:
        values = pair_on(op.crop, axis)
    elif isinstance(op, AdaptivePool):
        values = (op.size_on(axis) or 0,)
    return values + (0,) * (ROW_FIELDS - len(values))


def evaluate_graph(graph: Graph, input_size: Union[None, int, str, Sequence[int]] = None) -> Optional[GraphRF]:
    """One graph through the core, as the reference's GraphRF, or None where the core's answer
    would be incomplete and the reference must compute it: a class of period > 1 (fractional
    jumps: extents vary from unit to unit), a misaligned merge (the report names the paths), or
    an evaluation that stopped on an error (the reference raises it with its message)."""
    size = parse_size(input_size) if input_size is not None else graph.input_size
    try:
        ndim = graph.resolve_ndim(size)
    except SpecError:
        return None
    if not 1 <= ndim <= _core.MAX_AXES:
        return None
    if size is not None and len(size) == 1:
        size = size * ndim
    if size is not None and len(size) != ndim:
        return None
    index = {node.id: v for v, node in enumerate(graph.nodes)}
    codes: List[int] = []
    offsets: List[int] = [0]
    inputs: List[int] = []
    like: List[int] = []
    params: List[int] = []
    rows: Dict[int, List[int]] = {}  # by op object: a model repeats a few ops many times
    for node in graph.nodes:
        op = node.op
        n = op_ndim(op)
        if n is not None and n != ndim:
            return None
        codes.append(OPS[op_code(op)])
        inputs.extend(-1 if i == INPUT else index[i] for i in node.inputs)
        offsets.append(len(inputs))
        target = op.like if isinstance(op, Crop) else None
        like.append(-1 if target is None or target == INPUT else index[target])
        row = rows.get(id(op))
        if row is None:
            row = rows[id(op)] = [x for a in range(ndim) for x in axis_fields(op, a, ndim)]
        params.extend(row)
    out = _core.evaluate_graph_one(op=codes, input_offsets=offsets, inputs=inputs, like=like, params=params,
                                   n_axes=ndim, input_size=None if size is None else list(size))  # fmt: skip
    status = out["status"]
    flags = out["flags"]
    misaligned = FLAGS["misaligned"]
    if status not in (GRAPH_STATUS["ok"], GRAPH_STATUS["collapsed"]) or not out["simple"] or any(
            f & misaligned for f in flags):  # fmt: skip
        return None
    collapsed = graph.nodes[out["at"]].id if status == GRAPH_STATUS["collapsed"] else None
    return _graph_rf(graph, ndim, size, out, collapsed)


def _graph_rf(graph: Graph, ndim: int, size: Optional[Tuple[int, ...]], out: Any,
              collapsed: Optional[str]) -> GraphRF:  # fmt: skip
    """The core's flat lists as the reference's GraphRF; equal axes share one AxisRF."""
    names = ("rf", "rf_min", "jump_num", "jump_den", "start", "center2", "size", "period", "flags", "blind",
             "ext_state", "ext_lo", "ext_hi")  # fmt: skip
    cells = list(zip(*(out[name] for name in names)))
    f_rf, f_jump, f_start, f_size = FLAGS["has_rf"], FLAGS["has_jump"], FLAGS["has_start"], FLAGS["has_size"]
    f_whole, f_context, f_done = FLAGS["whole_input"], FLAGS["context"], FLAGS["evaluated"]
    made: Dict[Tuple[int, ...], AxisRF] = {}

    def axis(key: Tuple[int, ...]) -> AxisRF:
        got = made.get(key)
        if got is None:
            rf, rf_min, jn, jd, start, c2, n, period, fl, blind, es, lo, hi = key
            extent = None if es == 0 else UnitPattern(1, jn, (lo,), (hi,)) if es == 2 else UnitPattern(1, jn, (None,), (None,))
            got = made[key] = AxisRF(
                rf=rf if fl & f_rf else None,
                rf_min=rf_min if fl & f_rf else None,
                jump=(jn if jd == 1 else Fraction(jn, jd)) if fl & f_jump else None,
                start=start if fl & f_start else None,
                center=(c2 // 2 if c2 % 2 == 0 else Fraction(c2, 2)) if fl & f_start else None,
                output_size=n if fl & f_size else None,
                blind_spots=None if blind < 0 else blind,
                period=period,
                whole_input=bool(fl & f_whole),
                context=bool(fl & f_context),
                extent=extent,
            )  # fmt: skip
        return got

    rows = []
    for v, node in enumerate(graph.nodes):
        keys = cells[v * ndim:(v + 1) * ndim]
        axes = tuple(axis(k) for k in keys) if keys[0][8] & f_done else None
        rows.append(NodeRF(node.id, op_kind(node.op), op_spec(node.op), node.inputs, axes))
    return GraphRF(tuple(rows), graph.outputs, size, ndim, collapsed, ())
