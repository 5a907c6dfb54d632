"""RFC 6901 JSON pointers: build, split and resolve."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any


class _Missing:
    """Sentinel for "no value at this pointer" (JSON null is a value)."""

    def __repr__(self) -> str:
        return "<missing>"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


def escape(token: str | int) -> str:
    text = str(token)
    if "~" not in text and "/" not in text:
        return text
    return text.replace("~", "~0").replace("/", "~1")


def join(base: str, *tokens: str | int) -> str:
    """Append reference tokens to a pointer: ``join("/devices", 0, "name")``."""
    return base + "".join("/" + escape(t) for t in tokens)


def split(pointer: str) -> list[str]:
    """The unescaped reference tokens of ``pointer``; raises ValueError if malformed."""
    return list(_tokens(pointer))


@functools.lru_cache(maxsize=8192)
def _tokens(pointer: str) -> tuple[str, ...]:
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise ValueError(f"JSON pointer must start with '/': {pointer!r}")
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/"))


def resolve(document: Any, pointer: str) -> Any:
    """The value at ``pointer``, or :data:`MISSING` when any step does not exist."""
    return resolve_tokens(document, _tokens(pointer))


def resolve_tokens(node: Any, tokens: tuple[str, ...]) -> Any:
    """:func:`resolve` with the pointer already split (the compiled engine splits once)."""
    for token in tokens:
        if isinstance(node, dict):
            if token not in node:
                return MISSING
            node = node[token]
        elif isinstance(node, list):
            # ASCII digits only: '²' passes isdigit() and int() refuses it.
            if not (token.isascii() and token.isdigit()) or (
                    len(token) > 1 and token.startswith("0")):
                return MISSING
            index = int(token)
            if index >= len(node):
                return MISSING
            node = node[index]
        else:
            return MISSING
    return node


def ancestors(pointer: str) -> Iterator[str]:
    """``pointer``, then each ancestor up to the root ``""``."""
    while True:
        yield pointer
        if not pointer:
            return
        pointer = pointer.rsplit("/", 1)[0]

