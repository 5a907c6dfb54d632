"""Small helpers every formatter shares: ordering and plain-text evidence."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from audit.model import STATUS_ORDER, Evidence, Finding, area_sort_key


def by_area(findings: Iterable[Finding]) -> list[tuple[str, list[Finding]]]:
    """Findings grouped by area (known areas first), failures first within each."""
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.check.area, []).append(finding)
    return [(area, sorted(groups[area], key=finding_sort_key))
            for area in sorted(groups, key=area_sort_key)]


def finding_sort_key(f: Finding) -> tuple[int, int, str, str]:
    pointer = f.evidence[0].pointer if f.evidence else ""
    return (STATUS_ORDER[f.status], -f.severity.rank, f.id, pointer)


def value_text(value: Any) -> str:
    if value is None:
        return "(missing)"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def evidence_text(e: Evidence) -> str:
    expected = (e.expected if isinstance(e.expected, str) and e.expected
                else value_text(e.expected))
    where = e.pointer or "/"
    if e.location is not None:
        file, line, key = e.location
        where = f"{file}:{line} {key}" if line else f"{file} {key}"
    return f"{where} is {value_text(e.actual)}; expected {expected}"
