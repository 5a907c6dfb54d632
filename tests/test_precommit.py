"""`ibkr-audit configs`, `check --format short` and the pre-commit hooks, run for real."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from audit.engine import checklist
from tests.conftest import AS_OF, ASSETS, EXAMPLES, ROOT, invoke

CONFIGS = ASSETS / "configs"
PASSWORD = "hunter2-Very-Secret"  # noqa: S105 - planted in temporary files


def ibc_with_password(folder: Path, name: str = "config.ini") -> Path:
    path = folder / name
    path.write_text(f"IbLoginId=someone\nTradingMode=paper\nIbPassword={PASSWORD}\n")
    return path


def test_password_fails_with_file_line_and_no_secret(tmp_path: Path) -> None:
    path = ibc_with_password(tmp_path)
    run = invoke("configs", str(path))
    assert run.exit_code == 1
    lines = run.stdout.splitlines()
    assert lines[0] == (f"{path}:3: CFG-001 critical IBC's config.ini holds no password in "
                        "plain text")
    assert lines[-1] == "ibkr-audit: 2 failing check(s) at or above high in 1 config file(s)"
    assert PASSWORD not in run.stdout + run.stderr
    path.chmod(0o600)  # CFG-002 passes once the file is private; CFG-001 still fails
    assert [ln.split(": ")[1].split()[0] for ln in invoke("configs", str(path)).stdout
            .splitlines()[:-1]] == ["CFG-001"]


def test_every_unsafe_setting_is_named_and_live_mode_is_to_review() -> None:
    run = invoke("configs", str(CONFIGS / "ibc-unsafe.ini"), str(CONFIGS / "jts-unsafe.ini"),
                 str(CONFIGS / "gateway-unsafe.yaml"))
    assert run.exit_code == 1
    found: dict[str, tuple[str, str]] = {}
    for line in run.stdout.splitlines()[:-1]:
        where, rest = line.split(": ", 1)
        found[rest.split()[0]] = (where, rest)
    assert found["CFG-006"][0] == f"{CONFIGS / 'ibc-unsafe.ini'}:9"
    assert found["CFG-010"][0] == f"{CONFIGS / 'jts-unsafe.ini'}:3"
    assert found["CFG-015"][0] == f"{CONFIGS / 'gateway-unsafe.yaml'}:9"
    # The file alone cannot say whether paper trading is done: listed, on its line, to review.
    assert found["CFG-003"][0] == f"{CONFIGS / 'ibc-unsafe.ini'}:5"
    assert "to review" in found["CFG-003"][1]
    assert "CFG-004" not in found  # reads the setup's automation purpose: not standalone
    assert "Sup3r-Secret-Passw0rd" not in run.stdout and "mywebapi" not in run.stdout


def test_safe_files_pass_silently() -> None:
    run = invoke("configs", str(CONFIGS / "ibc-safe.ini"), str(CONFIGS / "jts-safe.ini"),
                 str(CONFIGS / "gateway-safe.yaml"))
    assert (run.exit_code, run.stdout) == (0, "")


def test_the_checks_that_run_are_exactly_those_marked_standalone() -> None:
    lists = checklist.load()
    run = invoke("configs", str(CONFIGS / "ibc-unsafe.ini"), "-f", "json")
    ran = {f["id"] for f in json.loads(run.stdout)["findings"]}
    assert ran == {c.id for c in lists.checks
                   if c.standalone and c.for_each == "/$files/ibc"}
    assert {"CFG-001", "CFG-003", "CFG-005", "CFG-006", "CFG-009"} <= ran
    assert all((c.for_each or "").startswith("/$files/") for c in lists.checks if c.standalone)


def standalone_checklist(tmp_path: Path, **changes: Any) -> Path:
    check = {"id": "HOUSE-001", "title": "IBC logs in as the bot user", "area": "house",
             "severity": "high", "severity_reason": "House rule.", "description": "Test.",
             "remediation": "Use the bot user.",
             "reference": {"section": "House", "passage": "Our policy."},
             "for_each": "/$files/ibc", "standalone": True,
             "pass_if": {"fact": "@/settings/IbLoginId", "equals": "bot"}, **changes}
    path = tmp_path / "house.json"
    path.write_text(json.dumps({"checks": [check]}))
    return path


def test_a_checklist_adds_a_standalone_check_without_python(tmp_path: Path) -> None:
    ini = ibc_with_password(tmp_path)
    run = invoke("configs", str(ini), "--checklist", str(standalone_checklist(tmp_path)))
    assert f"{ini}:1: HOUSE-001 high IBC logs in as the bot user" in run.stdout.splitlines()


@pytest.mark.parametrize(("changes", "message"), [
    ({"for_each": "/devices"}, "/checks/0/standalone: 'standalone' is only for configuration"),
    ({"standalone": "yes"}, "/checks/0/standalone: must be true or false, not a string"),
])
def test_a_misused_standalone_flag_is_exit_2(tmp_path: Path, changes: dict[str, Any],
                                             message: str) -> None:
    run = invoke("configs", str(CONFIGS / "ibc-safe.ini"), "--checklist",
                 str(standalone_checklist(tmp_path, **changes)))
    assert run.exit_code == 2 and message in run.stderr, run.stderr


def test_kind_comes_from_name_then_content_and_can_be_forced(tmp_path: Path) -> None:
    sections = tmp_path / "gateway-host.ini"  # *.ini with [Sections]: a jts.ini
    shutil.copy(CONFIGS / "jts-unsafe.ini", sections)
    assert "CFG-010" in invoke("configs", str(sections)).stdout
    odd = tmp_path / "ibc.conf"
    shutil.copy(CONFIGS / "ibc-unsafe.ini", odd)
    run = invoke("configs", str(odd))
    assert run.exit_code == 2 and f"{odd}: cannot tell whether" in run.stderr
    assert "give --kind" in run.stderr
    run = invoke("configs", "--kind", "ibc", str(odd))
    assert run.exit_code == 1 and f"{odd}:4: CFG-001" in run.stdout


def test_bad_files_are_all_reported_and_nothing_else_is_printed(tmp_path: Path) -> None:
    run = invoke("configs", str(CONFIGS / "ibc-unsafe.ini"), str(CONFIGS / "ibc-malformed.ini"),
                 str(CONFIGS / "gateway-malformed.yaml"), str(tmp_path / "jts.ini"))
    assert run.exit_code == 2 and run.stdout == ""
    errors = run.stderr.splitlines()
    assert errors[0].startswith("ibkr-audit: error: ") and errors[0].endswith(
        "ibc-malformed.ini:2: not a 'Key=value' line")
    assert "gateway-malformed.yaml:4: invalid YAML" in errors[1]
    assert errors[2] == f"ibkr-audit: error: {tmp_path / 'jts.ini'}: no such file"
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(("fail_on", "code"), [("critical", 1), ("never", 0)])
def test_fail_on(tmp_path: Path, fail_on: str, code: int) -> None:
    assert invoke("configs", str(ibc_with_password(tmp_path)), "--fail-on",
                  fail_on).exit_code == code
    high_only = CONFIGS / "jts-unsafe.ini"
    assert invoke("configs", str(high_only), "--fail-on", "critical").exit_code == 0


def test_every_format_parses_back(tmp_path: Path) -> None:
    files = [str(CONFIGS / "ibc-unsafe.ini"), str(CONFIGS / "gateway-unsafe.yaml")]
    reports = json.loads(invoke("configs", *files, "-f", "json").stdout)
    assert [r["setup"] for r in reports] == files
    assert reports[0]["summary"]["fail"] == 7
    out = tmp_path / "configs.sarif"
    assert invoke("configs", *files, "-f", "sarif", "-o", str(out)).exit_code == 1
    assert out.stat().st_mode & 0o777 == 0o600
    results = json.loads(out.read_text())["runs"][0]["results"]
    blind = next(r for r in results if r["ruleId"] == "CFG-006")
    assert blind["locations"][0]["physicalLocation"]["region"] == {"startLine": 9}
    assert blind["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(
        "ibc-unsafe.ini")
    suites = ET.fromstring(invoke("configs", *files, "-f", "junit").stdout)  # noqa: S314 - ours
    assert suites.tag == "testsuites" and len(suites) == 2
    assert "CFG-001" in invoke("configs", *files, "-f", "markdown").stdout
    assert "Sup3r-Secret-Passw0rd" not in invoke("configs", *files, "-f", "text").stdout


def test_check_short_format_names_setup_lines() -> None:
    run = invoke("check", str(EXAMPLES / "maya-live.json"), "--as-of", "2026-11-25", "-f",
                 "short")
    assert run.exit_code == 1
    assert (f"{EXAMPLES / 'maya-live.json'}:43: AUTO-002 high The automation finished paper "
            "trading before going live") in run.stdout.splitlines()
    assert run.stdout.splitlines()[-1].startswith("ibkr-audit: 1 failing check(s)")
    run = invoke("check", str(EXAMPLES / "secure.json"), "--as-of", "2026-11-25", "-f", "short")
    assert (run.exit_code, run.stdout) == (0, "")
    run = invoke("check", str(EXAMPLES / "secure.json"), "--as-of", "2026-11-25", "-f", "short",
                 "--ibc", str(CONFIGS / "ibc-unsafe.ini"))
    assert f"{CONFIGS / 'ibc-unsafe.ini'}:9: CFG-006 high Blind trading is not allowed" in \
        run.stdout.splitlines()


# --- pre-commit, for real -------------------------------------------------------------------

pytestmark_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                           "-c", "commit.gpgsign=false", *args], cwd=cwd, check=False,
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout


def tree_files() -> list[str]:
    """This checkout's files as they are now, committed or not (ignored ones left out)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    if listed.returncode == 0:
        return [p for p in listed.stdout.split("\0") if p and (ROOT / p).is_file()]
    skip = {".git", ".venv", ".ci-venv", "__pycache__", ".mypy_cache", ".ruff_cache"}
    return [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(ROOT).parts)]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    return {**os.environ, "HOME": str(home), "PRE_COMMIT_HOME": str(home / "pre-commit"),
            "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "NO_COLOR": "1",
            "PRE_COMMIT_COLOR": "never"}


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Path:
    """This tree (uncommitted changes included) committed into a fresh repository:
    pre-commit installs hooks only from committed revisions."""
    repo = tmp_path_factory.mktemp("hooks")
    for name in tree_files():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, repo / name)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "ibkr-audit as it is now")
    return repo


