"""The ten situations of issue 15, each pinned through check, plan and remediate.

Every situation is a setup of its own (a bundled example patched by JSON pointer),
run through the CLI as a user would, in JSON (parsed back) and in text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.conftest import AS_OF, EXAMPLES, invoke, load_example, patched
from tests.strategies import valid_setups

SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
LOW = {"strategy_complexity": "low", "execution_sensitivity": "low",
       "operational_tolerance": "low"}
CASH = {"stocks": True, "options_level": 0, "futures": False, "forex": False, "margin": "cash"}


class Views:
    """One setup seen through every view: check, plan and remediate, JSON and text."""

    def __init__(self, path: Path, *extra: str) -> None:
        def run(*args: str) -> Any:
            return invoke(*args, str(path), "--as-of", AS_OF, *extra)

        self.check_run = run("check", "-f", "json")
        self.check = json.loads(self.check_run.stdout)
        self.check_text = run("check").stdout
        self.plan_run = run("plan", "-f", "json")
        self.plan = json.loads(self.plan_run.stdout)
        self.plan_text = run("plan").stdout
        self.remediate = json.loads(run("remediate", "-f", "json").stdout)
        self.todo = run("remediate").stdout

    def finding(self, check_id: str) -> dict[str, Any]:
        found = [f for f in self.check["findings"] if f["id"] == check_id]
        assert len(found) == 1, found
        return found[0]

    def status(self, check_id: str) -> str:
        return str(self.finding(check_id)["status"])

    def stage(self, number: int) -> dict[str, Any]:
        return next(s for s in self.plan["stages"] if s["stage"] == number)

    def task(self, check_id: str) -> dict[str, Any]:
        return next(t for t in self.remediate["tasks"] if t["id"] == check_id)

    def task_ids(self) -> list[str]:
        return [t["id"] for t in self.remediate["tasks"]]


def views(tmp_path: Path, base: str, set_: dict[str, Any] | None = None,
          remove: list[str] | None = None, *extra: str) -> Views:
    path = tmp_path / "setup.json"
    path.write_text(json.dumps(patched(load_example(base), set_, remove), indent=2))
    return Views(path, *extra)


def _prerequisites() -> list[dict[str, Any]]:
    from audit.advice import data
    from audit.engine import checklist

    return list(data.load(checklist.load()).prerequisites)


def assert_next_step_rule(findings: list[tuple[str, str, str]], urgent: list[str],
                          step: dict[str, Any] | None) -> None:
    """The shared rule (docs/advice.md): the first urgent item; else a worst failure or a
    failing/unknown prerequisite it waits on; else the worst unknown; else None."""
    failing = [(i, sev) for i, sev, st in findings if st == "fail"]
    manual = [(i, sev) for i, sev, st in findings if st == "manual"]
    if urgent:
        assert step is not None and step["id"] == urgent[0]
    elif failing:
        worst = max(SEVERITY_RANK[sev] for _i, sev in failing)
        worst_ids = {i for i, sev in failing if SEVERITY_RANK[sev] == worst}
        waits = {cid for rule in _prerequisites() if worst_ids & set(rule["checks"])
                 for cid in rule["first"]}
        assert step is not None
        assert step["id"] in worst_ids or (
            step["id"] in waits and step["status"] in ("fail", "manual")), (step, worst_ids)
    elif manual:
        worst = max(SEVERITY_RANK[sev] for _i, sev in manual)
        assert step is not None and step["status"] == "manual"
        assert SEVERITY_RANK[step["severity"]] == worst
    else:
        assert step is None


def assert_worst_first(v: Views) -> None:
    step = v.plan["next_step"]
    assert step is not None
    assert_next_step_rule([(f["id"], f["severity"], f["status"]) for f in v.check["findings"]],
                          [u["id"] for u in v.plan["urgent"]], step)
    assert v.remediate["tasks"][0]["id"] == step["id"]  # remediate agrees with plan


# 1. A live script with no safeguards is told to stop, first.
def test_1_live_script_without_safeguards_is_urgent(tmp_path: Path) -> None:
    v = views(tmp_path, "secure", {
        "/automation/paper_trading": {"days": 0, "passed": False},
        "/automation/kill_switch": False, "/automation/anomaly_failsafe": "alert_only",
        "/automation/mode": "live", "/login/mfa/primary": "sms"})
    urgent = [u["id"] for u in v.plan["urgent"]]
    assert urgent[:1] == ["AUTO-001"] and {"AUTO-002", "AUTO-007"} <= set(urgent)
    assert all("pause it or return it to paper" in u["action"] for u in v.plan["urgent"])
    assert v.plan["next_step"]["id"] == "AUTO-001"
    assert v.plan["next_step"]["severity"] == "critical"
    assert_worst_first(v)
    stage3 = v.stage(3)
    assert "already run this stage" in stage3["note"]
    assert "Finish stage 0 first" not in stage3["note"]
    assert v.check_text.startswith("URGENT")
    assert v.plan_text.index("URGENT") < v.plan_text.index("RECOMMENDATION")
    assert v.todo.index("## Urgent") < v.todo.index("## First: the urgent items")
    assert v.check_run.exit_code == 1 and v.plan_run.exit_code == 1


def test_1_execution_algo_with_five_high_failures_starts_with_a_high_one(
        tmp_path: Path) -> None:
    v = views(tmp_path, "secure", {
        "/automation/purpose": "execution", "/automation/anomaly_failsafe": "none",
        "/automation/monitoring": {"alerts": False},
        "/automation/limits": {"max_orders_per_minute": 300, "max_order_notional": 2000000},
        "/automation/trusted_ips": ["10.0.0.0/8"], "/profile/account_entity": "IB UK"})
    assert v.status("ENT-001") == "fail"
    step = v.plan["next_step"]
    assert step["id"].startswith("AUTO-") and step["severity"] == "high"
    assert_worst_first(v)
    assert {"AUTO-005", "AUTO-006", "AUTO-007", "AUTO-008", "AUTO-010"} <= {
        u["id"] for u in v.plan["urgent"]}
    assert "NEXT STEP: AUTO-" in v.plan_text


# 2. Gates protect what every interface reaches: permissions and margin in stage 1.
def test_2_futures_hedger_on_web_without_futures_permission_is_not_done(
        tmp_path: Path) -> None:
    v = views(tmp_path, "secure", {
        "/profile/goals": {"strategy_complexity": "medium", "execution_sensitivity": "low",
                           "operational_tolerance": "low"},
        "/profile/strategies": ["equities", "futures_hedging"],
        "/profile/interfaces": ["mobile", "client_portal"], "/automation": {"enabled": False},
        "/permissions/futures": False, "/permissions/options_level": 0})
    assert v.status("PERM-003") == "fail"
    stage1 = v.stage(1)
    assert stage1["status"] == "blocked"
    assert "PERM-003" in [b["id"] for b in stage1["blocking"]]
    assert "Every stage you need is done" not in v.plan_text
    assert v.plan["next_step"]["id"] == "PERM-003"
    assert v.task("PERM-003")["stage"] == 1


def test_2_trust_on_reg_t_with_margin_alerts_off_blocks_stage_1(tmp_path: Path) -> None:
    v = views(tmp_path, "secure", {
        "/profile/account_type": "trust", "/profile/goals": LOW,
        "/profile/strategies": ["equities", "futures_hedging"],
        "/profile/interfaces": ["mobile", "client_portal"], "/automation": {"enabled": False},
        "/permissions/options_level": 0, "/risk/margin_alerts": False})
    stage1 = v.stage(1)
    assert stage1["status"] == "blocked" and stage1["blocking"][0]["id"] == "RISK-001"
    assert "all gates pass" not in v.plan_text.lower().split("stage 1")[1].split("\n")[0]
    assert v.plan["next_step"]["id"] == "RISK-001"


# 3. Safeguards before wider permissions, and the remediation says so.
def test_3_cash_account_expanding_gets_margin_safeguards_first(tmp_path: Path) -> None:
    v = views(tmp_path, "secure", {
        "/permissions": CASH, "/risk": {"margin_alerts": False},
        "/profile/strategies": ["equities", "multi_leg_options", "futures_hedging"]})
    assert v.status("RISK-004") == "fail"
    assert v.status("RISK-001") == "skip"  # no leverage yet: the old checks stay quiet
    ids = v.task_ids()
    assert ids.index("RISK-004") < ids.index("PERM-001") < ids.index("PERM-003")
    for perm in ("PERM-001", "PERM-003"):
        action = v.task(perm)["action"]
        assert action.startswith("First put the margin safeguards in place")
        assert "RISK-004" in action and "margin alerts" in action
    assert v.plan["next_step"]["id"] == "RISK-004"
    assert "RISK-004" in v.todo


# 4. A monitoring API is gated by read-only access, not by trading gates.
def test_4_monitoring_api_gets_the_read_only_gate(tmp_path: Path) -> None:
    v = views(tmp_path, "maya", {"/automation": {"enabled": False}})
    assert v.plan["recommendation"]["rule"] == "two_or_more_high"
    assert any("API for monitoring" in r for r in v.plan["recommendation"]["reasons"])
    gates = {g["id"]: g["status"] for g in v.stage(3)["gates"]}
    blocking = {b["id"] for b in v.stage(3)["blocking"]}
    assert gates["AUTO-009"] in ("fail", "manual") and "AUTO-009" in blocking
    assert not blocking & {"AUTO-001", "AUTO-002", "AUTO-005", "AUTO-006", "AUTO-007"}


def test_4_a_read_only_monitoring_script_has_no_trading_gates(tmp_path: Path) -> None:
    v = views(tmp_path, "secure", {"/automation/purpose": "monitoring",
                                   "/automation/read_only_api": True,
                                   "/automation/kill_switch": False,
                                   "/automation/limits": {}})
    for check_id in ("AUTO-001", "AUTO-002", "AUTO-005", "AUTO-006", "AUTO-007"):
        assert v.status(check_id) == "skip", check_id
    assert v.status("AUTO-009") == "pass"
    assert v.plan["urgent"] == []


def test_4_no_api_for_someone_who_automates_nothing(tmp_path: Path) -> None:
    v = views(tmp_path, "secure", {
        "/profile/goals": {"strategy_complexity": "high", "execution_sensitivity": "medium",
                           "operational_tolerance": "low"},
        "/profile/interfaces": ["mobile", "client_portal", "tws"],
        "/automation": {"enabled": False}})
    rec = v.plan["recommendation"]
    assert "api" not in rec["interfaces"] and "api" not in rec["to_add"]
    assert "To add: the API" not in v.plan_text
    assert v.stage(3)["status"] == "not_needed"


# 5. The interface advice never contradicts itself.
def test_5_all_low_with_a_rebalancing_bot_is_consistent(tmp_path: Path) -> None:
    v = views(tmp_path, "secure", {"/profile/goals": LOW,
                                   "/profile/interfaces": ["client_portal", "api"]})
    rec = v.plan["recommendation"]
    assert rec["rule"] == "automation_limited_complexity"
    assert rec["to_add"] == [] and rec["beyond"] == []
    failing = [f["id"] for f in v.check["findings"]
               if f["area"] == "interfaces" and f["status"] == "fail"]
    assert failing == []
    assert v.status("IFACE-003") == "skip"


def test_5_two_high_axes_with_tws_and_api_pass_every_interface_check(tmp_path: Path) -> None:
    v = views(tmp_path, "secure")
    assert v.status("IFACE-004") == "skip"
    assert not [f for f in v.check["findings"]
                if f["area"] == "interfaces" and f["status"] == "fail"]


def test_5_ibkr_desktop_is_in_the_accessible_family(tmp_path: Path) -> None:
    v = views(tmp_path, "secure", {"/profile/goals": LOW, "/automation": {"enabled": False},
                                   "/profile/interfaces": ["mobile", "client_portal",
                                                           "desktop"]})
    assert v.plan["recommendation"]["beyond"] == []
    assert v.status("IFACE-008") == "skip" and v.status("IFACE-003") == "pass"  # one task
    assert "Beyond what you need" not in v.plan_text


def test_5_multi_leg_at_medium_sensitivity_check_agrees_with_plan(tmp_path: Path) -> None:
    v = views(tmp_path, "secure", {
        "/profile/goals": {"strategy_complexity": "high", "execution_sensitivity": "medium",
                           "operational_tolerance": "low"},
        "/profile/interfaces": ["mobile", "client_portal", "api"]})
    assert "tws" in v.plan["recommendation"]["to_add"]
    assert v.status("IFACE-001") == "fail"
    assert "IFACE-001" in [m["id"] for m in v.plan["recommendation"]["mismatches"]]


# 6. The article's heuristics that were missing.
def test_6_execution_sensitivity_high_alone_calls_for_a_desktop_platform(
        tmp_path: Path) -> None:
    v = views(tmp_path, "secure", {
        "/profile/goals": {"strategy_complexity": "low", "execution_sensitivity": "high",
                           "operational_tolerance": "low"},
        "/profile/strategies": ["equities"], "/automation": {"enabled": False},
        "/profile/interfaces": ["mobile", "client_portal"]})
    rec = v.plan["recommendation"]
    assert "tws" in rec["interfaces"]
    assert any("desktop platform" in r for r in rec["reasons"])
    assert v.status("IFACE-007") == "fail"


def test_6_goals_that_contradict_the_strategies_are_a_finding(tmp_path: Path) -> None:
    v = views(tmp_path, "secure", {
        "/profile/goals": LOW, "/automation": {"enabled": False},
        "/profile/strategies": ["multi_leg_options", "futures_trading"],
        "/profile/interfaces": ["mobile"]})
    finding = v.finding("IFACE-009")
    assert finding["status"] == "fail"
    assert finding["evidence"][0]["pointer"] == "/profile/goals/strategy_complexity"
    assert any(c["id"] == "IFACE-009" for c in v.plan["recommendation"]["caveats"])
    assert "Check your goals" in v.plan_text


def test_6_low_operational_tolerance_while_running_tws_raises_severity(
        tmp_path: Path) -> None:
    v = views(tmp_path, "secure", {"/profile/goals": LOW, "/automation": {"enabled": False},
                                   "/profile/strategies": ["etfs"],
                                   "/permissions/margin": "cash",
                                   "/permissions/options_level": 0,
                                   "/permissions/futures": False})
    finding = v.finding("IFACE-003")  # all low: IFACE-003 carries the task, IFACE-008 skips
    assert finding["status"] == "fail" and finding["severity"] == "medium"
    assert v.status("IFACE-008") == "skip"
    assert set(v.plan["recommendation"]["beyond"]) == {"tws", "api"}


# 7. Evidence leads with the fact to change, and includes why the check applied.
@pytest.mark.parametrize("check_id, set_, first", [
    ("PERM-008", {"/permissions/forex": True}, "/permissions/forex"),
    ("PERM-007", {"/profile/strategies": ["equities"]}, "/permissions/futures"),
    ("LOGIN-003", {"/login/mfa/primary": "sms", "/login/backup_authenticators": []},
     "/login/mfa/primary"),
])
def test_7_first_evidence_is_the_fact_to_change(check_id: str, set_: dict[str, Any],
                                                first: str, tmp_path: Path) -> None:
    v = views(tmp_path, "secure", set_)
    finding = v.finding(check_id)
    assert finding["status"] == "fail"
    pointers = [e["pointer"] for e in finding["evidence"]]
    assert pointers[0] == first
    assert len(pointers) >= 2  # the facts that made it apply are there too
    assert v.task(check_id)["evidence"][0].startswith(first)
    sarif = json.loads(invoke("check", str(tmp_path / "setup.json"), "--as-of", AS_OF,
                              "-f", "sarif").stdout)
    result = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == check_id)
    line = result["locations"][0]["physicalLocation"]["region"]["startLine"]
    text = (tmp_path / "setup.json").read_text().splitlines()[line - 1]
    assert f'"{first.rsplit("/", 1)[1]}"' in text


# 8. Severity follows context, and explain says so.
def test_8_portfolio_margin_with_futures_and_spreads_raises_buffer_checks(
        tmp_path: Path) -> None:
    v = views(tmp_path, "secure", {"/permissions/margin": "portfolio_margin",
                                   "/risk/maintenance_buffer_pct": 0,
                                   "/risk/cross_asset_monitoring": False})
    for check_id in ("RISK-002", "RISK-003"):
        finding = v.finding(check_id)
        assert finding["status"] == "fail" and finding["severity"] == "high", check_id
    assert v.check_run.exit_code == 1
    reg_t = views(tmp_path, "secure", {"/risk/maintenance_buffer_pct": 0})
    assert reg_t.finding("RISK-002")["severity"] == "medium"
    explained = invoke("explain", "RISK-002")
    assert "Severity high instead when" in explained.stdout
    data = json.loads(invoke("explain", "RISK-002", "--format", "json").stdout)
    assert data["severity_in_context"][0]["severity"] == "high"
    assert data["applies_when"]


# 9. Actionable: kind-aware, where and verify in IBKR, real names, no false "done".
def test_9_a_vps_gets_no_screen_lock_advice(tmp_path: Path) -> None:
    v = views(tmp_path, "secure", {"/devices/0/kind": "vps", "/devices/0/screen_lock": False,
                                   "/devices/0/disk_encrypted": False})
    statuses = {f["status"] for f in v.check["findings"]
                if f["id"] == "DEV-006" and "/devices/0" in json.dumps(f["evidence"])}
    assert statuses == {"skip"}
    assert "DEV-006" not in v.task_ids()
    assert "encrypted volume" in v.task("DEV-005")["action"]


def test_9_every_task_says_where_and_how_to_verify_in_ibkr(tmp_path: Path) -> None:
    v = views(tmp_path, "secure", {"/login/backup_authenticators": [],
                                   "/profile/interfaces": ["client_portal", "mobile", "tws",
                                                           "api"],
                                   "/automation/credentials/storage": "env"})
    for task in v.remediate["tasks"]:
        assert task["where"], task["id"]
    login = v.task("LOGIN-002")
    assert login["where"].startswith("Client Portal")  # the first interface the user has
    assert "backup factor" in login["verify_in_ibkr"]
    assert "Verify in IBKR:" in v.todo
    keyring = v.task("AUTO-013")["action"]
    assert "--service ibkr-audit --username maya-api" in keyring
    assert "SERVICE" not in keyring and "USER" not in keyring


def test_9_plan_is_not_done_while_a_backup_is_untested(tmp_path: Path) -> None:
    v = views(tmp_path, "secure", {"/login/backup_authenticators/0/last_tested":
                                   "2025-06-15"})
    assert v.status("CAD-002") == "fail"
    assert "Every stage you need is done" not in v.plan_text
    assert v.plan["next_step"]["id"] == "CAD-002"
    assert v.stage(0)["status"] == "blocked"


def test_9_near_empty_setup_says_what_is_unknown_and_strict_fails(tmp_path: Path) -> None:
    v = views(tmp_path, "minimal")
    assert "including 2 critical" in v.check_text
    assert v.check_run.exit_code == 0
    assert "including 2 critical" in v.plan_text
    step = v.plan["next_step"]  # nothing failed: the first critical unknown, in JSON and text
    assert step["id"] == "LOGIN-001" and step["status"] == "manual"
    assert step["severity"] == "critical"
    # the NEXT STEP line wraps to the terminal: compare its words
    assert "LOGIN-001 (critical, unknown, stage 0)" in " ".join(
        v.plan_text.split("NEXT STEP:")[1].split())
    assert v.todo.index("LOGIN-001") < v.todo.index("LOGIN-002")
    assert "Every stage you need is done" not in v.plan_text
    strict = views(tmp_path, "minimal", None, None, "--strict")
    assert strict.check_run.exit_code == 1 and strict.plan_run.exit_code == 1


# 10. The setup can say where the trader is: paper mode is progress, not failure.
def test_10_paper_mode_is_progress(tmp_path: Path) -> None:
    v = Views(EXAMPLES / "maya.json")
    assert v.check_run.exit_code == 0 and v.plan_run.exit_code == 0
    assert v.status("AUTO-002") == "skip"
    stage3 = v.stage(3)
    assert stage3["status"] == "in_progress"
    assert "12 of 30 days" in stage3["note"]
    assert [b["id"] for b in stage3["blocking"]][:1] == ["AUTO-002"]  # before going live
    assert v.plan["urgent"] == []
    assert "[in_progress]" in v.plan_text and "Before going live" in v.plan_text
    live = Views(EXAMPLES / "maya-live.json")
    assert live.check_run.exit_code == 1
    assert [u["id"] for u in live.plan["urgent"]] == ["AUTO-002"]


# Invariants over every bundled example.
@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_invariants_over_bundled_examples(example: str) -> None:
    v = Views(EXAMPLES / example)
    failing = [f for f in v.check["findings"] if f["status"] == "fail"]
    step = v.plan["next_step"]
    assert_next_step_rule([(f["id"], f["severity"], f["status"]) for f in v.check["findings"]],
                          [u["id"] for u in v.plan["urgent"]], step)
    if step is not None:  # one order in every view
        assert v.remediate["tasks"][0]["id"] == step["id"]
        assert f"NEXT STEP: {step['id']} " in v.plan_text
    rec = v.plan["recommendation"]
    interface_failures = [f for f in failing if f["area"] == "interfaces"]
    assert bool(interface_failures) == bool(rec.get("to_add") or rec.get("beyond"))


# The same invariants on generated setups (any valid setup the schema allows).
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(doc=valid_setups)
def test_invariants_over_generated_setups(doc: dict[str, Any], tmp_path: Path) -> None:
    import datetime as dt

    from audit.advice.service import analyse
    from audit.engine import checklist
    from audit.engine.evaluate import Options
    from audit.loading import load_setup

    doc.pop("waivers", None)  # a waiver naming a made-up check is an input error, not advice
    path = tmp_path / "generated.json"
    path.write_text(json.dumps(doc))
    analysis = analyse(load_setup(str(path)), checklist.load(),
                       Options(as_of=dt.date.fromisoformat(AS_OF)))
    findings = analysis.report.findings
    failing = [f for f in findings if f.status.value == "fail"]
    step = analysis.next_step
    assert_next_step_rule([(f.id, f.severity.value, f.status.value) for f in findings],
                          [u.id for u in analysis.urgent],
                          None if step is None else {"id": step.id, "severity": step.severity,
                                                     "status": step.status})
    rec = analysis.recommendation
    interface_failures = [f for f in failing if f.check.area == "interfaces"]
    assert bool(interface_failures) == bool(rec.to_add or rec.beyond), (
        [f.id for f in interface_failures], rec.to_add, rec.beyond)
