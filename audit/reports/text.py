"""The terminal report: grouped by area, failures first, one summary line."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence
from typing import Any

import click

from audit.model import Finding, Report, Severity, Status
from audit.reports import RenderOptions
from audit.reports.common import by_area, evidence_text
from audit.textsafe import clean

_STATUS_STYLE: dict[Status, tuple[str, dict[str, Any]]] = {
    Status.FAIL: ("FAIL", {"fg": "red", "bold": True}),
    Status.MANUAL: ("MANUAL", {"fg": "yellow", "bold": True}),
    Status.WAIVED: ("WAIVED", {"fg": "magenta"}),
    Status.PASS: ("pass", {"fg": "green"}),
    Status.SKIP: ("skip", {"dim": True}),
}
_SEVERITY_STYLE: dict[Severity, dict[str, Any]] = {
    Severity.CRITICAL: {"fg": "red", "bold": True}, Severity.HIGH: {"fg": "red"},
    Severity.MEDIUM: {"fg": "yellow"}, Severity.LOW: {"fg": "cyan"}, Severity.INFO: {"dim": True},
}
_DETAILED = (Status.FAIL, Status.MANUAL, Status.WAIVED)
_PAD = " " * 30


def _style(text: str, color: bool, **style: Any) -> str:
    return click.style(text, **style) if color else text


def _finding_lines(f: Finding, color: bool) -> list[str]:
    label, style = _STATUS_STYLE[f.status]
    status = _style(f"{label:<6}", color, **style)
    severity = _style(f"{f.severity.value:<8}", color, **_SEVERITY_STYLE[f.severity])
    subject = f" [{clean(f.item_label or f.item or '')}]" if f.item else ""
    lines = [f"  {status}  {severity}  {clean(f.id):<10} {clean(f.check.title)}{subject}"]
    if f.status not in _DETAILED:
        return lines
    texts = [clean(evidence_text(e)) for e in f.evidence]
    if f.note:
        texts.append(f"note: {clean(f.note)}")
    if f.status is not Status.WAIVED:
        texts.append(f"fix: {clean(f.check.remediation)}")
        if f.check.where_in_ibkr:
            texts.append(f"where: {clean(f.check.where_in_ibkr)}")
    width = max(60, min(shutil.get_terminal_size((100, 24)).columns, 120))
    for text in texts:
        lines.extend(textwrap.wrap(text, width, initial_indent=_PAD, subsequent_indent=_PAD + "  ",
                                   break_on_hyphens=False, break_long_words=False))
    return lines


def summary_line(report: Report, fail_on: Severity | None) -> str:
    counts = report.summary()
    failed = [f for f in report.findings if f.status is Status.FAIL]
    by_sev = [f"{sum(1 for f in failed if f.severity is s)} {s.value}"
              for s in Severity if any(f.severity is s for f in failed)]
    failed_text = f"{counts['fail']} failed" + (f" ({', '.join(by_sev)})" if by_sev else "")
    critical_unknown = sum(1 for f in report.findings
                           if f.status is Status.MANUAL and f.severity is Severity.CRITICAL)
    unknown = f"{counts['manual']} unknown" + (f", including {critical_unknown} critical"
                                               if critical_unknown else "")
    parts = [failed_text, unknown, f"{counts['pass']} passed",
             f"{counts['skip']} skipped", f"{counts['waived']} waived"]
    gate = report.failed_at(fail_on)
    if fail_on is None:
        verdict = "not gating (--fail-on never)"
    elif gate:
        verdict = f"{len(gate)} at or above {fail_on.value}"
    else:
        verdict = f"nothing failed at or above {fail_on.value}"
    if critical_unknown:  # never let "nothing failed" hide an unknown critical check
        ids = ", ".join(sorted({f.id for f in report.findings
                                if f.status is Status.MANUAL and f.severity is Severity.CRITICAL}))
        verdict += (f", but {critical_unknown} critical check(s) are unknown ({ids}): "
                    "declare them, or gate on them with --strict")
    return f"Summary: {', '.join(parts)}. {verdict}."


def render_one(report: Report, options: RenderOptions) -> str:
    color = options.color
    out = [_style(f"ibkr-audit {report.tool_version}", color, bold=True)
           + f" · {clean(report.setup_path)} · as of {report.as_of}", ""]
    for area, findings in by_area(report.findings):
        shown = [f for f in findings if not options.quiet or f.status in _DETAILED]
        if not shown:
            continue
        out.append(_style(area.upper(), color, bold=True, underline=True))
        for finding in shown:
            out.extend(_finding_lines(finding, color))
        out.append("")
    if report.observed:  # --probe / --scan-code: what was said next to what was seen
        out.append(_style("DECLARED VS OBSERVED", color, bold=True, underline=True))
        for name, declared, seen, how in report.observed:
            out.append(clean(f"  {name:<20} declared: {declared}"))
            out.append(clean(f"  {'':<20} observed: {seen}  [{how}]"))
        out.append("")
    out.append(summary_line(report, options.fail_on))
    manual = report.summary()["manual"]
    if manual:
        out.append(f"{manual} check(s) need facts the file does not declare: "
                   "add them, or verify by hand.")
    return "\n".join(out) + "\n"


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    return "\n".join(render_one(r, options) for r in reports)
