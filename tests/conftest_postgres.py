"""A real PostgreSQL server for the tests that share a study between workers, and where studies go
during the tests (imported by conftest.py).

`postgres_server` (session): initdb into a fresh temporary directory and pg_ctl start on
127.0.0.1 and a free port, stopped (and the directory removed) at the end of the session. The
server binaries come from PATH or /usr/lib/postgresql/<version>/bin (the PostgreSQL server package
of the CI image is installed but not running). As root, the cluster belongs to the `postgres`
user (PostgreSQL refuses to run as root) and commands run through `su`. `postgres_url` gives
each test its own database. Without binaries, psycopg or SQLAlchemy the tests skip, which fails
a CI run (tests/run_policy.py).

`study_root` (session, autouse): RFSEARCH_STUDY_DIR points at a temporary directory for the whole
session, so that no test (README commands included) writes `rfsearch search` journals into the
home directory; it is under /dev/shm when there is one, because Optuna's journal file syncs every
write to disk (7 ms each on a busy shared disk). `study_dir` gives a test its own directory there.
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Callable, Iterator, List, NamedTuple, Optional, Tuple

import pytest

__all__ = ["Server", "Unavailable", "postgres_server", "postgres_url", "start_server", "study_dir", "study_root"]


class Server(NamedTuple):
    host: str
    port: int
    user: str

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"


def _binaries() -> Optional[Path]:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(command: List[str], as_postgres: bool) -> subprocess.CompletedProcess:
    if as_postgres:  # PostgreSQL will not run as root
        command = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


class Unavailable(Exception):
    """No PostgreSQL server binaries, or no driver."""


def start_server() -> Tuple[Server, Callable[[], None]]:
    """Starts a throw-away server: (server, stop). Unavailable without binaries or driver."""
    import importlib.util

    for module in ("psycopg", "sqlalchemy"):
        if importlib.util.find_spec(module) is None:
            raise Unavailable(f"{module} is not installed (part of the [test] extra)")
    bin_dir = _binaries()
    if bin_dir is None:
        raise Unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found")
    as_postgres = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="rfsearch-pg-"))
    if as_postgres:
        shutil.chown(root, "postgres")
    data, log = root / "data", root / "server.log"
    init = _run([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"], as_postgres)
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise AssertionError(f"initdb failed: {init.stdout}{init.stderr}")
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c max_connections=200"
    start = _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"], as_postgres)
    if start.returncode != 0:
        text = log.read_text() if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise AssertionError(f"pg_ctl start failed: {start.stdout}{start.stderr}{text}")

    def stop() -> None:
        _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], as_postgres)
        shutil.rmtree(root, ignore_errors=True)

    return Server("127.0.0.1", port, "postgres"), stop


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    try:
        server, stop = start_server()
    except Unavailable as e:
        pytest.skip(str(e))
    try:
        yield server
    finally:
        stop()


@pytest.fixture
def postgres_url(postgres_server: Server) -> Iterator[str]:
    """A fresh, empty database on the session's server (dropped afterwards)."""
    import sqlalchemy

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(postgres_server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    try:
        yield postgres_server.url(name)
    finally:
        with admin.connect() as c:
            c.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def study_root() -> Iterator[Path]:
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    root = Path(tempfile.mkdtemp(prefix="rfsearch-studies-", dir=base))
    previous = os.environ.get("RFSEARCH_STUDY_DIR")
    os.environ["RFSEARCH_STUDY_DIR"] = str(root / "session")
    try:
        yield root
    finally:
        if previous is None:
            os.environ.pop("RFSEARCH_STUDY_DIR", None)
        else:
            os.environ["RFSEARCH_STUDY_DIR"] = previous
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def study_dir(study_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh study directory for one test (RFSEARCH_STUDY_DIR points at it)."""
    path = Path(tempfile.mkdtemp(dir=study_root))
    monkeypatch.setenv("RFSEARCH_STUDY_DIR", str(path))
    return path
