"""Shared by the differential tests: run one backend (and each SIMD path of the core) and keep
either its results or its error."""

from contextlib import contextmanager

from rfsearch import _core, batch_receptive_fields, layer_receptive_fields, receptive_fields_by_id

FIELDS = ("rf", "jump", "effective_padding", "output_size", "status")
#: The core's code paths this CPU runs: "scalar" (no fast path), "baseline", "v3" (AVX2), "v4" (AVX-512).
SIMD_PATHS = tuple(_core.build_info()["simd_paths_supported"])


@contextmanager
def simd_path(name):
    """Batch scoring runs on SIMD path `name` inside the block."""
    before = _core.build_info()["simd_path"]
    _core._set_simd_path(name)
    try:
        yield
    finally:
        _core._set_simd_path(before)


def _run(fn, *args, **kw):
    try:
        r = fn(*args, **kw)
    except (ValueError, TypeError) as e:
        return type(e), str(e)
    return tuple(None if getattr(r, f) is None else getattr(r, f).tolist() for f in FIELDS)


def outcome(backend, arrays, **kw):
    """Either the result arrays or the error (type and message) of one backend on dense arrays."""
    return _run(batch_receptive_fields, **arrays, **kw, backend=backend)


def outcome_by_id(backend, table, ids, **kw):
    """The same for a layer table plus ids."""
    return _run(receptive_fields_by_id, table, ids, **kw, backend=backend)


def outcome_layers(backend, table, ids, **kw):
    """The same for the per-layer mode of one stack."""
    return _run(layer_receptive_fields, table, ids, **kw, backend=backend)


def core_on_every_path(run, *args, **kw):
    """run("cpp", ...) on every SIMD path this CPU has; asserts they agree and returns the outcome."""
    outcomes = {}
    for path in SIMD_PATHS:
        with simd_path(path):
            outcomes[path] = run("cpp", *args, **kw)
    first = outcomes[SIMD_PATHS[0]]
    for path, got in outcomes.items():
        assert got == first, f"SIMD path {path} differs from {SIMD_PATHS[0]}"
    return first


# --- memory layouts: the same values (or a broadcast of them) laid out the ways numpy allows --

LAYOUTS = ("c", "fortran", "reversed", "every_other", "record_packed", "record_aligned", "swapped",
           "record_swapped", "unaligned", "broadcast")  # fmt: skip


def relayout(arr, layout):
    """arr's values in another memory layout (for "broadcast": the first stack's values for every stack,
    read through zero strides). Returns an array the core must read in place, whatever its strides."""
    import numpy as np

    arr = np.asarray(arr)
    if layout == "fortran":
        return np.asfortranarray(arr)
    if layout == "reversed":  # negative strides on every axis
        flip = (slice(None, None, -1),) * arr.ndim
        return np.ascontiguousarray(arr[flip])[flip]
    if layout == "every_other":  # strides of twice the item size along the first axis
        wide = np.zeros((2 * arr.shape[0],) + arr.shape[1:], arr.dtype)
        wide[::2] = arr
        return wide[::2]
    if layout in ("record_packed", "record_aligned", "record_swapped"):
        # A field of a record array: the stride is the record size (not a multiple of the item
        # size when packed), the data is unaligned when packed, and possibly byte-swapped.
        field = arr.dtype.newbyteorder(">" if arr.dtype.byteorder in "=<" else "<") if layout == "record_swapped" else arr.dtype
        record = np.dtype([("tag", "i1"), ("x", field), ("y", "i2")], align=layout == "record_aligned")
        rec = np.zeros(arr.shape, record)
        rec["x"] = arr
        return rec["x"]
    if layout == "swapped":
        return arr.astype(arr.dtype.newbyteorder(">" if arr.dtype.byteorder in "=<" else "<"))
    if layout == "unaligned":
        raw = np.zeros(arr.nbytes + 1, np.uint8)
        out = raw[1:].view(arr.dtype).reshape(arr.shape)
        out[...] = arr
        return out
    if layout == "broadcast" and arr.ndim >= 1 and arr.shape[0] > 0:
        return np.broadcast_to(arr[:1], arr.shape)
    return arr
