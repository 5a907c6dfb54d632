"""``ibkr-audit plan`` and ``ibkr-audit remediate``: advice built on the audit."""

from __future__ import annotations

import datetime as dt
import json

import click

from audit.advice import remediate as remediation
from audit.advice.render import (
    plan_dict,
    plan_markdown,
    plan_text,
    remediate_json,
    remediate_markdown,
)
from audit.advice.service import Analysis, analyse
from audit.cli.common import (
    FAIL_ON_CHOICES,
    emit,
    output_option,
    parse_date,
    parse_fail_on,
    parse_params,
)
from audit.engine import checklist
from audit.engine.evaluate import Options
from audit.errors import EXIT_FINDINGS, EXIT_OK
from audit.loading import load_setup


def _common(f: click.decorators.FC) -> click.decorators.FC:
    for decorator in reversed([
        click.argument("setup", metavar="SETUP.json"),
        output_option,
        click.option("--as-of", callback=parse_date, metavar="YYYY-MM-DD",
                     help="Evaluate date checks as if today were this date."),
        click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
                     help="Override a checklist parameter (see 'ibkr-audit checks --params')."),
        click.option("--checklist", "checklists", multiple=True, metavar="PATH",
                     help="Add checks from a checklist file or directory (repeatable)."),
        click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="high",
                     show_default=True,
                     help="Exit 1 when a check at or above this severity fails."),
        click.option("--show-account-ids", is_flag=True,
                     help="Print account numbers in full instead of masking them."),
    ]):
        f = decorator(f)
    return f


def _analyse(setup_path: str, as_of: dt.date | None, params: tuple[str, ...],
             checklists: tuple[str, ...], show_account_ids: bool) -> Analysis:
    lists = checklist.load(checklists)
    options = Options(as_of=as_of or dt.date.today(), params=parse_params(params, lists.params),
                      show_account_ids=show_account_ids)
    setup = load_setup(setup_path, show_account_ids=show_account_ids)
    return analyse(setup, lists, options)


def _exit(analysis: Analysis, fail_on: str) -> None:
    failed = analysis.report.failed_at(parse_fail_on(fail_on))
    click.get_current_context().exit(EXIT_FINDINGS if failed else EXIT_OK)


@click.command("plan")
@_common
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json", "markdown"]),
              default="text", show_default=True)
def plan_command(setup: str, output: str | None, as_of: dt.date | None,
                 params: tuple[str, ...], checklists: tuple[str, ...], fail_on: str,
                 show_account_ids: bool, fmt: str) -> None:
    """Recommend IBKR interfaces for your goals and plan the move, stage by stage.

    Stage 0 secures the account, stage 1 uses Client Portal and IBKR Mobile,
    stage 2 adds TWS for the strategies that need it, stage 3 adds API
    automation. Each stage is gated by checks and is done, ready, blocked or
    not needed for your goals.

    \b
    Example:
      ibkr-audit plan examples/maya.json
    """
    analysis = _analyse(setup, as_of, params, checklists, show_account_ids)
    header = analysis.header()
    header["name"] = analysis.name
    data = plan_dict(header, analysis.recommendation, analysis.mismatches, analysis.stages)
    if fmt == "json":
        data.pop("name", None)
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    elif fmt == "markdown":
        text = plan_markdown(data, analysis.stages)
    else:
        text = plan_text(data, analysis.stages)
    emit(text, output)
    _exit(analysis, fail_on)


@click.command("remediate")
@_common
@click.option("--format", "-f", "fmt", type=click.Choice(["markdown", "json"]),
              default="markdown", show_default=True)
def remediate_command(setup: str, output: str | None, as_of: dt.date | None,
                      params: tuple[str, ...], checklists: tuple[str, ...], fail_on: str,
                      show_account_ids: bool, fmt: str) -> None:
    """Turn findings into a checklist to work through, worst first.

    One Markdown task per failing or manual check, with what to do, where in
    IBKR, the evidence and how to verify; waived checks are listed separately
    with their expiry.

    \b
    Example:
      ibkr-audit remediate setup.json --output TODO.md
    """
    analysis = _analyse(setup, as_of, params, checklists, show_account_ids)
    findings = list(analysis.report.findings)
    items = remediation.tasks(findings, analysis.advice, analysis.report.setup_path)
    waived = remediation.accepted(findings)
    header = analysis.header()
    text = (remediate_json(header, items, waived) if fmt == "json"
            else remediate_markdown(header, items, waived))
    emit(text, output)
    _exit(analysis, fail_on)
