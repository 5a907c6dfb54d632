"""Notifications through Apprise's json:// target to a receiver on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AS_OF, ASSETS, EXAMPLES, invoke
from tests.test_schedule import crontab, run, sandbox  # noqa: F401 - the fixture is reused

PLANTED = ASSETS / "planted_secrets.json"
PLANTED_VALUES = ["U7654321", "DU1122334", "JBSWY3DPEHPK3PXPKRSXG5CTMVRXEZLU",
                  "Tr0ub4dor&3-plain", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
                  "sk_live_51Hq9xyzSECRETVALUE", "mzxw 6ytb oi4q 2345"]
TOKEN = "tok-Notify-S3cret"  # noqa: S105 - planted in the notification URL


class Receiver:
    """A tiny HTTP server that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        bodies: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                bodies.append({"path": self.path, "auth": self.headers.get("Authorization"),
                               "json": json.loads(self.rfile.read(length))})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.bodies = bodies
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"json://ibkr:{TOKEN}@127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY",
                "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    server = Receiver()
    yield server
    server.close()


def closed_port_url() -> str:
    import socket

    with socket.socket() as s:  # bind, learn a free port, close: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"json://ibkr:{TOKEN}@127.0.0.1:{port}/hook"


def check(setup: Path, db: Path, *extra: str) -> Any:
    return invoke("check", str(setup), "--as-of", AS_OF, "--record", "--history-db", str(db),
                  *extra)


def test_notifies_on_regression_only(receiver: Receiver, tmp_path: Path) -> None:
    setup = tmp_path / "maya.json"
    original = (EXAMPLES / "maya.json").read_text()
    setup.write_text(original)
    db = tmp_path / "h.db"
    baseline = check(setup, db)
    assert not receiver.bodies
    same = check(setup, db, "--notify", receiver.url)
    assert same.exit_code == baseline.exit_code and not receiver.bodies  # nothing new
    setup.write_text(original.replace('"entry_point": "bookmark"',
                                      '"entry_point": "email_link"'))
    worse = check(setup, db, "--notify", receiver.url)
    assert worse.exit_code == 1 and len(receiver.bodies) == 1
    sent = receiver.bodies[0]["json"]
    assert sent["title"].startswith("ibkr-audit FAIL: maya.json (1 regression)")
    message = sent["message"]
    assert "Regressions since the last recorded run:" in message
    assert "- high" in message and "email_link" not in message  # no evidence values
    assert f"See more: ibkr-audit diff --setup {shlex.quote(str(setup))}" in message
    assert "fail," in message and "Verdict: FAIL" in message
    assert TOKEN not in json.dumps(sent) and TOKEN not in worse.stdout + worse.stderr
    again = check(setup, db, "--notify", receiver.url)
    assert again.exit_code == 1 and len(receiver.bodies) == 1  # the regression is not new
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT target, result FROM notifications").fetchall()
    assert rows == [("json://<redacted>", "sent")]


