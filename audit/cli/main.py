"""Entry point: wires the subcommands and turns every error into an exit code."""

from __future__ import annotations

import os
import sys
import traceback

import click

from audit import __version__
from audit.cli.check import check
from audit.cli.checks import checks_command
from audit.cli.credentials import credentials_group
from audit.cli.drill import drill_command
from audit.cli.explain import explain_command
from audit.cli.history import diff_command, history_command
from audit.cli.init import init_command
from audit.cli.plan import plan_command, remediate_command
from audit.cli.schedule import schedule_command, unschedule_command
from audit.cli.schema import schema_command
from audit.errors import EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, AuditError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="ibkr-audit",
                      message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, envvar="IBKR_AUDIT_DEBUG",
              help="Show a traceback on internal errors.")
def cli(debug: bool) -> None:
    """Audit how an Interactive Brokers account is set up.

    Describe your setup (devices, MFA, permissions, margin safeguards,
    automation) in one JSON file, then run 'ibkr-audit check setup.json'.
    Checks come from the bundled checklists; each finding carries evidence
    (the JSON pointer it read) and a remediation.
    """


cli.add_command(check)
cli.add_command(checks_command)
cli.add_command(explain_command)
cli.add_command(schema_command)
cli.add_command(init_command)
cli.add_command(plan_command)
cli.add_command(remediate_command)
cli.add_command(history_command)
cli.add_command(diff_command)
cli.add_command(schedule_command)
cli.add_command(unschedule_command)
cli.add_command(credentials_group)
cli.add_command(drill_command)


def _report(error: AuditError) -> None:
    for problem in error.problems:
        click.echo(f"ibkr-audit: error: {problem.render()}", err=True)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exit 0/1 as the command decides, 2 bad input, 3 internal error."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:]) or bool(
        os.environ.get("IBKR_AUDIT_DEBUG"))
    try:
        code = cli.main(args=argv, prog_name="ibkr-audit", standalone_mode=False)
    except AuditError as exc:
        _report(exc)
        code = exc.exit_code
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = EXIT_INPUT
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("ibkr-audit: interrupted", err=True)
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        code = 0
    except Exception as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"ibkr-audit: internal error: {type(exc).__name__}: {exc} "
                   "(rerun with --debug for a traceback, and please report it)", err=True)
        code = EXIT_INTERNAL
    _flush()
    sys.exit(code if isinstance(code, int) else 0)


def _flush() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> None:
    # The reader went away (``| head``); point stdout at /dev/null so the
    # interpreter's own flush at exit does not raise again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
