"""Facts from outside the setup, gathered before evaluation (the engine does no I/O).

Each becomes a :class:`~audit.engine.conditions.Probe` that checks read with the
``probe`` operator; nothing is gathered unless the user asked for it.
"""

from __future__ import annotations

from audit.engine.conditions import Probe
from audit.loading import Setup


def keyring(setup: Setup) -> dict[str, Probe]:
    """Whether the keyring entry the setup declares exists (``--check-keyring``)."""
    pointer = "/automation/credentials/keyring_service"
    creds = setup.data.get("automation", {}).get("credentials", {})
    service, username = creds.get("keyring_service"), creds.get("keyring_username")
    requested = Probe(True, "", "--check-keyring", "--check-keyring")
    found = {"keyring_requested": requested, **drill_seeds(setup)}
    if not (isinstance(service, str) and isinstance(username, str)):
        return {**found, "keyring_entry": Probe(
            None, pointer, "not declared", "keyring_service and keyring_username declared")}
    from audit.secrets import keyring_store

    try:
        lookup = keyring_store.exists(service, username)
    except Exception as exc:  # a broken keyring backend: "could not check", not a crash
        lookup = keyring_store.Lookup(None, _keyring_failed(exc))
    return {**found, "keyring_entry": Probe(
        lookup.found, pointer, lookup.observed,
        f"an entry for service {service!r}, user {username!r}")}


def _keyring_failed(exc: Exception) -> str:
    """Any backend failure (issue 14: an OSError from a dead D-Bus socket) makes the
    finding manual with this reason."""
    detail = f" ({exc.strerror})" if isinstance(exc, OSError) and exc.strerror else ""
    return f"the keyring failed: {type(exc).__name__}{detail}"


def drill_seeds(setup: Setup) -> dict[str, Probe]:
    """Whether drill seeds are enrolled under the declared backup devices, and how long."""
    from audit.secrets import drill

    backups = setup.data.get("login", {}).get("backup_authenticators", [])
    devices = [b.get("device") if isinstance(b.get("device"), str) else "" for b in backups]
    base = "/login/backup_authenticators"
    try:
        found = drill.seed_strength(devices)
    except Exception as exc:  # a broken keyring backend: "could not check", not a crash
        observed = f"unavailable: {_keyring_failed(exc)}"
        return {"drill_enrolled": Probe(None, base, observed,
                                        "a drill seed enrolled under a declared device"),
                "drill_seeds_strong": Probe(None, base, observed,
                                            f"at least {drill.STRONG_BITS} bits")}
    where = base if found.weakest is None else f"{base}/{found.weakest}/device"
    return {"drill_enrolled": Probe(found.enrolled, base, found.observed,
                                    "a drill seed enrolled under a declared device"),
            "drill_seeds_strong": Probe(found.strong, where, found.observed,
                                        f"at least {drill.STRONG_BITS} bits")}
