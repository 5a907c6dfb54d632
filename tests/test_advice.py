"""Interface recommendation, the staged plan, and the remediation checklist."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from audit.advice import data as advice_data
from audit.advice.service import analyse
from audit.engine import checklist
from audit.engine.evaluate import Options
from audit.errors import ChecklistError
from audit.loading import load_setup, validate
from tests.conftest import AS_OF, EXAMPLES, invoke, load_example, patched

LISTS = checklist.load()
OPTIONS = Options(as_of=dt.date.fromisoformat(AS_OF))


def _analyse(doc: dict[str, Any], tmp_path: Path) -> Any:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    return analyse(load_setup(str(path)), LISTS, OPTIONS)


def goals(c: str, e: str, o: str) -> dict[str, Any]:
    return {"/profile/goals": {"strategy_complexity": c, "execution_sensitivity": e,
                               "operational_tolerance": o}}


@pytest.mark.parametrize("name, set_, remove, rule, interfaces", [
    # Maya's rebalancer places orders: the API she needs is one that trades.
    ("maya: two axes high, a trading script", {}, [], "two_or_more_high_execution",
     ("tws", "api")),
    ("all three high", goals("high", "high", "high"), [], "two_or_more_high_execution",
     ("tws", "api")),
    ("two axes high, a read-only monitoring script",
     {"/automation/purpose": "monitoring", "/automation/read_only_api": True}, [],
     "two_or_more_high", ("tws", "api")),
    ("two axes high, no automation", {"/automation/enabled": False}, [], "two_or_more_high",
     ("tws", "api")),
    ("all low, no automation", {**goals("low", "low", "low"), "/automation/enabled": False},
     [], "all_low", ("client_portal", "mobile")),
    ("automation with limited complexity", goals("medium", "low", "low"), [],
     "automation_limited_complexity", ("api", "client_portal")),
    ("all low but automating: automation wins", goals("low", "low", "low"), [],
     "automation_limited_complexity", ("api", "client_portal")),
    ("blend: one axis high, multi-leg, no automation",
     {**goals("high", "medium", "low"), "/automation/enabled": False}, [], "blend",
     ("client_portal", "mobile", "tws")),
    ("blend with automation and high complexity", goals("high", "low", "medium"), [], "blend",
     ("client_portal", "mobile", "api")),
    ("two high known, third missing: still decided",
     {"/profile/goals": {"strategy_complexity": "high", "execution_sensitivity": "high"}}, [],
     "two_or_more_high_execution", ("tws", "api")),
])
def test_recommendation(name: str, set_: dict[str, Any], remove: list[str], rule: str,
                        interfaces: tuple[str, ...], tmp_path: Path) -> None:
    rec = _analyse(patched(load_example("maya"), set_, remove), tmp_path).recommendation
    assert rec.determined, name
    assert rec.rule == rule, name
    assert rec.interfaces == interfaces, name
    assert rec.reasons


def test_no_goals_says_what_is_missing(tmp_path: Path) -> None:
    rec = _analyse(patched(load_example("maya"), remove=["/profile/goals"]),
                   tmp_path).recommendation
    assert not rec.determined and rec.interfaces == ()
    assert set(rec.missing) == {"/profile/goals/strategy_complexity",
                                "/profile/goals/execution_sensitivity",
                                "/profile/goals/operational_tolerance"}


def test_costly_errors_name_what_applies(tmp_path: Path) -> None:
    rec = _analyse(load_example("maya-live"), tmp_path).recommendation
    ids = [e.id for e in rec.costly_errors]
    assert ids == ["multi_leg_fill", "runaway_automation", "cross_asset_margin_call",
                   "account_takeover"]
    runaway = next(e for e in rec.costly_errors if e.id == "runaway_automation")
    assert ("AUTO-002", "fail") in runaway.checks
    simple = patched(load_example("minimal"), {"/profile/strategies": ["etfs"]})
    assert [e.id for e in _analyse(simple, tmp_path).recommendation.costly_errors] == [
        "account_takeover"]


def test_maya_plan(tmp_path: Path) -> None:
    analysis = _analyse(load_example("maya"), tmp_path)
    status = {s.stage: s.status for s in analysis.stages}
    # Maya's script is in paper mode: stage 3 is in progress, judged "before going live".
    assert status == {0: "done", 1: "done", 2: "blocked", 3: "in_progress"}
    stage2 = analysis.stages[2]
    assert stage2.strategies == ("multi_leg_options", "futures_hedging")
    assert [b.id for b in stage2.blocking] == ["RISK-005"]
    stage3 = analysis.stages[3]
    assert [b.id for b in stage3.blocking] == ["AUTO-002", "AUTO-003"]
    assert "12 of 30 days" in stage3.note and "Before going live" in stage3.note
    assert analysis.urgent == []
    assert analysis.next_step is not None and analysis.next_step.id == "RISK-005"
    assert analysis.recommendation.to_add == ("tws", "api")
    assert analysis.recommendation.beyond == ()


def test_stage_3_uses_a_what_if_when_automation_is_off(tmp_path: Path) -> None:
    # Nothing automated: the recommended API is "for monitoring", so its gate is a
    # read-only connection, and no trading-only gate (kill switch, caps, paper days).
    off = patched(load_example("maya"), {"/automation": {"enabled": False}})
    stage3 = _analyse(off, tmp_path).stages[3]
    assert stage3.status == "blocked"
    blocking = {b.id for b in stage3.blocking}
    assert "AUTO-009" in blocking
    assert not blocking & {"AUTO-001", "AUTO-002", "AUTO-005", "AUTO-006", "AUTO-007"}
    undeclared = patched(load_example("maya"), remove=["/automation"])
    stage3 = _analyse(undeclared, tmp_path).stages[3]
    assert stage3.status == "blocked" and any(b.status == "manual" for b in stage3.blocking)


def test_secure_setup_plan_is_done(tmp_path: Path) -> None:
    stages = _analyse(load_example("secure"), tmp_path).stages
    assert [s.status for s in stages] == ["done", "done", "done", "done"]


def test_low_profile_stops_at_stage_1(tmp_path: Path) -> None:
    doc = patched(load_example("secure"), {**goals("low", "low", "low"),
                                           "/automation/enabled": False,
                                           "/profile/interfaces": ["mobile", "client_portal",
                                                                   "tws"]})
    analysis = _analyse(doc, tmp_path)
    assert [s.status for s in analysis.stages] == ["done", "done", "not_needed", "not_needed"]
    assert "does not include" in analysis.stages[2].note
    assert analysis.recommendation.beyond == ("tws",)


def test_blocked_stage_blocks_later_ones(tmp_path: Path) -> None:
    doc = patched(load_example("secure"), {"/login/mfa/enabled": False,
                                           "/profile/interfaces": ["mobile"]})
    analysis = _analyse(doc, tmp_path)
    stages = analysis.stages
    assert stages[0].status == "blocked" and stages[0].blocking[0].id == "LOGIN-001"
    assert all(s.status == "blocked" for s in stages[1:])
    assert "Finish stage 0 first." in stages[1].note
    assert [u.id for u in analysis.urgent] == ["LOGIN-001"]


def test_plan_cli_formats() -> None:
    run = invoke("plan", str(EXAMPLES / "maya.json"), "--as-of", AS_OF, "-f", "json")
    assert run.exit_code == 0  # paper mode: doing what the article advises is not a failure
    data = json.loads(run.stdout)
    assert set(data["recommendation"]) >= {"interfaces", "rule", "reasons"}
    assert data["recommendation"]["interfaces"] == ["tws", "api"]
    for stage in data["stages"]:
        assert set(stage) >= {"stage", "name", "interfaces", "status", "gates", "blocking"}
    assert [s["status"] for s in data["stages"]] == ["done", "done", "blocked", "in_progress"]
    assert data["urgent"] == [] and data["next_step"]["id"] == "RISK-005"
    text = invoke("plan", str(EXAMPLES / "maya.json"), "--as-of", AS_OF).stdout
    for phrase in ("Interface plan for Maya", "RECOMMENDATION: TWS", "COSTLIEST MISTAKES",
                   "[blocked]", "[in_progress]", "12 of 30 days", "AUTO-002",
                   "NEXT STEP: RISK-005 (medium, stage 2)"):
        assert phrase in text
    markdown = invoke("plan", str(EXAMPLES / "maya.json"), "--as-of", AS_OF, "-f",
                      "markdown").stdout
    assert "| 3. API automation | in_progress |" in markdown
    assert invoke("plan", str(EXAMPLES / "secure.json"), "--as-of", AS_OF).exit_code == 0


def test_remediate_orders_by_severity_then_stage(tmp_path: Path) -> None:
    run = invoke("remediate", str(EXAMPLES / "maya-live.json"), "--as-of", AS_OF, "-f", "json")
    data = json.loads(run.stdout)
    order = [(t["severity"], t["stage"], t["id"]) for t in data["tasks"]]
    assert order == [("high", 3, "AUTO-002"), ("medium", 2, "RISK-005"),
                     ("medium", 2, "IFACE-001"), ("medium", 3, "AUTO-003"),
                     ("low", 1, "IFACE-007"), ("low", 2, "IFACE-002"),
                     ("low", 3, "AUTO-012"), ("info", 3, "IFACE-005")]
    assert [u["id"] for u in data["urgent"]] == ["AUTO-002"]
    assert all(t["where"] for t in data["tasks"])
    out = tmp_path / "TODO.md"
    run = invoke("remediate", str(EXAMPLES / "maya-live.json"), "--as-of", AS_OF, "-o",
                 str(out))
    markdown = out.read_text()
    assert markdown.count("- [ ] ") == 8
    assert markdown.index("## Urgent") < markdown.index("## First: the urgent items")
    assert markdown.index("## First: the urgent items") < markdown.index("## Medium")
    assert markdown.count("## Medium") == 1  # one heading per group, in task order
    assert "`ibkr-audit explain AUTO-002`" in markdown
    assert markdown.index("AUTO-002") < markdown.index("IFACE-005")


def test_remediate_manual_findings_are_tasks(tmp_path: Path) -> None:
    run = invoke("remediate", str(EXAMPLES / "minimal.json"), "--as-of", AS_OF, "-f", "json")
    tasks = json.loads(run.stdout)["tasks"]
    assert tasks and all(t["status"] == "manual" for t in tasks)
    assert tasks[0]["severity"] == "critical"
    assert tasks[0]["action"].startswith("Declare the missing facts")


def test_advice_files_validate() -> None:
    from audit import _resources

    for name in advice_data.ADVICE_FILES:
        doc = json.loads((_resources.checklist_dir() / "advice" / name).read_text())
        assert validate(doc, "advice.schema.json") == []


def test_every_bundled_check_belongs_to_a_stage() -> None:
    from audit.advice.remediate import stage_of

    placed = stage_of(advice_data.load(LISTS))
    assert [c.id for c in LISTS.checks if c.id not in placed] == []


def test_bad_advice_data_is_a_checklist_error(tmp_path: Path) -> None:
    from audit import _resources

    src = _resources.checklist_dir() / "advice"
    for name in advice_data.ADVICE_FILES:
        (tmp_path / name).write_text((src / name).read_text())
    plan = json.loads((tmp_path / "plan.json").read_text())
    plan["stages"][0]["gates"].append("NOPE-001")
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    advice_data._read.cache_clear()
    with pytest.raises(ChecklistError, match="unknown check 'NOPE-001'"):
        advice_data.load(LISTS, tmp_path)
