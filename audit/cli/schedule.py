"""``ibkr-audit schedule`` and ``unschedule``: run the audit periodically."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from audit.cli.common import history_db_option
from audit.errors import UsageError
from audit.scheduling.base import EVERY, Backend, build_entry
from audit.scheduling.cron import CronBackend
from audit.scheduling.launchd import LaunchdBackend
from audit.scheduling.systemd import SystemdBackend

BACKENDS: dict[str, type[Backend]] = {"cron": CronBackend, "systemd": SystemdBackend,
                                      "launchd": LaunchdBackend}


def default_backend() -> str:
    """launchd on macOS; elsewhere cron if installed, else systemd user timers."""
    if sys.platform == "darwin":
        return "launchd"
    if sys.platform.startswith("win"):
        raise UsageError("scheduling is not supported on Windows yet; use Task Scheduler to run "
                         "'ibkr-audit check SETUP --record --only-changes'")
    return "cron" if shutil.which("crontab") or not shutil.which("systemctl") else "systemd"


def backend_option(f: click.decorators.FC) -> click.decorators.FC:
    return click.option("--backend", type=click.Choice(sorted(BACKENDS)),
                        help="Scheduler to use (default: launchd on macOS; cron if installed, "
                             "else systemd).")(f)


def _backend(name: str | None) -> Backend:
    return BACKENDS[name or default_backend()]()


@click.command("schedule")
@click.argument("setup", required=False, metavar="SETUP.json")
@click.option("--every", type=click.Choice(EVERY), help="How often to audit.")
@click.option("--at", "at", default="09:00", show_default=True, metavar="HH:MM",
              help="Time of day (weekly runs on Monday, monthly on the 1st).")
@backend_option
@history_db_option
@click.option("--dry-run", is_flag=True,
              help="Print exactly what would be written; change nothing.")
@click.option("--list", "list_", is_flag=True, help="List the audits ibkr-audit has scheduled.")
def schedule_command(setup: str | None, every: str | None, at: str, backend: str | None,
                     history_db: str | None, dry_run: bool, list_: bool) -> None:
    """Audit SETUP.json periodically and record each run.

    The job runs 'ibkr-audit check SETUP --record --only-changes' with absolute
    paths, so it prints (and cron mails) only when something changed.
    Scheduling the same setup again replaces its entry; other entries are kept
    exactly as they are.

    \b
    Examples:
      ibkr-audit schedule setup.json --every weekly --at 07:30
      ibkr-audit schedule setup.json --every daily --backend systemd --dry-run
      ibkr-audit schedule --list
    """
    chosen = _backend(backend)
    if list_:
        entries = chosen.entries()
        if not entries:
            click.echo(f"No audits scheduled with {chosen.name}.", err=True)
        for e in entries:
            click.echo(f"{e.key}  {e.detail:<24}  {e.setup}")
        return
    if setup is None or every is None:
        raise UsageError("give SETUP.json and --every daily|weekly|monthly (or --list)")
    entry = build_entry(setup, every, at, history_db)
    if dry_run:
        for where, content in chosen.render(entry):
            click.echo(f"# {chosen.name}: {where}")
            click.echo(content, nl=not content.endswith("\n"))
        return
    chosen.install(entry)
    click.echo(f"Scheduled a {every} audit of {entry.setup} at {at} with {chosen.name}.",
               err=True)


@click.command("unschedule")
@click.argument("setup", metavar="SETUP.json")
@backend_option
def unschedule_command(setup: str, backend: str | None) -> None:
    """Remove the scheduled audit of SETUP.json (nothing else is touched)."""
    chosen = _backend(backend)
    target = str(Path(setup).resolve())
    if chosen.remove(target):
        click.echo(f"Removed the scheduled audit of {target} from {chosen.name}.", err=True)
    else:
        click.echo(f"No scheduled audit of {target} in {chosen.name}.", err=True)
