"""Every shipped check: validated by its schema, and proven to pass and to fail."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from audit import _resources
from audit.engine import checklist
from audit.engine.evaluate import Options, evaluate
from audit.loading import load_setup, validate
from audit.model import Status
from tests.conftest import ASSETS, load_example, patched, with_configs

CASES = json.loads((ASSETS / "check_cases.json").read_text())
LISTS = checklist.load()
AS_OF = dt.date.fromisoformat(CASES["as_of"])


def test_schemas_are_valid_draft_2020_12() -> None:
    for name in ("setup.schema.json", "checklist.schema.json"):
        schema = json.loads(_resources.schema_path(name).read_text())
        Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", sorted(_resources.checklist_dir().glob("*.json")),
                         ids=lambda p: p.name)
def test_each_shipped_checklist_validates_against_its_schema(path: Path) -> None:
    assert validate(json.loads(path.read_text()), "checklist.schema.json") == []


def test_checks_cover_the_contract() -> None:
    checks = LISTS.checks
    assert len(checks) >= 35
    ids = [c.id for c in checks]
    assert len(ids) == len(set(ids))
    areas = {c.area for c in checks}
    assert {"login", "devices", "entity", "permissions", "risk", "automation", "interfaces",
            "cadence", "secrets"} <= areas
    for check in checks:
        assert check.reads, f"{check.id} reads no fact"
        assert check.remediation and check.reference.passage and check.severity_reason


@pytest.mark.parametrize("check_id, severity", [
    ("LOGIN-001", "critical"), ("LOGIN-006", "critical"), ("AUTO-001", "critical"),
    ("AUTO-011", "critical"), ("SECRET-001", "critical"),
    ("LOGIN-002", "high"), ("LOGIN-003", "high"), ("LOGIN-005", "high"), ("DEV-003", "high"),
    ("LOGIN-008", "high"), ("AUTO-002", "high"), ("AUTO-010", "high"), ("PERM-001", "high"),
    ("PERM-003", "high"), ("RISK-001", "high"),
])
def test_contract_severities(check_id: str, severity: str) -> None:
    assert LISTS.by_id()[check_id].severity.value == severity


def test_every_bundled_check_says_where_and_how_to_verify_in_ibkr() -> None:
    for check in LISTS.checks:
        assert check.where_in_ibkr or check.where_by_interface, check.id
        assert check.verify_in_ibkr, check.id


def test_change_pointers_name_facts_the_check_reads() -> None:
    for check in LISTS.checks:
        if check.change is None:
            continue
        wanted = check.change.replace("@", (check.for_each or "") + "/*", 1)
        assert any(r == wanted or r.startswith(wanted + "/") for r in check.reads), check.id


def test_every_check_has_a_passing_and_a_failing_case() -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    for case in CASES["cases"]:
        seen[case["check"]].add(case["expect"])
    declaration = set(CASES["declaration_checks"])
    for check in LISTS.checks:
        outcomes = seen[check.id]
        assert "pass" in outcomes, f"{check.id} has no passing case"
        wanted = "manual" if check.id in declaration else "fail"
        assert wanted in outcomes, f"{check.id} has no {wanted} case"


DRILL_SEEDS = {"drill-weak": "JBSWY3DPEHPK3PXP",  # 16 characters, 80 bits
               "drill-strong": "JBSWY3DPEHPK3PXPJBSWY3DPEH"}  # 26 characters, 128 bits


def _status_of(doc: dict[str, Any], check_id: str, item: str | None, tmp_path: Path,
               keyring: str | None = None, case: dict[str, Any] | None = None) -> Status:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(doc))
    setup = load_setup(str(path))  # the case must itself be a valid setup
    setup = with_configs(setup, case or {}, tmp_path)
    options = Options(as_of=AS_OF, check_keyring=keyring is not None)
    if keyring is not None:
        import keyring as keyring_module

        from tests.fake_keyring import LockedKeyring, MemoryKeyring

        if keyring == "locked":
            keyring_module.set_keyring(LockedKeyring())
        elif keyring == "has-entry":
            creds = doc["automation"]["credentials"]
            MemoryKeyring().set_password(creds["keyring_service"], creds["keyring_username"], "x")
        elif keyring in DRILL_SEEDS:  # a drill seed enrolled under the first backup device
            device = doc["login"]["backup_authenticators"][0]["device"]
            MemoryKeyring().set_password("ibkr-audit-drill", device, DRILL_SEEDS[keyring])
    if keyring is not None:  # the pipeline gathers outside facts; the engine only reads them
        from audit.pipeline import assemble

        setup = assemble(setup, (), None, check_keyring=True)
    findings = [f for f in evaluate(setup, LISTS, options)
                if f.id == check_id and (item is None or f.item == item)]
    assert len(findings) == 1, [(f.id, f.item, f.status) for f in findings]
    return findings[0].status


@pytest.mark.parametrize(
    "case", CASES["cases"],
    ids=[f"{c['check']}-{c['expect']}-{i}" for i, c in enumerate(CASES["cases"])])
def test_check_case(case: dict[str, Any], tmp_path: Path) -> None:
    doc = patched(load_example(case["base"]), case.get("set"), case.get("remove"))
    status = _status_of(doc, case["check"], case.get("item"), tmp_path, case.get("keyring"),
                        case)
    assert status.value == case["expect"], case.get("why", "")


def test_failing_findings_carry_evidence_that_resolves(tmp_path: Path) -> None:
    from audit.pointer import MISSING, resolve

    for case in CASES["cases"]:
        doc = patched(load_example(case["base"]), case.get("set"), case.get("remove"))
        path = tmp_path / "e.json"
        path.write_text(json.dumps(doc))
        setup = with_configs(load_setup(str(path)), case, tmp_path)
        for finding in evaluate(setup, LISTS, Options(as_of=AS_OF)):
            assert finding.evidence, finding.id
            for ev in finding.evidence:
                value = resolve(setup.data, ev.pointer)
                if ev.actual is None:
                    continue  # a missing fact: the pointer names where it belongs
                assert value is not MISSING, (finding.id, ev.pointer)
