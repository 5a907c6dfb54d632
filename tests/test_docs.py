"""The docs cannot go stale: every ``console`` example runs, and the checks reference
is generated.

A fenced block whose info string is ``console`` holds commands (lines starting
with ``$ ibkr-audit``) each followed by the output it must print: stdout, then
stderr, with the environment pinned (80 columns, no colour, SOURCE_DATE_EPOCH).
A line that is only ``...`` stands for any number of lines. Commands that judge a
setup must pin ``--as-of``. Every block of one file runs in one scratch directory
holding a copy of ``examples/`` and ``tests/assets/configs/``, in order, so a tour
can ``init`` a file and then ``check`` it. Paths of the scratch directory print as
``~/ibkr``, the interpreter as ``python3``, and scheduler ids as ``<id>``. Blocks
in other languages (``sh``, ``json``, ``text``...) are not run: use ``console`` for
anything that shows output.

Regenerate the checks reference with ``ibkr-audit checks --format markdown >
docs/checks.md``.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, invoke

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```console[^\n]*\n(.*?)^```", re.S | re.M)
DATED = {"check", "plan", "remediate"}  # their output depends on the date
ENV = {"COLUMNS": "80", "NO_COLOR": "1", "SOURCE_DATE_EPOCH": "1795622400"}


def _examples(path: Path) -> list[tuple[int, str, str]]:
    """(line, command, expected output) for every command of every console block."""
    text = path.read_text(encoding="utf-8")
    out: list[tuple[int, str, str]] = []
    for block in FENCE.finditer(text):
        line = text.count("\n", 0, block.start(1)) + 1
        command: str | None = None
        expected: list[str] = []
        start = line
        for i, row in enumerate(block.group(1).splitlines()):
            if row.startswith("$ "):
                if command is not None:
                    out.append((start, command, "\n".join(expected)))
                command, expected, start = row[2:], [], line + i
            else:
                expected.append(row)
        if command is not None:
            out.append((start, command, "\n".join(expected)))
    return out


def _matches(expected: str, actual: str) -> bool:
    """``expected``'s lines appear in ``actual`` in order; '...' lines skip any."""
    parts = re.split(r"^\.\.\.$\n?", expected, flags=re.M)
    position, lines = 0, actual.splitlines()
    for index, part in enumerate(parts):
        want = part.strip("\n").splitlines()
        if not want:
            continue
        anchored = index == 0
        found = None
        for start in range(position, len(lines) - len(want) + 1):
            if lines[start:start + len(want)] == want:
                found = start
                break
            if anchored:
                break
        if found is None:
            return False
        position = found + len(want)
    return position == len(lines) or expected.rstrip().endswith("...")


def test_matching_is_exact_except_for_ellipses() -> None:
    assert _matches("a\nb\nc", "a\nb\nc")
    assert _matches("a\n...\nc", "a\nb\nb2\nc")
    assert _matches("a\n...", "a\nb")
    assert not _matches("a\nc", "a\nb\nc")  # a missing line
    assert not _matches("a\nb", "a\nb\nc")  # unshown trailing output
    assert not _matches("b\n...", "a\nb")  # the first line is anchored
    assert not _matches("a\n...\nd", "a\nb\nc")


def test_examples_are_found_with_their_output(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("x\n```console\n$ ibkr-audit checks\nout 1\n$ ibkr-audit schema\n```\n"
                   "```sh\nibkr-audit not run\n```\n")
    assert _examples(doc) == [(3, "ibkr-audit checks", "out 1"), (5, "ibkr-audit schema", "")]


FILES_WITH_EXAMPLES = [p for p in DOCS if _examples(p)]


@pytest.mark.parametrize("path", FILES_WITH_EXAMPLES,
                         ids=[str(p.relative_to(ROOT)) for p in FILES_WITH_EXAMPLES])
def test_console_examples_print_what_the_docs_show(
        path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "ibkr"
    work.mkdir()
    shutil.copytree(ROOT / "examples", work / "examples")
    shutil.copytree(ROOT / "tests" / "assets" / "configs", work / "tests" / "assets" / "configs")
    fake_bin = tmp_path / "bin"  # schedule --dry-run may read the crontab: an empty one
    fake_bin.mkdir()
    (fake_bin / "crontab").write_text("#!/bin/sh\nexit 0\n")
    (fake_bin / "crontab").chmod(0o755)
    monkeypatch.chdir(work)
    monkeypatch.setenv("PATH", f"{fake_bin}:/usr/bin:/bin")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("IBKR_AUDIT_HISTORY_DB", str(tmp_path / "history.sqlite3"))
    failures = []
    for line, command, expected in _examples(path):
        args = shlex.split(command)
        assert args[0] == "ibkr-audit", f"{path.name}:{line}: only ibkr-audit commands run"
        if args[1] in DATED:
            assert "--as-of" in args, f"{path.name}:{line}: pin --as-of in {command!r}"
        run = invoke(*args[1:], env=ENV)
        actual = _normalise(run.stdout + run.stderr, work)
        if not _matches(expected, actual):
            failures.append(f"{path.name}:{line}: $ {command}\n--- docs\n{expected}\n"
                            f"--- actual (exit {run.exit_code})\n{actual}")
    assert not failures, "\n\n".join(failures)


def _normalise(text: str, work: Path) -> str:
    text = text.replace(str(work), "~/ibkr").replace(sys.executable, "python3")
    return re.sub(r"ibkr-audit([:.-])[0-9a-f]{12}\b", r"ibkr-audit\1<id>", text)


def test_every_doc_with_output_uses_console_blocks() -> None:
    """Output shown after a '$ ibkr-audit' prompt must be in a block the test runs."""
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for block in re.finditer(r"^```(\w*)[^\n]*\n(.*?)^```", text, re.S | re.M):
            if block.group(1) != "console" and re.search(r"^\$ ibkr-audit", block.group(2),
                                                         re.M):
                line = text.count("\n", 0, block.start()) + 1
                pytest.fail(f"{path.name}:{line}: use ```console so this example is run")
        assert "{out}" not in text, path.name


def test_checks_reference_is_current() -> None:
    run = invoke("checks", "--format", "markdown")
    assert run.exit_code == 0
    current = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    assert current == run.stdout, ("docs/checks.md is stale: run "
                                   "'ibkr-audit checks --format markdown > docs/checks.md'")


def test_readme_is_short_and_keeps_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M)
    assert blocks[0].strip() == "pip install . && ibkr-audit check examples/maya.json"
    assert blocks[1].strip() == "pip install -e '.[test]' && python -m pytest"


# Files other engineers are writing in parallel; links to them may land first.
PENDING = {"docs/scheduling.md", "docs/ci.md", "docs/reliability.md", "docs/advice.md",
           "docs/probe.md"}


def test_relative_links_resolve() -> None:
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target or target.startswith("mailto:"):
                continue
            resolved = (path.parent / target).resolve()
            relative = resolved.relative_to(ROOT).as_posix() if resolved.is_relative_to(
                ROOT) else str(resolved)
            assert resolved.exists() or relative in PENDING, f"{path.name}: {target}"