def test_notify_on_fail_and_always(receiver: Receiver, tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    secure = EXAMPLES / "secure.json"
    assert check(secure, db, "--notify", receiver.url, "--notify-on", "fail").exit_code == 0
    assert not receiver.bodies
    assert check(secure, db, "--notify", receiver.url, "--notify-on", "always").exit_code == 0
    assert len(receiver.bodies) == 1
    assert receiver.bodies[0]["json"]["title"] == "ibkr-audit PASS: secure.json"
    maya = EXAMPLES / "maya-live.json"
    assert check(maya, db, "--notify", receiver.url, "--notify-on", "fail").exit_code == 1
    assert len(receiver.bodies) == 2


def test_planted_secrets_never_reach_the_payload(receiver: Receiver, tmp_path: Path) -> None:
    run_ = check(PLANTED, tmp_path / "h.db", "--notify", receiver.url, "--notify-on", "always")
    assert run_.exit_code == 1 and len(receiver.bodies) == 1
    payload = json.dumps(receiver.bodies[0]["json"])
    assert "SECRET-001" in payload
    for secret in [*PLANTED_VALUES, TOKEN]:
        assert secret not in payload, secret
        assert secret not in run_.stdout + run_.stderr, secret


def test_failed_notification_keeps_exit_code(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    url = closed_port_url()
    plain = invoke("check", str(EXAMPLES / "maya-live.json"), "--as-of", AS_OF)
    noisy = check(EXAMPLES / "maya-live.json", db, "--notify", url, "--notify-on", "always")
    assert noisy.exit_code == plain.exit_code == 1
    assert "warning: notification to json://<redacted> failed" in noisy.stderr
    assert TOKEN not in noisy.stderr + noisy.stdout and str(url) not in noisy.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT target, result FROM notifications").fetchall() == [
            ("json://<redacted>", "failed: not delivered")]
    listed = invoke("history", "--notifications", "--history-db", str(db))
    assert listed.exit_code == 0 and "json://<redacted>" in listed.stdout
    assert "failed: not delivered" in listed.stdout and TOKEN not in listed.stdout
    rows = json.loads(invoke("history", "--notifications", "--history-db", str(db), "-f",
                             "json").stdout)
    assert [(r["target"], r["result"]) for r in rows] == [("json://<redacted>",
                                                          "failed: not delivered")]


def test_bad_targets_are_usage_errors(tmp_path: Path) -> None:
    bad = invoke("check", str(EXAMPLES / "maya.json"), "--notify", f"nosuch://{TOKEN}@x")
    assert bad.exit_code == 2 and "nosuch://<redacted>" in bad.stderr and TOKEN not in bad.stderr
    assert bad.stdout == ""  # refused before the audit
    missing = invoke("check", str(EXAMPLES / "maya.json"), "--notify", "@" + str(tmp_path / "x"))
    assert missing.exit_code == 2 and "cannot read notification targets" in missing.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n")
    for value in ("@" + str(empty), " "):
        run_ = invoke("check", str(EXAMPLES / "maya.json"), "--notify", value)
        assert run_.exit_code == 2 and "no notification target" in run_.stderr
    fleet = invoke("check", str(EXAMPLES), "--notify", "json://127.0.0.1/x")
    assert fleet.exit_code == 2 and "--notify" in fleet.stderr


def test_targets_file_is_read(receiver: Receiver, tmp_path: Path) -> None:
    targets = tmp_path / "targets.txt"
    targets.write_text(f"# phone\n{receiver.url}\n\n")
    run_ = check(EXAMPLES / "maya-live.json", tmp_path / "h.db", "--notify", f"@{targets}",
                 "--notify-on", "always")
    assert run_.exit_code == 1 and len(receiver.bodies) == 1


def test_schedule_keeps_notify_urls_out_of_entries(sandbox: dict[str, Any],  # noqa: F811
                                                   receiver: Receiver) -> None:
    url = receiver.url
    dry = run(sandbox, "schedule", sandbox["setup"], "--every", "weekly", "--backend", "cron",
              "--notify", url, "--dry-run")
    assert dry.exit_code == 0 and TOKEN not in dry.stdout + dry.stderr
    config = Path(sandbox["env"]["XDG_CONFIG_HOME"]) / "ibkr-audit" / "notify"
    assert not config.exists()  # a dry run writes nothing
    for backend in ("cron", "systemd"):
        done = run(sandbox, "schedule", sandbox["setup"], "--every", "weekly", "--backend",
                   backend, "--notify", url)
        assert done.exit_code == 0, done.stderr
        assert TOKEN not in done.stdout + done.stderr
        assert "notifying json://<redacted> on regression" in done.stderr
    assert TOKEN not in crontab(sandbox) and "--notify @" in crontab(sandbox)
    units = sandbox["home"] / ".config" / "systemd" / "user"
    assert all(TOKEN not in p.read_text() for p in units.iterdir())
    (stored,) = config.iterdir()
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600 and url in stored.read_text()
    listed = run(sandbox, "schedule", "--list", "--backend", "cron")
    assert TOKEN not in listed.stdout + listed.stderr
    assert run(sandbox, "unschedule", sandbox["setup"], "--backend", "cron").exit_code == 0
    assert not stored.exists()
    # scheduled again without --notify: no targets file is left behind
    for args in (("--notify", url), ()):
        assert run(sandbox, "schedule", sandbox["setup"], "--every", "weekly", "--backend",
                   "cron", *args).exit_code == 0
    assert not stored.exists() and "--notify" not in crontab(sandbox)


def test_scheduled_command_reads_the_targets_file(sandbox: dict[str, Any],  # noqa: F811
                                                  receiver: Receiver, tmp_path: Path) -> None:
    """Run the command the crontab line holds, as /bin/sh would, and see it notify."""
    import shlex
    import subprocess
    import sys

    from audit.scheduling.cron import cron_unescape

    db = tmp_path / "scheduled.db"
    # A setup that fails the gate (a live script before its paper trading ended).
    Path(sandbox["setup"]).write_text((EXAMPLES / "maya-live.json").read_text())
    done = run(sandbox, "schedule", sandbox["setup"], "--every", "daily", "--backend", "cron",
               "--notify", receiver.url, "--notify-on", "always", "--history-db", str(db))
    assert done.exit_code == 0, done.stderr
    line = crontab(sandbox).splitlines()[0]
    words = shlex.split(cron_unescape(line.split(" # ibkr-audit:")[0]))[5:]
    assert words[0] == sys.executable
    env = {**os.environ, **sandbox["env"], "NO_PROXY": "127.0.0.1"}
    result = subprocess.run(words, capture_output=True, text=True, env=env, check=False,
                            cwd=str(Path(__file__).parent.parent))
    assert result.returncode == 1, result.stderr
    assert len(receiver.bodies) == 1 and "set up.json" in receiver.bodies[0]["json"]["title"]
    see_more = receiver.bodies[0]["json"]["message"].splitlines()[-1]
    assert shlex.split(see_more.removeprefix("See more: "))[-1] == sandbox["setup"]


def test_an_audit_that_cannot_run_is_always_news(receiver: Receiver, tmp_path: Path) -> None:
    broken = tmp_path / "setup.json"
    broken.write_text('{"schema_version": 1, "profile": {"residence": "US"}, "login": ')
    result = check(broken, tmp_path / "h.db", "--notify", receiver.url)
    assert result.exit_code == 2 and len(receiver.bodies) == 1
    sent = receiver.bodies[0]["json"]
    assert sent["title"] == "ibkr-audit ERROR: could not audit setup.json"
    assert "setup.json:1" in sent["message"] and "exited 2" in sent["message"]
    assert TOKEN not in json.dumps(sent)
    missing = check(tmp_path / "moved.json", tmp_path / "h.db", "--notify", receiver.url)
    assert missing.exit_code == 2 and len(receiver.bodies) == 2


def test_error_notification_keeps_planted_secrets_out(receiver: Receiver,
                                                      tmp_path: Path) -> None:
    invalid = tmp_path / "planted.json"
    doc = json.loads(PLANTED.read_text())
    doc["login"]["password"]["unique"] = "Tr0ub4dor&3-plain"  # a type error quoting a secret
    doc["bogus"] = "sk_live_51Hq9xyzSECRETVALUE"
    invalid.write_text(json.dumps(doc, indent=2))
    result = check(invalid, tmp_path / "h.db", "--notify", receiver.url)
    assert result.exit_code == 2 and len(receiver.bodies) == 1
    payload = json.dumps(receiver.bodies[0]["json"])
    assert "/login/password/unique" in payload
    for secret in [*PLANTED_VALUES, TOKEN]:
        assert secret not in payload, secret
