"""``ibkr-audit plan`` and ``ibkr-audit remediate``: advice built on the audit."""

from __future__ import annotations

import json

import click

from audit import pipeline
from audit.advice import remediate as remediation
from audit.advice.rank import unknown_at, unknown_text
from audit.advice.render import (
    next_step_dict,
    plan_dict,
    plan_markdown,
    plan_text,
    remediate_json,
    remediate_markdown,
    urgent_dicts,
)
from audit.advice.service import Analysis, analyse
from audit.cli.common import color_option, emit, output_option, use_color
from audit.errors import EXIT_FINDINGS, EXIT_OK
from audit.fsutil import refuse_overwriting_inputs
from audit.model import Status
from audit.pipeline import Request, audit_options


def _common(f: click.decorators.FC) -> click.decorators.FC:
    f = click.option("--strict", is_flag=True,
                     help="Treat unknown (manual) findings at or above --fail-on as failing "
                          "for the exit status.")(f)
    f = audit_options(f)
    f = output_option(f)
    return click.argument("setup", metavar="SETUP.json")(f)


def _analyse(setup_path: str, request: Request, output: str | None) -> Analysis:
    """The same pipeline as 'check': every input it accepts shapes the advice too."""
    refuse_overwriting_inputs(output, request.inputs([setup_path]))
    prepared = pipeline.prepare(request)
    return analyse(pipeline.load(setup_path, prepared), prepared.lists, prepared.options,
                   prepared.checks)


def _exit_code(analysis: Analysis, request: Request, strict: bool) -> int:
    failed = analysis.report.failed_at(request.threshold) or (
        strict and unknown_at(analysis.report, request.threshold))
    return EXIT_FINDINGS if failed else EXIT_OK


@click.command("plan")
@_common
@click.option("--format", "-f", "fmt",
              type=click.Choice(["text", "json", "markdown"], case_sensitive=False),
              default="text", show_default=True,
              help="text to read, markdown to share, json for tools.")
@color_option
def plan_command(setup: str, output: str | None, request: Request, strict: bool,
                 fmt: str, color: bool | None) -> int:
    """Recommend IBKR interfaces for your goals and plan the move, stage by stage.

    Stage 0 secures the account, stage 1 uses Client Portal and IBKR Mobile,
    stage 2 adds TWS for the strategies that need it, stage 3 adds API
    automation. Each stage is gated by checks and is done, ready, blocked or
    not needed for your goals.

    \b
    Example:
      ibkr-audit plan examples/maya.json
    """
    analysis = _analyse(setup, request, output)
    header = analysis.header()
    header["name"] = analysis.name
    findings = list(analysis.report.findings)
    data = plan_dict(header, analysis.recommendation, analysis.mismatches, analysis.stages,
                     analysis.urgent, analysis.next_step, unknown_text(findings),
                     [f for f in findings if f.check.area == "goals" and f.status is Status.FAIL])
    colored = fmt == "text" and use_color(color) and not output
    if fmt == "json":
        data.pop("name", None)
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    elif fmt == "markdown":
        text = plan_markdown(data, analysis.stages)
    else:
        text = plan_text(data, analysis.stages, colored)
    emit(text, output, colored)
    return _exit_code(analysis, request, strict)


@click.command("remediate")
@_common
@click.option("--format", "-f", "fmt",
              type=click.Choice(["markdown", "json"], case_sensitive=False),
              default="markdown", show_default=True,
              help="markdown: a checklist to tick off; json: the tasks for tools.")
def remediate_command(setup: str, output: str | None, request: Request, strict: bool,
                      fmt: str) -> int:
    """Turn findings into a checklist to work through, worst first.

    One Markdown task per failing or manual check, with what to do, where in
    IBKR, the evidence and how to verify; waived checks are listed separately
    with their expiry.

    \b
    Example:
      ibkr-audit remediate setup.json --output TODO.md
    """
    analysis = _analyse(setup, request, output)
    findings = list(analysis.report.findings)
    items = remediation.tasks(findings, analysis.advice, analysis.report.setup_path,
                              analysis.where_keys)
    waived = remediation.accepted(findings)
    header = {**analysis.header(), "urgent": urgent_dicts(analysis.urgent),
              "next_step": next_step_dict(analysis.next_step), "unknown": unknown_text(findings)}
    text = (remediate_json(header, items, waived) if fmt == "json"
            else remediate_markdown(header, items, waived))
    emit(text, output)
    return _exit_code(analysis, request, strict)
