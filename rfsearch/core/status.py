"""The codes the core and the reference share, defined once in C++ (fold.hpp) and read from _core.

`Status` says per stack and axis whether a result is usable; a `CoreError` is the first invalid
input a backend found (its `code` is a name of `_core.PARAM_ERRORS`); `CoreOutput` is what
either backend returns. `rfsearch.errors.core_error` words and locates a CoreError.
"""

from __future__ import annotations

import enum
from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional, Tuple

import numpy as np

from .. import _core
from ..errors import SpecError, core_error

__all__ = ["FIELDS", "MAX_AXES", "PARAM_ERRORS", "CoreError", "CoreOutput", "Status"]

#: Parameter error codes by name (C++ rfsearch::ParamError).
PARAM_ERRORS: Dict[str, int] = dict(_core.PARAM_ERRORS)
#: Input field codes by name (C++ rfsearch::Field).
FIELDS: Dict[str, int] = dict(_core.FIELDS)
#: Most spatial axes a batch may have (C++ rfsearch::default_max_axes).
MAX_AXES: int = int(_core.MAX_AXES)


class Status(enum.IntEnum):
    """Per stack and axis: whether the result is usable (values from C++ rfsearch::Status)."""

    OK = _core.STATUS_CODES["ok"]
    COLLAPSED = _core.STATUS_CODES["collapsed"]  # an output size fell below 1: invalid for this input size
    OVERFLOW = _core.STATUS_CODES["overflow"]  # a value left the int64 range


class CoreError(NamedTuple):
    """The first invalid input of a batch: where (layer / axis -1: not about one), which field, why, the value."""

    stack: int
    layer: int
    axis: int
    field: str  # a name of FIELDS
    code: str  # a name of PARAM_ERRORS
    value: int

    def exception(
        self,
        *,
        n_layers: int,
        n_rows: Optional[int] = None,
        where: Optional[Callable[[int], Tuple[Optional[str], Optional[int]]]] = None,
        first_stack: int = 0,
    ) -> SpecError:
        """The located SpecError for it (see rfsearch.errors.core_error)."""
        return core_error(*self, n_layers=n_layers, n_rows=n_rows, where=where, first_stack=first_stack)


class CoreOutput(NamedTuple):
    """What a backend returns: (N, A) arrays (or (N, L, A) in the per-layer mode), and the first error."""

    rf: np.ndarray
    jump: np.ndarray
    padding: np.ndarray
    size: np.ndarray  # 0 where sizes are unknown
    status: np.ndarray  # uint8, values of Status
    error: Optional[CoreError]

    @classmethod
    def from_core(cls, out: Mapping[str, Any]) -> CoreOutput:
        """The dict a _core batch function returns."""
        error = out["error"]
        return cls(out["rf"], out["jump"], out["padding"], out["size"], out["status"],
                   None if error is None else CoreError(**error))  # fmt: skip
