"""The CLI end to end: exit codes, formats parsed back, input errors, output files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AS_OF, ASSETS, EXAMPLES, invoke, load_example, patched

MAYA = str(EXAMPLES / "maya-live.json")
SECURE = str(EXAMPLES / "secure.json")
BAD = ASSETS / "bad"


def check(*args: str, **kw: Any) -> Any:
    return invoke("check", "--as-of", AS_OF, *args, **kw)


# ------------------------------------------------------------------ exit codes


def test_exit_0_when_nothing_fails() -> None:
    run = check(SECURE)
    assert run.exit_code == 0, run.stderr
    assert "0 failed" in run.stdout


def test_exit_1_when_a_high_check_fails() -> None:
    run = check(MAYA)
    assert run.exit_code == 1
    assert "AUTO-002" in run.stdout and "1 at or above high" in run.stdout


@pytest.mark.parametrize("fail_on, code", [
    ("critical", 0), ("high", 1), ("medium", 1), ("low", 1), ("info", 1), ("never", 0)])
def test_fail_on_threshold(fail_on: str, code: int) -> None:
    assert check(MAYA, "--fail-on", fail_on).exit_code == code


def test_fail_on_counts_only_failures_not_manual(write_setup: Any) -> None:
    path = write_setup(load_example("minimal"))
    run = check(str(path), "--fail-on", "info")
    assert run.exit_code == 0
    assert "MANUAL" in run.stdout


def test_exit_2_on_bad_option() -> None:
    run = check(MAYA, "--format", "xml")
    assert run.exit_code == 2
    assert "Traceback" not in run.stderr and "xml" in run.stderr


def test_exit_2_on_unknown_param() -> None:
    run = check(MAYA, "--param", "no_such=1")
    assert run.exit_code == 2
    assert "unknown parameter" in run.stderr


def test_param_changes_a_threshold() -> None:
    assert check(MAYA, "--param", "min_paper_trading_days=10", "--fail-on", "high",
                 "--format", "json").exit_code == 1
    doc = json.loads(check(MAYA, "--param", "max_review_age_days=30", "--format", "json").stdout)
    cad = next(f for f in doc["findings"] if f["id"] == "CAD-001")
    assert cad["status"] == "fail"


def test_as_of_makes_date_checks_deterministic() -> None:
    early = json.loads(invoke("check", "--as-of", "2026-10-15", MAYA, "-f", "json").stdout)
    late = json.loads(invoke("check", "--as-of", "2027-06-01", MAYA, "-f", "json").stdout)
    status = {d["as_of"]: {f["id"]: f["status"] for f in d["findings"]} for d in (early, late)}
    assert status["2026-10-15"]["CAD-001"] == "pass"
    assert status["2027-06-01"]["CAD-001"] == "fail"
    assert status["2027-06-01"]["CAD-002"] == "fail"


def test_bad_as_of_is_a_usage_error() -> None:
    run = invoke("check", "--as-of", "2026-13-01", MAYA)
    assert run.exit_code == 2 and "YYYY-MM-DD" in run.stderr


def test_exit_3_on_internal_error_without_traceback(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from audit.cli import check as check_module
    from audit.cli.main import main

    def boom(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("synthetic failure")

    monkeypatch.setattr(check_module.pipeline, "audit_path", boom)
    monkeypatch.delenv("IBKR_AUDIT_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exc:
        main(["check", MAYA])
    assert exc.value.code == 3
    err = capsys.readouterr().err
    assert "internal error" in err and "synthetic failure" in err
    assert "Traceback" not in err
    with pytest.raises(SystemExit) as exc:
        main(["--debug", "check", MAYA])
    assert exc.value.code == 3
    assert "Traceback" in capsys.readouterr().err


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("name, expected", [
    ("malformed.json", "malformed.json:3:"),
    ("duplicate_keys.json", "duplicate_keys.json:4: /profile: duplicate key"),
    ("nan.json", "nan.json:2:37: NaN is not valid JSON"),
    ("array.json", "must be a JSON object, not an array"),
    ("empty.json", "file is empty"),
    ("utf16.json", "UTF-16"),
    ("latin1.json", "latin1.json:1: is not valid UTF-8"),
    ("nul.json", "NUL bytes"),
])
def test_bad_input_is_one_clear_line(name: str, expected: str) -> None:
    run = check(str(BAD / name))
    assert run.exit_code == 2
    assert run.stdout == ""
    assert expected in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_utf8_bom_is_accepted() -> None:
    assert check(str(BAD / "bom.json")).exit_code == 0


def test_schema_errors_are_all_reported_with_line_and_pointer() -> None:
    run = check(str(BAD / "schema_errors.json"))
    assert run.exit_code == 2
    lines = run.stderr.strip().splitlines()
    expected = [
        ":2: /schema_version: must be 1",
        ":4: /profile/residence: \"UK\" is not valid",
        ":5: /profile/reviewed_on: \"2026-02-30\" is not a real calendar date",
        ":8: /login/mfa/enabeld: unknown key 'enabeld'; did you mean 'enabled'?",
        ":8: /login/mfa/primary: \"carrier_pigeon\" is not one of",
        ":9: /login/password: must be an object, not a string",
        ":11: /devices/0/shared: must be true or false, not a string",
        ":12: /permissions/options_level: must be at most 4",
        ":13: /automation/trusted_ips/0: \"10.0.0.300\" is not an IPv4/IPv6 address",
    ]
    assert len(lines) == len(expected), lines
    for line, want in zip(lines, expected, strict=True):
        assert want in line
        assert line.startswith("ibkr-audit: error: ")
    assert "correct horse" not in run.stderr  # never echo a value under a password key


def test_missing_file_and_directory(tmp_path: Path) -> None:
    run = check(str(tmp_path / "nope.json"))
    assert run.exit_code == 2 and "no such file" in run.stderr
    run = check(str(tmp_path))  # a directory is a fleet; this one holds no setup
    assert run.exit_code == 2 and "no *.json setup files found" in run.stderr
    run = invoke("plan", str(tmp_path))
    assert run.exit_code == 2 and "is a directory" in run.stderr


def test_unreadable_file(write_setup: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_setup(load_example("minimal"))
    if os.geteuid() == 0:  # root reads any file: simulate the denial instead
        real_open = open

        def deny(file: Any, *args: Any, **kwargs: Any) -> Any:
            if str(file) == str(path):
                raise PermissionError(13, "Permission denied")
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr("builtins.open", deny)
    else:
        path.chmod(0)
    run = check(str(path))
    assert run.exit_code == 2 and "permission denied" in run.stderr


def test_too_large_and_too_deep_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(30 * 1024 * 1024)
    run = check(str(big))
    assert run.exit_code == 2 and "larger than the 5,242,880-byte limit" in run.stderr
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 10_000 + "]" * 10_000)
    run = check(str(deep))
    assert run.exit_code == 2 and "nesting is deeper than 64 levels" in run.stderr
    assert check(str(big), "--max-bytes", "10").exit_code == 2


def test_stdin_is_read_with_dash() -> None:
    run = check("-", input=(EXAMPLES / "secure.json").read_text())
    assert run.exit_code == 0 and "<stdin>" in run.stdout


def test_multiple_files_exit_is_worst_and_bad_file_blocks_output(tmp_path: Path) -> None:
    run = check(SECURE, MAYA, "-f", "json")
    assert run.exit_code == 1
    reports = json.loads(run.stdout)
    assert [r["setup"] for r in reports] == [SECURE, MAYA]
    out = tmp_path / "r.json"
    run = check(SECURE, str(BAD / "malformed.json"), "-o", str(out))
    assert run.exit_code == 2 and not out.exists()


# ------------------------------------------------------------------ formats


SPEC_KEYS = {"tool", "version", "schema_version", "setup", "generated_at", "summary", "findings"}
FINDING_KEYS = {"id", "title", "area", "severity", "status", "evidence", "remediation",
                "reference"}


def test_json_report_has_the_contract_shape() -> None:
    run = check(MAYA, "--format", "json")
    doc = json.loads(run.stdout)
    assert set(doc) >= SPEC_KEYS
    assert doc["tool"] == "ibkr-audit" and doc["schema_version"] == 1 and doc["setup"] == MAYA
    assert doc["generated_at"].endswith("Z")
    assert list(doc["summary"]) == ["pass", "fail", "manual", "skip", "waived"]
    assert sum(doc["summary"].values()) == len(doc["findings"])
    for finding in doc["findings"]:
        assert set(finding) >= FINDING_KEYS
        assert finding["status"] in {"pass", "fail", "manual", "skip", "waived"}
        assert finding["severity"] in {"critical", "high", "medium", "low", "info"}
        for ev in finding["evidence"]:
            assert set(ev) == {"pointer", "actual", "expected"}
            assert ev["pointer"] == "" or ev["pointer"].startswith("/")
    auto = next(f for f in doc["findings"] if f["id"] == "AUTO-002")
    assert auto["status"] == "fail" and auto["severity"] == "high"
    assert {"pointer": "/automation/paper_trading/passed", "actual": False,
            "expected": True} in auto["evidence"]


def test_same_data_in_all_three_formats() -> None:
    doc = json.loads(check(MAYA, "-f", "json").stdout)
    text = check(MAYA, "-f", "text").stdout
    markdown = check(MAYA, "-f", "markdown").stdout
    failed = [f for f in doc["findings"] if f["status"] == "fail"]
    assert failed
    for finding in failed:
        assert finding["id"] in text and finding["id"] in markdown
    s = doc["summary"]
    assert f"{s['fail']} failed" in text and f"{s['pass']} passed" in text
    assert f"**{s['fail']}** fail" in markdown and f"**{s['pass']}** pass" in markdown


def test_markdown_has_a_table_per_area() -> None:
    markdown = check(MAYA, "-f", "markdown").stdout
    doc = json.loads(check(MAYA, "-f", "json").stdout)
    areas = {f["area"] for f in doc["findings"]}
    for area in areas:
        assert f"## {area.capitalize()}" in markdown
    assert markdown.count("| Status | Severity | Check | Evidence | Remediation |") == len(areas)
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and "**" in line]
    assert len(rows) == len(doc["findings"])
    assert all(row.count(" | ") == 4 for row in rows)  # no stray pipes break a row


def test_text_ends_with_the_summary_line() -> None:
    # Ordering and wrapping are pinned in tests/test_text_report.py.
    lines = check(MAYA).stdout.strip().splitlines()
    assert lines[-2].startswith("Summary:") or lines[-1].startswith("Summary:")


def test_quiet_hides_passing_checks() -> None:
    text = check(MAYA, "-q").stdout
    assert " pass " not in text and "FAIL" in text


def test_color_only_when_asked_or_on_a_terminal() -> None:
    assert "\x1b[" not in check(MAYA).stdout
    assert "\x1b[" in check(MAYA, "--color").stdout
    assert "\x1b[" not in invoke("check", "--as-of", AS_OF, MAYA, env={"NO_COLOR": "1"}).stdout


def test_output_file_is_atomic_and_private(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_text("previous")
    run = check(MAYA, "-f", "json", "-o", str(out))
    assert run.exit_code == 1 and run.stdout == ""
    assert json.loads(out.read_text())["setup"] == MAYA
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temp file left


def test_output_to_missing_directory_is_exit_2(tmp_path: Path) -> None:
    run = check(MAYA, "-o", str(tmp_path / "no" / "such" / "dir.txt"))
    assert run.exit_code == 2 and "cannot write" in run.stderr


def test_version_and_help() -> None:
    from audit import __version__

    run = invoke("--version")
    assert run.exit_code == 0
    assert run.stdout.strip() == f"ibkr-audit {__version__} (checklists 1.0.0)"
    run = invoke("check", "--help")
    assert run.exit_code == 0
    for text in ("--fail-on", "--format", "--checklist", "Exit status", "Examples"):
        assert text in run.stdout


def test_console_script_runs_as_a_subprocess() -> None:
    proc = subprocess.run([sys.executable, "-m", "audit", "check", MAYA, "--as-of", AS_OF,
                           "-f", "json"], capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["summary"]["fail"] >= 1


def test_broken_pipe_is_quiet() -> None:
    proc = subprocess.run(  # noqa: S602 - the shell pipe is what is under test
        f"{sys.executable} -m audit check {MAYA} --as-of {AS_OF} | head -1",
        shell=True, capture_output=True, text=True, check=False)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
    assert proc.stdout.startswith(("ibkr-audit", "URGENT"))  # the urgent block comes first


# ------------------------------------------------------------------ custom checklists


def test_custom_checklist_adds_checks(write_setup: Any) -> None:
    run = check(SECURE, "--checklist", str(ASSETS / "checklists" / "custom_ok.json"),
                "-f", "json")
    doc = json.loads(run.stdout)
    custom = [f for f in doc["findings"] if f["id"].startswith("ACME-")]
    assert {f["id"]: f["status"] for f in custom} == {"ACME-001": "fail", "ACME-002": "pass"}
    assert run.exit_code == 1  # ACME-001 is high
    # a directory works too
    run = check(SECURE, "--checklist", str(ASSETS / "checklists" / "dir_ok"), "-f", "json")
    assert run.exit_code == 0, run.stderr
    assert any(f["id"] == "ACME-100" for f in json.loads(run.stdout)["findings"])
    # and the custom checks see the same data
    patched_secure = patched(load_example("secure"), {"/devices/0/os": "Windows 11"})
    run = check(str(write_setup(patched_secure)), "--checklist",
                str(ASSETS / "checklists" / "custom_ok.json"), "-f", "json")
    assert json.loads(run.stdout)["summary"]["fail"] == 0


@pytest.mark.parametrize("name, expected", [
    ("bad_unknown_ref.json", "/checks/0/pass_if: unknown condition 'no_such'"),
    ("bad_operator.json", "needs a leaf condition"),
    ("bad_severity.json", "/checks/0/severity"),
    ("bad_at_scope.json", "'@' is only meaningful inside"),
    ("bad_cycle.json", "refers to itself"),
    ("bad_param.json", "unknown parameter 'nope'"),
    ("clash.json", "check id LOGIN-001 is already defined in"),
    ("bad_json.json", "invalid JSON"),
])
def test_bad_checklist_is_exit_2_with_pointer(name: str, expected: str) -> None:
    run = check(SECURE, "--checklist", str(ASSETS / "checklists" / name))
    assert run.exit_code == 2
    assert expected in run.stderr, run.stderr
    assert name in run.stderr and "Traceback" not in run.stderr


def test_missing_checklist_path() -> None:
    run = check(SECURE, "--checklist", "/no/such/checklist.json")
    assert run.exit_code == 2 and "no such checklist" in run.stderr
