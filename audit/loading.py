"""A setup file as the engine sees it: read → scan → validate → :class:`Setup`.

Reading and its limits live in :mod:`audit.inputs`, validation in
:mod:`audit.schema`; this module composes them for a setup file and holds the
model. No value from the file is echoed unless the secret scanner has cleared it:
the scan runs (and teaches the redaction boundary) before validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from audit.digest import sha256
from audit.errors import InputError, Problem
from audit.inputs import (
    STDIN,
    Limits,
    check_sizes,
    decode,
    parse,
    parse_measured,
    read_bytes,
    scan_and_learn,
)
from audit.jsonpos import PositionMap, build_position_map

# Readers and validators used to live here; these names stay importable from here.
from audit.schema import (
    _TYPE_NAMES,
    SCHEMAS,
    _type_of,
    describe_schema_error,
    iter_schema_errors,
    load_schema,
    schema_errors,
    schema_problems,
    validate,
)
from audit.secrets.scan import Redactor, SecretHit

__all__ = [
    "SCHEMAS", "STDIN", "Limits", "Setup", "decode", "describe_schema_error", "load_schema",
    "load_setup", "parse", "read_bytes", "scan_and_learn", "schema_errors", "schema_problems",
    "validate",
]


@dataclass
class Setup:
    """A setup file that parsed, passed its limits and (unless told not to) its schema."""

    path: str
    text: str
    data: dict[str, Any]
    sha256: str
    credential_hits: list[SecretHit] = field(default_factory=list)
    account_hits: list[SecretHit] = field(default_factory=list)
    # Waivers from --waivers FILE are appended to /waivers; remember where they came from.
    waiver_file: str | None = None
    own_waivers: int = 0
    # Secret values found outside the setup (e.g. IbPassword in IBC's config.ini).
    extra_secrets: list[str] = field(default_factory=list)
    # Facts observed outside the setup (audit.probes), keyed by probe name.
    probes: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def positions(self) -> PositionMap:
        return build_position_map(self.text)

    def line_of(self, pointer: str) -> int | None:
        located = self.positions.locate(pointer)
        return located[0] if located else None

    def secrets(self) -> list[str]:
        return [hit.value for hit in self.credential_hits] + self.extra_secrets



def load_setup(path: str, limits: Limits | None = None, *,
               show_account_ids: bool = False) -> Setup:
    """Read, parse, scan and validate one setup file; raise InputError on any problem."""
    limits = limits or Limits()
    display = "<stdin>" if path == STDIN else path
    raw = read_bytes(path, limits)
    text = decode(raw, display)
    data, within = parse_measured(text, display, limits)
    credentials, accounts = scan_and_learn(data)
    problems = check_sizes(data, display, limits, within)
    setup = Setup(display, text, data if isinstance(data, dict) else {},
                  sha256(raw).hexdigest(), credentials, accounts)
    redactor = Redactor(setup.secrets(), show_account_ids)
    if not isinstance(data, dict):
        problems.append(Problem(
            f"a setup file must be a JSON object, not {_TYPE_NAMES[_type_of(data)]}",
            file=display, line=1, pointer=""))
    if problems:
        raise InputError(_locate(problems, setup))
    found = schema_problems(iter_schema_errors(data), display, redactor=redactor)
    if found:
        raise InputError(_locate(found, setup))
    return setup


def _locate(problems: list[Problem], setup: Setup) -> list[Problem]:
    """Add line numbers and sort by position, then pointer; drop exact repeats."""
    # Map only as far as the problems need (issue 14: 300,000 keys, 100 problems shown).
    wanted = {p.pointer for p in problems if p.pointer is not None and p.line is None}
    positions = build_position_map(setup.text, wanted) if wanted else None

    def line_of(pointer: str | None) -> int | None:
        found = positions.locate(pointer) if positions and pointer is not None else None
        return found[0] if found else None

    located = {
        (p.pointer, p.message): Problem(p.message, p.file, p.line or line_of(p.pointer),
                                        p.column, p.pointer)
        for p in problems
    }
    # A problem about no place (the "stopped after the first 100" line) comes last.
    return sorted(located.values(), key=lambda p: (p.line is None and p.pointer is None,
                                                   p.line or 0, p.pointer or "", p.message))
