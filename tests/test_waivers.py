"""Waivers: in force, expired, invalid; shown in every format; never affect the exit code."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AS_OF, invoke, load_example, patched

REASON = "paper trading continues; only dry-run orders"


def maya_with(waivers: list[dict[str, Any]], write_setup: Any) -> str:
    return str(write_setup(patched(load_example("maya-live"), {"/waivers": waivers})))


def waiver(check: str = "AUTO-002", expires: str = "2026-12-31", **kw: Any) -> dict[str, Any]:
    return {"check": check, "reason": REASON, "expires": expires, "approved_by": "maya", **kw}


def test_waiver_in_force_makes_the_failure_waived_and_exit_0(write_setup: Any) -> None:
    path = maya_with([waiver()], write_setup)
    run = invoke("check", path, "--as-of", AS_OF, "-f", "json")
    assert run.exit_code == 0, run.stderr
    doc = json.loads(run.stdout)
    auto = next(f for f in doc["findings"] if f["id"] == "AUTO-002")
    assert auto["status"] == "waived"
    assert auto["waiver"] == {"reason": REASON, "expires": "2026-12-31", "approved_by": "maya",
                              "pointer": "/waivers/0"}
    assert doc["summary"]["waived"] == 1
    assert next(f for f in doc["findings"] if f["id"] == "WAIVER-001")["status"] == "pass"


@pytest.mark.parametrize("fmt", ["text", "markdown", "sarif", "junit"])
def test_waiver_reason_shows_in_every_format(fmt: str, write_setup: Any) -> None:
    path = maya_with([waiver()], write_setup)
    out = invoke("check", path, "--as-of", AS_OF, "-f", fmt).stdout
    assert REASON in " ".join(out.split())  # text wraps long lines
    if fmt == "sarif":
        result = next(r for r in json.loads(out)["runs"][0]["results"]
                      if r["ruleId"] == "AUTO-002")
        assert REASON in result["suppressions"][0]["justification"]
    if fmt == "junit":
        ET.fromstring(out)  # noqa: S314 - our own output


def test_expired_waiver_fails_again_and_says_so(write_setup: Any) -> None:
    path = maya_with([waiver(expires="2026-11-24")], write_setup)
    run = invoke("check", path, "--as-of", AS_OF, "-f", "json")
    assert run.exit_code == 1
    by_id = {f["id"]: f for f in json.loads(run.stdout)["findings"]}
    assert by_id["AUTO-002"]["status"] == "fail"
    expired = by_id["WAIVER-001"]
    assert expired["status"] == "fail" and expired["item"] == "/waivers/0"
    assert expired["evidence"][0]["actual"] == "2026-11-24"


def test_waiver_is_in_force_on_its_expiry_date(write_setup: Any) -> None:
    path = maya_with([waiver(expires=AS_OF)], write_setup)
    assert invoke("check", path, "--as-of", AS_OF).exit_code == 0


@pytest.mark.parametrize("entry, message", [
    (waiver(check="AUTO-999"), "/waivers/0/check: waiver names unknown check 'AUTO-999'"),
    (waiver(reason="   "), "/waivers/0/reason: a waiver needs a reason"),
    (waiver(expires="2027-12-01"), "/waivers/0/expires: expires more than 365 days after"),
    (waiver(check="AUTO-001"), "AUTO-001 is critical; waiving it needs --allow-critical-waivers"),
    ({"check": "AUTO-002", "expires": "2026-12-31"}, "/waivers/0/reason: missing required key"),
    ({"check": "AUTO-002", "reason": "r"}, "/waivers/0/expires: missing required key"),
])
def test_invalid_waivers_are_exit_2(entry: dict[str, Any], message: str,
                                    write_setup: Any) -> None:
    run = invoke("check", maya_with([entry], write_setup), "--as-of", AS_OF)
    assert run.exit_code == 2
    assert message in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


def test_critical_waiver_with_flag(write_setup: Any) -> None:
    doc = patched(load_example("secure"), {"/automation/kill_switch": False,
                                           "/waivers": [waiver(check="AUTO-001")]})
    path = str(write_setup(doc))
    assert invoke("check", path, "--as-of", AS_OF).exit_code == 2
    run = invoke("check", path, "--as-of", AS_OF, "--allow-critical-waivers", "-f", "json")
    assert run.exit_code == 0
    assert next(f for f in json.loads(run.stdout)["findings"]
                if f["id"] == "AUTO-001")["status"] == "waived"


def test_waivers_file(tmp_path: Path, write_setup: Any) -> None:
    setup = str(write_setup(load_example("maya-live")))
    wfile = tmp_path / "waivers.json"
    wfile.write_text(json.dumps({"waivers": [waiver()]}))
    run = invoke("check", setup, "--as-of", AS_OF, "--waivers", str(wfile), "-f", "json")
    assert run.exit_code == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([waiver(check="NOPE-001")]))
    run = invoke("check", setup, "--as-of", AS_OF, "--waivers", str(bad))
    assert run.exit_code == 2 and f"{bad}: /waivers/0/check" in run.stderr
    bad.write_text(json.dumps({"waivers": [{"check": "AUTO-002"}]}))
    run = invoke("check", setup, "--waivers", str(bad))
    assert run.exit_code == 2 and "reason" in run.stderr


def test_waived_checks_listed_separately_by_remediate(write_setup: Any) -> None:
    path = maya_with([waiver()], write_setup)
    data = json.loads(invoke("remediate", path, "--as-of", AS_OF, "-f", "json").stdout)
    assert "AUTO-002" not in {t["id"] for t in data["tasks"]}
    assert data["waived"] == [{"id": "AUTO-002", "title": data["waived"][0]["title"],
                               "severity": "high", "reason": REASON, "expires": "2026-12-31",
                               "approved_by": "maya"}]
    markdown = invoke("remediate", path, "--as-of", AS_OF).stdout
    assert "## Accepted risks (waived)" in markdown and "2026-12-31" in markdown
