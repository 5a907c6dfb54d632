"""credentials, --check-keyring and the drill, against in-memory keyrings only."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import keyring
import pyotp
import pytest
from keyring.backends import fail, null
from keyring.backends.chainer import ChainerBackend
from keyrings.alt.file import PlaintextKeyring

from audit.errors import UsageError
from audit.jsonpos import set_value
from audit.loading import load_setup
from audit.secrets import drill, keyring_store
from tests.conftest import AS_OF, EXAMPLES, invoke
from tests.fake_keyring import ForgetfulKeyring, LockedKeyring, MemoryKeyring

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
    for bad, message in (("not a seed!!", "not a valid"), ("JBSWY3DPEHPK", "too short"),
                         ("0189" * 5, "not a valid"),
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


# --- honest keyring: null, fail, plaintext, unknown and forgetful backends -----------------

def plaintext(tmp_path: Path) -> PlaintextKeyring:
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring_pass.cfg")  # never the real data dir
    return backend


def auto014(*extra: str) -> tuple[int, dict[str, Any]]:
    run = invoke("check", str(EXAMPLES / "secure.json"), "--as-of", AS_OF, "-f", "json",
                 "--check-keyring", *extra)
    return run.exit_code, next(f for f in json.loads(run.stdout)["findings"]
                               if f["id"] == "AUTO-014")


@pytest.mark.parametrize("backend, name", [(null.Keyring(), "keyring.backends.null.Keyring"),
                                           (fail.Keyring(), "keyring.backends.fail.Keyring")])
def test_backends_that_store_nothing_are_refused(backend: Any, name: str,
                                                 tmp_path: Path) -> None:
    keyring.set_keyring(backend)
    run = invoke("credentials", "set", "--service", "svc", "--username", "me", "--stdin",
                 input=SECRET + "\n")
    assert run.exit_code == 2 and name in run.stderr and "Stored" not in run.stderr
    assert "does not store anything" in run.stderr and "gnome-keyring" in run.stderr
    assert SECRET not in run.stdout + run.stderr
    run = invoke("credentials", "check", str(EXAMPLES / "secure.json"))
    assert run.exit_code == 2 and name in run.stderr
    code, finding = auto014()
    assert finding["status"] == "manual" and code == 0
    assert name in json.dumps(finding["evidence"])
    run = invoke("drill", "--enroll", "yubikey", "--stdin", input=SEED + "\n")
    assert run.exit_code == 2 and name in run.stderr and "Enrolled" not in run.stderr
    run = invoke("drill", "--authenticator", "yubikey", "--history-db", str(tmp_path / "h.db"))
    assert run.exit_code == 2 and name in run.stderr and "Code shown" not in run.stderr
    assert not (tmp_path / "h.db").exists()


def test_plaintext_backend_is_refused_and_its_entries_fail(tmp_path: Path) -> None:
    backend = plaintext(tmp_path)
    keyring.set_keyring(backend)
    run = invoke("credentials", "set", "--service", "ibkr-audit", "--username", "maya-api",
                 "--stdin", input=SECRET + "\n")
    assert run.exit_code == 2 and "keyrings.alt.file.PlaintextKeyring" in run.stderr
    assert "plain file" in run.stderr and not Path(backend.file_path).exists()
    run = invoke("drill", "--enroll", "yubikey", "--stdin", input=SEED + "\n")
    assert run.exit_code == 2 and "PlaintextKeyring" in run.stderr
    assert not Path(backend.file_path).exists()
    run = invoke("credentials", "check", str(EXAMPLES / "secure.json"))
    assert run.exit_code == 1 and "would keep it in a plain file" in run.stdout
    assert auto014()[1]["status"] == "fail"
    # An entry someone put there with another tool: found, but it does not count.
    backend.set_password("ibkr-audit", "maya-api", SECRET)
    run = invoke("credentials", "check", str(EXAMPLES / "secure.json"))
    assert run.exit_code == 1 and "plaintext" in run.stdout and SECRET not in run.stdout
    code, finding = auto014()
    assert (code, finding["status"]) == (1, "fail")
    assert "plaintext" in json.dumps(finding["evidence"]) and SECRET not in json.dumps(finding)


def test_entry_in_plaintext_link_of_a_chain_fails(tmp_path: Path) -> None:
    backend = plaintext(tmp_path)

    class Chain(ChainerBackend):
        backends = [MemoryKeyring(), backend]  # noqa: RUF012 - keyring's own class attribute

    keyring.set_keyring(Chain())
    backend.set_password("ibkr-audit", "maya-api", SECRET)
    assert auto014()[1]["status"] == "fail"
    assert invoke("credentials", "set", "--service", "ibkr-audit", "--username", "maya-api",
                  "--stdin", input=SECRET + "\n").exit_code == 0  # writes to the memory link
    code, finding = auto014()
    assert (code, finding["status"]) == (0, "pass")
    assert "MemoryKeyring" in json.dumps(finding["evidence"])


def test_unknown_backend_is_named_and_a_lost_write_is_caught() -> None:
    run = invoke("credentials", "set", "--service", "svc", "--username", "me", "--stdin",
                 input=SECRET + "\n")
    assert run.exit_code == 0 and "tests.fake_keyring.MemoryKeyring" in run.stderr
    assert "read it back" in run.stderr
    keyring.set_keyring(ForgetfulKeyring())
    run = invoke("credentials", "set", "--service", "svc", "--username", "me", "--stdin",
                 input=SECRET + "\n")
    assert run.exit_code == 2 and "read back" in run.stderr and "Stored" not in run.stderr
    run = invoke("drill", "--enroll", "yubikey", "--stdin", input=SEED + "\n")
    assert run.exit_code == 2 and "read back" in run.stderr and "Enrolled" not in run.stderr


def test_classify_names_os_backends() -> None:
    from keyring.backends import SecretService, Windows, macOS

    for backend, label in ((macOS.Keyring(), "macOS Keychain"),
                           (Windows.WinVaultKeyring(), "Windows Credential Manager"),
                           (SecretService.Keyring(), "Secret Service")):
        found = keyring_store.classify(backend)
        assert found.kind is keyring_store.Kind.OS and label in found.label
    empty = type("Empty", (ChainerBackend,), {"backends": []})()
    assert keyring_store.classify(empty).kind is keyring_store.Kind.NONE


# --- TOTP seeds of every common length --------------------------------------------------

@pytest.mark.parametrize("seed, bits", [
    ("JBSWY3DPEHPK3PXP", 80), ("jbsw y3dp ehpk 3pxp", 80),
    ("JBSWY3DPEHPK3PXPJBSWY3DPEH", 128), (SEED, 160)])
@pytest.mark.parametrize("as_uri", [False, True])
def test_seeds_of_16_26_32_characters(seed: str, bits: int, as_uri: bool,
                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(drill, "clock", lambda: FIXED)
    compact = seed.replace(" ", "").upper()
    raw = (f"otpauth://totp/IBKR:maya?secret={compact}&issuer=IBKR" if as_uri else seed)
    run = invoke("drill", "--enroll", "token", "--stdin", input=raw + "\n")
    assert run.exit_code == 0, run.stderr
    assert compact not in run.stdout + run.stderr
    assert ("less than the 128 recommended" in run.stderr) == (bits < 128)
    assert drill.seed_bits(MemoryKeyring.entries[(keyring_store.DRILL_SERVICE, "token")]) == bits
    # the reference code comes from pyotp itself, with its minimum lowered for this seed
    reference = pyotp.TOTP(compact) if bits >= 112 else None
    code = reference.at(FIXED) if reference else drill.load("token").at(FIXED)
    run = invoke("drill", "--authenticator", "token", "--history-db", str(tmp_path / "h.db"),
                 input=code + "\n")
    assert run.exit_code == 0 and "Drill passed" in run.stdout


def test_short_seed_codes_match_rfc6238() -> None:
    # RFC 6238 appendix B, SHA-1 key "12345678901234567890" (160 bits) cut to its first
    # ten bytes is an 80-bit key; an independent HMAC computation gives the expected code.
    import base64
    import hashlib
    import hmac
    import struct

    key = b"1234567890"
    seed = base64.b32encode(key).decode()
    assert len(seed) == 16
    counter = int(FIXED) // 30
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    expected = (struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 10**6
    assert drill._totp(seed).at(FIXED) == f"{expected:06d}"
    assert drill.verify(drill._totp(seed), f"{expected:06d}", FIXED).ok


def test_uri_parameters_survive_a_short_seed() -> None:
    uri = ("otpauth://totp/IBKR:maya?secret=JBSWY3DPEHPK3PXP&issuer=IBKR&digits=8"
           "&algorithm=SHA256&period=60")
    otp = drill._totp(drill.normalise(uri))
    assert (otp.digits, otp.interval, otp.digest().name) == (8, 60, "sha256")
    for bad in ("otpauth://totp/x?issuer=IBKR", "otpauth://totp/x?secret=JBSW",
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=12"):
        with pytest.raises(UsageError, match=r"too short|not a valid"):
            drill.normalise(bad)


# --- drill ordering ------------------------------------------------------------------------

def drills(db: Path) -> list[Any]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT name, result FROM drills").fetchall()


def test_drill_checks_the_update_target_before_asking(enrolled: pyotp.TOTP,
                                                      tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    keyring_store.store(keyring_store.DRILL_SERVICE, "tablet", SEED)
    setup = tmp_path / "setup.json"
    setup.write_text((EXAMPLES / "maya.json").read_text())
    run = invoke("drill", "--authenticator", "tablet", "--update", str(setup),
                 "--history-db", str(db), input=enrolled.at(FIXED) + "\n")
    assert run.exit_code == 2 and "Code shown" not in run.stderr
    assert "no backup authenticator on device 'tablet'" in run.stderr
    assert "enrolment name must be the authenticator's device" in run.stderr
    run = invoke("drill", "--authenticator", "yubikey", "--update", str(tmp_path / "nope.json"),
                 "--history-db", str(db), input=enrolled.at(FIXED) + "\n")
    assert run.exit_code == 2 and "Code shown" not in run.stderr
    assert drills(db) == []


def test_drill_records_nothing_when_the_update_fails(enrolled: pyotp.TOTP, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "h.db"
    setup = tmp_path / "setup.json"
    setup.write_text((EXAMPLES / "maya.json").read_text())
    real_verify = drill.verify

    def verify_while_someone_edits(otp: Any, code: str, now: float | None = None) -> Any:
        # the user renames the device in the setup while the drill waits for the code
        setup.write_text(setup.read_text().replace('"yubikey"', '"yubikey-old"'))
        return real_verify(otp, code, now)

    monkeypatch.setattr(drill, "verify", verify_while_someone_edits)
    run = invoke("drill", "--authenticator", "yubikey", "--update", str(setup),
                 "--history-db", str(db), input=enrolled.at(FIXED) + "\n")
    assert run.exit_code == 2 and "Drill passed" not in run.stdout
    assert drills(db) == []


def test_enroll_with_update_checks_the_name_first(tmp_path: Path) -> None:
    setup = tmp_path / "setup.json"
    setup.write_text((EXAMPLES / "maya.json").read_text())
    run = invoke("drill", "--enroll", "Yubikey 5", "--update", str(setup), "--stdin",
                 input=SEED + "\n")
    assert run.exit_code == 2 and "declared: 'yubikey'" in run.stderr
    assert (keyring_store.DRILL_SERVICE, "Yubikey 5") not in MemoryKeyring.entries
    run = invoke("drill", "--enroll", "yubikey", "--update", str(setup), "--stdin",
                 input=SEED + "\n")
    assert run.exit_code == 0 and MemoryKeyring.entries[(keyring_store.DRILL_SERVICE,
                                                         "yubikey")] == SEED
    assert setup.read_text() == (EXAMPLES / "maya.json").read_text()  # enrolling edits nothing


def test_drill_help_names_the_enrolment_rule() -> None:
    text = " ".join(invoke("drill", "--help").stdout.split())
    assert "backup_authenticators[].device" in text and "null, fail" in text


def test_short_drill_seed_is_a_low_finding_not_a_refusal() -> None:
    secure = str(EXAMPLES / "secure.json")
    device = load_setup(secure).data["login"]["backup_authenticators"][0]["device"]
    short = "JBSWY3DPEHPK3PXP"
    MemoryKeyring().set_password("ibkr-audit", "maya-api", SECRET)  # AUTO-014 passes
    assert invoke("drill", "--enroll", device, "--stdin", input=short + "\n").exit_code == 0
    run = invoke("check", secure, "--as-of", AS_OF, "-f", "json", "--check-keyring")
    found = next(f for f in json.loads(run.stdout)["findings"] if f["id"] == "DRILL-001")
    assert (found["status"], found["severity"]) == ("fail", "low")
    assert "80 bits" in json.dumps(found["evidence"]) and short not in run.stdout
    assert run.exit_code == 0  # low stays under the default --fail-on high
    assert invoke("drill", "--enroll", device, "--stdin", input=SEED + "\n").exit_code == 0
    run = invoke("check", secure, "--as-of", AS_OF, "-f", "json", "--check-keyring")
    found = next(f for f in json.loads(run.stdout)["findings"] if f["id"] == "DRILL-001")
    assert found["status"] == "pass"


@pytest.mark.parametrize("backend", ["keyrings.alt.file.PlaintextKeyring",
                                     "keyring.backends.null.Keyring"])
def test_a_new_user_with_a_bad_backend_gets_no_false_assurance(backend: str,
                                                               tmp_path: Path) -> None:
    """As the issue tried it: a real process, the backend chosen the way pip users do."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHON_KEYRING_BACKEND": backend, "HOME": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    result = subprocess.run([sys.executable, "-m", "audit", "credentials", "set", "--service",
                             "ibkr-audit", "--username", "maya-api", "--stdin"],
                            input=SECRET + "\n", capture_output=True, text=True, env=env,
                            check=False)
    assert result.returncode == 2 and backend in result.stderr
    assert "Traceback" not in result.stderr and SECRET not in result.stdout + result.stderr
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # nothing written anywhere
