"""``ibkr-audit check``: audit setup files and report."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from audit import boundary, pipeline
from audit.cli.common import color_option, emit, history_db_option, output_option, use_color
from audit.errors import (
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_OK,
    InputError,
    UsageError,
)
from audit.fsutil import refuse_overwriting_inputs
from audit.model import Report
from audit.pipeline import Request, audit_options
from audit.reports import FLEET_FORMATS, FORMATS, RenderOptions, get
from audit.targets import is_fleet, scan

if TYPE_CHECKING:
    from audit import fleet


@click.command()
@click.argument("setups", nargs=-1, required=True, metavar="SETUP.json|DIR|GLOB...")
@click.option("--format", "-f", "fmt", type=click.Choice(sorted(FORMATS), case_sensitive=False),
              default="text", show_default=True, help="Report format.")
@output_option
@audit_options
@click.option("--probe", is_flag=True,
              help="Observe this machine (ports, disk encryption, screen lock, config files) and "
                   "let what it says decide the checks for --device (see 'ibkr-audit probe').")
@click.option("--device", metavar="NAME", help="With --probe: this machine's name under devices.")
@click.option("--scan-code", "code_paths", multiple=True, metavar="PATH",
              help="Scan a bot's source tree for IBKR credentials (repeatable; see 'ibkr-audit "
                   "scan').")
@click.option("--quiet", "-q", is_flag=True,
              help="Text/markdown: show only failing, manual and waived checks (fleet: only "
                   "failing setups, no progress bar).")
@click.option("--verbose", "-v", is_flag=True,
              help="Text: also list the passing and skipped checks (default: one count line).")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None,
              help="Fleet mode: audit with this many processes (default: CPU count).")
@click.option("--record", is_flag=True,
              help="Store this run in the audit history (see 'history' and 'diff').")
@click.option("--only-changes", is_flag=True,
              help="Print nothing unless something changed since the last recorded run of "
                   "the setup (for cron: mail only when there is news).")
@history_db_option
@click.option("--notify", "notify_targets", multiple=True, metavar="URL|@FILE",
              help="Send a short, redacted message to this Apprise URL (repeatable; @FILE "
                   "reads one per line), e.g. ntfy://TOPIC. See docs/scheduling.md.")
@click.option("--notify-on", type=click.Choice(["regression", "fail", "always"]),
              default="regression", show_default=True,
              help="When to notify: a new failure since the last recorded run, any failure "
                   "at --fail-on, or every run. A failed notification keeps the exit code.")
@click.option("--strict", is_flag=True,
              help="Treat unknown (manual) findings at or above --fail-on as failing for the "
                   "exit status.")
@color_option
def check(setups: tuple[str, ...], fmt: str, output: str | None, request: Request,
          probe: bool, device: str | None, code_paths: tuple[str, ...], quiet: bool,
          record: bool, only_changes: bool, history_db: str | None,
          jobs: int | None, strict: bool, color: bool | None, notify_targets: tuple[str, ...],
          notify_on: str, verbose: bool) -> int:
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
    fmt = fmt.lower()
    refuse_overwriting_inputs(output, request.inputs(setups))
    targets: list[str] = []
    if notify_targets:  # checked before the audit: a typo must not surface after it
        from audit import notify

        targets = notify.read_targets(notify_targets)
        notify.validate(targets)
    prepared = pipeline.prepare(request)
    if probe or device or code_paths:
        prepared = _observe(prepared, probe, device, code_paths)
    threshold = request.threshold
    form = FORMATS[fmt]
    if is_fleet(setups) or jobs is not None or form.fleet_only:
        if not form.fleet:
            raise UsageError(f"--format {fmt} needs explicit setup files; fleet mode (directories,"
                             f" globs, --jobs, jsonl) writes {', '.join(FLEET_FORMATS)}")
        if (record or only_changes or strict or request.has_config_files or prepared.observed
                or targets):
            raise UsageError("--record, --only-changes, --strict, --notify, --ibc, --jts, "
                             "--gateway-conf, --probe and --scan-code work on explicit setup "
                             "files")
        from audit import fleet  # only fleet mode pays for it

        job = fleet.Job(prepared.lists, prepared.checks, prepared.options, request.limits, fmt,
                        RenderOptions(quiet=quiet, fail_on=threshold), prepared.extra_waivers,
                        request.waiver_file)
        return _fleet(setups, job, jobs or os.cpu_count() or 1, output, quiet)
    reports: list[Report] = []
    errors: list[InputError] = []
    for path in setups:
        try:
            reports.append(pipeline.audit_path(path, prepared, locate=form.needs_lines))
        except InputError as exc:
            errors.append(exc)
    if errors:
        # Valid files were audited, but we write no report when any input was bad:
        # a partial report is easy to mistake for a complete one.
        problems = [p for e in errors for p in e.problems]
        if targets:  # a scheduled audit that cannot run is news whatever --notify-on says
            notify.input_failed(problems, targets=targets)
        raise InputError(problems)
    # The verdict covers every audited file, including those --only-changes keeps quiet.
    failed = any(r.failed_at(threshold) for r in reports)
    if strict and not failed:
        from audit.advice.rank import unknown_at

        failed = any(unknown_at(r, threshold) for r in reports)
    diffs_text = ""
    audited = reports
    before = notify.previous(reports, history_db) if targets else []
    if record or only_changes:
        reports, diffs_text = _remember(reports, history_db, record, only_changes)
    if targets:
        notify.after_check(audited, before, targets=targets, on=notify_on, failed=failed,
                           threshold=threshold, recorded=record, history_db=history_db)
    if reports:
        render = get(fmt)
        colored = form.color and use_color(color) and not output
        if fmt == "html":  # the page also carries the plan, the to-do list and the trend
            from audit.reports import html

            text = html.render_pages(reports, RenderOptions(fail_on=threshold),
                                     html.extras_for(reports, prepared, history_db))
        else:
            text = render(reports, RenderOptions(color=colored, quiet=quiet or only_changes,
                                                 fail_on=threshold, verbose=verbose))
        if fmt == "text":
            from audit.advice.rank import urgent_text
            from audit.reports.text import fit, terminal_width

            text = fit(urgent_text(reports, prepared.lists), terminal_width()) + text
        if fmt == "text" and diffs_text:
            text = diffs_text + "\n" + text
        emit(text, output, colored)
    return EXIT_FINDINGS if failed else EXIT_OK


def _observe(prepared: pipeline.Prepared, probe: bool, device: str | None,
             code_paths: tuple[str, ...]) -> pipeline.Prepared:
    """Observe this machine and/or scan the bot's code once for the whole run."""
    from dataclasses import replace

    from audit import observe

    if probe != bool(device):
        raise UsageError("--probe and --device NAME go together")
    files = dict(prepared.request.config_files)
    observed = observe.facts(device, probe=probe, code_paths=code_paths, config_paths=files)
    boundary.learn(observed.get("code", {}).get("secrets", []))
    return replace(prepared, observed=observed)


