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
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
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


def check_sizes(value: Any, path: str, limits: Limits) -> list[Problem]:
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
