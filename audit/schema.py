"""JSON Schema validation of every input, and its errors as located, redacted problems."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from audit import _resources
from audit.errors import Problem
from audit.jsonpos import build_position_map
from audit.pointer import join, split
from audit.secrets.scan import Redactor

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_PROBLEMS = 100  # schema problems reported per file; the last line says when it stopped


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


# bool before int: in Python, True is an int.
_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
               (list, "array"), (dict, "object"))


def _type_of(value: Any) -> str:
    return next((name for kind, name in _JSON_TYPES if isinstance(value, kind)), "null")


def describe_schema_error(error: Any, redactor: Redactor,
                          limit: int | None = None) -> list[tuple[str, str]]:
    """(pointer, message) pairs for one jsonschema error, never echoing a secret.

    ``limit`` bounds how many unknown keys of one object are described (each costs a
    fuzzy match); :func:`schema_problems` says that it stopped."""
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
        out: list[tuple[str, str]] = []
        for key in value:
            if limit is not None and len(out) >= limit:
                break
            if key in known or any(p.search(key) for p in patterns):
                continue
            from difflib import get_close_matches  # only on an error

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


def schema_problems(errors: Iterable[Any], file: str, text: str | None = None,
                    redactor: Redactor | None = None, *, drop: int = 0) -> list[Problem]:
    """jsonschema errors as located problems, the one way every input reports them.

    ``text`` (the file's JSON) gives line numbers; ``drop`` removes leading pointer
    tokens added by a wrapper document (a waiver file is validated inside a setup).
    At most MAX_PROBLEMS are described, then one line says the list stopped (issue 14:
    300,000 unknown keys took 18 s and 538 MB); ``errors`` is read lazily.
    """
    redactor = redactor or Redactor()
    found: list[tuple[str, str]] = []
    for error in errors:
        for pointer, message in describe_schema_error(error, redactor,
                                                      MAX_PROBLEMS + 1 - len(found)):
            found.append((join("", *split(pointer)[drop:]) if drop else pointer, message))
        if len(found) > MAX_PROBLEMS:
            break
    # Map positions only as far as the problems shown need.
    positions = (build_position_map(text, {p for p, _m in found[:MAX_PROBLEMS]})
                 if text is not None and found else None)
    problems: list[Problem] = []
    for pointer, message in found[:MAX_PROBLEMS]:
        located = positions.locate(pointer) if positions is not None else None
        problems.append(Problem(message, file=file, line=located[0] if located else None,
                                pointer=pointer))
    if len(found) > MAX_PROBLEMS:
        problems.append(Problem(f"stopped after the first {MAX_PROBLEMS} problems; fix these "
                                "and run again to see the rest", file=file))
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
    return list(iter_schema_errors(data, schema_name))


def iter_schema_errors(data: Any, schema_name: str = "setup.schema.json") -> Iterator[Any]:
    """:func:`schema_errors`, lazily: a caller that stops early saves the rest."""
    fast = _fast_validator(schema_name)
    if fast is not None and fast(data):
        return iter(())
    return iter(_validator(schema_name).iter_errors(data))
