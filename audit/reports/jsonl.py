"""JSON Lines: one compact report per line, for streaming and fleet runs."""

from __future__ import annotations

from collections.abc import Sequence

from audit.model import Report
from audit.reports import RenderOptions
from audit.reports.json_report import dumps, report_dict


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    return "".join(dumps(report_dict(r), indent=False) + "\n" for r in reports)
