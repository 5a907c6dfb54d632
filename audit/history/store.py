"""The audit history: one SQLite file, safe for concurrent recording runs.

WAL journaling plus a busy timeout lets several scheduled runs record at once;
every write is one ``BEGIN IMMEDIATE`` transaction, so a run is recorded whole
or not at all. The schema carries its version in ``PRAGMA user_version`` and is
migrated forward on open. The file is created 0600 in a 0700 directory: it
describes how an account is protected (secrets are redacted before they get here).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from audit.boundary import redact_at_rest as redact
from audit.errors import InputError, OutputError, Problem
from audit.model import Report, Status

ENV_VAR = "IBKR_AUDIT_HISTORY_DB"
BUSY_TIMEOUT_MS = 30_000

# Each entry moves the schema from version N to N+1. Never edit a released entry.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        setup_key        TEXT NOT NULL,
        setup_path       TEXT NOT NULL,
        setup_sha256     TEXT NOT NULL,
        recorded_at      TEXT NOT NULL,
        as_of            TEXT NOT NULL,
        tool_version     TEXT NOT NULL,
        checklist_digest TEXT NOT NULL,
        n_pass INTEGER NOT NULL, n_fail INTEGER NOT NULL, n_manual INTEGER NOT NULL,
        n_skip INTEGER NOT NULL, n_waived INTEGER NOT NULL,
        worst_failure    TEXT
    );
    CREATE INDEX runs_by_setup ON runs (setup_key, id);
    CREATE TABLE findings (
        run_id    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        check_id  TEXT NOT NULL,
        item      TEXT NOT NULL DEFAULT '',
        title     TEXT NOT NULL,
        area      TEXT NOT NULL,
        severity  TEXT NOT NULL,
        status    TEXT NOT NULL,
        evidence  TEXT NOT NULL
    );
    CREATE INDEX findings_by_run ON findings (run_id);
    """,
    """
    CREATE TABLE drills (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        name      TEXT NOT NULL,
        tested_on TEXT NOT NULL,
        result    TEXT NOT NULL
    );
    """,
    # Version 3: file names can hold account ids, so the grouping key becomes a digest
    # of the path and the stored path is redacted like every other output.
    """
    UPDATE runs SET setup_key = ibkr_setup_key(setup_key), setup_path = ibkr_redact(setup_path)
        WHERE setup_key NOT LIKE 'sha256:%';
    UPDATE drills SET name = ibkr_redact(name);
    """,
    # Version 4: what became of each notification (targets stored as scheme only).
    """
    CREATE TABLE notifications (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        setup_path  TEXT NOT NULL,
        sent_at     TEXT NOT NULL,
        target      TEXT NOT NULL,
        result      TEXT NOT NULL
    );
    """,
    # Version 5: the bundled checklists' version, so 'diff' can tell a rules change from
    # a setup change; runs recorded before it have ''.
    "ALTER TABLE runs ADD COLUMN checklist_version TEXT NOT NULL DEFAULT ''",
)


@dataclass(frozen=True)
class Run:
    id: int
    setup_path: str
    setup_sha256: str
    recorded_at: str
    as_of: str
    tool_version: str
    counts: dict[str, int]
    worst_failure: str | None
    setup_key: str = ""  # groups the runs of one file (the stored path is redacted)
    checklist_version: str = ""
    checklist_digest: str = ""


@dataclass(frozen=True)
class StoredFinding:
    check_id: str
    item: str
    title: str
    area: str
    severity: str
    status: str
    evidence: list[dict[str, Any]]

    @property
    def key(self) -> tuple[str, str]:
        return (self.check_id, self.item)


def stored_findings(report: Report) -> list[StoredFinding]:
    """A report's findings as the history keeps them (evidence is already redacted)."""
    return [StoredFinding(f.id, f.item or "", f.check.title, f.check.area, f.severity.value,
                          f.status.value, [e.to_dict() for e in f.evidence])
            for f in report.findings]


