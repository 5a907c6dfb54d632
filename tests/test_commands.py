"""checks, explain, schema and init."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from audit.engine import checklist
from audit.loading import load_schema, load_setup
from tests.conftest import invoke

ALL = checklist.load().checks


def test_checks_lists_everything_and_filters() -> None:
    run = invoke("checks")
    assert run.exit_code == 0
    rows = [line for line in run.stdout.splitlines() if line[:1].isupper()]  # not wrapped
    assert len(rows) == len(ALL)  # long titles wrap to the terminal: tests/test_text_report.py
    data = json.loads(invoke("checks", "--area", "login", "--format", "json").stdout)
    assert data and all(c["area"] == "login" for c in data)
    assert set(data[0]) == {"id", "severity", "area", "title"}
    crit = json.loads(invoke("checks", "--severity", "critical", "-f", "json").stdout)
    assert {c["id"] for c in crit} == {c.id for c in ALL if c.severity.value == "critical"}
    run = invoke("checks", "--area", "nope")
    assert run.exit_code == 2 and "unknown area" in run.stderr


def test_checks_params() -> None:
    data = json.loads(invoke("checks", "--params", "-f", "json").stdout)
    names = {p["name"]: p["default"] for p in data}
    assert names["max_review_age_days"] == 90 and names["max_backup_test_age_days"] == 180
    assert names["min_paper_trading_days"] == 30


def test_explain_text_and_json() -> None:
    run = invoke("explain", "auto-001")
    assert run.exit_code == 0
    for section in ("AUTO-001", "What it looks at", "Why it is critical", "Where this comes from",
                    "Facts it reads", "Applies when", "Passes when", "How to fix"):
        assert section in run.stdout
    assert "/automation/kill_switch is true" in run.stdout
    data = json.loads(invoke("explain", "CAD-002", "-f", "json").stdout)
    assert data["id"] == "CAD-002" and data["for_each"] == "/login/backup_authenticators"
    assert any("180 (parameter max_backup_test_age_days)" in line for line in data["passes_when"])


def test_explain_unknown_id_suggests() -> None:
    run = invoke("explain", "LOGIN-02")
    assert run.exit_code == 2
    assert "did you mean" in run.stderr and "LOGIN-002" in run.stderr


def test_every_check_can_be_explained() -> None:
    for check in ALL:
        run = invoke("explain", check.id)
        assert run.exit_code == 0, check.id
        assert "(unrecognised condition)" not in run.stdout


def test_schema_prints_and_writes(tmp_path: Path) -> None:
    run = invoke("schema")
    assert json.loads(run.stdout) == load_schema()
    out = tmp_path / "s.json"
    assert invoke("schema", "checklist", "-o", str(out)).exit_code == 0
    assert json.loads(out.read_text()) == load_schema("checklist.schema.json")


def test_init_from_example_validates_and_refuses_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "setup.json"
    run = invoke("init", str(target), "--non-interactive", "--example", "maya")
    assert run.exit_code == 0, run.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    load_setup(str(target))
    assert invoke("check", str(target)).exit_code in (0, 1)
    before = target.read_text()
    run = invoke("init", str(target), "--non-interactive", "--example", "minimal")
    assert run.exit_code == 2 and "--force" in run.stderr
    assert target.read_text() == before
    assert invoke("init", str(target), "--non-interactive", "--example", "minimal",
                  "--force").exit_code == 0
    assert json.loads(target.read_text())["profile"] == {"residence": "US"}


def test_init_non_interactive_needs_example(tmp_path: Path) -> None:
    run = invoke("init", str(tmp_path / "x.json"), "--non-interactive")
    assert run.exit_code == 2 and "--example" in run.stderr


def test_init_interview_writes_a_valid_setup(tmp_path: Path) -> None:
    target = tmp_path / "mine.json"
    answers = [
        "Maya", "us", "IB LLC", "", "high", "high", "medium", "equities,multi_leg_options", "",
        "", "", "y", "", "", "2026-13-01", "2026-11-01", "",
        "", "", "", "",
        "", "laptop", "", "macOS 15", "", "", "", "", "", "", "",
        "", "3", "", "", "reg_t",
        "", "", "y",
        "",
    ]
    run = invoke("init", str(target), input="\n".join(answers) + "\n")
    assert run.exit_code == 0, run.stdout + run.stderr
    setup = load_setup(str(target))
    assert setup.data["profile"]["residence"] == "US"
    assert setup.data["login"]["backup_authenticators"][0]["last_tested"] == "2026-11-01"
    assert setup.data["devices"][0]["name"] == "laptop"
    assert setup.data["risk"]["cross_asset_monitoring"] is True
    assert setup.data["automation"] == {"enabled": False}
    assert invoke("check", str(target), "--as-of", "2026-11-25").exit_code in (0, 1)


def test_every_lazily_loaded_command_resolves_and_has_help() -> None:
    import click

    from audit.cli.main import COMMANDS, cli

    ctx = click.Context(cli)
    for name, (_module, _attr, short) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert isinstance(command, click.Command), name
        assert short and invoke(name, "--help").exit_code == 0, name
    top = invoke("--help").stdout
    assert all(name in top for name in COMMANDS)
