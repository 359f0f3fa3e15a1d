# Type stub of the compiled core (src_cpp/bindings.cpp); tests/test_stub.py checks it matches.
from typing import Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

PAD_SAME: int

def score_stacks(
    kernel: npt.NDArray[np.integer],
    stride: npt.NDArray[np.integer],
    dilation: npt.NDArray[np.integer],
    padding: npt.NDArray[np.integer],
    padding_after: npt.NDArray[np.integer],
    ceil_mode: npt.NDArray[np.bool_],
    depth: Optional[npt.NDArray[np.integer]],
    input_size: Optional[Sequence[int]],
    threads: int,
) -> Tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.uint8],
    Optional[Tuple[int, int, int, str, str, int]],
]: ...
def hardware_threads() -> int: ...
