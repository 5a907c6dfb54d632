"""``ibkr-audit configs``: audit IBC, jts.ini and gateway files on their own.

No setup file is needed. The checks that run are the configuration-file checks
marked ``"standalone": true`` in the checklists; each is evaluated on one file
at a time, with nothing declared about the account. A standalone check that
also reads setup facts (CFG-003 reads whether paper trading is done) comes out
``manual`` and is listed for review, but never fails the run.

The default output is one line per failing (or to-review) check,
``file:line: ID severity title``, for pre-commit and editors; ``--format``
also offers every report format of ``check`` (one report per file).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Any

import click

from audit import __version__, boundary
from audit.auditor import now_utc
from audit.cli.common import FAIL_ON_CHOICES, emit, output_option, parse_fail_on
from audit.engine import checklist
from audit.engine.evaluate import Options, evaluate
from audit.errors import EXIT_FINDINGS, EXIT_OK, InputError, Problem
from audit.importers import configs
from audit.loading import Limits, Setup, decode, read_bytes
from audit.model import Check, Finding, Report, Severity, Status
from audit.reports import FORMATS, RenderOptions, get
from audit.reports.short import finding_line, summary

SHORT = "short"  # default here; the same format as 'check --format short'
MAX_BYTES = 1024 * 1024  # as the importer reads them
_SECTION = re.compile(r"^\s*\[[^\]]+\]\s*$", re.MULTILINE)


def detect_kind(path: str) -> str:
    """ibc, jts or gateway from the file's name, then its content; exit 2 if unclear.

    ``jts.ini`` is jts; ``*.yaml``/``*.yml`` is a gateway ``conf.yaml``; another
    ``*.ini`` is jts when it has ``[Section]`` headers (jts.ini always does) and
    IBC's ``config.ini`` otherwise (IBC's file has none).
    """
    name = Path(path).name.lower()
    if name == "jts.ini":
        return "jts"
    if name.endswith((".yaml", ".yml")):
        return "gateway"
    if name.endswith(".ini"):
        if not Path(path).is_file():
            raise InputError([Problem("no such file", file=path)])
        text = decode(read_bytes(path, Limits(max_bytes=MAX_BYTES)), path)
        return "jts" if _SECTION.search(text) else "ibc"
    raise InputError([Problem("cannot tell whether this is an IBC config.ini, a jts.ini or a "
                              "gateway conf.yaml from its name; give --kind", file=path)])


def standalone_checks(checks: list[Check], kind: str) -> list[Check]:
    return [c for c in checks if c.standalone and c.for_each == f"/$files/{kind}"]


def audit_config(path: str, kind: str, entry: dict[str, Any], secrets: list[str],
                 lists: checklist.Checklists, options: Options) -> Report:
    """One file's standalone checks, as a report whose 'setup' is the file itself."""
    setup = Setup(path=path, text="", data={"$files": {kind: [entry]}},
                  sha256=hashlib.sha256(Path(path).read_bytes()).hexdigest(),
                  extra_secrets=secrets)
    findings = evaluate(setup, lists, options, standalone_checks(lists.checks, kind))
    lines = {e.pointer: e.location[1] for f in findings for e in f.evidence
             if e.location is not None and e.location[1] is not None}
    return Report(setup_path=path, tool_version=__version__, generated_at=now_utc(),
                  as_of=options.as_of.isoformat(), findings=tuple(findings),
                  checklist_digest=lists.digest, setup_sha256=setup.sha256, lines=lines,
                  checklist_version=lists.version)


def line_of(f: Finding, entry: dict[str, Any]) -> int | None:
    """The line a finding points at: its first located fact, or else the first key
    of the file the check reads (CFG-003 reads the setup, and TradingMode)."""
    line = next((e.location[1] for e in f.evidence
                 if e.location is not None and e.location[1] is not None), None)
    if line is None:
        prefix = f"{f.check.for_each}/*/"
        keys = [p.removeprefix(prefix).split("/")[-1] for p in f.check.reads
                if p.startswith(prefix)]
        line = next((entry["lines"][k] for k in keys if entry.get("lines", {}).get(k)), None)
    return line


