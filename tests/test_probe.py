"""``probe`` and ``check --probe``: fake system tools on PATH, real sockets, real files."""

from __future__ import annotations

import json
import shlex
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from audit.observe import disk, facts, files, firewall, ports, screenlock
from tests.conftest import ASSETS, EXAMPLES, invoke

PROBE = ASSETS / "probe"


class Tools:
    """A bin directory of fake commands: each prints a fixed answer and exits with a code."""

    def __init__(self, root: Path) -> None:
        self.bin = root / "bin"
        self.bin.mkdir()
        self.root = root

    def add(self, name: str, stdout: str = "", code: int = 0, stderr: str = "",
            refuse_arg: str | None = None) -> Path:
        out = self.root / f"{name}.out"
        err = self.root / f"{name}.err"
        out.write_text(stdout)
        err.write_text(stderr)
        refuse = (f'case "$*" in *{refuse_arg}*) exit 64;; esac\n' if refuse_arg else "")
        script = self.bin / name
        script.write_text(f"#!/bin/sh\n{refuse}/bin/cat {shlex.quote(str(out))}\n"
                          f"/bin/cat {shlex.quote(str(err))} >&2\nexit {code}\n")
        script.chmod(0o755)
        return script

    def env(self, **extra: str) -> dict[str, str]:
        return {"PATH": str(self.bin), **extra}


@pytest.fixture
def tools(tmp_path: Path) -> Tools:
    return Tools(tmp_path)


# -- disk encryption -----------------------------------------------------------------------

@pytest.mark.parametrize("answer, value", [("FileVault is On.\n", True),
                                           ("FileVault is Off.\n", False)])
def test_filevault_answers(tools: Tools, answer: str, value: bool) -> None:
    tools.add("fdesetup", answer)
    fact = disk.observe("darwin", tools.env())
    assert (fact.status, fact.value, fact.confidence, fact.how) == (
        "observed", value, "high", "fdesetup status")


def test_filevault_unknown_answer_is_unobserved(tools: Tools) -> None:
    tools.add("fdesetup", "Something else entirely\n")
    fact = disk.observe("darwin", tools.env())
    assert fact.status == "unobserved" and fact.value is None
    assert "do not recognise" in (fact.reason or "")


@pytest.mark.parametrize("asset, value, confidence", [
    ("lsblk-luks.json", True, "high"), ("lsblk-plain.json", False, "medium")])
def test_lsblk_walks_from_the_disk_to_root(tools: Tools, asset: str, value: bool,
                                           confidence: str) -> None:
    tools.add("lsblk", (PROBE / asset).read_text())
    fact = disk.observe("linux", tools.env())
    assert (fact.status, fact.value, fact.confidence) == ("observed", value, confidence)
    assert fact.how == "lsblk -J -o NAME,TYPE,FSTYPE,MOUNTPOINTS"
    assert fact.to_dict()["chain"].endswith(("luks-3f2a", "sda2"))


def test_old_lsblk_without_mountpoints_column(tools: Tools) -> None:
    tools.add("lsblk", (PROBE / "lsblk-old-luks.json").read_text(), refuse_arg="MOUNTPOINTS")
    fact = disk.observe("linux", tools.env())
    assert (fact.value, fact.how) == (True, "lsblk -J -o NAME,TYPE,FSTYPE,MOUNTPOINT")
    assert fact.to_dict()["chain"] == "sda > sda2 > vg-root"


@pytest.mark.parametrize("stdout, reason", [
    ((PROBE / "lsblk-noroot.json").read_text(), "not on a block device"),
    ("not json", "do not recognise")])
def test_lsblk_unknown_answers_are_unobserved(tools: Tools, stdout: str, reason: str) -> None:
    tools.add("lsblk", stdout)
    fact = disk.observe("linux", tools.env())
    assert fact.status == "unobserved" and reason in (fact.reason or "")


