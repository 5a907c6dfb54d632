"""Windows Task Scheduler: one task per setup under \\ibkr-audit\\, defined in XML."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import subprocess
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape, unescape

from audit.errors import UsageError
from audit.scheduling.base import MARKER, Backend, Entry, Scheduled, key_for

FOLDER = f"\\{MARKER}\\"
_DAYS = {
    "daily": "<ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay>",
    "weekly": ("<ScheduleByWeek><WeeksInterval>1</WeeksInterval>"
               "<DaysOfWeek><Monday /></DaysOfWeek></ScheduleByWeek>"),
    "monthly": ("<ScheduleByMonth><DaysOfMonth><Day>1</Day></DaysOfMonth><Months>"
                + "".join(f"<{m} />" for m in (
                    "January", "February", "March", "April", "May", "June", "July",
                    "August", "September", "October", "November", "December"))
                + "</Months></ScheduleByMonth>"),
}


class SchtasksBackend(Backend):
    name = "schtasks"
    tool = "schtasks"

    def task(self, key: str) -> str:
        return f"{FOLDER}{key}"

    def xml(self, entry: Entry) -> str:
        """The task definition: run as the logged-on user, catch up a missed run."""
        # Windows parses the argument string itself: list2cmdline quotes the way it reads.
        arguments = subprocess.list2cmdline(list(entry.command[1:]))
        return (
            '<?xml version="1.0" encoding="UTF-16"?>\n'
            '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">\n'
            "  <RegistrationInfo>\n"
            f"    <Source>{MARKER}</Source>\n"
            f"    <Description>{escape(entry.setup)}</Description>\n"
            "  </RegistrationInfo>\n"
            "  <Triggers>\n"
            "    <CalendarTrigger>\n"
            f"      <StartBoundary>2026-01-01T{entry.hour:02d}:{entry.minute:02d}:00"
            "</StartBoundary>\n"
            f"      {_DAYS[entry.every]}\n"
            "    </CalendarTrigger>\n"
            "  </Triggers>\n"
            "  <Principals>\n"
            '    <Principal id="Author"><LogonType>InteractiveToken</LogonType>'
            "<RunLevel>LeastPrivilege</RunLevel></Principal>\n"
            "  </Principals>\n"
            "  <Settings>\n"
            "    <StartWhenAvailable>true</StartWhenAvailable>\n"
            "    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>\n"
            "    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>\n"
            "    <ExecutionTimeLimit>PT1H</ExecutionTimeLimit>\n"
            "    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n"
            "  </Settings>\n"
            '  <Actions Context="Author">\n'
            "    <Exec>\n"
            f"      <Command>{escape(entry.command[0])}</Command>\n"
            f"      <Arguments>{escape(arguments)}</Arguments>\n"
            "    </Exec>\n"
            "  </Actions>\n"
            "</Task>\n"
        )

    def render(self, entry: Entry) -> list[tuple[str, str]]:
        return [(f"task {self.task(entry.key)} (schtasks /Create /XML)", self.xml(entry))]

    def _query(self, name: str) -> str | None:
        """The task's XML, or None when there is no such task."""
        try:
            return self.call("/Query", "/TN", name, "/XML").stdout
        except UsageError:
            return None

    def _create(self, name: str, xml: str) -> None:
        # schtasks reads task XML as UTF-16 (what Task Scheduler itself exports).
        handle, path = tempfile.mkstemp(prefix="ibkr-audit-", suffix=".xml")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(xml.encode("utf-16"))
            self.call("/Create", "/TN", name, "/XML", path, "/F")
        finally:
            Path(path).unlink(missing_ok=True)

    def install(self, entry: Entry) -> None:
        self.preflight()
        name = self.task(entry.key)
        before = self._query(name)
        try:
            self._create(name, self.xml(entry))
            if self._query(name) is None:
                raise UsageError(f"schtasks reported success but task {name} is not there")
        except BaseException:
            self.attempt("/Delete", "/TN", name, "/F")
            if before is not None:
                with contextlib.suppress(UsageError):
                    self._create(name, _declared_utf16(before))
            raise

    def remove(self, setup: str) -> bool:
        name = self.task(key_for(setup))
        if self._query(name) is None:
            return False
        self.call("/Delete", "/TN", name, "/F")
        return True

    def entries(self) -> list[Scheduled]:
        listing = self.call("/Query", "/FO", "CSV", "/NH").stdout
        found = []
        for row in csv.reader(io.StringIO(listing)):
            if not row or not row[0].startswith(FOLDER):
                continue
            name = row[0]
            xml = self._query(name)
            setup, when = "?", "?"
            if xml is not None:
                setup, when = _describe(xml)
            status = row[2] if len(row) > 2 else ""
            found.append(Scheduled(name[len(FOLDER):], setup, when,
                                   xml is not None and status.lower() != "disabled"))
        return found


def _declared_utf16(xml: str) -> str:
    """Task XML as queried, re-declared for the UTF-16 file it will be written to."""
    head, sep, rest = xml.partition("?>")
    return ('<?xml version="1.0" encoding="UTF-16"?>' + rest) if sep and "<?xml" in head else xml


def _describe(xml: str) -> tuple[str, str]:
    """(setup, schedule) from our task's XML, read with patterns, not an XML parser."""
    def text(tag: str) -> str:
        match = re.search(f"<{tag}>([^<]*)</{tag}>", xml)
        return unescape(match.group(1)) if match else ""

    every = next((word for tag, word in (("ScheduleByDay", "daily"),
                                         ("ScheduleByWeek", "weekly Mon"),
                                         ("ScheduleByMonth", "monthly 1st"))
                  if f"<{tag}>" in xml), "?")
    return text("Description") or "?", f"{every} {text('StartBoundary')[11:16]}".strip()
