"""Safe output: the one way rfsearch writes a file.

Rules (README, "rfsearch batch"):

- ``-`` (or None) is standard output; an open stream is written as it is.
- A path is resolved first (``os.path.realpath``): a symlink is followed and stays a link; the
  file it points to gets the output.
- A regular file (or a new one) is written to a temporary file in the same directory
  (``tempfile.mkstemp``: unpredictable name, exclusive create, created 0600 and then given the
  final mode), then renamed over the target, only once everything was written. On any error, Ctrl-C or
  SIGTERM (the CLI turns it into an exception) the temporary file is removed and an existing
  target is left as it was.
- An existing target keeps its permission bits (and, when allowed, its owner and group); a new
  file gets 0666 minus the umask, as any other program's output would.
- Anything else that exists (a device such as /dev/null, a FIFO, a socket) is written in place:
  opened for writing, never created, truncated or replaced.
- A directory is refused.

Renaming replaces the directory entry: other hard links to an existing target keep its old
content. The output is not fsync'ed (atomic against failures of the run, not power loss).
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, Iterator, Optional, Tuple, Union, cast

__all__ = ["Output", "open_output", "same_file"]

PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class Output:
    """An open output: `file` takes bytes. `restartable` outputs can be emptied and written again."""

    file: BinaryIO
    name: str
    restartable: bool = False
    identity: Optional[Tuple[int, int]] = None  # (st_dev, st_ino) of an existing target

    def restart(self) -> None:
        """Empties a temporary output so the run can write it again from the start."""
        if not self.restartable:
            raise RuntimeError(f"{self.name}: output cannot be rewritten")
        self.file.flush()
        self.file.seek(0)
        self.file.truncate()


class _TextSink(io.RawIOBase):
    """Bytes in, UTF-8 text out to a text stream (a StringIO given to the API)."""

    def __init__(self, text: IO[str]) -> None:
        self._text = text
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._text.write(self._decoder.decode(bytes(data)))
        return len(data)

    def flush(self) -> None:
        self._text.flush()


def _binary_stream(stream: object) -> BinaryIO:
    """A binary view of a stream given by the caller: sys.stdout -> its buffer, StringIO -> a sink."""
    if isinstance(stream, io.TextIOBase):
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            stream.flush()  # text already written comes first
            return cast(BinaryIO, buffer)
        return cast(BinaryIO, io.BufferedWriter(_TextSink(cast(IO[str], stream))))
    return cast(BinaryIO, stream)


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (os.umask would set it)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fail(name: str, e: OSError) -> OSError:
    return OSError(f"{name}: cannot write output: {e.strerror or e}")


def same_file(identity: Optional[Tuple[int, int]], target: Union[PathLike, IO[Any], None]) -> bool:
    """True if `target` (a path) names the file whose (st_dev, st_ino) is `identity`."""
    if identity is None or target is None or not isinstance(target, (str, os.PathLike)) or os.fspath(target) == "-":
        return False
    try:
        st = os.stat(os.path.realpath(target))
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) == identity


@contextlib.contextmanager
def open_output(target: Union[PathLike, IO[Any], None]) -> Iterator[Output]:
    """Opens `target` for writing bytes under the rules above; the context commits on success.

    target: a path, "-" or None (standard output), or an open stream (text streams get UTF-8).
    Yields an Output. Errors opening it are OSError("NAME: cannot write output: REASON").
    """
    if target is None or (isinstance(target, (str, os.PathLike)) and os.fspath(target) == "-"):
        target = sys.stdout
    if not isinstance(target, (str, os.PathLike)):
        stream = _binary_stream(target)
        yield Output(stream, getattr(target, "name", "<stream>"))
        stream.flush()
        return

    name = os.fspath(target)
    resolved = os.path.realpath(name)  # follow symlinks: the link stays, its target gets the output
    try:
        st: Optional[os.stat_result] = os.stat(resolved)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise _fail(name, e) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OSError(f"{name}: cannot write output: Is a directory")
    if st is not None and not stat.S_ISREG(st.st_mode):
        with _in_place(name, resolved) as out:
            yield out
        return
    with _replacing(name, resolved, st) as out:
        yield out


@contextlib.contextmanager
def _in_place(name: str, path: str) -> Iterator[Output]:
    """A device, FIFO or socket: opened for writing as it is (no create, no truncate)."""
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
    except OSError as e:
        raise _fail(name, e) from None
    file = os.fdopen(fd, "wb")
    with file:
        if stat.S_ISREG(os.fstat(fd).st_mode):  # replaced by a regular file since we looked
            raise OSError(f"{name}: cannot write output: the file changed while it was opened; run again")
        yield Output(cast(BinaryIO, file), name)


@contextlib.contextmanager
def _replacing(name: str, path: str, st: Optional[os.stat_result]) -> Iterator[Output]:
    """A regular or new file: written to a temporary file beside it, renamed over it on success."""
    directory, base = os.path.split(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory or ".", prefix=f".{base}.", suffix=".tmp")
    except OSError as e:
        raise _fail(name, e) from None
    try:
        if st is not None:
            os.fchmod(fd, stat.S_IMODE(st.st_mode))
            with contextlib.suppress(OSError):  # keep owner and group where we may (root, same owner)
                if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
                    os.fchown(fd, st.st_uid, st.st_gid)
        else:
            os.fchmod(fd, 0o666 & ~_umask())
        file = os.fdopen(fd, "w+b")
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    identity = None if st is None else (st.st_dev, st.st_ino)
    try:
        yield Output(cast(BinaryIO, file), name, restartable=True, identity=identity)
    except BaseException:
        try:
            file.close()
        finally:
            os.unlink(tmp)
        raise
    try:
        file.close()
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise _fail(name, e) from None
