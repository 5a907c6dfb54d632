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
if [ -n "$FAKE_FAIL" ] && [ "$1" = "$FAKE_FAIL" ]; then echo "fake failure" >&2; exit 1; fi
case "$1" in
  -l) if [ -f "$FAKE_CRONTAB" ]; then cat "$FAKE_CRONTAB"
      else echo "no crontab for you" >&2; exit 1; fi ;;
  -) cat > "$FAKE_CRONTAB" ;;
  *) exit 2 ;;
esac
"""
# Each fake logs its calls, keeps its state in $FAKE_STATE, and fails (exit 1) the step
# named in $FAKE_FAIL, so every step of an install can be made to fail in turn.
FAIL_STEP = """
printf '%s\n' "$0 $*" >> "$FAKE_LOG"
if [ -n "$FAKE_FAIL" ]; then
  case " $* " in *" $FAKE_FAIL "*) echo "fake failure at $FAKE_FAIL" >&2; exit 1 ;; esac
fi
mkdir -p "$FAKE_STATE"
"""
FAKE_SYSTEMCTL = "#!/bin/sh" + FAIL_STEP + """
case "$2" in
  show-environment) echo "HOME=$HOME" ;;
  daemon-reload) ;;
  enable) touch "$FAKE_STATE/$4" ;;
  disable) if [ "$3" = "--now" ]; then rm -f "$FAKE_STATE/$4"; else rm -f "$FAKE_STATE/$3"; fi ;;
  is-active) [ -f "$FAKE_STATE/$3" ] || { echo inactive; exit 3; } ;;
esac
"""
FAKE_LAUNCHCTL = "#!/bin/sh" + FAIL_STEP + """
case "$1" in
  bootstrap) touch "$FAKE_STATE/$(basename "$3" .plist)" ;;
  bootout) label=${2##*/}; [ -f "$FAKE_STATE/$label" ] || exit 3; rm -f "$FAKE_STATE/$label" ;;
  print) label=${2##*/}; [ -f "$FAKE_STATE/$label" ] || exit 113 ;;
esac
"""
FAKE_SCHTASKS = "#!/bin/sh" + FAIL_STEP + r"""
task() { printf '%s' "$1" | tr '\\' '_'; }
case "$1" in
  /Create) cp "$5" "$FAKE_STATE/$(task "$3")" ;;
  /Query)
    if [ "$2" = "/TN" ]; then
      f="$FAKE_STATE/$(task "$3")"
      [ -f "$f" ] || { echo "ERROR: The system cannot find the file specified." >&2; exit 1; }
      iconv -f UTF-16 -t UTF-8 "$f"
    else
      echo '"\\Microsoft\\Windows\\Defrag\\ScheduledDefrag","N/A","Ready"'
      for f in "$FAKE_STATE"/_*; do
        [ -e "$f" ] || continue
        printf '"%s","N/A","Ready"\n' "$(basename "$f" | tr '_' '\\')"
      done
    fi ;;
  /Delete) f="$FAKE_STATE/$(task "$3")"; [ -f "$f" ] || exit 1; rm -f "$f" ;;
