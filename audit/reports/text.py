"""The terminal report: the verdict first, then what to fix, worst first.

Order: a verdict (what failed at the gate, what to fix first, critical checks the
file cannot answer), the failures sorted by severity then area, the manual
checks, the waived ones, then one line counting the passes (``--verbose`` lists
them). Every line fits the terminal (capped at :data:`MAX_WIDTH`; ``COLUMNS``
overrides), and colour marks only what did not pass.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterable, Sequence
from typing import Any

import click

from audit.model import Finding, Report, Severity, Status, area_sort_key
from audit.reports import RenderOptions
from audit.reports.common import evidence_text
from audit.textsafe import clean

MAX_WIDTH = 100
MIN_WIDTH = 40

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
_DETAIL = 8  # indent of evidence and fix lines
_TABLE_MIN = 72  # below this, a row's title goes on its own line


def terminal_width() -> int:
    """Columns to wrap to: the terminal's (``COLUMNS`` wins), between 40 and 100.

    What ``shutil.get_terminal_size`` does, without importing shutil and the
    compression modules it pulls in (a few ms of every text run).
    """
    columns = os.environ.get("COLUMNS", "")
    # isdecimal and isascii: '²' and '٣' pass isdigit() but int() refuses them.
    width = int(columns) if columns.isascii() and columns.isdecimal() and len(columns) < 6 \
        else 0
    if width <= 0:
        try:
            width = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            width = 80
    return max(MIN_WIDTH, min(width or 80, MAX_WIDTH))


def wrap(text: str, width: int, indent: int = 0, hang: int = 2) -> list[str]:
    """``text`` wrapped to ``width``: first line at ``indent``, the rest ``hang`` deeper."""
    pad = " " * indent
    return textwrap.wrap(text, max(width, indent + hang + 20), initial_indent=pad,
                         subsequent_indent=pad + " " * hang, break_on_hyphens=False) or [pad]


def fit(text: str, width: int) -> str:
    """Wrap every over-long line of ``text``, continuing under its own indentation."""
    out: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        indent = len(line) - len(line.lstrip(" "))
        out.extend(wrap(line.strip(), width, indent, 2 if indent < width // 2 else 0))
    return "\n".join(out)


def style(text: str, color: bool, **attrs: Any) -> str:
    return click.style(text, **attrs) if color else text


def _row(f: Finding, width: int, color: bool) -> list[str]:
    label, status_style = _STATUS_STYLE[f.status]
    subject = f" [{clean(f.item_label or f.item or '')}]" if f.item else ""
    title = clean(f.check.title) + subject
    sev = f.severity.value
    # Colour marks what did not pass: a passing critical check is not alarming.
    shown_sev = (style(f"{sev:<8}", color, **_SEVERITY_STYLE[f.severity])
                 if f.status in (Status.FAIL, Status.MANUAL) else f"{sev:<8}")
    head = f"  {style(f'{label:<6}', color, **status_style)}  {shown_sev}  "
    if width >= _TABLE_MIN:
        column = 2 + 6 + 2 + 8 + 2 + 11
        lines = wrap(title, width - column, 0, 0)
        first = head + f"{clean(f.id):<10} " + lines[0]
        return [first, *(" " * column + line for line in lines[1:])]
    return [head + clean(f.id), *wrap(title, width, 4, 0)]


def _details(f: Finding, width: int) -> list[str]:
    texts = [clean(evidence_text(e)) for e in f.evidence]
    if f.note:
        texts.append(f"note: {clean(f.note)}")
    if f.status is Status.WAIVED and f.waiver is not None:
        texts.append(f"waived until {clean(f.waiver.expires)}: {clean(f.waiver.reason)}")
    elif f.status is not Status.WAIVED:
        texts.append(f"fix: {clean(f.check.remediation)}")
        if f.check.where_in_ibkr:
            texts.append(f"where: {clean(f.check.where_in_ibkr)}")
    return [line for text in texts for line in wrap(text, width, _DETAIL)]


def _order(findings: Iterable[Finding]) -> list[Finding]:
    """Worst severity first, then area (known areas in order), then id and item."""
    return sorted(findings, key=lambda f: (-f.severity.rank, area_sort_key(f.check.area), f.id,
                                           f.item or ""))


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


def _verdict(report: Report, fail_on: Severity | None, width: int, color: bool) -> list[str]:
    gate = _order(report.failed_at(fail_on))
    failed = [f for f in report.findings if f.status is Status.FAIL]
    if fail_on is None:
        text, tone = f"not gating (--fail-on never); {len(failed)} check(s) failed.", "yellow"
    elif gate:
        text, tone = (f"action needed: {len(gate)} check(s) failed at or above "
                      f"{fail_on.value}."), "red"
    elif failed:
        text, tone = (f"nothing failed at or above {fail_on.value}; {len(failed)} smaller "
                      "fix(es) below."), "yellow"
    else:
        text, tone = "no check failed.", "green"
    manual = report.summary()["manual"]
    if manual:
        text += f" {manual} check(s) need facts the file does not declare."
        tone = "red" if tone == "red" else "yellow"
    lines = wrap(f"VERDICT: {text}", width, 0, 2)
    lines[0] = style(lines[0], color, fg=tone, bold=True)
    for f in gate[:5]:
        lines += wrap(f"fix first: {f.id} ({f.severity.value}) {clean(f.check.title)}", width,
                      2, 4)
    if len(gate) > 5:
        lines.append(f"  … and {len(gate) - 5} more below")
    unknown = _order(f for f in report.findings
                     if f.status is Status.MANUAL and f.severity is Severity.CRITICAL)
    if unknown:
        lines += wrap(f"unknown: {len(unknown)} critical check(s) the file cannot answer: "
                      + ", ".join(dict.fromkeys(f.id for f in unknown)), width, 2, 4)
    return lines


def render_one(report: Report, options: RenderOptions) -> str:
    color, width = options.color, options.width or terminal_width()
    title = (f"ibkr-audit {report.tool_version} · {clean(report.setup_path)} · "
             f"as of {report.as_of}")
    out = wrap(title, width, 0, 2)
    out[0] = style(out[0], color, bold=True)
    out += ["", *_verdict(report, options.fail_on, width, color), ""]
    by_status: dict[Status, list[Finding]] = {s: [] for s in Status}
    for f in report.findings:
        by_status[f.status].append(f)
    sections = [(Status.FAIL, "FAILED, worst first"), (Status.MANUAL, "MANUAL: the file does "
                "not say; declare the facts or verify by hand"), (Status.WAIVED, "WAIVED")]
    if options.verbose:
        sections += [(Status.PASS, "PASSED"), (Status.SKIP, "SKIPPED: do not apply")]
    for status, heading in sections:
        findings = _order(by_status[status])
        if not findings:
            continue
        head = wrap(f"{heading} ({len(findings)})", width, 0, 2)
        out += [style(line, color, bold=True) for line in head]
        for f in findings:
            out += _row(f, width, color)
            if status in (Status.FAIL, Status.MANUAL, Status.WAIVED):
                out += _details(f, width)
        out.append("")
    if report.observed:  # --probe / --scan-code: what was said next to what was seen
        out.append(style("DECLARED VS OBSERVED", color, bold=True))
        for name, declared, seen, how in report.observed:
            out += wrap(clean(f"{name:<20} declared: {declared}"), width, 2, 22)
            out += wrap(clean(f"{'':<20} observed: {seen}  [{how}]"), width, 2, 22)
        out.append("")
    counts = report.summary()
    if not options.verbose and not options.quiet and (counts["pass"] or counts["skip"]):
        out += [*wrap(f"{counts['pass']} passed and {counts['skip']} skipped (not applicable) "
                      "checks not listed; --verbose lists them.", width, 0, 2), ""]
    out += wrap(summary_line(report, options.fail_on), width, 0, 2)
    return "\n".join(out) + "\n"


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    return "\n".join(render_one(r, options) for r in reports)
