"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from audit.errors import UsageError
from audit.fsutil import PRIVATE, write_atomic
from audit.model import Severity

F = TypeVar("F", bound=Callable[..., Any])

FAIL_ON_CHOICES = [s.value for s in Severity] + ["never"]


def parse_fail_on(value: str) -> Severity | None:
    return None if value == "never" else Severity(value)


def parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form") from None


def parse_params(values: tuple[str, ...], known: dict[str, Any]) -> dict[str, Any]:
    """``NAME=NUMBER`` pairs for checklist parameters; unknown names are a usage error."""
    out: dict[str, Any] = {}
    for item in values:
        name, sep, raw = item.partition("=")
        if not sep:
            raise UsageError(f"--param {item!r}: expected NAME=VALUE")
        if name not in known:
            raise UsageError(f"--param {name!r}: unknown parameter; "
                             f"known: {', '.join(sorted(known))}")
        try:
            out[name] = float(raw) if "." in raw else int(raw)
        except ValueError:
            raise UsageError(f"--param {name}={raw!r}: value must be a number") from None
    return out


def use_color(flag: bool | None, stream: Any = None) -> bool:
    """Colour when asked, or when writing to a terminal and NO_COLOR is unset."""
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream if stream is not None else sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def emit(text: str, output: str | None, color: bool = False, mode: int = PRIVATE) -> None:
    """Write ``text`` to ``output`` atomically (private file by default), or to stdout."""
    if output and output != "-":
        write_atomic(output, text, mode)
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
