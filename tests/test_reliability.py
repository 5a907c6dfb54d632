"""Writes that cannot be half-done, limits, signals, and the tool's own hygiene."""

from __future__ import annotations

import ast
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from audit.errors import OutputError
from audit.fsutil import write_atomic
from tests.conftest import AS_OF, EXAMPLES, ROOT, invoke, load_example

MAYA = str(EXAMPLES / "maya.json")


def test_failed_write_keeps_the_previous_file(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "report.json"
    out.write_text("previous report")
    real_write = os.write

    def disk_full(fd: int, data: Any) -> int:
        if len(data) > 100:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", disk_full)
    run = invoke("check", MAYA, "--as-of", AS_OF, "-f", "json", "-o", str(out))
    assert run.exit_code == 2
    assert f"{out}: cannot write: No space left on device" in run.stderr
    assert out.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temp file left


def test_failed_rename_keeps_the_previous_file(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "TODO.md"
    out.write_text("old list")

    def refuse(self: Path, target: Any) -> Any:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(Path, "replace", refuse)
    run = invoke("remediate", MAYA, "--as-of", AS_OF, "-o", str(out))
    assert run.exit_code == 2 and "Read-only file system" in run.stderr
    assert out.read_text() == "old list"
    assert [p.name for p in tmp_path.iterdir()] == ["TODO.md"]


def test_write_atomic_is_private_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "f"
    write_atomic(target, "one")
    write_atomic(target, b"two")
    assert target.read_text() == "two" and (target.stat().st_mode & 0o777) == 0o600
    with pytest.raises(OutputError):
        write_atomic(tmp_path, "x")  # a directory


@pytest.mark.parametrize("flag, doc, message", [
    ("--max-string", {"x-note": "a" * 500}, "string is 500 characters, more than the limit of 100"),
    ("--max-items", {"x-list": list(range(50))}, "array has 50 items, more than the limit of 10"),
])
def test_configurable_limits(flag: str, doc: dict[str, Any], message: str,
                             write_setup: Any) -> None:
    path = write_setup({**load_example("minimal"), **doc})
    assert invoke("check", str(path)).exit_code == 0
    limit = "100" if flag == "--max-string" else "10"
    run = invoke("check", str(path), flag, limit)
    assert run.exit_code == 2 and message in run.stderr


def test_huge_inputs_are_refused_quickly(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.write(b'{"x-a": "' + b"a" * (30 * 1024 * 1024) + b'"}')
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 10_000 + "]" * 10_000)
    for path, message in ((big, "larger than"), (deep, "nesting is deeper")):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "audit", "check", str(path)],
                              capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        assert proc.returncode == 2 and message in proc.stderr
        assert "Traceback" not in proc.stderr
        print(f"{path.name}: refused in {elapsed:.2f}s")  # measured, not asserted


def test_ctrl_c_exits_130_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "audit", "init", str(tmp_path / "s.json")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()  # the wizard has started and waits at its first prompt
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and "interrupted" in err
    assert not (tmp_path / "s.json").exists()


def _dangerous(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in ("eval", "exec", "compile"):
                found.append(f"{func.id}()")
            if isinstance(func, ast.Attribute) and (
                    (func.attr == "system" and getattr(func.value, "id", "") == "os")
                    or (func.attr == "load" and getattr(func.value, "id", "") == "yaml")):
                found.append(f"{getattr(func.value, 'id', '')}.{func.attr}()")
            found += [f"{kw.arg}=True" for kw in node.keywords
                      if kw.arg == "shell" and isinstance(kw.value, ast.Constant)
                      and kw.value.value is True]
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            found += [f"import {n}" for n in names if n.split(".")[0] in ("pickle", "marshal",
                                                                           "shelve")]
    return found


def test_no_dangerous_calls_in_the_tool() -> None:
    for path in (ROOT / "audit").rglob("*.py"):
        assert _dangerous(ast.parse(path.read_text())) == [], path
    assert _dangerous(ast.parse("import pickle\nsubprocess.run('x', shell=True)\neval('1')")) == [
        "import pickle", "shell=True", "eval()"]


def test_same_input_same_report(tmp_path: Path) -> None:
    env = {"SOURCE_DATE_EPOCH": "1764028800"}
    outputs = {invoke("check", MAYA, "--as-of", AS_OF, "-f", fmt, env=env).stdout
               for fmt in ("json",) for _ in range(3)}
    assert len(outputs) == 1
    assert json.loads(outputs.pop())["generated_at"] == "2025-11-25T00:00:00Z"
