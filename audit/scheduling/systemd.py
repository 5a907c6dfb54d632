"""systemd: a user .service plus .timer per setup, under ~/.config/systemd/user."""

from __future__ import annotations

import os
from pathlib import Path

from audit.errors import UsageError
from audit.fsutil import write_atomic
from audit.scheduling.base import MARKER, Backend, Entry, Scheduled, key_for

CALENDAR = {"daily": "*-*-*", "weekly": "Mon *-*-*", "monthly": "*-*-01"}


def systemd_quote(arg: str) -> str:
    """One ExecStart argument: specifiers (%) and variables ($) escaped, quoted if needed."""
    escaped = arg.replace("%", "%%").replace("$", "$$")
    if escaped and not any(c in escaped for c in " \t\"'\\;"):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


class SystemdBackend(Backend):
    name = "systemd"
    tool = "systemctl"

    @property
    def unit_dir(self) -> Path:
        config = os.environ.get("XDG_CONFIG_HOME") or str(self.home / ".config")
        return Path(config) / "systemd" / "user"

    def unit(self, key: str) -> str:
        return f"{MARKER}-{key}"

    def render(self, entry: Entry) -> list[tuple[str, str]]:
        name = self.unit(entry.key)
        setup_text = entry.setup.replace("%", "%%")
        service = (
            f"# Managed by ibkr-audit; remove with 'ibkr-audit unschedule'.\n"
            f"# {MARKER}-setup: {entry.setup}\n"
            "[Unit]\n"
            f"Description=ibkr-audit check of {setup_text}\n\n"
            "[Service]\n"
            "Type=oneshot\n"
            f"ExecStart={' '.join(systemd_quote(a) for a in entry.command)}\n"
        )
        timer = (
            f"# Managed by ibkr-audit; remove with 'ibkr-audit unschedule'.\n"
            "[Unit]\n"
            f"Description=ibkr-audit check of {setup_text}, {entry.every}\n\n"
            "[Timer]\n"
            f"OnCalendar={CALENDAR[entry.every]} {entry.hour:02d}:{entry.minute:02d}:00\n"
            "Persistent=true\n\n"
            "[Install]\n"
            "WantedBy=timers.target\n"
        )
        return [(str(self.unit_dir / f"{name}.service"), service),
                (str(self.unit_dir / f"{name}.timer"), timer)]

    def preflight(self) -> None:
        self.require_tool()
        try:
            self.call("--user", "show-environment")
        except UsageError:
            raise UsageError(
                "the systemd user instance is not reachable (no user D-Bus session: common "
                "over SSH, in WSL and in containers). Run 'loginctl enable-linger' and log in "
                "again, or use --backend cron") from None

    def install(self, entry: Entry) -> None:
        self.preflight()
        name = self.unit(entry.key)
        rendered = [(Path(path), content) for path, content in self.render(entry)]
        before = {path: path.read_bytes() if path.exists() else None for path, _ in rendered}
        self.unit_dir.mkdir(parents=True, exist_ok=True)
        try:
            for path, content in rendered:
                write_atomic(path, content)
            self.call("--user", "daemon-reload")
            self.call("--user", "enable", "--now", f"{name}.timer")
            self.call("--user", "is-active", f"{name}.timer")
        except BaseException:
            self._restore(name, before)
            raise

    def _restore(self, name: str, before: dict[Path, bytes | None]) -> None:
        """Put the unit files back as they were; best effort with systemd itself."""
        for path, content in before.items():
            if content is None:
                path.unlink(missing_ok=True)
            else:
                write_atomic(path, content)
        self.attempt("--user", "daemon-reload")
        if all(content is not None for content in before.values()):
            self.attempt("--user", "enable", "--now", f"{name}.timer")
        else:
            self.attempt("--user", "disable", f"{name}.timer")

    def remove(self, setup: str) -> bool:
        name = self.unit(key_for(setup))
        files = [self.unit_dir / f"{name}.timer", self.unit_dir / f"{name}.service"]
        if not any(f.exists() for f in files):
            return False
        reachable = self.unusable() is None
        if reachable:
            self.call("--user", "disable", "--now", f"{name}.timer", ok=(0, 1, 5))
        for f in files:
            f.unlink(missing_ok=True)
        if reachable:
            self.call("--user", "daemon-reload")
        return True

    def _active(self, name: str) -> bool:
        try:
            return self.call("--user", "is-active", f"{name}.timer", ok=(0, 3)).returncode == 0
        except UsageError:
            return False

    def entries(self) -> list[Scheduled]:
        found = []
        reachable = self.unusable() is None
        for timer in sorted(self.unit_dir.glob(f"{MARKER}-*.timer")):
            key = timer.stem[len(MARKER) + 1:]
            service = timer.with_suffix(".service")
            setup = "?"
            if service.exists():
                for line in service.read_text(encoding="utf-8",
                                              errors="replace").splitlines():
                    if line.startswith(f"# {MARKER}-setup: "):
                        setup = line.split(": ", 1)[1]
            calendar = next((line.split("=", 1)[1] for line in
                             timer.read_text(encoding="utf-8", errors="replace").splitlines()
                             if line.startswith("OnCalendar=")), "?")
            active = reachable and service.exists() and self._active(timer.stem)
            found.append(Scheduled(key, setup, calendar, active))
        return found
