"""Secrets never reach any output: every format, every error message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from audit.secrets.scan import Redactor, scan
from tests.conftest import AS_OF, ASSETS, invoke

PLANTED = ASSETS / "planted_secrets.json"
SECRETS = [
    "JBSWY3DPEHPK3PXPKRSXG5CTMVRXEZLU",  # base32 seed as a device name
    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",  # inside an otpauth URI
    "otpauth://totp/IBKR:maya",  # the planted URI itself
    "Tr0ub4dor&3-plain",  # under x-password
    "sk_live_51Hq9xyzSECRETVALUE",  # under apiKey
    "mzxw 6ytb oi4q 2345",  # a spaced lower-case seed under x-totp-seed
]
ACCOUNTS = ["U7654321", "DU1122334"]


def _assert_clean(text: str, *, accounts_masked: bool = True) -> None:
    for secret in SECRETS:
        assert secret not in text, secret
    if accounts_masked:
        for account in ACCOUNTS:
            assert account not in text, account


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_planted_secrets_never_printed(fmt: str, tmp_path: Path) -> None:
    run = invoke("check", "--as-of", AS_OF, str(PLANTED), "-f", fmt)
    assert run.exit_code == 1  # SECRET-001 and SECRET-002 are critical
    _assert_clean(run.stdout + run.stderr)
    out = tmp_path / f"report.{fmt}"
    invoke("check", "--as-of", AS_OF, str(PLANTED), "-f", fmt, "-o", str(out))
    _assert_clean(out.read_text())


@pytest.mark.parametrize("args", [
    ["check", "-f", "sarif"], ["check", "-f", "junit"],
    ["plan"], ["plan", "-f", "json"], ["plan", "-f", "markdown"],
    ["remediate"], ["remediate", "-f", "json"],
])
def test_planted_secrets_never_printed_by_any_command(args: list[str]) -> None:
    run = invoke(args[0], str(PLANTED), "--as-of", AS_OF, *args[1:])
    assert run.exit_code == 1, run.stderr
    _assert_clean(run.stdout + run.stderr)


def test_planted_secrets_never_reach_the_history(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    for _ in range(2):
        run = invoke("check", str(PLANTED), "--as-of", AS_OF, "--record", "--only-changes",
                     "--history-db", str(db))
        _assert_clean(run.stdout + run.stderr)
    _assert_clean(db.read_bytes().decode("utf-8", "replace"))
    for args in (["history", "-f", "json"], ["history"], ["diff", "-f", "json"], ["diff"]):
        run = invoke(*args, "--history-db", str(db))
        _assert_clean(run.stdout + run.stderr)


def test_each_secret_is_a_finding_at_its_pointer() -> None:
    doc = json.loads(invoke("check", "--as-of", AS_OF, str(PLANTED), "-f", "json").stdout)
    by_id = {f["id"]: f for f in doc["findings"]}
    secret = by_id["SECRET-001"]
    assert secret["status"] == "fail" and secret["severity"] == "critical"
    pointers = {e["pointer"] for e in secret["evidence"]}
    assert pointers == {
        "/login/backup_authenticators/0/device", "/login/password/x-password",
        "/devices/0/name", "/automation/x-ops/apiKey", "/x-totp-seed",
    }
    assert all(e["actual"] == "<redacted>" for e in secret["evidence"])
    accounts = by_id["SECRET-002"]
    assert accounts["status"] == "fail"
    assert {e["actual"] for e in accounts["evidence"]} == {"U***4321", "DU***2334"}


def test_show_account_ids_prints_them_but_still_hides_credentials() -> None:
    run = invoke("check", "--as-of", AS_OF, str(PLANTED), "-f", "json", "--show-account-ids")
    _assert_clean(run.stdout, accounts_masked=False)
    assert "U7654321" in run.stdout


def test_validation_errors_do_not_echo_secrets(write_setup: Any) -> None:
    doc = {
        "schema_version": 1,
        "profile": {"residence": "U1234567"},
        "login": {"entry_point": "JBSWY3DPEHPK3PXP", "x-pin": "4321",
                  "mfa": {"primary": "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"}},
    }
    run = invoke("check", str(write_setup(doc)))
    assert run.exit_code == 2
    assert "JBSWY3DPEHPK3PXP" not in run.stderr and "otpauth" not in run.stderr
    assert "U1234567" not in run.stderr and "U***4567" in run.stderr
    assert "<redacted>" in run.stderr


@pytest.mark.parametrize("value, key, expected", [
    ("JBSWY3DPEHPK3PXP", None, True),
    ("jbswy3dpehpk3pxp", None, True),
    ("internationalization", None, False),  # long word, no digit
    ("ABCDEFGHIJKLMNOP", None, False),  # no digit: more likely a word than a seed
    ("keyring", "x-token-storage", False),  # last word "storage" is not a secret word
    ("hunter2", "x-password", True),
    ("hunter2", "db_pass", True),
    ("", "x-password", False),
    ("os_keychain", "manager", False),
    ("ib password: Hunter2Hunter2!", "x-ops", True),
    ("password=Hunter2!x", None, True),
    ("password: stored in the keychain", "x-ops", False),
    ("password manager: 1Password", "x-ops", False),
    ("see https://example.org/a?b=c", "x-ops", False),
    ("otpauth://totp/IBKR:me?secret=JBSWY3DPEHPK3PXP", None, True),
])
def test_classify(value: str, key: str | None, expected: bool) -> None:
    from audit.secrets.scan import classify

    assert bool(classify(value, key)) is expected


def test_redactor_masks_accounts_and_replaces_known_secrets() -> None:
    redactor = Redactor(["s3cr3t-value"])
    assert redactor.text("a s3cr3t-value b") == "a <redacted> b"
    masked = redactor.text("acct U1234567 / DU7654321 / F12345")
    assert masked == "acct U***4567 / DU***4321 / F***2345"
    assert redactor.value({"k": ["s3cr3t-value", 1]}) == {"k": ["<redacted>", 1]}
    assert Redactor(show_account_ids=True).text("U1234567") == "U1234567"


def test_scan_reports_secret_keys_too() -> None:
    creds, _ = scan({"x-notes": {"JBSWY3DPEHPK3PXP": "backup"}})
    assert [h.pointer for h in creds] == ["/x-notes/JBSWY3DPEHPK3PXP"]


def test_control_characters_never_reach_the_terminal(write_setup: Any) -> None:
    """Keys and values with ESC, CR and bidi overrides are escaped in every human output."""
    evil = "\x1b]0;owned\x07\x1b[2J\r\u202e"
    doc = {"schema_version": 1, "profile": {"residence": "US", "name": evil},
           "devices": [{"name": evil, "kind": "laptop", "registered": False}],
           "x-" + evil: evil}
    path = write_setup(doc)
    for args in (["check"], ["check", "-f", "markdown"], ["plan"], ["remediate"]):
        run = invoke(args[0], str(path), "--as-of", AS_OF, *args[1:])
        for stream in (run.stdout, run.stderr):
            assert "\x1b" not in stream and "\r" not in stream and "\u202e" not in stream, args
    bad = write_setup({**doc, "permissions": {evil: True}})
    run = invoke("check", str(bad))
    assert run.exit_code == 2 and "\x1b" not in run.stderr and "\\x1b" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("text", [
    "U1234567", "DU1234567", "F12345", "x U1234567 y", "ibkrU1234567", "U7654321paper",
    "%20U1234567.json", "%28DU7654321%29", "12U1234567", "U12345678901", "U123",
    "DF99999999", "aU1234567b", "U1234567U7654321", "9F1234567A", "%2GU1234567",
    "path/U1112223-x.json", "U1234567\nDU7654321",
])
def test_fast_account_masking_equals_the_reference_pattern(text: str) -> None:
    from audit.secrets.scan import ACCOUNT_ID, mask_account_id, mask_accounts

    assert mask_accounts(text) == ACCOUNT_ID.sub(mask_account_id, text)
