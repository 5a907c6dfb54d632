"""Defaults from a TOML file, applied through click's ``default_map``.

Where: ``--config FILE`` (or ``$IBKR_AUDIT_CONFIG``), else ``.ibkr-audit.toml`` in
the working directory, else ``config.toml`` in the user config directory. The
first one found is used; none is fine.

Precedence, for every option of every command: a flag on the command line, then
its environment variable (``IBKR_AUDIT_<COMMAND>_<OPTION>``, e.g.
``IBKR_AUDIT_CHECK_FAIL_ON``), then this file, then the built-in default.

Keys (top level, applying to every command that has the option)::

    fail-on = "critical"            # check, plan, remediate, diff
    format = "markdown"             # check only (other commands: their own table)
    checklists = ["./my-checks"]    # relative to this file
    notify = ["mailto://me@example.org"]
    [params]
    max_review_age_days = 60

and a table per command (``[check]``, ``[plan]``, ...) whose keys are that
command's long option names, for anything else.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from audit.errors import InputError, Problem

FILE_NAME = ".ibkr-audit.toml"
ENV_VAR = "IBKR_AUDIT_CONFIG"
ENV_PREFIX = "IBKR_AUDIT"
TOP_LEVEL = ("fail-on", "format", "params", "checklists", "notify")
# Commands each top-level key applies to, and the option's parameter name there.
_APPLIES: dict[str, dict[str, str]] = {
    "fail-on": dict.fromkeys(("check", "plan", "remediate", "diff"), "fail_on"),
    "format": {"check": "fmt"},
    "params": dict.fromkeys(("check", "plan", "remediate"), "params"),
    "checklists": dict.fromkeys(("check", "checks", "explain", "plan", "remediate"),
                                "checklists"),
    "notify": {"check": "notify_targets", "schedule": "notify"},
}


def find(explicit: str | None) -> Path | None:
    """The config file to use, or None."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    local = Path.cwd() / FILE_NAME
    if local.is_file():
        return local
    user = user_config_file()
    return user if user.is_file() else None


def user_config_file() -> Path:
    """``config.toml`` in the user config directory, as platformdirs places it.

    Computed directly on Linux and macOS: importing platformdirs on every run
    would cost more than the rest of a small audit's start-up.
    """
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "ibkr-audit" / "config.toml"
    if sys.platform.startswith("win"):
        import platformdirs

        return Path(platformdirs.user_config_dir("ibkr-audit", appauthor=False)) / "config.toml"
    base = os.environ.get("XDG_CONFIG_HOME", "").strip() or str(Path.home() / ".config")
    return Path(base) / "ibkr-audit" / "config.toml"


def _problem(path: Path, text: str, key: str | None, message: str) -> InputError:
    line = None
    if key is not None:
        pattern = re.compile(rf"^\s*(\[\s*)?[\"']?{re.escape(key)}[\"']?\s*[=\]]", re.M)
        match = pattern.search(text)
        if match:
            line = text.count("\n", 0, match.start()) + 1
    return InputError([Problem(message, file=str(path), line=line)])


def load(path: Path, commands: Collection[str],
         get_command: Callable[[str], Any]) -> dict[str, Any]:
    """Read ``path`` and return a ``default_map`` for the root group.

    ``commands`` are the command names; ``get_command`` loads one, to check the
    option names of its table. Every mistake is an :class:`InputError` with a line.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError([Problem(f"cannot read config: {exc.strerror or exc}",
                                  file=str(path))]) from None
    import tomllib  # only when there is a file to read

    text = raw.decode("utf-8", errors="replace")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError([Problem("config is not UTF-8 text", file=str(path))]) from None
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise InputError([Problem(f"invalid TOML: {message}", file=str(path),
                                  line=int(found.group(1)) if found else None,
                                  column=int(found.group(2)) if found else None)]) from None
    out: dict[str, dict[str, Any]] = {}
    for key, value in data.items():
        if key in TOP_LEVEL:
            converted = _convert(path, text, key, value)
            for command, param in _APPLIES[key].items():
                out.setdefault(command, {})[param] = converted
        elif key in commands and isinstance(value, dict):
            out.setdefault(key, {}).update(_command_table(path, text, key, value,
                                                          get_command(key)))
        else:
            known = ", ".join([*TOP_LEVEL, *(f"[{c}]" for c in commands)])
            raise _problem(path, text, key, f"unknown key {key!r}; known: {known}")
    return out


def _convert(path: Path, text: str, key: str, value: Any) -> Any:
    if key in ("fail-on", "format"):
        from audit.cli.common import FAIL_ON_CHOICES
        from audit.reports import FORMATS

        choices = FAIL_ON_CHOICES if key == "fail-on" else sorted(FORMATS)
        if not isinstance(value, str) or value.lower() not in choices:
            raise _problem(path, text, key, f"{key} must be one of {', '.join(choices)}")
        return value.lower()
    if key == "params":
        if not isinstance(value, dict) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()):
            raise _problem(path, text, key, "[params] must map parameter names to numbers")
        return [f"{name}={number}" for name, number in value.items()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _problem(path, text, key, f"{key} must be a list of strings")
    if key == "checklists":
        return [str((path.parent / v) if not Path(v).is_absolute() else Path(v)) for v in value]
    return value


def _command_table(path: Path, text: str, name: str, table: dict[str, Any],
                   command: Any) -> dict[str, Any]:
    options = {}
    for param in getattr(command, "params", []):
        for opt in getattr(param, "opts", []):
            if opt.startswith("--"):
                options[opt[2:]] = param.name
    out = {}
    for key, value in table.items():
        if key not in options:
            raise _problem(path, text, key, f"[{name}] has no option --{key}; known: "
                           + ", ".join(sorted(options)))
        out[options[key]] = value
    return out
