"""What the arguments of ``check`` name: setup files, directories, glob patterns.

Kept apart from :mod:`audit.fleet` so that a single-file ``check`` decides it is
not a fleet without importing the fleet machinery.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from audit.textsafe import clean

GLOB_CHARS = set("*?[")


def _is_dir(argument: str) -> bool:
    try:
        return Path(argument).is_dir()
    except OSError:  # a name too long: not a directory; reading it will say why
        return False


def _is_glob(argument: str) -> bool:
    # A path that exists is always taken literally, even 'client[1].json'.
    return bool(GLOB_CHARS & set(argument)) and not os.path.lexists(argument)


def is_fleet(arguments: tuple[str, ...]) -> bool:
    return any(_is_dir(a) or _is_glob(a) for a in arguments)


def expand(arguments: tuple[str, ...]) -> list[str]:
    """Files, every *.json under directories (recursively), and glob matches, in order."""
    return scan(arguments)[0]


def _regular(path: str, problems: list[str]) -> bool:
    """Only regular files are audited from a directory or glob; a FIFO would hang."""
    try:
        mode = Path(path).stat().st_mode
    except OSError as exc:
        problems.append(f"{clean(path)}: cannot read: {exc.strerror or exc}")
        return False
    if stat.S_ISREG(mode):
        return True
    if not stat.S_ISDIR(mode):
        problems.append(f"{clean(path)}: skipped: not a regular file")
    return False


def scan(arguments: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """What :func:`expand` finds, plus what it could not look at (each one a problem:
    unreadable directories, FIFOs and other non-regular files)."""
    out: list[str] = []
    problems: list[str] = []

    def unreadable(exc: OSError) -> None:
        problems.append(f"{clean(str(exc.filename))}: cannot read directory: "
                        f"{exc.strerror or exc}")

    for argument in arguments:
        if _is_dir(argument):
            for root, dirs, files in os.walk(argument, onerror=unreadable):
                dirs.sort()
                out.extend(path for path in (str(Path(root) / f) for f in sorted(files)
                                             if f.endswith(".json"))
                           if _regular(path, problems))
        elif _is_glob(argument):
            import glob

            # glob.glob, not Path.glob: users pass absolute as well as relative patterns.
            matches = glob.glob(argument, recursive=True)  # noqa: PTH207
            out.extend(sorted(p for p in matches if _regular(p, problems)))
        else:
            out.append(argument)
    return out, problems
