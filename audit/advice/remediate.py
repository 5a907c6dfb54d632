"""Turn findings into a checklist someone can work through, worst first."""

from __future__ import annotations

from dataclasses import dataclass

from audit.advice.data import Advice
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
    where: str | None
    evidence: tuple[str, ...]
    verify: tuple[str, ...]  # commands to run, in order


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
    mapping: dict[str, int] = {}
    for stage in advice.stages:
        for cid in stage["gates"] + stage.get("related", []):
            mapping.setdefault(cid, int(stage["stage"]))
    return mapping


def tasks(findings: list[Finding], advice: Advice, setup_path: str) -> list[Task]:
    """One task per failing or manual finding, by severity, then stage, then id."""
    stages = stage_of(advice)
    out = []
    for f in findings:
        if f.status not in (Status.FAIL, Status.MANUAL):
            continue
        action = f.check.remediation
        if f.status is Status.MANUAL:
            action = f"Declare the missing facts in your setup, or check by hand. {action}"
        out.append(Task(
            f.id, f.check.title, f.severity.value, f.status.value, stages.get(f.id),
            f.item_label or f.item, action, f.check.where_in_ibkr,
            tuple(evidence_text(e) for e in f.evidence),
            (shell_command("ibkr-audit", "explain", f.id),
             shell_command("ibkr-audit", "check", setup_path, "--only", f.id))))
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    out.sort(key=lambda t: (rank[t.severity], 99 if t.stage is None else t.stage, t.id,
                            t.subject or ""))
    return out


def accepted(findings: list[Finding]) -> list[Accepted]:
    return [Accepted(f.id, f.check.title, f.severity.value, f.waiver.reason, f.waiver.expires,
                     f.waiver.approved_by)
            for f in findings if f.status is Status.WAIVED and f.waiver is not None]
