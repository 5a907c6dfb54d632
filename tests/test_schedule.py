"""Scheduling with fake crontab/systemctl/launchctl: idempotent, foreign lines untouched."""

from __future__ import annotations

import os
import plistlib
import shlex
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import invoke

FAKE_CRONTAB = """#!/bin/sh
case "$1" in
  -l) if [ -f "$FAKE_CRONTAB" ]; then cat "$FAKE_CRONTAB"
      else echo "no crontab for you" >&2; exit 1; fi ;;
  -) cat > "$FAKE_CRONTAB" ;;
  *) exit 2 ;;
esac
"""
FAKE_LOGGER = """#!/bin/sh
echo "$0 $*" >> "$FAKE_LOG"
"""
FOREIGN = ("# my own jobs\n"
           "MAILTO=me@example.org\n"
           "*/5 * * * *  /usr/bin/backup --quiet   # keep   trailing   spaces   \n"
           "@reboot echo 'hello % world'\n")


@pytest.fixture
def sandbox(tmp_path: Path) -> dict[str, Any]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, body in (("crontab", FAKE_CRONTAB), ("systemctl", FAKE_LOGGER),
                       ("launchctl", FAKE_LOGGER)):
        tool = bindir / name
        tool.write_text(body)
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    home = tmp_path / "home"
    home.mkdir()
    setup_dir = tmp_path / "my setups" / "it's 100%"
    setup_dir.mkdir(parents=True)
    setup = setup_dir / "set up.json"
    setup.write_text((Path(__file__).parent.parent / "examples" / "maya.json").read_text())
    env = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "HOME": str(home),
           "XDG_CONFIG_HOME": str(home / ".config"), "FAKE_CRONTAB": str(tmp_path / "crontab"),
           "FAKE_LOG": str(tmp_path / "log")}
    return {"env": env, "setup": str(setup), "tmp": tmp_path, "home": home}


def run(sandbox: dict[str, Any], *args: str) -> Any:
    return invoke(*args, env=sandbox["env"])


def crontab(sandbox: dict[str, Any]) -> str:
    path = sandbox["tmp"] / "crontab"
    return path.read_text() if path.exists() else ""


def test_cron_install_is_idempotent_and_keeps_foreign_lines(sandbox: dict[str, Any]) -> None:
    (sandbox["tmp"] / "crontab").write_text(FOREIGN)
    for at in ("07:30", "08:15"):
        result = run(sandbox, "schedule", sandbox["setup"], "--every", "weekly", "--at", at,
                     "--backend", "cron")
        assert result.exit_code == 0, result.stderr
    content = crontab(sandbox)
    assert content.startswith(FOREIGN)  # byte for byte
    ours = content[len(FOREIGN):].splitlines()
    assert len(ours) == 1 and ours[0].startswith("15 8 * * 1 ")
    # the line runs exactly our command through /bin/sh, once cron has turned \% into %
    words = shlex.split(ours[0].split(" # ibkr-audit:")[0].replace("\\%", "%"))
    assert words[5:] == [sys.executable, "-m", "audit", "check", sandbox["setup"], "--record",
                         "--only-changes", "--no-color"]
    listed = run(sandbox, "schedule", "--list", "--backend", "cron").stdout
    assert sandbox["setup"] in listed and "15 8 * * 1" in listed
    assert run(sandbox, "unschedule", sandbox["setup"], "--backend", "cron").exit_code == 0
    assert crontab(sandbox) == FOREIGN
    again = run(sandbox, "unschedule", sandbox["setup"], "--backend", "cron")
    assert again.exit_code == 0 and "No scheduled audit" in again.stderr


def test_cron_from_empty_and_foreign_line_without_newline(sandbox: dict[str, Any]) -> None:
    assert run(sandbox, "schedule", sandbox["setup"], "--every", "daily",
               "--backend", "cron").exit_code == 0
    assert crontab(sandbox).count("# ibkr-audit:") == 1
    (sandbox["tmp"] / "crontab").write_text("0 1 * * * /bin/true")
    run(sandbox, "schedule", sandbox["setup"], "--every", "monthly", "--backend", "cron")
    lines = crontab(sandbox).splitlines()
    assert lines[0] == "0 1 * * * /bin/true" and lines[1].startswith("0 9 1 * * ")


