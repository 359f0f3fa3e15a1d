"""Sweeps on a Dask cluster (`distributed`): the sweep's tasks are cut into chunks of about equal
work (task weights, as for shards), each chunk runs on a worker with the C++ engine, and the
chunks' partial results are merged here as they arrive (exactly: see sweep.Partial).

    with DaskRunner("local", workers=4) as runner:          # a LocalCluster of worker processes
        result = sweep(space, top=10, executor=runner.executor)
    with DaskRunner("tcp://scheduler:8786") as runner:      # a running scheduler
        ...

Workers need rfsearch installed, with the same sweep engine (a chunk's result carries the
engine version, checked here). A LocalCluster starts worker processes: the calling program must be
a real file whose top level is guarded by ``if __name__ == "__main__":`` (the `rfsearch`
command is). Workers that die are replaced by Dask and their chunks run again; chunks are
deterministic, so a re-run gives the same partial result.
"""

from __future__ import annotations

import importlib
import json
import re
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import SpecError
from ..model.values import as_int
from .space import SearchSpace
from .sweep import ENGINE_VERSION, Partial, Range, Restriction, Sweeper

__all__ = ["DaskRunner", "DaskUnavailableError", "run_chunk"]

_ADDRESS = re.compile(r"[a-z][a-z0-9+.-]*://\S+")
_CACHE: Dict[str, Sweeper] = {}  # per worker process: compiled spaces by their JSON text


class DaskUnavailableError(ImportError):
    """dask.distributed is not installed."""


def run_chunk(space_json: str, restriction_key: Dict[str, Any], tasks: np.ndarray, options: Dict[str, Any],
              seed: Optional[Dict[str, Any]]) -> Dict[str, Any]:  # fmt: skip
    """On a worker: runs some tasks of a sweep, returns their Partial as JSON. The space is
    compiled once per worker process."""
    sweeper = _CACHE.get(space_json)
    if sweeper is None:
        sweeper = _CACHE[space_json] = Sweeper(SearchSpace.from_dict(json.loads(space_json)))
        while len(_CACHE) > 8:  # keep a few spaces
            del _CACHE[next(iter(_CACHE))]
    restriction = sweeper.restriction(restriction_key["depth"], restriction_key["allowed"])
    known = None if seed is None else Partial.from_json(seed, "seed")
    partial = sweeper.run(restriction, tasks, threads=options.get("threads", 1), seed=known, top=options["top"],
                          counts=options["counts"], prune=options["prune"])  # fmt: skip
    return {"engine": ENGINE_VERSION, "partial": partial.to_json()}


def _chunks(pending: Sequence[Range], weights: np.ndarray, count: int) -> List[Range]:
    """The pending task ranges cut into about `count` pieces of about equal weight."""
    total = sum(int(weights[lo:hi].sum()) for lo, hi in pending)
    target = max(1, -(-total // max(count, 1)))
    out: List[Range] = []
    for lo, hi in pending:
        start, acc = lo, 0
        for t in range(lo, hi):
            acc += int(weights[t])
            if acc >= target:
                out.append((start, t + 1))
                start, acc = t + 1, 0
        if start < hi:
            out.append((start, hi))
    return out


def _distributed() -> Any:
    """The distributed module (untyped: held as Any)."""
    try:
        return importlib.import_module("distributed")
    except ImportError as e:
        raise DaskUnavailableError(f"Dask is not installed ({e}): pip install rfsearch[dask]") from None


class DaskRunner:
    """A Dask client for sweeps: "local" starts a LocalCluster of `workers` processes (default:
    one per core), one thread each, no dashboard; any other value is a scheduler address
    (tcp://host:8786). Use as a context manager; `executor` goes to sweep(executor=...)."""

    def __init__(self, address: str = "local", *, workers: Optional[int] = None, chunks_per_worker: int = 4,
                 timeout: float = 30.0) -> None:  # fmt: skip
        if address != "local" and not _ADDRESS.fullmatch(address):
            raise SpecError(f"--dask takes 'local' or a scheduler address like tcp://host:8786, got {address!r:.60}")
        self.address = address
        self.workers = None if workers is None else as_int(workers, "workers", minimum=1)
        self.chunks_per_worker = as_int(chunks_per_worker, "chunks_per_worker", minimum=1)
        self.timeout = timeout
        self.client: Any = None
        self._cluster: Any = None

    def __enter__(self) -> DaskRunner:
        distributed = _distributed()
        if self.address == "local":
            self._cluster = distributed.LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                                     dashboard_address=None)  # fmt: skip
            self.client = distributed.Client(self._cluster)
        else:
            try:
                self.client = distributed.Client(self.address, timeout=self.timeout)
            except OSError as e:
                raise OSError(f"--dask {self.address}: cannot reach the scheduler ({e})") from None
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.client is not None:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def n_workers(self) -> int:
        """Workers the scheduler knows now (at least 1)."""
        info = self.client.scheduler_info()
        return max(1, len(info.get("workers", {})))

    def executor(self, sweeper: Sweeper, restriction: Restriction, tasks: np.ndarray, pending: Sequence[Range],
                 options: Dict[str, Any], known: Partial) -> Iterator[Tuple[Range, Partial]]:  # fmt: skip
        """Runs the pending task ranges on the cluster; yields (range, Partial) as chunks finish."""
        as_completed = _distributed().as_completed
        if not pending:
            return
        weights = sweeper.weights(restriction, tasks, options["prune"])
        pieces = _chunks(pending, weights, self.chunks_per_worker * self.n_workers())
        space_json = json.dumps(sweeper.space.to_dict(), sort_keys=True)
        seed = known.to_json() if known.top or known.front else None
        futures = {}
        for lo, hi in pieces:
            future = self.client.submit(run_chunk, space_json, restriction.key(), tasks[lo:hi], dict(options), seed,
                                        pure=False)  # fmt: skip
            futures[future] = (lo, hi)
        try:
            for future in as_completed(futures):
                answer = future.result()
                if not isinstance(answer, dict) or answer.get("engine") != ENGINE_VERSION:
                    raise SpecError("a Dask worker runs another rfsearch sweep engine; install the same version "
                                    "on every worker")  # fmt: skip
                yield futures[future], Partial.from_json(answer.get("partial"), "a Dask worker's result")
        finally:
            for future in futures:
                future.cancel()
