"""Run every selected check against one setup and produce findings."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from audit.engine.checklist import Checklists
from audit.engine.conditions import Context, Evaluator, Outcome
from audit.loading import Setup
from audit.model import Check, Evidence, Finding, Severity, Status
from audit.pointer import MISSING, join, resolve
from audit.secrets.scan import Redactor


@dataclass(frozen=True)
class Options:
    """What the caller may change about one evaluation."""

    as_of: dt.date
    params: Mapping[str, Any] = field(default_factory=dict)
    show_account_ids: bool = False
    allow_critical_waivers: bool = False
    check_keyring: bool = False
    # Only statuses are needed (fleet text lines): skip building evidence, which is
    # about a fifth of evaluation. Findings then carry no evidence.
    keep_evidence: bool = True
    # Loop-invariant sub-conditions once per setup (same findings; off only to compare).
    memoise: bool = True


ADVICE_FACTS = "/$advice"  # computed facts: the interface recommendation for this setup


def _status(value: bool | None) -> Status:
    return {True: Status.PASS, False: Status.FAIL, None: Status.MANUAL}[value]


def evaluator_for(setup: Setup, lists: Checklists, options: Options) -> Evaluator:
    """An evaluator over ``setup`` with the checklists' conditions and parameters."""
    return Evaluator(Context(
        document=setup.data, params={**lists.params, **options.params},
        conditions=lists.conditions, as_of=options.as_of,
        redactor=Redactor(setup.secrets(), options.show_account_ids,
                          document_is_clean=not (setup.credential_hits or setup.account_hits)),
        scans={"credentials": setup.credential_hits, "account_ids": setup.account_hits},
        # Facts from outside the setup, gathered by the pipeline: the engine does no I/O.
        probes=setup.probes,
    ), keep_evidence=options.keep_evidence, memoise=options.memoise)


def evaluate(setup: Setup, lists: Checklists, options: Options,
             checks: list[Check] | None = None) -> list[Finding]:
    """Findings for ``checks`` (default: all loaded), in checklist order."""
    evaluator = evaluator_for(setup, lists, options)
    selected = checks if checks is not None else lists.checks
    if any(r.startswith(ADVICE_FACTS) for c in selected for r in c.reads):
        # Interface checks compare the setup with the interface recommendation itself,
        # so a failing interface finding and the plan's "to add"/"to retire" always agree.
        from audit.advice.recommend import advice_facts

        evaluator.ctx.document = {**setup.data,
                                  ADVICE_FACTS[1:]: advice_facts(setup.data, evaluator, lists)}
    findings: list[Finding] = []
    for check in selected:
        findings.extend(_run(check, evaluator))
    return findings


def _decide(check: Check, evaluator: Evaluator
            ) -> tuple[Check, Status, tuple[Evidence, ...], str | None]:
    status, evidence, note = _verdict(check, evaluator)
    shown = check
    if status is not Status.SKIP and (check.severity_if or "{/" in check.remediation):
        shown, why = _in_context(check, evaluator)
        note = note or why
    if check.change is not None and evaluator.keep_evidence and len(evidence) > 1:
        evidence = _change_first(evaluator.ctx.pointer(check.change), evidence)
    return shown, status, evidence if evaluator.keep_evidence else (), note


def _in_context(check: Check, evaluator: Evaluator) -> tuple[Check, str | None]:
    """The check as it applies here: context severity and remediation with real names."""
    shown, why = check, None
    for rule in check.severity_if or ():
        if evaluator.eval(rule["when"]).value is True:
            severity = Severity(rule["severity"])
            if severity is not check.severity:
                shown = replace(shown, severity=severity)
                why = f"severity {severity.value} here: {rule['reason']}"
            break
    if "{/" in check.remediation:
        shown = replace(shown, remediation=_fill(check.remediation, evaluator))
    return shown, why


_PLACEHOLDER = re.compile(r"\{(/[^{}|]*)\|([^{}]*)\}")


def _fill(text: str, evaluator: Evaluator) -> str:
    """``{/pointer|FALLBACK}`` → the declared value (redacted), or FALLBACK when missing."""
    def one(match: re.Match[str]) -> str:
        value = resolve(evaluator.ctx.document, evaluator.ctx.pointer(match.group(1)))
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(evaluator.ctx.redactor.text(str(value)))
        return match.group(2)

    return _PLACEHOLDER.sub(one, text)


