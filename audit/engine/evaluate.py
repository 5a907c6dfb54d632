"""Run every selected check against one setup and produce findings."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from audit.engine.checklist import Checklists
from audit.engine.conditions import Context, Evaluator, Outcome, Truth
from audit.loading import Setup
from audit.model import Check, Evidence, Finding, Severity, Status
from audit.pointer import MISSING, resolve
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
    # Conditions compiled into closures (same findings; off only to compare with the
    # node-by-node interpreter, the reference).
    compiled: bool = True


ADVICE_FACTS = "/$advice"  # computed facts: the interface recommendation for this setup


_STATUS = {True: Status.PASS, False: Status.FAIL, None: Status.MANUAL}


def _status(value: bool | None) -> Status:
    return _STATUS[value]


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
    ), keep_evidence=options.keep_evidence, memoise=options.memoise, compiled=options.compiled)


class _Plan:
    """What a check needs at run time, worked out once per check and checklist set."""

    __slots__ = ("applies", "applies_truth", "change", "check", "for_each", "in_context",
                 "observed_only", "passes", "passes_truth", "reads_advice", "shown")

    def __init__(self, check: Check, evaluator: Evaluator) -> None:
        self.check = check
        self.for_each = check.for_each
        self.change = check.change
        # Checks on observed facts run only with --probe or --scan-code.
        self.observed_only = any(r.startswith("/$observed/") for r in check.reads)
        self.reads_advice = any(r.startswith(ADVICE_FACTS) for r in check.reads)
        self.in_context = bool(check.severity_if or "{/" in check.remediation)
        self.shown: dict[tuple[Severity, str], Check] = {}
        program = evaluator.program
        applies, passes = check.applies_if, check.pass_if
        self.applies: Callable[[Evaluator], Outcome] | None = None
        self.applies_truth: Callable[[Evaluator], Truth] | None = None
        if program is not None:
            if applies is not None:
                self.applies = program.outcome(applies)
                self.applies_truth = program.truth(applies)
            self.passes = program.outcome(passes)
            self.passes_truth = program.truth(passes)
        else:  # the reference: node by node
            if applies is not None:
                self.applies = lambda ev: ev.interpret(applies)
                self.applies_truth = lambda ev: ev.interpret(applies).value
            self.passes = lambda ev: ev.interpret(passes)
            self.passes_truth = lambda ev: ev.interpret(passes).value


def _plans(checks: list[Check], evaluator: Evaluator) -> tuple[list[_Plan], bool]:
    """The checks' plans, and whether any reads the computed advice facts.

    Kept with the compiled program (for the same list of checks, e.g. a fleet's, the
    same list of plans); made afresh for the reference interpreter.
    """
    program = evaluator.program
    if program is None:
        plans = [_Plan(check, evaluator) for check in checks]
        return plans, any(plan.reads_advice for plan in plans)
    known = program.plan_lists.get(id(checks))
    if known is not None and known[0] == tuple(checks):  # the same checks, in order
        cached: tuple[list[_Plan], bool] = known[1]
        return cached
    plans = []
    for check in checks:
        found = program.plans.get(id(check))
        if found is None or found[0] is not check:
            found = program.plans[id(check)] = (check, _Plan(check, evaluator))
        plans.append(found[1])
    result = plans, any(plan.reads_advice for plan in plans)
    if len(program.plan_lists) < PLAN_LISTS_KEPT:  # a caller may make a list per call
        program.plan_lists[id(checks)] = (tuple(checks), result)
    return result


PLAN_LISTS_KEPT = 32


def evaluate(setup: Setup, lists: Checklists, options: Options,
             checks: list[Check] | None = None) -> list[Finding]:
    """Findings for ``checks`` (default: all loaded), in checklist order."""
    evaluator = evaluator_for(setup, lists, options)
    plans, reads_advice = _plans(checks if checks is not None else lists.checks, evaluator)
    if reads_advice:
        # Interface checks compare the setup with the interface recommendation itself,
        # so a failing interface finding and the plan's "to add"/"to retire" always agree.
        from audit.advice.recommend import advice_facts

        evaluator.ctx.document = {**setup.data,
                                  ADVICE_FACTS[1:]: advice_facts(setup.data, evaluator, lists)}
    findings: list[Finding] = []
    observed = "$observed" in evaluator.ctx.document
    run = _run if evaluator.keep_evidence else _run_values
    for plan in plans:
        run(plan, evaluator, findings, observed)
    return findings


def _decide(plan: _Plan, evaluator: Evaluator
            ) -> tuple[Check, Status, tuple[Evidence, ...], str | None]:
    check = plan.check
    status, evidence, note = _verdict(plan, evaluator)
    shown = check
    if plan.in_context and status is not Status.SKIP:
        shown, why = _in_context(plan, evaluator)
        note = note or why
    if plan.change is not None and len(evidence) > 1:
        evidence = _change_first(evaluator.ctx.pointer(plan.change), evidence)
    return shown, status, evidence, note


def _decide_alone(plan: _Plan, evaluator: Evaluator) -> tuple[Check, Status, str | None]:
    """:func:`_decide` without evidence (runs that show none): values only."""
    check = plan.check
    note: str | None
    if plan.applies_truth is not None:
        applies = plan.applies_truth(evaluator)
        if applies is False:
            return check, Status.SKIP, _NOT_APPLICABLE
        if applies is None:
            status, note = Status.MANUAL, _CANNOT_TELL
        else:
            value = plan.passes_truth(evaluator)
            status, note = _STATUS[value], _UNKNOWN if value is None else None
    else:
        value = plan.passes_truth(evaluator)
        status, note = _STATUS[value], _UNKNOWN if value is None else None
    if plan.in_context:
        shown, why = _in_context(plan, evaluator)
        return shown, status, note or why
    return check, status, note


def _in_context(plan: _Plan, evaluator: Evaluator) -> tuple[Check, str | None]:
    """The check as it applies here: context severity and remediation with real names."""
    check = plan.check
    severity, why = check.severity, None
    for rule in check.severity_if or ():
        if evaluator.truth(rule["when"]) is True:
            wanted = Severity(rule["severity"])
            if wanted is not check.severity:
                severity = wanted
                why = f"severity {wanted.value} here: {rule['reason']}"
            break
    remediation = check.remediation
    if "{/" in remediation:
        remediation = _fill(remediation, evaluator)
    if severity is check.severity and remediation == check.remediation:
        return check, why
    # The same context recurs across setups (a fleet): its copy of the check is kept.
    key = (severity, remediation)
    shown = plan.shown.get(key)
    if shown is None:
        shown = replace(check, severity=severity, remediation=remediation)
        if len(plan.shown) < SHOWN_KEPT:
            plan.shown[key] = shown
    return shown, why


# Copies of one check kept for the contexts it was shown in (severity, remediation).
SHOWN_KEPT = 64


_PLACEHOLDER = re.compile(r"\{(/[^{}|]*)\|([^{}]*)\}")


def _fill(text: str, evaluator: Evaluator) -> str:
    """``{/pointer|FALLBACK}`` → the declared value (redacted), or FALLBACK when missing."""
    def one(match: re.Match[str]) -> str:
        value = resolve(evaluator.ctx.document, evaluator.ctx.pointer(match.group(1)))
        if isinstance(value, str | int) and not isinstance(value, bool):
            # value(), not text(): a whole value that is a secret is hidden even when
            # it is too short to be searched for inside text (a four-digit PIN).
            return str(evaluator.ctx.redactor.value(value))
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


_NOT_APPLICABLE = "does not apply to this setup"
_CANNOT_TELL = "cannot tell whether this applies: declare the facts it reads"
_UNKNOWN = "declare the missing facts, or check by hand"


def _verdict(plan: _Plan, evaluator: Evaluator
             ) -> tuple[Status, tuple[Evidence, ...], str | None]:
    applied: tuple[Evidence, ...] = ()
    if plan.applies is not None:
        applies = plan.applies(evaluator)
        if applies.value is False:
            return Status.SKIP, _setup_facts(applies.evidence, evaluator), _NOT_APPLICABLE
        if applies.value is None:
            return Status.MANUAL, _setup_facts(applies.evidence, evaluator), _CANNOT_TELL
        applied = applies.evidence
    outcome: Outcome = plan.passes(evaluator)
    note = _UNKNOWN if outcome.value is None else None
    if not applied:
        return _STATUS[outcome.value], outcome.evidence, note
    # The facts that made the check apply are evidence too (computed advice facts are not).
    seen = {e.pointer for e in outcome.evidence}
    extra = tuple(e for e in applied if e.pointer and e.pointer not in seen
                  and not e.pointer.startswith(ADVICE_FACTS))
    return _STATUS[outcome.value], outcome.evidence + extra, note


def _kept(evaluator: Evaluator, *evidence: Evidence) -> tuple[Evidence, ...]:
    return evidence if evaluator.keep_evidence else ()


_LABELS = ("name", "check", "method", "file")


def _label(item: Any, redact: Callable[[Any], Any]) -> Any:
    """What a per-item finding is called: the item's first name-like string, redacted."""
    if isinstance(item, dict):
        for key in _LABELS:
            value = item.get(key)
            if isinstance(value, str):
                return redact(value)
    return None


