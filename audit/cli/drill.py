"""``ibkr-audit drill``: prove the backup authenticator works, and record it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from audit.cli.common import history_db_option
from audit.errors import EXIT_FINDINGS, InputError, Problem, UsageError
from audit.fsutil import write_atomic
from audit.history.store import Store, default_path
from audit.inputs import Limits, decode, parse, read_bytes
from audit.jsonpos import set_value
from audit.loading import load_setup
from audit.schema import validate
from audit.secrets import drill, keyring_store

ATTEMPTS = 3


@click.command("drill")
@click.option("--enroll", "enroll_name", metavar="NAME",
              help="Store the backup authenticator's TOTP secret (otpauth:// URI or base32 "
                   "seed, 16 characters or more) in the OS keyring under NAME. Use the "
                   "authenticator's backup_authenticators[].device value as NAME. Asked for "
                   "without echo.")
@click.option("--authenticator", "name", metavar="NAME",
              help="Run the drill for the authenticator enrolled as NAME.")
@click.option("--stdin", "from_stdin", is_flag=True,
              help="With --enroll: read the secret from standard input.")
@click.option("--update", "update", metavar="SETUP.json",
              help="On success, set last_tested of the backup authenticator whose device is "
                   "NAME in this setup (the rest of the file is kept as it is). Checked before "
                   "the code is asked for; with --enroll, checks that NAME is declared there.")
@history_db_option
def drill_command(enroll_name: str | None, name: str | None, from_stdin: bool,
                  update: str | None, history_db: str | None) -> None:
    """Check that your backup authenticator still produces valid codes.

    Enrol once (the secret goes to the OS keyring and nowhere else), then run
    the drill now and then: type the code your backup device shows. Three
    wrong codes exit 1 with advice.

    The enrolment NAME is the 'device' of the authenticator in the setup's
    login.backup_authenticators list: --update finds the entry to stamp by it.
    Keyrings that store nothing (null, fail) or store in plain files
    (keyrings.alt plaintext) are refused.

    \b
    Examples:
      ibkr-audit drill --enroll yubikey
      ibkr-audit drill --authenticator yubikey --update setup.json
    """
    try:
        if enroll_name:
            if update:  # the name must be the device the setup declares
                _locate(update, enroll_name)
            keyring_store.require_safe()  # before the secret is typed in
            raw = (sys.stdin.readline() if from_stdin else
                   click.prompt("otpauth:// URI or base32 seed", hide_input=True, err=True))
            backend, bits = drill.enroll(enroll_name, raw)
            click.echo(f"Enrolled {enroll_name!r} for drills (secret kept in {backend.label}, "
                       "and read back).", err=True)
            if bits < drill.STRONG_BITS:
                click.echo(f"Note: this seed has {bits} bits, less than the "
                           f"{drill.STRONG_BITS} recommended; 'check --check-keyring' reports "
                           "it as a low finding.", err=True)
            return
        if not name:
            raise UsageError("give --enroll NAME or --authenticator NAME")
        if update:
            _locate(update, name)  # before any code is asked for
        otp = drill.load(name)
    except keyring_store.KeyringUnavailable as exc:
        raise UsageError(str(exc)) from None
    for attempt in range(1, ATTEMPTS + 1):
        code = click.prompt(f"Code shown on {name} ({attempt}/{ATTEMPTS})", err=True)
        verdict = drill.verify(otp, str(code))
        if verdict.ok:
            break
        click.echo("That code does not match.", err=True)
    else:
        click.echo(f"The drill failed: {ATTEMPTS} wrong codes. Check that {name}'s clock is set "
                   "automatically, that you enrolled the secret of this very authenticator, "
                   "and that it is still registered in IBKR's Secure Login System. If it no "
                   "longer works, replace it now, while your primary factor still does.",
                   err=True)
        click.get_current_context().exit(EXIT_FINDINGS)
    today = drill.today().isoformat()
    result = "ok" if verdict.drift is None else f"ok, clock {verdict.drift}"
    if verdict.drift:
        click.echo(f"The code matched the {'previous' if verdict.drift == 'behind' else 'next'} "
                   f"30-second window: {name}'s clock runs {verdict.drift}. Set it to update "
                   "automatically before it drifts further.", err=True)
    if update:
        _update_last_tested(update, name, today)  # raises before anything is recorded
    with Store(Path(history_db) if history_db else default_path()) as store:
        store.record_drill(name, today, result)
    click.echo(f"Drill passed for {name} on {today}.")


def _locate(path: str, name: str) -> int:
    """The index of NAME among the setup's backup authenticators; input error if absent."""
    setup = load_setup(path)
    backups = setup.data.get("login", {}).get("backup_authenticators", [])
    index = next((i for i, b in enumerate(backups) if b.get("device") == name), None)
    if index is None:
        devices = ", ".join(repr(b.get("device")) for b in backups if b.get("device")) or "none"
        raise InputError([Problem(f"no backup authenticator on device {name!r} (declared: "
                                  f"{devices}); the enrolment name must be the authenticator's "
                                  "device", file=path, pointer="/login/backup_authenticators")])
    return index


def _update_last_tested(path: str, name: str, today: str) -> None:
    """Set last_tested in place; validate the result before writing it, atomically."""
    index = _locate(path, name)  # again: the file may have changed while we waited
    text = decode(read_bytes(path, Limits()), path)
    updated = set_value(text, f"/login/backup_authenticators/{index}/last_tested", today)
    if validate(parse(updated, path, Limits())):
        raise InputError([Problem("the update would make the file invalid; left unchanged",
                                  file=path)])  # pragma: no cover - set_value keeps it valid
    write_atomic(path, updated)
    click.echo(f"Updated /login/backup_authenticators/{index}/last_tested in {path}.", err=True)
