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
    if not (isinstance(service, str) and isinstance(username, str)):
        return {"keyring_requested": requested, "keyring_entry": Probe(
            None, pointer, "not declared", "keyring_service and keyring_username declared")}
    from audit.secrets import keyring_store

    lookup = keyring_store.exists(service, username)
    return {"keyring_requested": requested, "keyring_entry": Probe(
        lookup.found, pointer, lookup.observed,
        f"an entry for service {service!r}, user {username!r}")}
