"""``ibkr-audit check``: audit setup files and report."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import click

from audit import fleet
from audit.auditor import audit_file
from audit.cli.common import (
    FAIL_ON_CHOICES,
    color_option,
    emit,
    history_db_option,
    output_option,
    parse_date,
    parse_fail_on,
    parse_params,
    use_color,
)
from audit.engine import checklist, waivers
from audit.engine.evaluate import Options
from audit.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, InputError, UsageError
from audit.fsutil import atomic_writer
from audit.loading import Limits
from audit.model import Report
from audit.reports import FORMATS, NEEDS_LINES, RenderOptions, get


@click.command()
@click.argument("setups", nargs=-1, required=True, metavar="SETUP.json|DIR|GLOB...")
@click.option("--format", "-f", "fmt", type=click.Choice(sorted(FORMATS)), default="text",
              show_default=True, help="Report format.")
@output_option
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="high", show_default=True,
              help="Exit 1 when a check at or above this severity fails ('never': always 0).")
@click.option("--checklist", "checklists", multiple=True, metavar="PATH",
              help="Add checks from a checklist file or directory (repeatable).")
@click.option("--only", multiple=True, metavar="ID|AREA",
              help="Run only these checks or areas (repeatable).")
@click.option("--skip", "skip_", multiple=True, metavar="ID|AREA",
              help="Do not run these checks or areas (repeatable).")
@click.option("--as-of", callback=parse_date, metavar="YYYY-MM-DD",
              help="Evaluate date checks as if today were this date (default: today).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Override a checklist parameter, e.g. max_review_age_days=60 "
                   "(see 'ibkr-audit checks --params').")
@click.option("--waivers", "waiver_file", metavar="FILE",
              help='Extra waivers, as {"waivers": [...]} (appended to the setup\'s own).')
@click.option("--allow-critical-waivers", is_flag=True,
              help="Accept waivers for critical checks (refused by default).")
@click.option("--ibc", "ibc_files", multiple=True, metavar="PATH",
              help="Also audit this IBC config.ini (repeatable).")
@click.option("--jts", "jts_files", multiple=True, metavar="PATH",
              help="Also audit this TWS/Gateway jts.ini (repeatable).")
@click.option("--gateway-conf", "gateway_files", multiple=True, metavar="PATH",
              help="Also audit this Client Portal gateway conf.yaml (repeatable).")
@click.option("--check-keyring", is_flag=True,
              help="Also verify that the keyring entry the setup declares exists (may prompt "
                   "to unlock the keyring; the secret is never read out).")
@click.option("--show-account-ids", is_flag=True,
              help="Print IBKR account numbers in full instead of masking them (U***1234).")
@click.option("--quiet", "-q", is_flag=True,
              help="Text/markdown: show only failing, manual and waived checks (fleet: only "
                   "failing setups, no progress bar).")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None,
              help="Fleet mode: audit with this many processes (default: CPU count).")
@click.option("--record", is_flag=True,
              help="Store this run in the audit history (see 'history' and 'diff').")
@click.option("--only-changes", is_flag=True,
              help="Print nothing unless something changed since the last recorded run of "
                   "the setup (for cron: mail only when there is news).")
@history_db_option
@click.option("--max-review-age", type=click.IntRange(1), metavar="DAYS",
              help="Days before profile.reviewed_on is too old (default 90).")
@click.option("--max-backup-test-age", type=click.IntRange(1), metavar="DAYS",
              help="Days before a backup authenticator test is too old (default 180).")
@click.option("--max-bytes", type=click.IntRange(1), default=Limits.max_bytes, show_default=True,
              help="Refuse setup files larger than this.")
@click.option("--max-depth", type=click.IntRange(1, 1000), default=Limits.max_depth,
              show_default=True, help="Refuse setup files nested deeper than this.")
@click.option("--max-string", type=click.IntRange(1), default=Limits.max_string,
              show_default=True, help="Refuse strings (and keys) longer than this.")
@click.option("--max-items", type=click.IntRange(1), default=Limits.max_items,
              show_default=True, help="Refuse lists with more items than this.")
@color_option
def check(setups: tuple[str, ...], fmt: str, output: str | None, fail_on: str,
          checklists: tuple[str, ...], only: tuple[str, ...], skip_: tuple[str, ...],
          as_of: dt.date | None, params: tuple[str, ...],
          waiver_file: str | None, allow_critical_waivers: bool, ibc_files: tuple[str, ...],
          jts_files: tuple[str, ...], gateway_files: tuple[str, ...], check_keyring: bool,
          show_account_ids: bool, quiet: bool, record: bool, only_changes: bool,
          history_db: str | None, max_review_age: int | None,
          max_backup_test_age: int | None, max_bytes: int, max_depth: int, max_string: int,
          max_items: int, jobs: int | None, color: bool | None) -> None:
    """Audit SETUP.json files against the checklists and print a report.

    Use '-' to read a setup from standard input.

    \b
    Exit status:
      0  no check at or above --fail-on failed
      1  at least one check at or above --fail-on failed
      2  bad input or usage (the message names file, line and JSON pointer)
      3  internal error (rerun with --debug for a traceback)

    \b
    Examples:
      ibkr-audit check examples/maya.json
      ibkr-audit check setup.json --format json --output report.json
      ibkr-audit check setup.json --fail-on critical --checklist ./my-checks
    """
    lists = checklist.load(checklists)
    selected = checklist.select(lists, only, skip_)
    overrides = parse_params(params, lists.params)
    for name, value in (("max_review_age_days", max_review_age),
                        ("max_backup_test_age_days", max_backup_test_age)):
        if value is not None:
            overrides[name] = value
    options = Options(as_of=as_of or dt.date.today(), params=overrides,
                      show_account_ids=show_account_ids,
                      allow_critical_waivers=allow_critical_waivers,
                      check_keyring=check_keyring)
    extra_waivers = waivers.read_waiver_file(waiver_file) if waiver_file else []
    config_facts = None
    if ibc_files or jts_files or gateway_files:
        from audit.importers import configs

        config_facts = configs.load({"ibc": list(ibc_files), "jts": list(jts_files),
                                     "gateway": list(gateway_files)})
    limits = Limits(max_bytes=max_bytes, max_depth=max_depth, max_string=max_string,
                    max_items=max_items)
    threshold = parse_fail_on(fail_on)
    if fleet.is_fleet(setups) or jobs is not None or fmt == "jsonl":
        if fmt not in fleet.FLEET_FORMATS:
            raise UsageError(f"--format {fmt} needs explicit setup files; fleet mode (directories,"
                             f" globs, --jobs, jsonl) writes {', '.join(fleet.FLEET_FORMATS)}")
        if record or only_changes or config_facts is not None:
            raise UsageError("--record, --only-changes, --ibc, --jts and --gateway-conf work on "
                             "explicit setup files")
        job = fleet.Job(lists, selected, options, limits, fmt,
                        RenderOptions(quiet=quiet, fail_on=threshold), tuple(extra_waivers),
                        waiver_file)
        click.get_current_context().exit(_fleet(setups, job, jobs or os.cpu_count() or 1,
                                                output, quiet))
    reports: list[Report] = []
    errors: list[InputError] = []
    for path in setups:
        try:
            reports.append(audit_file(path, lists, options, limits, selected,
                                      locate=fmt in NEEDS_LINES, extra_waivers=extra_waivers,
                                      waiver_file=waiver_file, config_facts=config_facts))
        except InputError as exc:
            errors.append(exc)
    if errors:
        # Valid files were audited, but we write no report when any input was bad:
        # a partial report is easy to mistake for a complete one.
        raise InputError([p for e in errors for p in e.problems])
    # The verdict covers every audited file, including those --only-changes keeps quiet.
    failed = any(r.failed_at(threshold) for r in reports)
    diffs_text = ""
    if record or only_changes:
        reports, diffs_text = _remember(reports, history_db, record, only_changes)
    if reports:
        render = get(fmt)
        colored = fmt == "text" and use_color(color) and not output
        text = render(reports, RenderOptions(color=colored, quiet=quiet or only_changes,
                                             fail_on=threshold))
        if fmt == "text" and diffs_text:
            text = diffs_text + "\n" + text
        emit(text, output, colored)
    ctx = click.get_current_context()
    ctx.exit(EXIT_FINDINGS if failed else EXIT_OK)


def _fleet(setups: tuple[str, ...], job: fleet.Job, jobs: int, output: str | None,
           quiet: bool) -> int:
    """Audit a fleet; the exit code is 2 if any file was invalid, else 1/0 by the gate."""
    paths = fleet.expand(setups)
    if not paths:
        raise UsageError("no *.json setup files found in " + ", ".join(setups))
    progress = not quiet and sys.stderr.isatty()
    if output and output != "-":
        with atomic_writer(output) as out:  # replaced only once the run is complete
            summary, elapsed = fleet.run(paths, job, jobs, out, progress)
    else:
        summary, elapsed = fleet.run(paths, job, jobs, sys.stdout, progress)
    text = fleet.render_summary(summary, elapsed, job.lists.by_id())
    if job.fmt == "text" and not output:
        click.echo(text, nl=False)
    elif not quiet:
        click.echo(text, nl=False, err=True)
    return EXIT_INPUT if summary.invalid else EXIT_FINDINGS if summary.gate_failures else EXIT_OK


def _remember(reports: list[Report], history_db: str | None, record: bool,
              only_changes: bool) -> tuple[list[Report], str]:
    """Record runs and/or keep only the reports that changed since the last run."""
    from audit.history import diff as diffing
    from audit.history.store import Store, default_path, stored_findings

    changed: list[Report] = []
    texts: list[str] = []
    with Store(Path(history_db) if history_db else default_path()) as store:
        for report in reports:
            previous = store.runs(report.setup_path, 1)
            if only_changes and previous:
                delta = diffing.compare(previous[0], None, store.findings(previous[0].id),
                                        stored_findings(report))
                if delta.changed:
                    changed.append(report)
                    texts.append(diffing.render_text(delta, report.setup_path))
            else:
                changed.append(report)
            if record:
                store.record(report, report.setup_sha256)
    return (changed if only_changes else reports), "\n".join(texts)


__all__ = ["EXIT_INPUT", "check"]
