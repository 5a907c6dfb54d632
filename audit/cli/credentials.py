"""``ibkr-audit credentials``: keep API credentials in the OS keyring."""

from __future__ import annotations

import sys

import click

from audit.errors import EXIT_FINDINGS, EXIT_OK, Problem, UsageError
from audit.loading import load_setup
from audit.secrets import keyring_store
from audit.textsafe import shell_command, shell_quote


@click.group("credentials")
def credentials_group() -> None:
    """Store API credentials in the OS keyring, and check that they are there."""


@credentials_group.command("set")
@click.option("--service", required=True, help="Keyring service name (as in the setup).")
@click.option("--username", required=True, help="Keyring user name (as in the setup).")
@click.option("--stdin", "from_stdin", is_flag=True,
              help="Read the secret from standard input (one line) instead of a prompt.")
def set_command(service: str, username: str, from_stdin: bool) -> None:
    """Store a secret in the OS keyring without echoing it anywhere.

    Backends that store nothing (null, fail) or keep secrets in a plain file
    (keyrings.alt's plaintext backend) are refused before the secret is asked
    for; the value is read back before it is reported as stored.
    """
    try:
        keyring_store.require_safe()
    except keyring_store.KeyringUnavailable as exc:
        raise UsageError(str(exc)) from None
    if from_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = click.prompt("Secret", hide_input=True, confirmation_prompt=True,
                              err=True)
    if not secret:
        raise UsageError("refusing to store an empty secret")
    try:
        backend = keyring_store.store(service, username, secret)
    except keyring_store.KeyringUnavailable as exc:
        raise UsageError(str(exc)) from None
    click.echo(f"Stored the credential for service {shell_quote(service)}, user "
               f"{shell_quote(username)} in "
               f"{_where(backend)}, and read it back.", err=True)


def _where(backend: keyring_store.Backend) -> str:
    if backend.kind is keyring_store.Kind.OS:
        return f"the OS keyring ({backend.label})"
    return (f"the keyring backend {backend.name}, which ibkr-audit does not know: make sure "
            "it encrypts what it stores")


@credentials_group.command("check")
@click.argument("setup", metavar="SETUP.json")
def check_command(setup: str) -> None:
    """Verify that the keyring entry SETUP.json declares exists (never prints it).

    Exit 0 when it exists, 1 when it does not or sits in a plaintext backend,
    2 when the setup declares no keyring entry or no keyring is usable (a null or
    fail backend, or a locked keyring).
    """
    data = load_setup(setup).data
    creds = data.get("automation", {}).get("credentials", {})
    if creds.get("storage") != "keyring":
        raise UsageError([Problem("automation.credentials.storage is not 'keyring'; nothing to "
                                  "look up", file=setup,
                                  pointer="/automation/credentials/storage")])
    service, username = creds.get("keyring_service"), creds.get("keyring_username")
    if not (service and username):
        raise UsageError([Problem("declare keyring_service and keyring_username", file=setup,
                                  pointer="/automation/credentials")])
    lookup = keyring_store.exists(service, username)
    if lookup.found is None:
        raise UsageError(lookup.reason)
    if lookup.found:
        click.echo(f"Found the keyring entry for service {shell_quote(service)}, "
                   f"user {shell_quote(username)} ({lookup.backend}).")
        click.get_current_context().exit(EXIT_OK)
    store_it = shell_command("ibkr-audit", "credentials", "set", "--service", service,
                             "--username", username)
    if lookup.reason:  # it exists, but where anyone can read it
        click.echo(f"The keyring entry for service {shell_quote(service)}, user "
                   f"{shell_quote(username)}: {lookup.reason}. Use a real keyring instead: "
                   f"{keyring_store.how_to_fix()}; then run: {store_it}")
        click.get_current_context().exit(EXIT_FINDINGS)
    click.echo(f"No keyring entry for service {shell_quote(service)}, user "
               f"{shell_quote(username)}. Store it with: {store_it}")
    click.get_current_context().exit(EXIT_FINDINGS)
