"""``ibkr-audit scan``: look for IBKR credentials in a trading bot's files."""

from __future__ import annotations

import json

import click

from audit import boundary
from audit.cli.common import emit, output_option
from audit.errors import EXIT_FINDINGS, EXIT_OK
from audit.textsafe import clean


@click.command("scan")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@output_option
def scan_command(paths: tuple[str, ...], fmt: str, output: str | None) -> int:
    """Scan a bot's source tree and config for IBKR credentials and account numbers.

    Reads .py, .env, .ini, .cfg, .toml, .yaml, .json and notebooks, git-ignored
    ones included (an ignored .env is where plain passwords sit); skips .git,
    virtual environments and dependency folders. Each hit is file:line and a
    kind; the value itself is never printed.

    \b
    Exit status: 0 nothing found, 1 credentials or account numbers found,
    2 a path does not exist.

    \b
    Examples:
      ibkr-audit scan ~/bots/rebalancer
      ibkr-audit check setup.json --scan-code ~/bots/rebalancer
    """
    from audit import observe

    found = observe.scan_code(list(paths))
    boundary.learn(found.pop("secrets"))  # every output of this run hides them
    found = boundary.redactor().value(found)
    if fmt == "json":
        text = json.dumps(found, indent=2, sort_keys=True) + "\n"
    else:
        lines = [clean(f"{hit}  [credential]") for hit in found["credentials"]]
        lines += [clean(f"{hit}  [account number]") for hit in found["account_ids"]]
        lines += [clean(f"skipped: {s}") for s in found["skipped"]]
        if found["truncated"]:
            lines.append(f"stopped after {found['files_scanned']} files (the scan is bounded)")
        hits = len(found["credentials"]) + len(found["account_ids"])
        lines.append(f"{hits} hit(s) in {found['files_scanned']} file(s); values are never shown."
                     if hits else f"Nothing found in {found['files_scanned']} file(s).")
        text = "\n".join(lines) + "\n"
    emit(text, output)
    return EXIT_FINDINGS if found["credentials"] or found["account_ids"] else EXIT_OK
