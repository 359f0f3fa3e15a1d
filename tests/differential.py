"""Shared by the differential tests: run one backend and keep either its results or its error."""

from rfsearch import batch_receptive_fields

FIELDS = ("rf", "jump", "effective_padding", "output_size", "status")


def outcome(backend, arrays, **kw):
    """Either the result arrays or the error (type and message) of one backend."""
    try:
        r = batch_receptive_fields(**arrays, **kw, backend=backend)
    except (ValueError, TypeError) as e:
        return type(e), str(e)
    return tuple(None if getattr(r, f) is None else getattr(r, f).tolist() for f in FIELDS)
