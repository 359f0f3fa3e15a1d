"""Many graphs that share one topology, evaluated in the C++ core (no Python per node).

A `GraphSkeleton` freezes a graph's topology: its nodes in order, what kind of op each does
(layer, conv_transpose, upsample, pad, crop, crop_like, adaptive_pool, global, add, concat,
multiply) and their inputs. Parameter sets then choose, for every node, a row of a table of ops
(as the batch core's layer table + ids): an (N, V) matrix of row ids.

    from rfsearch.graph import GraphSkeleton, zoo_model
    from rfsearch import Conv
    sk = GraphSkeleton(zoo_model("resnet50"))        # input 224x224, 2 axes
    own = sk.ids()                                   # (V,) the graph's own rows
    k5 = sk.row(Conv(5, padding=2))                  # another row of the table
    sets = np.tile(own, (1000, 1))
    sets[::2, sk.index("layer1.0.conv2")] = k5       # every other set: a 5x5 conv there
    res = sk.evaluate(sets)                          # GraphBatchRF: (N, V, A) arrays
    res.rf[:, sk.index("layer4"), 0]                 # RF of layer4 on axis 0, per set

The numbers are the reference's (`compute_graph`), exactly: rf, rf_min, jump (num/den), start,
centre, output size, period, whole input, context, misaligned merges; tests/test_graph_core.py
checks them against it on random graphs. Blind spots, per-unit extents and the paths of a
misalignment report are the reference's alone: `res.graph_rf(i)` gives set i as a GraphRF
without them, `compute_graph` with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from .. import _core
from ..core.intake import int_array, thread_count
from ..errors import SpecError
from ..model.values import parse_size
from ..results.graph import AxisRF, GraphRF, NodeRF, Rational, normalized
from .model import INPUT, Graph, Node
from .native import FLAGS, GRAPH_STATUS, OPS, ROW_FIELDS, axis_fields, op_code
from .ops import (
    Crop,
    Op,
    op_kind,
    op_ndim,
    op_spec,
)

__all__ = ["GRAPH_STATUS", "GraphBatchRF", "GraphSkeleton"]

_STATUS_NAMES = {code: name for name, code in GRAPH_STATUS.items()}
_MESSAGES = {
    "collapsed": "the output collapsed (size < 1)",
    "overflow": "a value exceeds the int64 range",
    "size_mismatch": "a merge of different sizes",
    "needs_input_size": "needs the input size",
    "crop_too_large": "cannot crop to a larger size",
    "period_too_large": "the unit pattern repeats only every more than 65536 units",
    "bad_row": "a row of another op, or outside the table",
}

Row = Tuple[int, Tuple[Tuple[int, ...], ...]]  # op code, per axis ROW_FIELDS values


class GraphSkeleton:
    """A graph's topology plus a table of ops its nodes can take; evaluates many parameter sets.

    graph: the graph whose topology (node ids, op kinds, inputs, crop targets) is frozen; its
    own ops are the first rows of the table. ndim: number of spatial axes (default: from the
    graph's input size or per-axis values). input_size: the default size for `evaluate`
    (default: the graph's own, or none)."""

    def __init__(self, graph: Graph, ndim: Optional[int] = None,
                 input_size: Union[None, int, str, Sequence[int]] = None) -> None:  # fmt: skip
        size = None if input_size is None else parse_size(input_size)
        self.graph = graph
        self.ndim = ndim if ndim is not None else graph.resolve_ndim(size)
        if not 1 <= self.ndim <= _core.MAX_AXES:
            raise SpecError(f"ndim must be 1 to {_core.MAX_AXES}, got {self.ndim}")
        self.input_size = self._sizes(size if size is not None else graph.input_size)
        self.nodes: Tuple[str, ...] = tuple(n.id for n in graph.nodes)
        self._index = {node_id: i for i, node_id in enumerate(self.nodes)}
        self.kinds: Tuple[str, ...] = tuple(op_code(n.op) for n in graph.nodes)
        offsets: List[int] = [0]
        inputs: List[int] = []
        like: List[int] = []
        for node in graph.nodes:
            inputs.extend(-1 if i == INPUT else self._index[i] for i in node.inputs)
            offsets.append(len(inputs))
            target = node.op.like if isinstance(node.op, Crop) else None
            like.append(-1 if target is None or target == INPUT else self._index[target])
        self._op = np.array([OPS[k] for k in self.kinds], dtype=np.uint8)
        self._offsets = np.array(offsets, dtype=np.int64)
        self._inputs = np.array(inputs, dtype=np.int64)
        self._like = np.array(like, dtype=np.int64)
        self._rows: List[Row] = []
        self._row_ops: List[Op] = []  # the op each row was made from
        self._row_of: Dict[Op, int] = {}  # by op (equal ops, one row; ops may share a row's values)
        self._arrays: Optional[Tuple[np.ndarray, np.ndarray]] = None
        self._own = self.ids(graph)

    def _sizes(self, size: Optional[Tuple[int, ...]]) -> Optional[Tuple[int, ...]]:
        if size is None:
            return None
        if len(size) == 1:
            return size * self.ndim
        if len(size) != self.ndim:
            raise SpecError(f"input size has {len(size)} axes but the skeleton has {self.ndim}")
        return size

    def __len__(self) -> int:
        return len(self.nodes)

    def index(self, node_id: str) -> int:
        """The column of node `node_id` in ids and results (SpecError if there is none)."""
        try:
            return self._index[node_id]
        except KeyError:
            raise SpecError(f"the skeleton has no node {node_id!r:.60}") from None

    @property
    def n_rows(self) -> int:
        """Rows in the table so far."""
        return len(self._rows)

    def row(self, op: Op) -> int:
        """The table row of `op` (added if new): a layer (Conv, MaxPool, ...) or a graph op of
        ops.py. Merges take no row. SpecError if its per-axis values have another number of axes."""
        kind = op_code(op)
        if kind in ("add", "concat", "multiply"):
            raise SpecError(f"{kind} takes no row: merges have no parameters")
        n = op_ndim(op)
        if n is not None and n != self.ndim:
            raise SpecError(f"{op_spec(op)} has {n} axes but the skeleton has {self.ndim}")
        found = self._row_of.get(op)
        if found is None:
            found = self._row_of[op] = len(self._rows)
            self._rows.append((OPS[kind], tuple(axis_fields(op, a, self.ndim) for a in range(self.ndim))))
            self._row_ops.append(op)
            self._arrays = None
        return found

    def row_op(self, row: int) -> Op:
        """The op a table row was made from."""
        return self._row_ops[row]

    def graph_of(self, ids: npt.ArrayLike) -> Graph:
        """One parameter set (V row ids) as a Graph: e.g. to see its blind spots, per-unit extents
        and misalignment paths with `compute_graph`, which the core does not compute."""
        row_ids = int_array(ids, "ids").reshape(-1)
        if row_ids.shape != (len(self.nodes),):
            raise SpecError(f"ids: expected {len(self.nodes)} row ids (one per node), got shape {row_ids.shape}")
        self._check_ids(row_ids[None, :], self.table()[0])
        nodes = tuple(node if self.kinds[v] in ("add", "concat", "multiply")
                      else Node(node.id, self._row_ops[int(row_ids[v])], node.inputs, node.line)
                      for v, node in enumerate(self.graph.nodes))  # fmt: skip
        g = self.graph
        return Graph(nodes, g.outputs, g.input_size, g.alignment, g.source)

    def row_kind(self, row: int) -> str:
        """The op kind of a table row (layer, conv_transpose, upsample, ...)."""
        code = self._rows[row][0]
        return next(name for name, c in OPS.items() if c == code)

    def ids(self, graph: Optional[Graph] = None) -> np.ndarray:
        """(V,) row ids of `graph`'s ops (default: the skeleton's own graph), adding rows as needed;
        -1 for merges (no row). `graph` must have this topology: the same node ids in the same
        order, op kinds and inputs (SpecError naming the first node that differs)."""
        if graph is None:
            own: np.ndarray = self._own.copy()
            return own
        nodes = graph.nodes
        if tuple(n.id for n in nodes) != self.nodes:
            raise SpecError("the graph's nodes are not the skeleton's (ids, order)")
        out = np.empty(len(nodes), dtype=np.int64)
        for i, node in enumerate(nodes):
            self._same_place(i, node)
            out[i] = -1 if self.kinds[i] in ("add", "concat", "multiply") else self.row(node.op)
        return out

    def _same_place(self, i: int, node: Node) -> None:
        mine = self.graph.nodes[i]
        like = node.op.like if isinstance(node.op, Crop) else None
        mine_like = mine.op.like if isinstance(mine.op, Crop) else None
        if op_code(node.op) != self.kinds[i] or node.inputs != mine.inputs or like != mine_like:
            raise SpecError(f"node {node.id!r}: not the skeleton's ({op_kind(node.op)} of {', '.join(node.inputs)}; "
                            f"the skeleton has {op_kind(mine.op)} of {', '.join(mine.inputs)})")  # fmt: skip

    def table(self) -> Tuple[np.ndarray, np.ndarray]:
        """The table as the core takes it: op codes (T,) uint8 and parameters (T, A, 8) int64."""
        if self._arrays is None:
            ops = np.array([code for code, _ in self._rows], dtype=np.uint8)
            params = np.array([fields for _, fields in self._rows], dtype=np.int64).reshape(len(self._rows), self.ndim,
                                                                                            ROW_FIELDS)  # fmt: skip
            self._arrays = (ops, params)
        return self._arrays

    def evaluate(
        self,
        ids: npt.ArrayLike,
        input_size: Union[None, int, str, Sequence[int]] = None,
        *,
        threads: Union[None, int] = None,
        detail: bool = False,
    ) -> GraphBatchRF:
        """Every node of N parameter sets: ids (N, V) (or (V,) for one set) of any integer dtype,
        ids[n, v] the table row node v takes in set n (ignored for merges). input_size: default
        the skeleton's. threads: None or -1 for all cores. detail: also blind spots and unit 0's extent
        over every path (GraphBatchRF.blind ...; sets whose `simple` is False need the reference for
        them). Returns a GraphBatchRF; SpecError for
        a row outside the table or of another op than the node's (naming the set and node)."""
        if not isinstance(detail, bool):
            raise SpecError(f"detail must be True or False, got {detail!r:.40}")
        arr = int_array(ids, "ids")
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != len(self.nodes):
            raise SpecError(f"ids: expected shape (N, {len(self.nodes)}) (one row id per node), got {arr.shape}")
        size = self._sizes(parse_size(input_size)) if input_size is not None else self.input_size
        ops, params = self.table()
        self._check_ids(arr, ops)
        out = _core.evaluate_graphs(op=self._op, input_offsets=self._offsets, inputs=self._inputs, like=self._like,
                                    table_op=ops, table_params=params, ids=arr,
                                    input_size=None if size is None else list(size),
                                    threads=thread_count(threads), detail=detail)  # fmt: skip
        return GraphBatchRF(self, size, **out)

    def _check_ids(self, ids: np.ndarray, ops: np.ndarray) -> None:
        rows = ~np.isin(self._op, [OPS["add"], OPS["concat"], OPS["multiply"]])
        sub = ids[:, rows]
        if sub.size == 0:
            return
        bad = (sub < 0) | (sub >= len(ops))
        kinds = np.where(bad, 255, ops[np.clip(sub, 0, max(len(ops) - 1, 0)).astype(np.int64)])
        bad |= kinds != self._op[rows][None, :]
        if bad.any():
            n, j = map(int, np.argwhere(bad)[0])
            v = int(np.flatnonzero(rows)[j])
            value = int(sub[n, j])
            what = (f"row {value} is not a row of the table ({len(ops)} rows)" if not 0 <= value < len(ops)
                    else f"row {value} is a {self.row_kind(value)} row, the node is a {self.kinds[v]}")  # fmt: skip
            raise SpecError(f"parameter set {n}, node {self.nodes[v]!r}: {what}")


def _fraction(num: int, den: int) -> Rational:
    return normalized(Fraction(num, den))


@dataclass(frozen=True)
class GraphBatchRF:
    """What `GraphSkeleton.evaluate` returns: (N, V, A) arrays over sets, nodes and axes, and the
    status of each set. Values of nodes a set did not evaluate (after a stop) are 0.

    rf, rf_min, start (unit 0's first position; effective padding = -start), center2 (twice the
    centre), size, period: int64. jump = jump_num / jump_den. flags: bits of FLAGS (whole_input,
    context, has_rf, has_jump, has_start, has_size, misaligned, evaluated). status (N,): codes of
    GRAPH_STATUS (ok, collapsed, overflow, size_mismatch, needs_input_size, crop_too_large,
    period_too_large, bad_row), `at` (N,) the node it is about (-1: ok).
    """

    skeleton: GraphSkeleton
    input_size: Optional[Tuple[int, ...]]
    rf: np.ndarray
    rf_min: np.ndarray
    jump_num: np.ndarray
    jump_den: np.ndarray
    start: np.ndarray
    center2: np.ndarray
    size: np.ndarray
    period: np.ndarray
    flags: np.ndarray
    status: np.ndarray
    at: np.ndarray
    # evaluate(detail=True) only (see there): blind spots (-1: none), unit 0's extent over every
    # path (ext_state 0 none, 1 sees nothing, 2 [ext_lo, ext_hi]), complete where simple (N,).
    blind: Optional[np.ndarray] = None
    ext_lo: Optional[np.ndarray] = None
    ext_hi: Optional[np.ndarray] = None
    ext_state: Optional[np.ndarray] = None
    simple: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return int(self.status.shape[0])

    def flag(self, name: str) -> np.ndarray:
        """(N, V, A) bool: the named flag (see FLAGS)."""
        out: np.ndarray = (self.flags & FLAGS[name]) != 0
        return out

    @property
    def effective_padding(self) -> np.ndarray:
        """(N, V, A): -start (Distill's effective padding)."""
        return -self.start

    @property
    def ok(self) -> np.ndarray:
        """(N,) bool: the set was evaluated to the end (not collapsed, no error)."""
        out: np.ndarray = self.status == GRAPH_STATUS["ok"]
        return out

    @property
    def aligned(self) -> np.ndarray:
        """(N,) bool: no merge of the set is misaligned (on any axis)."""
        out: np.ndarray = ~np.any(self.flag("misaligned"), axis=(1, 2))
        return out

    def status_name(self, n: int) -> str:
        """The status of set n by name."""
        return _STATUS_NAMES[int(self.status[n])]

    def error(self, n: int) -> Optional[str]:
        """Why set n stopped, as one line naming the node (None when ok)."""
        name = self.status_name(n)
        if name == "ok":
            return None
        return f"node {self.skeleton.nodes[int(self.at[n])]!r}: {_MESSAGES[name]}"

    def axis_rf(self, n: int, node: Union[int, str], axis: int) -> Optional[AxisRF]:
        """Set n's values at one node and axis as the reference's AxisRF (blind_spots and extent
        None: the core does not compute them); None if the node was not evaluated."""
        v = self.skeleton.index(node) if isinstance(node, str) else node
        fl = int(self.flags[n, v, axis])
        if not fl & FLAGS["evaluated"]:
            return None

        def known(bit: str, value: Union[int, Rational]) -> Optional[Union[int, Rational]]:
            return value if fl & FLAGS[bit] else None

        i = (n, v, axis)
        rf = known("has_rf", int(self.rf[i]))
        return AxisRF(
            rf=rf,  # type: ignore[arg-type]
            rf_min=known("has_rf", int(self.rf_min[i])),  # type: ignore[arg-type]
            jump=known("has_jump", _fraction(int(self.jump_num[i]), int(self.jump_den[i]))),
            start=known("has_start", int(self.start[i])),  # type: ignore[arg-type]
            center=known("has_start", _fraction(int(self.center2[i]), 2)),
            output_size=known("has_size", int(self.size[i])),  # type: ignore[arg-type]
            blind_spots=None,
            period=int(self.period[i]),
            whole_input=bool(fl & FLAGS["whole_input"]),
            context=bool(fl & FLAGS["context"]),
            extent=None,
        )

    def graph_rf(self, n: int) -> GraphRF:
        """Set n as a GraphRF (per-node rows, endpoint at top level; blind spots, extents and the
        paths of misaligned merges left out; `misaligned` lists none: see the flags). SpecError
        if the set stopped on an error (collapse is a result, as for compute_graph)."""
        name = self.status_name(n)
        if name not in ("ok", "collapsed"):
            raise SpecError(f"parameter set {n}: {self.error(n)}")
        sk = self.skeleton
        rows = []
        for v, node in enumerate(sk.graph.nodes):
            axes = [self.axis_rf(n, v, a) for a in range(sk.ndim)]
            rows.append(NodeRF(node.id, op_kind(node.op), op_spec(node.op), node.inputs,
                               None if axes[0] is None else tuple(a for a in axes if a is not None)))  # fmt: skip
        collapsed = sk.nodes[int(self.at[n])] if name == "collapsed" else None
        return GraphRF(tuple(rows), sk.graph.outputs, self.input_size, sk.ndim, collapsed, ())

