"""The staged migration plan: each stage gated by checks, with a computed state."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

from audit.advice.data import Advice
from audit.advice.recommend import Recommendation, worst_status
from audit.engine.checklist import Checklists
from audit.engine.evaluate import Options, evaluate
from audit.loading import Setup
from audit.model import Finding, Severity
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
    status: str  # done | ready | blocked | not_needed
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
        if stage.get("assume"):
            gate_findings = evaluate(_assumed(setup, stage["assume"]), lists, options, gate_checks)
        else:
            gate_findings = [f for f in findings if f.id in stage["gates"]]
        gates = tuple((cid, worst_status(gate_findings, cid)) for cid in stage["gates"])
        blocking = [
            Blocker(cid, by_id[cid].title, status, by_id[cid].severity.value,
                    by_id[cid].remediation)
            for cid, status in gates if status not in SATISFIED]
        blocking.sort(key=lambda b: (-Severity(b.severity).rank, b.id))
        if not rec.determined and needed:
            blocking.insert(0, Blocker("-", "The interface recommendation is undetermined",
                                       "manual", "info",
                                       "Declare your goals (profile.goals) so the plan can tell "
                                       "whether you need this stage."))
        notes = []
        if earlier_blocked:
            notes.append(f"Finish stage {earlier_blocked[0]} first.")
        if stage.get("assume"):
            notes.append("Gates are evaluated as if this stage were switched on today.")
        if blocking or earlier_blocked:
            status = "blocked"
            earlier_blocked.append(stage["stage"])
        elif all(i in used for i in interfaces) and _switched_on(stage, setup):
            status = "done"
        else:
            status = "ready"
        results.append(StageResult(stage["stage"], stage["name"], stage["purpose"], interfaces,
                                   status, gates, tuple(blocking), " ".join(notes),
                                   tuple(stage.get("next_steps", [])), strategies))
    return results


def _switched_on(stage: dict[str, Any], setup: Setup) -> bool:
    """A what-if stage is only done once what it assumed is really true."""
    from audit.pointer import resolve

    return all(resolve(setup.data, p) == v for p, v in stage.get("assume", {}).items())
