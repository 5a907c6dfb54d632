"""``ibkr-audit checks``: list the checks that would run."""

from __future__ import annotations

import json

import click

from audit.engine import checklist
from audit.model import Severity, area_sort_key


@click.command("checks")
@click.option("--area", "areas", multiple=True, metavar="AREA",
              help="Only checks of this area (repeatable).")
@click.option("--severity", "severities", multiple=True,
              type=click.Choice([s.value for s in Severity]),
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
            for row in rows:
                click.echo(f"{row['name']:<32} {row['default']!s:>8}  {row['description']}")
        return
    wanted_areas = {a.lower() for a in areas}
    known_areas = {c.area for c in lists.checks}
    unknown = sorted(wanted_areas - known_areas)
    if unknown:
        raise click.BadParameter(f"unknown area {', '.join(unknown)}; known: "
                                 f"{', '.join(sorted(known_areas))}", param_hint="--area")
    selected = [c for c in lists.checks
                if (not wanted_areas or c.area in wanted_areas)
                and (not severities or c.severity.value in severities)]
    selected.sort(key=lambda c: (area_sort_key(c.area), -c.severity.rank, c.id))
    if fmt == "json":
        click.echo(json.dumps([{"id": c.id, "severity": c.severity.value, "area": c.area,
                                "title": c.title} for c in selected], indent=2))
        return
    for c in selected:
        click.echo(f"{c.id:<11} {c.severity.value:<9} {c.area:<12} {c.title}")
    click.echo(f"\n{len(selected)} check(s). 'ibkr-audit explain ID' tells more about one.",
               err=True)