esac
"""
FOREIGN = ("# my own jobs\n"
           "MAILTO=me@example.org\n"
           "*/5 * * * *  /usr/bin/backup --quiet   # keep   trailing   spaces   \n"
           "@reboot echo 'hello % world'\n")


@pytest.fixture
def sandbox(tmp_path: Path) -> dict[str, Any]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, body in (("crontab", FAKE_CRONTAB), ("systemctl", FAKE_SYSTEMCTL),
                       ("launchctl", FAKE_LAUNCHCTL), ("schtasks", FAKE_SCHTASKS)):
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
           "FAKE_LOG": str(tmp_path / "log"), "FAKE_STATE": str(tmp_path / "state"),
           "FAKE_FAIL": ""}
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


# --- all or nothing: preflight, rollback, --list shows only what is active ---------------

def failing(sandbox: dict[str, Any], step: str) -> dict[str, Any]:
    return {**sandbox, "env": {**sandbox["env"], "FAKE_FAIL": step}}


def unit_dir(sandbox: dict[str, Any]) -> Path:
    return sandbox["home"] / ".config" / "systemd" / "user"


def agents(sandbox: dict[str, Any]) -> list[Path]:
    return list((sandbox["home"] / "Library" / "LaunchAgents").glob("com.ibkr-audit.*.plist"))


def tasks(sandbox: dict[str, Any]) -> list[Path]:
    state = sandbox["tmp"] / "state"
    return list(state.glob("_ibkr-audit_*")) if state.exists() else []


def listed(sandbox: dict[str, Any], backend: str) -> Any:
    result = run(sandbox, "schedule", "--list", "--backend", backend)
    assert result.exit_code == 0, result.stderr
    return result


@pytest.mark.parametrize("step", ["show-environment", "daemon-reload", "enable", "is-active"])
def test_systemd_failure_at_any_step_leaves_nothing(sandbox: dict[str, Any], step: str) -> None:
    result = run(failing(sandbox, step), "schedule", sandbox["setup"], "--every", "daily",
                 "--backend", "systemd")
    assert result.exit_code == 2 and "Scheduled" not in result.stderr
    assert not list(unit_dir(sandbox).glob("ibkr-audit-*"))
    if step == "show-environment":
        assert "not reachable" in result.stderr and "--backend cron" in result.stderr
        assert not unit_dir(sandbox).exists()  # the preflight came before any write
    assert listed(sandbox, "systemd").stdout == ""
    gone = run(failing(sandbox, step), "unschedule", sandbox["setup"], "--backend", "systemd")
    assert gone.exit_code == 0 and "No scheduled audit" in gone.stderr


def test_systemd_failed_replacement_restores_the_old_timer(sandbox: dict[str, Any]) -> None:
    assert run(sandbox, "schedule", sandbox["setup"], "--every", "daily", "--at", "06:05",
               "--backend", "systemd").exit_code == 0
    before = {p.name: p.read_text() for p in unit_dir(sandbox).iterdir()}
    result = run(failing(sandbox, "enable"), "schedule", sandbox["setup"], "--every", "weekly",
                 "--at", "07:00", "--backend", "systemd")
    assert result.exit_code == 2
    assert {p.name: p.read_text() for p in unit_dir(sandbox).iterdir()} == before
    shown = listed(sandbox, "systemd").stdout
    assert "*-*-* 06:05:00" in shown and sandbox["setup"] in shown


def test_list_hides_inactive_leftovers(sandbox: dict[str, Any]) -> None:
    assert run(sandbox, "schedule", sandbox["setup"], "--every", "daily",
               "--backend", "systemd").exit_code == 0
    for f in (sandbox["tmp"] / "state").iterdir():
        f.unlink()  # the timer was stopped behind our back
    result = listed(sandbox, "systemd")
    assert result.stdout == "" and "not active" in result.stderr
    assert f"unschedule {sandbox['setup']} --backend systemd" in result.stderr


@pytest.mark.parametrize("step", ["bootstrap", "print"])
def test_launchd_failure_rolls_back(sandbox: dict[str, Any], step: str) -> None:
    result = run(failing(sandbox, step), "schedule", sandbox["setup"], "--every", "daily",
                 "--backend", "launchd")
    assert result.exit_code == 2 and not agents(sandbox)
    assert listed(sandbox, "launchd").stdout == ""
    assert run(sandbox, "schedule", sandbox["setup"], "--every", "daily", "--at", "05:00",
               "--backend", "launchd").exit_code == 0
    old = agents(sandbox)[0].read_bytes()
    result = run(failing(sandbox, step), "schedule", sandbox["setup"], "--every", "weekly",
                 "--backend", "launchd")
    assert result.exit_code == 2 and agents(sandbox)[0].read_bytes() == old
    after = listed(sandbox, "launchd")
    if step == "print":  # the old agent was loaded again
        assert "'Hour': 5" in after.stdout
    else:  # launchctl cannot load anything: the restored plist is reported, not listed
        assert after.stdout == "" and "not active" in after.stderr


def test_schtasks_task_xml_and_round_trip(sandbox: dict[str, Any]) -> None:
    for at in ("06:00", "07:45"):
        result = run(sandbox, "schedule", sandbox["setup"], "--every", "weekly", "--at", at,
                     "--backend", "schtasks")
        assert result.exit_code == 0, result.stderr
    (task,) = tasks(sandbox)
    raw = task.read_bytes()
    assert raw[:2] in (b"\xff\xfe", b"\xfe\xff")  # UTF-16 with a byte-order mark
    xml = raw.decode("utf-16")
    assert "<StartBoundary>2026-01-01T07:45:00</StartBoundary>" in xml
    assert "<Monday />" in xml and "<StartWhenAvailable>true</StartWhenAvailable>" in xml
    assert f"<Command>{sys.executable}</Command>" in xml
    # the argument string, split the way Windows' CommandLineToArgvW splits it
    arguments = xml.split("<Arguments>")[1].split("</Arguments>")[0]
    assert _windows_split(arguments.replace("&amp;", "&").replace("&apos;", "'"))[3] == \
        sandbox["setup"]
    result = listed(sandbox, "schtasks")
    assert sandbox["setup"] in result.stdout and "weekly Mon 07:45" in result.stdout
    assert "Defrag" not in result.stdout  # other people's tasks are not ours
    assert run(sandbox, "unschedule", sandbox["setup"], "--backend", "schtasks").exit_code == 0
    assert not tasks(sandbox)


def _windows_split(text: str) -> list[str]:
    """CommandLineToArgvW for the quoting subprocess.list2cmdline produces."""
    words, current, quoted, i, started = [], "", False, 0, False
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            j = i
            while j < len(text) and text[j] == "\\":
                j += 1
            if j < len(text) and text[j] == '"':
                current += "\\" * ((j - i) // 2)
                if (j - i) % 2:
                    current += '"'
                    i = j + 1
                else:
                    i = j
                continue
            current += text[i:j]
            i = j
            started = True
            continue
        if ch == '"':
            quoted = not quoted
            started = True
        elif ch == " " and not quoted:
            if started:
                words.append(current)
            current, started = "", False
        else:
            current += ch
            started = True
        i += 1
    if started:
        words.append(current)
    return words


@pytest.mark.parametrize("step", ["/Create", "/Query"])
def test_schtasks_failure_rolls_back(sandbox: dict[str, Any], step: str) -> None:
    result = run(failing(sandbox, step), "schedule", sandbox["setup"], "--every", "daily",
                 "--backend", "schtasks")
    assert result.exit_code == 2 and not tasks(sandbox)
    assert listed(sandbox, "schtasks").stdout == ""


@pytest.mark.parametrize("step", ["-l", "-"])
def test_cron_failure_changes_nothing(sandbox: dict[str, Any], step: str) -> None:
    (sandbox["tmp"] / "crontab").write_text(FOREIGN)
    result = run(failing(sandbox, step), "schedule", sandbox["setup"], "--every", "daily",
                 "--backend", "cron")
    assert result.exit_code == 2 and crontab(sandbox) == FOREIGN
    assert listed(sandbox, "cron").stdout == ""


def test_auto_backend_says_why(sandbox: dict[str, Any], tmp_path: Path) -> None:
    if sys.platform in ("darwin", "win32"):
        pytest.skip("the Linux preference order is tested here")
    chosen = run(sandbox, "schedule", sandbox["setup"], "--every", "daily")
    assert chosen.exit_code == 0 and "Using systemd: the user systemd instance" in chosen.stderr
    assert sandbox["setup"] in run(sandbox, "schedule", "--list").stdout
    assert run(sandbox, "unschedule", sandbox["setup"]).exit_code == 0
    headless = failing(sandbox, "show-environment")
    chosen = run(headless, "schedule", sandbox["setup"], "--every", "daily")
    assert chosen.exit_code == 0 and "Using cron: crontab works" in chosen.stderr
    assert "not systemd: the systemd user instance is not reachable" in chosen.stderr
    assert sandbox["setup"] in run(headless, "schedule", "--list").stdout
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "systemctl").write_text(FAKE_SYSTEMCTL)
    (bare / "systemctl").chmod(0o755)
    nothing = {**headless, "env": {**headless["env"], "PATH": f"{bare}{os.pathsep}/bin"}}
    result = run(nothing, "schedule", sandbox["setup"], "--every", "daily")
    assert result.exit_code == 2 and "no scheduler works on this host" in result.stderr


# --- paths and lines that used to break scheduling -----------------------------------------

@pytest.mark.parametrize("dirname", ["100%", "a\\%b", "%%", "odd '\"$`; dir"])
def test_percent_and_quotes_in_paths_survive_cron(sandbox: dict[str, Any],
                                                  dirname: str) -> None:
    from audit.scheduling.cron import cron_unescape

    folder = sandbox["tmp"] / dirname
    folder.mkdir()
    setup = folder / "x%y.json"
    setup.write_text(Path(sandbox["setup"]).read_text())
    result = run(sandbox, "schedule", str(setup), "--every", "daily", "--backend", "cron")
    assert result.exit_code == 0, result.stderr
    line = crontab(sandbox).splitlines()[0]
    command = cron_unescape(line[len("0 9 * * * "):])
    assert "# ibkr-audit:" in command  # cron did not cut the command at a '%'
    words = shlex.split(command.split(" # ibkr-audit:")[0])
    assert words[4] == str(setup)
    # and /bin/sh, given what cron gives it, passes the same path on
    import subprocess

    shown = subprocess.run(["/bin/sh", "-c", command.replace(sys.executable, "printf '%s\\n'",
                                                             1)],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert shown[3] == str(setup)
    assert str(setup) in listed(sandbox, "cron").stdout


def test_cron_unescape_matches_cron() -> None:
    from audit.scheduling.cron import cron_quote, cron_unescape

    assert cron_unescape("echo a\\%b%stdin") == "echo a%b"
    assert cron_unescape("echo a\\\\%b") == "echo a\\\\"  # an escaped backslash, then the end
    for arg in ("plain", "100%", "a\\%b", "\\", "%", "it's"):
        assert shlex.split(cron_unescape(cron_quote(arg))) == [arg]


def test_list_survives_unbalanced_quotes(sandbox: dict[str, Any]) -> None:
    (sandbox["tmp"] / "crontab").write_text(
        "0 1 * * * echo \"unbalanced\n"
        "0 2 * * * echo 'half # ibkr-audit:0123456789ab\n")
    result = run(sandbox, "schedule", "--list", "--backend", "cron")
    assert result.exit_code == 0 and "0123456789ab" in result.stdout


def test_non_utf8_paths_are_refused_cleanly(sandbox: dict[str, Any]) -> None:
    if sys.platform == "win32" or sys.getfilesystemencoding().lower() != "utf-8":
        pytest.skip("needs a POSIX file system with UTF-8 names")
    odd = Path(os.fsdecode(sandbox["tmp"] / "bad") + os.fsdecode(b"\xff") + ".json")
    odd.write_text(Path(sandbox["setup"]).read_text())
    for backend in ("cron", "systemd", "schtasks"):
        result = run(sandbox, "schedule", str(odd), "--every", "daily", "--backend", backend)
        assert result.exit_code == 2 and "not valid UTF-8" in result.stderr
        assert "\\xff" in result.stderr
        gone = run(sandbox, "unschedule", str(odd), "--backend", backend)
        assert gone.exit_code == 0 and "No scheduled audit" in gone.stderr
    assert crontab(sandbox) == ""


def test_documented_schedule_commands_work(sandbox: dict[str, Any]) -> None:
    """Every 'ibkr-audit schedule … --every' line in docs/scheduling.md, as a dry run."""
    doc = (Path(__file__).parent.parent / "docs" / "scheduling.md").read_text()
    lines = [line.split("#")[0].strip() for line in doc.replace("\\\n", " ").splitlines()
             if line.startswith("ibkr-audit schedule ") and "--every" in line]
    assert len(lines) >= 5
    for line in lines:
        words = shlex.split(line.replace("$HOME\\ibkr\\setup.json", "~/ibkr/setup.json"))[1:]
        words = [sandbox["setup"] if w == "~/ibkr/setup.json" else w for w in words]
        if "--backend" not in words:
            words += ["--backend", "cron"]
        result = run(sandbox, *words, "--dry-run")
        assert result.exit_code == 0, (line, result.stderr)
        assert "ntfy://TOPIC" not in result.stdout + result.stderr


def test_unschedule_removes_leftovers_without_a_systemd_bus(sandbox: dict[str, Any]) -> None:
    """Units left by an older version on a host whose user bus is gone."""
    assert run(sandbox, "schedule", sandbox["setup"], "--every", "daily",
               "--backend", "systemd").exit_code == 0
    headless = failing(sandbox, "show-environment")
    result = run(headless, "schedule", "--list", "--backend", "systemd")
    assert result.exit_code == 0 and result.stdout == "" and "not active" in result.stderr
    gone = run(headless, "unschedule", sandbox["setup"], "--backend", "systemd")
    assert gone.exit_code == 0 and "Removed" in gone.stderr
    assert not list(unit_dir(sandbox).glob("ibkr-audit-*"))


def test_busybox_crontab_without_a_table(sandbox: dict[str, Any], tmp_path: Path) -> None:
    busybox = tmp_path / "busybox-bin"
    busybox.mkdir()
    (busybox / "crontab").write_text(FAKE_CRONTAB.replace(
        'echo "no crontab for you" >&2', 'echo "crontab: can\'t open \'you\': No such file or '
        'directory" >&2'))
    (busybox / "crontab").chmod(0o755)
    env = {**sandbox["env"], "PATH": f"{busybox}{os.pathsep}{sandbox['env']['PATH']}"}
    result = invoke("schedule", sandbox["setup"], "--every", "daily", "--backend", "cron",
                    env=env)
    assert result.exit_code == 0, result.stderr
    assert crontab(sandbox).count("# ibkr-audit:") == 1


def test_foreign_non_utf8_crontab_lines_survive(sandbox: dict[str, Any]) -> None:
    table = sandbox["tmp"] / "crontab"
    foreign = b"0 3 * * * /usr/bin/backup --label caf\xe9\n"
    table.write_bytes(foreign)
    assert run(sandbox, "schedule", sandbox["setup"], "--every", "daily",
               "--backend", "cron").exit_code == 0
    assert table.read_bytes().startswith(foreign)
    result = run(sandbox, "schedule", "--list", "--backend", "cron")
    assert result.exit_code == 0 and sandbox["setup"] in result.stdout
    assert run(sandbox, "unschedule", sandbox["setup"], "--backend", "cron").exit_code == 0
    assert table.read_bytes() == foreign
