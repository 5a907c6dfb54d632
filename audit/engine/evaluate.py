"""Run every selected check against one setup and produce findings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from audit.engine.checklist import Checklists
from audit.engine.conditions import Context, Evaluator, Outcome
from audit.loading import Setup
from audit.model import Check, Evidence, Finding, Status
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
    ), keep_evidence=options.keep_evidence)


def evaluate(setup: Setup, lists: Checklists, options: Options,
             checks: list[Check] | None = None) -> list[Finding]:
    """Findings for ``checks`` (default: all loaded), in checklist order."""
    evaluator = evaluator_for(setup, lists, options)
    findings: list[Finding] = []
    for check in checks if checks is not None else lists.checks:
        findings.extend(_run(check, evaluator))
    return findings


def _decide(check: Check, evaluator: Evaluator) -> tuple[Status, tuple[Evidence, ...], str | None]:
    status, evidence, note = _verdict(check, evaluator)
    return status, evidence if evaluator.keep_evidence else (), note


def _verdict(check: Check, evaluator: Evaluator) -> tuple[Status, tuple[Evidence, ...], str | None]:
    if check.applies_if is not None:
        applies = evaluator.eval(check.applies_if)
        if applies.value is False:
            return Status.SKIP, applies.evidence, "does not apply to this setup"
        if applies.value is None:
            return (Status.MANUAL, applies.evidence,
                    "cannot tell whether this applies: declare the facts it reads")
    outcome: Outcome = evaluator.eval(check.pass_if)
    note = "declare the missing facts, or check by hand" if outcome.value is None else None
    return _status(outcome.value), outcome.evidence, note


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
        return [Finding(check, *_decide(check, evaluator))]
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
            status, evidence, note = _decide(check, evaluator)
        finally:
            evaluator.ctx.items.pop()
        findings.append(Finding(check, status, evidence, note, pointer,
                                evaluator.ctx.redactor.value(label) if isinstance(label, str)
                                else None))
    return findings
