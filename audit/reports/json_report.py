"""The JSON report: exactly the contract's shape (setup-format.md, section 3)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from audit.model import Finding, Report
from audit.reports import RenderOptions

try:  # a declared dependency; the stdlib encoder stays the reference and the fallback
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised by forcing _orjson to None in tests
    _orjson = None  # type: ignore[assignment]

REPORT_SCHEMA_VERSION = 1
_PLAIN = frozenset({str, int, bool, type(None)})


def _orjson_safe(data: Any) -> bool:
    """Whether orjson writes ``data`` byte for byte as the stdlib does.

    Only exact plain types qualify (orjson would also encode dataclasses, dates and
    the like, which the stdlib refuses), and floats only when they print without an
    exponent and are finite (the stdlib writes ``1e-07``, ``NaN``; orjson ``1e-7``,
    ``null``). Out-of-range integers, lone surrogates and non-string keys make
    orjson raise, which falls back too.
    """
    stack = [data]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is str:  # most values: decided in one comparison
            continue
        if kind is dict:
            stack.extend(value.values())
        elif kind is list or kind is tuple:
            stack.extend(value)
        elif kind is float:
            if not math.isfinite(value) or "e" in repr(value):
                return False
        elif kind not in _PLAIN:
            return False
    return True


def dumps(data: Any, *, indent: bool) -> str:
    """``json.dumps(data, ensure_ascii=False)`` with ``indent=2`` or compact separators.

    The same text, faster: orjson when it would write exactly those bytes, the
    stdlib encoder otherwise (``indent=2`` alone makes the stdlib use its
    pure-Python encoder, about 60 times slower on a report).
    """
    if _orjson is not None and _orjson_safe(data):
        try:
            encoded: bytes = _orjson.dumps(data, option=_orjson.OPT_INDENT_2 if indent else 0)
            return encoded.decode()
        except TypeError:  # orjson.JSONEncodeError: e.g. an integer beyond 64 bits
            pass
    # Strict JSON (issue 14): a non-finite float is a bug to surface, never "Infinity".
    if indent:
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def finding_dict(f: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": f.id, "title": f.check.title, "area": f.check.area,
        "severity": f.severity.value, "status": f.status.value,
        "evidence": [e.to_dict() for e in f.evidence],
        "remediation": f.check.remediation, "reference": f.check.reference.render(),
    }
    if f.item is not None:
        out["item"] = f.item
    if f.waiver is not None:
        out["waiver"] = {"reason": f.waiver.reason, "expires": f.waiver.expires,
                         "approved_by": f.waiver.approved_by, "pointer": f.waiver.pointer}
    if f.note:
        out["note"] = f.note
    return out


def report_dict(report: Report) -> dict[str, Any]:
    out = _contract(report)
    if report.observed:  # an additional key, only on --probe / --scan-code runs
        out["observed"] = [dict(zip(("fact", "declared", "observed", "how"), row, strict=True))
                           for row in report.observed]
    return out


def _contract(report: Report) -> dict[str, Any]:
    return {
        "tool": "ibkr-audit",
        "version": report.tool_version,
        "checklist_version": report.checklist_version,
        "schema_version": REPORT_SCHEMA_VERSION,
        "setup": report.setup_path,
        "generated_at": report.generated_at,
        "as_of": report.as_of,
        "summary": report.summary(),
        "findings": [finding_dict(f) for f in report.findings],
    }


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    """One report: an object. Several: an array of objects, in the order given."""
    data: Any = report_dict(reports[0]) if len(reports) == 1 else [report_dict(r) for r in reports]
    return dumps(data, indent=True) + "\n"
