"""Auditing IBC, jts.ini and gateway files from the command line, and importing facts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from audit.loading import load_setup
from tests.conftest import AS_OF, ASSETS, EXAMPLES, invoke

CONFIGS = ASSETS / "configs"
SECURE = str(EXAMPLES / "secure.json")
PASSWORD = "Sup3r-Secret-Passw0rd"  # noqa: S105 - planted in ibc-unsafe.ini


def check(*args: str) -> Any:
    return invoke("check", SECURE, "--as-of", AS_OF, *args)


def test_unsafe_files_fail_with_file_line_and_key() -> None:
    run = check("--ibc", str(CONFIGS / "ibc-unsafe.ini"), "--jts", str(CONFIGS / "jts-unsafe.ini"),
                "--gateway-conf", str(CONFIGS / "gateway-unsafe.yaml"), "-f", "json")
    assert run.exit_code == 1
    findings = {f["id"]: f for f in json.loads(run.stdout)["findings"] if f["area"] == "config"}
    assert all(f["status"] == "fail" for cid, f in findings.items()
               if cid not in ("CFG-003", "CFG-004")), {c: f["status"] for c, f in findings.items()}
    blind = findings["CFG-006"]["evidence"][0]
    assert blind["file"].endswith("ibc-unsafe.ini") and blind["line"] == 9
    assert blind["key"] == "AllowBlindTrading" and blind["actual"] == "yes"
    allow = findings["CFG-012"]["evidence"][0]
    assert allow["line"] == 25 and allow["actual"] == ["192.0.0.0/8", "131.216.0.0/16"]


def test_safe_files_pass() -> None:
    run = check("--ibc", str(CONFIGS / "ibc-safe.ini"), "--jts", str(CONFIGS / "jts-safe.ini"),
                "--gateway-conf", str(CONFIGS / "gateway-safe.yaml"), "-f", "json")
    assert run.exit_code == 0, run.stdout
    statuses = {f["id"]: f["status"] for f in json.loads(run.stdout)["findings"]
                if f["area"] == "config"}
    assert set(statuses.values()) <= {"pass", "skip"}


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "sarif", "junit"])
def test_config_passwords_are_never_printed(fmt: str) -> None:
    run = check("--ibc", str(CONFIGS / "ibc-unsafe.ini"), "--gateway-conf",
                str(CONFIGS / "gateway-unsafe.yaml"), "-f", fmt)
    assert PASSWORD not in run.stdout + run.stderr
    assert "mywebapi" not in run.stdout + run.stderr


def test_malformed_and_missing_config_files_are_exit_2() -> None:
    run = check("--ibc", str(CONFIGS / "ibc-malformed.ini"))
    assert run.exit_code == 2 and "ibc-malformed.ini:2: not a 'Key=value' line" in run.stderr
    run = check("--gateway-conf", str(CONFIGS / "gateway-malformed.yaml"))
    assert run.exit_code == 2 and "gateway-malformed.yaml:4: invalid YAML" in run.stderr
    run = check("--jts", "/no/such/jts.ini")
    assert run.exit_code == 2 and "no such file" in run.stderr


def test_duplicate_key_in_ini_is_exit_2(tmp_path: Path) -> None:
    ini = tmp_path / "jts.ini"
    ini.write_text("[IBGateway]\nTrustedIPs=127.0.0.1\nTrustedIPs=0.0.0.0\n")
    run = check("--jts", str(ini))
    assert run.exit_code == 2 and ":3: TrustedIPs is set again (first on line 2)" in run.stderr


def test_config_files_need_explicit_setups(tmp_path: Path) -> None:
    run = invoke("check", str(EXAMPLES), "--ibc", str(CONFIGS / "ibc-safe.ini"))
    assert run.exit_code == 2 and "explicit setup files" in run.stderr


def test_import_prints_facts_without_secrets() -> None:
    run = invoke("import", "ibc", str(CONFIGS / "ibc-unsafe.ini"))
    assert run.exit_code == 0
    assert json.loads(run.stdout) == {
        "/automation/api": "tws_api", "/automation/read_only_api": False,
        "/automation/credentials/storage": "plaintext_file",
        "/automation/trusted_ips": ["10.0.0.0/8"]}
    assert PASSWORD not in run.stdout + run.stderr
    gateway = json.loads(invoke("import", "gateway", str(CONFIGS / "gateway-unsafe.yaml")).stdout)
    assert gateway["/automation/trusted_ips"] == ["192.0.0.0/8", "131.216.0.0/16", "127.0.0.1"]


def test_import_into_shows_a_diff_and_keeps_the_rest(tmp_path: Path) -> None:
    setup = tmp_path / "setup.json"
    shutil.copy(EXAMPLES / "maya.json", setup)
    before = setup.read_text()
    run = invoke("import", "jts", str(CONFIGS / "jts-unsafe.ini"), "--into", str(setup),
                 "--dry-run")
    assert run.exit_code == 0
    assert '/automation/trusted_ips: ["127.0.0.1"] → ["127.0.0.1", "192.168.0.0/16"' in run.stdout
    assert setup.read_text() == before
    run = invoke("import", "jts", str(CONFIGS / "jts-unsafe.ini"), "--into", str(setup))
    assert run.exit_code == 0
    after = setup.read_text()
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True)
               if a != b]
    assert len(changed) == 1 and "trusted_ips" in changed[0][1]
    load_setup(str(setup))
    again = invoke("import", "jts", str(CONFIGS / "jts-unsafe.ini"), "--into", str(setup))
    assert "already says all of this" in again.stdout


def test_import_into_minimal_setup_creates_sections(tmp_path: Path) -> None:
    setup = tmp_path / "setup.json"
    shutil.copy(EXAMPLES / "minimal.json", setup)
    run = invoke("import", "ibc", str(CONFIGS / "ibc-unsafe.ini"), "--into", str(setup))
    assert run.exit_code == 0, run.stderr
    data = load_setup(str(setup)).data
    assert data["automation"]["credentials"] == {"storage": "plaintext_file"}
    assert data["profile"] == {"residence": "US"}
