"""Observe this machine, read-only and locally: one module per fact.

``facts`` is the one entry point the CLI (and the request pipeline) calls; it
returns plain JSON data. Nothing here sends anything anywhere, asks for
privileges, or guesses: a fact that cannot be observed says why.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

FACTS = ("disk_encrypted", "screen_lock", "firewall", "listening", "config_files")


def facts(device: str | None, *, probe: bool = True,
          config_paths: Mapping[str, Iterable[str]] | None = None,
          code_paths: Iterable[str] = (), platform: str | None = None,
          env: Mapping[str, str] | None = None, ports: Mapping[int, str] | None = None,
          home: Path | None = None) -> dict[str, Any]:
    """Observed facts for ``device`` (this machine), and the code scan when paths are given.

    ``platform`` (default ``sys.platform``), ``env``, ``ports`` and ``home`` are
    there so tests and callers can point the probes somewhere else.
    """
    import os

    from audit.observe import disk, files, firewall, screenlock
    from audit.observe import ports as ports_mod

    where = platform or sys.platform
    environ = dict(os.environ) if env is None else dict(env)
    out: dict[str, Any] = {"device": device, "platform": where, "facts": {}}
    if probe:
        found = [disk.observe(where, environ), screenlock.observe(where, environ),
                 firewall.observe(where, environ), ports_mod.observe(ports),
                 files.observe(where, config_paths, home)]
        out["facts"] = {fact.name: fact.to_dict() for fact in found}
    roots = list(code_paths)
    if roots:
        out["code"] = scan_code(roots)
    return out


def scan_code(roots: list[str]) -> dict[str, Any]:
    """The code scan as data, with the raw secret values under ``secrets`` for redaction."""
    from audit.observe import code

    result = code.scan(roots)
    return {**result.to_dict(), "secrets": result.secrets()}


__all__ = ["FACTS", "facts", "scan_code"]
