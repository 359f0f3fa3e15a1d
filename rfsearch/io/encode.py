"""Stacks as read from batch files (compact text, layer lists) to row ids of a `LayerTable`.

This is the batch side of the one path from layers to arrays: every distinct token (or layer
object) is parsed once and stored once in the table; a block of stacks becomes a flat array of
row ids plus each stack's depth, cut into groups whose padded (N, L) id matrices stay under a
cell budget. Scoring is `rfsearch.core.table.receptive_fields_by_id`.

Compact text goes through a vectorised path: the block's specs are joined into one byte string,
cut at the commas with numpy, and each token's bytes (up to 16) are looked up in a hash table
of the tokens seen so far, verified byte for byte. Only new tokens, long tokens and unusual
stacks (non-ASCII text, empty pieces, pieces holding several tokens) reach Python per token.
"""

from __future__ import annotations

import functools
import json
from typing import (
    Dict,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
)

import numpy as np

from ..core.table import LayerTable
from ..errors import SpecError
from ..model.grammar import parse_layers, split_tokens
from ..model.layers import PAD_SAME, Layer
from ..model.specfile import layer_from_entry
from .formats import Rows, Stack

__all__ = ["CELL_BUDGET", "AxesFound", "Group", "StackEncoder", "check_stack"]

#: Upper bound on rows x padded width of one id matrix handed to the core. A block whose stacks
#: would pad beyond it is cut into groups (a stack longer than the budget goes alone), so memory
#: follows the layers the file really holds, not its longest stack times its row count.
CELL_BUDGET = 1 << 21
PADDING_FACTOR = 4  # a group's padded cells may be at most this many times its real layers ...
SMALL_GROUP = 1 << 16  # ... unless the group is this small anyway

SLOW = -1  # a token the vectorised path leaves to Python (its row is encoded per token)
_RESOLVE_STEP = 1 << 15  # unknown tokens looked at per round in a block
_KEY_BYTES = 16
_C1 = np.uint64(0x9E3779B97F4A7C15)
_C2 = np.uint64(0xC2B2AE3D27D4EB4F)


def _masks() -> Tuple[np.ndarray, np.ndarray]:
    """Per token length 0..16, masks keeping that many bytes of the two little-endian key words."""
    full = (1 << 64) - 1
    low = [full if n >= 8 else (1 << (8 * n)) - 1 for n in range(_KEY_BYTES + 1)]
    high = [0 if n <= 8 else full if n >= 16 else (1 << (8 * (n - 8))) - 1 for n in range(_KEY_BYTES + 1)]
    return np.array(low, dtype=np.uint64), np.array(high, dtype=np.uint64)


_LOW, _HIGH = _masks()


