"""Stacks as read from batch files (compact text, layer lists) to padded integer arrays."""

from __future__ import annotations

import functools
import itertools
import json
from typing import (
    Any,
    Dict,
    List,
    Optional,
    Tuple,
)

import numpy as np

from ..errors import SpecError
from ..model.grammar import parse_layers, split_tokens
from ..model.layers import PAD_SAME, AxisParams, Identity, Layer
from ..model.specfile import layer_from_entry
from .formats import INT64_MAX, Rows, Stack, StackArrays


@functools.lru_cache(maxsize=1 << 16)
def token_layer(token: str) -> Layer:
    # NAS files repeat a few hundred distinct tokens millions of times: parse each once.
    return layer_from_entry(token)


@functools.lru_cache(maxsize=1 << 16)
def dict_layer(canonical_json: str) -> Layer:
    return layer_from_entry(json.loads(canonical_json))


def entry_layer(entry: object) -> Layer:
    """A stack's entry (token or layer dict) to a layer, through the caches."""
    if isinstance(entry, str):
        return token_layer(entry)
    if isinstance(entry, dict):
        return dict_layer(json.dumps(entry, sort_keys=True))
    return layer_from_entry(entry)  # raises its "must be a mapping or a token" error


def check_stack(stack: Stack) -> None:
    """Raises unless the stack is text or a non-empty list (text is checked for emptiness once split)."""
    if isinstance(stack, list):
        if not stack:
            raise SpecError("empty stack: give at least one layer")
    elif not isinstance(stack, str):
        raise SpecError(f"a stack must be compact text like conv3s1p1,maxpool2 or a list of layers, got {stack!r}")


def stack_layers(stack: Stack) -> List[Layer]:
    """One stack as read (compact text, or a list of layer dicts/tokens) to layers; errors name the layer."""
    check_stack(stack)
    entries = split_tokens(stack) if isinstance(stack, str) else stack
    if not entries:
        parse_layers(stack)  # raises its 'empty spec' error
    layers: List[Layer] = []
    try:
        for entry in entries:
            layers.append(entry_layer(entry))
    except SpecError as e:
        raise e.located(layer=len(layers)) from None
    return layers


def smallest_int(table: np.ndarray) -> np.dtype[Any]:
    """The narrowest signed dtype holding every value: chunk arrays are N*L*A*5 values, keep them small."""
    low, high = (int(table.min()), int(table.max())) if table.size else (0, 0)
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


