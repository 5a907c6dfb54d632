"""``ibkr-audit init``: write a valid setup file, by questions or from an example."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from audit import _resources
from audit.errors import Problem, UsageError
from audit.fsutil import check_target, write_atomic
from audit.loading import load_setup
from audit.schema import load_schema
from audit.textsafe import shell_command

EXAMPLES = ("maya", "minimal", "secure")


def _enum(*path: str) -> list[str]:
    """The allowed values at ``path`` in the setup schema (following $refs)."""
    schema = load_schema()
    node: Any = schema
    for key in path:
        node = node["properties"][key] if key != "[]" else node["items"]
        while "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    if "items" in node and "enum" not in node:
        node = node["items"]
        while "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    values: list[str] = node["enum"]
    return values


def _choice(text: str, *path: str, default: str | None = None) -> str:
    values = _enum(*path)
    answer: str = click.prompt(text, type=click.Choice(values, case_sensitive=False),
                               default=default, show_choices=len(values) <= 12)
    return answer


def _many(text: str, *path: str, default: str = "") -> list[str]:
    values = _enum(*path)
    while True:
        raw: str = click.prompt(f"{text} (comma-separated; from: {', '.join(values)})",
                                default=default, show_default=bool(default))
        picked = [v.strip() for v in raw.split(",") if v.strip()]
        bad = [v for v in picked if v not in values]
        if not bad:
            return list(dict.fromkeys(picked))
        click.echo(f"Not recognised: {', '.join(bad)}", err=True)


def _date(text: str, default: str) -> str:
    while True:
        raw: str = click.prompt(text, default=default)
        try:
            dt.date.fromisoformat(raw)
        except ValueError:
            click.echo("Use YYYY-MM-DD, e.g. 2026-11-25.", err=True)
            continue
        return raw


def interview() -> dict[str, Any]:
    """Ask for each section; every answer is constrained to what the schema accepts."""
    today = dt.date.today().isoformat()
    click.echo("Describe how your IBKR account is set up. Press Enter to accept a default.\n")
    profile: dict[str, Any] = {"name": click.prompt("Your name or a nickname", default="me")}
    residence = click.prompt("Country of residence (ISO code, e.g. US, GB, DE)",
                             type=click.Choice(_enum("profile", "residence"),
                                               case_sensitive=False),
                             show_choices=False).upper()
    profile["residence"] = residence
    profile["account_entity"] = _choice("IBKR entity holding the account (see your statements)",
                                        "profile", "account_entity", default="unknown")
    profile["account_type"] = _choice("Account type", "profile", "account_type",
                                      default="individual")
    profile["goals"] = {
        axis: _choice(label, "profile", "goals", axis, default="medium")
        for axis, label in (("strategy_complexity", "Strategy complexity"),
                            ("execution_sensitivity", "Execution sensitivity (slippage hurts?)"),
                            ("operational_tolerance", "Tolerance for setup and upkeep"))
    }
    profile["strategies"] = _many("What do you trade", "profile", "strategies",
                                  default="equities")
    profile["interfaces"] = _many("Interfaces you use today", "profile", "interfaces",
                                  default="mobile,client_portal")
    profile["reviewed_on"] = today

    click.echo("\nLogin")
    login: dict[str, Any] = {"mfa": {"enabled": click.confirm("Two-factor login enabled?",
                                                             default=True)}}
    login["mfa"]["primary"] = _choice("Primary second factor", "login", "mfa", "primary",
                                      default="ibkr_mobile")
    backups: list[dict[str, Any]] = []
    while click.confirm("Add a backup authenticator?", default=not backups):
        backups.append({
            "method": _choice("  Method", "login", "backup_authenticators", "[]", "method",
                              default="hardware_token"),
            "device": click.prompt("  Which device holds it", default="yubikey"),
            "last_tested": _date("  Last tested on", today),
        })
    login["backup_authenticators"] = backups
    login["password"] = {
        "unique": click.confirm("Is your IBKR password used nowhere else?", default=True),
        "manager": _choice("Where is the password kept", "login", "password", "manager",
                           default="dedicated"),
        "stored_plaintext": click.confirm("Is it also written down in a plain file or note?",
                                          default=False),
    }
    login["entry_point"] = _choice("How do you reach the login page", "login", "entry_point",
                                   default="bookmark")

    click.echo("\nDevices")
    devices: list[dict[str, Any]] = []
    while click.confirm("Add a device?", default=not devices):
        device: dict[str, Any] = {
            "name": click.prompt("  Name", default=f"device{len(devices) + 1}"),
            "kind": _choice("  Kind", "devices", "[]", "kind", default="laptop"),
            "os": click.prompt("  Operating system", default="unknown"),
        }
        for key, question, default in (
                ("shared", "  Does anyone else use it?", False),
                ("registered", "  Registered with IBKR?", True),
                ("disk_encrypted", "  Disk encrypted?", True),
                ("screen_lock", "  Screen locks automatically?", True),
                ("saves_credentials", "  Does it remember the IBKR password?", False),
                ("authenticator", "  Does it hold your primary second factor?", False)):
            device[key] = click.confirm(question, default=default)
        devices.append(device)

    click.echo("\nPermissions")
    permissions: dict[str, Any] = {
        "stocks": click.confirm("Stock permission?", default=True),
        "options_level": click.prompt("Options level (0 none ... 4 uncovered)",
                                      type=click.IntRange(0, 4), default=0),
        "futures": click.confirm("Futures permission?", default=False),
        "forex": click.confirm("Forex permission?", default=False),
        "margin": _choice("Margin type", "permissions", "margin", default="cash"),
    }
    setup: dict[str, Any] = {"schema_version": 1, "profile": profile, "login": login,
                             "devices": devices, "permissions": permissions}
    if (permissions["margin"] != "cash" or permissions["options_level"] > 0
            or permissions["futures"]):
        click.echo("\nMargin safeguards (you use leverage)")
        setup["risk"] = {
            "margin_alerts": click.confirm("Margin alerts on?", default=True),
            "maintenance_buffer_pct": click.prompt("Buffer above maintenance margin, %",
                                                   type=click.FloatRange(0, 100), default=10.0),
            "cross_asset_monitoring": click.confirm("Do you watch margin across asset classes?",
                                                    default=False),
        }
    click.echo("\nAutomation")
    automation: dict[str, Any] = {"enabled": click.confirm("Does a script or bot trade?",
                                                           default=False)}
    if automation["enabled"]:
        automation["api"] = _choice("API", "automation", "api", default="tws_api")
        automation["purpose"] = _choice("Purpose", "automation", "purpose",
                                        default="rebalancing")
        automation["paper_trading"] = {
            "days": click.prompt("Days of paper trading", type=click.IntRange(0), default=0),
            "passed": click.confirm("Did paper trading go without surprises?", default=False)}
        for key, question in (("code_review", "Was the code reviewed?"),
                              ("dry_run_mode", "Can it run without sending orders?"),
                              ("kill_switch", "Is there a kill switch?"),
                              ("read_only_api", "Is the API connection read-only?")):
            automation[key] = click.confirm(question, default=False)
        automation["limits"] = {
            "max_orders_per_minute": click.prompt("Max orders per minute",
                                                  type=click.IntRange(1), default=5),
            "max_order_notional": click.prompt("Max value of one order",
                                               type=click.FloatRange(0, min_open=True),
                                               default=10000.0)}
        automation["anomaly_failsafe"] = _choice("On an anomaly the script", "automation",
                                                 "anomaly_failsafe", default="disable_trading")
        automation["monitoring"] = {"alerts": click.confirm("Alerts on errors?", default=True)}
        automation["trusted_ips"] = [click.prompt("Address allowed to connect to the API",
                                                  default="127.0.0.1")]
        automation["credentials"] = {"storage": _choice("API credentials are stored in",
                                                        "automation", "credentials", "storage",
                                                        default="keyring")}
    setup["automation"] = automation
    return setup


@click.command("init")
@click.argument("path", default="setup.json", metavar="[PATH]")
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@click.option("--non-interactive", is_flag=True, help="Ask nothing; write --example.")
@click.option("--example", type=click.Choice(EXAMPLES), default=None,
              help="Start from a bundled example (maya, minimal, secure).")
def init_command(path: str, force: bool, non_interactive: bool, example: str | None) -> None:
    """Write a new setup file at PATH (default: setup.json).

    Asks about each section with the allowed values offered, or copies a bundled
    example. The file is written atomically with mode 0600 and validated.

    \b
    Examples:
      ibkr-audit init my-setup.json
      ibkr-audit init --non-interactive --example minimal setup.json
    """
    target = Path(path)
    check_target(target)  # before any question: a device, a FIFO, a name too long
    if target.exists() and not force:
        raise UsageError([Problem("already exists; pass --force to overwrite", file=path)])
    if non_interactive and example is None:
        raise UsageError("--non-interactive needs --example maya|minimal|secure")
    if example is not None:
        data = json.loads(_resources.example_path(example).read_text(encoding="utf-8"))
        data.pop("$schema", None)
    else:
        data = interview()
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    write_atomic(target, text)
    load_setup(str(target))  # refuses (exit 2) if we ever wrote something invalid
    click.echo(f"Wrote {path}. Next: {shell_command('ibkr-audit', 'check', path)}", err=True)
