"""``ibkr-audit explain ID``: what a check looks at, why, and how to pass it."""

from __future__ import annotations

import json
import textwrap

import click

from audit import _resources
from audit.cli.common import color_option, use_color
from audit.engine import checklist
from audit.engine.describe import describe
from audit.errors import Problem, UsageError
from audit.reports.text import fit, style, terminal_width


@click.command("explain")
@click.argument("check_id")
@click.option("--checklist", "checklists", multiple=True, metavar="PATH",
              help="Also look in this checklist file or directory (repeatable).")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text to read, json for tools (every field of the check).")
@color_option
def explain_command(check_id: str, checklists: tuple[str, ...], fmt: str,
                    color: bool | None) -> None:
    """Explain CHECK_ID: what it reads, why it matters, when it passes, how to fix it.

    \b
    Example:
      ibkr-audit explain LOGIN-002
    """
    lists = checklist.load(checklists)
    by_id = lists.by_id()
    check = by_id.get(check_id.upper())
    if check is None:
        raise UsageError([Problem(f"no check {check_id!r}"
                                  + checklist.suggest(check_id, sorted(by_id))
                                  + " ('ibkr-audit checks' lists them all)")])
    params = {**lists.params}
    passes = describe(check.pass_if, lists.conditions, params)
    applies = describe(check.applies_if, lists.conditions, params) if check.applies_if else []
    context = [(rule["severity"], describe(rule["when"], lists.conditions, params), rule["reason"])
               for rule in check.severity_if or []]
    if fmt == "json":
        data = checklist.dump_check(check)
        data["passes_when"] = passes
        data["applies_when"] = applies
        data["severity_in_context"] = [{"severity": sev, "when": when, "reason": why}
                                       for sev, when, why in context]
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return

    def para(label: str, text: str) -> list[str]:
        return [label, *textwrap.wrap(text, width, initial_indent="  ", subsequent_indent="  ",
                                      break_on_hyphens=False), ""]

    width = terminal_width()

    source = check.source
    bundled = str(_resources.checklist_dir())
    if source.startswith(bundled):
        source = "bundled " + source[len(bundled):].lstrip("/\\")
    out = [f"{check.id}  {check.title}",
           f"area: {check.area} · severity: {check.severity.value} · from {source}", ""]
    out += para("What it looks at", check.description)
    out += para(f"Why it is {check.severity.value}", check.severity_reason)
    for severity, when, why in context:
        out += [f"Severity {severity} instead when", *[f"  {line}" for line in when],
                *textwrap.wrap(f"because {why}", width, initial_indent="  ",
                               subsequent_indent="  "), ""]
    out += para(f"Where this comes from ({check.reference.section})", check.reference.passage)
    out += ["Facts it reads (JSON pointers; * means each item)",
            *[f"  {p or '(the whole file)'}" for p in check.reads], ""]
    if check.for_each:
        out += [f"Evaluated once per item of {check.for_each} ('the item' below).", ""]
    if applies:
        out += ["Applies when", *[f"  {line}" for line in applies],
                "  (otherwise: skip; if the facts are missing: manual)", ""]
    out += ["Passes when", *[f"  {line}" for line in passes],
            "  (missing facts make it manual, never pass)", ""]
    out += para("How to fix", check.remediation)
    if check.where_in_ibkr:
        out += para("Where", check.where_in_ibkr)
    for interface, where in (check.where_by_interface or {}).items():
        out += para(f"Where, if you use {interface}", where)
    if check.change:
        out += para("Fact to change first (leads the evidence)", check.change)
    if check.verify_in_ibkr:
        out += para("Verify in IBKR", check.verify_in_ibkr)
    text = fit("\n".join(out).rstrip(), width)
    colored = use_color(color)
    if colored:  # the title and the section headings in bold
        text = "\n".join(style(line, True, bold=True) if line and not line.startswith(" ")
                         and not line.startswith("area: ") else line
                         for line in text.split("\n"))
    click.echo(text, color=colored or None)
