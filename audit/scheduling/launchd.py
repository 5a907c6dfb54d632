"""launchd: a user agent plist per setup, under ~/Library/LaunchAgents."""

from __future__ import annotations

import os
import plistlib
from pathlib import Path
from typing import Any

from audit.errors import UsageError
from audit.fsutil import write_atomic
from audit.scheduling.base import MARKER, Backend, Entry, Scheduled, key_for

LABEL_PREFIX = f"com.{MARKER}."
_GONE = (0, 3, 5, 36, 113)  # launchctl's codes for "not loaded" on bootout


class LaunchdBackend(Backend):
    name = "launchd"
    tool = "launchctl"

    @property
    def agent_dir(self) -> Path:
        return self.home / "Library" / "LaunchAgents"

    def label(self, key: str) -> str:
        return LABEL_PREFIX + key

    def path(self, key: str) -> Path:
        return self.agent_dir / f"{self.label(key)}.plist"

    def plist(self, entry: Entry) -> bytes:
        interval: dict[str, Any] = {"Hour": entry.hour, "Minute": entry.minute}
        if entry.every == "weekly":
            interval["Weekday"] = 1
        elif entry.every == "monthly":
            interval["Day"] = 1
        # plistlib escapes the XML; ProgramArguments needs no shell quoting at all.
        return plistlib.dumps({
            "Label": self.label(entry.key),
            "ProgramArguments": list(entry.command),
            "StartCalendarInterval": interval,
            "RunAtLoad": False,
            "ProcessType": "Background",
        })

    def render(self, entry: Entry) -> list[tuple[str, str]]:
        return [(str(self.path(entry.key)), self.plist(entry).decode("utf-8"))]

    def _domain(self) -> str:
        return f"gui/{os.getuid()}" if hasattr(os, "getuid") else "gui/0"

    def preflight(self) -> None:
        self.require_tool()
        if not hasattr(os, "getuid"):
            raise UsageError("launchd runs only on macOS; use --backend schtasks on Windows")

    def install(self, entry: Entry) -> None:
        self.preflight()
        self.agent_dir.mkdir(parents=True, exist_ok=True)
        target = self.path(entry.key)
        service = f"{self._domain()}/{self.label(entry.key)}"
        before = target.read_bytes() if target.exists() else None
        self.call("bootout", service, ok=_GONE)
        try:
            write_atomic(target, self.plist(entry))
            self.call("bootstrap", self._domain(), str(target))
            self.call("print", service)
        except BaseException:
            self.attempt("bootout", service)
            if before is None:
                target.unlink(missing_ok=True)
            else:
                write_atomic(target, before)
                self.attempt("bootstrap", self._domain(), str(target))
            raise

    def remove(self, setup: str) -> bool:
        key = key_for(setup)
        target = self.path(key)
        if not target.exists():
            return False
        self.call("bootout", f"{self._domain()}/{self.label(key)}", ok=_GONE)
        target.unlink()
        return True

    def _loaded(self, label: str) -> bool:
        try:
            self.call("print", f"{self._domain()}/{label}")
        except UsageError:
            return False
        return True

    def entries(self) -> list[Scheduled]:
        found = []
        for path in sorted(self.agent_dir.glob(f"{LABEL_PREFIX}*.plist")):
            try:
                data = plistlib.loads(path.read_bytes())
            except (plistlib.InvalidFileException, ValueError, OSError):
                data = {}
            args = data.get("ProgramArguments", [])
            interval = data.get("StartCalendarInterval", {})
            found.append(Scheduled(path.stem[len(LABEL_PREFIX):],
                                   args[4] if len(args) > 4 else "?", str(interval),
                                   self._loaded(path.stem)))
        return found
