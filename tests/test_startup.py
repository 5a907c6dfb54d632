"""What a single-file run loads, and the stand-ins that keep it lean.

Start-up is most of a ``check`` (see docs/performance.md). These tests pin what a
one-file run imports — not how long it takes: no test here measures time.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from audit import digest
from audit.reports.text import MAX_WIDTH, MIN_WIDTH, terminal_width

ROOT = Path(__file__).resolve().parent.parent
MAYA = ROOT / "examples" / "maya.json"

# Loaded only by the paths that need them; a single-file check needs none of them.
HEAVY_EVERYWHERE = {
    "hashlib",  # OpenSSL: audit.digest has the built-in SHA-256
    "shutil",  # and bz2/lzma with it: only --output-less terminal sizing wanted it
    "multiprocessing",  # fleet mode only
    "audit.fleet",
    "tempfile",  # atomic writes (--output, history) only
    "jsonschema",  # the checklists were validated when the cache was built
}
HEAVY_FOR_JSON = {
    "audit.reports.text",  # the terminal report and its wrapping
    "audit.advice.rank",  # the urgent block is text-only; --strict loads it
    "textwrap",
}

MODULES_AFTER_RUN = """
import contextlib, io, json, sys
from audit.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def modules_after(tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    env = {**os.environ, "IBKR_AUDIT_CACHE_DIR": str(tmp_path / "cache"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path)}
    env.pop("PYTHONPATH", None)
    for _warm in range(2):  # the first run builds the checklist cache, as a user's first does
        proc = subprocess.run([sys.executable, "-c", MODULES_AFTER_RUN, *args], cwd=ROOT,
                              env=env, capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout.splitlines()[-1])
    return result["code"], set(result["modules"])


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_single_file_check_loads_nothing_it_does_not_use(tmp_path: Path, fmt: str) -> None:
    code, modules = modules_after(tmp_path, "check", str(MAYA), "--format", fmt)
    assert code == 0
    assert "audit.engine.evaluate" in modules  # it did run the audit
    heavy = HEAVY_EVERYWHERE | (HEAVY_FOR_JSON if fmt == "json" else set())
    assert not heavy & modules


def test_a_fleet_still_loads_the_fleet(tmp_path: Path) -> None:
    code, modules = modules_after(tmp_path, "check", str(ROOT / "examples"), "--jobs", "1",
                                  "--format", "text", "--quiet")
    assert code in (0, 1)
    assert "audit.fleet" in modules


@pytest.mark.parametrize("data", [b"", b"abc", b"\x00" * 1000, os.urandom(4096)])
def test_the_built_in_sha256_is_sha256(data: bytes) -> None:
    assert digest.sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()
    incremental = digest.sha256()
    for i in range(0, len(data), 7):
        incremental.update(data[i:i + 7])
    assert incremental.digest() == hashlib.sha256(data).digest()


@pytest.mark.parametrize(("columns", "expected"), [
    ("120", MAX_WIDTH), ("72", 72), ("10", MIN_WIDTH), ("0", None), ("wide", None),
    ("99999999999", None), ("²", None), ("٣٣", None), ("-5", None), (" 90", None)])
def test_terminal_width_follows_columns(monkeypatch: pytest.MonkeyPatch, columns: str,
                                        expected: int | None) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    width = terminal_width()
    assert MIN_WIDTH <= width <= MAX_WIDTH
    if expected is not None:
        assert width == expected
