"""``ibkr-audit import``: turn what config files prove into setup facts."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from audit import boundary
from audit.errors import InputError, Problem
from audit.fsutil import write_atomic
from audit.importers import configs, derive
from audit.inputs import Limits, decode, parse, read_bytes
from audit.jsonpos import set_value
from audit.loading import load_setup
from audit.pointer import MISSING, resolve
from audit.schema import schema_errors


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
    boundary.learn(secrets)
    values, notes = derive.facts(kind, found[kind][0])
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if into is None:
        click.echo(json.dumps(values, indent=2))
        return
    with _locked(into):  # read, merge and write under one lock: no lost update
        _merge(into, kind, path, values, dry_run)


@contextlib.contextmanager
def _locked(path: str) -> Iterator[None]:
    """An exclusive lock on ``path`` itself, held while the caller reads and replaces it.

    Replacing the file (atomic rename) makes a new inode, so a waiter that finally
    gets the lock on the old one lets go and locks the new file instead.
    """
    while True:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            reason = ("no such file" if isinstance(exc, FileNotFoundError)
                      else f"cannot read: {exc.strerror or exc}")
            raise InputError([Problem(reason, file=path)]) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            held, current = os.fstat(fd), Path(path).stat()
            if (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino):
                break
        except OSError:
            pass  # replaced or removed meanwhile: look again
        os.close(fd)
    try:
        yield
    finally:
        os.close(fd)


def _merge(into: str, kind: str, path: str, values: dict[str, Any], dry_run: bool) -> None:
    before = load_setup(into).data  # the target must be a valid setup to begin with
    text = decode(read_bytes(into, Limits()), into)
    updated = text
    for pointer, value in values.items():
        updated = set_value(updated, pointer, value, create_parents=True)
    if schema_errors(parse(updated, into, Limits())):
        raise InputError([Problem("merging these facts would make the setup invalid; "
                                  "nothing was written", file=into)])
    shown = changes(before, values)
    click.echo(f"{into}, with the facts from {kind} {path}:\n{shown}" if shown
               else f"{into} already says all of this.\n", nl=False)
    if dry_run or not shown:
        return
    write_atomic(into, updated)
    click.echo(f"Updated {into}.", err=True)


def changes(document: dict[str, Any], values: dict[str, Any]) -> str:
    """What the merge changes, fact by fact: ``/pointer: old → new``.

    Not a text diff: its context lines would print the setup's own text, which may
    hold a secret in a form no redactor can recognise (a JSON escape, a PIN written
    as a number, the whole file on one line).
    """
    redactor = boundary.redactor()
    lines = []
    for pointer, value in values.items():
        old = resolve(document, pointer)
        if old == value:
            continue
        shown_old = "(absent)" if old is MISSING else json.dumps(redactor.value(old))
        lines.append(f"  {pointer}: {shown_old} → {json.dumps(redactor.value(value))}\n")
    return "".join(lines)
