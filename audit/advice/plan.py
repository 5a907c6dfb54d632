"""The staged migration plan: each stage gated by checks, with a computed state."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

from audit.advice.data import Advice
from audit.advice.recommend import Recommendation, worst_status
from audit.engine.checklist import Checklists
from audit.engine.conditions import Evaluator
from audit.engine.evaluate import Options, evaluate, evaluator_for
from audit.loading import Setup
from audit.model import Check, Finding, Severity
from audit.pointer import split

SATISFIED = {"pass", "skip", "waived"}


@dataclass(frozen=True)
class Blocker:
    id: str
    title: str
    status: str
    severity: str
    remediation: str


@dataclass(frozen=True)
class StageResult:
    stage: int
    name: str
    purpose: str
    interfaces: tuple[str, ...]
    status: str  # done | ready | in_progress | blocked | not_needed
    gates: tuple[tuple[str, str], ...]  # (check id, worst status)
    blocking: tuple[Blocker, ...]
    note: str
    next_steps: tuple[str, ...]
    strategies: tuple[str, ...] = ()


def _assumed(setup: Setup, assume: dict[str, Any]) -> Setup:
    """A copy of ``setup`` with ``assume`` applied (intermediate objects created)."""
    data = copy.deepcopy(setup.data)
    for pointer, value in assume.items():
        *parents, last = split(pointer)
        node = data
        for token in parents:
            node = node.setdefault(token, {})
        node[last] = value
    return replace(setup, data=data)


def build_plan(setup: Setup, lists: Checklists, options: Options, advice: Advice,
               rec: Recommendation, findings: list[Finding]) -> list[StageResult]:
    by_id = lists.by_id()
    used = set(rec.current)
    declared = setup.data.get("profile", {}).get("strategies", [])
    evaluator = evaluator_for(setup, lists, options)
    params = {**lists.params, **options.params}
    results: list[StageResult] = []
    earlier_blocked: list[int] = []
    for stage in advice.stages:
        interfaces = tuple(stage["interfaces"])
        strategies = tuple(s for s in stage.get("strategies_needing", []) if s in declared)
        needed = stage.get("needs_recommended")
        if needed and rec.determined and needed not in rec.interfaces:
            results.append(StageResult(
                stage["stage"], stage["name"], stage["purpose"], interfaces, "not_needed", (), (),
                f"Not needed: the recommendation for your goals ({rec.summary}) does not include "
                f"{needed.upper() if needed == 'tws' else needed}. Stop at the previous stage.",
                ()))
            continue
        gate_checks = [by_id[cid] for cid in stage["gates"]]
        assume: dict[str, Any] | None = stage.get("assume")
        if assume and "assume_when" in stage and evaluator.eval(stage["assume_when"]).value \
                is not True:
            assume = None
        paper: dict[str, Any] = stage.get("paper") or {}
        in_paper = bool(paper) and evaluator.eval(paper["when"]).value is True
        if in_paper:
            assume = paper["assume"]
        if assume:
            gate_findings = evaluate(_assumed(setup, assume), lists, options, gate_checks)
            # A what-if cannot settle the fact a gate asks you to declare (AUTO-000 asks
            # whether automation runs; the what-if assumes it): keep the real finding.
            settled = {f.id for f in findings if f.status.value in ("manual", "fail")
                       and _asks_for(f.check, assume)}
            gate_findings = [f for f in gate_findings if f.id not in settled] + [
                f for f in findings if f.id in settled]
        else:
            gate_findings = [f for f in findings if f.id in stage["gates"]]
        gates = tuple((cid, worst_status(gate_findings, cid)) for cid in stage["gates"])
        blocking = [
            Blocker(cid, by_id[cid].title, status, _severity(gate_findings, cid, by_id),
                    _remediation(gate_findings, cid, by_id))
            for cid, status in gates if status not in SATISFIED]
        blocking.sort(key=lambda b: (-Severity(b.severity).rank, stage["gates"].index(b.id)))
        if not rec.determined and needed:
            blocking.insert(0, Blocker("-", "The interface recommendation is undetermined",
                                       "manual", "info",
                                       "Declare your goals (profile.goals) so the plan can tell "
                                       "whether you need this stage."))
        # A running automation's stage is in use whatever profile.interfaces says.
        switched_on = _switched_on(stage, evaluator) and (
            "assume_when" in stage or all(i in used for i in interfaces))
        notes = []
        if in_paper:
            notes.append(_progress(setup, paper, params))
            if blocking:
                notes.append("Before going live, these must pass (judged as if live today):")
        elif switched_on and blocking:
            notes.append("You already run this stage: its failing gates come before anything "
                         "else.")
        elif earlier_blocked and not switched_on:
            notes.append(f"Finish stage {earlier_blocked[0]} first.")
        elif earlier_blocked:
            failing_ids = ", ".join(b.id for r in results if r.stage == earlier_blocked[0]
                                    for b in r.blocking)
            notes.append(f"You already run this stage, but it relies on stage "
                         f"{earlier_blocked[0]}, whose gates fail ({failing_ids}): not done "
                         "until they pass.")
        if assume and not in_paper:
            notes.append("Gates are evaluated as if this stage were switched on today.")
        if in_paper:
            status = "in_progress"
        elif blocking or earlier_blocked:
            status = "blocked"
            earlier_blocked.append(stage["stage"])
        elif switched_on:
            status = "done"
        else:
            status = "ready"
        results.append(StageResult(stage["stage"], stage["name"], stage["purpose"], interfaces,
                                   status, gates, tuple(blocking), " ".join(n for n in notes if n),
                                   tuple(stage.get("next_steps", [])), strategies))
    return results


def _asks_for(check: Check, assume: dict[str, Any]) -> bool:
    """Whether ``check`` only asks for a fact that ``assume`` sets."""
    tree = check.pass_if
    return isinstance(tree, dict) and tree.get("fact") in assume and "declared" in tree


def _severity(found: list[Finding], cid: str, by_id: dict[str, Check]) -> str:
    """The context severity of the gate's worst finding (its checklist severity otherwise)."""
    ranks = [f.severity for f in found if f.id == cid and f.status.value not in SATISFIED]
    return max(ranks, key=lambda s: s.rank).value if ranks else by_id[cid].severity.value


def _remediation(found: list[Finding], cid: str, by_id: dict[str, Check]) -> str:
    """The remediation with real names filled in, as the finding carries it."""
    return next((f.check.remediation for f in found if f.id == cid), by_id[cid].remediation)


def _progress(setup: Setup, paper: dict[str, Any], params: dict[str, Any]) -> str:
    """E.g. "In paper trading: 12 of 30 days." (progress, not a failure)."""
    from audit.pointer import MISSING, resolve

    spec = paper.get("progress")
    if not spec:
        return "In paper trading."
    done = resolve(setup.data, spec["fact"])
    target = params.get(spec["of"])
    shown = "?" if done is MISSING else str(done)
    return f"In paper trading: {shown} of {target} {spec['unit']}."


def _switched_on(stage: dict[str, Any], evaluator: Evaluator) -> bool:
    """A what-if stage is only done once it is really switched on (e.g. automation runs)."""
    if "assume_when" in stage:
        return evaluator.eval(stage["assume_when"]).value is False
    from audit.pointer import resolve

    return all(resolve(evaluator.ctx.document, p) == v
               for p, v in stage.get("assume", {}).items())
