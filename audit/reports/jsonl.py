"""JSON Lines: one compact report per line, for streaming and fleet runs."""

from __future__ import annotations

import json
from collections.abc import Sequence

from audit.model import Report
from audit.reports import RenderOptions
from audit.reports.json_report import report_dict


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    return "".join(json.dumps(report_dict(r), ensure_ascii=False, separators=(",", ":")) + "\n"
                   for r in reports)
