"""What every scheduler backend shares: the entry, quoting rules, running tools.

Every backend is all-or-nothing: ``preflight`` proves the scheduler is usable before
anything is written, ``install`` rolls back whatever it changed when a later step
fails, and ``entries`` reports whether each entry is really active.
"""

from __future__ import annotations

import abc
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from audit.errors import Problem, UsageError

EVERY = ("daily", "weekly", "monthly")
MARKER = "ibkr-audit"
_AT = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")

Runner = Callable[[list[str], str | None], "subprocess.CompletedProcess[str]"]


def run_tool(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a scheduler tool: an argument list, never a shell.

    surrogateescape: bytes that are not UTF-8 (someone else's crontab line in Latin-1)
    survive the round trip unchanged instead of stopping the run.
    """
    return subprocess.run(args, input=stdin, capture_output=True, text=True,  # noqa: S603
                          encoding="utf-8", errors="surrogateescape", check=False)


@dataclass(frozen=True)
class Entry:
    """One scheduled audit of one setup file."""

    setup: str  # absolute path
    every: str
    hour: int
    minute: int
    command: tuple[str, ...]

    @property
    def key(self) -> str:
        """Stable per setup path, so scheduling it again replaces the old entry."""
        return key_for(self.setup)


@dataclass(frozen=True)
class Scheduled:
    key: str
    setup: str
    detail: str
    active: bool = True  # False: files are there, but the scheduler does not run them


def key_for(setup: str) -> str:
    # os.fsencode: a path that is not valid UTF-8 still has one stable key
    return hashlib.sha256(os.fsencode(setup)).hexdigest()[:12]


def shown(path: str) -> str:
    """A path fit for a message, even when it is not valid UTF-8."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def parse_at(value: str) -> tuple[int, int]:
    match = _AT.fullmatch(value)
    if not match:
        raise UsageError(f"--at {value!r}: use HH:MM, 24-hour (e.g. 07:30)")
    return int(match.group(1)), int(match.group(2))


def _safe_path(value: str, what: str) -> None:
    if any(c in value for c in "\n\r\0"):
        raise UsageError([Problem(f"{what} with a line break cannot be scheduled safely",
                                  file=shown(value))])
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError([Problem(f"{what} is not valid UTF-8 and cannot be written into a "
                                  "scheduler entry; rename it", file=shown(value))]) from None


def build_entry(setup: str, every: str, at: str, history_db: str | None = None,
                notify_file: str | None = None, notify_on: str | None = None) -> Entry:
    """The entry for ``setup``: the current interpreter, absolute paths, no shell.

    Notification targets carry tokens, so the command only names the private file
    that holds them (``--notify @FILE``), never the targets themselves.
    """
    _safe_path(setup, "the setup path")
    path = Path(setup).resolve()
    if not path.is_file():
        raise UsageError([Problem("no such setup file to schedule", file=shown(setup))])
    for value, what in ((str(path), "the setup path"), (history_db or "", "--history-db"),
                        (notify_file or "", "the notification file"),
                        (sys.executable, "the Python interpreter path")):
        _safe_path(value, what)
    hour, minute = parse_at(at)
    command = [sys.executable, "-m", "audit", "check", str(path), "--record", "--only-changes",
               "--no-color"]
    if history_db:
        command += ["--history-db", str(Path(history_db).resolve())]
    if notify_file:
        command += ["--notify", "@" + notify_file, "--notify-on", notify_on or "regression"]
    return Entry(str(path), every, hour, minute, tuple(command))


class Backend(abc.ABC):
    """A scheduler. Subclasses talk to the real tool through ``runner``."""

    name: str
    tool: str

    def __init__(self, runner: Runner = run_tool, home: Path | None = None) -> None:
        self.runner = runner
        self.home = home or Path(os.environ.get("HOME") or Path.home())

    def require_tool(self) -> str:
        found = shutil.which(self.tool)
        if found is None:
            raise UsageError(f"the {self.name} backend needs '{self.tool}', which is not on "
                             "PATH; choose another with --backend")
        return found

    def call(self, *args: str, stdin: str | None = None,
             ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        result = self.runner([self.require_tool(), *args], stdin)
        if result.returncode not in ok:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise UsageError(f"'{self.tool} {' '.join(args)}' failed"
                             + (f": {detail[-1]}" if detail else ""))
        return result

    def attempt(self, *args: str) -> bool:
        """Run a clean-up step; a failure here must not hide the error being reported."""
        try:
            self.call(*args)
        except UsageError:
            return False
        return True

    def unusable(self) -> str | None:
        """Why this scheduler cannot work on this host, or None when it can."""
        try:
            self.preflight()
        except UsageError as exc:
            return str(exc)
        return None

    def preflight(self) -> None:
        """Prove the scheduler works here before anything is written (UsageError if not)."""
        self.require_tool()

    @abc.abstractmethod
    def render(self, entry: Entry) -> list[tuple[str, str]]:
        """(where, content) pairs this backend would write for ``entry``."""

    @abc.abstractmethod
    def install(self, entry: Entry) -> None:
        """Add ``entry``, replacing any entry for the same setup; all or nothing."""

    @abc.abstractmethod
    def remove(self, setup: str) -> bool:
        """Remove the entry for ``setup``; False if there was none."""

    @abc.abstractmethod
    def entries(self) -> list[Scheduled]:
        """Our entries, and nobody else's, each marked active or not."""
