"""Turn findings into a checklist someone can work through, worst first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from audit.advice.data import Advice
from audit.advice.rank import ordered, positions
from audit.model import Finding, Status
from audit.reports.common import evidence_text
from audit.textsafe import shell_command


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    severity: str
    status: str
    stage: int | None
    subject: str | None
    action: str
    where: str
    evidence: tuple[str, ...]
    verify: tuple[str, ...]  # commands to run, in order
    verify_in_ibkr: str | None = None
    why: str | None = None  # why the severity differs here (the check's severity_if reason)


@dataclass(frozen=True)
class Accepted:
    id: str
    title: str
    severity: str
    reason: str
    expires: str
    approved_by: str | None


def stage_of(advice: Advice) -> dict[str, int]:
    """Check id → the first plan stage that gates on it or lists it as related."""
    return {cid: stage for cid, (stage, _index) in positions(advice).items()}


def where(finding: Finding, interfaces: tuple[str, ...]) -> str:
    """Where to make the fix, for the interface the trader actually uses: the first
    entry of the check's ``where`` (in the order the checklist writes them, most
    specific first) that names one of ``interfaces``."""
    check = finding.check
    by_interface = check.where_by_interface or {}
    for name, text in by_interface.items():
        if name in interfaces:
            return text
    if check.where_in_ibkr:
        return check.where_in_ibkr
    if by_interface:
        return next(iter(by_interface.values()))
    pointer = finding.evidence[0].pointer if finding.evidence else (finding.item or "")
    return f"Your setup file, at {pointer or 'the top level'} (a fact to declare or correct)"


def where_keys(data: dict[str, Any], current: tuple[str, ...]) -> tuple[str, ...]:
    """The interfaces ``where`` may name for this setup: those in use, plus
    ``client_portal_api`` when the automation connects through the Client Portal API
    (then the TWS/Gateway socket-API texts do not apply to it)."""
    automation = data.get("automation")
    api = automation.get("api") if isinstance(automation, dict) else None
    if api == "client_portal_api":
        return ("client_portal_api", *(i for i in current if i != "api"))
    return current


def tasks(findings: list[Finding], advice: Advice, setup_path: str,
          interfaces: tuple[str, ...] = ()) -> list[Task]:
    """One task per failing or manual finding, in the shared order (:func:`ordered`):
    failures worst first, each after the prerequisites it waits on, then what is
    unknown, by severity."""
    places = positions(advice)
    chosen = ordered(findings, advice)
    out = []
    for f in chosen:
        action = f.check.remediation
        if f.status is Status.MANUAL:
            action = f"Declare the missing facts in your setup, or check by hand. {action}"
        out.append(Task(
            f.id, f.check.title, f.severity.value, f.status.value,
            places[f.id][0] if f.id in places else None,
            f.item_label or f.item, action, where(f, interfaces),
            tuple(evidence_text(e) for e in f.evidence),
            (shell_command("ibkr-audit", "explain", f.id),
             shell_command("ibkr-audit", "check", setup_path, "--only", f.id)),
            f.check.verify_in_ibkr,
            f.note if f.note and f.note.startswith("severity ") else None))
    return out


def accepted(findings: list[Finding]) -> list[Accepted]:
    return [Accepted(f.id, f.check.title, f.severity.value, f.waiver.reason, f.waiver.expires,
                     f.waiver.approved_by)
            for f in findings if f.status is Status.WAIVED and f.waiver is not None]
