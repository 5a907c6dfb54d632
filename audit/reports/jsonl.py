"""JSON Lines: one compact report per line, for streaming and fleet runs.

``jsonl`` repeats every check's static text (title, area, remediation, reference:
about two thirds of a line) in every report. ``jsonl-compact`` writes it once, in
a first line ``{"tool": ..., "checks": {ID: {...}}}``, and leaves it out of each
finding; a consumer joins findings to that catalogue by ``id``. Nothing else
changes: the report lines keep the ``json`` report's shape minus those keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from audit import __version__
from audit.model import Check, Report
from audit.reports import RenderOptions
from audit.reports.json_report import REPORT_SCHEMA_VERSION, dumps, report_dict

# Keys of a finding that only repeat its check's static text.
STATIC_KEYS = ("title", "area", "remediation", "reference")


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    return "".join(dumps(report_dict(r), indent=False) + "\n" for r in reports)


def catalog_line(checks: Iterable[Check]) -> str:
    """The first line of ``jsonl-compact``: each check's static text, once."""
    catalog = {check.id: {"title": check.title, "area": check.area,
                          "severity": check.severity.value, "remediation": check.remediation,
                          "reference": check.reference.render()} for check in checks}
    return dumps({"tool": "ibkr-audit", "version": __version__,
                  "schema_version": REPORT_SCHEMA_VERSION, "checks": catalog},
                 indent=False) + "\n"


def compact_line(report: Report) -> str:
    """One report line without the static text the catalogue line carries."""
    data: dict[str, Any] = report_dict(report)
    data["findings"] = [{k: v for k, v in finding.items() if k not in STATIC_KEYS}
                        for finding in data["findings"]]
    return dumps(data, indent=False) + "\n"


def render_compact(reports: Sequence[Report], options: RenderOptions) -> str:
    checks = {f.check.id: f.check for r in reports for f in r.findings}
    return catalog_line(checks.values()) + "".join(compact_line(r) for r in reports)
