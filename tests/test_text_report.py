"""The terminal report leads with what matters and fits the terminal: pinned at 60, 80, 120."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from audit.model import KNOWN_AREAS
from tests.conftest import AS_OF, ASSETS, EXAMPLES, invoke

MAYA = str(EXAMPLES / "maya.json")
MAYA_LIVE = str(EXAMPLES / "maya-live.json")
MINIMAL = str(EXAMPLES / "minimal.json")
PLANTED = str(ASSETS / "planted_secrets.json")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
ROW = re.compile(r"^  (FAIL|MANUAL|WAIVED|pass|skip) +(critical|high|medium|low|info) +"
                 r"([A-Z]+-\d+)")


def _text(*args: str, columns: int = 80, env: dict[str, str] | None = None) -> str:
    run = invoke(*args, env={"COLUMNS": str(columns), **(env or {})})
    assert run.exit_code in (0, 1), run.stderr
    return run.stdout


def _json(setup: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(invoke("check", setup, "--as-of", AS_OF, "-f",
                                             "json").stdout)
    return data


def _rows(text: str) -> list[tuple[str, str, str]]:
    return [m.groups() for line in text.splitlines() if (m := ROW.match(ANSI.sub("", line)))]


def test_verdict_and_what_to_fix_first_lead() -> None:
    text = _text("check", MAYA_LIVE, "--as-of", AS_OF)
    assert text.startswith("URGENT: ")  # the advice's urgent block opens the report
    lines = text.split("\n\n", 1)[1].splitlines()
    # The header names the setup's path, so it may wrap: its continuation is indented.
    blank = lines.index("")
    assert lines[0].startswith("ibkr-audit ")
    assert all(line.startswith("  ") for line in lines[1:blank])
    assert lines[blank + 1] == "VERDICT: action needed: 1 check(s) failed at or above high."
    assert lines[blank + 2].startswith("  fix first: AUTO-002 (high) ")
    summary = next(i for i, line in enumerate(lines) if line.startswith("Summary: "))
    assert lines[summary].startswith("Summary: 8 failed")
    assert all(line.startswith("  ") for line in lines[summary + 1:])  # wrapped, last


def test_failures_sorted_by_severity_then_area_then_manual() -> None:
    for setup in (MAYA, MINIMAL, PLANTED):
        rows = _rows(_text("check", setup, "--as-of", AS_OF))
        report = _json(setup)
        statuses = [r[0] for r in rows]
        assert statuses == sorted(statuses, key=["FAIL", "MANUAL", "WAIVED"].index)
        for status in ("FAIL", "MANUAL"):
            keys = [(-RANK[sev], KNOWN_AREAS.index(_area(report, cid)))
                    for st, sev, cid in rows if st == status]
            assert keys == sorted(keys), (setup, status)
        wanted = sorted(f["id"] for f in report["findings"]
                        if f["status"] in ("fail", "manual", "waived"))
        assert sorted(r[2] for r in rows) == wanted


def _area(report: dict[str, Any], check_id: str) -> str:
    return str(next(f["area"] for f in report["findings"] if f["id"] == check_id))


def test_passes_collapse_into_one_line_unless_verbose() -> None:
    report = _json(MAYA)
    counts = report["summary"]
    text = _text("check", MAYA, "--as-of", AS_OF)
    assert not [r for r in _rows(text) if r[0] in ("pass", "skip")]
    assert f"{counts['pass']} passed and {counts['skip']} skipped (not applicable)" in text
    verbose = _text("check", MAYA, "--as-of", AS_OF, "--verbose")
    rows = _rows(verbose)
    assert sum(1 for r in rows if r[0] == "pass") == counts["pass"]
    assert sum(1 for r in rows if r[0] == "skip") == counts["skip"]
    assert "--verbose lists them" not in verbose


def test_severity_colour_only_on_rows_that_did_not_pass() -> None:
    text = _text("check", MAYA, "--as-of", AS_OF, "--verbose", "--color", "always")
    red = "\x1b[31m"
    for line in text.splitlines():
        plain = ANSI.sub("", line)
        if (m := ROW.match(plain)) and m.group(1) in ("pass", "skip"):
            assert f" {m.group(2)} " in line  # the severity is plain text
            assert red not in line
        if (m := ROW.match(plain)) and m.group(1) == "FAIL" and m.group(2) == "high":
            assert red in line


@pytest.mark.parametrize("columns", [60, 80, 120])
@pytest.mark.parametrize("command", [
    ["check", MAYA, "--as-of", AS_OF],
    ["check", MAYA, "--as-of", AS_OF, "--verbose"],
    ["check", MINIMAL, "--as-of", AS_OF],
    ["check", PLANTED, "--as-of", AS_OF],
    ["plan", MAYA, "--as-of", AS_OF],
    ["plan", MINIMAL, "--as-of", AS_OF],
    ["remediate", MINIMAL, "--as-of", AS_OF],
    ["explain", "AUTO-002"],
    ["explain", "LOGIN-002"],
    ["checks"],
    ["checks", "--params"],
])
def test_every_line_fits_the_terminal(command: list[str], columns: int) -> None:
    width = min(columns, 100)
    text = _text(*command, columns=columns)
    # Markdown headings and table rows stay whole; so does a command to copy.
    long = [line for line in text.splitlines()
            if len(line) > width and not line.startswith(("#", "|"))
            and not re.fullmatch(r"\s*`ibkr-audit [^`]*`", line)]
    assert long == []
    if columns == 120 and command[0] == "check":  # capped: still wider than at 80
        assert max(len(line) for line in text.splitlines()) > 80


def test_plan_next_step_wraps() -> None:
    text = _text("plan", MAYA, "--as-of", AS_OF, columns=60)
    start = text.index("NEXT STEP:")
    block = text[start:].splitlines()
    assert len(block) > 1 and all(len(line) <= 60 for line in block)
    assert all(line.startswith("  ") for line in block[1:])


@pytest.mark.parametrize(("args", "colored"), [
    ([], False), (["--color"], True), (["--color", "always"], True), (["--color=ALWAYS"], True),
    (["--color", "never"], False), (["--no-color"], False), (["--color", "--no-color"], False),
    (["--no-color", "--color"], True), (["--color", "auto"], False),
])
@pytest.mark.parametrize("command", [["check", MAYA], ["plan", MAYA]])
def test_color_auto_always_never(command: list[str], args: list[str], colored: bool) -> None:
    text = _text(*command, "--as-of", AS_OF, *args)
    assert bool(ANSI.search(text)) is colored


def test_color_bare_flag_before_the_setup_still_works() -> None:
    text = _text("check", "--color", MAYA, "--as-of", AS_OF)
    assert ANSI.search(text)


def test_case_insensitive_choices() -> None:
    upper = invoke("checks", "--severity", "High", "-f", "json")
    lower = invoke("checks", "--severity", "high", "-f", "json")
    assert upper.exit_code == 0 and upper.stdout == lower.stdout
    assert invoke("check", MAYA, "--as-of", AS_OF, "--fail-on", "CRITICAL").exit_code == 0
    assert invoke("check", MAYA, "--as-of", AS_OF, "-f", "JSON").stdout.startswith("{")


@pytest.mark.parametrize("command", [["checks"], ["explain", "AUTO-002"]])
def test_checks_and_explain_take_color_too(command: list[str]) -> None:
    assert ANSI.search(_text(*command, "--color", "always"))
    assert not ANSI.search(_text(*command, "--color", "never"))
    assert not ANSI.search(_text(*command))
    plain = _text(*command, "--color", "never")
    assert ANSI.sub("", _text(*command, "--color", "always")) == plain


GOLDEN = {
    60: """\
