"""``scan`` and ``check --scan-code``: a corpus of hits and near misses, redaction everywhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from audit.observe import code
from tests.conftest import ASSETS, EXAMPLES, invoke

CORPUS = ASSETS / "scan"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
RAW_ACCOUNTS = ["U7654321", "DU1234567", "U2345678"]


def _hits(root: Path) -> list[list[object]]:
    return [[Path(h.path).name, h.line, h.kind] for h in code.scan([str(root)]).hits]


def test_every_true_positive_is_found_with_file_and_line() -> None:
    assert sorted(_hits(CORPUS / "hits")) == sorted(EXPECTED["hits"])


def test_near_misses_are_not_reported() -> None:
    result = code.scan([str(CORPUS / "near-misses")])
    assert result.files == 7
    assert result.hits == []


def test_dependency_dirs_are_skipped_but_git_ignored_files_are_not(tmp_path: Path) -> None:
    bot = tmp_path / "bot"
    plain = 'IB_PASSWORD = "Plain-In-Dependency-1"\n'
    for skipped in (".git", "node_modules", "lib/site-packages", "__pycache__", "env"):
        (bot / skipped).mkdir(parents=True)
        (bot / skipped / "leak.py").write_text(plain)
    (bot / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")  # a venv by any name
    (bot / ".gitignore").write_text(".env\n")
    (bot / ".env").write_text("TWS_PASSWORD=Ignored-But-On-Disk-2\n")
    (bot / "README.md").write_text(plain)  # not a file type the scan reads
    (bot / "linked.py").symlink_to(bot / "node_modules" / "leak.py")
    result = code.scan([str(bot)])
    assert [(Path(h.path).name, h.line) for h in result.hits] == [(".env", 1)]
    assert result.files == 1


def test_the_scan_is_bounded(tmp_path: Path) -> None:
    for n in range(5):
        (tmp_path / f"m{n}.py").write_text("x = 1\n")
    (tmp_path / "big.json").write_text("[" + "1," * 200 + "1]")
    bounded = code.scan([str(tmp_path)], max_files=3)
    assert bounded.truncated and bounded.files == 3
    small = code.scan([str(tmp_path)], max_bytes=100)
    assert small.skipped == [f"{tmp_path / 'big.json'} (larger than 100 bytes)"]
    assert small.files == 5


def test_scan_command_text_and_json_never_show_a_value() -> None:
    hits = CORPUS / "hits"
    secrets = code.scan([str(hits)]).secrets()
    assert len(secrets) >= 15
    text = invoke("scan", str(hits))
    assert text.exit_code == 1, text.stderr
    assert f"{hits / 'bot.py'}:4: IBKR password in plain text  [credential]" in text.stdout
    assert f"{hits / '.env'}:5: IBKR account number  [account number]" in text.stdout
    as_json = invoke("scan", str(hits), "--format", "json")
    found = json.loads(as_json.stdout)
    assert len(found["credentials"]) == 19 and len(found["account_ids"]) == 3
    assert "secrets" not in found
    for output in (text.stdout, as_json.stdout):
        for value in secrets + RAW_ACCOUNTS + ["JBSWY3DPEHPK3PXP", "MIIBOgIBAAJBAKj34"]:
            assert value not in output


def test_scan_command_clean_tree_and_bad_path(tmp_path: Path) -> None:
    clean = invoke("scan", str(CORPUS / "near-misses"))
    assert (clean.exit_code, clean.stdout) == (0, "Nothing found in 7 file(s).\n")
    missing = invoke("scan", str(tmp_path / "nope"))
    assert missing.exit_code == 2
    assert missing.stderr == (f"ibkr-audit: error: {tmp_path / 'nope'}: "
                              "no such file or directory to scan\n")


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "sarif", "junit"])
def test_check_scan_code_redacts_every_hit_in_every_format(fmt: str, tmp_path: Path) -> None:
    bot = tmp_path / "bot"
    shutil.copytree(CORPUS / "hits", bot)
    secrets = code.scan([str(bot)]).secrets()
    run = invoke("check", str(EXAMPLES / "secure.json"), "--scan-code", str(bot),
                 "--format", fmt)
    assert run.exit_code == 1, run.stderr
    for value in secrets + RAW_ACCOUNTS:
        assert value not in run.stdout, (fmt, value)
    assert "bot.py:4" in run.stdout or fmt == "sarif"
    if fmt == "sarif":
        results = json.loads(run.stdout)["runs"][0]["results"]
        assert any(r["ruleId"] == "OBS-005" for r in results)


def test_scan_feeds_the_credentials_check_as_observed_evidence(tmp_path: Path) -> None:
    run = invoke("check", str(EXAMPLES / "secure.json"), "--scan-code",
                 str(CORPUS / "hits"), "--format", "json")
    findings = {f["id"]: f for f in json.loads(run.stdout)["findings"]}
    auto = findings["AUTO-011"]
    assert auto["status"] == "fail"
    assert auto["evidence"][0] == {"pointer": "/automation/credentials/storage",
                                   "actual": "in_code", "expected":
                                   "none of: plaintext_file, in_code", "source": "observed"}
    scan = findings["OBS-005"]
    assert (scan["status"], scan["severity"]) == ("fail", "critical")
    assert f"{CORPUS / 'hits' / 'config.ini'}:3: IBKR password in plain text" in (
        scan["evidence"][0]["actual"])
    assert findings["OBS-006"]["status"] == "fail"
    assert findings["OBS-001"]["status"] == "skip"  # no --probe: nothing said about the disk
    quiet = invoke("check", str(EXAMPLES / "secure.json"), "--scan-code",
                   str(CORPUS / "near-misses"), "--format", "json")
    calm = {f["id"]: f for f in json.loads(quiet.stdout)["findings"]}
    assert calm["OBS-005"]["status"] == "pass" and calm["AUTO-011"]["status"] == "pass"
    assert quiet.exit_code == 0


def test_line_numbers_survive_characters_that_change_length_when_lower_cased(
        tmp_path: Path) -> None:
    bot = tmp_path / "bot.py"
    bot.write_text('# İstanbul desk, ǅ notes, straße\n\nIB_PASSWORD = "Unicode-Desk-Pass-6"\n')
    assert [(h.line, h.kind) for h in code.scan([str(bot)]).hits] == [
        (3, "IBKR password in plain text")]
