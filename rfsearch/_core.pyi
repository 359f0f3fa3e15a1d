# Type stub of the compiled core (src_cpp/module.cpp, bind_*.cpp); tests/test_stub.py checks it matches.
from typing import Dict, List, Optional, Sequence, TypedDict, Union

import numpy as np
import numpy.typing as npt

PAD_SAME: int
MAX_AXES: int
STATUS_CODES: Dict[str, int]
PARAM_ERRORS: Dict[str, int]
FIELDS: Dict[str, int]

class _CoreErrorDict(TypedDict):
    stack: int
    layer: int
    axis: int
    field: str
    code: str
    value: int

class _CoreResultDict(TypedDict):
    rf: npt.NDArray[np.int64]
    jump: npt.NDArray[np.int64]
    padding: npt.NDArray[np.int64]
    size: npt.NDArray[np.int64]
    status: npt.NDArray[np.uint8]
    error: Optional[_CoreErrorDict]

def batch_receptive_fields(
    *,
    kernel: npt.NDArray[np.integer],
    stride: npt.NDArray[np.integer],
    padding: npt.NDArray[np.integer],
    dilation: npt.NDArray[np.integer],
    padding_after: npt.NDArray[np.integer],
    ceil_mode: npt.NDArray[np.bool_],
    depth: Optional[npt.NDArray[np.integer]],
    input_size: Optional[Sequence[int]],
    threads: int,
) -> _CoreResultDict: ...
def receptive_fields_by_id(
    *,
    kernel: npt.NDArray[np.integer],
    stride: npt.NDArray[np.integer],
    padding: npt.NDArray[np.integer],
    dilation: npt.NDArray[np.integer],
    padding_after: npt.NDArray[np.integer],
    ceil_mode: npt.NDArray[np.bool_],
    ids: npt.NDArray[np.integer],
    depth: Optional[npt.NDArray[np.integer]],
    input_size: Optional[Sequence[int]],
    threads: int,
) -> _CoreResultDict: ...
def layer_receptive_fields_by_id(
    *,
    kernel: npt.NDArray[np.integer],
    stride: npt.NDArray[np.integer],
    padding: npt.NDArray[np.integer],
    dilation: npt.NDArray[np.integer],
    padding_after: npt.NDArray[np.integer],
    ceil_mode: npt.NDArray[np.bool_],
    ids: npt.NDArray[np.integer],
    depth: Optional[npt.NDArray[np.integer]],
    input_size: Optional[Sequence[int]],
    threads: int,
) -> _CoreResultDict: ...
def build_info() -> Dict[str, Union[str, int, bool, List[str]]]: ...
def hardware_threads() -> int: ...
def _set_simd_path(name: str) -> None: ...
def _fast_path_counters() -> Dict[str, int]: ...
def _reset_fast_path_counters() -> None: ...

# bind_erf.cpp: the exact uniform-weight ERF (rfsearch/core/erf.py, rfsearch/graph/erf.py)
class _GraphErfDict(TypedDict):
    lo: List[int]
    hi: List[int]
    counts: npt.NDArray[Union[np.int64, np.float64]]
    exact: bool

class _ChainErfDict(TypedDict):
    counts: npt.NDArray[Union[np.int64, np.float64]]
    exact: bool

def graph_erf(
    *,
    ndim: int,
    sizes: npt.NDArray[np.int64],
    consumer: npt.NDArray[np.int64],
    producer: npt.NDArray[np.int64],
    period: npt.NDArray[np.int64],
    shift: npt.NDArray[np.int64],
    offset: npt.NDArray[np.int64],
    first: npt.NDArray[np.int64],
    step: npt.NDArray[np.int64],
    count: npt.NDArray[np.int64],
    target: int,
    unit: Sequence[int],
    borders: bool,
) -> _GraphErfDict: ...
def chain_erf(
    *, kernel: npt.NDArray[np.int64], stride: npt.NDArray[np.int64], dilation: npt.NDArray[np.int64]
) -> _ChainErfDict: ...
