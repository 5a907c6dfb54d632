"""docs/advice.md shows real output: every annotated block is what the command prints."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import ROOT, invoke

DOC = ROOT / "docs" / "advice.md"
BLOCK = re.compile(r"<!-- ibkr-audit (?P<args>[^>]*) -->\n```[a-z]*\n(?P<body>.*?)```",
                   re.S)


def blocks(text: str) -> list[tuple[list[str], str]]:
    return [(shlex.split(m["args"]), m["body"]) for m in BLOCK.finditer(text)]


def render(args: list[str]) -> str:
    cwd = Path.cwd()
    os.chdir(ROOT)  # the documented commands use paths relative to the repository
    try:
        return invoke(*args, env={"COLUMNS": "80"}).stdout  # text wraps to the terminal
    finally:
        os.chdir(cwd)


def regenerate() -> str:
    """The document with every block re-rendered (run this module to update it)."""
    text = DOC.read_text()
    return BLOCK.sub(lambda m: m.group(0).split("```")[0] + "```"
                     + m.group(0).split("```")[1].split("\n")[0] + "\n"
                     + render(shlex.split(m["args"])) + "```", text)


@pytest.mark.parametrize("args, body", blocks(DOC.read_text()),
                         ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_documented_output_is_real(args: list[str], body: str) -> None:
    assert render(args) == body, "run 'python -m tests.test_advice_docs' to refresh"


def test_the_document_shows_paper_and_live() -> None:
    commands = [" ".join(args) for args, _body in blocks(DOC.read_text())]
    assert any("maya.json" in c for c in commands)
    assert any("maya-live.json" in c and c.startswith("plan") for c in commands)


if __name__ == "__main__":  # pragma: no cover
    DOC.write_text(regenerate())
