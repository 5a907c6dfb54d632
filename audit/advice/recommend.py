"""The three-axis interface recommendation, decided by the rules in the advice data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from audit.advice.data import Advice
from audit.engine.checklist import Checklists
from audit.engine.conditions import Evaluator
from audit.model import Finding, Status

INTERFACE_NAMES = {
    "mobile": "IBKR Mobile", "client_portal": "Client Portal", "desktop": "IBKR Desktop",
    "tws": "TWS", "gateway": "IB Gateway", "api": "the API",
}


@dataclass(frozen=True)
class CostlyError:
    id: str
    title: str
    reduced_by: str
    interfaces: tuple[str, ...]
    checks: tuple[tuple[str, str], ...]  # (check id, worst status)


@dataclass(frozen=True)
class Recommendation:
    """What fits, why, and how it compares with what the trader uses today."""

    determined: bool
    rule: str | None
    summary: str
    interfaces: tuple[str, ...]
    reasons: tuple[str, ...]
    missing: tuple[str, ...] = ()
    current: tuple[str, ...] = ()
    to_add: tuple[str, ...] = ()
    beyond: tuple[str, ...] = ()
    costly_errors: tuple[CostlyError, ...] = field(default_factory=tuple)


def worst_status(findings: list[Finding], check_id: str) -> str:
    """The status that best summarises a (possibly per-item) check: fail > manual > rest."""
    statuses = [f.status for f in findings if f.id == check_id]
    for status in (Status.FAIL, Status.MANUAL, Status.WAIVED, Status.PASS, Status.SKIP):
        if status in statuses:
            return str(status.value)
    return "not run"


def recommend(document: dict[str, Any], evaluator: Evaluator, advice: Advice,
              findings: list[Finding], *, costly_errors: bool = True) -> Recommendation:
    profile = document.get("profile", {})
    declared = isinstance(profile.get("interfaces"), list)
    current = tuple(profile.get("interfaces", []))
    costly = tuple(
        CostlyError(e["id"], e["title"], e["reduced_by"], tuple(e.get("interfaces", [])),
                    tuple((cid, worst_status(findings, cid)) for cid in e["checks"]))
        for e in advice.costly_errors
        if costly_errors and evaluator.eval(e["when"]).value is True)
    for rule in advice.rules:
        outcome = evaluator.eval(rule["when"]).value if "when" in rule else True
        if outcome is None:
            missing = sorted({e.pointer for e in evaluator.eval(rule["when"]).evidence
                              if e.actual is None})
            return Recommendation(
                determined=False, rule=None,
                summary="Not enough facts to recommend interfaces",
                interfaces=(), reasons=(f"Rule '{rule['id']}' needs facts the setup does not "
                                        "declare; declare them rather than have us guess.",),
                missing=tuple(missing), current=current, costly_errors=costly)
        if outcome is False:
            continue
        interfaces = list(rule["interfaces"])
        reasons = list(rule["reasons"])
        for addition in rule.get("add", []):
            if evaluator.eval(addition["when"]).value is True:
                new = [i for i in addition["interfaces"] if i not in interfaces]
                if new:
                    interfaces.extend(new)
                    reasons.append(addition["reason"])
        return Recommendation(
            determined=True, rule=rule["id"], summary=rule["summary"],
            interfaces=tuple(interfaces), reasons=tuple(reasons), current=current,
            # Without profile.interfaces nothing is known to add or retire (the interface
            # checks are manual then, and ask for it).
            to_add=tuple(i for i in interfaces if i not in current) if declared else (),
            beyond=tuple(i for i in current if i not in interfaces
                         and i not in advice.baseline
                         and not (i == "gateway" and "api" in interfaces)),
            costly_errors=costly)
    raise AssertionError("the advice data ends with a catch-all rule")  # pragma: no cover


def advice_facts(document: dict[str, Any], evaluator: Evaluator,
                 lists: Checklists) -> dict[str, Any]:
    """The recommendation as facts interface checks can read under ``/$advice``."""
    from audit.advice.data import load

    rec = recommend(document, evaluator, load(lists), [], costly_errors=False)
    if not rec.determined:
        return {}
    return {"rule": rec.rule, "interfaces": list(rec.interfaces), "to_add": list(rec.to_add),
            "beyond": list(rec.beyond)}


def mismatch_findings(findings: list[Finding]) -> list[Finding]:
    """Interface-fit checks that failed: the concrete mismatches to report."""
    return [f for f in findings if f.check.area == "interfaces" and f.status is Status.FAIL]
