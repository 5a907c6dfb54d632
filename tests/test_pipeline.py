"""One pipeline: check, plan and remediate take the same inputs and agree on them."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from tests.conftest import AS_OF, ASSETS, EXAMPLES, invoke

MAYA = str(EXAMPLES / "maya-live.json")
UNSAFE_IBC = str(ASSETS / "configs" / "ibc-unsafe.ini")


def _options(name: str) -> set[str]:
    from audit.cli.main import cli

    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    return {opt for p in command.params if isinstance(p, click.Option) for opt in p.opts}


@pytest.mark.parametrize("name", ["plan", "remediate"])
def test_plan_and_remediate_accept_every_audit_input_of_check(name: str) -> None:
    from audit.pipeline import _OPTIONS

    shared = set()
    for decorator in _OPTIONS.values():
        probe = decorator(click.command()(lambda: None))
        shared |= {opt for p in probe.params for opt in p.opts}
    assert shared <= _options("check")
    assert shared <= _options(name)
    for flag in ("--ibc", "--jts", "--gateway-conf", "--waivers", "--allow-critical-waivers",
                 "--only", "--skip", "--check-keyring", "--param", "--checklist"):
        assert flag in _options(name)


def test_a_config_file_finding_changes_the_plan() -> None:
    before = json.loads(invoke("plan", MAYA, "--as-of", AS_OF, "-f", "json").stdout)
    run = invoke("plan", MAYA, "--as-of", AS_OF, "-f", "json", "--ibc", UNSAFE_IBC)
    after = json.loads(run.stdout)
    assert run.exit_code == 1
    status = {s["stage"]: s["status"] for s in before["stages"]}
    changed = {s["stage"]: s["status"] for s in after["stages"]}
    assert status != changed
    blocking = {b["id"] for s in after["stages"] for b in s.get("blocking", [])}
    assert blocking & {"CFG-001", "SECRET-001"}


def test_remediate_lists_config_file_tasks_and_honours_only() -> None:
    run = invoke("remediate", MAYA, "--as-of", AS_OF, "-f", "json", "--ibc", UNSAFE_IBC)
    ids = {t["id"] for t in json.loads(run.stdout)["tasks"]}
    assert "CFG-001" in ids
    run = invoke("remediate", MAYA, "--as-of", AS_OF, "-f", "json", "--ibc", UNSAFE_IBC,
                 "--only", "config")
    only = {t["id"] for t in json.loads(run.stdout)["tasks"]}
    assert only and all(i.startswith("CFG-") for i in only)


def test_waiver_file_is_applied_by_plan_and_remediate(tmp_path: Path) -> None:
    waivers = tmp_path / "w.json"
    waivers.write_text(json.dumps({"waivers": [
        {"check": "AUTO-002", "reason": "paper period", "expires": "2027-01-01"}]}))
    for command, fmt in (("check", "json"), ("remediate", "json")):
        run = invoke(command, MAYA, "--as-of", AS_OF, "-f", fmt, "--waivers", str(waivers))
        assert "AUTO-002" in run.stdout
        text = run.stdout
        if command == "check":
            finding = next(f for f in json.loads(text)["findings"] if f["id"] == "AUTO-002")
            assert finding["status"] == "waived"
        else:
            doc = json.loads(text)
            assert "AUTO-002" not in {t["id"] for t in doc["tasks"]}


def test_fail_on_is_case_insensitive_everywhere() -> None:
    for command in ("check", "plan", "remediate"):
        run = invoke(command, MAYA, "--as-of", AS_OF, "--fail-on", "Critical")
        assert run.exit_code in (0, 1), run.stderr


@pytest.mark.parametrize("command", ["check", "plan", "remediate"])
def test_output_never_overwrites_an_input(command: str, tmp_path: Path) -> None:
    setup = tmp_path / "s.json"
    setup.write_text((EXAMPLES / "maya.json").read_text())
    before = setup.read_text()
    run = invoke(command, str(setup), "--as-of", AS_OF, "-o", str(setup))
    assert run.exit_code == 2 and "is also an input" in run.stderr
    assert setup.read_text() == before
