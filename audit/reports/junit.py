"""JUnit XML for Jenkins, GitLab and other CI test-report viewers.

A ``testsuite`` per area (per setup file), a ``testcase`` per finding: ``failure``
for fail, ``skipped`` (with the reason) for skip, manual and waived.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from audit.model import Report, Status
from audit.reports import RenderOptions
from audit.reports.common import by_area, evidence_text

# XML 1.0 forbids most control characters; a setup string may contain them (\u0001).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SKIP_REASON = {
    Status.SKIP: "not applicable to this setup",
    Status.MANUAL: "manual: the setup does not declare the facts this check needs",
    Status.WAIVED: "waived",
}


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    root = ET.Element("testsuites", name="ibkr-audit")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for report in reports:
        for area, findings in by_area(report.findings):
            failures = sum(1 for f in findings if f.status is Status.FAIL)
            skipped = sum(1 for f in findings if f.status in _SKIP_REASON)
            suite = ET.SubElement(
                root, "testsuite", name=_clean(f"{report.setup_path}: {area}"),
                tests=str(len(findings)), failures=str(failures), errors="0",
                skipped=str(skipped), time="0", timestamp=report.generated_at.rstrip("Z"))
            props = ET.SubElement(suite, "properties")
            ET.SubElement(props, "property", name="as_of", value=report.as_of)
            ET.SubElement(props, "property", name="tool_version", value=report.tool_version)
            totals["tests"] += len(findings)
            totals["failures"] += failures
            totals["skipped"] += skipped
            for f in findings:
                subject = f" [{f.item_label or f.item}]" if f.item else ""
                pointer = f.evidence[0].pointer if f.evidence else (f.item or "")
                case = ET.SubElement(
                    suite, "testcase", classname=_clean(f"ibkr-audit.{area}"),
                    name=_clean(f"{f.id} {f.check.title}{subject}"),
                    file=_clean(report.setup_path), time="0")
                line = report.line_of(pointer)
                if line is not None:
                    case.set("line", str(line))
                evidence = "\n".join(evidence_text(e) for e in f.evidence)
                if f.status is Status.FAIL:
                    failure = ET.SubElement(case, "failure", message=_clean(f.check.title),
                                            type=f.severity.value)
                    failure.text = _clean(f"{evidence}\n\nFix: {f.check.remediation}")
                elif f.status in _SKIP_REASON:
                    reason = _SKIP_REASON[f.status]
                    if f.status is Status.WAIVED and f.waiver is not None:
                        reason = f"waived until {f.waiver.expires}: {f.waiver.reason}"
                    ET.SubElement(case, "skipped", message=_clean(reason))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