def _fleet(setups: tuple[str, ...], job: fleet.Job, jobs: int, output: str | None,
           quiet: bool) -> int:
    """Audit a fleet; the exit code is 2 if any file was invalid, else 1/0 by the gate."""
    from audit import fleet

    paths, problems = scan(setups)
    if not paths and not problems:
        raise UsageError("no *.json setup files found in " + ", ".join(setups))
    progress = not quiet and sys.stderr.isatty()
    if job.fmt == "html":  # one overview page, rendered once every row has arrived
        from audit.reports import html

        rows = html.FleetCollector()
        summary, elapsed = fleet.run(paths, job, jobs, rows, progress)
        emit(html.render_fleet(rows.data, job.lists.by_id(), job.render, summary.invalid_files,
                               as_of=job.options.as_of.isoformat()), output)
    elif output and output != "-":
        with boundary.report_writer(output) as out:  # replaced only once the run is complete
            summary, elapsed = fleet.run(paths, job, jobs, out, progress, problems)
    else:
        summary, elapsed = fleet.run(paths, job, jobs, sys.stdout, progress, problems)
    text = fleet.render_summary(summary, elapsed, job.lists.by_id())
    if job.fmt == "text" and not output:
        click.echo(text, nl=False)
    elif not quiet:
        click.echo(text, nl=False, err=True)
    if summary.internal_errors:
        return EXIT_INTERNAL
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
