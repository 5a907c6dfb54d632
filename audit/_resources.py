"""Where the bundled checklists, schemas and examples live.

In a wheel they are package data under ``audit/_data``; in a source checkout
(editable install, or running from the repository) they sit at the repository
root. Everything that reads bundled data asks this module.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """The directory of bundled ``name`` (``checklists``, ``schemas`` or ``examples``)."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bundled data directory {name!r} is missing from the installation")


def is_packaged(path: Path) -> bool:
    """True for data shipped inside an installed wheel (validated before release)."""
    try:
        path.resolve().relative_to(_PACKAGE / "_data")
    except ValueError:
        return False
    return True


def schema_path(name: str) -> Path:
    return data_dir("schemas") / name


def checklist_dir() -> Path:
    return data_dir("checklists")


def checklist_version() -> str:
    """The bundled checklists' version, from ``checklists/VERSION`` (see docs/ci.md)."""
    return (checklist_dir() / "VERSION").read_text(encoding="utf-8").strip()


def example_path(name: str) -> Path:
    return data_dir("examples") / f"{name}.json"
