"""Whether the screen locks by itself, and after how long, where the OS says so."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from audit.observe.fact import Fact, observed, unobserved
from audit.observe.run import run

NAME = "screen_lock"
RegistryReader = Callable[[str, str], str | int | None]


def observe(platform: str, env: Mapping[str, str] | None = None,
            registry: RegistryReader | None = None) -> Fact:
    """Screen lock on this ``platform``; ``registry`` reads a Windows value (injectable)."""
    environ = env if env is not None else {}
    if platform == "darwin":
        return _macos(env)
    if platform.startswith("linux"):
        desktop = environ.get("XDG_CURRENT_DESKTOP", "")
        if "KDE" in desktop.upper().split(":"):
            return _kde(env)
        if "GNOME" in desktop.upper() or "UNITY" in desktop.upper():
            return _gnome(env)
        if not desktop:
            return unobserved(NAME, "XDG_CURRENT_DESKTOP", "no graphical session here (a server, "
                              "or run from outside the desktop session)")
        return unobserved(NAME, "XDG_CURRENT_DESKTOP", f"desktop {desktop!r} is not one we can "
                          "read (GNOME and KDE are)")
    if platform == "win32":
        return _windows(registry or _winreg_reader)
    return unobserved(NAME, "-", f"no screen-lock probe for platform {platform!r}")


_MAC_DELAY = re.compile(r"screenLock delay is (immediate|\d+ seconds?)", re.IGNORECASE)


def _macos(env: Mapping[str, str] | None) -> Fact:
    ran = run(["sysadminctl", "-screenLock", "status"], env)
    if ran.error is not None:
        return unobserved(NAME, ran.how, ran.error)
    text = ran.output  # sysadminctl logs its answer on stderr
    if re.search(r"screenLock is off", text, re.IGNORECASE):
        return observed(NAME, False, ran.how, "high")
    match = _MAC_DELAY.search(text)
    if match is None:
        return unobserved(NAME, ran.how, "sysadminctl gave an answer we do not recognise")
    delay = 0 if match.group(1).lower() == "immediate" else int(match.group(1).split()[0])
    # The password delay counts only once the screen saver starts: read when it does.
    idle = run(["defaults", "-currentHost", "read", "com.apple.screensaver", "idleTime"], env)
    hows = f"{ran.how}; {idle.how}"
    idle_s = _uint(idle.stdout.strip()) if idle.ok else None
    if idle_s == 0:
        return observed(NAME, False, hows, "high", reason="the screen saver never starts "
                        "(idleTime 0), so the lock never starts by itself")
    if idle_s is None:  # not set: macOS starts the screen saver after 20 minutes
        return observed(NAME, True, hows, "medium", lock_delay_seconds=1200 + delay,
                        reason="idleTime is not set; assumed the 20-minute default")
    return observed(NAME, True, hows, "high", lock_delay_seconds=idle_s + delay)


def _gsetting(schema: str, key: str, env: Mapping[str, str] | None) -> tuple[str, str | None]:
    ran = run(["gsettings", "get", schema, key], env)
    if not ran.ok:
        return ran.how, None
    return ran.how, ran.stdout.strip()


def _uint(text: str | None) -> int | None:
    match = re.fullmatch(r"(?:uint32\s+)?(\d+)", text or "")
    return int(match.group(1)) if match else None


def _gnome(env: Mapping[str, str] | None) -> Fact:
    how, enabled = _gsetting("org.gnome.desktop.screensaver", "lock-enabled", env)
    if enabled not in ("true", "false"):
        return unobserved(NAME, how, "gsettings did not answer (not installed, or no session)")
    if enabled == "false":
        return observed(NAME, False, how, "high")
    idle_how, idle = _gsetting("org.gnome.desktop.session", "idle-delay", env)
    _delay_how, delay = _gsetting("org.gnome.desktop.screensaver", "lock-delay", env)
    idle_s, delay_s = _uint(idle), _uint(delay)
    hows = f"{how}; {idle_how}"
    if idle_s is None:
        return unobserved(NAME, hows, "lock is enabled but the idle delay could not be read")
    if idle_s == 0:
        return observed(NAME, False, hows, "high", reason="the screen never blanks (idle-delay "
                        "0), so the lock never starts by itself")
    return observed(NAME, True, hows, "high",
                    lock_delay_seconds=idle_s + (delay_s or 0))


def _kde(env: Mapping[str, str] | None) -> Fact:
    for tool in ("kreadconfig6", "kreadconfig5"):
        argv = [tool, "--file", "kscreenlockerrc", "--group", "Daemon", "--key"]
        ran = run([*argv, "Autolock"], env)
        if ran.error is not None:
            continue
        if not ran.ok:
            return unobserved(NAME, ran.how, f"{tool} failed")
        # An empty answer means the key is at its default: Autolock on, after 5 minutes.
        autolock = ran.stdout.strip().lower() != "false"
        if not autolock:
            return observed(NAME, False, ran.how, "high")
        timeout = run([*argv, "Timeout"], env)
        minutes = _uint(timeout.stdout.strip()) if timeout.ok and timeout.stdout.strip() else 5
        return observed(NAME, True, ran.how, "high",
                        lock_delay_seconds=(minutes or 0) * 60)
    return unobserved(NAME, "kreadconfig6/kreadconfig5", "kreadconfig not found on PATH")


_DESKTOP = r"HKCU\Control Panel\Desktop"
_POLICY = r"HKCU\Software\Policies\Microsoft\Windows\Control Panel\Desktop"


def _windows(read: RegistryReader) -> Fact:
    """The screen saver with a password, by policy first, then the user's setting.

    Windows can also lock through power settings (sign-in required on wake) or
    Dynamic Lock, which this does not read; so 'off' here is low confidence.
    """
    def value(name: str) -> str | int | None:
        found = read(_POLICY, name)
        return found if found is not None else read(_DESKTOP, name)

    active, secure, timeout = (value(n) for n in ("ScreenSaveActive", "ScreenSaverIsSecure",
                                                  "ScreenSaveTimeOut"))
    how = f"registry {_POLICY} and {_DESKTOP}"
    if active is None and secure is None:
        return unobserved(NAME, how, "no screen-saver settings in the registry")
    seconds = _uint(str(timeout)) if timeout is not None else None
    if str(active) == "1" and str(secure) == "1" and seconds:
        return observed(NAME, True, how, "medium", lock_delay_seconds=seconds)
    return observed(NAME, False, how, "low", reason="no password-protected screen saver; a lock "
                    "on wake from sleep or Dynamic Lock would not show here")


def _winreg_reader(key: str, name: str) -> str | int | None:  # pragma: no cover - Windows only
    import sys

    if sys.platform != "win32":
        return None
    import winreg

    root, _sep, path = key.partition("\\")
    hive = {"HKCU": winreg.HKEY_CURRENT_USER, "HKLM": winreg.HKEY_LOCAL_MACHINE}[root]
    try:
        with winreg.OpenKey(hive, path) as handle:
            found, _kind = winreg.QueryValueEx(handle, name)
    except OSError:
        return None
    return found if isinstance(found, str | int) else None
