"""Full-disk encryption of the system disk: FileVault, LUKS/dm-crypt, BitLocker."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from audit.observe.fact import Fact, observed, unobserved
from audit.observe.run import Ran, denied, run

NAME = "disk_encrypted"


def observe(platform: str, env: Mapping[str, str] | None = None) -> Fact:
    """Whether the disk the system runs from is encrypted, on this ``platform``."""
    if platform == "darwin":
        return _filevault(run(["fdesetup", "status"], env))
    if platform.startswith("linux"):
        return _linux(env)
    if platform == "win32":
        drive = (env or {}).get("SystemDrive", "C:")
        return _bitlocker(run(["manage-bde", "-status", drive], env))
    return unobserved(NAME, "-", f"no disk-encryption probe for platform {platform!r}")


def _unrun(ran: Ran, what: str) -> Fact:
    if ran.error is not None:
        return unobserved(NAME, ran.how, ran.error)
    if denied(ran):
        return unobserved(NAME, ran.how, f"{what} needs privileges ibkr-audit does not ask for")
    first = (ran.output.strip().splitlines() or ["no output"])[0][:120]
    return unobserved(NAME, ran.how, f"{what} gave an answer we do not recognise: {first!r}")


def _filevault(ran: Ran) -> Fact:
    text = ran.stdout
    if ran.ok and "FileVault is On" in text:
        return observed(NAME, True, ran.how, "high")
    if ran.ok and "FileVault is Off" in text:
        return observed(NAME, False, ran.how, "high")
    return _unrun(ran, "fdesetup")


def _linux(env: Mapping[str, str] | None) -> Fact:
    # util-linux >= 2.37 names the column MOUNTPOINTS (a list); older ones MOUNTPOINT.
    ran = run(["lsblk", "-J", "-o", "NAME,TYPE,FSTYPE,MOUNTPOINTS"], env)
    if ran.error is None and not ran.ok:
        ran = run(["lsblk", "-J", "-o", "NAME,TYPE,FSTYPE,MOUNTPOINT"], env)
    if not ran.ok:
        return _unrun(ran, "lsblk")
    try:
        devices = json.loads(ran.stdout)["blockdevices"]
    except (ValueError, KeyError, TypeError):
        return _unrun(ran, "lsblk")
    chain = _path_to_root(devices if isinstance(devices, list) else [], [])
    if chain is None:
        return unobserved(NAME, ran.how, "the root filesystem is not on a block device lsblk "
                          "lists (a container, or a network or RAM root)")
    names = " > ".join(str(d.get("name")) for d in chain)
    if any(d.get("type") == "crypt" or d.get("fstype") == "crypto_LUKS" for d in chain):
        return observed(NAME, True, ran.how, "high", chain=names)
    return observed(NAME, False, ran.how, "medium", chain=names,
                    reason="no dm-crypt/LUKS layer under '/'; ZFS native encryption or "
                    "encryption below the disk would not show here")


def _mounts(device: Mapping[str, Any]) -> list[Any]:
    many = device.get("mountpoints")
    return list(many) if isinstance(many, list) else [device.get("mountpoint")]


def _path_to_root(devices: list[Any], above: list[dict[str, Any]]
                  ) -> list[dict[str, Any]] | None:
    """The devices from a disk down to the one mounted at '/', parents first."""
    for device in devices:
        if not isinstance(device, dict):
            continue
        chain = [*above, device]
        if "/" in _mounts(device):
            return chain
        found = _path_to_root(device.get("children") or [], chain)
        if found is not None:
            return found
    return None


_PROTECTION = re.compile(r"Protection Status:\s*Protection (On|Off)", re.IGNORECASE)


def _bitlocker(ran: Ran) -> Fact:
    match = _PROTECTION.search(ran.stdout) if ran.ok else None
    if match is None:
        return _unrun(ran, "manage-bde")
    on = match.group(1).lower() == "on"
    return observed(NAME, on, ran.how, "high")
