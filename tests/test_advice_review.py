"""The expert review of issue 15's advice, pinned on the reviewer's own setups.

Each setup in tests/assets/rt15/ is one the reviewer ran; every test goes through
check, plan and remediate (JSON parsed back, and text) as a user would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import AS_OF, invoke

RT15 = Path(__file__).parent / "assets" / "rt15"


class Seen:
    """One reviewer setup through check, plan and remediate, JSON and text."""

    def __init__(self, name: str, *extra: str) -> None:
        path = str(RT15 / f"{name}.json")

        def run(*args: str) -> Any:
            return invoke(*args, path, "--as-of", AS_OF, *extra)

        self.check_run = run("check", "-f", "json")
        self.check = json.loads(self.check_run.stdout)
        self.check_text = run("check").stdout
        self.plan = json.loads(run("plan", "-f", "json").stdout)
        self.plan_text = run("plan").stdout
        self.remediate = json.loads(run("remediate", "-f", "json").stdout)
        self.todo = run("remediate").stdout

    def status(self, check_id: str) -> str:
        return str(next(f["status"] for f in self.check["findings"] if f["id"] == check_id))

    def stage(self, number: int) -> dict[str, Any]:
        return next(s for s in self.plan["stages"] if s["stage"] == number)

    def tasks(self) -> list[str]:
        return [t["id"] for t in self.remediate["tasks"]]

    def next_text(self) -> str:
        return self.plan_text.split("NEXT STEP: ", 1)[1]


def test_unknown_margin_safeguards_come_before_widening_permissions() -> None:
    s = Seen("cash_mobile")
    assert s.status("RISK-004") == "manual"
    assert {s.status("PERM-002"), s.status("PERM-003")} == {"fail"}
    step = s.plan["next_step"]
    assert step["id"] == "RISK-004" and step["status"] == "manual"
    assert step["action"].startswith("Declare the missing facts")
    assert s.next_text().startswith("RISK-004 (high, unknown, stage 1)")
    tasks = s.tasks()
    assert tasks[0] == "RISK-004"
    assert tasks.index("RISK-004") < tasks.index("PERM-002") < tasks.index("PERM-003")
    assert s.todo.index("RISK-004") < s.todo.index("PERM-002")
    # declared but off: the failing safeguard leads as well
    risky = Seen("cash_mobile_risk")
    assert risky.plan["next_step"]["id"] == "RISK-004"
    assert risky.tasks()[0] == "RISK-004"


def test_each_urgent_item_carries_the_action_of_its_own_kind() -> None:
    actions = {u["id"]: u["action"] for u in Seen("nomfa_live").plan["urgent"]}
    assert "pause it or return it to paper" in actions["AUTO-001"]
    assert "rotate" in actions["AUTO-011"] and "pause" not in actions["AUTO-011"]
    assert "two-factor" in actions["LOGIN-001"]
    vps = {u["id"]: u["action"] for u in Seen("vps_bot").plan["urgent"]}
    assert "Trusted IPs" in vps["AUTO-010"] and "pause" not in vps["AUTO-010"]
    monitor = {u["id"]: u["action"] for u in Seen("monitor_api").plan["urgent"]}
    assert "Read-Only API" in monitor["AUTO-009"] and "pause" not in monitor["AUTO-009"]


def test_urgent_order_is_live_bot_then_secrets_then_mfa_in_every_view() -> None:
    s = Seen("nomfa_live")
    urgent = [u["id"] for u in s.plan["urgent"]]
    assert urgent == ["AUTO-001", "AUTO-002", "AUTO-011", "LOGIN-001"]
    assert s.plan["next_step"]["id"] == "AUTO-001"
    assert s.tasks()[:4] == urgent
    check_block = s.check_text.split("\n\n", 1)[0]
    assert [check_block.index(f"! {i} ") for i in urgent] == sorted(
        check_block.index(f"! {i} ") for i in urgent)
    todo_block = s.todo.split("## Critical", 1)[0] if "## Critical" in s.todo else s.todo
    assert todo_block.index("AUTO-001") < todo_block.index("LOGIN-001")


def test_a_running_automation_stage_is_in_use_whatever_interfaces_say() -> None:
    s = Seen("maya-live")
    stage3 = s.stage(3)
    assert stage3["status"] == "blocked"
    assert "already run this stage" in stage3["note"]
    assert "Finish stage" not in stage3["note"]
    assert s.plan["urgent"][0]["id"] == "AUTO-002"


def test_a_live_execution_algo_is_recommended_a_trading_api() -> None:
    s = Seen("quant_live")
    rec = s.plan["recommendation"]
    assert rec["rule"] == "two_or_more_high_execution"
    assert set(rec["interfaces"]) == {"tws", "api"}
    text = " ".join(rec["reasons"])
    assert "not one that trades" not in text and "alternative C" in text
    assert "API for trading execution" in s.plan_text
    assert s.status("IFACE-002") in ("pass", "fail")  # the same rule drives the check


def test_no_stage_is_done_while_an_earlier_gate_it_relies_on_fails() -> None:
    s = Seen("pm_seller")
    assert s.stage(1)["status"] == "blocked"
    stage2 = s.stage(2)
    assert stage2["status"] != "done" and "RISK-002" in stage2["note"]
    waived = Seen("quant_waived", "--allow-critical-waivers")
    assert "fail" in {f["status"] for f in waived.check["findings"] if f["id"] == "WAIVER-001"}
    assert waived.stage(0)["status"] == "blocked"
    assert "WAIVER-001" in [b["id"] for b in waived.stage(0)["blocking"]]
    assert waived.plan["next_step"]["id"] == waived.tasks()[0]


def test_read_only_monitoring_is_not_gated_by_code_review_and_views_agree() -> None:
    s = Seen("monitor_api_ro")
    assert s.status("AUTO-003") == "skip"
    assert s.stage(3)["status"] == "done"
    assert s.plan["next_step"] is None
    assert s.next_text().startswith("Every stage you need is done")
    empty = Seen("empty")
    step = empty.plan["next_step"]
    assert step is not None and step["severity"] == "critical" and step["status"] == "manual"
    assert empty.next_text().startswith(f"{step['id']} (critical, unknown")
    assert empty.tasks()[0] == step["id"]


def test_a_backup_authenticator_on_a_shared_device_does_not_qualify() -> None:
    s = Seen("sms_ipad")
    assert s.status("LOGIN-009") == "fail"
    assert s.status("LOGIN-002") == "fail" and s.status("LOGIN-003") == "fail"
    assert {"LOGIN-002", "LOGIN-003", "LOGIN-009"} <= set(s.tasks())


def test_one_uninstall_task_and_where_for_an_installed_tws() -> None:
    s = Seen("trust")
    assert s.status("IFACE-003") == "fail" and s.status("IFACE-008") == "skip"
    uninstall = [t for t in s.remediate["tasks"] if "ninstall" in t["where"] + t["action"]]
    assert [t["id"] for t in uninstall] == ["IFACE-003"]
    risk5 = next(t for t in s.remediate["tasks"] if t["id"] == "RISK-005")
    assert "once you install it" not in risk5["where"]
    assert "once you install it" not in s.todo


def _where(s: Seen) -> dict[str, str]:
    return {t["id"]: t["where"] for t in s.remediate["tasks"]}


def test_where_names_the_interface_the_user_has() -> None:
    ira = _where(Seen("ira_futures"))  # Client Portal and Mobile, no TWS
    assert ira["RISK-003"].startswith("Client Portal")
    assert not any(w.startswith("TWS") for w in ira.values())
    vps = _where(Seen("vps_bot"))  # IB Gateway on a VPS
    assert vps["AUTO-010"].startswith("IB Gateway")
    assert all("TWS" not in w for i, w in vps.items() if i.startswith("AUTO-"))
    cpapi = Seen("monitor_cpapi")  # the Client Portal API
    where = _where(cpapi)
    assert "Client Portal API" in where["AUTO-009"]
    assert all("TWS" not in w for i, w in where.items() if i.startswith("AUTO-"))
    assert "Client Portal API" in cpapi.todo


def test_minimal_setup_makes_critical_unknowns_prominent_and_consistent() -> None:
    from tests.conftest import EXAMPLES

    path = str(EXAMPLES / "minimal.json")
    check = invoke("check", path, "--as-of", AS_OF)
    assert check.exit_code == 0  # unknown is not failing, unless --strict
    # the summary wraps to the terminal: its words, from "Summary:" to the end
    summary = " ".join(check.stdout[check.stdout.index("Summary:"):].split())
    assert "2 critical check(s) are unknown (LOGIN-001, LOGIN-006)" in summary
    assert "--strict" in summary
    plan = json.loads(invoke("plan", path, "--as-of", AS_OF, "-f", "json").stdout)
    assert plan["next_step"]["id"] == "LOGIN-001" and plan["next_step"]["status"] == "manual"
    found = json.loads(invoke("check", path, "--as-of", AS_OF, "-f", "json").stdout)
    real = next(f["status"] for f in found["findings"] if f["id"] == "AUTO-000")
    stage3 = next(s for s in plan["stages"] if s["stage"] == 3)
    assert real == "manual"
    assert {"id": "AUTO-000", "status": "manual"} in stage3["gates"]  # plan agrees with check
    assert "AUTO-000" in [b["id"] for b in stage3["blocking"]]


def test_never_reviewed_trading_tool_is_high_and_remediate_says_why(tmp_path: Path) -> None:
    from tests.conftest import load_example, patched

    def todo(tool: dict[str, Any]) -> tuple[dict[str, Any], str]:
        path = tmp_path / "setup.json"
        path.write_text(json.dumps(patched(load_example("secure"),
                                           {"/automation/third_party_tools": [tool]}, None)))
        data = json.loads(invoke("remediate", str(path), "--as-of", AS_OF, "-f", "json").stdout)
        text = invoke("remediate", str(path), "--as-of", AS_OF).stdout
        return next(t for t in data["tasks"] if t["id"] == "AUTO-015"), text

    never, text = todo({"name": "signal-bot", "access": "trading"})
    assert never["severity"] == "high" and "never reviewed" in never["why"]
    assert "  - Why high: severity high here: a tool with trading access" in text
    stale, text = todo({"name": "signal-bot", "access": "trading", "reviewed_on": "2026-01-10"})
    assert stale["severity"] == "medium" and stale["why"] is None
    assert "  - Why " not in text.split("AUTO-015", 1)[1].split("- [ ]", 1)[0]


def test_futures_on_a_cash_account_say_a_margin_account_is_needed() -> None:
    s = Seen("cash_mobile")
    perm3 = next(t for t in s.remediate["tasks"] if t["id"] == "PERM-003")
    assert "margin account" in perm3["action"]
    perm2 = next(t for t in s.remediate["tasks"] if t["id"] == "PERM-002")
    assert "level 2 (long calls and puts)" in perm2["action"]
    assert "covered calls" in perm2["action"] and "level 1" in perm2["action"]
