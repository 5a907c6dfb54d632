"""credentials, --check-keyring and the drill, against in-memory keyrings only."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import keyring
import pyotp
import pytest

from audit.jsonpos import set_value
from audit.loading import load_setup
from audit.secrets import drill, keyring_store
from tests.conftest import AS_OF, EXAMPLES, invoke
from tests.fake_keyring import LockedKeyring, MemoryKeyring

SECRET = "hunter2-API-TOKEN-value"  # noqa: S105 - a planted test secret
SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
FIXED = 1_790_000_000.0  # a fixed moment for TOTP codes


def test_credentials_set_from_stdin_and_prompt() -> None:
    run = invoke("credentials", "set", "--service", "svc", "--username", "me", "--stdin",
                 input=SECRET + "\n")
    assert run.exit_code == 0 and SECRET not in run.stdout + run.stderr
    assert MemoryKeyring.entries[("svc", "me")] == SECRET
    run = invoke("credentials", "set", "--service", "svc", "--username", "you",
                 input="typed-secret\ntyped-secret\n")
    assert run.exit_code == 0 and "typed-secret" not in run.stdout + run.stderr
    assert MemoryKeyring.entries[("svc", "you")] == "typed-secret"
    run = invoke("credentials", "set", "--service", "svc", "--username", "x", "--stdin",
                 input="\n")
    assert run.exit_code == 2 and "empty secret" in run.stderr


def test_credentials_check_exit_codes(tmp_path: Path) -> None:
    secure = str(EXAMPLES / "secure.json")
    run = invoke("credentials", "check", secure)
    assert run.exit_code == 1 and "No keyring entry" in run.stdout
    MemoryKeyring().set_password("ibkr-audit", "maya-api", SECRET)
    run = invoke("credentials", "check", secure)
    assert run.exit_code == 0 and SECRET not in run.stdout
    keyring.set_keyring(LockedKeyring())
    run = invoke("credentials", "check", secure)
    assert run.exit_code == 2 and "locked" in run.stderr
    run = invoke("credentials", "check", str(EXAMPLES / "minimal.json"))
    assert run.exit_code == 2 and "not 'keyring'" in run.stderr


def test_check_keyring_flag() -> None:
    secure = str(EXAMPLES / "secure.json")

    def status(*extra: str) -> tuple[int, str]:
        run = invoke("check", secure, "--as-of", AS_OF, "-f", "json", *extra)
        found = next(f for f in json.loads(run.stdout)["findings"] if f["id"] == "AUTO-014")
        return run.exit_code, found["status"]

    assert status() == (0, "skip")
    assert status("--check-keyring") == (1, "fail")
    MemoryKeyring().set_password("ibkr-audit", "maya-api", SECRET)
    assert status("--check-keyring") == (0, "pass")
    keyring.set_keyring(LockedKeyring())
    assert status("--check-keyring") == (0, "manual")


def test_drill_enroll_validates_and_keeps_secret_in_keyring() -> None:
    uri = f"otpauth://totp/IBKR:maya?secret={SEED}&issuer=IBKR"
    run = invoke("drill", "--enroll", "yubikey", "--stdin", input=uri + "\n")
    assert run.exit_code == 0 and SEED not in run.stdout + run.stderr
    assert MemoryKeyring.entries[(keyring_store.DRILL_SERVICE, "yubikey")] == uri
    for bad, message in (("not a seed!!", "too short"), ("0189" * 5, "not a valid"),
                         ("otpauth://hotp/x?secret=" + SEED + "&counter=1", "not a time-based")):
        run = invoke("drill", "--enroll", "x", "--stdin", input=bad + "\n")
        assert run.exit_code == 2 and message in run.stderr, bad
    run = invoke("drill", "--enroll", "typed", input=SEED.lower() + "\n")
    assert run.exit_code == 0 and MemoryKeyring.entries[(keyring_store.DRILL_SERVICE,
                                                         "typed")] == SEED


@pytest.fixture
def enrolled(monkeypatch: pytest.MonkeyPatch) -> pyotp.TOTP:
    monkeypatch.setattr(drill, "clock", lambda: FIXED)
    keyring_store.store(keyring_store.DRILL_SERVICE, "yubikey", SEED)
    return pyotp.TOTP(SEED)


def test_drill_success_records_and_updates_setup(enrolled: pyotp.TOTP, tmp_path: Path) -> None:
    setup = tmp_path / "setup.json"
    original = (EXAMPLES / "maya.json").read_text()
    setup.write_text(original)
    db = tmp_path / "h.db"
    code = enrolled.at(FIXED)
    run = invoke("drill", "--authenticator", "yubikey", "--update", str(setup),
                 "--history-db", str(db), input=code + "\n")
    assert run.exit_code == 0, run.stderr
    today = drill.today().isoformat()
    assert f"Drill passed for yubikey on {today}" in run.stdout
    updated = setup.read_text()
    assert updated == original.replace('"last_tested": "2026-09-01"', f'"last_tested": "{today}"')
    load_setup(str(setup))
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT name, tested_on, result FROM drills").fetchall() == [
            ("yubikey", today, "ok")]
    listed = json.loads(invoke("history", "--drills", "--history-db", str(db), "-f",
                               "json").stdout)
    assert listed == [{"authenticator": "yubikey", "tested_on": today, "result": "ok"}]
    assert f"{today}  yubikey" in invoke("history", "--drills", "--history-db", str(db)).stdout


def test_drill_reports_clock_drift(enrolled: pyotp.TOTP, tmp_path: Path) -> None:
    late = enrolled.at(FIXED - 30)
    run = invoke("drill", "--authenticator", "yubikey", "--history-db", str(tmp_path / "h.db"),
                 input=late + "\n")
    assert run.exit_code == 0 and "clock runs behind" in run.stderr
    early = enrolled.at(FIXED + 30)
    run = invoke("drill", "--authenticator", "yubikey", "--history-db", str(tmp_path / "h.db"),
                 input=early + "\n")
    assert run.exit_code == 0 and "clock runs ahead" in run.stderr


def test_drill_three_wrong_codes(enrolled: pyotp.TOTP, tmp_path: Path) -> None:
    wrong = enrolled.at(FIXED + 300)
    setup = tmp_path / "setup.json"
    setup.write_text((EXAMPLES / "maya.json").read_text())
    before = setup.read_text()
    run = invoke("drill", "--authenticator", "yubikey", "--update", str(setup),
                 input=f"{wrong}\n12\nabcdef\n")
    assert run.exit_code == 1
    assert run.stderr.count("does not match") == 3 and "replace it now" in run.stderr
    assert setup.read_text() == before


def test_drill_errors(enrolled: pyotp.TOTP, tmp_path: Path) -> None:
    run = invoke("drill", "--authenticator", "nobody")
    assert run.exit_code == 2 and "--enroll nobody" in run.stderr
    setup = tmp_path / "setup.json"
    setup.write_text((EXAMPLES / "maya.json").read_text())
    before = setup.read_text()
    run = invoke("drill", "--authenticator", "yubikey", "--update", str(setup),
                 "--history-db", str(tmp_path / "h.db"), input=enrolled.at(FIXED) + "\n")
    assert run.exit_code == 0
    keyring_store.store(keyring_store.DRILL_SERVICE, "tablet", SEED)
    run = invoke("drill", "--authenticator", "tablet", "--update", str(setup),
                 "--history-db", str(tmp_path / "h.db"), input=enrolled.at(FIXED) + "\n")
    assert run.exit_code == 2 and "no backup authenticator on device 'tablet'" in run.stderr
    assert invoke("drill").exit_code == 2
    keyring.set_keyring(LockedKeyring())
    run = invoke("drill", "--authenticator", "yubikey")
    assert run.exit_code == 2 and "locked" in run.stderr
    assert before != setup.read_text()  # the first, successful drill did update it


@pytest.mark.parametrize("text, pointer, value, expected", [
    ('{"a": {"b": 1}}', "/a/b", 2, '{"a": {"b": 2}}'),
    ('{\n  "a": {  }\n}', "/a/c", "x", '{\n  "a": {"c": "x"  }\n}'),
    ('{"a": {"b": 1}}', "/a/c", True, '{"a": {"c": true, "b": 1}}'),
    ('{"l": [{"d": "2020-01-01"}]}', "/l/0/d", "2026-11-25", '{"l": [{"d": "2026-11-25"}]}'),
])
def test_set_value_preserves_everything_else(text: str, pointer: str, value: Any,
                                             expected: str) -> None:
    assert set_value(text, pointer, value) == expected
    with pytest.raises(KeyError):
        set_value('{"a": 1}', "/missing/x", 1)
