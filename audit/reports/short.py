"""One line per failing check, ``file:line: ID severity title``: for pre-commit and editors.

Nothing is printed for a setup without failures, so a passing hook stays quiet;
the last line counts the failures at or above ``--fail-on``.
"""

from __future__ import annotations

from collections.abc import Sequence

from audit.model import Finding, Report, Severity, Status
from audit.reports import RenderOptions
from audit.textsafe import clean


def finding_line(path: str, line: int | None, f: Finding, suffix: str = "") -> str:
    """``path:line: ID severity title`` (no ``:line`` when there is none)."""
    where = f"{path}:{line}" if line is not None else path
    in_file = (f.check.for_each or "").startswith("/$files/")  # the path already says which
    item = f" [{f.item_label or f.item}]" if f.item and not in_file else ""
    return clean(f"{where}: {f.id} {f.severity.value} {f.check.title}{item}{suffix}")


def summary(reports: Sequence[Report], threshold: Severity | None, what: str) -> list[str]:
    failed = sum(len(r.failed_at(threshold)) for r in reports)
    if not failed:
        return []
    gate = threshold.value if threshold else "never"
    return [f"ibkr-audit: {failed} failing check(s) at or above {gate} in {len(reports)} {what}"]


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    lines = []
    for report in reports:
        for f in report.findings:
            if f.status is not Status.FAIL:
                continue
            located = next((e.location for e in f.evidence if e.location is not None), None)
            if located is not None:  # a fact from a config file given with --ibc and the like
                lines.append(finding_line(located[0], located[1], f))
                continue
            pointer = f.evidence[0].pointer if f.evidence else (f.item or "")
            lines.append(finding_line(report.setup_path, report.line_of(pointer), f))
    lines += summary(reports, options.fail_on, "setup file(s)")
    return "".join(line + "\n" for line in lines)
