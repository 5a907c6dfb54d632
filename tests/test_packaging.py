"""The wheel ships checklists, schemas and examples, and they are found at run time."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from audit import _resources
from tests.conftest import ROOT


def test_wheel_contains_the_data(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    wheel = next(tmp_path.glob("ibkr_audit-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("checklists", "schemas", "examples"):
        shipped = sorted(p.relative_to(ROOT / folder).as_posix()
                         for p in (ROOT / folder).rglob("*.json"))
        assert shipped
        for name in shipped:
            assert f"audit/_data/{folder}/{name}" in names
    assert "audit/_data/checklists/advice/plan.json" in names
    assert "audit/cli/main.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "ibkr-audit = audit.cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_resources_resolve_in_a_checkout() -> None:
    assert _resources.checklist_dir().is_dir()
    assert _resources.schema_path("setup.schema.json").is_file()
    assert _resources.example_path("maya").is_file()
