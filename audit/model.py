"""Frozen value types shared by the engine, the reports and the CLI."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from audit.pointer import ancestors


class Severity(enum.Enum):
    """How bad a failing check is; the order drives ``--fail-on`` and sorting."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse: critical is 4, info is 0."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class Status(enum.Enum):
    """The outcome of one check (or one item of a per-item check)."""

    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "fail"
    MANUAL = "manual"
    SKIP = "skip"
    WAIVED = "waived"


# Order in reports: what needs action first.
STATUS_ORDER = {Status.FAIL: 0, Status.MANUAL: 1, Status.WAIVED: 2, Status.PASS: 3, Status.SKIP: 4}


def severity_rank(severity: Severity | str) -> int:
    """Higher is worse; accepts the enum or its value (as stored in history)."""
    return (severity if isinstance(severity, Severity) else Severity(severity)).rank


def at_or_above(severity: Severity | str, threshold: Severity | None) -> bool:
    """The one ``--fail-on`` gate: does a failure at ``severity`` trip ``threshold``?

    ``None`` is ``--fail-on never``: nothing trips it.
    """
    return threshold is not None and severity_rank(severity) >= threshold.rank


# Areas in the order reports present them; custom checklists may add more areas,
# which are shown after these in alphabetical order.
KNOWN_AREAS = (
    "secrets",
    "login",
    "devices",
    "entity",
    "permissions",
    "risk",
    "automation",
    "interfaces",
    "cadence",
    "config",
    "waivers",
)


def area_sort_key(area: str) -> tuple[int, str]:
    """Known areas in their fixed order, custom areas after them alphabetically."""
    try:
        return (KNOWN_AREAS.index(area), area)
    except ValueError:
        return (len(KNOWN_AREAS), area)


# Reference, Evidence, Waiver and Finding are NamedTuples rather than frozen
# dataclasses: as immutable, and cheaper both to define at start-up (~0.06 ms
# against ~0.5 ms a class) and to build (an audit builds hundreds of Evidence).
# Nothing serialises them as tuples: reports go through ``to_dict`` and friends.


class Reference(NamedTuple):
    """Where in the source article a check comes from, in our own words."""

    section: str
    passage: str

    def render(self) -> str:
        return f"Article, '{self.section}': {self.passage}"


@dataclass(frozen=True)
class Check:
    """A check as loaded from a checklist file; its logic stays data."""

    id: str
    title: str
    area: str
    severity: Severity
    description: str
    severity_reason: str
    remediation: str
    reference: Reference
    reads: tuple[str, ...]
    pass_if: Any
    applies_if: Any = None
    for_each: str | None = None
    where_in_ibkr: str | None = None
    source: str = ""
    origin: str = ""  # JSON pointer of the check inside its source file
    # Context severity: [{"when": condition, "severity": ..., "reason": ...}], first match wins.
    severity_if: Any = None
    change: str | None = None  # the fact to change first (leads the evidence)
    verify_in_ibkr: str | None = None  # how to confirm the fix inside IBKR itself
    where_by_interface: Mapping[str, str] | None = None  # "Where", per interface the user has
    standalone: bool = False  # also run by 'ibkr-audit configs', without a setup


class Evidence(NamedTuple):
    """One fact a check read: where it is, what it was, what the check wanted."""

    pointer: str
    actual: Any
    expected: Any
    # For facts read from a configuration file: (file, line or None, key).
    location: tuple[str, int | None, str] | None = None
    # 'declared' or 'observed', set only on runs that observed something (--probe,
    # --scan-code); absent otherwise, so reports without observations are unchanged.
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"pointer": self.pointer, "actual": self.actual, "expected": self.expected}
        if self.location is not None:
            out.update(file=self.location[0], line=self.location[1], key=self.location[2])
        if self.source is not None:
            out["source"] = self.source
        return out


class Waiver(NamedTuple):
    """An accepted risk for one check, until ``expires``."""

    check: str
    reason: str
    expires: str
    approved_by: str | None = None
    pointer: str = ""


class Finding(NamedTuple):
    """The result of one check, or of one item of a per-item check.

    An audit makes ~90 of them per setup (see the note above :class:`Reference`).
    """

    check: Check
    status: Status
    evidence: tuple[Evidence, ...]
    note: str | None = None
    item: str | None = None
    item_label: str | None = None
    waiver: Waiver | None = None

    @property
    def id(self) -> str:
        return self.check.id

    @property
    def severity(self) -> Severity:
        return self.check.severity

    def is_failure_at(self, threshold: Severity | None) -> bool:
        """True when this finding failed at or above ``threshold`` (None: never)."""
        return self.status is Status.FAIL and at_or_above(self.severity, threshold)


@dataclass(frozen=True)
class Report:
    """Everything one audit of one setup file produced."""

    setup_path: str
    tool_version: str
    generated_at: str
    as_of: str
    findings: tuple[Finding, ...]
    checklist_digest: str = ""
    setup_sha256: str = ""
    checklist_version: str = ""
    lines: Mapping[str, int] = field(default_factory=dict)
    # Declared vs observed for a probed device: (fact, declared, observed, how) rows.
    observed: tuple[tuple[str, str, str, str], ...] = ()

    def line_of(self, pointer: str) -> int | None:
        """Line of ``pointer`` in the setup (or of its nearest ancestor), when located."""
        return next((self.lines[p] for p in ancestors(pointer) if p in self.lines), None)

    def summary(self) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        for finding in self.findings:
            counts[finding.status.value] += 1
        return counts

    def worst_failure(self) -> Severity | None:
        failed = [f.severity for f in self.findings if f.status is Status.FAIL]
        return max(failed, key=lambda s: s.rank) if failed else None

    def failed_at(self, threshold: Severity | None) -> list[Finding]:
        return [f for f in self.findings if f.is_failure_at(threshold)]