def pre_commit(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False, timeout=900)


def user_repo(tmp_path: Path, env: dict[str, str]) -> Path:
    repo = tmp_path / "bot"
    (repo / "ibc").mkdir(parents=True)
    ibc_with_password(repo / "ibc")
    shutil.copy(EXAMPLES / "secure.json", repo / "setup.json")
    git(repo, "init", "-q", env=env)
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-qm", "bot", env=env)
    return repo


@pytestmark_git
def test_try_repo_configs_hook_fails_on_a_committed_password(
        tmp_path: Path, hook_repo: Path, env: dict[str, str]) -> None:
    repo = user_repo(tmp_path, env)
    run = pre_commit(repo, env, "try-repo", str(hook_repo), "ibkr-audit-configs", "--all-files")
    assert run.returncode == 1, run.stdout + run.stderr
    assert ("ibc/config.ini:3: CFG-001 critical IBC's config.ini holds no password in plain "
            "text") in run.stdout
    assert PASSWORD not in run.stdout + run.stderr
    (repo / "ibc" / "config.ini").write_text("IbLoginId=someone\nTradingMode=paper\n")
    git(repo, "commit", "-qam", "no password")
    run = pre_commit(repo, env, "try-repo", str(hook_repo), "ibkr-audit-configs", "--all-files")
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"ibkr-audit \(IBC, jts.ini, gateway configs\)\.+Passed", run.stdout)


