"""History store, diff, --only-changes, and concurrent recording from processes."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AS_OF, invoke, load_example, patched


def record(setup: Path, db: Path, *extra: str) -> Any:
    return invoke("check", str(setup), "--as-of", AS_OF, "--record", "--history-db", str(db),
                  *extra)


def test_record_history_and_private_file(tmp_path: Path, write_setup: Any) -> None:
    db = tmp_path / "state" / "history.sqlite3"
    setup = write_setup(load_example("maya-live"))
    assert record(setup, db).exit_code == 1
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    record(setup, db)
    runs = json.loads(invoke("history", "--history-db", str(db), "-f", "json").stdout)
    assert [r["id"] for r in runs] == [2, 1]
    assert runs[0]["summary"]["fail"] == 8 and runs[0]["worst_failure"] == "high"
    assert runs[0]["setup_sha256"] and runs[0]["setup"] == str(setup)
    text = invoke("history", str(setup), "--history-db", str(db), "--limit", "1").stdout
    assert len(text.strip().splitlines()) == 2  # header + one run


def test_history_uses_env_var_and_never_home(tmp_path: Path, write_setup: Any) -> None:
    db = tmp_path / "env.sqlite3"
    setup = write_setup(load_example("secure"))
    run = invoke("check", str(setup), "--record", env={"IBKR_AUDIT_HISTORY_DB": str(db)})
    assert run.exit_code == 0 and db.exists()


def test_diff_regressions_fixes_and_evidence(tmp_path: Path, write_setup: Any) -> None:
    db = tmp_path / "h.db"
    base = load_example("maya-live")
    path = write_setup(base, "setup.json")
    record(path, db)
    changed = patched(base, {"/devices/0/disk_encrypted": False,      # pass -> fail (medium)
                             "/automation/code_review": True,          # fail -> pass
                             "/automation/paper_trading/days": 20,     # fail, evidence changed
                             "/login/password/unique": False})         # pass -> fail (high)
    write_setup(changed, "setup.json")
    record(path, db)
    run = invoke("diff", "--history-db", str(db), "-f", "json")
    assert run.exit_code == 1  # a high regression at the default --fail-on high
    data = json.loads(run.stdout)
    assert [(c["id"], c["before"], c["after"]) for c in data["regressions"]] == [
        ("LOGIN-005", "pass", "fail"), ("DEV-005", "pass", "fail")]
    assert [c["id"] for c in data["fixes"]] == ["AUTO-003"]
    assert [c["id"] for c in data["evidence_changed"]] == ["AUTO-002"]
    assert invoke("diff", "--history-db", str(db), "--fail-on", "critical").exit_code == 0
    assert invoke("diff", "1", "2", "--history-db", str(db)).exit_code == 1
    text = invoke("diff", "1", "--history-db", str(db)).stdout
    assert "REGRESSIONS (2)" in text and "FIXED (1)" in text


def test_diff_needs_two_runs(tmp_path: Path, write_setup: Any) -> None:
    db = tmp_path / "h.db"
    record(write_setup(load_example("maya-live")), db)
    run = invoke("diff", "--history-db", str(db))
    assert run.exit_code == 2 and "needs two recorded runs" in run.stderr
    run = invoke("diff", "7", "8", "--history-db", str(db))
    assert run.exit_code == 2 and "no run 7" in run.stderr
    run = invoke("history", "--history-db", str(tmp_path / "none.db"))
    assert run.exit_code == 0 and run.stdout.startswith("no runs recorded yet")
    assert not (tmp_path / "none.db").exists()


def test_only_changes_is_silent_when_nothing_changed(tmp_path: Path, write_setup: Any) -> None:
    db = tmp_path / "h.db"
    path = write_setup(load_example("maya-live"), "s.json")
    first = record(path, db, "--only-changes")
    assert "AUTO-002" in first.stdout  # first run: everything is news
    quiet = record(path, db, "--only-changes")
    assert quiet.stdout == "" and quiet.exit_code == 1  # the verdict is unchanged
    write_setup(patched(load_example("maya-live"), {"/devices/1/screen_lock": False}), "s.json")
    news = record(path, db, "--only-changes")
    assert "REGRESSIONS (1)" in news.stdout and "DEV-006" in news.stdout


def test_newer_schema_and_garbage_file_are_refused(tmp_path: Path, write_setup: Any) -> None:
    db = tmp_path / "h.db"
    setup = write_setup(load_example("secure"))
    record(setup, db)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    run = record(setup, db)
    assert run.exit_code == 2 and "newer than this ibkr-audit understands" in run.stderr
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    run = record(setup, junk)
    assert run.exit_code == 2 and "history database is damaged" in run.stderr


def _record_many(args: tuple[str, str, int]) -> int:
    import datetime as dt

    from audit.auditor import audit_file
    from audit.engine import checklist
    from audit.engine.evaluate import Options
    from audit.history.store import Store

    setup, db, n = args
    lists = checklist.load()
    options = Options(as_of=dt.date(2026, 11, 25))
    for _ in range(n):
        report = audit_file(setup, lists, options)
        with Store(Path(db)) as store:
            store.record(report, report.setup_sha256)
    return n


def test_eight_concurrent_processes_lose_no_row(tmp_path: Path, write_setup: Any) -> None:
    setup = str(write_setup(load_example("maya-live")))
    db = str(tmp_path / "concurrent.db")
    per_process = 10
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(8) as pool:
        done = pool.map(_record_many, [(setup, db, per_process)] * 8)
    assert sum(done) == 80
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 80
        findings = conn.execute("SELECT COUNT(*) FROM findings").fetchone()[0]
        per_run = conn.execute(
            "SELECT COUNT(*) FROM findings GROUP BY run_id").fetchall()
    assert len(per_run) == 80 and len({n for (n,) in per_run}) == 1
    assert findings == 80 * per_run[0][0]


@pytest.mark.parametrize("flag, value, check_id", [
    ("--max-review-age", "30", "CAD-001"), ("--max-backup-test-age", "60", "CAD-002")])
def test_threshold_options(flag: str, value: str, check_id: str, write_setup: Any) -> None:
    path = write_setup(load_example("maya-live"))
    before = json.loads(invoke("check", str(path), "--as-of", AS_OF, "-f", "json").stdout)
    after = json.loads(invoke("check", str(path), "--as-of", AS_OF, flag, value,
                              "-f", "json").stdout)
    status = {d: next(f["status"] for f in r["findings"] if f["id"] == check_id)
              for d, r in (("before", before), ("after", after))}
    assert status == {"before": "pass", "after": "fail"}


def _open_new(path: str) -> str:
    from audit.history.store import Store

    try:
        with Store(Path(path), create=True):
            return "ok"
    except Exception as exc:  # reported, not raised: the test counts them
        return f"{type(exc).__name__}: {exc}"


def test_processes_opening_a_new_database_at_once_all_get_it(tmp_path: Path) -> None:
    """Switching a new database to WAL fails at once ("locked"), without SQLite's busy
    handler, for openers racing each other; the store waits that out (it failed ~15 %
    of rounds of eight before)."""
    with multiprocessing.get_context("fork").Pool(8) as pool:
        for round_ in range(25):
            path = str(tmp_path / f"new-{round_}.db")
            results = pool.map(_open_new, [path] * 8)
            assert results == ["ok"] * 8, results
