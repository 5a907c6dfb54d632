"""Accepted risks: validate waivers, then turn covered failures into ``waived``."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from audit.engine.checklist import Checklists, suggest
from audit.errors import InputError, Problem
from audit.loading import Setup
from audit.model import Finding, Severity, Status, Waiver
from audit.pointer import join

MAX_DAYS_AHEAD = 365


def merge(setup: Setup, extra: list[dict[str, Any]], source: str | None) -> Setup:
    """The setup with ``extra`` waivers (read from ``source``) appended to ``/waivers``."""
    if not extra:
        return setup
    own = setup.data.get("waivers", [])
    data = {**setup.data, "waivers": [*own, *extra]}
    return replace(setup, data=data, waiver_file=source, own_waivers=len(own))


def _where(setup: Setup, pointer: str, index: int, field: str) -> Problem:
    """Locate a waiver problem in the file the waiver came from."""
    if setup.waiver_file is not None and index >= setup.own_waivers:
        return Problem("", file=setup.waiver_file,
                       pointer=join("/waivers", index - setup.own_waivers, field))
    full = join(pointer, field)
    return Problem("", file=setup.path, line=setup.line_of(full), pointer=full)


def active(setup: Setup, lists: Checklists, as_of: dt.date,
           allow_critical: bool = False) -> dict[str, Waiver]:
    """Waivers in force by check id; raises InputError for any invalid waiver."""
    by_id = lists.by_id()
    problems: list[Problem] = []
    result: dict[str, Waiver] = {}
    def problem(index: int, field: str, message: str) -> None:
        where = _where(setup, join("/waivers", index), index, field)
        problems.append(where._replace(message=message))

    for index, raw in enumerate(setup.data.get("waivers", [])):
        pointer = join("/waivers", index)
        check_id = raw["check"]
        check = by_id.get(check_id)
        if check is None:
            problem(index, "check", f"waiver names unknown check {check_id!r}"
                    + suggest(check_id, sorted(by_id)))
        elif check.severity is Severity.CRITICAL and not allow_critical:
            problem(index, "check",
                    f"{check_id} is critical; waiving it needs --allow-critical-waivers")
        if not raw["reason"].strip():
            problem(index, "reason", "a waiver needs a reason")
        expires = dt.date.fromisoformat(raw["expires"])
        if (expires - as_of).days > MAX_DAYS_AHEAD:
            problem(index, "expires",
                    f"expires more than {MAX_DAYS_AHEAD} days after {as_of.isoformat()}; "
                    "accepted risks must be reviewed at least yearly")
        if check is not None and expires >= as_of and check_id not in result:
            result[check_id] = Waiver(check_id, raw["reason"], raw["expires"],
                                      raw.get("approved_by"), pointer)
    if problems:
        raise InputError(problems)
    return result


def apply(findings: list[Finding], waivers: dict[str, Waiver]) -> list[Finding]:
    """Failures covered by a waiver in force become ``waived``; nothing else changes."""
    return [f._replace(status=Status.WAIVED, waiver=waivers[f.id], note=(
                f"waived until {waivers[f.id].expires}: {waivers[f.id].reason}"))
            if f.status is Status.FAIL and f.id in waivers else f
            for f in findings]