def docs_block(marker: str) -> str:
    text = (ROOT / "docs" / "ci.md").read_text()
    match = re.search(rf"<!-- {marker} -->\s*```ya?ml\n(.*?)```", text, re.S)
    assert match, f"docs/ci.md has no block marked {marker}"
    return match.group(1)


@pytestmark_git
def test_the_documented_pre_commit_config_works(
        tmp_path: Path, hook_repo: Path, env: dict[str, str]) -> None:
    config = yaml.safe_load(docs_block("pre-commit-config"))
    (entry,) = config["repos"]
    assert {h["id"] for h in entry["hooks"]} == {"ibkr-audit", "ibkr-audit-configs"}
    # The user's copy points at the published repository; here, at this tree.
    entry["repo"] = str(hook_repo)
    entry["rev"] = git(hook_repo, "rev-parse", "HEAD").strip()
    for hook in entry["hooks"]:  # date checks: pin the day, as every test does
        if hook["id"] == "ibkr-audit":
            hook["args"] = [*hook.get("args", []), "--as-of", AS_OF]
    repo = user_repo(tmp_path, env)
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "hooks")
    run = pre_commit(repo, env, "run", "--all-files")
    assert run.returncode == 1, run.stdout + run.stderr
    assert re.search(r"ibkr-audit \(setup files\)\.+Passed", run.stdout), run.stdout
    assert "ibc/config.ini:3: CFG-001" in run.stdout
    # A setup with a high failure fails the setup hook, naming the line.
    shutil.copy(EXAMPLES / "maya-live.json", repo / "setup.json")
    (repo / "ibc" / "config.ini").write_text("IbLoginId=someone\nTradingMode=paper\n")
    git(repo, "commit", "-qam", "maya")
    run = pre_commit(repo, env, "run", "--all-files")
    assert run.returncode == 1
    assert "setup.json:43: AUTO-002 high" in run.stdout
    assert re.search(r"ibkr-audit \(IBC, jts.ini, gateway configs\)\.+Passed", run.stdout)
