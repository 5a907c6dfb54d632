"""cron: one line per setup in the user's crontab, found again by a marker comment."""

from __future__ import annotations

import shlex

from audit.scheduling.base import MARKER, Backend, Entry, Scheduled, key_for

FIELDS = {"daily": "* * *", "weekly": "* * 1", "monthly": "1 * *"}


def cron_quote(arg: str) -> str:
    """Quote for /bin/sh, then escape '%', which cron turns into a newline."""
    return shlex.quote(arg).replace("%", "\\%")


class CronBackend(Backend):
    name = "cron"
    tool = "crontab"

    def line(self, entry: Entry) -> str:
        command = " ".join(cron_quote(a) for a in entry.command)
        when = f"{entry.minute} {entry.hour} {FIELDS[entry.every]}"
        return f"{when} {command} # {MARKER}:{entry.key}\n"

    def render(self, entry: Entry) -> list[tuple[str, str]]:
        return [("crontab line (the rest of your crontab is kept as it is)", self.line(entry))]

    def read(self) -> str:
        result = self.call("-l", ok=(0, 1))
        if result.returncode == 1:
            if "no crontab" in (result.stderr + result.stdout).lower():
                return ""
            self.call("-l")  # raises with the tool's own message
        return result.stdout

    def _without(self, content: str, key: str) -> str:
        suffix = f"# {MARKER}:{key}"
        kept = [line for line in content.splitlines(keepends=True)
                if not line.rstrip("\r\n").endswith(suffix)]
        return "".join(kept)

    def install(self, entry: Entry) -> None:
        content = self._without(self.read(), entry.key)
        if content and not content.endswith("\n"):
            content += "\n"  # cron needs every line terminated
        self.call("-", stdin=content + self.line(entry))

    def remove(self, setup: str) -> bool:
        current = self.read()
        content = self._without(current, key_for(setup))
        if content == current:
            return False
        self.call("-", stdin=content)
        return True

    def entries(self) -> list[Scheduled]:
        found = []
        for line in self.read().splitlines():
            head, sep, key = line.rpartition(f"# {MARKER}:")
            if sep and key.strip():
                args = shlex.split(head.replace("\\%", "%"))[5:]
                setup = args[4] if len(args) > 4 else "?"
                found.append(Scheduled(key.strip(), setup, " ".join(line.split()[:5])))
        return found