def _run(plan: _Plan, evaluator: Evaluator, findings: list[Finding], observed: bool) -> None:
    check = plan.check
    if plan.observed_only and not observed:
        # Checks on observed facts run only with --probe or --scan-code; like the
        # config-file checks, their evidence then stays inside the setup file.
        shown = Evidence("", "nothing observed on this run", "--probe or --scan-code")
        findings.append(Finding(check, Status.SKIP, _kept(evaluator, shown),
                                _NOTHING_OBSERVED))
        return
    for_each = plan.for_each
    if for_each is None:
        findings.append(Finding(*_decide(plan, evaluator)))
        return
    ctx = evaluator.ctx
    items = resolve(ctx.document, for_each)
    if items is MISSING and for_each.startswith("/$files/"):
        # Configuration-file checks run only on files given on the command line; the
        # pointer stays inside the setup file, where evidence pointers always are.
        shown = Evidence("", "no such file given", "a file given on the command line")
        findings.append(Finding(check, Status.SKIP, _kept(evaluator, shown),
                                _NO_FILE))
        return
    if items is MISSING or not isinstance(items, list):
        # The check that asks for the list itself (e.g. DEV-001) reports it as manual;
        # repeating that for every per-item check would bury it.
        shown = Evidence(for_each, None, "declared")
        findings.append(Finding(check, Status.SKIP, _kept(evaluator, shown),
                                _NOTHING_DECLARED))
        return
    if not items:
        shown = Evidence(for_each, [], "at least one item")
        findings.append(Finding(check, Status.SKIP, _kept(evaluator, shown),
                                _NO_ITEMS))
        return
    redact = ctx.redactor.value
    for index, item in enumerate(items):
        pointer = f"{for_each}/{index}"  # join(for_each, index)
        label = _label(item, redact)
        ctx.push(pointer, item)
        try:
            shown_check, status, evidence, note = _decide(plan, evaluator)
        finally:
            ctx.pop()
        findings.append(Finding(shown_check, status, evidence, note, pointer, label))