def default_path() -> Path:
    """``--history-db`` is handled by callers; then the environment; then the data dir."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    import platformdirs  # only recording and history commands need it

    return Path(platformdirs.user_data_dir("ibkr-audit", appauthor=False)) / "history.sqlite3"


def setup_key(path: str) -> str:
    """Runs of the same file group together whatever the working directory was.

    A digest of the absolute path, not the path: file names can hold account ids.
    """
    import hashlib

    if not path.startswith("sha256:"):
        absolute = path if path == "<stdin>" else str(Path(path).resolve())
        path = "sha256:" + hashlib.sha256(absolute.encode("utf-8", "surrogateescape")).hexdigest()
    return path


def _text(value: str) -> str:
    """SQLite stores UTF-8: undecodable file-name bytes and lone surrogates become
    backslash escapes instead of an encoding crash."""
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _absolute(path: str) -> str:
    """Runs are listed under the absolute path, so 'history' and 'diff' read the same
    from any directory."""
    return path if path == "<stdin>" else str(Path(path).resolve())


# Columns an ibkr-audit history must have; a foreign SQLite file with the same
# user_version is refused instead of failing later on a missing table.
REQUIRED_COLUMNS = {
    "runs": {"id", "setup_key", "setup_path", "setup_sha256", "recorded_at", "as_of",
             "tool_version", "n_pass", "n_fail", "n_manual", "n_skip", "n_waived",
             "worst_failure"},
    "findings": {"run_id", "check_id", "item", "title", "area", "severity", "status",
                 "evidence"},
    "drills": {"name", "tested_on", "result"},
}

P = ParamSpec("P")
R = TypeVar("R")


def _problem(path: Path, exc: sqlite3.Error) -> InputError:
    """What an SQLite failure means for the user, and what to do about it."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        advice = (f"the history database stayed locked by another process for more than "
                  f"{BUSY_TIMEOUT_MS // 1000} s; try again when the other ibkr-audit run has "
                  "finished")
    elif "malformed" in text or "not a database" in text or "corrupt" in text:
        advice = (f"the history database is damaged ({text}); move it aside (a new one is "
                  "created on the next --record) or restore it from a backup")
    else:
        advice = f"not a usable history database: {text}"
    return InputError([Problem(advice, file=str(path))])


def _guarded(method: Callable[P, R]) -> Callable[P, R]:
    """SQLite errors (a damaged page, a lock past the busy timeout) are exit 2."""
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as exc:
            store = args[0]
            raise _problem(store.path if isinstance(store, Store) else Path("?"),
                           exc) from None
        except ValueError as exc:  # stored evidence that is not JSON: not written by us
            store = args[0]
            raise InputError([Problem(
                f"the history database holds a row this ibkr-audit did not write ({exc}); "
                "move it aside or restore it from a backup",
                file=str(store.path) if isinstance(store, Store) else None)]) from None
    return wrapper