def _change_first(pointer: str, evidence: tuple[Evidence, ...]) -> tuple[Evidence, ...]:
    """The fact to change leads the evidence (it becomes the SARIF region)."""
    def leads(e: Evidence) -> bool:
        return e.pointer == pointer or e.pointer.startswith(pointer + "/")

    if leads(evidence[0]):
        return evidence
    return tuple(sorted(evidence, key=lambda e: not leads(e)))


def _setup_facts(evidence: tuple[Evidence, ...], evaluator: Evaluator) -> tuple[Evidence, ...]:
    """Evidence about computed advice facts is shown as the goals they come from."""
    kept = tuple(e for e in evidence if not e.pointer.startswith(ADVICE_FACTS))
    if len(kept) == len(evidence):
        return evidence
    advice = resolve(evaluator.ctx.document, ADVICE_FACTS)
    called = (advice.get("interfaces") if isinstance(advice, dict) else None)
    goals = resolve(evaluator.ctx.document, "/profile/goals")
    shown = evaluator._ev("/profile/goals", None if goals is MISSING else goals,
                          "goals that call for: " + ", ".join(called) if called
                          else "goals that determine an interface recommendation")
    return (*kept, shown) if evaluator.keep_evidence else ()


def _verdict(check: Check, evaluator: Evaluator) -> tuple[Status, tuple[Evidence, ...], str | None]:
    applied: tuple[Evidence, ...] = ()
    if check.applies_if is not None:
        applies = evaluator.eval(check.applies_if)
        if applies.value is False:
            return Status.SKIP, _setup_facts(applies.evidence, evaluator), ("does not apply to "
                                                                         "this setup")
        if applies.value is None:
            return (Status.MANUAL, _setup_facts(applies.evidence, evaluator),
                    "cannot tell whether this applies: declare the facts it reads")
        applied = applies.evidence
    outcome: Outcome = evaluator.eval(check.pass_if)
    note = "declare the missing facts, or check by hand" if outcome.value is None else None
    if not applied or not evaluator.keep_evidence:
        return _status(outcome.value), outcome.evidence, note
    # The facts that made the check apply are evidence too (computed advice facts are not).
    seen = {e.pointer for e in outcome.evidence}
    extra = tuple(e for e in applied if e.pointer and e.pointer not in seen
                  and not e.pointer.startswith(ADVICE_FACTS))
    return _status(outcome.value), outcome.evidence + extra, note


def _kept(evaluator: Evaluator, *evidence: Evidence) -> tuple[Evidence, ...]:
    return evidence if evaluator.keep_evidence else ()


def _run(check: Check, evaluator: Evaluator) -> list[Finding]:
    if "$observed" not in evaluator.ctx.document and any(
            r.startswith("/$observed/") for r in check.reads):
        # Checks on observed facts run only with --probe or --scan-code; like the
        # config-file checks, their evidence then stays inside the setup file.
        shown = Evidence("", "nothing observed on this run", "--probe or --scan-code")
        return [Finding(check, Status.SKIP, _kept(evaluator, shown),
                        "run with --probe --device NAME or --scan-code PATH")]
    if check.for_each is None:
        return [Finding(*_decide(check, evaluator))]
    items = resolve(evaluator.ctx.document, check.for_each)
    if items is MISSING and check.for_each.startswith("/$files/"):
        # Configuration-file checks run only on files given on the command line; the
        # pointer stays inside the setup file, where evidence pointers always are.
        shown = Evidence("", "no such file given", "a file given on the command line")
        return [Finding(check, Status.SKIP, _kept(evaluator, shown),
                        "give the file with --ibc, --jts or --gateway-conf")]
    if items is MISSING or not isinstance(items, list):
        # The check that asks for the list itself (e.g. DEV-001) reports it as manual;
        # repeating that for every per-item check would bury it.
        shown = Evidence(check.for_each, None, "declared")
        return [Finding(check, Status.SKIP, _kept(evaluator, shown), "nothing declared to check")]
    if not items:
        shown = Evidence(check.for_each, [], "at least one item")
        return [Finding(check, Status.SKIP, _kept(evaluator, shown), "no items declared")]
    findings = []
    for index, item in enumerate(items):
        pointer = join(check.for_each, index)
        label = next((item[k] for k in ("name", "check", "method", "file")
                      if isinstance(item, dict) and isinstance(item.get(k), str)), None)
        evaluator.ctx.items.append(pointer)
        try:
            shown_check, status, evidence, note = _decide(check, evaluator)
        finally:
            evaluator.ctx.items.pop()
        findings.append(Finding(shown_check, status, evidence, note, pointer,
                                evaluator.ctx.redactor.value(label) if isinstance(label, str)
                                else None))
    return findings
