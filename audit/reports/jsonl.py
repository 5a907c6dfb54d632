"""JSON Lines: one compact report per line, for streaming and fleet runs.

``jsonl`` repeats every check's static text (title, area, remediation, reference:
about two thirds of a line) in every report. ``jsonl-compact`` writes it once, in
a first line ``{"tool": ..., "checks": {ID: {...}}}``, and leaves it out of each
finding; a consumer joins findings to that catalogue by ``id``. Nothing else
changes: the report lines keep the ``json`` report's shape minus those keys, except
where a finding's value differs from the catalogue's (a remediation filled in with
names from that setup): then the finding carries it, and it wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from audit import __version__
from audit.model import Check, Report
from audit.reports import RenderOptions
from audit.reports.json_report import REPORT_SCHEMA_VERSION, dumps, encode_report

# Keys of a finding that only repeat its check's static text.
STATIC_KEYS = ("title", "area", "remediation", "reference")


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    return "".join(encode_report(r, indent=False) + "\n" for r in reports)


def _static(check: Check) -> dict[str, Any]:
    return {"title": check.title, "area": check.area, "severity": check.severity.value,
            "remediation": check.remediation, "reference": check.reference.render()}


_CATALOGS: dict[int, tuple[Sequence[Check], dict[str, dict[str, Any]]]] = {}


def catalog_for(checks: Sequence[Check]) -> dict[str, dict[str, Any]]:
    """Each check's static text by id (the first check of an id wins); built once per
    list of checks, so a fleet worker does it once, not once per setup."""
    cached = _CATALOGS.get(id(checks))
    if cached is None or cached[0] is not checks:
        catalog: dict[str, dict[str, Any]] = {}
        for check in checks:
            catalog.setdefault(check.id, _static(check))
        cached = _CATALOGS[id(checks)] = (checks, catalog)
    return cached[1]


def catalog_line(checks: Sequence[Check]) -> str:
    """The first line of ``jsonl-compact``: each check's static text, once."""
    return dumps({"tool": "ibkr-audit", "version": __version__,
                  "schema_version": REPORT_SCHEMA_VERSION, "checks": catalog_for(checks)},
                 indent=False) + "\n"


def compact_line(report: Report, catalog: dict[str, dict[str, Any]]) -> str:
    """One report line without the static text the catalogue line carries.

    A finding keeps a key whose value differs from its check's entry in the
    catalogue: a remediation filled in with names from this setup, for instance.
    """
    return encode_report(report, indent=False, catalog=catalog) + "\n"


def render_compact(reports: Sequence[Report], options: RenderOptions) -> str:
    checks = [f.check for r in reports for f in r.findings]
    catalog = catalog_for(checks)
    return catalog_line(checks) + "".join(compact_line(r, catalog) for r in reports)