def _token_keys(data: bytes, starts: np.ndarray, lengths: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The first 16 bytes of each token (starts ascending, lengths <= 16), zero-filled, as two uint64 words."""
    # A 16-byte record starting at every byte of the block (overlapping views of it, no copy);
    # the last tokens, within 16 bytes of the end, read from a zero-padded copy of the tail.
    safe = max(len(data) - _KEY_BYTES + 1, 0)
    k = int(np.searchsorted(starts, safe))
    words = np.empty((len(starts), 2), dtype="<u8")
    if k:
        at_each_byte = np.ndarray(shape=(safe,), dtype=np.dtype(f"V{_KEY_BYTES}"), buffer=data, strides=(1,))
        words[:k] = at_each_byte[starts[:k]].view("<u8").reshape(-1, 2)
    if k < len(starts):
        tail = data[safe:] + bytes(_KEY_BYTES)
        at_tail = np.ndarray(shape=(len(data) - safe,), dtype=np.dtype(f"V{_KEY_BYTES}"), buffer=tail, strides=(1,))
        words[k:] = at_tail[starts[k:] - safe].view("<u8").reshape(-1, 2)
    return words[:, 0] & _LOW[lengths], words[:, 1] & _HIGH[lengths]


_MASK64 = (1 << 64) - 1


def _hash(w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
    """64-bit hash of token keys (uint64 arithmetic wraps, as in _hash_int)."""
    mixed: np.ndarray = (w0 ^ (w1 * _C2)) * _C1
    return mixed


def _hash_int(w0: int, w1: int) -> int:
    return ((w0 ^ ((w1 * int(_C2)) & _MASK64)) * int(_C1)) & _MASK64


class _Vocabulary:
    """Known tokens (16-byte keys as two words) -> table row ids, in an open-addressing hash table
    (linear probing, at most a quarter full) looked up for a whole block at once. Index 0 of the
    key arrays is a sentinel that matches no token (tokens have no NUL bytes)."""

    def __init__(self) -> None:
        self._w0: List[int] = [0]
        self._w1: List[int] = [0]
        self._ids: List[int] = [SLOW]
        self._bits = 6
        self._slots = [0] * (1 << self._bits)  # key index per slot, 0: empty
        self._arrays: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = None

    def __len__(self) -> int:
        return len(self._ids) - 1

    def _insert(self, index: int) -> None:
        mask = (1 << self._bits) - 1
        slot = _hash_int(self._w0[index], self._w1[index]) >> (64 - self._bits)
        while self._slots[slot]:
            slot = (slot + 1) & mask
        self._slots[slot] = index

    def add(self, w0: int, w1: int, row: int) -> None:
        self._w0.append(w0)
        self._w1.append(w1)
        self._ids.append(row)
        self._arrays = None
        if 4 * len(self) > len(self._slots):  # keep probes short: grow and insert everything again
            self._bits += 2
            self._slots = [0] * (1 << self._bits)
            for index in range(1, len(self._ids)):
                self._insert(index)
        else:
            self._insert(len(self._ids) - 1)

    def lookup(self, w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
        """Row ids of the keys; SLOW where a key is unknown."""
        if self._arrays is None:
            self._arrays = (np.array(self._w0, dtype=np.uint64), np.array(self._w1, dtype=np.uint64),
                            np.array(self._ids, dtype=np.int64), np.array(self._slots, dtype=np.intp))  # fmt: skip
        known_w0, known_w1, ids, slots = self._arrays
        mask = len(slots) - 1
        slot = (_hash(w0, w1) >> np.uint64(64 - self._bits)).astype(np.intp)
        entry = slots[slot]
        found: np.ndarray = np.where((known_w0[entry] == w0) & (known_w1[entry] == w1), ids[entry], SLOW)
        probing = np.flatnonzero((found == SLOW) & (entry != 0))  # an occupied slot held another key
        while probing.size:
            slot[probing] = (slot[probing] + 1) & mask
            entry = slots[slot[probing]]
            hit = (known_w0[entry] == w0[probing]) & (known_w1[entry] == w1[probing]) & (entry != 0)
            found[probing[hit]] = ids[entry[hit]]
            probing = probing[~hit & (entry != 0)]
        return found


class AxesFound(Exception):
    """A stack has per-axis values after blocks were encoded with one axis assumed: start again."""

    def __init__(self, ndim: int, origin: str) -> None:
        super().__init__(f"{origin}: the stacks have {ndim} axes")
        self.ndim = ndim
        self.origin = origin


class _NewAxes(Exception):
    def __init__(self, ndim: int) -> None:
        self.ndim = ndim


@functools.lru_cache(maxsize=1 << 16)
def token_layer(token: str) -> Layer:
    """One compact token to a layer, cached: NAS files repeat a few hundred tokens millions of times."""
    return layer_from_entry(token)


@functools.lru_cache(maxsize=1 << 16)
def dict_layer(canonical_json: str) -> Layer:
    return layer_from_entry(json.loads(canonical_json))


def check_stack(stack: Stack) -> None:
    """Raises unless the stack is text or a non-empty list (text is checked for emptiness once split)."""
    if isinstance(stack, list):
        if not stack:
            raise SpecError("empty stack: give at least one layer")
    elif not isinstance(stack, str):
        shown = repr(stack) if len(repr(stack)) <= 60 else type(stack).__name__
        raise SpecError(f"a stack must be compact text like conv3s1p1,maxpool2 or a list of layers, got {shown}")


def _parse_entry(entry: object) -> Layer:
    """A token or entry to a layer; any failure of the parser becomes a SpecError."""
    try:
        return token_layer(entry) if isinstance(entry, str) else layer_from_entry(entry)
    except SpecError:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError) as e:  # e.g. int() of 5,000 digits
        raise SpecError(str(e)) from None


#: One group of a block: rows [lo, hi), their (hi - lo, L) id matrix and their depths.
Group = Tuple[int, int, np.ndarray, np.ndarray]


class StackEncoder:
    """Stacks to row ids of one `LayerTable`, shared by every block of a file.

    ndim: the number of axes if known (from the input size); None: one axis is assumed until a
    stack with per-axis values (conv1x7) fixes it. If that happens after a block was handed out
    (`emitted`), `encode` raises AxesFound and the caller starts again with the axes known.
    """

    def __init__(self, ndim: Optional[int], origin: str, size_known: bool, *, cell_budget: int = CELL_BUDGET,
                 vectorised: bool = True) -> None:  # fmt: skip
        self.vectorised = vectorised  # False: every stack token by token (the path the tests compare with)
        self.fixed = ndim is not None
        self.ndim = ndim or 1
        self.origin = origin
        self.size_known = size_known
        self.cell_budget = cell_budget
        self.emitted = False
        self.table = LayerTable(self.ndim)
        self._pieces: Dict[str, int] = {}  # comma-separated piece of compact text, as written -> row id
        self._dicts: Dict[str, int] = {}  # layer object as canonical JSON -> row id
        self._vocabulary = _Vocabulary()

    # ------------------------------------------------------------------ layers to rows

    def _row_of(self, layer: Layer) -> int:
        """The table row of a layer, added if new; checks what the table cannot (the number of axes)."""
        if layer.ndim is not None and not self.fixed:
            raise _NewAxes(layer.ndim)  # the first layer with per-axis values fixes the axes, at its stack
        if layer.ndim is not None and layer.ndim != self.ndim:
            raise SpecError(f"{layer.spec()} has {layer.ndim} axes but {self.origin} "
                            "(every stack needs the same number of axes)")  # fmt: skip
        return self.table.add(layer)

    def _fix_axes(self, ndim: int, origin: str) -> None:
        """One axis was assumed; the stacks have `ndim`. Rows keep their ids (all so far are scalar)."""
        old = self.table
        if ndim != old.ndim:
            self.table = LayerTable(ndim, (old.layer(r) for r in range(len(old))))
            assert len(self.table) == len(old)
        self.ndim, self.fixed, self.origin = ndim, True, origin

    def _piece_id(self, piece: str) -> int:
        """A comma-separated piece of compact text to a row id; SLOW if it holds several tokens."""
        row = self._pieces.get(piece)
        if row is None:
            tokens = split_tokens(piece)  # pieces may hold spaces
            if len(tokens) != 1:
                return SLOW
            row = self._pieces[piece] = self._row_of(_parse_entry(tokens[0]))
        return row

    def _entry_id(self, entry: object) -> int:
        if isinstance(entry, str):
            token = split_tokens(entry)
            if len(token) != 1:
                raise SpecError(f"a layer entry must be one token, got {entry!r}")
            return self._row_of(_parse_entry(token[0]))
        if not isinstance(entry, dict):
            _parse_entry(entry)  # raises its "must be a mapping or a token" error
        try:
            canonical = json.dumps(entry, sort_keys=True)
        except (TypeError, ValueError) as e:
            raise SpecError(f"a layer must be a mapping of plain values: {e}") from None
        row = self._dicts.get(canonical)
        if row is None:
            try:
                layer = dict_layer(canonical)
            except SpecError:
                raise
            except (ValueError, TypeError, OverflowError, RecursionError) as e:
                raise SpecError(str(e)) from None
            row = self._dicts[canonical] = self._row_of(layer)
        return row

    def _stack_ids(self, stack: Stack) -> List[int]:
        """One stack's row ids, token by token; errors name the layer."""
        check_stack(stack)
        ids: List[int] = []
        try:
            if isinstance(stack, str):
                for piece in stack.split(","):
                    row = self._piece_id(piece)
                    if row != SLOW:
                        ids.append(row)
                    else:
                        ids.extend(self._row_of(_parse_entry(t)) for t in split_tokens(piece))
            else:
                for entry in stack:
                    ids.append(self._entry_id(entry))
        except SpecError as e:
            raise e.located(layer=len(ids)) from None
        if not ids:
            parse_layers(stack)  # raises its 'empty spec' error
        return ids

    def _located_stack_ids(self, block: Rows, i: int) -> List[int]:
        """Stack i of the block to ids; per-axis values seen first here fix the axes (or restart)."""
        while True:
            try:
                return self._stack_ids(block.stacks[i])
            except SpecError as e:
                raise block.locate(e, i) from None
            except _NewAxes as found:
                source, line = block.where(i)
                origin = f"the stack at {source}" + ("" if line is None else f":{line}") + f" has {found.ndim}"
                if self.emitted and found.ndim != self.ndim:
                    raise AxesFound(found.ndim, origin) from None
                self._fix_axes(found.ndim, origin)  # chunks handed out so far assumed these axes

    # ------------------------------------------------------------------ blocks

    def _resolve(self, data: bytes, starts: np.ndarray, ends: np.ndarray, tokens: np.ndarray, w0: np.ndarray,
                 w1: np.ndarray) -> np.ndarray:  # fmt: skip
        """Row ids of tokens the vocabulary does not know: each distinct one parsed once and learnt."""
        _, first_at, inverse = np.unique(_hash(w0, w1), return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
        if not (np.array_equal(w0[first_at][inverse], w0) and np.array_equal(w1[first_at][inverse], w1)):
            # two distinct tokens share a 64-bit hash: group them by their full 16 bytes instead
            _, first_at, inverse = np.unique(np.stack([w0, w1], axis=1), axis=0, return_index=True,
                                             return_inverse=True)  # fmt: skip
            inverse = inverse.reshape(-1)
        resolved = np.empty(len(first_at), dtype=np.int64)
        for k, (at, t) in enumerate(zip(first_at.tolist(), tokens[first_at].tolist())):
            try:
                row = self._piece_id(data[int(starts[t]) : int(ends[t])].decode("ascii"))
            except (SpecError, _NewAxes):
                row = SLOW  # its stack goes through Python, which reports it in place
            resolved[k] = row
            if row != SLOW:
                self._vocabulary.add(int(w0[at]), int(w1[at]), row)
        found: np.ndarray = resolved[inverse]
        return found

    def _fast_ids(self, stacks: Sequence[str]) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """Flat ids and depths of compact-text stacks, vectorised; SLOW ids mark tokens left to Python.

        None if the block does not suit the vectorised path (non-ASCII text).
        """
        joined = ",".join(stacks)
        try:
            data = joined.encode("ascii")
        except UnicodeEncodeError:
            return None
        n = len(stacks)
        codes = np.frombuffer(data, dtype=np.uint8)
        commas = np.flatnonzero(codes == 44)
        starts = np.empty(len(commas) + 1, dtype=np.intp)
        starts[0] = 0
        starts[1:] = commas + 1
        ends = np.empty_like(starts)
        ends[:-1] = commas
        ends[-1] = len(data)
        row_lengths = np.fromiter(map(len, stacks), dtype=np.intp, count=n) + 1
        row_starts = np.cumsum(row_lengths) - row_lengths
        first = np.searchsorted(starts, row_starts)
        depth = np.diff(np.append(first, len(starts))).astype(np.int64)
        return self._span_ids(data, starts, ends), depth

    def _span_ids(self, data: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Row ids of the tokens data[starts[t]:ends[t]] (ASCII); SLOW for tokens left to Python."""
        lengths = ends - starts
        short = (lengths > 0) & (lengths <= _KEY_BYTES)
        at = None if bool(short.all()) else np.flatnonzero(short)
        w0, w1 = _token_keys(data, starts if at is None else starts[at], lengths if at is None else lengths[at])
        found = self._vocabulary.lookup(w0, w1)
        unknown = np.flatnonzero(found == SLOW)
        for lo in range(0, unknown.size, _RESOLVE_STEP):  # in slices: memory stays small in a first block
            part = unknown[lo : lo + _RESOLVE_STEP]
            if lo:  # earlier slices taught the vocabulary most of these
                found[part] = self._vocabulary.lookup(w0[part], w1[part])
                part = part[found[part] == SLOW]
            if part.size:
                found[part] = self._resolve(data, starts, ends, part if at is None else at[part], w0[part], w1[part])
        if at is None:
            return found
        ids = np.full(len(starts), SLOW, dtype=np.int64)
        ids[at] = found
        for t in np.flatnonzero(lengths > _KEY_BYTES).tolist():
            try:
                ids[t] = self._piece_id(data[int(starts[t]) : int(ends[t])].decode("ascii"))
            except (SpecError, _NewAxes):
                ids[t] = SLOW
        return ids

    def encode(self, block: Rows) -> List[Group]:
        """The block's stacks as groups of (lo, hi, ids (n, L), depth (n,)); errors name file and line."""
        flat, depth = self.ids(block)
        return list(self._groups(flat.astype(np.int32 if len(self.table) < 2**31 else np.int64), depth))

    def ids(self, block: Rows) -> Tuple[np.ndarray, np.ndarray]:
        """The block's stacks as flat row ids (int64) and depths; errors name file and line."""
        stacks = block.stacks
        n = len(stacks)
        fast: Optional[Tuple[np.ndarray, np.ndarray]] = None
        if self.vectorised and block.tokens is not None:  # CSV read by csvfast: token spans of the file's bytes
            spans = block.tokens
            fast = self._span_ids(spans.data, spans.start, spans.end), spans.depth
        elif self.vectorised and n and set(map(type, stacks)) == {str}:
            fast = self._fast_ids(stacks)
        if fast is None:
            per_stack = [self._located_stack_ids(block, i) for i in range(n)]
            depth = np.fromiter(map(len, per_stack), dtype=np.int64, count=n)
            flat = np.fromiter((r for ids in per_stack for r in ids), dtype=np.int64, count=int(depth.sum()))
        else:
            flat, depth = fast
            slow = flat == SLOW
            if slow.any():
                flat, depth = self._redo_slow(block, flat, depth, slow)
        self._check_sizes(block, flat, depth)
        return flat, depth

    def _redo_slow(self, block: Rows, flat: np.ndarray, depth: np.ndarray,
                   slow: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Stacks holding a token the vectorised path left out, encoded again token by token, in order
        (so the first bad stack of the block is the one reported)."""
        ends = np.cumsum(depth)
        starts = ends - depth
        rows = np.unique(np.searchsorted(ends, np.flatnonzero(slow), side="right"))
        parts: List[np.ndarray] = []
        new_depth = depth.copy()
        at = 0
        for i in rows.tolist():
            parts.append(flat[at : starts[i]])
            ids = np.asarray(self._located_stack_ids(block, i), dtype=np.int64)
            parts.append(ids)
            new_depth[i] = len(ids)
            at = int(ends[i])
        parts.append(flat[at:])
        return np.concatenate(parts), new_depth

    def _check_sizes(self, block: Rows, flat: np.ndarray, depth: np.ndarray) -> None:
        """'same' padding with stride > 1 needs the input size: name the first stack and layer using it."""
        if self.size_known or not len(self.table):
            return
        needs = self.table.columns.needs_size
        if not needs.any():
            return
        hit = np.flatnonzero(needs[flat])
        if not hit.size:
            return
        t = int(hit[0])
        ends = np.cumsum(depth)
        i = int(np.searchsorted(ends, t, side="right"))
        layer_i = t - int(ends[i] - depth[i])
        row = int(flat[t])
        layer = self.table.layer(row)
        stride = int(self.table.columns.stride[row][self.table.columns.padding[row] == PAD_SAME].max())
        error = SpecError(f"{layer.spec()}: padding 'same' with stride {stride} depends on the input size; "
                          "give an input size", layer=layer_i)  # fmt: skip
        raise block.locate(error, i)

    def _groups(self, flat: np.ndarray, depth: np.ndarray) -> Iterator[Group]:
        """Consecutive stacks whose padded id matrix stays within the cell budget and holds at most
        PADDING_FACTOR times the cells the stacks really have (or SMALL_GROUP cells): a long stack
        among short ones gets a group of its own, and memory follows the layers in the file."""
        n = len(depth)
        if n == 0:
            yield 0, 0, np.zeros((0, 1), dtype=flat.dtype), depth
            return
        offsets = np.concatenate([[0], np.cumsum(depth)])
        widest = int(depth.max())
        if self._fits(n * widest, int(offsets[-1])):
            yield 0, n, self._matrix(flat, depth, widest), depth
            return
        lo, width, real = 0, 0, 0
        budget = self.cell_budget
        for i, d in enumerate(depth.tolist()):
            wide = width if width > d else d
            padded = (i - lo + 1) * wide
            if i > lo and (padded > budget or (padded > SMALL_GROUP and padded > PADDING_FACTOR * (real + d))):
                yield lo, i, self._matrix(flat[offsets[lo] : offsets[i]], depth[lo:i], width), depth[lo:i]
                lo, width, real = i, d, d
            else:
                width, real = wide, real + d
        yield lo, n, self._matrix(flat[offsets[lo] :], depth[lo:], width), depth[lo:]

    def _fits(self, padded: int, real: int) -> bool:
        return padded <= self.cell_budget and padded <= max(SMALL_GROUP, PADDING_FACTOR * real)

    @staticmethod
    def _matrix(flat: np.ndarray, depth: np.ndarray, width: int) -> np.ndarray:
        """Flat ids to an (n, width) matrix, rows padded with id 0 (the core ignores ids past depth)."""
        n = len(depth)
        if n and int(depth.min()) == width:
            return flat.reshape(n, width)
        matrix = np.zeros((n, max(width, 1)), dtype=flat.dtype)
        row = np.repeat(np.arange(n), depth)
        column = np.arange(len(flat)) - np.repeat(np.cumsum(depth) - depth, depth)
        matrix[row, column] = flat
        return matrix
