# Type stub of the compiled core (src_cpp/module.cpp, bind_*.cpp); tests/test_stub.py checks it matches.
from typing import Callable, Dict, List, Optional, Sequence, Tuple, TypedDict, Union

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

# bind_count.cpp: exact counting, completion tables, blind spots of many stacks
CountTooLarge: type[MemoryError]  # the DP's tables would pass max_bytes
class _CountDict(TypedDict):
    total: bytes
    feasible: bytes
    rf: npt.NDArray[np.int64]
    counts: List[bytes]

def count_space(
    *,
    n_axes: int,
    depth_lo: int,
    depth_hi: int,
    max_down: int,
    input_size: Optional[Sequence[int]],
    rf: Sequence[int],
    jump: Sequence[int],
    size: Sequence[int],
    rf_within_input: bool,
    params: Sequence[int],
    choices: Sequence[int],
    allowed: Sequence[bool],
    max_bytes: int,
) -> _CountDict: ...

class FeasibleTables:
    def __init__(
        self,
        *,
        n_axes: int,
        depth_lo: int,
        depth_hi: int,
        max_down: int,
        input_size: Optional[Sequence[int]],
        rf: Sequence[int],
        jump: Sequence[int],
        size: Sequence[int],
        rf_within_input: bool,
        params: Sequence[int],
        choices: Sequence[int],
        allowed: Sequence[bool],
        max_bytes: int,
    ) -> None: ...
    def feasible(self) -> bytes: ...
    def unrank(self, index: bytes) -> List[int]: ...
    def unrank_many(self, indices: Sequence[bytes]) -> List[List[int]]: ...
    def completions(self, prefix: Sequence[int]) -> Tuple[int, List[bytes]]: ...

class _BlindSpotsDict(TypedDict):
    blind_spots: npt.NDArray[np.int64]
    error: Optional[_CoreErrorDict]

def batch_blind_spots(
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
    cap: int,
) -> _BlindSpotsDict: ...
def blind_spots_by_id(
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
    cap: int,
    per_layer: bool,
) -> _BlindSpotsDict: ...
# The sweep engine (bind_sweep.cpp, src_cpp/include/rfsearch/enumerate.hpp); rfsearch.search.sweep builds them.
class _SweepRunDict(TypedDict):
    visited: int
    folds: int
    feasible: int
    hist_rf: npt.NDArray[np.int64]
    hist_count: npt.NDArray[np.uint64]
    top: List[Tuple[Tuple[int, ...], Tuple[int, ...]]]
    front: List[Tuple[Tuple[int, ...], Tuple[int, ...]]]

class SweepRestriction:
    depth_lo: int
    depth_hi: int

class SweepPlan:
    def __init__(
        self,
        *,
        axes: int,
        depth_lo: int,
        depth_hi: int,
        kernel: Sequence[int],
        stride: Sequence[int],
        dilation: Sequence[int],
        pad_before: Sequence[int],
        pad_after: Sequence[int],
        ceil_mode: Sequence[bool],
        kinds: Sequence[int],
        first: Sequence[int],
        count: Sequence[int],
        input_size: Optional[Sequence[int]],
        max_downsampling: int,
        stride_on: int,
        channels: Optional[Tuple[int, Sequence[int], bool]],
        rf: Sequence[Optional[Tuple[int, int]]],
        jump: Sequence[Optional[Tuple[int, int]]],
        size: Sequence[Optional[Tuple[int, int]]],
        rf_within_input: bool,
        coverage: bool,
        reach_cap: int,
        max_params: int,
        max_macs: int,
        objectives: Sequence[int],
    ) -> None: ...
    def restrict(self, depth_lo: int, depth_hi: int, allowed: Sequence[Sequence[int]]) -> SweepRestriction: ...
    def tasks(self, restriction: SweepRestriction, prune: bool, min_tasks: int, max_tasks: int) -> npt.NDArray[np.int32]: ...
    def weights(
        self, restriction: SweepRestriction, prune: bool, tasks: npt.NDArray[np.int32], probe: int
    ) -> npt.NDArray[np.int64]: ...
    def estimate(self, restriction: SweepRestriction, prune: bool, samples: int, seed: int) -> float: ...
    def run(
        self,
        restriction: SweepRestriction,
        tasks: npt.NDArray[np.int32],
        *,
        prune: bool,
        counts: bool,
        top: int,
        threads: int,
        stream_rows: int,
        sink: Optional[Callable[[npt.NDArray[np.int64]], None]],
        seed_kth: Optional[Tuple[Sequence[int], Sequence[int]]],
        seed_front: Sequence[Tuple[Sequence[int], Sequence[int]]],
    ) -> _SweepRunDict: ...
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

class _GraphDetailDict(_GraphResultDict, total=False):
    blind: npt.NDArray[np.int64]
    ext_lo: npt.NDArray[np.int64]
    ext_hi: npt.NDArray[np.int64]
    ext_state: npt.NDArray[np.uint8]
    simple: npt.NDArray[np.uint8]

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
    detail: bool = ...,
) -> _GraphDetailDict: ...

class _GraphOneDict(TypedDict):
    rf: List[int]
    rf_min: List[int]
    jump_num: List[int]
    jump_den: List[int]
    start: List[int]
    center2: List[int]
    size: List[int]
    period: List[int]
    flags: List[int]
    blind: List[int]
    ext_lo: List[int]
    ext_hi: List[int]
    ext_state: List[int]
    status: int
    at: int
    simple: bool

def evaluate_graph_one(
    *,
    op: Sequence[int],
    input_offsets: Sequence[int],
    inputs: Sequence[int],
    like: Sequence[int],
    params: Sequence[int],
    n_axes: int,
    input_size: Optional[Sequence[int]],
) -> _GraphOneDict: ...
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
