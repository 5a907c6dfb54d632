"""launchd: a user agent plist per setup, under ~/Library/LaunchAgents."""

from __future__ import annotations

import os
import plistlib
from pathlib import Path
from typing import Any

from audit.fsutil import write_atomic
from audit.scheduling.base import MARKER, Backend, Entry, Scheduled, key_for

LABEL_PREFIX = f"com.{MARKER}."


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

    def install(self, entry: Entry) -> None:
        self.require_tool()
        self.agent_dir.mkdir(parents=True, exist_ok=True)
        target = self.path(entry.key)
        self.call("bootout", f"{self._domain()}/{self.label(entry.key)}", ok=(0, 3, 5, 36, 113))
        write_atomic(target, self.plist(entry))
        self.call("bootstrap", self._domain(), str(target))

    def remove(self, setup: str) -> bool:
        key = key_for(setup)
        target = self.path(key)
        if not target.exists():
            return False
        self.call("bootout", f"{self._domain()}/{self.label(key)}", ok=(0, 3, 5, 36, 113))
        target.unlink()
        return True

    def entries(self) -> list[Scheduled]:
        found = []
        for path in sorted(self.agent_dir.glob(f"{LABEL_PREFIX}*.plist")):
            data = plistlib.loads(path.read_bytes())
            args = data.get("ProgramArguments", [])
            interval = data.get("StartCalendarInterval", {})
            found.append(Scheduled(path.stem[len(LABEL_PREFIX):],
                                   args[4] if len(args) > 4 else "?", str(interval)))
        return found