def test_missing_tool_is_unobserved_not_guessed(tools: Tools) -> None:
    fact = disk.observe("linux", tools.env())
    assert fact.to_dict() == {"status": "unobserved", "how": "lsblk -J -o NAME,TYPE,FSTYPE,"
                              "MOUNTPOINTS", "reason": "lsblk not found on PATH"}


@pytest.mark.parametrize("asset, value", [("manage-bde-on.txt", True),
                                          ("manage-bde-off.txt", False)])
def test_bitlocker_answers(tools: Tools, asset: str, value: bool) -> None:
    tools.add("manage-bde", (PROBE / asset).read_text())
    fact = disk.observe("win32", tools.env(SystemDrive="D:"))
    assert (fact.value, fact.how) == (value, "manage-bde -status D:")


def test_bitlocker_without_elevation_is_unobserved(tools: Tools) -> None:
    tools.add("manage-bde", "ERROR: An attempt to access a required resource was denied.\n"
              "Check that you have administrative rights on the computer.\n", code=1)
    fact = disk.observe("win32", tools.env())
    assert fact.status == "unobserved" and "privileges" in (fact.reason or "")


def test_unknown_platform_is_unobserved() -> None:
    assert disk.observe("sunos5").status == "unobserved"
    assert screenlock.observe("sunos5").status == "unobserved"
    assert firewall.observe("sunos5").status == "unobserved"


# -- screen lock ---------------------------------------------------------------------------

def _gsettings(tools: Tools, enabled: str, idle: str, delay: str = "uint32 0") -> None:
    answers = {"lock-enabled": enabled, "idle-delay": idle, "lock-delay": delay}
    script = tools.bin / "gsettings"
    cases = "".join(f'  *{key}) echo "{value}";;\n' for key, value in answers.items())
    script.write_text(f'#!/bin/sh\ncase "$*" in\n{cases}  *) exit 1;;\nesac\n')
    script.chmod(0o755)


@pytest.mark.parametrize("enabled, idle, value, delay", [
    ("true", "uint32 300", True, 360), ("false", "uint32 300", False, None),
    ("true", "uint32 0", False, None)])
def test_gnome_screen_lock(tools: Tools, enabled: str, idle: str, value: bool,
                           delay: int | None) -> None:
    _gsettings(tools, enabled, idle, "uint32 60")
    fact = screenlock.observe("linux", tools.env(XDG_CURRENT_DESKTOP="ubuntu:GNOME"))
    assert (fact.status, fact.value) == ("observed", value)
    assert fact.to_dict().get("lock_delay_seconds") == delay
    assert "gsettings get org.gnome.desktop.screensaver lock-enabled" in fact.how


def test_gnome_without_gsettings_is_unobserved(tools: Tools) -> None:
    fact = screenlock.observe("linux", tools.env(XDG_CURRENT_DESKTOP="GNOME"))
    assert fact.status == "unobserved"


def test_no_desktop_session_is_unobserved(tools: Tools) -> None:
    fact = screenlock.observe("linux", tools.env())
    assert fact.status == "unobserved" and "no graphical session" in (fact.reason or "")


def test_kde_defaults_and_off(tools: Tools) -> None:
    tools.add("kreadconfig5", "\n")  # key at its default: Autolock on after 5 minutes
    fact = screenlock.observe("linux", tools.env(XDG_CURRENT_DESKTOP="KDE"))
    assert (fact.value, fact.to_dict()["lock_delay_seconds"]) == (True, 300)
    tools.add("kreadconfig6", "false\n")
    assert screenlock.observe("linux", tools.env(XDG_CURRENT_DESKTOP="KDE")).value is False


@pytest.mark.parametrize("answer, idle, value, confidence, delay", [
    ("screenLock delay is immediate\n", "600\n", True, "high", 600),
    ("screenLock delay is 5 seconds\n", None, True, "medium", 1205),
    ("screenLock delay is immediate\n", "0\n", False, "high", None),
    ("screenLock is off\n", "600\n", False, "high", None)])