ibkr-audit 0.1.0 · {setup} · as of
  2026-11-25

VERDICT: action needed: 1 check(s) failed at or above high.
  fix first: AUTO-002 (high) The automation finished paper
      trading before going live

FAILED, worst first (8)
  FAIL    high      AUTO-002
    The automation finished paper trading before going live
        /automation/mode is "live"; expected anything but
          paper
""",
    120: """\
ibkr-audit 0.1.0 · {setup} · as of 2026-11-25

VERDICT: action needed: 1 check(s) failed at or above high.
  fix first: AUTO-002 (high) The automation finished paper trading before going live

FAILED, worst first (8)
  FAIL    high      AUTO-002   The automation finished paper trading before going live
        /automation/mode is "live"; expected anything but paper
        /automation/paper_trading/passed is false; expected true
        /automation/paper_trading/days is 12; expected at least 30
""",
}


@pytest.mark.parametrize("columns", sorted(GOLDEN))
def test_head_of_the_report_at_60_and_120_columns(columns: int,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # 80 columns is pinned in full by the README tour (tests/test_docs.py).
    monkeypatch.chdir(EXAMPLES.parent)
    text = _text("check", "examples/maya-live.json", "--as-of", AS_OF, columns=columns)
    report = text[text.index("ibkr-audit 0.1.0"):]  # after the urgent block
    expected = GOLDEN[columns].format(setup="examples/maya-live.json")
    assert report.startswith(expected), report[:len(expected) + 200]