def short(reports: list[Report], entries: list[dict[str, Any]],
          threshold: Severity | None) -> str:
    review = " (to review: the file alone cannot tell; audit it with a setup, 'check --ibc')"
    out = [finding_line(report.setup_path, line_of(f, entry), f,
                        review if f.status is Status.MANUAL else "")
           for report, entry in zip(reports, entries, strict=True)
           for f in report.findings if f.status in (Status.FAIL, Status.MANUAL)]
    out += summary(reports, threshold, "config file(s)")
    return "".join(line + "\n" for line in out)


@click.command("configs")
@click.argument("files", nargs=-1, required=True, metavar="FILE...",
                type=click.Path())  # a Path: shells complete file names
@click.option("--kind", type=click.Choice(configs.KINDS),
              help="Treat every FILE as this kind (default: from its name and content).")
@click.option("--format", "-f", "fmt", type=click.Choice(sorted(FORMATS)),
              default=SHORT, show_default=True,
              help="'short': one 'file:line: ID severity title' line per failing check; "
                   "the others as for 'check', one report per file.")
@output_option
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="high", show_default=True,
              help="Exit 1 when a check at or above this severity fails ('never': always 0).")
@click.option("--checklist", "checklists", multiple=True, metavar="PATH",
              help="Add checks from a checklist file or directory (repeatable); its "
                   "standalone configuration checks run too.")
def configs_command(files: tuple[str, ...], kind: str | None, fmt: str, output: str | None,
                    fail_on: str, checklists: tuple[str, ...]) -> None:
    """Audit IBC config.ini, jts.ini and gateway conf.yaml files without a setup.

    Runs the configuration checks marked standalone in the checklists
    (see 'ibkr-audit checks'): plain-text passwords, live trading mode, who may
    connect to the API, blind trading, order precautions, the gateway's TLS,
    CORS and bundled certificate. Passwords are never printed.

    \b
    Kind of each FILE, unless --kind says: jts.ini -> jts; *.yaml, *.yml ->
    gateway; another *.ini -> jts if it has [Section] lines, else IBC.

    \b
    Exit status: 0 nothing at or above --fail-on failed; 1 something did;
    2 a file is missing, unreadable or malformed (file:line named).

    \b
    Examples:
      ibkr-audit configs ~/ibc/config.ini ~/Jts/jts.ini
      ibkr-audit configs --kind gateway root/conf.yaml --format sarif -o configs.sarif
    """
    problems: list[Problem] = []
    parsed: list[tuple[str, str, dict[str, Any], list[str]]] = []
    for path in dict.fromkeys(files):
        try:
            file_kind = kind or detect_kind(path)
            found, secrets = configs.load({file_kind: [path]})
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        boundary.learn(secrets)  # every output of this run hides them, errors included
        parsed.append((path, file_kind, found[file_kind][0], secrets))
    if problems:
        raise InputError(problems)  # nothing is reported when any file is bad
    lists = checklist.load(checklists)
    options = Options(as_of=dt.date.today())
    reports = [audit_config(path, file_kind, entry, secrets, lists, options)
               for path, file_kind, entry, secrets in parsed]
    threshold = parse_fail_on(fail_on)
    if fmt == SHORT:
        # Evidence is redacted by the engine; the short lines add only file paths.
        text = boundary.redactor().text(
            short(reports, [entry for _p, _k, entry, _s in parsed], threshold))
    else:
        text = get(fmt)(reports, RenderOptions(fail_on=threshold))
    emit(text, output)
    failed = any(r.failed_at(threshold) for r in reports)
    click.get_current_context().exit(EXIT_FINDINGS if failed else EXIT_OK)
