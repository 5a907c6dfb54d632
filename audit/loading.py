"""Read a setup file safely: bytes → limits → JSON → schema → :class:`Setup`.

Every way a file can be wrong ends in an :class:`~audit.errors.InputError` that
lists *all* problems found, each with the file, the line where known and the JSON
pointer, sorted by position. No value from the file is echoed unless the secret
scanner has cleared it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from difflib import get_close_matches
from functools import cache, cached_property
from typing import Any

from audit import _resources
from audit.errors import InputError, Problem
from audit.jsonpos import PositionMap, build_position_map
from audit.pointer import join, split
from audit.secrets.scan import Redactor, SecretHit, scan

STDIN = "-"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_CONSTANTS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|(NaN|-?Infinity)')


@dataclass(frozen=True)
class Limits:
    """Bounds on what we agree to read; every one is configurable on the CLI."""

    max_bytes: int = 5 * 1024 * 1024
    max_depth: int = 64
    max_string: int = 65_536
    max_items: int = 10_000


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


def read_bytes(path: str, limits: Limits) -> bytes:
    """Read at most ``limits.max_bytes`` from ``path`` (or stdin for ``-``)."""
    if path == STDIN:
        data = sys.stdin.buffer.read(limits.max_bytes + 1)
        if len(data) > limits.max_bytes:
            raise InputError([Problem(_too_big(limits), file="<stdin>")])
        return data
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise InputError([Problem("is a directory, not a setup file", file=path)])
            if stat.S_ISREG(info.st_mode) and info.st_size > limits.max_bytes:
                raise InputError([Problem(_too_big(limits, info.st_size), file=path)])
            data = handle.read(limits.max_bytes + 1)
    except IsADirectoryError:
        raise InputError([Problem("is a directory, not a setup file", file=path)]) from None
    except FileNotFoundError:
        raise InputError([Problem("no such file", file=path)]) from None
    except PermissionError:
        raise InputError([Problem("permission denied", file=path)]) from None
    except OSError as exc:
        raise InputError([Problem(f"cannot read: {exc.strerror or exc}", file=path)]) from None
    if len(data) > limits.max_bytes:
        raise InputError([Problem(_too_big(limits), file=path)])
    return data


def _too_big(limits: Limits, size: int | None = None) -> str:
    got = f" ({size:,} bytes)" if size is not None else ""
    return (
        f"file is larger than the {limits.max_bytes:,}-byte limit{got}; "
        "raise it with --max-bytes if this really is a setup file"
    )


def decode(data: bytes, path: str) -> str:
    """UTF-8 text (a leading BOM is dropped), or one clear error."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError([Problem("is UTF-16 encoded; save it as UTF-8", file=path)])
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise InputError([Problem("contains NUL bytes; is it a binary file?", file=path,
                                  line=line)])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            [Problem(f"is not valid UTF-8 (byte 0x{data[exc.start]:02x})", file=path, line=line)]
        ) from None
    return text.removeprefix("\ufeff")


