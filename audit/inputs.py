"""Read an input safely: bytes → size limit → UTF-8 → strict JSON → depth and sizes.

Every way a file can be unreadable ends in an :class:`~audit.errors.InputError` with
the file and, where known, the line. Nothing here knows what a setup means; the
same reader serves setups, waiver files, checklists and advice files.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from dataclasses import dataclass
from typing import Any

from audit.errors import InputError, Problem
from audit.jsonpos import build_position_map
from audit.pointer import join
from audit.secrets.scan import SecretHit, scan

STDIN = "-"
# Strings and brackets (nesting); strings, group 1 marking an object key (a colon follows).
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"([ \t\n\r]*:)?')
_CONSTANTS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|(NaN|-?Infinity)')


@dataclass(frozen=True)
class Limits:
    """Bounds on what we agree to read; every one is configurable on the CLI."""

    max_bytes: int = 5 * 1024 * 1024
    max_depth: int = 64
    max_string: int = 65_536
    max_items: int = 10_000



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


class _Number(ValueError):
    """A number no setup needs: too many digits, or too large for a float (issue 14)."""

    def __init__(self, literal: str, message: str) -> None:
        super().__init__(message)
        self.literal = literal


# Integers longer than this are refused while parsing (with their pointer), before
# Python's int/str conversion limit (4,300 digits) or a float conversion can fail later.
MAX_INT_DIGITS = 30


def _reject_constant(name: str) -> Any:
    raise _Constant(name)


def _parse_int(literal: str) -> int:
    if len(literal) > MAX_INT_DIGITS + 1 and len(literal.lstrip("-")) > MAX_INT_DIGITS:
        raise _Number(literal, f"integer has {len(literal.lstrip('-')):,} digits, more than "
                               f"the {MAX_INT_DIGITS} any setting needs")
    return int(literal)


def _parse_float(literal: str) -> float:
    value = float(literal)
    if value in (float("inf"), float("-inf")):
        raise _Number(literal, f"{literal[:20]}{'...' if len(literal) > 20 else ''} is too "
                               "large for a JSON number (it would become Infinity)")
    return value


def _number_place(text: str, literal: str) -> tuple[str | None, int | None]:
    """Pointer and line of the first number spelt ``literal`` (the JSON syntax is valid)."""
    positions = build_position_map(text)
    for pointer, (start, end) in positions.spans.items():
        if end - start == len(literal) and text.startswith(literal, start):
            return pointer, positions.line_col(start)[0]
    return None, None


def parse(text: str, path: str, limits: Limits) -> Any:
    """Parse JSON, refusing excessive nesting, NaN/Infinity and duplicate keys."""
    return parse_measured(text, path, limits)[0]


def parse_measured(text: str, path: str, limits: Limits) -> tuple[Any, bool]:
    """:func:`parse`, and whether every list, object, key and string of the value is
    within ``limits`` (what :func:`check_sizes` would find), from the same one pass."""
    if not text.strip():
        raise InputError([Problem(
            "file is empty; a setup needs at least schema_version and profile", file=path)])
    try:
        value = json.loads(text, parse_constant=_reject_constant,
                           parse_int=_parse_int, parse_float=_parse_float)
    except (_Number, _Constant, json.JSONDecodeError, RecursionError) as exc:
        failure: Exception = exc
    else:
        # One pass over the parsed value: nesting, members, sizes.
        members, depth, within = _measure(value, limits)
        if depth > limits.max_depth:
            _check_depth(text, path, limits)  # says where; raises
        # Duplicate keys: the text names more keys than the parsed objects hold.
        # Counting them (issue 14) spares the pairs hook, which doubled the peak memory
        # of a large file.
        if _keys_in(text) != members:
            scan_and_learn(value)  # the error names keys: any that are secrets must be known
            positions = build_position_map(text)
            raise InputError([
                Problem("duplicate key; JSON readers disagree on which value wins, so keep "
                        "only one", file=path, line=(positions.locate(p) or (None, None))[0],
                        pointer=p)
                for p in positions.duplicates
            ] or [Problem("duplicate key; JSON readers disagree on which value wins",
                          file=path)])
        return value, within
    # Nesting deeper than the limit is reported first, whatever else is wrong.
    _check_depth(text, path, limits)
    if isinstance(failure, _Number):
        pointer, line = _number_place(text, failure.literal)
        raise InputError([Problem(str(failure), file=path, line=line, pointer=pointer)])
    if isinstance(failure, _Constant):
        line, col = _constant_position(text)
        raise InputError([Problem(f"{failure} is not valid JSON (use a number or leave the "
                                  "field out)", file=path, line=line, column=col)])
    if isinstance(failure, json.JSONDecodeError):
        raise InputError([Problem(f"invalid JSON: {failure.msg}", file=path,
                                  line=failure.lineno, column=failure.colno)])
    raise InputError([Problem("nesting is too deep", file=path)])  # pragma: no cover


def _keys_in(text: str) -> int:
    """How many object keys valid JSON ``text`` names: strings followed by a colon."""
    strings = _STRINGS.findall(text)  # group 1: the colon after a key, or ''
    return len(strings) - strings.count("")


def _measure(value: Any, limits: Limits) -> tuple[int, int, bool]:
    """Object members, nesting depth (containers), and whether every size is within
    ``limits``: one walk that pushes only containers. ``value`` comes from json.loads,
    so its types are exactly dict, list, str, int, float, bool and None."""
    members = 0
    deepest = 0
    within = True
    max_items, max_string = limits.max_items, limits.max_string
    if type(value) is not dict and type(value) is not list:
        return 0, 0, not (type(value) is str and len(value) > max_string)
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if type(node) is dict:
            size = len(node)
            members += size
            for key, item in node.items():
                if len(key) > max_string:
                    within = False
                kind = type(item)
                if kind is dict or kind is list:
                    stack.append((item, depth + 1))
                elif kind is str and len(item) > max_string:
                    within = False
        else:
            size = len(node)
            for item in node:
                kind = type(item)
                if kind is dict or kind is list:
                    stack.append((item, depth + 1))
                elif kind is str and len(item) > max_string:
                    within = False
        if size > max_items:  # issue 14: 300,000 keys is no setup
            within = False
        if depth > deepest:
            deepest = depth
    return members, deepest, within


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
    """Refuse nesting deeper than the limit, naming the line where it goes too deep."""
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
            if len(node) > limits.max_items:  # issue 14: 300,000 keys is no setup
                return False
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


def check_sizes(value: Any, path: str, limits: Limits, within: bool | None = None
                ) -> list[Problem]:
    """Every list, object, key and string beyond ``limits``, with its pointer.

    ``within``: what :func:`parse_measured` found (skips the cheap pass)."""
    if within if within is not None else _within_sizes(value, limits):
        return []
    problems: list[Problem] = []
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        pointer, node = stack.pop()
        if isinstance(node, dict):
            if len(node) > limits.max_items:
                problems.append(Problem(
                    f"object has {len(node):,} keys, more than the limit of {limits.max_items:,}"
                    " (raise it with --max-items)", file=path, pointer=pointer))
                continue
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
