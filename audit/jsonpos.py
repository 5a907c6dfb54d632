"""Where each value of a JSON text starts, by JSON pointer.

The fast path parses with the C ``json`` module, which knows no positions. Only
when a message needs a line number (an error, a SARIF region) do we walk the
text once more with this small scanner. It assumes the text is valid JSON (it
only runs after ``json.loads`` accepted it) and never raises: on anything
unexpected it returns what it has.
"""

from __future__ import annotations

import bisect
import contextlib
import json.decoder
import re
from dataclasses import dataclass, field
from typing import Any

from audit.pointer import ancestors, join

_WS = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null")
_scanstring: Any = json.decoder.scanstring  # type: ignore[attr-defined]


@dataclass
class PositionMap:
    """Pointer → (line, column), both 1-based; plus duplicate keys found."""

    text: str
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # value offsets [start, end)
    duplicates: list[str] = field(default_factory=list)
    _newlines: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._newlines = [m.start() for m in re.finditer("\n", self.text)]

    def line_col(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_left(self._newlines, offset)
        start = self._newlines[line - 1] + 1 if line else 0
        return line + 1, offset - start + 1

    def locate(self, pointer: str) -> tuple[int, int] | None:
        """Position of ``pointer``, or of its nearest ancestor that exists."""
        return next((self.positions[p] for p in ancestors(pointer) if p in self.positions), None)


def set_value(text: str, pointer: str, value: object, *, create_parents: bool = False) -> str:
    """``text`` with the value at ``pointer`` set, everything else byte for byte the same.

    An existing value is replaced in place; a missing member is added at the start
    of its parent object, which must exist unless ``create_parents`` (then missing
    objects are created). Raises KeyError when the parent is missing or not an object.
    """
    spans = build_position_map(text).spans
    encoded = json.dumps(value, ensure_ascii=False)
    if pointer in spans:
        start, end = spans[pointer]
        return text[:start] + encoded + text[end:]
    parent, _sep, last = pointer.rpartition("/")
    if parent not in spans and create_parents and parent:
        text = set_value(text, parent, {}, create_parents=True)
        spans = build_position_map(text).spans
    if parent not in spans or text[spans[parent][0]] != "{":
        raise KeyError(parent)
    start, end = spans[parent]
    key = json.dumps(last.replace("~1", "/").replace("~0", "~"), ensure_ascii=False)
    empty = not text[start + 1:end - 1].strip()
    member = f"{key}: {encoded}" + ("" if empty else ", ")
    return text[:start + 1] + member + text[start + 1:]


class _Stop(Exception):
    pass


def build_position_map(text: str, want: set[str] | None = None) -> PositionMap:
    """Scan ``text`` and record where every object member and array item starts.

    With ``want``, the scan stops as soon as all those pointers are found (a few
    error lines in a 4 MB file need not map all of it); the map is then partial.
    """
    result = PositionMap(text)
    with contextlib.suppress(_Stop, ValueError, IndexError, RecursionError):
        _Scanner(text, result, set(want) if want is not None else None).run()
    return result


class _Scanner:
    """One pass over the text with an explicit stack: no recursion, so a file nested
    as deep as ``--max-depth`` allows is mapped whole (a recursive scanner stopped
    at ~300 levels and left later pointers to be located at an ancestor's line)."""

    def __init__(self, text: str, out: PositionMap, want: set[str] | None = None) -> None:
        self.text = text
        self.out = out
        self.want = want

    def found(self, pointer: str) -> None:
        if self.want is not None:
            self.want.discard(pointer)
            if not self.want:
                raise _Stop

    def skip_ws(self, i: int) -> int:
        m = _WS.match(self.text, i)
        return m.end() if m else i

    def run(self) -> None:
        text, spans = self.text, self.out.spans
        i = self.skip_ws(0)
        if text.startswith("\ufeff", i):
            i = self.skip_ws(i + 1)
        self.out.positions[""] = self.out.line_col(i)
        if self.want is not None:
            self.found("")
        # Open containers: [opening character, pointer, start offset, keys seen or index].
        stack: list[list[Any]] = []
        pointer = ""
        while True:
            # A value of ``pointer`` starts at i.
            ch = text[i]
            if ch in "{[":
                frame: list[Any] = [ch, pointer, i, set() if ch == "{" else 0]
                i = self.skip_ws(i + 1)
                if text[i] == ("}" if ch == "{" else "]"):
                    i += 1
                    spans[pointer] = (frame[2], i)
                else:
                    stack.append(frame)
                    pointer, i = self.member(frame, i)
                    continue
            elif ch == '"':
                end: int = _scanstring(text, i + 1)[1]
                spans[pointer] = (i, end)
                i = end
            else:
                m = _SCALAR.match(text, i)
                if not m:
                    raise _Stop
                spans[pointer] = (i, m.end())
                i = m.end()
            # The value ended at i: close what ends here, or go on to the next member.
            while stack:
                frame = stack[-1]
                i = self.skip_ws(i)
                if text[i] == ("}" if frame[0] == "{" else "]"):
                    stack.pop()
                    i += 1
                    spans[frame[1]] = (frame[2], i)
                    continue
                pointer, i = self.member(frame, self.skip_ws(i + 1))  # past ','
                break
            else:
                return

    def member(self, frame: list[Any], i: int) -> tuple[str, int]:
        """Record the next member of ``frame`` starting at i; (its pointer, its value's start)."""
        if frame[0] == "[":
            child = join(frame[1], frame[3])
            frame[3] += 1
            self.out.positions[child] = self.out.line_col(i)
            if self.want is not None:
                self.found(child)
            return child, i
        key, after = _scanstring(self.text, i + 1)
        child = join(frame[1], key)
        if key in frame[3]:
            self.out.duplicates.append(child)  # like json.loads, the later member wins
        frame[3].add(key)
        self.out.positions[child] = self.out.line_col(i)
        if self.want is not None:
            self.found(child)
        i = self.skip_ws(after)
        return child, self.skip_ws(i + 1)  # past ':'
