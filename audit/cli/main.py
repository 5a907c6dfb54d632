"""Entry point: wires the subcommands and turns every error into an exit code."""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import signal
import sys
from types import FrameType
from typing import Any, NoReturn

import click

from audit import __version__, boundary
from audit.errors import EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, AuditError, Problem

EXIT_TERMINATED = 128 + signal.SIGTERM  # 143, as a shell reports a SIGTERM death
TRUE_WORDS = {"1", "true", "yes", "on"}
BAD_NAME_ERRNOS = {errno.ENAMETOOLONG, errno.ELOOP}
NO_TERMINAL = "needs a terminal to ask its questions (standard input ended); "
NEEDS_TERMINAL = NO_TERMINAL + "use --stdin or --non-interactive"

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
                 "Audit a setup periodically (cron, systemd, launchd, Task Scheduler)."),
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

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            import difflib  # only for a mistyped command

            close = difflib.get_close_matches(name, list(COMMANDS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            ctx.fail(f"no such command {name!r}{hint}")
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, _help = COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module), attribute)
        _conventions(command)
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # A bare '--color' before a setup file means 'always' (it takes an optional value).
        args = [*args]
        for i, arg in enumerate(args[:-1]):
            if arg == "--":
                break
            if arg == "--color" and args[i + 1].lower() not in ("auto", "always", "never"):
                args[i] = "--color=always"
        return super().parse_args(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help from the table, so '--help' imports no subcommand module.
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_m, _a, text) in COMMANDS.items()])


def _conventions(command: click.Command) -> None:
    """What every subcommand accepts: case-insensitive choices, and --debug after it."""
    if getattr(command, "_ibkr_conventions", False):
        return
    command._ibkr_conventions = True  # type: ignore[attr-defined]
    for param in command.params:
        if isinstance(param.type, click.Choice):
            param.type.case_sensitive = False
    if not any("--debug" in getattr(p, "opts", ()) for p in command.params):
        # main() reads --debug from the whole command line; here it only has to parse.
        command.params.append(click.Option(["--debug"], is_flag=True, expose_value=False,
                                           hidden=True))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _conventions(sub)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"],
                                              "auto_envvar_prefix": "IBKR_AUDIT"})
@click.option("--version", "-V", is_flag=True, expose_value=False, is_eager=True,
              callback=lambda ctx, _p, value: _print_version(ctx, value),
              help="Show the version (and the checklists' version) and exit.")
@click.option("--debug", is_flag=True,
              help="Show a traceback on internal errors (also after the subcommand, or "
                   "IBKR_AUDIT_DEBUG=1).")
