"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from audit.errors import OutputError, Problem

PRIVATE = 0o600


class Sink:
    """Where an atomic write's bytes go: straight to the temp file's descriptor."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, data: str | bytes) -> int:
        payload = data.encode("utf-8") if isinstance(data, str) else data
        view = memoryview(payload)
        while view:
            view = view[os.write(self.fd, view):]
        return len(data)


def _cannot_write(target: Path, exc: OSError) -> OutputError:
    return OutputError([Problem(f"cannot write: {exc.strerror or exc}", file=str(target))])


@contextlib.contextmanager
def atomic_writer(path: str | Path, mode: int = PRIVATE) -> Iterator[Sink]:
    """Write to ``path`` via a temp file in the same directory, fsync, rename.

    The file is created with ``mode`` (private by default: reports can hold account
    details). If anything fails, or the caller's block raises, the previous file (if
    any) is left untouched and the temp file removed; an OSError becomes an
    :class:`OutputError` naming the path.
    """
    target = Path(path)
    if target.is_dir():
        raise OutputError([Problem("is a directory; give a file name", file=str(target))])
    directory = target.parent
    import tempfile  # only runs that write a file pay for it (and shutil, random)

    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    try:
        try:
            os.fchmod(fd, mode)
            yield Sink(fd)
            os.fsync(fd)
        finally:
            os.close(fd)
        Path(tmp_name).replace(target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            Path(tmp_name).unlink()
        if isinstance(exc, OSError):
            raise _cannot_write(target, exc) from None
        raise
    _fsync_dir(directory)


def write_atomic(path: str | Path, data: str | bytes, mode: int = PRIVATE) -> None:
    """Write ``data`` to ``path`` atomically; see :func:`atomic_writer`."""
    with atomic_writer(path, mode) as sink:
        sink.write(data)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform/filesystem.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
