"""What changed between two recorded runs: regressions, fixes, changed evidence."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from audit.history.store import Run, StoredFinding
from audit.model import Severity, at_or_above, severity_rank
from audit.textsafe import clean

ABSENT = "absent"


@dataclass(frozen=True)
class Change:
    check_id: str
    item: str
    title: str
    severity: str
    before: str  # status, or "absent"
    after: str
    before_severity: str | None
    evidence: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.check_id, "item": self.item or None, "title": self.title,
                "severity": self.severity, "before": self.before, "after": self.after,
                "before_severity": self.before_severity, "evidence": self.evidence}


@dataclass(frozen=True)
class Diff:
    before: Run | None
    after: Run | None  # None: the run being made now, not recorded yet
    regressions: list[Change] = field(default_factory=list)
    fixes: list[Change] = field(default_factory=list)
    evidence_changed: list[Change] = field(default_factory=list)
    other: list[Change] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.regressions or self.fixes or self.evidence_changed or self.other)

    def regressions_at(self, threshold: Severity | None) -> list[Change]:
        return [c for c in self.regressions if at_or_above(c.severity, threshold)]


def compare(before: Run | None, after: Run | None, old: list[StoredFinding],
            new: list[StoredFinding]) -> Diff:
    """Classify every finding whose status, severity or evidence moved."""
    result = Diff(before, after)
    previous = {f.key: f for f in old}
    current = {f.key: f for f in new}
    for key in sorted(previous.keys() | current.keys()):
        was, now = previous.get(key), current.get(key)
        if now is None:
            if was is not None:  # the check is gone (e.g. a custom checklist was dropped)
                bucket = result.fixes if was.status == "fail" else result.other
                bucket.append(_change(was, was.status, ABSENT, was.severity))
            continue
        before_status = was.status if was else ABSENT
        before_severity = was.severity if was else None
        change = _change(now, before_status, now.status, before_severity)
        newly_failing = now.status == "fail" and before_status != "fail"
        worse = (now.status == "fail" and was is not None
                 and severity_rank(now.severity) > severity_rank(was.severity))
        if newly_failing or worse:
            result.regressions.append(change)
        elif before_status == "fail" and now.status in ("pass", "skip"):
            result.fixes.append(change)
        elif before_status != now.status:
            result.other.append(change)
        elif was and now.status != "pass" and _evidence(was) != _evidence(now):
            result.evidence_changed.append(change)
    for bucket in (result.regressions, result.fixes, result.evidence_changed, result.other):
        bucket.sort(key=lambda c: (-severity_rank(c.severity), c.check_id, c.item))
    return result


def causes(before: Run | None, after: Run | None) -> dict[str, bool] | None:
    """Why findings could move between two recorded runs: the setup file changed
    (its SHA-256), the rules changed (checklist version or digest), or neither (then
    only time did: date checks such as review age)."""
    if before is None or after is None:
        return None
    versions = before.checklist_version and after.checklist_version
    return {"setup_changed": before.setup_sha256 != after.setup_sha256,
            "rules_changed": bool(versions and before.checklist_version != after.checklist_version)
            or before.checklist_digest != after.checklist_digest}


def causes_text(before: Run, after: Run) -> str:
    why = causes(before, after) or {}
    parts = []
    if why["setup_changed"]:
        parts.append("the setup changed")
    if why["rules_changed"]:
        old, new = before.checklist_version or "unrecorded", after.checklist_version or "?"
        parts.append(f"the rules changed (checklists {old} → {new})" if old != new
                     else f"the rules changed (checklists {new}, edited or custom)")
    return ("Changed since: " + " and ".join(parts) + "." if parts
            else "Changed since: neither the setup nor the rules (only the date moved).")


def _change(f: StoredFinding, before: str, after: str, before_severity: str | None) -> Change:
    return Change(f.check_id, f.item, f.title, f.severity, before, after, before_severity,
                  f.evidence)


def _evidence(f: StoredFinding) -> str:
    return json.dumps(f.evidence, sort_keys=True)


def render_text(diff: Diff, setup: str) -> str:
    def when(run: Run | None, missing: str) -> str:
        return f"run {run.id} ({run.recorded_at})" if run else missing

    out = [f"ibkr-audit diff · {setup} · {when(diff.before, 'no earlier run')} → "
           f"{when(diff.after, 'this run')}", ""]
    if diff.before is not None and diff.after is not None:
        out[1:1] = [causes_text(diff.before, diff.after)]
    sections = (("REGRESSIONS", diff.regressions), ("FIXED", diff.fixes),
                ("EVIDENCE CHANGED", diff.evidence_changed), ("OTHER CHANGES", diff.other))
    for title, changes in sections:
        if not changes:
            continue
        out.append(f"{title} ({len(changes)})")
        for c in changes:
            item = f" [{c.item}]" if c.item else ""
            moved = f"{c.before} → {c.after}"
            if c.before_severity and c.before_severity != c.severity:
                moved += f" (severity {c.before_severity} → {c.severity})"
            out.append(clean(f"  {c.severity:<8} {c.check_id:<10} {c.title}{item}: {moved}"))
            if title in ("REGRESSIONS", "EVIDENCE CHANGED"):
                for e in c.evidence:
                    actual = "(missing)" if e["actual"] is None else json.dumps(e["actual"])
                    expected = e["expected"] if isinstance(e["expected"], str) else json.dumps(
                        e["expected"])
                    out.append(clean(f"             {e['pointer'] or '/'} is {actual}; "
                                     f"expected {expected}"))
        out.append("")
    if not diff.changed:
        out.append("No changes.")
    by_sev: dict[str, int] = {}
    for c in diff.regressions:
        by_sev[c.severity] = by_sev.get(c.severity, 0) + 1
    detail = ", ".join(f"{n} {s}" for s, n in by_sev.items())
    out.append(f"Summary: {len(diff.regressions)} regression(s)"
               + (f" ({detail})" if detail else "")
               + f", {len(diff.fixes)} fixed, {len(diff.evidence_changed)} with changed evidence,"
               f" {len(diff.other)} other change(s).")
    return "\n".join(out) + "\n"


def to_dict(diff: Diff, setup: str) -> dict[str, Any]:
    def run(r: Run | None) -> dict[str, Any] | None:
        return None if r is None else {"id": r.id, "recorded_at": r.recorded_at,
                                       "as_of": r.as_of, "setup_sha256": r.setup_sha256,
                                       "checklist_version": r.checklist_version}

    return {"setup": setup, "before": run(diff.before), "after": run(diff.after),
            "changed": diff.changed, "causes": causes(diff.before, diff.after),
            "regressions": [c.to_dict() for c in diff.regressions],
            "fixes": [c.to_dict() for c in diff.fixes],
            "evidence_changed": [c.to_dict() for c in diff.evidence_changed],
            "other": [c.to_dict() for c in diff.other]}
