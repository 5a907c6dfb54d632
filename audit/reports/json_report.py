"""The JSON report: exactly the contract's shape (setup-format.md, section 3)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from audit.model import Finding, Report, Status
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
    return _encode(data, data, indent)


def _encode(data: Any, unsure: Any, indent: bool) -> str:
    """:func:`dumps`, where ``unsure`` holds every value of ``data`` that may not be a
    plain str, int, bool, None, list or dict of those (the rest is known to be)."""
    if _orjson is not None and _orjson_safe(unsure):
        try:
            encoded: bytes = _orjson.dumps(data, option=_orjson.OPT_INDENT_2 if indent else 0)
            return encoded.decode()
        except TypeError:  # orjson.JSONEncodeError: e.g. an integer beyond 64 bits
            pass
    # Strict JSON (issue 14): a non-finite float is a bug to surface, never "Infinity".
    if indent:
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


_STATUSES = tuple(s.value for s in Status)
_SCALAR = frozenset({str, int, bool, type(None)})


def finding_dict(f: Finding) -> dict[str, Any]:
    return _finding(f, None, [])


def _finding(f: Finding, catalog: dict[str, dict[str, Any]] | None,
             unsure: list[Any]) -> dict[str, Any]:
    """One finding as the contract writes it; with a ``catalog`` (jsonl-compact), the
    check's static text only where it differs from the catalogue's entry.

    Values read from the setup (an evidence's actual and expected values, the only
    fields typed ``Any``) that are not a plain scalar go to ``unsure``, and so does a
    waiver; every other field is a str, int or None by its type (mypy --strict holds
    the model to them). Enums are read through ``_value_``: ``.value`` is a property,
    slow on Python 3.11, and this runs for every finding.
    """
    check = f.check
    evidence = []
    for e in f.evidence:
        pointer, actual, expected, location, source = e
        if type(actual) not in _SCALAR:
            unsure.append(actual)
        if type(expected) not in _SCALAR:
            unsure.append(expected)
        if location is None and source is None:
            evidence.append({"pointer": pointer, "actual": actual, "expected": expected})
        else:
            evidence.append(e.to_dict())
            unsure.append(location)
    out: dict[str, Any] = {"id": check.id}
    if catalog is None:
        out["title"], out["area"] = check.title, check.area
        out["severity"], out["status"], out["evidence"] = (
            check.severity._value_, f.status._value_, evidence)
        out["remediation"], out["reference"] = check.remediation, check.reference.render()
    else:
        static = catalog.get(check.id, _NONE)
        if static.get("title") != check.title:
            out["title"] = check.title
        if static.get("area") != check.area:
            out["area"] = check.area
        out["severity"], out["status"], out["evidence"] = (
            check.severity._value_, f.status._value_, evidence)
        if static.get("remediation") != check.remediation:
            out["remediation"] = check.remediation
        reference = check.reference.render()
        if static.get("reference") != reference:
            out["reference"] = reference
    if f.item is not None:
        out["item"] = f.item
    if f.waiver is not None:
        out["waiver"] = waiver = {"reason": f.waiver.reason, "expires": f.waiver.expires,
                                  "approved_by": f.waiver.approved_by,
                                  "pointer": f.waiver.pointer}
        unsure.append(waiver)  # the user's own words: walked, however they are typed
    if f.note:
        out["note"] = f.note
    return out


_NONE: dict[str, Any] = {}


def report_dict(report: Report) -> dict[str, Any]:
    return _report(report, None, [])


def _report(report: Report, catalog: dict[str, dict[str, Any]] | None,
            unsure: list[Any]) -> dict[str, Any]:
    findings = []
    summary = dict.fromkeys(_STATUSES, 0)  # Report.summary(), counted on the way
    for f in report.findings:
        findings.append(_finding(f, catalog, unsure))
        summary[f.status._value_] += 1
    out = {
        "tool": "ibkr-audit",
        "version": report.tool_version,
        "checklist_version": report.checklist_version,
        "schema_version": REPORT_SCHEMA_VERSION,
        "setup": report.setup_path,
        "generated_at": report.generated_at,
        "as_of": report.as_of,
        "summary": summary,
        "findings": findings,
    }
    if report.observed:  # an additional key, only on --probe / --scan-code runs
        out["observed"] = [dict(zip(("fact", "declared", "observed", "how"), row, strict=True))
                           for row in report.observed]
        unsure.append(out["observed"])
    return out


def encode_report(report: Report, *, indent: bool,
                  catalog: dict[str, dict[str, Any]] | None = None) -> str:
    """``dumps(report_dict(report))``, checking only the values that may need the stdlib.

    With ``catalog``, the findings leave out static text the catalogue line carries
    (``jsonl-compact``).
    """
    unsure: list[Any] = []
    data = _report(report, catalog, unsure)
    return _encode(data, unsure, indent)


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    """One report: an object. Several: an array of objects, in the order given."""
    if len(reports) == 1:
        return encode_report(reports[0], indent=True) + "\n"
    unsure: list[Any] = []
    data = [_report(r, None, unsure) for r in reports]
    return _encode(data, unsure, True) + "\n"
