"""SARIF 2.1.0, shaped for GitHub code scanning.

One run; a rule per evaluated check; a result per non-passing finding. Failures
are ``kind: fail``; ``manual`` findings are ``kind: review`` and skipped ones
``kind: notApplicable`` (both ``level: none``, as SARIF requires); waived
failures carry an accepted external suppression with the waiver's reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from audit.model import Check, Finding, Report, Severity, Status
from audit.reports import RenderOptions
from audit.reports.common import evidence_text

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/ibkr-audit/"

LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
         Severity.LOW: "note", Severity.INFO: "note"}
# GitHub ranks security alerts by this score: >= 9.0 critical, 7.0-8.9 high,
# 4.0-6.9 medium, 0.1-3.9 low. It is a number written as a string, as CodeQL does.
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
                     Severity.LOW: "3.0", Severity.INFO: "1.0"}
KIND = {Status.FAIL: "fail", Status.WAIVED: "fail", Status.MANUAL: "review",
        Status.SKIP: "notApplicable"}


def artifact_uri(path: str) -> dict[str, str]:
    """Relative paths stay relative to the checkout (%SRCROOT%), as GitHub expects."""
    pure = PurePath(path)
    if pure.is_absolute():
        return {"uri": "file://" + quote(pure.as_posix())}
    if path == "<stdin>":
        return {"uri": "stdin"}
    return {"uri": quote(pure.as_posix()), "uriBaseId": "%SRCROOT%"}


def rule(check: Check) -> dict[str, Any]:
    where = check.where_in_ibkr
    help_text = check.remediation + (f"\n\nWhere: {where}" if where else "")
    help_markdown = check.remediation + (f"\n\n**Where:** {where}" if where else "")
    return {
        "id": check.id,
        "name": "".join(w.capitalize() for w in check.id.replace("-", " ").split()),
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": f"{check.description} {check.severity_reason}"},
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {"level": LEVEL[check.severity]},
        "properties": {
            "tags": ["security", check.area],
            "security-severity": SECURITY_SEVERITY[check.severity],
            "precision": "high",
            "reference": check.reference.render(),
        },
    }


def result(f: Finding, report: Report, artifact_index: int, rule_index: int) -> dict[str, Any]:
    pointer = f.evidence[0].pointer if f.evidence else (f.item or "")
    kind = KIND[f.status]
    evidence = "; ".join(evidence_text(e) for e in f.evidence)
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {**artifact_uri(report.setup_path),
                                                  "index": artifact_index}},
        "logicalLocations": [{"fullyQualifiedName": pointer or "/", "kind": "value"}],
    }
    line = report.line_of(pointer)
    if line is not None:
        location["physicalLocation"]["region"] = {"startLine": line}
    fingerprint = hashlib.sha256(
        f"{f.id}\0{f.item or ''}\0{report.setup_path}".encode()).hexdigest()
    out: dict[str, Any] = {
        "ruleId": f.id,
        "ruleIndex": rule_index,
        "kind": kind,
        "level": LEVEL[f.severity] if kind == "fail" else "none",
        "message": {"text": f"{f.check.title}" + (f" [{f.item_label or f.item}]" if f.item else "")
                    + (f": {evidence}" if evidence else "")},
        "locations": [location],
        "partialFingerprints": {"ibkrAuditFinding/v1": fingerprint},
        "properties": {"status": f.status.value, "severity": f.severity.value},
    }
    if f.status is Status.WAIVED and f.waiver is not None:
        out["suppressions"] = [{
            "kind": "external", "status": "accepted",
            "justification": f"{f.waiver.reason} (expires {f.waiver.expires}"
                             + (f", approved by {f.waiver.approved_by})" if f.waiver.approved_by
                                else ")"),
        }]
    return out


def sarif_log(reports: Sequence[Report]) -> dict[str, Any]:
    rules: dict[str, int] = {}
    rule_list: list[dict[str, Any]] = []
    for report in reports:
        for f in report.findings:
            if f.id not in rules:
                rules[f.id] = len(rule_list)
                rule_list.append(rule(f.check))
    results = [
        result(f, report, index, rules[f.id])
        for index, report in enumerate(reports)
        for f in report.findings if f.status is not Status.PASS
    ]
    version = reports[0].tool_version if reports else ""
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "ibkr-audit", "version": version,
                                "semanticVersion": version, "informationUri": INFORMATION_URI,
                                "rules": rule_list}},
            "artifacts": [{"location": artifact_uri(r.setup_path), "mimeType": "application/json"}
                          for r in reports],
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {"asOf": reports[0].as_of if reports else None},
        }],
    }


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    return json.dumps(sarif_log(reports), indent=2, ensure_ascii=False,
                      allow_nan=False) + "\n"
