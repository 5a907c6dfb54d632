"""The OS keyring, behind a tiny interface that never returns a secret to print.

``keyring`` is imported lazily: it can be slow to initialise and may talk to a
desktop service, so only the commands that need it pay for it.

The tool refuses to give false assurance: a backend that stores nothing (``null``,
``fail``) or stores secrets in a plain file (``keyrings.alt``'s plaintext backend)
is named and refused, and every store is read back before it is reported.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import Enum
from typing import Any

DRILL_SERVICE = "ibkr-audit-drill"


class Kind(Enum):
    """How far a keyring backend can be trusted with a secret."""

    OS = "os"  # the operating system's own credential store
    UNKNOWN = "unknown"  # a third-party or test backend: allowed, and named
    PLAINTEXT = "plaintext"  # stores the secret readable in a file
    NONE = "none"  # stores nothing at all


# Backends identified by module and class name, so no optional package is imported.
_OS = {
    "keyring.backends.macOS.Keyring": "macOS Keychain",
    "keyring.backends.SecretService.Keyring": "Secret Service (GNOME Keyring, KWallet)",
    "keyring.backends.libsecret.Keyring": "libsecret (GNOME Keyring)",
    "keyring.backends.kwallet.DBusKeyring": "KWallet",
    "keyring.backends.kwallet.DBusKeyringKWallet4": "KWallet 4",
    "keyring.backends.Windows.WinVaultKeyring": "Windows Credential Manager",
}
_PLAINTEXT = {
    "keyrings.alt.file.PlaintextKeyring": "keyrings.alt plaintext file",
}
_NONE = {
    "keyring.backends.null.Keyring": "null keyring (stores nothing)",
    "keyring.backends.fail.Keyring": "fail keyring (no backend found)",
}


@dataclass(frozen=True)
class Backend:
    """The backend the keyring library would use, as the user should hear about it."""

    name: str  # module.Class
    kind: Kind
    label: str

    def describe(self) -> str:
        return f"{self.label} ({self.name})" if self.label != self.name else self.name


@dataclass(frozen=True)
class Lookup:
    """Whether a usable entry exists: True, False, or None with the reason we could not tell.

    ``found`` is False, with a reason, when the entry exists but sits in a plaintext
    backend: an entry anyone can read does not count as kept in the OS keyring.
    """

    found: bool | None
    reason: str = ""
    backend: str = ""

    @property
    def observed(self) -> str:
        if self.found is None:
            return f"unavailable: {self.reason}"
        text = "found" if self.found else (self.reason or "not found")
        return f"{text} ({self.backend})" if self.backend else text


class KeyringUnavailable(Exception):
    """No usable keyring backend, or it is locked or unsafe; the message says which."""


def _qualname(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _is_chain(backend: Any) -> bool:
    from keyring.backends.chainer import ChainerBackend

    return isinstance(backend, ChainerBackend)


def classify(backend: Any) -> Backend:
    """Name and classify a backend object; a chain is judged by where it writes."""
    name = _qualname(backend)
    if _is_chain(backend):
        chained = list(getattr(backend, "backends", []))
        if not chained:
            return Backend(name, Kind.NONE, "empty keyring chain (stores nothing)")
        return classify(chained[0])
    if name in _NONE:
        return Backend(name, Kind.NONE, _NONE[name])
    if name in _PLAINTEXT:
        return Backend(name, Kind.PLAINTEXT, _PLAINTEXT[name])
    if name in _OS:
        return Backend(name, Kind.OS, _OS[name])
    return Backend(name, Kind.UNKNOWN, name)


def active() -> Backend:
    import keyring

    return classify(keyring.get_keyring())


def how_to_fix() -> str:
    """Where to get a real keyring, for the platform we run on."""
    common = ("unset PYTHON_KEYRING_BACKEND and remove any 'default-keyring' line from "
              "keyringrc.cfg (see 'python -m keyring diagnose')")
    if sys.platform == "darwin":
        return f"the macOS Keychain works out of the box: {common}"
    if sys.platform.startswith("win"):
        return f"Windows Credential Manager works out of the box: {common}"
    return ("install and unlock a Secret Service keyring (GNOME Keyring or KWallet, e.g. "
            "'sudo apt install gnome-keyring'); on a headless host start one inside a D-Bus "
            "session ('dbus-run-session -- sh', then 'gnome-keyring-daemon --unlock'); "
            f"and {common}")


def refusal(backend: Backend) -> str:
    if backend.kind is Kind.PLAINTEXT:
        why = "it keeps secrets readable in a plain file"
    else:
        why = "it does not store anything"
    return (f"refusing to use the keyring backend {backend.describe()}: {why}. To get a real "
            f"keyring: {how_to_fix()}")


def require_safe() -> Backend:
    """The active backend, or KeyringUnavailable naming it when it is unsafe or empty."""
    backend = active()
    if backend.kind in (Kind.NONE, Kind.PLAINTEXT):
        raise KeyringUnavailable(refusal(backend))
    return backend


def _errors() -> tuple[type[Exception], ...]:
    import keyring.errors

    return (keyring.errors.KeyringError, RuntimeError)


def _explain(exc: Exception) -> str:
    import keyring.errors

    if isinstance(exc, keyring.errors.KeyringLocked):
        return "the keyring is locked; unlock it and try again"
    if isinstance(exc, keyring.errors.NoKeyringError):
        return f"no keyring backend is available on this system; {how_to_fix()}"
    # some backends raise plain errors when the D-Bus session is missing
    return f"the keyring failed: {type(exc).__name__}"


def _holder(backend: Any, service: str, username: str) -> Any | None:
    """The (chained) backend object that holds the entry, or None."""
    if _is_chain(backend):
        for inner in getattr(backend, "backends", []):
            if inner.get_password(service, username) is not None:
                return inner
        return None
    return backend if backend.get_password(service, username) is not None else None


def exists(service: str, username: str) -> Lookup:
    """Look the entry up without ever handing the secret to the caller."""
    import keyring

    current = keyring.get_keyring()
    writer = classify(current)
    if writer.kind is Kind.NONE:
        return Lookup(None, refusal(writer), writer.name)
    try:
        holder = _holder(current, service, username)
    except _errors() as exc:
        return Lookup(None, _explain(exc), writer.name)
    if holder is None:
        if writer.kind is Kind.PLAINTEXT:
            return Lookup(False, f"not found, and the active backend, {writer.describe()}, "
                                 "would keep it in a plain file", writer.name)
        return Lookup(False, backend=writer.name)
    where = classify(holder)
    if where.kind is Kind.PLAINTEXT:
        return Lookup(False, f"found, but in a plaintext backend, {where.describe()}",
                      where.name)
    return Lookup(True, backend=where.name)


def store(service: str, username: str, secret: str) -> Backend:
    """Store ``secret`` and read it back; returns the backend that now holds it."""
    import keyring

    backend = require_safe()
    try:
        keyring.set_password(service, username, secret)
        back = keyring.get_password(service, username)
    except _errors() as exc:
        raise KeyringUnavailable(_explain(exc)) from None
    if back != secret:
        raise KeyringUnavailable(f"the keyring backend {backend.describe()} accepted the secret "
                                 "but did not return it when read back, so it is not stored. "
                                 f"To get a working keyring: {how_to_fix()}")
    return backend


def fetch(service: str, username: str) -> str | None:
    """The secret itself, for the drill only; callers must never print it."""
    import keyring

    backend = active()
    if backend.kind is Kind.NONE:
        raise KeyringUnavailable(refusal(backend))
    try:
        value: str | None = keyring.get_password(service, username)
    except _errors() as exc:
        raise KeyringUnavailable(_explain(exc)) from None
    return value