def test_macos_screen_lock(tools: Tools, answer: str, idle: str | None, value: bool,
                           confidence: str, delay: int | None) -> None:
    tools.add("sysadminctl", stderr=answer)
    if idle is not None:
        tools.add("defaults", idle)
    fact = screenlock.observe("darwin", tools.env())
    assert (fact.value, fact.confidence) == (value, confidence)
    assert fact.to_dict().get("lock_delay_seconds") == delay


def test_windows_screen_lock_reads_policy_first() -> None:
    values = {("Policies", "ScreenSaveActive"): "1", ("Policies", "ScreenSaverIsSecure"): "1",
              ("Policies", "ScreenSaveTimeOut"): "600", ("Desktop", "ScreenSaverIsSecure"): "0"}

    def read(key: str, name: str) -> str | None:
        return values.get(("Policies" if "Policies" in key else "Desktop", name))

    fact = screenlock.observe("win32", registry=read)
    assert (fact.value, fact.confidence, fact.to_dict()["lock_delay_seconds"]) == (
        True, "medium", 600)
    off = screenlock.observe("win32", registry=lambda k, n: "0" if "Desktop" in k else None)
    assert (off.value, off.confidence) == (False, "low")  # too weak to overrule a declaration
    assert screenlock.observe("win32", registry=lambda k, n: None).status == "unobserved"


# -- firewall ------------------------------------------------------------------------------

def test_windows_firewall_profiles(tools: Tools) -> None:
    tools.add("netsh", (PROBE / "netsh-mixed.txt").read_text())
    fact = firewall.observe("win32", tools.env())
    assert fact.value is False
    assert fact.to_dict()["profiles"] == {"domain": True, "private": True, "public": False}


def test_linux_firewall(tools: Tools) -> None:
    tools.add("ufw", "ERROR: You need to be root to run this script\n", code=1)
    fact = firewall.observe("linux", tools.env())
    assert fact.status == "unobserved" and "needs root" in (fact.reason or "")
    tools.add("firewall-cmd", "running\n")
    assert firewall.observe("linux", tools.env()).value is True


def test_macos_firewall(tools: Tools) -> None:
    tool = tools.add("socketfilterfw", "Firewall is enabled. (State = 1)\n")
    fact = firewall.observe("darwin", tools.env(), mac_tool=str(tool))
    assert fact.value is True


# -- listening ports (real sockets, no traffic) --------------------------------------------

@pytest.fixture
def listeners() -> Iterator[tuple[int, int]]:
    opened = []
    for address in ("127.0.0.1", "0.0.0.0"):  # noqa: S104 - the point of the test
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((address, 0))
        sock.listen(1)
        opened.append(sock)
    try:
        yield opened[0].getsockname()[1], opened[1].getsockname()[1]
    finally:
        for sock in opened:
            sock.close()


def test_sockets_on_loopback_and_all_interfaces(listeners: tuple[int, int]) -> None:
    local, everywhere = listeners
    fact = ports.observe({local: "TWS paper", everywhere: "IB Gateway live"})
    assert fact.status == "observed" and fact.confidence in ("high", "medium")
    by_port = {s["port"]: s for s in fact.value}
    assert by_port[local]["address"] == "127.0.0.1" and by_port[local]["loopback"] is True
    assert by_port[everywhere]["address"] == "0.0.0.0" and not by_port[everywhere]["loopback"]  # noqa: S104
    assert fact.to_dict()["beyond_loopback"] == [f"0.0.0.0:{everywhere} (IB Gateway live)"]


def test_ports_not_asked_for_are_ignored(listeners: tuple[int, int]) -> None:
    fact = ports.observe({1: "nothing listens here"})
    assert fact.value == [] and fact.to_dict()["beyond_loopback"] == []


# -- config files --------------------------------------------------------------------------

