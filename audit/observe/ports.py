"""Which IBKR ports are listening, and on which addresses (psutil, no netstat parsing)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Any

from audit.observe.fact import Fact, observed, unobserved

NAME = "listening"
IBKR_PORTS: dict[int, str] = {
    7496: "TWS live", 7497: "TWS paper", 4001: "IB Gateway live", 4002: "IB Gateway paper",
    5000: "Client Portal gateway", 7462: "IBC command server",
}
HOW = "psutil.net_connections(kind='inet')"


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def observe(ports: Mapping[int, str] | None = None) -> Fact:
    """Listening TCP sockets on ``ports`` (default: the IBKR ones) and their addresses."""
    wanted = IBKR_PORTS if ports is None else ports
    try:
        import psutil
    except ImportError:  # pragma: no cover - a declared dependency
        return unobserved(NAME, HOW, "psutil is not installed")
    how, confidence, reason = HOW, "high", None
    try:
        rows = [(c.laddr, c.status, c.pid) for c in psutil.net_connections(kind="inet")]
    except psutil.AccessDenied:
        # macOS lists other users' sockets only to root: fall back to our own processes.
        how = "psutil.Process.net_connections() for this user's processes"
        confidence = "medium"
        reason = "sockets of other users' processes need root to list"
        rows = _own_connections(psutil)
    except OSError as exc:
        return unobserved(NAME, HOW, f"could not list sockets: {exc.strerror or exc}")
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for laddr, status, pid in rows:
        if status != psutil.CONN_LISTEN or not laddr:
            continue
        address, port = laddr[0], laddr[1]
        if port not in wanted:
            continue
        found[(address, port)] = {"port": port, "address": address, "service": wanted[port],
                                  "loopback": is_loopback(address),
                                  "process": _process_name(psutil, pid)}
    sockets = [found[k] for k in sorted(found, key=lambda k: (k[1], k[0]))]
    beyond = [f"{s['address']}:{s['port']} ({s['service']})" for s in sockets
              if not s["loopback"]]
    return observed(NAME, sockets, how, confidence, reason=reason, beyond_loopback=beyond,
                    ports=sorted(wanted))


def _own_connections(psutil: Any) -> list[tuple[Any, str, int | None]]:
    uid = os.getuid() if hasattr(os, "getuid") else None
    rows: list[tuple[Any, str, int | None]] = []
    for proc in psutil.process_iter(["uids"]):
        try:
            uids = proc.info.get("uids")
            if uid is not None and uids is not None and uids.real != uid:
                continue
            rows.extend((c.laddr, c.status, proc.pid) for c in proc.net_connections(kind="inet"))
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return rows


def _process_name(psutil: Any, pid: int | None) -> str | None:
    if not pid:
        return None
    try:
        return str(psutil.Process(pid).name())
    except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
