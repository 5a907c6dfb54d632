"""cron: one line per setup in the user's crontab, found again by a marker comment."""

from __future__ import annotations

import shlex

from audit.errors import UsageError
from audit.scheduling.base import MARKER, Backend, Entry, Scheduled, key_for

FIELDS = {"daily": "* * *", "weekly": "* * 1", "monthly": "1 * *"}


def cron_quote(arg: str) -> str:
    """Quote for /bin/sh, with every '%' outside the quotes and escaped for cron.

    cron ends the command at an unescaped '%' (the rest becomes stdin), and its
    escape only works as a backslash directly before the '%': a literal backslash
    before a '%' (a path containing '\\%') cannot be written inside one quoted
    word. So each '%' sits between two quoted pieces, as '\\%'.
    """
    return "\\%".join(shlex.quote(piece) for piece in arg.split("%"))


def cron_unescape(command: str) -> str:
    """What cron hands to /bin/sh: '\\%' becomes '%', the first bare '%' ends it."""
    out: list[str] = []
    escaped = False
    for ch in command:
        if escaped:
            if ch == "%":
                out[-1] = "%"  # the backslash gives way to the percent sign
            else:
                out.append(ch)
            escaped = False
            continue
        if ch == "%":
            break
        out.append(ch)
        escaped = ch == "\\"
    return "".join(out)


class CronBackend(Backend):
    name = "cron"
    tool = "crontab"

    def line(self, entry: Entry) -> str:
        command = " ".join(cron_quote(a) for a in entry.command)
        when = f"{entry.minute} {entry.hour} {FIELDS[entry.every]}"
        return f"{when} {command} # {MARKER}:{entry.key}\n"

    def render(self, entry: Entry) -> list[tuple[str, str]]:
        return [("crontab line (the rest of your crontab is kept as it is)", self.line(entry))]

    def preflight(self) -> None:
        self.read()

    def read(self) -> str:
        result = self.call("-l", ok=(0, 1))
        if result.returncode == 1:
            said = (result.stderr + result.stdout).lower()
            if "no crontab" in said or "no such file" in said:  # cronie/vixie; busybox
                return ""
            self.call("-l")  # raises with the tool's own message
        return result.stdout

    def _without(self, content: str, key: str) -> str:
        suffix = f"# {MARKER}:{key}"
        kept = [line for line in content.splitlines(keepends=True)
                if not line.rstrip("\r\n").endswith(suffix)]
        return "".join(kept)

    def install(self, entry: Entry) -> None:
        original = self.read()
        content = self._without(original, entry.key)
        if content and not content.endswith("\n"):
            content += "\n"  # cron needs every line terminated
        wanted = self.line(entry)
        # 'crontab -' replaces the table in one step: if it fails, nothing changed.
        self.call("-", stdin=content + wanted)
        try:
            installed = wanted in self.read().splitlines(keepends=True)
        except UsageError:
            installed = False
        if not installed:
            self.call("-", stdin=original)
            raise UsageError("crontab did not keep the new line; your crontab was restored")

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
            if not (sep and key.strip()):
                continue
            try:
                args = shlex.split(cron_unescape(head))[5:]
            except ValueError:  # someone else's line with an unbalanced quote
                args = []
            setup = args[4] if len(args) > 4 else "?"
            found.append(Scheduled(key.strip(), setup, " ".join(line.split()[:5])))
        return found
