"""The OS keyring, behind a tiny interface that never returns a secret to print.

``keyring`` is imported lazily: it can be slow to initialise and may talk to a
desktop service, so only the commands that need it pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass

DRILL_SERVICE = "ibkr-audit-drill"


@dataclass(frozen=True)
class Lookup:
    """Whether an entry exists: True, False, or None with the reason we could not tell."""

    found: bool | None
    reason: str = ""


class KeyringUnavailable(Exception):
    """No usable keyring backend, or it is locked; the message says which."""


def _errors() -> tuple[type[Exception], ...]:
    import keyring.errors

    return (keyring.errors.KeyringError,)


def _explain(exc: Exception) -> str:
    import keyring.errors

    if isinstance(exc, keyring.errors.KeyringLocked):
        return "the keyring is locked; unlock it and try again"
    if isinstance(exc, keyring.errors.NoKeyringError):
        return "no keyring backend is available on this system"
    return f"the keyring failed: {type(exc).__name__}"


def exists(service: str, username: str) -> Lookup:
    """Look the entry up without ever handing the secret to the caller."""
    import keyring

    try:
        found = keyring.get_password(service, username) is not None
    except _errors() as exc:
        return Lookup(None, _explain(exc))
    except RuntimeError as exc:  # some backends raise plain errors when the bus is missing
        return Lookup(None, f"the keyring failed: {type(exc).__name__}")
    return Lookup(found)


def store(service: str, username: str, secret: str) -> None:
    import keyring

    try:
        keyring.set_password(service, username, secret)
    except _errors() as exc:
        raise KeyringUnavailable(_explain(exc)) from None


def fetch(service: str, username: str) -> str | None:
    """The secret itself, for the drill only; callers must never print it."""
    import keyring

    try:
        value: str | None = keyring.get_password(service, username)
    except _errors() as exc:
        raise KeyringUnavailable(_explain(exc)) from None
    return value
