"""Promises that hold under attack (issue 14): every class of the red-team run, pinned.

Each test names the class it pins; docs/reliability.md lists them. Subprocess tests
run the real entry point (signals, closed or full streams, prompts at end of input).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AS_OF, EXAMPLES, ROOT, invoke, load_example

MAYA = str(EXAMPLES / "maya-live.json")  # a setup that fails a high check: exit 1
MINIMAL_TEXT = json.dumps(load_example("minimal"))


def _with_member(text: str, raw_member: str) -> str:
    """The minimal setup with one more member spelt exactly as ``raw_member``."""
    return text[:-1] + ", " + raw_member + "}"


def run_cli(*args: str, stdin: Any = subprocess.DEVNULL, env: dict[str, str] | None = None,
            cwd: Path | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "audit", *args], stdin=stdin,
                          capture_output=True, text=True, check=False, cwd=cwd or ROOT,
                          env={**os.environ, "NO_COLOR": "1", **(env or {})}, **kw)


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert lines and lines[0].startswith("ibkr-audit: error: "), stderr
    return lines[0]


# ----------------------------------------------------------------------- numbers and text


@pytest.mark.parametrize("member, pointer, message", [
    ('"x-big": ' + "9" * 5000, "/x-big", "integer has 5,000 digits"),
    ('"x-neg": -' + "9" * 4400, "/x-neg", "integer has 4,400 digits"),
    ('"x-n": 1e400', "/x-n", "too large for a JSON number"),
    ('"x-n": -1.5E+999', "/x-n", "too large for a JSON number"),
])
def test_huge_numbers_in_a_setup_are_input_errors(member: str, pointer: str, message: str,
                                                  write_setup: Any) -> None:
    path = write_setup(_with_member(MINIMAL_TEXT, member))
    for fmt in ("text", "json"):
        run = invoke("check", str(path), "-f", fmt)
        assert run.exit_code == 2, run.stderr
        line = one_error_line(run.stderr)
        assert f"{path}:1: {pointer}: " in line and message in line
        assert run.stdout == ""


def test_a_4300_digit_schema_version_is_an_input_error(write_setup: Any) -> None:
    path = write_setup(MINIMAL_TEXT.replace('"schema_version": 1', '"schema_version": '
                                            + "1" * 4300))
    run = invoke("check", str(path))
    assert run.exit_code == 2 and "/schema_version: integer has 4,300 digits" in run.stderr


def test_huge_numbers_on_stdin_in_waivers_and_in_checklists(tmp_path: Path) -> None:
    run = invoke("check", "-", input=_with_member(MINIMAL_TEXT, '"x-big": ' + "7" * 5000))
    assert run.exit_code == 2 and "<stdin>:1: /x-big: integer has 5,000" in run.stderr
    waivers = tmp_path / "waivers.json"
    waivers.write_text('{"waivers": [], "x": ' + "1" * 5000 + "}")
    run = invoke("check", MAYA, "--waivers", str(waivers))
    assert run.exit_code == 2 and "/x: integer has 5,000 digits" in run.stderr
    lists = tmp_path / "lists.json"
    lists.write_text('{"title": "t", "checks": [], "x": ' + "1" * 5000 + "}")
    run = invoke("check", MAYA, "--checklist", str(lists))
    assert run.exit_code == 2 and "/x: integer has 5,000 digits" in run.stderr


def test_a_checklist_date_window_beyond_the_calendar_does_not_overflow(tmp_path: Path) -> None:
    lists = tmp_path / "lists.json"
    lists.write_text(json.dumps({"title": "Far", "checks": [{
        "id": "FAR-001", "title": "Reviewed at some point", "area": "cadence",
        "severity": "low", "severity_reason": "test", "description": "test",
        "pass_if": {"fact": "/profile/reviewed_on", "within_days": 10**12},
        "remediation": "Review it.",
        "reference": {"section": "Practical signposts: what to do next",
                      "passage": "Revisit the interface choice and safeguards as your needs "
                                     "change."}}]}))
    run = invoke("check", MAYA, "--checklist", str(lists), "--only", "FAR-001",
                 "-f", "json", "--as-of", AS_OF)
    assert run.exit_code in (0, 1), run.stderr
    finding = json.loads(run.stdout)["findings"][0]
    assert "on or after 0001-01-01" in json.dumps(finding)


@pytest.mark.parametrize("args, message", [
    (("--as-of", "0001-01-01"), "out of range"),
    (("--as-of", "9999-12-31"), "out of range"),
    (("--max-review-age", "99999999999"), "is not in the range"),
    (("--max-backup-test-age", "99999999999"), "is not in the range"),
    (("--param", "max_review_age_days=99999999999"), "value must be between"),
    (("--param", "max_review_age_days=1.5e999"), "value must be between"),
    (("--param", "max_review_age_days=" + "9" * 5000), "value must be a number"),
    (("--max-bytes", "9" * 40), "is not in the range"),
])
def test_out_of_range_cli_values_are_usage_errors(args: tuple[str, ...], message: str) -> None:
    run = invoke("check", MAYA, *args)
    assert run.exit_code == 2, run.stderr
    assert message in one_error_line(run.stderr)


def test_out_of_range_run_ids_and_source_date_epoch() -> None:
    for args in (("diff", "99999999999999999999999"), ("history", "--limit", "9" * 30)):
        run = invoke(*args)
        assert run.exit_code == 2 and "is not in the range" in one_error_line(run.stderr)
    for epoch in ("99999999999999999", "9" * 5000):
        run = invoke("check", MAYA, env={"SOURCE_DATE_EPOCH": epoch})
        assert run.exit_code == 2
        assert "SOURCE_DATE_EPOCH=" in one_error_line(run.stderr) and len(run.stderr) < 300


def test_every_json_the_tool_writes_is_strict(write_setup: Any) -> None:
    def strict(text: str) -> Any:
        def refuse(name: str) -> Any:
            raise AssertionError(f"{name} in output")
        return json.loads(text, parse_constant=refuse)

    path = write_setup({**load_example("maya-live"), "x-big": 1.7976931348623157e308})
    for fmt in ("json", "sarif", "jsonl"):
        run = invoke("check", str(path), "-f", fmt, "--as-of", AS_OF, "--fail-on", "never")
        assert run.exit_code == 0, run.stderr
        for chunk in (run.stdout.splitlines() if fmt == "jsonl" else [run.stdout]):
            strict(chunk)


# ------------------------------------------------------------------- usage and the streams


@pytest.mark.parametrize("args, first, hint", [
    (("check", MAYA, "--jobs", "0"), "'--jobs'", "Try 'ibkr-audit check --help'."),
    (("check", MAYA, "--no-such-option"), "--no-such-option", "Try 'ibkr-audit check --help'."),
    (("chek", MAYA), "no such command 'chek'; did you mean 'check'?",
     "Try 'ibkr-audit --help'."),
    (("history", "--limit", "x"), "'--limit'", "Try 'ibkr-audit history --help'."),
])
def test_usage_errors_use_the_house_style(args: tuple[str, ...], first: str, hint: str) -> None:
    run = invoke(*args)
    assert run.exit_code == 2
    lines = run.stderr.splitlines()
    assert len(lines) == 2, run.stderr
    assert lines[0].startswith("ibkr-audit: error: ") and first in lines[0]
    assert lines[1] == hint
    assert "Usage:" not in run.stderr and "Error:" not in run.stderr


def test_debug_after_the_subcommand_and_the_debug_variable() -> None:
    from audit.cli.main import _split_debug

    assert invoke("check", MAYA, "--as-of", AS_OF, "--debug").exit_code == 1
    assert invoke("--debug", "check", MAYA, "--as-of", AS_OF).exit_code == 1
    assert _split_debug(["check", "x.json", "--debug"]) == (["check", "x.json"], True)
    assert _split_debug(["check", "--", "--debug"]) == (["check", "--", "--debug"], False)
    for value, expected in (("0", False), ("", False), ("no", False), ("1", True),
                            ("true", True), ("YES", True)):
        os.environ["IBKR_AUDIT_DEBUG"] = value
        try:
            assert _split_debug(["check"])[1] is expected, value
        finally:
            del os.environ["IBKR_AUDIT_DEBUG"]


@pytest.mark.parametrize("args", [
    ("init", "{dir}/x.json"),
    ("drill", "--enroll", "backup"),
    ("credentials", "set", "--service", "ibkr", "--username", "me"),
])
def test_prompts_at_the_end_of_input_say_what_to_do(args: tuple[str, ...],
                                                    tmp_path: Path) -> None:
    argv = [a.format(dir=tmp_path) for a in args]
    proc = run_cli(*argv, env={"PYTHON_KEYRING_BACKEND": "tests.fake_keyring.MemoryKeyring"})
    assert proc.returncode == 2, proc.stderr
    assert "needs a terminal" in proc.stderr and "--non-interactive" in proc.stderr
    assert "Warning" not in proc.stderr and "interrupted" not in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x.json").exists()
    if args[0] == "init":  # init has no --stdin: the hint names what does work
        assert "--example" in proc.stderr and "--stdin" not in proc.stderr
    assert proc.stdout.endswith("\n") or not proc.stdout


def test_a_bare_command_prints_the_help_and_succeeds() -> None:
    proc = run_cli()
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: ibkr-audit") and "check" in proc.stdout
    assert proc.stderr == ""


def test_unencodable_output_is_escaped_never_a_crash(write_setup: Any) -> None:
    doc = load_example("maya-live")
    doc["devices"][0]["name"] = "lap\ud800top"
    path = write_setup(json.dumps(doc))  # ensure_ascii keeps the lone surrogate as \\ud800
    for fmt in ("text", "json", "markdown", "sarif", "junit", "jsonl"):
        proc = run_cli("check", str(path), "-f", fmt, "--as-of", AS_OF)
        assert proc.returncode == 1, (fmt, proc.stderr)
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    proc = run_cli("check", str(path), "-f", "json", "--as-of", AS_OF)
    # Escaped (\ud800) or replaced (?) on the way out, never a crash; JSON stays valid.
    assert "lap\\ud800top" in proc.stdout or "lap?top" in proc.stdout
    json.loads(proc.stdout)
    latin = run_cli("check", MAYA, "--as-of", AS_OF, env={"PYTHONIOENCODING": "latin-1"},
                    errors="replace")
    assert latin.returncode == 1 and "Traceback" not in latin.stderr, latin.stderr
    out = write_setup("{}", name="report-target.json").parent / "r.json"
    assert invoke("check", str(path), "-f", "json", "-o", str(out)).exit_code == 1
    written = out.read_text()
    assert "lap\\ud800top" in written or "lap?top" in written
    json.loads(written)


def test_closed_and_full_standard_streams(tmp_path: Path) -> None:
    closed = subprocess.run([sys.executable, "-m", "audit", "check", MAYA, "--as-of", AS_OF],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            check=False, cwd=ROOT, close_fds=True,
                            preexec_fn=lambda: os.close(1))
    assert closed.returncode == 2
    assert "standard output is closed" in one_error_line(closed.stderr)
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    for fmt in ("text", "json"):
        with open("/dev/full", "w") as full:
            proc = subprocess.run([sys.executable, "-m", "audit", "check", MAYA, "-f", fmt],
                                  stdout=full, stderr=subprocess.PIPE, text=True, check=False,
                                  cwd=ROOT)
        assert proc.returncode == 2
        assert "cannot write to standard output: No space left" in one_error_line(proc.stderr)
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "audit", "check", "/no/such.json"],
                              stdout=subprocess.PIPE, stderr=full, text=True, check=False,
                              cwd=ROOT)
    assert proc.returncode == 2 and proc.stdout == ""


# ------------------------------------------------------------------ where the tool writes


def test_output_never_replaces_a_device_fifo_or_directory(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    for target in ("/dev/null", str(fifo), str(tmp_path)):
        before = Path(target).stat()
        run = invoke("check", MAYA, "--as-of", AS_OF, "-o", target)
        assert run.exit_code == 2, target
        assert target in one_error_line(run.stderr)
        after = Path(target).stat()
        assert (after.st_ino, stat.S_IFMT(after.st_mode)) == (before.st_ino,
                                                              stat.S_IFMT(before.st_mode))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.json"]  # no temp file left


def test_output_equal_to_an_input_is_refused(tmp_path: Path) -> None:
    setup = tmp_path / "setup.json"
    setup.write_text(Path(MAYA).read_text())
    waivers = tmp_path / "waivers.json"
    waivers.write_text('{"waivers": []}')
    for output, extra in ((str(setup), ()), (f"{tmp_path}/../{tmp_path.name}/setup.json", ()),
                          (str(waivers), ("--waivers", str(waivers)))):
        run = invoke("check", str(setup), *extra, "-o", output, "-f", "json")
        assert run.exit_code == 2 and "is also an input" in one_error_line(run.stderr)
    assert setup.read_text() == Path(MAYA).read_text()
    assert waivers.read_text() == '{"waivers": []}'


def test_a_file_name_longer_than_the_system_allows_is_exit_2(tmp_path: Path) -> None:
    long_name = str(tmp_path / ("a" * 300 + ".json"))
    run = invoke("check", MAYA, "--as-of", AS_OF, "-o", long_name)
    assert run.exit_code == 2 and "File name too long" in one_error_line(run.stderr)
    run = invoke("init", long_name, "--non-interactive", "--example", "minimal")
    assert run.exit_code == 2, run.stderr
    # A name that just fits is written: the temp name is kept short.
    fits = tmp_path / ("b" * 250 + ".json")
    assert invoke("check", MAYA, "--as-of", AS_OF, "-o", str(fits)).exit_code == 1
    assert fits.stat().st_size > 0
    for args in (("check", long_name), ("check", MAYA, "--checklist", long_name),
                 ("check", MAYA, "--ibc", long_name), ("check", MAYA, "--waivers", long_name),
                 ("import", "ibc", long_name), ("history", "--history-db", long_name),
                 ("remediate", MAYA, "-o", long_name)):
        run = invoke(*args)
        assert run.exit_code == 2, (args, run.stderr)
        assert "File name too long" in one_error_line(run.stderr), args


# ----------------------------------------------------------------------------- fleet mode


def _fleet_dir(tmp_path: Path, count: int = 3) -> Path:
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    text = Path(MAYA).read_text()
    for index in range(count):
        (fleet / f"s{index:05d}.json").write_text(text)
    return fleet


def test_fleet_skips_and_reports_fifos(tmp_path: Path) -> None:
    fleet = _fleet_dir(tmp_path)
    os.mkfifo(fleet / "x.json")
    proc = run_cli("check", str(fleet), "--as-of", AS_OF, "-j", "2", timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert f"{fleet / 'x.json'}: skipped: not a regular file" in proc.stderr
    assert "3 setups audited, 1 invalid" in proc.stdout


def test_fleet_reports_an_unreadable_subdirectory(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fleet = _fleet_dir(tmp_path)
    hidden = fleet / "hidden"
    hidden.mkdir()
    (hidden / "bad.json").write_text("{")
    if os.geteuid() == 0:  # root reads anything: make the directory fail to list
        real_scandir = os.scandir

        def scandir(path: Any = ".") -> Any:
            if Path(path) == hidden:
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        monkeypatch.setattr(os, "scandir", scandir)
    else:
        hidden.chmod(0)
    try:
        run = invoke("check", str(fleet), "--as-of", AS_OF, "-j", "1")
    finally:
        hidden.chmod(0o700)
    assert run.exit_code == 2
    assert f"{hidden}: cannot read directory: Permission denied" in run.stderr
    assert "3 setups audited, 1 invalid" in run.stdout


def test_an_internal_error_in_one_file_does_not_sink_the_fleet(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from audit import fleet as fleet_module

    fleet = _fleet_dir(tmp_path, 4)
    real = fleet_module.audit_file

    def flaky(path: str, *args: Any, **kw: Any) -> Any:
        if path.endswith("s00002.json"):
            raise RuntimeError("boom")
        return real(path, *args, **kw)

    monkeypatch.setattr(fleet_module, "audit_file", flaky)
    run = invoke("check", str(fleet), "--as-of", AS_OF, "-j", "1", "-f", "json")
    assert run.exit_code == 3
    reports = json.loads(run.stdout)  # still one valid JSON array
    assert len(reports) == 3
    assert "s00002.json: internal error: RuntimeError: boom" in run.stderr


def test_an_existing_path_is_literal_even_with_glob_characters(tmp_path: Path) -> None:
    literal = tmp_path / "client[1].json"
    literal.write_text(Path(MAYA).read_text())
    (tmp_path / "client1.json").write_text("{")  # what the glob would match instead
    run = invoke("check", str(literal), "--as-of", AS_OF, "-f", "json")
    assert run.exit_code == 1, run.stderr
    assert json.loads(run.stdout)["setup"] == str(literal)


def test_stdin_is_read_in_fleet_mode_with_jobs(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text(Path(MAYA).read_text())
    proc = run_cli("check", "-", str(other), "--jobs", "2", "-f", "jsonl", "--as-of", AS_OF,
                   stdin=None, input=Path(MAYA).read_text(), timeout=60)
    assert proc.returncode == 1, proc.stderr
    setups = sorted(json.loads(line)["setup"] for line in proc.stdout.splitlines())
    assert setups == sorted(["<stdin>", str(other)])


@pytest.mark.parametrize("signum, code, word", [(signal.SIGINT, 130, "interrupted"),
                                                (signal.SIGTERM, 143, "terminated")])
def test_signals_during_a_fleet_run(tmp_path: Path, signum: int, code: int, word: str) -> None:
    fleet = _fleet_dir(tmp_path, 6000)
    out = tmp_path / "out.json"
    out.write_text("old report")
    proc = subprocess.Popen([sys.executable, "-m", "audit", "check", str(fleet), "-j", "2",
                             "-f", "json", "-o", str(out), "--as-of", AS_OF],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    time.sleep(0.3)  # the workers are busy now
    # Ctrl-C reaches the whole process group; a SIGTERM (kill, systemd) only the parent.
    if signum == signal.SIGINT:
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.strip().splitlines() == [f"ibkr-audit: {word}"], err
    assert out.read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet", "out.json"]


# ------------------------------------------------------------------------------ history


def _record(setup: str, db: Path | str, *extra: str, cwd: Path | None = None) -> Any:
    return invoke("check", setup, "--as-of", AS_OF, "--record", "--history-db", str(db),
                  *extra)


def test_history_db_that_is_a_directory_or_a_link_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "dir.db"
    directory.mkdir(mode=0o755)
    run = _record(MAYA, directory)
    assert run.exit_code == 2 and "not a regular file" in one_error_line(run.stderr)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o755  # never chmod-ed
    target = tmp_path / "real.db"
    target.write_bytes(b"")
    target.chmod(0o644)
    link = tmp_path / "link.db"
    link.symlink_to(target)
    run = _record(MAYA, link)
    assert run.exit_code == 2 and "symbolic link" in one_error_line(run.stderr)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644 and target.read_bytes() == b""


def test_damaged_foreign_and_locked_databases_are_exit_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from audit.history import store

    db = tmp_path / "h.db"
    assert _record(MAYA, db).exit_code == 1
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE notes (a)")
        conn.execute(f"PRAGMA user_version = {len(store.MIGRATIONS)}")
    run = invoke("history", "--history-db", str(foreign))
    assert run.exit_code == 2 and "not an ibkr-audit history" in one_error_line(run.stderr)
    # Damage every page but the first (the schema): opening works, reading does not.
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = b"\xff" * (len(data) - page)
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(bytes(data))
    for args in (("history",), ("diff", "1", "1")):
        run = invoke(*args, "--history-db", str(damaged))
        assert run.exit_code == 2, run.stderr
        line = one_error_line(run.stderr)
        assert "damaged" in line or "not a usable" in line
    # A row another program wrote: evidence that is not JSON.
    tampered = tmp_path / "tampered.db"
    tampered.write_bytes(db.read_bytes())
    with sqlite3.connect(tampered) as conn:
        conn.execute("UPDATE findings SET evidence = '{not json'")
    run = invoke("diff", "1", "1", "--history-db", str(tampered))
    assert run.exit_code == 2 and "did not write" in one_error_line(run.stderr)
    # A lock held longer than the busy timeout.
    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        run = _record(MAYA, db)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert run.exit_code == 2
    assert "locked by another process" in one_error_line(run.stderr)


def test_diff_from_another_directory_and_unknown_run_ids(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "s.json").write_text(Path(MAYA).read_text())
    db = tmp_path / "h.db"
    monkeypatch.chdir(work)
    assert _record("s.json", db).exit_code == 1
    assert _record("s.json", db).exit_code == 1
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    run = invoke("diff", "1", "--history-db", str(db), "-f", "json")
    assert run.exit_code == 0, run.stderr
    listed = json.loads(invoke("history", "--history-db", str(db), "-f", "json").stdout)
    assert {r["setup"] for r in listed} == {str(work / "s.json")}  # stored absolute
    for args in (("diff", "7"), ("diff", "1", "7"), ("diff", "7", "1")):
        run = invoke(*args, "--history-db", str(db))
        assert run.exit_code == 2 and "no run 7" in one_error_line(run.stderr)


def test_record_with_undecodable_names_and_lone_surrogates(tmp_path: Path) -> None:
    doc = load_example("maya-live")
    doc["devices"][0]["name"] = "lap\ud800top"
    name = os.fsdecode(b"\xff-setup.json")
    (tmp_path / name).write_text(json.dumps(doc))
    db = tmp_path / "h.db"
    proc = run_cli("check", name, "--record", "--history-db", str(db), "--as-of", AS_OF,
                   cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    listing = run_cli("history", "--history-db", str(db), cwd=tmp_path)
    assert listing.returncode == 0 and "\\xff-setup.json" in listing.stdout
    assert run_cli("diff", "1", "--history-db", str(db), cwd=tmp_path).returncode == 0


# ------------------------------------------------------------------------- config files

CONFIGS = Path(__file__).resolve().parent / "assets" / "configs"


def _limited_memory() -> None:  # runs in the child: 400 MiB of address space at most
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (400 * 1024 * 1024, 400 * 1024 * 1024))


def _alias_bomb() -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text


@pytest.mark.parametrize("text, message", [
    (_alias_bomb(), "anchors and aliases (&, *) are not accepted"),
    ("x: &keep 1\ny: *keep\n", "anchors and aliases"),
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nest"),
    ("".join(" " * i + f"k{i}:\n" for i in range(600)), "nested deeper than 32 levels"),
    ("ips:\n  allow: [" + ",".join(["1"] * 60_000) + "]\n", "more than 5,000 values"),
])
def test_hostile_gateway_yaml_is_refused_within_bounds(text: str, message: str,
                                                       tmp_path: Path) -> None:
    conf = tmp_path / "conf.yaml"
    conf.write_text(text)
    for args in (("import", "gateway", str(conf)),
                 ("check", MAYA, "--gateway-conf", str(conf))):
        proc = run_cli(*args, preexec_fn=_limited_memory, timeout=60)
        assert proc.returncode == 2, proc.stderr
        line = one_error_line(proc.stderr)
        assert str(conf) in line and message in line


def test_an_oversized_config_file_gets_advice_that_applies(tmp_path: Path) -> None:
    big = tmp_path / "config.ini"
    big.write_text("# padding\n" * 120_000)
    for args in (("check", MAYA, "--ibc", str(big)), ("import", "ibc", str(big))):
        run = invoke(*args)
        assert run.exit_code == 2
        line = one_error_line(run.stderr)
        assert "larger than 1,048,576 bytes" in line and "--max-bytes" not in line


def test_concurrent_imports_into_one_setup_lose_no_update(tmp_path: Path) -> None:
    """A writer that holds the lock (as another import would) and replaces the file:
    the waiting import must merge into the new file, not into what it saw first."""
    import fcntl

    setup = tmp_path / "setup.json"
    setup.write_text(Path(MAYA).read_text())
    with setup.open() as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        seen = held.read()
        proc = subprocess.Popen([sys.executable, "-m", "audit", "import", "ibc",
                                 str(CONFIGS / "ibc-unsafe.ini"), "--into", str(setup)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
        time.sleep(1.5)  # not an assertion: gives an unlocked import the time to write
        replacement = tmp_path / "next.json"
        replacement.write_text(seen[:-2] + ',\n  "x-note": "written under the lock"\n}\n')
        replacement.replace(setup)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    merged = json.loads(setup.read_text())
    assert merged["x-note"] == "written under the lock"
    assert merged["automation"]["credentials"]["storage"] == "plaintext_file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["setup.json"]


# ----------------------------------------------------------------------------- big files


def test_schema_problems_stop_after_a_cap_and_say_so(write_setup: Any) -> None:
    doc: dict[str, Any] = load_example("minimal")
    doc.update({f"unknown{i:04d}": i for i in range(500)})
    run = invoke("check", str(write_setup(doc)))
    assert run.exit_code == 2
    lines = run.stderr.splitlines()
    assert len(lines) == 101 and "Traceback" not in run.stderr
    assert "/unknown0000: unknown key" in lines[0]
    assert lines[-1].endswith("stopped after the first 100 problems; fix these and run again "
                              "to see the rest")


def test_an_object_with_more_keys_than_max_items_is_refused_before_the_schema(
        write_setup: Any) -> None:
    doc: dict[str, Any] = load_example("minimal")
    doc.update({f"u{i:06d}": 10 for i in range(20_000)})
    path = write_setup(doc)
    run = invoke("check", str(path))
    assert run.exit_code == 2
    assert one_error_line(run.stderr).endswith(
        f": (root): object has {len(doc):,} keys, more than the limit of 10,000 (raise it with "
        "--max-items)")
    assert len(run.stderr.splitlines()) == 1
    run = invoke("check", str(path), "--max-items", "100000")
    assert run.exit_code == 2 and len(run.stderr.splitlines()) == 101


def test_duplicate_keys_are_still_found_without_the_pairs_hook(write_setup: Any) -> None:
    path = write_setup('{"schema_version": 1, "profile": {"residence": "US", "residence": "GB"},'
                       '\n "x-a": {"k" : 1, "k": 2}}')
    run = invoke("check", str(path))
    assert run.exit_code == 2
    assert ":1: /profile/residence: duplicate key" in run.stderr
    assert ":2: /x-a/k: duplicate key" in run.stderr
    same = write_setup('{"schema_version": 1, "profile": {"residence": "US"}, '
                       '"x-a": ["k", "k:", {"k": "k"}]}')
    assert invoke("check", str(same)).exit_code in (0, 1)


# ------------------------------------------------------------------------------ keyring


def test_a_keyring_backend_raising_oserror_makes_the_check_manual() -> None:
    import keyring
    from keyring.backend import KeyringBackend

    class BrokenBus(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def get_password(self, service: str, username: str) -> str | None:
            raise ConnectionRefusedError(111, "Connection refused")

        def set_password(self, service: str, username: str, password: str) -> None:
            raise OSError(5, "Input/output error")

        def delete_password(self, service: str, username: str) -> None:
            raise OSError(5, "Input/output error")

    keyring.set_keyring(BrokenBus())
    run = invoke("check", str(EXAMPLES / "secure.json"), "--as-of", AS_OF, "-f", "json",
                 "--check-keyring")
    assert run.exit_code == 0, run.stderr
    finding = next(f for f in json.loads(run.stdout)["findings"] if f["id"] == "AUTO-014")
    assert finding["status"] == "manual"
    assert "ConnectionRefusedError (Connection refused)" in json.dumps(finding)


def test_the_fast_validator_takes_integers_past_float_range() -> None:
    from audit.schema import _fast_validator, validate

    fast = _fast_validator("setup.schema.json")
    for version in (10**400, -(10**400), 1.0, 1):
        doc = {"schema_version": version, "profile": {"residence": "US"}}
        assert fast(doc) is (validate(doc) == [])


# Characters that pass str.isdigit() but that int() refuses (red team, round 3).
UNICODE_DIGITS = ("²", "٣٣", "¹²³")


@pytest.mark.parametrize("digits", UNICODE_DIGITS)
def test_unicode_digits_in_the_environment_are_never_an_internal_error(digits: str) -> None:
    for env in ({"SOURCE_DATE_EPOCH": digits}, {"COLUMNS": digits}):
        run = invoke("check", MAYA, "--format", "text", env=env)
        assert run.exit_code in (0, 1), (env, run.stderr)
        assert "internal error" not in run.stderr


@pytest.mark.parametrize("digits", UNICODE_DIGITS)
def test_unicode_digits_in_a_checklist_pointer_read_nothing(tmp_path: Path, digits: str) -> None:
    checklist = {"title": "digits", "checks": [{
        "id": "DIG-001", "title": "a device by a strange index", "area": "devices",
        "severity": "low", "description": "Reads /devices/" + digits + "/name.",
        "severity_reason": "test", "remediation": "none",
        "reference": {"section": "Test", "passage": "test"},
        "pass_if": {"fact": f"/devices/{digits}/name", "equals": "laptop"}}]}
    path = tmp_path / "digits.json"
    path.write_text(json.dumps(checklist), encoding="utf-8")
    run = invoke("check", MAYA, "--checklist", str(path), "--only", "DIG-001", "--format", "json")
    assert run.exit_code in (0, 1), run.stderr
    (finding,) = json.loads(run.stdout)["findings"]
    assert finding["status"] == "manual"  # nothing at that index: the fact is missing


def test_errors_after_a_deeply_nested_note_name_their_own_line(write_setup: Any) -> None:
    """The position scanner is iterative: 500 levels (allowed by --max-depth) used to stop
    a recursive scanner, and the error below was then placed on the profile's line."""
    deep = "[" * 500 + "]" * 500
    text = MINIMAL_TEXT.replace('"profile": {', '"profile": {\n    "x-deep": ' + deep + ",", 1)
    data = json.loads(text)
    data["profile"]["paper_account"] = "yes"  # wrong type, written after the deep note
    lines = json.dumps(data, indent=2).replace("[\n" + " " * 6, "[").splitlines()
    path = write_setup("\n".join(lines))
    expected = next(n for n, line in enumerate(lines, 1) if '"paper_account"' in line)
    run = invoke("check", str(path), "--max-depth", "1000")
    assert run.exit_code == 2, run.stderr
    assert f":{expected}:" in one_error_line(run.stderr)
    assert "/profile/paper_account" in run.stderr
