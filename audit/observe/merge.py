"""Put observed facts into the document the checks evaluate, under ``/$observed``.

A confident observation of a device fact replaces the declaration for the
probed device (the observed value decides the check); the declaration is kept
beside it so ``checklists/observed.json`` can report a contradiction. Pointers
whose value was replaced are listed under ``/$observed/overrides`` so evidence
can say ``observed``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from audit.errors import InputError, Problem
from audit.loading import Setup
from audit.observe.fact import DECISIVE, OBSERVED
from audit.pointer import join

DEVICE_FACTS = ("disk_encrypted", "screen_lock")
BAD_STORAGE = ("plaintext_file", "in_code")


def merge(setup: Setup, observed: dict[str, Any]) -> Setup:
    """``setup`` with ``observed`` (from :func:`audit.observe.facts`) merged in."""
    data = dict(setup.data)
    facts = {name: dict(fact) for name, fact in observed.get("facts", {}).items()}
    section: dict[str, Any] = {"device": observed.get("device"),
                               "platform": observed.get("platform"), **facts}
    overrides: list[str] = []
    device = observed.get("device")
    if device is not None and facts:
        index = _device_index(setup, device)
        devices = list(data["devices"])
        entry = dict(devices[index])
        section["device_pointer"] = join("/devices", index)
        for name in DEVICE_FACTS:
            fact = facts.get(name)
            if fact is None:
                continue
            if name in entry:
                fact["declared"] = entry[name]
            if (fact.get("status") == OBSERVED and fact.get("confidence") in DECISIVE
                    and isinstance(fact.get("value"), bool)):
                entry[name] = fact["value"]
                overrides.append(join("/devices", index, name))
        devices[index] = entry
        data["devices"] = devices
    secrets: list[str] = []
    code = observed.get("code")
    if code is not None:
        code = dict(code)
        secrets = list(code.pop("secrets", []))
        section["code"] = code
        pointer = _storage_override(data, code)
        if pointer:
            overrides.append(pointer)
    section["overrides"] = overrides
    data["$observed"] = section
    return replace(setup, data=data, extra_secrets=[*setup.extra_secrets, *secrets])


def _device_index(setup: Setup, name: str) -> int:
    devices = setup.data.get("devices")
    names = [d.get("name") for d in devices] if isinstance(devices, list) else []
    if name in names:
        return names.index(name)
    known = ", ".join(str(n) for n in names) or "none"
    raise InputError([Problem(f"--device {name!r}: no device of that name is declared "
                              f"(declared: {known})", file=setup.path, pointer="/devices")])


def _storage_override(data: dict[str, Any], code: dict[str, Any]) -> str | None:
    """Credentials found in the code decide how the API credentials are stored."""
    automation = data.get("automation")
    if not code.get("credentials") or not isinstance(automation, dict):
        return None
    credentials = dict(automation.get("credentials") or {})
    declared = credentials.get("storage")
    if declared in BAD_STORAGE:
        return None
    code["declared_storage"] = declared
    in_source = any(hit.split(":", 1)[0].endswith((".py", ".ipynb"))
                    for hit in code["credentials"])
    credentials["storage"] = "in_code" if in_source else "plaintext_file"
    data["automation"] = {**automation, "credentials": credentials}
    return "/automation/credentials/storage"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "not declared"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def side_by_side(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(fact, declared, observed, how) for each observed fact, for the reports."""
    section = data.get("$observed")
    if not isinstance(section, dict):
        return []
    rows: list[tuple[str, str, str, str]] = []
    found = data.get("automation")
    automation: dict[str, Any] = found if isinstance(found, dict) else {}
    for name in ("disk_encrypted", "screen_lock", "firewall", "listening", "config_files"):
        fact = section.get(name)
        if not isinstance(fact, dict):
            continue
        declared = "-"
        if name in DEVICE_FACTS:
            declared = _shown(fact.get("declared"))
        elif name == "listening":
            declared = "trusted_ips " + _shown(automation.get("trusted_ips"))
        if fact.get("status") != OBSERVED:
            observed = f"unobserved: {fact.get('reason')}"
        elif name == "listening":
            beyond = fact.get("beyond_loopback") or []
            observed = (f"{len(fact.get('value') or [])} listening"
                        + (f"; beyond loopback: {', '.join(beyond)}" if beyond else
                           "; all on loopback"))
        elif name == "config_files":
            loose = [e["path"] for e in fact.get("value") or [] if e.get("private") is False]
            observed = (f"{len(fact.get('value') or [])} found"
                        + (f"; readable by others: {', '.join(loose)}" if loose else ""))
        else:
            observed = f"{_shown(fact.get('value'))} ({fact.get('confidence')} confidence)"
        rows.append((name, declared, observed, str(fact.get("how", ""))))
    code = section.get("code")
    if isinstance(code, dict):
        storage = code.get("declared_storage",
                           (automation.get("credentials") or {}).get("storage"))
        rows.append(("credentials in code", f"storage {_shown(storage)}",
                     f"{len(code.get('credentials') or [])} credential(s), "
                     f"{len(code.get('account_ids') or [])} account number(s) in "
                     f"{code.get('files_scanned')} file(s)", str(code.get("how", ""))))
    return rows