def test_dry_run_changes_nothing(sandbox: dict[str, Any]) -> None:
    (sandbox["tmp"] / "crontab").write_text(FOREIGN)
    for backend in ("cron", "systemd", "launchd"):
        result = run(sandbox, "schedule", sandbox["setup"], "--every", "daily", "--backend",
                     backend, "--dry-run")
        assert result.exit_code == 0 and f"# {backend}: " in result.stdout
        assert "set up.json" in result.stdout
    assert crontab(sandbox) == FOREIGN
    assert not (sandbox["tmp"] / "log").exists()
    assert not any(sandbox["home"].rglob("*.timer")) and not any(sandbox["home"].rglob("*.plist"))


def _systemd_unquote(line: str) -> list[str]:
    """Undo systemd's ExecStart quoting (the subset we produce)."""
    words, current, i, quoted = [], "", 0, False
    while i < len(line):
        ch = line[i]
        if ch == "\\" and quoted:
            current += line[i + 1]
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == " " and not quoted:
            words.append(current)
            current = ""
        else:
            current += ch
        i += 1
    words.append(current)
    return [w.replace("%%", "%").replace("$$", "$") for w in words]


def test_systemd_units(sandbox: dict[str, Any]) -> None:
    for _ in range(2):
        result = run(sandbox, "schedule", sandbox["setup"], "--every", "daily", "--at", "06:05",
                     "--backend", "systemd")
        assert result.exit_code == 0, result.stderr
    unit_dir = sandbox["home"] / ".config" / "systemd" / "user"
    timers = list(unit_dir.glob("ibkr-audit-*.timer"))
    assert len(timers) == 1
    assert "OnCalendar=*-*-* 06:05:00" in timers[0].read_text()
    service = timers[0].with_suffix(".service").read_text()
    exec_line = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    assert _systemd_unquote(exec_line[len("ExecStart="):])[4] == sandbox["setup"]
    assert stat.S_IMODE(timers[0].stat().st_mode) == 0o600
    log = (sandbox["tmp"] / "log").read_text()
    assert "--user daemon-reload" in log and f"enable --now {timers[0].name}" in log
    assert sandbox["setup"] in run(sandbox, "schedule", "--list", "--backend", "systemd").stdout
    assert run(sandbox, "unschedule", sandbox["setup"], "--backend", "systemd").exit_code == 0
    assert not list(unit_dir.glob("ibkr-audit-*"))


def test_launchd_plist(sandbox: dict[str, Any]) -> None:
    for _ in range(2):
        assert run(sandbox, "schedule", sandbox["setup"], "--every", "monthly", "--at", "23:59",
                   "--backend", "launchd").exit_code == 0
    agents = list((sandbox["home"] / "Library" / "LaunchAgents").glob("com.ibkr-audit.*.plist"))
    assert len(agents) == 1
    data = plistlib.loads(agents[0].read_bytes())
    assert data["ProgramArguments"][4] == sandbox["setup"]
    assert data["StartCalendarInterval"] == {"Hour": 23, "Minute": 59, "Day": 1}
    assert "bootstrap" in (sandbox["tmp"] / "log").read_text()
    assert run(sandbox, "unschedule", sandbox["setup"], "--backend", "launchd").exit_code == 0
    assert not agents[0].exists()


def test_missing_scheduler_binary_is_exit_2(sandbox: dict[str, Any], tmp_path: Path) -> None:
    env = {**sandbox["env"], "PATH": str(tmp_path / "empty")}
    result = invoke("schedule", sandbox["setup"], "--every", "daily", "--backend", "cron",
                    env=env)
    assert result.exit_code == 2 and "needs 'crontab'" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--every", "daily", "--at", "25:00"], "use HH:MM"),
    (["--at", "07:00"], "--every"),
])
def test_schedule_usage_errors(args: list[str], message: str, sandbox: dict[str, Any]) -> None:
    result = run(sandbox, "schedule", sandbox["setup"], *args, "--backend", "cron")
    assert result.exit_code == 2 and message in result.stderr


def test_schedule_missing_setup(sandbox: dict[str, Any]) -> None:
    result = run(sandbox, "schedule", "/no/such.json", "--every", "daily", "--backend", "cron")
    assert result.exit_code == 2 and "no such setup file" in result.stderr
