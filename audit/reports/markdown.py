"""A Markdown report: a table per area, readable on GitHub and in merge requests."""

from __future__ import annotations

from collections.abc import Sequence

from audit.model import Report
from audit.reports import RenderOptions
from audit.reports.common import by_area, evidence_text
from audit.reports.text import summary_line
from audit.textsafe import clean, markdown_cell

_ICON = {"fail": "❌ fail", "manual": "❔ manual", "waived": "⏸️ waived", "pass": "✅ pass",
         "skip": "- skip"}


cell = markdown_cell  # the redactor knows this spelling of a secret (scan._variants)


def render_one(report: Report, options: RenderOptions) -> str:
    counts = report.summary()
    out = [
        f"# ibkr-audit report: `{clean(report.setup_path)}`", "",
        f"ibkr-audit {report.tool_version} · generated {report.generated_at} · "
        f"as of {report.as_of}", "",
        " · ".join(f"**{counts[k]}** {k}" for k in ("fail", "manual", "pass", "skip", "waived")),
        "", f"> {summary_line(report, options.fail_on)}", "",
    ]
    for area, findings in by_area(report.findings):
        out += [f"## {area.capitalize()}", "",
                "| Status | Severity | Check | Evidence | Remediation |",
                "| --- | --- | --- | --- | --- |"]
        for f in findings:
            evidence = "<br>".join(cell(evidence_text(e)) for e in f.evidence)
            if f.note:
                evidence += ("<br>" if evidence else "") + cell(f"note: {f.note}")
            fix = cell(f.check.remediation) if f.status.value in ("fail", "manual") else ""
            subject = cell(f" [{f.item_label or f.item}]") if f.item else ""
            out.append(f"| {_ICON[f.status.value]} | {f.severity.value} | "
                       f"**{f.id}** {cell(f.check.title)}{subject} | {evidence} | {fix} |")
        out.append("")
    return "\n".join(out)


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    return "\n".join(render_one(r, options) for r in reports)
