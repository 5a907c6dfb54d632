"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from audit.errors import OutputError, Problem

PRIVATE = 0o600


def write_atomic(path: str | Path, data: str | bytes, mode: int = PRIVATE) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory, fsync, rename.

    The file is created with ``mode`` (private by default: reports can hold account
    details). On any failure the previous file, if any, is left untouched and an
    :class:`OutputError` names the path.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if target.is_dir():
        raise OutputError([Problem("is a directory; give a file name", file=str(target))])
    directory = target.parent
    tmp_name: str | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
        try:
            os.fchmod(fd, mode)
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        Path(tmp_name).replace(target)
        tmp_name = None
        _fsync_dir(directory)
    except OSError as exc:
        raise OutputError(
            [Problem(f"cannot write: {exc.strerror or exc}", file=str(target))]) from None
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                Path(tmp_name).unlink()


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform/filesystem.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
