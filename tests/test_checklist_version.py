"""The checklists' version: in --version, in the JSON report, in history and diff."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from audit.history.store import MIGRATIONS
from tests.conftest import AS_OF, ASSETS, ROOT, invoke, load_example, patched

VERSION = (ROOT / "checklists" / "VERSION").read_text().strip()
CUSTOM = str(ASSETS / "checklists" / "custom_ok.json")


def test_version_file_is_a_version() -> None:
    parts = VERSION.split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts), VERSION


def test_version_option_names_the_checklists() -> None:
    from audit import __version__

    for flag in ("--version", "-V"):
        run = invoke(flag)
        assert (run.exit_code, run.stdout) == (0, f"ibkr-audit {__version__} (checklists "
                                                  f"{VERSION})\n")


def test_json_report_records_the_checklist_version(tmp_path: Path, write_setup: Any) -> None:
    setup = str(write_setup(load_example("secure")))
    data = json.loads(invoke("check", setup, "--as-of", AS_OF, "-f", "json").stdout)
    assert data["checklist_version"] == VERSION
    data = json.loads(invoke("check", setup, "--as-of", AS_OF, "-f", "json",
                             "--checklist", CUSTOM).stdout)
    assert data["checklist_version"] == f"{VERSION}+custom"
    ini = ASSETS / "configs" / "ibc-safe.ini"
    assert json.loads(invoke("configs", str(ini), "-f", "json").stdout)[
        "checklist_version"] == VERSION


def record(setup: Path, db: Path, *extra: str) -> None:
    run = invoke("check", str(setup), "--as-of", AS_OF, "--record", "--history-db", str(db),
                 *extra)
    assert run.exit_code in (0, 1), run.stderr


def diff(db: Path) -> tuple[dict[str, Any], str]:
    data = json.loads(invoke("diff", "--history-db", str(db), "-f", "json").stdout)
    return data, invoke("diff", "--history-db", str(db)).stdout.splitlines()[1]


def test_diff_tells_rules_changes_from_setup_changes(tmp_path: Path, write_setup: Any) -> None:
    db = tmp_path / "h.db"
    base = load_example("maya")
    path = write_setup(base, "setup.json")
    record(path, db)
    record(path, db)
    data, line = diff(db)
    assert data["causes"] == {"setup_changed": False, "rules_changed": False}
    assert line == "Changed since: neither the setup nor the rules (only the date moved)."
    record(path, db, "--checklist", CUSTOM)  # same setup, more rules
    data, line = diff(db)
    assert data["causes"] == {"setup_changed": False, "rules_changed": True}
    assert data["after"]["checklist_version"] == f"{VERSION}+custom"
    assert line == f"Changed since: the rules changed (checklists {VERSION} → {VERSION}+custom)."
    write_setup(patched(base, {"/automation/code_review": True}), "setup.json")
    record(path, db, "--checklist", CUSTOM)  # same rules, new setup
    data, line = diff(db)
    assert data["causes"] == {"setup_changed": True, "rules_changed": False}
    assert line == "Changed since: the setup changed."


def test_history_recorded_before_the_column_is_migrated(tmp_path: Path,
                                                        write_setup: Any) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    for number, migration in enumerate(MIGRATIONS[:2], start=1):
        conn.executescript(migration)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.execute(
        "INSERT INTO runs (setup_key, setup_path, setup_sha256, recorded_at, as_of,"
        " tool_version, checklist_digest, n_pass, n_fail, n_manual, n_skip, n_waived,"
        " worst_failure) VALUES (?, ?, 'old', '2026-01-01T00:00:00Z', '2026-01-01', '0.0.1',"
        " 'olddigest', 0, 0, 0, 0, 0, NULL)", (str(tmp_path / "setup.json"),) * 2)
    conn.commit()
    conn.close()
    path = write_setup(load_example("secure"), "setup.json")
    record(path, db)
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    data, line = diff(db)
    assert data["before"]["checklist_version"] == ""
    assert data["after"]["checklist_version"] == VERSION
    assert data["causes"] == {"setup_changed": True, "rules_changed": True}
    assert line == ("Changed since: the setup changed and the rules changed (checklists "
                    f"unrecorded → {VERSION}).")
