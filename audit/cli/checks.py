"""``ibkr-audit checks``: list the checks that would run."""

from __future__ import annotations

import json

import click

from audit.engine import checklist
from audit.model import Severity, area_sort_key
from audit.reports.text import terminal_width, wrap
from audit.textsafe import clean


def _row(columns: str, text: str, width: int) -> str:
    """A fixed-width head, then ``text`` wrapped under its own column (or below it)."""
    text = clean(text)
    if width - len(columns) >= 30:
        lines = wrap(text, width - len(columns), 0, 0)
        return "\n".join([columns + lines[0], *(" " * len(columns) + x for x in lines[1:])])
    return "\n".join([columns.rstrip(), *wrap(text, width, 4, 0)])


@click.command("checks")
@click.option("--area", "areas", multiple=True, metavar="AREA",
              help="Only checks of this area (repeatable).")
@click.option("--severity", "severities", multiple=True,
              type=click.Choice([s.value for s in Severity], case_sensitive=False),
              help="Only checks of this severity (repeatable).")
@click.option("--checklist", "checklists", multiple=True, metavar="PATH",
              help="Include checks from a checklist file or directory (repeatable).")
@click.option("--params", "show_params", is_flag=True,
              help="List the tunable parameters (for 'check --param') instead.")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def checks_command(areas: tuple[str, ...], severities: tuple[str, ...],
                   checklists: tuple[str, ...], show_params: bool, fmt: str) -> None:
    """List every check (id, severity, area, title), or the parameters with --params.

    \b
    Examples:
      ibkr-audit checks --area automation
      ibkr-audit checks --severity critical --severity high --format json
      ibkr-audit checks --params
    """
    lists = checklist.load(checklists)
    if show_params:
        rows = [{"name": name, "default": lists.params[name],
                 "description": lists.param_descriptions[name]} for name in sorted(lists.params)]
        if fmt == "json":
            click.echo(json.dumps(rows, indent=2))
        else:
            width = terminal_width()
            for row in rows:
                click.echo(_row(f"{row['name']:<32} {row['default']!s:>8}  ",
                                str(row["description"]), width))
        return
    wanted_areas = {a.lower() for a in areas}
    known_areas = {c.area for c in lists.checks}
    unknown = sorted(wanted_areas - known_areas)
    if unknown:
        raise click.BadParameter(f"unknown area {', '.join(unknown)}; known: "
                                 f"{', '.join(sorted(known_areas))}", param_hint="--area")
    selected = [c for c in lists.checks
                if (not wanted_areas or c.area in wanted_areas)
                and (not severities or c.severity.value in {v.lower() for v in severities})]
    selected.sort(key=lambda c: (area_sort_key(c.area), -c.severity.rank, c.id))
    if fmt == "json":
        click.echo(json.dumps([{"id": c.id, "severity": c.severity.value, "area": c.area,
                                "title": c.title} for c in selected], indent=2))
        return
    width = terminal_width()
    for c in selected:
        click.echo(_row(f"{c.id:<11} {c.severity.value:<9} {c.area:<12} ", c.title, width))
    click.echo(f"\n{len(selected)} check(s). 'ibkr-audit explain ID' tells more about one.",
               err=True)
