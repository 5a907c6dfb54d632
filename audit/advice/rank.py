"""One ranking for every view: what is urgent now, and the single next step.

``check``, ``plan`` and ``remediate`` all order findings with :func:`order_key`
(severity first, then the plan stage the check belongs to, then its place in that
stage), so the three can never disagree about what comes first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from audit.advice.data import Advice
from audit.engine.checklist import Checklists
from audit.model import Finding, Report, Severity, Status
from audit.textsafe import clean


@dataclass(frozen=True)
class Urgent:
    id: str
    severity: str
    status: str
    action: str
    title: str
    subject: str | None
    remediation: str


@dataclass(frozen=True)
class NextStep:
    id: str
    severity: str
    stage: int | None
    action: str
    title: str
    subject: str | None


def positions(advice: Advice) -> dict[str, tuple[int, int]]:
    """Check id → (first stage that gates on it or lists it, its place in that stage)."""
    mapping: dict[str, tuple[int, int]] = {}
    for stage in advice.stages:
        for index, cid in enumerate(stage["gates"] + stage.get("related", [])):
            mapping.setdefault(cid, (int(stage["stage"]), index))
    return mapping


def order_key(finding: Finding, where: dict[str, tuple[int, int]]
              ) -> tuple[int, int, int, str, str]:
    stage, index = where.get(finding.id, (99, 0))
    return (-finding.severity.rank, stage, index, finding.id, finding.item or "")


def failing(findings: Iterable[Finding], advice: Advice) -> list[Finding]:
    """Failing findings, worst first (severity, then stage, then place in the stage)."""
    where = positions(advice)
    return sorted((f for f in findings if f.status is Status.FAIL),
                  key=lambda f: order_key(f, where))


def urgent(findings: list[Finding], advice: Advice) -> list[Urgent]:
    """Failures that need action now, whatever stage the plan is at."""
    applied = {f.id for f in findings if f.status is not Status.SKIP}
    out: list[Urgent] = []
    seen: set[tuple[str, str | None]] = set()
    for finding in failing(findings, advice):
        for rule in advice.urgent:
            if finding.id not in rule["checks"]:
                continue
            if "while_applies" in rule and rule["while_applies"] not in applied:
                continue
            floor = Severity(rule.get("min_severity", "info"))
            if finding.severity.rank < floor.rank or (finding.id, finding.item) in seen:
                continue
            seen.add((finding.id, finding.item))
            out.append(Urgent(finding.id, finding.severity.value, finding.status.value,
                              rule["action"], finding.check.title, finding.item_label,
                              finding.check.remediation))
            break
    return out


def next_step(findings: list[Finding], advice: Advice) -> NextStep | None:
    """The worst failing finding overall, or None when nothing fails."""
    worst = failing(findings, advice)
    if not worst:
        return None
    first = worst[0]
    stage = positions(advice).get(first.id, (None, 0))[0]
    return NextStep(first.id, first.severity.value, stage, first.check.remediation,
                    first.check.title, first.item_label)


def unknown(findings: Iterable[Finding]) -> tuple[int, int]:
    """(findings nobody can judge from the file, how many of them are critical)."""
    manual = [f for f in findings if f.status is Status.MANUAL]
    return len(manual), sum(1 for f in manual if f.severity is Severity.CRITICAL)


def unknown_text(findings: Iterable[Finding]) -> str:
    count, critical = unknown(findings)
    return f"{count} unknown" + (f", including {critical} critical" if critical else "")


def unknown_at(report: Report, threshold: Severity | None) -> list[Finding]:
    """Unknown (manual) findings at or above ``threshold``: failing under --strict."""
    if threshold is None:
        return []
    return [f for f in report.findings
            if f.status is Status.MANUAL and f.severity.rank >= threshold.rank]


def urgent_text(reports: Iterable[Report], lists: Checklists) -> str:
    """The urgent block that opens the text report of ``check``."""
    from audit.advice import data
    from audit.advice.render import urgent_dicts, urgent_lines

    advice = data.load(lists)
    out: list[str] = []
    for report in reports:
        found = urgent(list(report.findings), advice)
        if found:
            lines = urgent_lines(urgent_dicts(found))
            lines[0] += f" ({clean(report.setup_path)})"
            out += lines
    return "\n".join(clean(line) for line in out) + "\n" if out else ""