class Store:
    """Open (creating and migrating as needed) the history database at ``path``."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        try:
            info: os.stat_result | None = path.lstat()
        except FileNotFoundError:
            info = None
        except OSError as exc:
            raise InputError([Problem(f"cannot use: {exc.strerror or exc}",
                                      file=str(path))]) from None
        if info is None:
            if not create:
                raise InputError([Problem("no audit history yet (run 'ibkr-audit check "
                                          "--record' first)", file=str(path))])
            if not self._create_private(path):
                # Another process created it meanwhile (runs recording at once): use it
                # as an existing file, with the same checks.
                info = path.lstat()
        if info is not None:
            self._make_private(path, info)
        try:
            self.conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000,
                                        isolation_level=None)
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._use_wal()
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.create_function("ibkr_setup_key", 1, setup_key, deterministic=True)
            self.conn.create_function("ibkr_redact", 1, redact, deterministic=True)
            self._migrate()
            self._verify()
        except sqlite3.Error as exc:
            raise _problem(path, exc) from None

    def _use_wal(self) -> None:
        """Switch to WAL (it stays on in the file), waiting out other openers.

        Switching needs an exclusive lock, and SQLite answers "locked" at once,
        without its busy handler, when processes opening a new database at the same
        moment would otherwise deadlock; so wait here, up to the busy timeout.
        """
        import time

        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                mode = self.conn.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() != "wal":
                    self.conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                text = str(exc).lower()
                if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    @staticmethod
    def _make_private(path: Path, info: os.stat_result) -> None:
        """Refuse links and non-files; chmod through a descriptor, never through a link."""
        if stat.S_ISLNK(info.st_mode):
            raise InputError([Problem("is a symbolic link; give the real path of the history "
                                      "database", file=str(path))])
        if not stat.S_ISREG(info.st_mode):
            raise InputError([Problem("is not a regular file (a directory?); give the path of "
                                      "a history database file", file=str(path))])
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                os.fchmod(fd, 0o600)
            finally:
                os.close(fd)

    def _verify(self) -> None:
        for table, needed in REQUIRED_COLUMNS.items():
            have = {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")}
            if not needed <= have:
                raise InputError([Problem(
                    "is an SQLite database but not an ibkr-audit history (no "
                    f"{table} table of ours); give another --history-db", file=str(self.path))])

    @staticmethod
    def _create_private(path: Path) -> bool:
        """Create the file 0600; False when it already exists (another process won)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
            os.close(fd)
        except FileExistsError:
            return False
        except OSError as exc:
            raise OutputError([Problem(f"cannot create: {exc.strerror or exc}",
                                       file=str(path))]) from None
        return True

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version >= len(MIGRATIONS):
            if version > len(MIGRATIONS):
                raise InputError([Problem(
                    f"history schema version {version} is newer than this ibkr-audit "
                    f"understands ({len(MIGRATIONS)}); upgrade ibkr-audit", file=str(self.path))])
            return
        with self._write() as conn:
            # Re-read inside the lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, len(MIGRATIONS)):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number + 1}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @_guarded
    def record(self, report: Report, setup_sha256: str) -> int:
        """Store ``report`` (already redacted) as one run; returns its id."""
        counts = report.summary()
        worst = report.worst_failure()
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO runs (setup_key, setup_path, setup_sha256, recorded_at, as_of,"
                " tool_version, checklist_digest, n_pass, n_fail, n_manual, n_skip, n_waived,"
                " worst_failure, checklist_version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (setup_key(report.setup_path), _text(redact(_absolute(report.setup_path))),
                 setup_sha256,
                 report.generated_at, report.as_of, report.tool_version,
                 report.checklist_digest, counts["pass"], counts["fail"], counts["manual"],
                 counts["skip"], counts["waived"], worst.value if worst else None,
                 report.checklist_version))
            run_id = int(cursor.lastrowid or 0)
            conn.executemany(
                "INSERT INTO findings (run_id, check_id, item, title, area, severity, status,"
                " evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, f.check_id, _text(redact(f.item)), _text(f.title), f.area,
                  f.severity, f.status, redact(json.dumps(f.evidence)))
                 for f in stored_findings(report)])
        return run_id

    @_guarded
    def runs(self, setup: str | None = None, limit: int | None = None,
             run_id: int | None = None) -> list[Run]:
        """Newest first; only runs of ``setup`` (or the one ``run_id``) when given."""
        query = ("SELECT id, setup_path, setup_sha256, recorded_at, as_of, tool_version, n_pass,"
                 " n_fail, n_manual, n_skip, n_waived, worst_failure, setup_key,"
                 " checklist_version, checklist_digest FROM runs")
        args: list[Any] = []
        if setup is not None:
            query += " WHERE setup_key = ?"
            args.append(setup_key(setup))
        elif run_id is not None:
            query += " WHERE id = ?"
            args.append(run_id)
        query += " ORDER BY id DESC"
        if limit is not None:
            query += " LIMIT ?"
            args.append(limit)
        return [Run(r[0], r[1], r[2], r[3], r[4], r[5],
                    dict(zip([s.value for s in Status], r[6:11], strict=True)), r[11], r[12],
                    r[13], r[14])
                for r in self.conn.execute(query, args)]

    def run(self, run_id: int) -> Run:
        rows = self.runs(run_id=run_id)
        if not rows:
            raise InputError([Problem(f"no run {run_id} in the history", file=str(self.path))])
        return rows[0]

    @_guarded
    def findings(self, run_id: int) -> list[StoredFinding]:
        return [StoredFinding(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]))
                for r in self.conn.execute(
                    "SELECT check_id, item, title, area, severity, status, evidence"
                    " FROM findings WHERE run_id = ? ORDER BY rowid", (run_id,))]

    @_guarded
    def record_drill(self, name: str, tested_on: str, result: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO drills (name, tested_on, result) VALUES (?, ?, ?)",
                         (redact(name), tested_on, result))

    @_guarded
    def record_notification(self, setup_path: str, sent_at: str, target: str,
                            result: str) -> None:
        """One delivery attempt; ``target`` must already be redacted (scheme only)."""
        with self._write() as conn:
            conn.execute("INSERT INTO notifications (setup_path, sent_at, target, result)"
                         " VALUES (?, ?, ?, ?)",
                         (redact(setup_path), sent_at, redact(target), redact(result)))

    @_guarded
    def notifications(self) -> list[tuple[str, str, str, str]]:
        return [(r[0], r[1], r[2], r[3]) for r in self.conn.execute(
            "SELECT setup_path, sent_at, target, result FROM notifications ORDER BY id DESC")]

    @_guarded
    def drills(self) -> list[tuple[str, str, str]]:
        return [(r[0], r[1], r[2]) for r in self.conn.execute(
            "SELECT name, tested_on, result FROM drills ORDER BY id DESC")]

