"""The JSON report: exactly the contract's shape (setup-format.md, section 3)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from audit.model import Finding, Report
from audit.reports import RenderOptions

REPORT_SCHEMA_VERSION = 1


def finding_dict(f: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": f.id, "title": f.check.title, "area": f.check.area,
        "severity": f.severity.value, "status": f.status.value,
        "evidence": [e.to_dict() for e in f.evidence],
        "remediation": f.check.remediation, "reference": f.check.reference.render(),
    }
    if f.item is not None:
        out["item"] = f.item
    if f.waiver is not None:
        out["waiver"] = {"reason": f.waiver.reason, "expires": f.waiver.expires,
                         "approved_by": f.waiver.approved_by, "pointer": f.waiver.pointer}
    if f.note:
        out["note"] = f.note
    return out


def report_dict(report: Report) -> dict[str, Any]:
    out = _contract(report)
    if report.observed:  # an additional key, only on --probe / --scan-code runs
        out["observed"] = [dict(zip(("fact", "declared", "observed", "how"), row, strict=True))
                           for row in report.observed]
    return out


def _contract(report: Report) -> dict[str, Any]:
    return {
        "tool": "ibkr-audit",
        "version": report.tool_version,
        "checklist_version": report.checklist_version,
        "schema_version": REPORT_SCHEMA_VERSION,
        "setup": report.setup_path,
        "generated_at": report.generated_at,
        "as_of": report.as_of,
        "summary": report.summary(),
        "findings": [finding_dict(f) for f in report.findings],
    }


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    """One report: an object. Several: an array of objects, in the order given."""
    data: Any = report_dict(reports[0]) if len(reports) == 1 else [report_dict(r) for r in reports]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
