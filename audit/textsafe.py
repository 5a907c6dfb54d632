"""Make text from input files safe to print on a terminal.

Keys and values in a setup can contain control characters; echoed raw, ``\\r``
or ``\\n`` would forge extra lines and an ESC sequence could drive the user's
terminal. Everything from input passes through :func:`clean` before it reaches
a line-oriented output (errors, text and Markdown reports).
"""

from __future__ import annotations

_TABLE = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
_TABLE.update({0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"})
_TABLE.update({c: f"\\u{c:04x}" for c in (0x2028, 0x2029, 0x200E, 0x200F, 0x202A, 0x202B,
                                            0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068,
                                            0x2069)})


def clean(text: str) -> str:
    """``text`` with control, line-separator and bidi-override characters escaped."""
    return text.translate(_TABLE)


def markdown_cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell: no pipes, no line breaks, no raw HTML."""
    return clean(text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
                 .replace(">", "&gt;"))


def shell_quote(word: str) -> str:
    """One shell word, quoted so that pasting it runs nothing (``$(...)``, ``;``)."""
    import shlex

    from audit import boundary

    # Redact before quoting: a mask (U***1234) or '<redacted>' put in afterwards
    # would stand unquoted, as a glob or a redirection.
    return clean(shlex.quote(boundary.redact(word)))


def shell_command(*words: str) -> str:
    """A command line the tool suggests, every word quoted for a POSIX shell."""
    return " ".join(shell_quote(w) for w in words)