@click.option("--config", "config_file", metavar="FILE", envvar="IBKR_AUDIT_CONFIG",
              help="Defaults from this TOML file (default: ./.ibkr-audit.toml, then the user "
                   "config directory). Precedence: flag > environment > file > built-in.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, config_file: str | None) -> None:
    """Audit how an Interactive Brokers account is set up.

    Describe your setup (devices, MFA, permissions, margin safeguards,
    automation) in one JSON file, then run 'ibkr-audit check setup.json'.
    Checks come from the bundled checklists; each finding carries evidence
    (the JSON pointer it read) and a remediation.
    """
    # main() guards the whole run, error messages included; this covers callers
    # that drive the group directly (click's test runner, shell completion).
    ctx.with_resource(boundary.guarded())
    from audit import config

    path = config.find(config_file)
    if path is not None:
        ctx.default_map = config.load(path, list(COMMANDS),
                                      lambda name: cli.get_command(ctx, name))


def _print_version(ctx: click.Context, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from audit._resources import checklist_version

    click.echo(f"ibkr-audit {__version__} (checklists {checklist_version()})")
    ctx.exit()


class Terminated(BaseException):
    """SIGTERM, raised where the program is so that every cleanup (temp files) runs."""


class StdoutClosed(OSError):
    """Standard output was closed before the program started."""


class StdoutFailed(OSError):
    """Writing to standard output failed (a full disk, a closed descriptor...)."""


class _GuardedStdout:
    """Wraps stdout so a failed write is told apart from any other OSError."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            written: int = self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise StdoutFailed(exc.errno, exc.strerror) from None
        return written

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise StdoutFailed(exc.errno, exc.strerror) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _ClosedStdout:
    """Stands in for a closed stdout: writing to it is an error the user can act on."""

    encoding = "utf-8"
    errors = "strict"

    def write(self, _text: str) -> int:
        raise StdoutClosed(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise StdoutClosed(errno.EBADF, "standard output is closed")


def _say(line: str) -> None:
    """One line on stderr; a full or closed stderr must not turn into a traceback."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        click.echo(line, err=True)


def _report(error: AuditError) -> None:
    for problem in error.problems:
        _say(f"ibkr-audit: error: {problem.render()}")


def _on_sigterm(_signum: int, _frame: FrameType | None) -> NoReturn:
    raise Terminated


_GETPASS_PROMPT = click.termui.hidden_prompt_func


def _hidden_prompt(prompt: str) -> str:
    """A hidden prompt without a terminal reads one line (there is no echo to hide, so no
    getpass warning); at the end of input it stops, and main() says what to do instead."""
    stdin = sys.stdin
    if stdin is not None and stdin.isatty():
        return _GETPASS_PROMPT(prompt)
    with contextlib.suppress(OSError):
        click.echo(prompt, nl=False, err=True)
    line = stdin.readline() if stdin is not None else ""
    if not line:
        raise EOFError
    return line.rstrip("\r\n")


def _prepare_streams() -> None:
    """Never crash on what we print: unencodable text (lone surrogates, file names that
    are not UTF-8, PYTHONIOENCODING=latin-1) is written as backslash escapes."""
    if sys.stdout is None:
        sys.stdout = _ClosedStdout()
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(OSError, ValueError):
                reconfigure(errors="backslashreplace")
    if not isinstance(sys.stdout, _ClosedStdout | _GuardedStdout):
        sys.stdout = _GuardedStdout(sys.stdout)


def _split_debug(args: list[str]) -> tuple[list[str], bool]:
    """``--debug`` is accepted anywhere before ``--``; IBKR_AUDIT_DEBUG=1/true/yes/on."""
    end = args.index("--") if "--" in args else len(args)
    flag = "--debug" in args[:end]
    rest = [a for a in args[:end] if a != "--debug"] + args[end:]
    env = os.environ.get("IBKR_AUDIT_DEBUG", "").strip().lower() in TRUE_WORDS
    return rest, flag or env


def _check_environment() -> None:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    digits = epoch is not None and epoch.isascii() and epoch.isdigit()  # '²' is isdigit()
    if epoch and digits and (len(epoch) > 12 or int(epoch) > MAX_EPOCH):
        raise AuditError(f"SOURCE_DATE_EPOCH={epoch[:20]}{'...' if len(epoch) > 20 else ''} "
                         f"is out of range (0 to {MAX_EPOCH}, i.e. 9999-12-31)")


MAX_EPOCH = 253_402_300_799


def _usage_error(exc: click.UsageError) -> None:
    _say(f"ibkr-audit: error: {exc.format_message()}")
    ctx = exc.ctx
    if ctx is not None and ctx.command.get_help_option(ctx) is not None:
        _say(f"Try '{ctx.command_path} --help'.")


def _stdout_failed(exc: BaseException) -> str | None:
    """Why stdout cannot be written, if that is what ``exc`` is about."""
    if isinstance(exc, StdoutClosed):
        return "standard output is closed; use --output FILE"
    if isinstance(exc, StdoutFailed):
        return exc.strerror or str(exc)
    return None


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exit 0/1 as the command decides, 2 bad input, 3 internal error."""
    args, debug = _split_debug(list(argv if argv is not None else sys.argv[1:]))
    _prepare_streams()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    patch_prompt = click.termui.hidden_prompt_func is _GETPASS_PROMPT  # not a test harness's
    if patch_prompt:
        click.termui.hidden_prompt_func = _hidden_prompt
    boundary.reset()
    try:
        # Inside our stream guards: the redactor sees every byte before the terminal.
        with boundary.guarded():
            code = _run(args, debug)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if patch_prompt:
            click.termui.hidden_prompt_func = _GETPASS_PROMPT
    code = _flush(code)
    sys.exit(code)


def _needs_terminal(args: list[str]) -> str:
    """What to do when a command's questions meet the end of standard input."""
    command = next((a for a in args if not a.startswith("-")), "")
    if command == "init":  # init asks the whole setup; it has no --stdin
        return NO_TERMINAL + "use --non-interactive --example maya|minimal|secure"
    return NEEDS_TERMINAL


def _run(args: list[str], debug: bool) -> int:
    """The command's exit code; every message printed here passes the redactor."""
    try:
        _check_environment()
        code = cli.main(args=args, prog_name="ibkr-audit", standalone_mode=False)
    except AuditError as exc:
        _report(exc)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # click >= 8.2, a bare 'ibkr-audit':
            click.echo(exc.format_message())  # the help, on stdout, as click 8.1 printed it
            return 0
        _usage_error(exc)
        return EXIT_INPUT
    except click.ClickException as exc:
        _say(f"ibkr-audit: error: {exc.format_message()}")
        return EXIT_INPUT
    except (KeyboardInterrupt, click.exceptions.Abort, EOFError) as exc:
        if _at_end_of_input(exc):
            with contextlib.suppress(OSError, ValueError):
                sys.stdout.write("\n")  # end the unanswered prompt's line
            _say(f"ibkr-audit: error: {_needs_terminal(args)}")
            return EXIT_INPUT
        _say("ibkr-audit: interrupted")
        return EXIT_INTERRUPTED
    except Terminated:
        _say("ibkr-audit: terminated")
        return EXIT_TERMINATED
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except Exception as exc:
        reason = _stdout_failed(exc)
        if reason is not None:
            _silence_stdout()
            _say(f"ibkr-audit: error: cannot write to standard output: {reason}")
            return EXIT_INPUT
        if isinstance(exc, OSError) and exc.errno in BAD_NAME_ERRNOS and exc.filename:
            # A path the system cannot even look up (a name too long, a loop of links)
            # is bad input wherever it was given.
            _report(AuditError([Problem(exc.strerror or str(exc),
                                        file=os.fsdecode(exc.filename))]))
            return EXIT_INPUT
        if debug:
            import traceback

            with contextlib.suppress(OSError):
                traceback.print_exc()
        _say(f"ibkr-audit: internal error: {type(exc).__name__}: {exc} "
             "(rerun with --debug for a traceback, and please report it)")
        return EXIT_INTERNAL
    return code if isinstance(code, int) else 0


def _at_end_of_input(exc: BaseException) -> bool:
    """A prompt hit the end of standard input (``</dev/null``), not a Ctrl-C."""
    if isinstance(exc, EOFError) or isinstance(exc.__context__, EOFError):
        return True
    if isinstance(exc, click.exceptions.Abort) and not isinstance(exc.__context__,
                                                                  KeyboardInterrupt):
        stdin = sys.stdin
        return stdin is None or not stdin.isatty()
    return False


def _flush(code: int) -> int:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except OSError as exc:
        _silence_stdout()
        _say(f"ibkr-audit: error: cannot write to standard output: {exc.strerror or exc}")
        return EXIT_INPUT
    return code


def _silence_stdout() -> None:
    # The reader went away (``| head``) or the device is full; point stdout at
    # /dev/null so the interpreter's own flush at exit does not raise again.
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
