"""``ibkr-audit schedule`` and ``unschedule``: run the audit periodically."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from audit.cli.common import history_db_option
from audit.errors import UsageError
from audit.scheduling.base import EVERY, Backend, Entry, build_entry, key_for, shown
from audit.scheduling.cron import CronBackend
from audit.scheduling.launchd import LaunchdBackend
from audit.scheduling.schtasks import SchtasksBackend
from audit.scheduling.systemd import SystemdBackend

BACKENDS: dict[str, type[Backend]] = {"cron": CronBackend, "systemd": SystemdBackend,
                                      "launchd": LaunchdBackend, "schtasks": SchtasksBackend}
NOTIFY_ON = ("regression", "fail", "always")
# Why each scheduler is preferred where it is, in order of preference per platform.
_WHY = {
    "launchd": "launchd is macOS's own scheduler; a missed run starts at the next wake",
    "systemd": "the user systemd instance is reachable; its timers catch up runs missed "
               "while the machine was off (Persistent=true)",
    "cron": "crontab works here (cron skips runs missed while the machine is off)",
    "schtasks": "Windows Task Scheduler starts a missed run as soon as it can",
}


def candidates() -> list[str]:
    if sys.platform == "darwin":
        return ["launchd", "cron"]
    if sys.platform.startswith("win"):
        return ["schtasks"]
    return ["systemd", "cron"]


def choose() -> tuple[Backend, str]:
    """The first scheduler that works on this host, and why it was picked."""
    skipped: list[tuple[str, str]] = []
    for name in candidates():
        backend = BACKENDS[name]()
        problem = backend.unusable()
        if problem is None:
            why = _WHY[name] + "".join(f"; not {n}: {p}" for n, p in skipped)
            return backend, why
        skipped.append((name, problem))
    raise UsageError("no scheduler works on this host: " + "; ".join(
        f"{n}: {p}" for n, p in skipped))


def backend_option(f: click.decorators.FC) -> click.decorators.FC:
    return click.option("--backend", type=click.Choice(["auto", *sorted(BACKENDS)]),
                        default="auto", show_default=True,
                        help="Scheduler to use. auto: launchd on macOS, Task Scheduler "
                             "(schtasks) on Windows, else systemd user timers when the user "
                             "instance is reachable, else cron; it says why.")(f)


@click.command("schedule")
@click.argument("setup", required=False, metavar="SETUP.json")
@click.option("--every", type=click.Choice(EVERY), help="How often to audit.")
@click.option("--at", "at", default="09:00", show_default=True, metavar="HH:MM",
              help="Time of day (weekly runs on Monday, monthly on the 1st).")
@backend_option
@history_db_option
@click.option("--notify", "notify", multiple=True, metavar="URL",
              help="Apprise URL to notify (repeatable), e.g. ntfys://ntfy.sh/TOPIC. Kept in "
                   "a private file (0600) the scheduled run reads, never in the scheduler "
                   "entry.")
@click.option("--notify-on", type=click.Choice(NOTIFY_ON), default="regression",
              show_default=True, help="When the scheduled run notifies.")
@click.option("--dry-run", is_flag=True,
              help="Print exactly what would be written; change nothing.")
@click.option("--list", "list_", is_flag=True,
              help="List the audits ibkr-audit has scheduled and that are active.")
def schedule_command(setup: str | None, every: str | None, at: str, backend: str,
                     history_db: str | None, notify: tuple[str, ...], notify_on: str,
                     dry_run: bool, list_: bool) -> None:
    """Audit SETUP.json periodically and record each run.

    The job runs 'ibkr-audit check SETUP --record --only-changes' with absolute
    paths, so it prints (and cron mails) only when something changed; with
    --notify it also sends a short message (on a regression by default).
    Nothing is written unless the scheduler is usable, and a failed step undoes
    the ones before it. Scheduling the same setup again replaces its entry;
    other entries are kept exactly as they are.

    \b
    Examples:
      ibkr-audit schedule setup.json --every weekly --at 07:30
      ibkr-audit schedule setup.json --every weekly --notify ntfys://ntfy.sh/my-topic
      ibkr-audit schedule setup.json --every daily --backend systemd --dry-run
      ibkr-audit schedule --list
    """
    if list_:
        _list(backend)
        return
    if setup is None or every is None:
        raise UsageError("give SETUP.json and --every daily|weekly|monthly (or --list)")
    targets: list[str] = []
    notify_file = None
    if notify:
        from audit import notify as notifying

        targets = notifying.read_targets(notify)
        notifying.validate(targets)
        notify_file = str(notifying.targets_file(key_for(str(Path(setup).resolve()))))
    entry = build_entry(setup, every, at, history_db, notify_file, notify_on)
    if backend == "auto":  # the probes only read: safe with --dry-run too
        chosen, why = choose()
        click.echo(f"Using {chosen.name}: {why}.", err=True)
    else:
        chosen = BACKENDS[backend]()
    if dry_run:
        for where, content in chosen.render(entry):
            click.echo(f"# {chosen.name}: {shown(where)}")
            click.echo(content, nl=not content.endswith("\n"))
        if notify_file:
            click.echo(f"# notification targets: {shown(notify_file)} (0600; not shown)")
        return
    chosen.preflight()  # before the targets file is written
    _install(chosen, entry, targets)
    told = (f", notifying {', '.join(_shown_targets(targets))} on {notify_on}"
            if targets else "")
    click.echo(f"Scheduled a {every} audit of {shown(entry.setup)} at {at} with "
               f"{chosen.name}{told}.", err=True)


def _shown_targets(targets: list[str]) -> list[str]:
    from audit import notify as notifying

    return [notifying.shown(t) for t in targets]


def _install(chosen: Backend, entry: Entry, targets: list[str]) -> None:
    """Install the entry and its targets file together, or neither."""
    from audit import notify as notifying

    if not targets:
        chosen.install(entry)
        notifying.targets_file(entry.key).unlink(missing_ok=True)  # no longer named
        return

    before = notifying.save_targets(entry.key, targets)
    try:
        chosen.install(entry)
    except BaseException:
        notifying.restore_targets(entry.key, before)
        raise


def _absent(chosen: Backend) -> bool:
    """A table-based scheduler whose tool is missing holds nothing of ours."""
    return isinstance(chosen, CronBackend | SchtasksBackend) and not shutil.which(chosen.tool)


def _list(backend: str) -> None:
    names = candidates() if backend == "auto" else [backend]
    shown_any = False
    for name in names:
        chosen = BACKENDS[name]()
        if backend == "auto" and _absent(chosen):
            continue
        for e in chosen.entries():
            if e.active:
                click.echo(f"{e.key}  {name:<8}  {e.detail:<24}  {shown(e.setup)}")
                shown_any = True
            else:
                click.echo(f"ibkr-audit: warning: {name} holds an entry for {shown(e.setup)} "
                           f"({e.key}) that is not active; 'ibkr-audit unschedule "
                           f"{shown(e.setup)} --backend {name}' removes it", err=True)
    if not shown_any:
        click.echo(f"No active audits scheduled with {', '.join(names)}.", err=True)


@click.command("unschedule")
@click.argument("setup", metavar="SETUP.json")
@backend_option
def unschedule_command(setup: str, backend: str) -> None:
    """Remove the scheduled audit of SETUP.json (nothing else is touched)."""
    target = str(Path(setup).resolve())
    names = candidates() if backend == "auto" else [backend]
    removed = []
    for name in names:
        chosen = BACKENDS[name]()
        if backend == "auto" and _absent(chosen):
            continue
        if chosen.remove(target):
            removed.append(name)
    from audit import notify as notifying

    notifying.targets_file(key_for(target)).unlink(missing_ok=True)
    if removed:
        click.echo(f"Removed the scheduled audit of {shown(target)} from "
                   f"{', '.join(removed)}.", err=True)
    else:
        click.echo(f"No scheduled audit of {shown(target)} in {', '.join(names)}.", err=True)
