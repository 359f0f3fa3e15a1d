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

# Graph evaluation (bind_graph.cpp): many parameter sets sharing one topology.
GRAPH_STATUS_CODES: Dict[str, int]
GRAPH_FLAGS: Dict[str, int]
GRAPH_OPS: Dict[str, int]

class _GraphResultDict(TypedDict):
    rf: npt.NDArray[np.int64]
    rf_min: npt.NDArray[np.int64]
    jump_num: npt.NDArray[np.int64]
    jump_den: npt.NDArray[np.int64]
    start: npt.NDArray[np.int64]
    center2: npt.NDArray[np.int64]
    size: npt.NDArray[np.int64]
    period: npt.NDArray[np.int64]
    flags: npt.NDArray[np.uint8]
    status: npt.NDArray[np.uint8]
    at: npt.NDArray[np.int64]

def evaluate_graphs(
    *,
    op: npt.NDArray[np.uint8],
    input_offsets: npt.NDArray[np.int64],
    inputs: npt.NDArray[np.int64],
    like: npt.NDArray[np.int64],
    table_op: npt.NDArray[np.uint8],
    table_params: npt.NDArray[np.int64],
    ids: npt.NDArray[np.integer],
    input_size: Optional[Sequence[int]],
    threads: int,
) -> _GraphResultDict: ...
