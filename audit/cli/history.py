"""``ibkr-audit history`` and ``ibkr-audit diff``: what past audits said."""

from __future__ import annotations

import json
from pathlib import Path

import click

from audit.cli.common import FAIL_ON_CHOICES, history_db_option, parse_fail_on
from audit.errors import EXIT_FINDINGS, EXIT_OK, Problem, UsageError
from audit.history import diff as diffing
from audit.history.store import Store, default_path
from audit.textsafe import clean

RUN_ID = click.IntRange(1, 2**63 - 1)  # SQLite's INTEGER range


def open_store(path: str | None, *, create: bool = False) -> Store:
    return Store(Path(path) if path else default_path(), create=create)


@click.command("history")
@click.argument("setup", required=False, metavar="[SETUP.json]")
@history_db_option
@click.option("--limit", type=RUN_ID, default=20, show_default=True, metavar="N",
              help="Show at most the N most recent runs.")
@click.option("--drills", "show_drills", is_flag=True,
              help="List backup-authenticator drills instead of audits.")
@click.option("--notifications", "show_notifications", is_flag=True,
              help="List notification attempts (check --notify) instead of audits.")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text: a table; json: one object per run.")
def history_command(setup: str | None, history_db: str | None, limit: int, show_drills: bool,
                    fmt: str, show_notifications: bool) -> None:
    """List recorded audits (or drills), newest first (all setups, or only SETUP's).

    Runs are recorded by 'ibkr-audit check --record', drills by 'ibkr-audit drill'.
    """
    if show_notifications:
        _notifications(history_db, limit, fmt)
        return
    if show_drills:
        with open_store(history_db) as store:
            drills = store.drills()[:limit]
        if fmt == "json":
            click.echo(json.dumps([{"authenticator": n, "tested_on": d, "result": r}
                                   for n, d, r in drills], indent=2))
            return
        if not drills:
            click.echo("No drills recorded.", err=True)
        for name, tested_on, result in drills:
            click.echo(f"{tested_on}  {clean(name):<20}  {result}")
        return
    if not (Path(history_db) if history_db else default_path()).exists():
        runs = []  # nothing recorded yet is an answer, not an error
    else:
        with open_store(history_db) as store:
            runs = store.runs(setup, limit)
    if fmt == "json":
        click.echo(json.dumps([{
            "id": r.id, "setup": r.setup_path, "recorded_at": r.recorded_at, "as_of": r.as_of,
            "tool_version": r.tool_version, "setup_sha256": r.setup_sha256,
            "summary": r.counts, "worst_failure": r.worst_failure} for r in runs], indent=2))
        return
    if not runs:
        click.echo("no runs recorded yet" + (f" for {setup}" if setup else "")
                   + " (record one with 'ibkr-audit check SETUP.json --record')")
        return
    click.echo(f"{'run':>5}  {'recorded (UTC)':<20}  {'fail':>4} {'manual':>6} {'pass':>4}  "
               f"{'worst':<8}  setup")
    for r in runs:
        click.echo(f"{r.id:>5}  {r.recorded_at:<20}  {r.counts['fail']:>4} "
                   f"{r.counts['manual']:>6} {r.counts['pass']:>4}  "
                   f"{r.worst_failure or '-':<8}  {clean(r.setup_path)}")


@click.command("diff")
@click.argument("run_a", required=False, type=RUN_ID)
@click.argument("run_b", required=False, type=RUN_ID)
@click.option("--setup", metavar="SETUP.json",
              help="Compare the last two runs of this setup (default: of the newest run's setup).")
@history_db_option
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="high", show_default=True,
              help="Exit 1 when a regression at or above this severity is found.")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text to read, json for tools.")
def diff_command(run_a: int | None, run_b: int | None, setup: str | None,
                 history_db: str | None, fail_on: str, fmt: str) -> None:
    """Show what got worse (and better) between two recorded runs.

    With no RUN ids: the last two runs of --setup (or of the newest run's setup).
    With one: that run against the newest run of the same setup.
    Regressions are checks that newly fail, or fail at a higher severity.
    """
    with open_store(history_db) as store:
        if run_a is not None and run_b is not None:
            before, after = store.run(run_a), store.run(run_b)
        else:
            if run_a is not None:
                anchor = store.run(run_a)
                latest = store.runs(anchor.setup_key, 1)[0]
                before, after = anchor, latest
            else:
                target = setup or next(iter(r.setup_key for r in store.runs(limit=1)), None)
                if target is None:
                    raise UsageError([Problem("no recorded runs to compare",
                                              file=str(store.path))])
                runs = store.runs(target, 2)
                if len(runs) < 2:
                    raise UsageError([Problem("needs two recorded runs of this setup",
                                              file=setup or str(store.path))])
                after, before = runs[0], runs[1]
        result = diffing.compare(before, after, store.findings(before.id),
                                 store.findings(after.id))
    if fmt == "json":
        click.echo(json.dumps(diffing.to_dict(result, after.setup_path), indent=2))
    else:
        click.echo(diffing.render_text(result, after.setup_path), nl=False)
    failed = result.regressions_at(parse_fail_on(fail_on))
    click.get_current_context().exit(EXIT_FINDINGS if failed else EXIT_OK)


def _notifications(history_db: str | None, limit: int, fmt: str) -> None:
    with open_store(history_db) as store:
        rows = store.notifications()[:limit]
    if fmt == "json":
        click.echo(json.dumps([{"setup": p, "sent_at": t, "target": g, "result": r}
                               for p, t, g, r in rows], indent=2))
        return
    if not rows:
        click.echo("No notifications recorded.", err=True)
    for path, sent_at, target, result in rows:
        click.echo(f"{sent_at}  {clean(target):<20}  {clean(result):<24}  {clean(path)}")
