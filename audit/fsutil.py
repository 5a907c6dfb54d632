"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from audit.errors import OutputError, Problem

PRIVATE = 0o600


class Sink:
    """Where an atomic write's bytes go: straight to the temp file's descriptor."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, data: str | bytes) -> int:
        # A lone surrogate (from a "\ud800" escape in a setup) is written as that same
        # escape: valid in JSON, readable anywhere else; never an encoding crash.
        payload = data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data
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
    check_target(target)
    directory = target.parent
    import tempfile  # only runs that write a file pay for it (and shutil, random)

    try:
        # A short prefix: the temp name must fit where the target's name just fits.
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name[:32]}.", suffix=".tmp",
                                        dir=directory)
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


def check_target(target: Path) -> None:
    """Refuse targets a rename would destroy or that cannot be a file name.

    Only a missing path or a regular file (or a link to one) is replaced: renaming
    over ``/dev/null``, a FIFO or a socket would replace the node itself (as root,
    ``--output /dev/null`` would leave a regular file there).
    """
    try:
        info = target.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:  # a name too long, a loop of links, a parent that is a file
        raise _cannot_write(target, exc) from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise OutputError([Problem("is a directory; give a file name", file=str(target))])
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise OutputError([Problem("exists and is not a regular file (a device, FIFO or "
                                   "socket); refusing to replace it; use - for stdout",
                                   file=str(target))])


def refuse_overwriting_inputs(output: str | None, inputs: Iterable[str]) -> None:
    """``--output`` must not name a file the run reads (the setup would become a report)."""
    if not output or output == "-":
        return
    for source in inputs:
        if source == "-":
            continue
        with contextlib.suppress(OSError):
            if Path(output).samefile(source):
                raise OutputError([Problem(f"is also an input ({source}); refusing to "
                                           "overwrite it with the output", file=output)])


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
