"""Modes and owners of the IBKR config files: IBC config.ini, jts.ini, gateway conf.yaml."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from audit.observe.fact import Fact, observed

NAME = "config_files"

# Where IBC, TWS/IB Gateway and the Client Portal gateway keep them by default,
# relative to the home directory (the gateway lives wherever its zip was unpacked).
USUAL: dict[str, tuple[str, ...]] = {
    "ibc": ("ibc/config.ini", "Documents/IBC/config.ini"),
    "jts": ("Jts/jts.ini", "Applications/Jts/jts.ini"),
    "gateway": ("clientportal.gw/root/conf.yaml", "clientportal/root/conf.yaml"),
}
WINDOWS_JTS = "C:\\Jts\\jts.ini"


def observe(platform: str, given: Mapping[str, Iterable[str]] | None = None,
            home: Path | None = None) -> Fact:
    """Each given file (or, with none given, each file at a usual place) and its mode."""
    explicit = {kind: list(paths) for kind, paths in (given or {}).items() if paths}
    base = home if home is not None else Path.home()
    candidates: list[tuple[str, Path, bool]] = []
    if explicit:
        candidates = [(kind, Path(p), True) for kind, paths in explicit.items() for p in paths]
    else:
        for kind, rels in USUAL.items():
            candidates.extend((kind, base / rel, False) for rel in rels)
        if platform == "win32":
            candidates.append(("jts", Path(WINDOWS_JTS), False))
    entries = [e for e in (_entry(kind, path, platform, must) for kind, path, must in candidates)
               if e is not None]
    how = ("stat of the given files" if explicit
           else "stat of the usual locations under " + str(base))
    return observed(NAME, entries, how, "high")


def _entry(kind: str, path: Path, platform: str, given: bool) -> dict[str, Any] | None:
    try:
        info = path.stat()
    except OSError:
        return {"kind": kind, "path": str(path), "exists": False} if given else None
    entry: dict[str, Any] = {"kind": kind, "path": str(path), "exists": True}
    if platform == "win32":
        entry["mode"] = None
        entry["note"] = "Windows guards files with ACLs, which are not read here"
        return entry
    mode = stat.S_IMODE(info.st_mode)
    entry.update(mode=f"{mode:04o}", private=mode & 0o077 == 0,
                 owner=_owner(info.st_uid), owned_by_you=info.st_uid == _uid())
    return entry


def _uid() -> int | None:
    return os.getuid() if hasattr(os, "getuid") else None


def _owner(uid: int) -> str:
    try:
        import pwd
    except ImportError:  # pragma: no cover - Windows
        return str(uid)
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
