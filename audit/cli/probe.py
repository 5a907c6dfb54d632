"""``ibkr-audit probe``: what this machine says about itself, fact by fact."""

from __future__ import annotations

import json
from typing import Any

import click

from audit.cli.common import emit, output_option
from audit.secrets.scan import Redactor
from audit.textsafe import clean

PRIVILEGE_NOTE = ("Nothing was sent anywhere and nothing was run with privileges; "
                  "'unobserved' facts say why.")


@click.command("probe")
@click.option("--device", metavar="NAME",
              help="The name this machine has under devices in your setup (labels the output).")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("--ibc", "ibc_files", multiple=True, metavar="PATH",
              help="Look at this IBC config.ini instead of the usual places (repeatable).")
@click.option("--jts", "jts_files", multiple=True, metavar="PATH",
              help="Look at this jts.ini instead of the usual places (repeatable).")
@click.option("--gateway-conf", "gateway_files", multiple=True, metavar="PATH",
              help="Look at this gateway conf.yaml instead of the usual places (repeatable).")
@output_option
def probe_command(device: str | None, fmt: str, ibc_files: tuple[str, ...],
                  jts_files: tuple[str, ...], gateway_files: tuple[str, ...],
                  output: str | None) -> None:
    """Observe this machine: IBKR ports, disk encryption, screen lock, firewall, config files.

    Read-only and local: each fact says how it was observed (the command or
    file) and how far to trust it; a fact that cannot be observed here, or only
    with privileges, is 'unobserved' with the reason. Exit 0 when it ran.

    \b
    Examples:
      ibkr-audit probe --device laptop
      ibkr-audit probe --format json --ibc ~/ibc/config.ini
    """
    from audit import observe

    found = observe.facts(device, config_paths={"ibc": ibc_files, "jts": jts_files,
                                                "gateway": gateway_files})
    found = Redactor().value(found)  # account numbers in paths or names are masked
    text = (json.dumps(found, indent=2, sort_keys=True) + "\n" if fmt == "json"
            else render_text(found))
    emit(text, output)


def _value(fact: dict[str, Any]) -> str:
    value = fact.get("value")
    if fact.get("status") != "observed":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return f"{len(value)} found"
    return json.dumps(value)


def _details(name: str, fact: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if name == "listening":
        lines += [f"{s['address']}:{s['port']} {s['service']}"
                  + ("" if s["loopback"] else "  <- reachable beyond this machine")
                  + (f" ({s['process']})" if s.get("process") else "")
                  for s in fact.get("value") or []]
    elif name == "config_files":
        for entry in fact.get("value") or []:
            if not entry.get("exists"):
                lines.append(f"{entry['kind']}: {entry['path']} (not found)")
                continue
            mode = entry.get("mode") or "mode not read"
            owner = f", owner {entry['owner']}" if entry.get("owner") else ""
            private = "" if entry.get("private", True) else "  <- readable by others"
            lines.append(f"{entry['kind']}: {entry['path']} {mode}{owner}{private}")
    if "lock_delay_seconds" in fact:
        lines.append(f"locks after {fact['lock_delay_seconds']} s")
    if fact.get("chain"):
        lines.append(f"devices under '/': {fact['chain']}")
    if fact.get("profiles"):
        lines.append(", ".join(f"{k} {'on' if v else 'off'}" for k, v in fact["profiles"].items()))
    if fact.get("reason"):
        lines.append(("why: " if fact.get("status") != "observed" else "note: ")
                     + fact["reason"])
    lines.append(f"how: {fact.get('how')}")
    return lines


def render_text(found: dict[str, Any]) -> str:
    """One block per fact: value and confidence, then details, reason and how."""
    title = "ibkr-audit probe"
    if found.get("device"):
        title += f" · device {found['device']}"
    out = [clean(f"{title} · platform {found.get('platform')}"), ""]
    for name, fact in found.get("facts", {}).items():
        confidence = f" ({fact['confidence']} confidence)" if fact.get("confidence") else ""
        out.append(clean(f"  {name:<15} {fact.get('status'):<11} {_value(fact)}{confidence}"))
        out.extend(clean(" " * 18 + line) for line in _details(name, fact))
    out += ["", PRIVILEGE_NOTE]
    return "\n".join(out) + "\n"
