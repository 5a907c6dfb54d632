"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from audit import boundary, pipeline
from audit.fsutil import PRIVATE

F = TypeVar("F", bound=Callable[..., Any])

# The shared option parsers live with the pipeline; re-exported for other commands.
FAIL_ON_CHOICES = pipeline.FAIL_ON_CHOICES
parse_fail_on = pipeline.parse_fail_on
parse_date = pipeline.parse_date
parse_params = pipeline.parse_params


def use_color(flag: bool | None, stream: Any = None) -> bool:
    """Colour when asked, or when writing to a terminal and NO_COLOR is unset."""
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream if stream is not None else sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def emit(text: str, output: str | None, color: bool = False, mode: int = PRIVATE) -> None:
    """Write ``text`` to ``output`` atomically (private file by default), or to stdout;
    both through the redaction boundary."""
    if output and output != "-":
        boundary.write_report(output, text, mode)
    else:
        # click strips ANSI codes off-terminal unless told the colour was intended.
        click.echo(text, nl=False, color=color or None)


def color_option(f: F) -> F:
    return click.option("--color/--no-color", default=None,
                        help="Force colour on or off (default: on for a terminal, off if "
                             "NO_COLOR is set).")(f)


def history_db_option(f: F) -> F:
    return click.option("--history-db", metavar="PATH",
                        help="History database (default: $IBKR_AUDIT_HISTORY_DB, else the user "
                             "data directory).")(f)


def output_option(f: F) -> F:
    return click.option("--output", "-o", metavar="FILE",
                        help="Write to FILE (atomically, mode 0600) instead of stdout.")(f)
