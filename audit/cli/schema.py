"""``ibkr-audit schema``: print the JSON Schema of setup (or checklist) files."""

from __future__ import annotations

import json

import click

from audit.cli.common import emit, output_option
from audit.schema import load_schema


@click.command("schema")
@click.argument("kind", type=click.Choice(["setup", "checklist"]), default="setup")
@output_option
def schema_command(kind: str, output: str | None) -> None:
    """Print the JSON Schema for setup files (default) or checklist files.

    Point your editor at it with a "$schema" key for completion and checking.

    \b
    Example:
      ibkr-audit schema --output setup.schema.json
    """
    schema = load_schema(f"{kind}.schema.json")
    # A schema holds no account data, so it is written world-readable.
    emit(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", output, mode=0o644)