class Encoder:
    """Stacks to padded arrays. Each distinct token or layer object becomes a row of a parameter
    table once; a chunk is then an (N, L) matrix of row ids, expanded by one fancy index per field."""

    def __init__(self, ndim: int, ndim_origin: str, size_known: bool) -> None:
        self.ndim = ndim
        self._origin = ndim_origin
        self._size_known = size_known
        # id 0 is a neutral layer: it pads short stacks (depth also says where each one ends).
        self._layers: List[Layer] = [Identity()]
        self._params: List[Tuple[AxisParams, ...]] = [Identity().axis_params(ndim)]
        self._piece_ids: Dict[str, int] = {}  # comma-separated piece of compact text, as written
        self._dict_ids: Dict[str, int] = {}  # layer object, as canonical JSON
        self._table: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]] = None

    def _add(self, layer: Layer) -> int:
        if layer.ndim is not None and layer.ndim != self.ndim:
            raise SpecError(f"{layer.spec()} has {layer.ndim} axes but {self._origin} "
                            "(every stack needs the same number of axes)")  # fmt: skip
        params = layer.axis_params(self.ndim)
        if any(abs(v) > INT64_MAX for p in params for v in p[:5]):
            raise SpecError(f"{layer.spec()}: a value is larger than the int64 range")
        self._layers.append(layer)
        self._params.append(params)
        self._table = None
        return len(self._layers) - 1

    def _token_id(self, token: str) -> int:
        key = self._piece_ids.get(token)
        if key is None:
            key = self._piece_ids[token] = self._add(token_layer(token))
        return key

    def _dict_id(self, entry: object) -> int:
        if not isinstance(entry, dict):
            layer_from_entry(entry)  # raises its "must be a mapping or a token" error
        canonical = json.dumps(entry, sort_keys=True)
        key = self._dict_ids.get(canonical)
        if key is None:
            key = self._dict_ids[canonical] = self._add(dict_layer(canonical))
        return key

    def _row_ids(self, stack: Stack) -> List[int]:
        """One stack's table ids; errors name the layer. The fast path is one dict lookup per token."""
        if isinstance(stack, str):
            try:
                return [self._piece_ids[piece] for piece in stack.split(",")]
            except KeyError:
                pass
        check_stack(stack)
        ids: List[int] = []
        try:
            if isinstance(stack, str):
                for piece in stack.split(","):
                    tokens = split_tokens(piece)  # pieces may hold spaces
                    ids.extend(self._token_id(t) for t in tokens)
                    if len(tokens) == 1:  # " conv3" next time: the fast path
                        self._piece_ids[piece] = ids[-1]
            else:
                for entry in stack:
                    ids.append(self._token_id(entry) if isinstance(entry, str) else self._dict_id(entry))
        except SpecError as e:
            raise e.located(layer=len(ids)) from None
        if not ids:
            parse_layers(stack)  # raises its 'empty spec' error
        return ids

    def _tables(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, A, 5) ints, (ids, A) ceil_mode, (ids,) needs-an-input-size."""
        if self._table is None:
            ints = np.array([[p[:5] for p in params] for params in self._params], dtype=np.int64)
            ints = ints.astype(smallest_int(ints))
            ceil = np.array([[p.ceil_mode for p in params] for params in self._params], dtype=bool)
            needs_size = ((ints[:, :, 3] == PAD_SAME) & (ints[:, :, 1] > 1)).any(axis=1)
            self._table = (ints, ceil, needs_size)
        return self._table

    def encode(self, block: Rows) -> StackArrays:
        id_lists: List[List[int]] = []
        row_ids = self._row_ids
        for i, stack in enumerate(block.stacks):
            try:
                id_lists.append(row_ids(stack))
            except SpecError as e:
                raise block.locate(e, i) from None

        n = len(id_lists)
        depth = np.fromiter(map(len, id_lists), dtype=np.int64, count=n)
        width = int(depth.max()) if n else 0
        ids = np.zeros((n, width), dtype=np.intp)
        flat = np.fromiter(itertools.chain.from_iterable(id_lists), dtype=np.intp, count=int(depth.sum()))
        starts = np.cumsum(depth) - depth
        ids[np.repeat(np.arange(n), depth), np.arange(flat.size) - np.repeat(starts, depth)] = flat

        ints, ceil, needs_size = self._tables()
        if not self._size_known and needs_size.any():
            hit = needs_size[ids]
            if hit.any():
                row_i, layer_i = (int(v) for v in np.argwhere(hit)[0])
                layer = self._layers[ids[row_i, layer_i]]
                stride = max(p.stride for p in layer.axis_params(self.ndim) if p.pad_before == PAD_SAME)
                error = SpecError(f"{layer.spec()}: padding 'same' with stride {stride} depends on the input "
                                  "size; give an input size", layer=layer_i)  # fmt: skip
                raise block.locate(error, row_i)

        def expand(values: np.ndarray) -> np.ndarray:
            """(ids, A) table column to (N, L, A) (or (N, L) for one axis)."""
            expanded: np.ndarray = values[ids]
            return expanded[:, :, 0] if self.ndim == 1 else expanded

        def unless(default: np.ndarray, values: np.ndarray) -> Optional[np.ndarray]:
            # A field every layer leaves at its default is not expanded: score_stacks broadcasts it.
            return None if np.array_equal(values, default) else expand(values)

        ones = np.ones_like(ints[:, :, 0])
        return StackArrays(
            kernel=expand(ints[:, :, 0]),
            stride=unless(ones, ints[:, :, 1]),
            dilation=unless(ones, ints[:, :, 2]),
            padding=unless(ones * 0, ints[:, :, 3]),
            padding_after=unless(ints[:, :, 3], ints[:, :, 4]),
            ceil_mode=unless(np.zeros_like(ceil), ceil),
            depth=depth,
        )