class _Constant(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _Constant(name)


def parse(text: str, path: str, limits: Limits) -> Any:
    """Parse JSON, refusing excessive nesting, NaN/Infinity and duplicate keys."""
    if not text.strip():
        raise InputError([Problem(
            "file is empty; a setup needs at least schema_version and profile", file=path)])
    _check_depth(text, path, limits)
    duplicates = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal duplicates
        result = dict(items)
        if len(result) != len(items):
            duplicates = True
        return result

    try:
        value = json.loads(text, object_pairs_hook=pairs, parse_constant=_reject_constant)
    except _Constant as exc:
        line, col = _constant_position(text)
        raise InputError([Problem(f"{exc} is not valid JSON (use a number or leave the field out)",
                                  file=path, line=line, column=col)]) from None
    except json.JSONDecodeError as exc:
        raise InputError([Problem(f"invalid JSON: {exc.msg}", file=path, line=exc.lineno,
                                  column=exc.colno)]) from None
    except RecursionError:  # pragma: no cover - the depth check runs first
        raise InputError([Problem("nesting is too deep", file=path)]) from None
    if duplicates:
        scan_and_learn(value)  # the error names keys: any that are secrets must be known
        positions = build_position_map(text)
        raise InputError([
            Problem("duplicate key; JSON readers disagree on which value wins, so keep only one",
                    file=path, line=(positions.locate(p) or (None, None))[0], pointer=p)
            for p in positions.duplicates
        ])
    return value


def scan_and_learn(document: Any) -> tuple[list[SecretHit], list[SecretHit]]:
    """Scan a parsed input and tell the redaction boundary what it holds.

    Every reader calls this as soon as an input parses, before validating it, so
    that no message about the input can show a secret from it.
    """
    from audit import boundary

    credentials, accounts = scan(document)
    boundary.learn([hit.value for hit in credentials])
    return credentials, accounts


def _check_depth(text: str, path: str, limits: Limits) -> None:
    depth = 0
    for match in _TOKENS.finditer(text):
        lexeme = match.group(0)
        if lexeme in "[{":
            depth += 1
            if depth > limits.max_depth:
                line = text.count("\n", 0, match.start()) + 1
                raise InputError([Problem(
                    f"nesting is deeper than {limits.max_depth} levels "
                    "(raise it with --max-depth if this is intended)", file=path, line=line)])
        elif lexeme in "]}":
            depth -= 1


def _constant_position(text: str) -> tuple[int | None, int | None]:
    for match in _CONSTANTS.finditer(text):
        if match.group(1):
            offset = match.start(1)
            line = text.count("\n", 0, offset) + 1
            return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
    return None, None


def _within_sizes(value: Any, limits: Limits) -> bool:
    """The cheap pass: no pointers are built unless a limit is exceeded."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, item in node.items():
                if len(key) > limits.max_string:
                    return False
                stack.append(item)
        elif isinstance(node, list):
            if len(node) > limits.max_items:
                return False
            stack.extend(node)
        elif isinstance(node, str) and len(node) > limits.max_string:
            return False
    return True


def _check_sizes(value: Any, path: str, limits: Limits) -> list[Problem]:
    if _within_sizes(value, limits):
        return []
    problems: list[Problem] = []
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        pointer, node = stack.pop()
        if isinstance(node, dict):
            stack.extend((join(pointer, k), v) for k, v in node.items())
            keys = node
        elif isinstance(node, list):
            if len(node) > limits.max_items:
                problems.append(Problem(
                    f"array has {len(node):,} items, more than the limit of {limits.max_items:,}",
                    file=path, pointer=pointer))
                continue
            stack.extend((join(pointer, i), v) for i, v in enumerate(node))
            continue
        else:
            keys = {}
        if isinstance(node, str) and len(node) > limits.max_string:
            problems.append(Problem(
                f"string is {len(node):,} characters, more than the limit of {limits.max_string:,}",
                file=path, pointer=pointer))
        for key in keys:
            if len(key) > limits.max_string:
                problems.append(Problem("key is longer than the string limit",
                                        file=path, pointer=pointer))
    return problems


# ----------------------------------------------------------------------------- schema


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE.fullmatch(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_network(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


@cache
def load_schema(name: str = "setup.schema.json") -> dict[str, Any]:
    with _resources.schema_path(name).open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


SCHEMAS = ("setup.schema.json", "checklist.schema.json", "advice.schema.json")


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator, FormatChecker
    from referencing import Registry, Resource

    checker = FormatChecker(formats=())
    checker.checks("date")(_is_date)
    checker.checks("ip-network")(_is_network)
    # Our schemas refer to each other by $id (advice reuses the checklist condition grammar).
    registry: Registry[Any] = Registry().with_resources(
        (load_schema(other)["$id"], Resource.from_contents(load_schema(other)))
        for other in SCHEMAS)
    return Draft202012Validator(load_schema(name), format_checker=checker, registry=registry)


_TYPE_NAMES = {
    "object": "an object", "array": "an array", "string": "a string", "integer": "an integer",
    "number": "a number", "boolean": "true or false", "null": "null",
}


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def describe_schema_error(error: Any, redactor: Redactor) -> list[tuple[str, str]]:
    """(pointer, message) pairs for one jsonschema error, never echoing a secret."""
    pointer = join("", *error.absolute_path)
    value = error.instance
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}

    def show(v: Any) -> str:
        # Whole values first: a secret too short to search for is still a whole value.
        rendered = redactor.text(json.dumps(redactor.value(v), ensure_ascii=False))
        return rendered if len(rendered) <= 60 else rendered[:57] + "..."

    if kind == "additionalProperties" and isinstance(value, dict):
        known = list(schema.get("properties", {}))
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        out = []
        for key in value:
            if key in known or any(p.search(key) for p in patterns):
                continue
            hint = get_close_matches(key, known, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else (
                f"; allowed: {', '.join(known)}" if known else "")
            notes = any(p.search("x-note") for p in patterns)
            out.append((join(pointer, key),
                        f"unknown key {redactor.text(key)!r}{suggestion}"
                        + (" (custom notes must start with 'x-')" if notes else "")))
        return out
    if kind == "oneOf" and "description" in schema:
        return [(pointer, f"needs {schema['description']}")]
    if kind == "required":
        return [(join(pointer, str(name)), f"missing required key {name!r}")
                for name in error.validator_value if isinstance(value, dict) and name not in value]
    if kind == "type":
        wanted = error.validator_value
        wanted_list = wanted if isinstance(wanted, list) else [wanted]
        names = " or ".join(_TYPE_NAMES.get(str(w), str(w)) for w in wanted_list)
        return [(pointer, f"must be {names}, not {_TYPE_NAMES[_type_of(value)]}")]
    if kind == "enum":
        allowed = error.validator_value
        if len(allowed) > 12:
            hint = schema.get("description", "not an allowed value")
            return [(pointer, f"{show(value)} is not valid: {hint}")]
        return [(pointer, f"{show(value)} is not one of: {', '.join(map(str, allowed))}")]
    if kind == "const":
        return [(pointer, f"must be {json.dumps(error.validator_value)}, not {show(value)}")]
    if kind == "format":
        what = {"date": "a real calendar date in YYYY-MM-DD form",
                "ip-network": "an IPv4/IPv6 address or CIDR range"}.get(
                    error.validator_value, error.validator_value)
        return [(pointer, f"{show(value)} is not {what}")]
    bounds = {
        "minimum": "must be at least {}", "maximum": "must be at most {}",
        "exclusiveMinimum": "must be greater than {}", "exclusiveMaximum": "must be less than {}",
        "minLength": "must be at least {} characters long",
        "maxLength": "must be at most {} characters long",
        "minItems": "must have at least {} item(s)", "maxItems": "must have at most {} items",
    }
    if kind in bounds:
        return [(pointer, bounds[kind].format(error.validator_value))]
    if kind == "uniqueItems":
        return [(pointer, "must not list the same item twice")]
    if kind == "pattern":
        hint = schema.get("description", f"must match {error.validator_value}")
        return [(pointer, f"{show(value)} is not valid: {hint}")]
    if isinstance(value, str) and redactor.value(value) != value:
        return [(pointer, "is not valid here (the value is not shown: it holds a secret)")]
    return [(pointer, redactor.text(error.message))]


def schema_problems(errors: list[Any], file: str, text: str | None = None,
                    redactor: Redactor | None = None, *, drop: int = 0) -> list[Problem]:
    """jsonschema errors as located problems, the one way every input reports them.

    ``text`` (the file's JSON) gives line numbers; ``drop`` removes leading pointer
    tokens added by a wrapper document (a waiver file is validated inside a setup).
    """
    redactor = redactor or Redactor()
    positions = build_position_map(text) if text is not None and errors else None
    problems: list[Problem] = []
    for error in errors:
        for pointer, message in describe_schema_error(error, redactor):
            if drop:
                pointer = join("", *split(pointer)[drop:])
            located = positions.locate(pointer) if positions is not None else None
            problems.append(Problem(message, file=file, line=located[0] if located else None,
                                    pointer=pointer))
    return problems


def validate(data: Any, schema_name: str = "setup.schema.json") -> list[Any]:
    """All schema errors for ``data`` (jsonschema ``ValidationError`` objects)."""
    return list(_validator(schema_name).iter_errors(data))


@cache
def _fast_validator(schema_name: str) -> Any:
    from audit.fastschema import Unsupported, compile_schema

    try:
        return compile_schema(load_schema(schema_name), {"date": _is_date,
                                                         "ip-network": _is_network})
    except Unsupported:
        return None


def schema_errors(data: Any, schema_name: str = "setup.schema.json") -> list[Any]:
    """Like :func:`validate`, but skips jsonschema when the compiled fast path accepts."""
    fast = _fast_validator(schema_name)
    if fast is not None and fast(data):
        return []
    return validate(data, schema_name)


def load_setup(path: str, limits: Limits | None = None, *,
               show_account_ids: bool = False) -> Setup:
    """Read, parse, scan and validate one setup file; raise InputError on any problem."""
    limits = limits or Limits()
    display = "<stdin>" if path == STDIN else path
    raw = read_bytes(path, limits)
    text = decode(raw, display)
    data = parse(text, display, limits)
    credentials, accounts = scan_and_learn(data)
    problems = _check_sizes(data, display, limits)
    setup = Setup(display, text, data if isinstance(data, dict) else {},
                  hashlib.sha256(raw).hexdigest(), credentials, accounts)
    redactor = Redactor(setup.secrets(), show_account_ids)
    if not isinstance(data, dict):
        problems.append(Problem(
            f"a setup file must be a JSON object, not {_TYPE_NAMES[_type_of(data)]}",
            file=display, line=1, pointer=""))
    if problems:
        raise InputError(_locate(problems, setup))
    found = schema_problems(schema_errors(data), display, redactor=redactor)
    if found:
        raise InputError(_locate(found, setup))
    return setup


def _locate(problems: list[Problem], setup: Setup) -> list[Problem]:
    """Add line numbers and sort by position, then pointer; drop exact repeats."""
    located = {
        (p.pointer, p.message): Problem(p.message, p.file,
                                        p.line or (setup.line_of(p.pointer) if p.pointer is not None
                                                   else None), p.column, p.pointer)
        for p in problems
    }
    return sorted(located.values(), key=lambda p: (p.line or 0, p.pointer or "", p.message))
