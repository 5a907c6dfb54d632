"""Entry point: wires the subcommands and turns every error into an exit code."""

from __future__ import annotations

import importlib
import os
import sys

import click

from audit import __version__, boundary
from audit.errors import EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, AuditError

# Subcommands are imported only when used: a 'check' run should not pay for the
# scheduler, the drill or the advice engine. name -> (module, attribute, short help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "check": ("audit.cli.check", "check",
              "Audit SETUP.json files against the checklists and print a report."),
    "checks": ("audit.cli.checks", "checks_command",
               "List every check (id, severity, area, title) or the parameters."),
    "explain": ("audit.cli.explain", "explain_command",
                "Explain a check: what it reads, why, when it passes, how to fix it."),
    "schema": ("audit.cli.schema", "schema_command",
               "Print the JSON Schema for setup or checklist files."),
    "init": ("audit.cli.init", "init_command", "Write a new setup file, by questions or from "
             "an example."),
    "plan": ("audit.cli.plan", "plan_command",
             "Recommend IBKR interfaces and plan the move, stage by stage."),
    "remediate": ("audit.cli.plan", "remediate_command",
                  "Turn findings into a checklist to work through, worst first."),
    "history": ("audit.cli.history", "history_command", "List recorded audits."),
    "diff": ("audit.cli.history", "diff_command",
             "Show what got worse (and better) between two recorded runs."),
    "schedule": ("audit.cli.schedule", "schedule_command",
                 "Audit a setup periodically with cron, systemd or launchd."),
    "unschedule": ("audit.cli.schedule", "unschedule_command",
                   "Remove the scheduled audit of a setup."),
    "credentials": ("audit.cli.credentials", "credentials_group",
                    "Store API credentials in the OS keyring, and check them."),
    "drill": ("audit.cli.drill", "drill_command",
              "Check that the backup authenticator still produces valid codes."),
    "import": ("audit.cli.importing", "import_command",
               "Derive setup facts from IBC, jts.ini or gateway config files."),
    "probe": ("audit.cli.probe", "probe_command",
              "Observe this machine: IBKR ports, disk encryption, screen lock, firewall."),
    "scan": ("audit.cli.scan", "scan_command",
             "Scan a trading bot's files for IBKR credentials and account numbers."),
    "configs": ("audit.cli.configs", "configs_command",
                "Audit IBC, jts.ini and gateway config files on their own, without a setup."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, _help = COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help from the table, so '--help' imports no subcommand module.
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_m, _a, text) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", "-V", is_flag=True, expose_value=False, is_eager=True,
              callback=lambda ctx, _p, value: _print_version(ctx, value),
              help="Show the version (and the checklists' version) and exit.")
@click.option("--debug", is_flag=True, envvar="IBKR_AUDIT_DEBUG",
              help="Show a traceback on internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Audit how an Interactive Brokers account is set up.

    Describe your setup (devices, MFA, permissions, margin safeguards,
    automation) in one JSON file, then run 'ibkr-audit check setup.json'.
    Checks come from the bundled checklists; each finding carries evidence
    (the JSON pointer it read) and a remediation.
    """
    # main() guards the whole run, error messages included; this covers callers
    # that drive the group directly (click's test runner, shell completion).
    ctx.with_resource(boundary.guarded())


def _print_version(ctx: click.Context, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from audit._resources import checklist_version

    click.echo(f"ibkr-audit {__version__} (checklists {checklist_version()})")
    ctx.exit()


def _report(error: AuditError) -> None:
    for problem in error.problems:
        click.echo(f"ibkr-audit: error: {problem.render()}", err=True)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exit 0/1 as the command decides, 2 bad input, 3 internal error."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:]) or bool(
        os.environ.get("IBKR_AUDIT_DEBUG"))
    boundary.reset()
    with boundary.guarded():
        code = _run(argv, debug)
    _flush()
    sys.exit(code if isinstance(code, int) else 0)


def _run(argv: list[str] | None, debug: bool) -> int | None:
    """The command's exit code; every message printed here passes the redactor."""
    code: int | None
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
            import traceback

            traceback.print_exc()
        click.echo(f"ibkr-audit: internal error: {type(exc).__name__}: {exc} "
                   "(rerun with --debug for a traceback, and please report it)", err=True)
        code = EXIT_INTERNAL
    return code


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
