"""``ibkr-audit import``: turn what config files prove into setup facts."""

from __future__ import annotations

import difflib
import json

import click

from audit.errors import InputError, Problem
from audit.fsutil import write_atomic
from audit.importers import configs, derive
from audit.inputs import Limits, decode, parse, read_bytes
from audit.jsonpos import set_value
from audit.loading import load_setup
from audit.schema import schema_errors
from audit.secrets.scan import Redactor


@click.command("import")
@click.argument("kind", type=click.Choice(configs.KINDS))
@click.argument("path")
@click.option("--into", "into", metavar="SETUP.json",
              help="Merge the facts into this setup (in place, the rest kept as it is), "
                   "after printing the diff.")
@click.option("--dry-run", is_flag=True, help="With --into: print the diff, write nothing.")
def import_command(kind: str, path: str, into: str | None, dry_run: bool) -> None:
    """Derive setup facts from an IBC config.ini, a jts.ini or a gateway conf.yaml.

    KIND is ibc, jts or gateway. Without --into, prints the facts as JSON
    pointers and values. Passwords are never copied: only the fact that one is
    stored (credentials.storage = plaintext_file).

    \b
    Examples:
      ibkr-audit import ibc ~/ibc/config.ini
      ibkr-audit import jts ~/Jts/jts.ini --into setup.json
    """
    found, secrets = configs.load({kind: [path]})
    values, notes = derive.facts(kind, found[kind][0])
    redactor = Redactor(secrets)
    for note in notes:
        click.echo(f"note: {redactor.text(note)}", err=True)
    if into is None:
        click.echo(json.dumps(values, indent=2))
        return
    load_setup(into)  # the target must be a valid setup to begin with
    text = decode(read_bytes(into, Limits()), into)
    updated = text
    for pointer, value in values.items():
        updated = set_value(updated, pointer, value, create_parents=True)
    if schema_errors(parse(updated, into, Limits())):
        raise InputError([Problem("merging these facts would make the setup invalid; "
                                  "nothing was written", file=into)])
    diff = difflib.unified_diff(text.splitlines(keepends=True), updated.splitlines(keepends=True),
                                fromfile=into, tofile=f"{into} (with {kind} facts)")
    shown = "".join(diff)
    click.echo(shown or f"{into} already says all of this.\n", nl=False)
    if dry_run or not shown:
        return
    write_atomic(into, updated)
    click.echo(f"Updated {into}.", err=True)