def test_config_files_at_usual_places_and_given(tmp_path: Path) -> None:
    ibc = tmp_path / "ibc" / "config.ini"
    ibc.parent.mkdir()
    ibc.write_text("TradingMode=paper\n")
    ibc.chmod(0o644)
    fact = files.observe("linux", home=tmp_path)
    [entry] = fact.value
    assert (entry["kind"], entry["mode"], entry["private"], entry["owned_by_you"]) == (
        "ibc", "0644", False, True)
    given = files.observe("linux", {"jts": [str(tmp_path / "nope.ini")], "ibc": [str(ibc)]})
    assert [e["exists"] for e in given.value] == [False, True]
    assert files.observe("win32", home=tmp_path).value[0]["mode"] is None


# -- the commands --------------------------------------------------------------------------

@pytest.fixture
def machine(tools: Tools, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tools:
    """This 'machine': Linux, root not encrypted, GNOME locking, nothing else observable."""
    tools.add("lsblk", (PROBE / "lsblk-plain.json").read_text())
    _gsettings(tools, "true", "uint32 300")
    monkeypatch.setenv("PATH", str(tools.bin))
    monkeypatch.setenv("XDG_CURRENT_DESKTOP", "GNOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr("sys.platform", "linux")
    return tools


def test_probe_json_and_text(machine: Tools, listeners: tuple[int, int],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ports, "IBKR_PORTS", {listeners[1]: "TWS paper"})
    run = invoke("probe", "--device", "laptop", "--format", "json")
    assert run.exit_code == 0, run.stderr
    found = json.loads(run.stdout)
    assert found["device"] == "laptop"
    assert found["facts"]["disk_encrypted"]["value"] is False
    assert found["facts"]["screen_lock"]["value"] is True
    assert found["facts"]["firewall"]["status"] == "unobserved"
    assert found["facts"]["listening"]["beyond_loopback"] == [f"0.0.0.0:{listeners[1]} "
                                                               "(TWS paper)"]
    text = invoke("probe").stdout
    assert "disk_encrypted  observed    no (medium confidence)" in text
    assert "reachable beyond this machine" in text and "Nothing was sent anywhere" in text


def test_check_probe_contradiction_decides(machine: Tools, listeners: tuple[int, int],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ports, "IBKR_PORTS", {listeners[1]: "TWS paper"})
    setup = str(EXAMPLES / "secure.json")
    clean = invoke("check", setup, "--format", "json")
    before = {(f["id"], (f["evidence"] or [{}])[0].get("pointer")): f
              for f in json.loads(clean.stdout)["findings"]}
    assert before[("DEV-005", "/devices/0/disk_encrypted")]["status"] == "pass"
    assert "source" not in before[("DEV-005", "/devices/0/disk_encrypted")]["evidence"][0]
    run = invoke("check", setup, "--probe", "--device", "laptop", "--format", "json")
    assert run.exit_code == 1, run.stderr
    found = {(f["id"], f["evidence"][0]["pointer"] if f["evidence"] else None): f
             for f in json.loads(run.stdout)["findings"]}
    contradiction = found[("OBS-001", "/$observed/disk_encrypted/value")]
    assert (contradiction["status"], contradiction["severity"]) == ("fail", "high")
    assert contradiction["evidence"][0]["source"] == "observed"
    device = found[("DEV-005", "/devices/0/disk_encrypted")]
    assert device["status"] == "fail"
    assert device["evidence"][0] == {"pointer": "/devices/0/disk_encrypted", "actual": False,
                                     "expected": True, "source": "observed"}
    assert found[("DEV-006", "/devices/0/screen_lock")]["status"] == "pass"
    exposed = found[("OBS-003", "/$observed/listening/beyond_loopback")]
    assert exposed["status"] == "fail"
    assert exposed["evidence"][0]["actual"] == [f"0.0.0.0:{listeners[1]} (TWS paper)"]
    declared = found[("LOGIN-001", "/login/mfa/enabled")]["evidence"][0]
    assert declared["source"] == "declared"
    side = {row["fact"]: row for row in json.loads(run.stdout)["observed"]}
    assert side["disk_encrypted"]["declared"] == "yes"
    assert side["disk_encrypted"]["observed"] == "no (medium confidence)"
    assert side["screen_lock"]["observed"] == "yes (high confidence)"
    assert "observed" not in json.loads(clean.stdout)
    text = invoke("check", setup, "--probe", "--device", "laptop").stdout
    assert "DECLARED VS OBSERVED" in text
    assert "disk_encrypted       declared: yes" in text
    assert "observed: no (medium confidence)  [lsblk -J" in text


def test_probe_usage_errors(machine: Tools, tmp_path: Path) -> None:
    setup = str(EXAMPLES / "secure.json")
    alone = invoke("check", setup, "--probe")
    assert alone.exit_code == 2 and "--probe and --device NAME go together" in alone.stderr
    unknown = invoke("check", setup, "--probe", "--device", "desk")
    assert unknown.exit_code == 2
    assert unknown.stderr == ("ibkr-audit: error: " + setup + ": /devices: --device 'desk': "
                              "no device of that name is declared (declared: laptop, iphone)\n")
    fleet = invoke("check", str(EXAMPLES), "--probe", "--device", "laptop")
    assert fleet.exit_code == 2 and "explicit setup files" in fleet.stderr


def test_facts_is_one_call_of_plain_data(tools: Tools, tmp_path: Path) -> None:
    found = facts("laptop", platform="linux", env=tools.env(), ports={1: "x"}, home=tmp_path)
    assert json.loads(json.dumps(found)) == found
    assert set(found["facts"]) == {"disk_encrypted", "screen_lock", "firewall", "listening",
                                   "config_files"}


def test_own_sockets_are_listed_when_the_system_list_needs_root(
        listeners: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    import psutil

    def refuse(kind: str = "inet") -> list[object]:
        raise psutil.AccessDenied()  # what macOS answers a user who is not root

    monkeypatch.setattr(psutil, "net_connections", refuse)
    fact = ports.observe({listeners[0]: "TWS paper", listeners[1]: "TWS live"})
    assert (fact.status, fact.confidence) == ("observed", "medium")
    assert fact.how == "psutil.Process.net_connections() for this user's processes"
    assert [s["port"] for s in fact.value] == sorted(listeners)
    assert all(s["process"] for s in fact.value)  # our own process, so its name is known
    assert "need root" in (fact.reason or "")


def test_a_setup_cannot_forge_observations(tmp_path: Path) -> None:
    doc = json.loads((EXAMPLES / "secure.json").read_text())
    doc["$observed"] = {"disk_encrypted": {"status": "observed", "value": True}}
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(doc))
    run = invoke("check", str(path))
    assert run.exit_code == 2 and "/$observed: unknown key '$observed'" in run.stderr


def test_commands_run_without_a_shell_and_with_a_timeout(tools: Tools) -> None:
    from audit.observe.run import run

    echo = tools.bin / "echoer"
    echo.write_text('#!/bin/sh\nprintf "%s" "$1"\n')
    echo.chmod(0o755)
    literal = "a; touch pwned $(id)"
    done = run(["echoer", literal], tools.env())
    assert (done.ok, done.stdout) == (True, literal)
    assert not (tools.root / "pwned").exists()
    slow = tools.bin / "slow"
    slow.write_text("#!/bin/sh\nexec /bin/sleep 30\n")
    slow.chmod(0o755)
    late = run(["slow"], tools.env(), timeout=0.2)
    assert (late.ok, late.error) == (False, "slow did not answer within 0.2s")


def test_ipv6_sockets_are_told_apart() -> None:
    opened = []
    try:
        for address in ("::1", "::"):
            sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((address, 0))
            sock.listen(1)
            opened.append(sock)
    except OSError:
        for sock in opened:
            sock.close()
        pytest.skip("no IPv6 on this machine")
    try:
        local, everywhere = (s.getsockname()[1] for s in opened)
        fact = ports.observe({local: "TWS live", everywhere: "TWS paper"})
        by_port = {s["port"]: s for s in fact.value}
        assert (by_port[local]["address"], by_port[local]["loopback"]) == ("::1", True)
        assert (by_port[everywhere]["address"], by_port[everywhere]["loopback"]) == ("::", False)
    finally:
        for sock in opened:
            sock.close()
