"""The sdist and wheel, built and installed the way a user gets them, prove themselves.

Packaged checklists skip re-validation at run time, so only running the installed
wheel catches a wheel that lost (or broke) its data. Offline: ``python -m build
--no-isolation`` uses the hatchling of the test environment, and the fresh venv
gets the wheel with ``--no-deps`` while a ``.pth`` line lends it this
environment's site-packages for the dependencies (after its own, so the wheel's
``audit`` is the one imported, never the checkout's).
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from audit import __version__, _resources
from tests.conftest import ASSETS, ROOT


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist first, then the wheel built from the unpacked sdist (build's default),
    so a file missing from the sdist shows up as a broken wheel."""
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out),
                           str(ROOT)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def wheel_of(dist: Path) -> Path:
    (wheel,) = dist.glob("ibkr_audit-*.whl")
    return wheel


def test_twine_check_passes(dist: Path) -> None:
    files = sorted(str(p) for p in dist.iterdir())
    assert sorted(Path(f).suffix for f in files) == [".gz", ".whl"]
    proc = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *files],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASSED") == 2


def test_wheel_contains_the_data(dist: Path) -> None:
    wheel = wheel_of(dist)
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("checklists", "schemas", "examples"):
        shipped = sorted(p.relative_to(ROOT / folder).as_posix()
                         for p in (ROOT / folder).rglob("*.json"))
        assert shipped
        for name in shipped:
            assert f"audit/_data/{folder}/{name}" in names
    assert "audit/_data/checklists/VERSION" in names
    assert "audit/_data/checklists/advice/plan.json" in names
    assert "audit/cli/main.py" in names and "audit/cli/configs.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "ibkr-audit = audit.cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_sdist_carries_what_the_wheel_and_tests_need(dist: Path) -> None:
    (sdist,) = dist.glob("ibkr_audit-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    for needed in ("checklists/VERSION", "checklists/config.json", "schemas/setup.schema.json",
                   "examples/maya.json", "tests/conftest.py", "pyproject.toml", "README.md"):
        assert needed in names, needed


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, capture_output=True)
    (own,) = (root / "lib").glob("python3*/site-packages")
    lent = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (own / "zz_lent_dependencies.pth").write_text("\n".join(lent) + "\n")
    proc = subprocess.run([str(root / "bin" / "python"), "-m", "pip", "install", "--no-deps",
                           "--no-index", "-q", str(wheel_of(dist))], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return root


def in_venv(venv: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False, timeout=300)


def test_the_installed_wheel_is_what_runs(venv: Path, tmp_path: Path) -> None:
    proc = in_venv(venv, "python", "-c", "import audit, audit._resources as r; "
                   "print(audit.__file__); print(r.checklist_dir())", cwd=tmp_path)
    module, checklists = proc.stdout.split()
    assert Path(module).is_relative_to(venv) and not Path(module).is_relative_to(ROOT)
    assert Path(checklists).is_relative_to(venv)


def test_installed_version_and_check(venv: Path) -> None:
    version = (ROOT / "checklists" / "VERSION").read_text().strip()
    proc = in_venv(venv, "ibkr-audit", "--version")
    assert (proc.returncode, proc.stdout) == (0, f"ibkr-audit {__version__} (checklists "
                                                 f"{version})\n")
    # The README's first command, run by the installed wheel (its date checks use today).
    proc = in_venv(venv, "ibkr-audit", "check", "examples/maya.json")
    assert proc.returncode in (0, 1) and proc.stderr == "", proc.stderr
    assert "VERDICT:" in proc.stdout and "Summary:" in proc.stdout
    assert "RISK-005" in proc.stdout  # a failure is listed (passes are one count line)
    # Maya gone live before paper trading ended: a high failure, so exit 1.
    proc = in_venv(venv, "ibkr-audit", "check", "examples/maya-live.json", "--as-of",
                   "2026-11-25", "-f", "json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["checklist_version"] == version
    assert any(f["id"] == "AUTO-002" and f["status"] == "fail" for f in report["findings"])


def test_installed_wheel_reports_bad_input_and_runs_every_subcommand(venv: Path,
                                                                     tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    shutil.copy(ASSETS / "bad" / "malformed.json", bad)
    proc = in_venv(venv, "ibkr-audit", "check", str(bad))
    assert proc.returncode == 2 and proc.stderr.startswith(f"ibkr-audit: error: {bad}:")
    proc = in_venv(venv, "ibkr-audit", "configs", str(ASSETS / "configs" / "ibc-unsafe.ini"))
    assert proc.returncode == 1 and ":4: CFG-001 critical" in proc.stdout
    from audit.cli.main import COMMANDS

    for name in COMMANDS:  # every lazily imported module is in the wheel
        proc = in_venv(venv, "ibkr-audit", name, "--help")
        assert proc.returncode == 0, (name, proc.stderr)


def test_resources_resolve_in_a_checkout() -> None:
    assert _resources.checklist_dir().is_dir()
    assert _resources.schema_path("setup.schema.json").is_file()
    assert _resources.example_path("maya").is_file()
    assert _resources.checklist_version() == (ROOT / "checklists" / "VERSION").read_text().strip()
