"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from audit import boundary, pipeline
from audit.fsutil import PRIVATE
from audit.textsafe import clean

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
        click.echo(f"wrote {clean(output)}", err=True)
    else:
        # click strips ANSI codes off-terminal unless told the colour was intended.
        click.echo(text, nl=False, color=color or None)


COLOR_CHOICES = ("auto", "always", "never")
_COLOR_META = "ibkr_audit.no_color"


def _color(ctx: click.Context, param: click.Parameter, value: str | None) -> bool | None:
    """``--color auto|always|never`` (bare ``--color``: always) → None/True/False."""
    if ctx.meta.get(_COLOR_META):  # --no-color was given before --color (or alone)
        source = ctx.get_parameter_source(param.name or "color")
        if source is not click.core.ParameterSource.COMMANDLINE:
            return False
    return {"always": True, "never": False}.get((value or "auto").lower())


def _no_color(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[_COLOR_META] = True
        if "color" in ctx.params:  # --color came first: the later --no-color wins
            ctx.params["color"] = False


def color_option(f: F) -> F:
    """``--color [auto|always|never]`` plus the older ``--no-color``; the value is a
    ``bool | None`` for :func:`use_color` (None: auto)."""
    f = click.option("--no-color", is_flag=True, expose_value=False, callback=_no_color,
                     help="Same as --color never.")(f)
    return click.option("--color", type=click.Choice(COLOR_CHOICES, case_sensitive=False),
                        is_flag=False, flag_value="always", default="auto", show_default=True,
                        callback=_color,
                        help="Colour: auto (on a terminal, unless NO_COLOR is set), always "
                             "or never.")(f)


def history_db_option(f: F) -> F:
    return click.option("--history-db", metavar="PATH",
                        help="History database (default: $IBKR_AUDIT_HISTORY_DB, else the user "
                             "data directory).")(f)


def output_option(f: F) -> F:
    return click.option("--output", "-o", metavar="FILE",
                        help="Write to FILE (atomically, mode 0600) instead of stdout.")(f)
