"""The root error type of ibkr-audit and its subclasses, each with its exit code.

The CLI turns any :class:`AuditError` into one clear line per problem on stderr and
exits with the error's code; nothing else in the package prints or exits.
"""

from __future__ import annotations

from typing import NamedTuple

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


class Problem(NamedTuple):
    """One thing wrong with an input file, located as precisely as we can.

    A NamedTuple (immutable, and cheap to define at start-up, which every run pays).
    """

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    pointer: str | None = None

    def render(self) -> str:
        """``file:line:col: /pointer: message`` on one line, safe for a terminal."""
        from audit.textsafe import clean

        where = ""
        if self.file is not None:
            where = clean(self.file)
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        pointer = f"{clean(self.pointer) or '(root)'}: " if self.pointer is not None else ""
        return f"{where}{pointer}{clean(self.message)}"


class AuditError(Exception):
    """Base of every error ibkr-audit reports to the user."""

    exit_code = EXIT_INPUT

    def __init__(self, problems: list[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        self.problems = problems
        super().__init__("; ".join(p.render() for p in problems))


class InputError(AuditError):
    """The setup file (or another input the user gave us) cannot be used."""


class ChecklistError(AuditError):
    """A checklist file is malformed; checks must never silently disappear."""


class UsageError(AuditError):
    """Options that do not make sense together or name something unknown."""


class OutputError(AuditError):
    """A file we were asked to write could not be written; the old one is intact."""
