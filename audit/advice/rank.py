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
    status: str = "fail"  # or "manual": a fact to declare (only when nothing fails)


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


def _waits_on(finding: Finding, by_id: dict[str, list[Finding]], advice: Advice
              ) -> list[Finding]:
    """The failing or unknown prerequisites (advice ``prerequisites``) of ``finding``."""
    out: list[Finding] = []
    for rule in advice.prerequisites:
        if finding.id in rule["checks"]:
            out += [f for cid in rule["first"] for f in by_id.get(cid, [])
                    if f.status in (Status.FAIL, Status.MANUAL) and f not in out]
    return out


def ordered(findings: Iterable[Finding], advice: Advice) -> list[Finding]:
    """Every failing and unknown finding in the order to act on it, shared by every view.

    Urgent findings come first, in the order of the urgent rules. Other failures come
    worst first (:func:`order_key`); a failure that waits on a
    prerequisite (e.g. a permission to widen before the margin safeguards are in
    place) is preceded by that prerequisite, even when the prerequisite is only
    unknown. The unknown findings left over follow, worst first.
    """
    found = list(findings)
    where = positions(advice)
    by_id: dict[str, list[Finding]] = {}
    for f in found:
        by_id.setdefault(f.id, []).append(f)
    out: list[Finding] = []
    for u in urgent(found, advice):
        out += [f for f in by_id.get(u.id, []) if f.item_label == u.subject and f not in out]
    for finding in failing(found, advice):
        for first in [*_waits_on(finding, by_id, advice), finding]:
            if first not in out:
                out.append(first)
    manual = sorted((f for f in found if f.status is Status.MANUAL and f not in out),
                    key=lambda f: order_key(f, where))
    return out + manual


def urgent(findings: list[Finding], advice: Advice) -> list[Urgent]:
    """Failures that need action now, whatever stage the plan is at, in the order of the
    advice's urgent rules; each carries the action of its own rule."""
    applied = {f.id for f in findings if f.status is not Status.SKIP}
    worst = failing(findings, advice)
    out: list[Urgent] = []
    seen: set[tuple[str, str | None]] = set()
    for rule in advice.urgent:
        if "while_applies" in rule and rule["while_applies"] not in applied:
            continue
        floor = Severity(rule.get("min_severity", "info"))
        for finding in worst:
            if finding.id not in rule["checks"] or finding.severity.rank < floor.rank \
                    or (finding.id, finding.item) in seen:
                continue
            seen.add((finding.id, finding.item))
            out.append(Urgent(finding.id, finding.severity.value, finding.status.value,
                              rule["action"], finding.check.title, finding.item_label,
                              finding.check.remediation))
    return out


def next_step(findings: list[Finding], advice: Advice) -> NextStep | None:
    """The one thing to do next, the first task of :func:`ordered` in every view: the
    first urgent item; else the worst failure (or a prerequisite it waits on); else,
    when nothing fails, the worst unknown finding (a critical one first); None when
    nothing fails and nothing is unknown."""
    queue = ordered(findings, advice)
    if not queue:
        return None
    first = queue[0]
    stage = positions(advice).get(first.id, (None, 0))[0]
    action = first.check.remediation
    if first.status is Status.MANUAL:
        action = f"Declare the missing facts in your setup, or check by hand. {action}"
    return NextStep(first.id, first.severity.value, stage, action, first.check.title,
                    first.item_label, first.status.value)


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