_NOTHING_OBSERVED = "run with --probe --device NAME or --scan-code PATH"
_NO_FILE = "give the file with --ibc, --jts or --gateway-conf"
_NOTHING_DECLARED = "nothing declared to check"
_NO_ITEMS = "no items declared"


def _run_values(plan: _Plan, evaluator: Evaluator, findings: list[Finding],
                observed: bool) -> None:
    """:func:`_run` for runs without evidence: the same findings, evidence empty."""
    check = plan.check
    if plan.observed_only and not observed:
        findings.append(Finding(check, Status.SKIP, (), _NOTHING_OBSERVED))
        return
    for_each = plan.for_each
    if for_each is None:
        shown, status, note = _decide_alone(plan, evaluator)
        findings.append(Finding(shown, status, (), note))
        return
    ctx = evaluator.ctx
    items = resolve(ctx.document, for_each)
    if not isinstance(items, list) or not items:
        note = (_NO_FILE if items is MISSING and for_each.startswith("/$files/")
                else _NOTHING_DECLARED if items is MISSING or not isinstance(items, list)
                else _NO_ITEMS)
        findings.append(Finding(check, Status.SKIP, (), note))
        return
    redact = ctx.redactor.value
    for index, item in enumerate(items):
        pointer = f"{for_each}/{index}"  # join(for_each, index)
        label = _label(item, redact)
        ctx.push(pointer, item)
        try:
            shown, status, note = _decide_alone(plan, evaluator)
        finally:
            ctx.pop()
        findings.append(Finding(shown, status, (), note, pointer, label))
