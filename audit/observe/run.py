"""Run a system tool read-only: absolute path, no shell, a timeout, no privileges."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TIMEOUT = 5.0


@dataclass(frozen=True)
class Ran:
    """A finished command (``returncode`` may be non-zero), or why it did not run."""

    how: str
    returncode: int | None
    stdout: str = ""
    stderr: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.returncode == 0

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run(argv: list[str], env: Mapping[str, str] | None = None,
        timeout: float = TIMEOUT) -> Ran:
    """Run ``argv`` found on PATH (or given as an absolute path); never raises for the tool."""
    how = " ".join(argv)
    environ = dict(os.environ if env is None else env)
    program = (argv[0] if Path(argv[0]).is_absolute() and os.access(argv[0], os.X_OK)
               else shutil.which(argv[0], path=environ.get("PATH", os.defpath)))
    if program is None:
        return Ran(how, None, error=f"{argv[0]} not found on PATH")
    # A fixed locale, so the words we parse are the tool's English ones.
    environ.update(LC_ALL="C", LANG="C")
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell, absolute program path
            [program, *argv[1:]], capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL, env=environ, check=False, errors="replace")
    except subprocess.TimeoutExpired:
        return Ran(how, None, error=f"{argv[0]} did not answer within {timeout:g}s")
    except OSError as exc:
        return Ran(how, None, error=f"{argv[0]} could not be run: {exc.strerror or exc}")
    return Ran(how, done.returncode, done.stdout, done.stderr)


def denied(ran: Ran) -> bool:
    """The tool refused because it wants privileges we never ask for."""
    text = ran.output.lower()
    return any(w in text for w in ("root", "permission denied", "access is denied",
                                   "access denied", "was denied", "administrat", "elevat",
                                   "not authorized", "operation not permitted"))
