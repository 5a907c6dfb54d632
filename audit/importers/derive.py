"""Setup facts that a configuration file proves, for ``ibkr-audit import``."""

from __future__ import annotations

import ipaddress
from typing import Any


def _networks(values: list[str]) -> tuple[list[str], list[str]]:
    good, skipped = [], []
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            skipped.append(value)
            continue
        if value not in good:
            good.append(value)
    return good, skipped


def _yes(value: str) -> bool | None:
    lowered = value.strip().lower()
    return True if lowered in ("yes", "true") else False if lowered in ("no", "false") else None


def facts(kind: str, entry: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(JSON pointer → value, notes) derived from one parsed file."""
    out: dict[str, Any] = {}
    notes: list[str] = []
    settings = entry.get("settings", {})
    if kind in ("ibc", "jts"):
        out["/automation/api"] = "tws_api"
        read_only = _yes(str(settings.get("ReadOnlyApi", "")))
        if read_only is not None:
            out["/automation/read_only_api"] = read_only
    if kind == "ibc":
        if settings.get("IbPassword") == "set" or settings.get("FIXPassword") == "set":
            out["/automation/credentials/storage"] = "plaintext_file"
            notes.append("config.ini holds a password: credentials.storage is plaintext_file")
        ips = entry.get("trusted_api_clients", [])
    elif kind == "jts":
        ips = entry.get("trusted_ips", [])
    else:
        out["/automation/api"] = "client_portal_api"
        ips = entry.get("allow", [])
    if ips:
        good, skipped = _networks(ips)
        if good:
            out["/automation/trusted_ips"] = good
        notes.extend(f"not an address or range, left out of trusted_ips: {s}" for s in skipped)
    return out, notes
