"""Fleet mode: directories and globs, parallel workers, streaming formats, summary."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AS_OF, EXAMPLES, invoke


@pytest.fixture
def fleet_dir(tmp_path: Path) -> Path:
    root = tmp_path / "clients"
    (root / "family").mkdir(parents=True)
    for i in range(6):
        (root / f"maya{i}.json").write_text((EXAMPLES / "maya-live.json").read_text())
        (root / "family" / f"secure{i}.json").write_text((EXAMPLES / "secure.json").read_text())
    (root / "family" / "broken.json").write_text('{"schema_version": 1,')
    (root / "notes.txt").write_text("not a setup")
    return root


def run(*args: str) -> Any:
    return invoke("check", "--as-of", AS_OF, *args)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_jsonl_streams_one_report_per_valid_file(fleet_dir: Path, jobs: str) -> None:
    result = run(str(fleet_dir), "--jobs", jobs, "-f", "jsonl", "-q")
    assert result.exit_code == 2  # one file was invalid: reported, and the run went on
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(reports) == 12
    assert sorted(Path(r["setup"]).name for r in reports) == sorted(
        [f"maya{i}.json" for i in range(6)] + [f"secure{i}.json" for i in range(6)])
    assert "broken.json" in result.stderr


def test_text_summary(fleet_dir: Path) -> None:
    result = run(str(fleet_dir), "--jobs", "2")
    assert result.exit_code == 2
    out = result.stdout
    assert "Fleet summary: 12 setups audited, 1 invalid" in out
    assert "6 failed the gate" in out
    assert "      6  AUTO-002" in out
    assert "The 6 worst setups:" in out and "secure" not in out.split("worst setups:")[1]
    assert "Invalid files (1):" in out and "broken.json:1:" in out
    assert out.count("FAIL  high") == 6 and out.count("ok    -") == 6
    quiet = run(str(fleet_dir), "--jobs", "2", "-q").stdout
    assert "ok    -" not in quiet and quiet.count("FAIL  high") == 6


def test_globs_and_exit_codes(fleet_dir: Path) -> None:
    result = run(str(fleet_dir / "family" / "secure*.json"), "-f", "jsonl")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 6
    result = run(str(fleet_dir / "**" / "maya*.json"), "-f", "jsonl")
    assert result.exit_code == 1 and len(result.stdout.splitlines()) == 6
    result = run(str(fleet_dir / "nothing*.json"))
    assert result.exit_code == 2 and "no *.json setup files found" in result.stderr


def test_json_is_one_streamed_array(fleet_dir: Path) -> None:
    result = run(str(fleet_dir / "family"), "--jobs", "2", "-f", "json")
    data = json.loads(result.stdout)
    assert isinstance(data, list) and len(data) == 6
    assert all(r["summary"]["fail"] == 0 for r in data)


def test_fleet_output_file_is_atomic_and_private(fleet_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "fleet.jsonl"
    result = run(str(fleet_dir), "-f", "jsonl", "-o", str(out), "-q")
    assert result.exit_code == 2 and result.stdout == ""
    assert len(out.read_text().splitlines()) == 12
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clients", "fleet.jsonl"]


def test_fleet_refuses_formats_that_need_all_reports(fleet_dir: Path) -> None:
    for fmt in ("sarif", "junit"):
        result = run(str(fleet_dir), "-f", fmt)
        assert result.exit_code == 2 and "needs explicit setup files" in result.stderr
    result = run(str(fleet_dir), "--record")
    assert result.exit_code == 2 and "explicit setup files" in result.stderr


def test_jsonl_for_explicit_files_too() -> None:
    result = run(str(EXAMPLES / "maya-live.json"), str(EXAMPLES / "secure.json"), "-f", "jsonl")
    assert result.exit_code == 1
    assert [json.loads(line)["summary"]["fail"] for line in result.stdout.splitlines()] in (
        [8, 0], [0, 8])


def test_statuses_without_evidence_match_the_full_evaluation() -> None:
    """Fleet text mode skips evidence; the statuses must be exactly the same."""
    import datetime as dt
    from dataclasses import replace

    from audit.engine import checklist
    from audit.engine.evaluate import Options, evaluate
    from audit.loading import load_setup

    lists = checklist.load()
    full = Options(as_of=dt.date(2026, 11, 25))
    lean = replace(full, keep_evidence=False)
    for name in ("maya", "secure", "minimal"):
        setup = load_setup(str(EXAMPLES / f"{name}.json"))
        with_evidence = evaluate(setup, lists, full)
        without = evaluate(setup, lists, lean)
        assert [(f.id, f.item, f.status) for f in with_evidence] == [
            (f.id, f.item, f.status) for f in without]
        assert all(f.evidence == () for f in without)
        assert all(f.evidence for f in with_evidence)


def test_waivers_file_applies_in_fleet_mode(fleet_dir: Path, tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.json"
    waivers.write_text(json.dumps({"waivers": [
        {"check": "AUTO-002", "reason": "dry-run orders only", "expires": "2026-12-31"}]}))
    result = run(str(fleet_dir / "maya*.json"), "-f", "jsonl", "--waivers", str(waivers))
    assert result.exit_code == 0  # the only high failure is waived in every setup
    statuses = {next(f["status"] for f in json.loads(line)["findings"] if f["id"] == "AUTO-002")
                for line in result.stdout.splitlines()}
    assert statuses == {"waived"}


class _CountingPaths(list[str]):
    """The file list, counting how many chunks the fleet's feed has handed out."""

    handed_out = 0

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            self.handed_out += 1
        return super().__getitem__(index)


class _SlowReader:
    """Stands in for a pipe whose reader lags: every write waits a little, and records
    how many chunks were out beyond those already written when it was called."""

    def __init__(self, paths: _CountingPaths, pause: float = 0.002) -> None:
        self.paths, self.pause = paths, pause
        self.lines: list[str] = []
        self.ahead: list[int] = []

    def write(self, text: str) -> int:
        import time

        self.ahead.append(self.paths.handed_out - len(self.lines))
        time.sleep(self.pause)  # slowness only; nothing asserts on time
        self.lines.append(text)
        return len(text)


def _fleet_job(fmt: str) -> Any:
    import datetime as dt

    from audit import fleet
    from audit.engine import checklist
    from audit.engine.evaluate import Options
    from audit.loading import Limits
    from audit.reports import RenderOptions

    lists = checklist.load()
    return fleet.Job(lists, lists.checks, Options(as_of=dt.date(2026, 11, 25)), Limits(), fmt,
                     RenderOptions())


@pytest.mark.parametrize("window", [1, 3])
def test_fleet_keeps_a_bounded_number_of_chunks_in_flight(tmp_path: Path, window: int) -> None:
    from audit import fleet

    text = (EXAMPLES / "maya.json").read_text()
    paths = _CountingPaths()
    for i in range(120):
        path = tmp_path / f"maya{i:03d}.json"
        path.write_text(text)
        paths.append(str(path))
    reader = _SlowReader(paths)
    summary, _elapsed = fleet.run(paths, _fleet_job("jsonl"), 2, reader, False, chunk=1,
                                  window=window)
    assert summary.audited == 120 and len(reader.lines) == 120
    assert sorted(json.loads(line)["setup"] for line in reader.lines) == sorted(paths)
    # However slow the reader, the workers never get more than `window` chunks ahead.
    assert max(reader.ahead) <= window, reader.ahead
    assert 1 <= summary.peak_in_flight <= window
    assert paths.handed_out == 120


def test_fleet_stops_cleanly_when_the_writer_fails(tmp_path: Path) -> None:
    """A closed pipe mid-run ends the run with that error; the blocked feed is released."""
    from audit import fleet

    text = (EXAMPLES / "secure.json").read_text()
    paths = []
    for i in range(60):
        path = tmp_path / f"secure{i:02d}.json"
        path.write_text(text)
        paths.append(str(path))

    class Closing:
        writes = 0

        def write(self, text: str) -> int:
            self.writes += 1
            if self.writes == 3:
                raise BrokenPipeError("reader went away")
            return len(text)

    with pytest.raises(BrokenPipeError):
        fleet.run(paths, _fleet_job("jsonl"), 2, Closing(), False, chunk=1, window=2)
    # A wide window: many reports still in flight when the writer fails are collected
    # and dropped before the pool shuts down (left in its result pipe, they could hang
    # the shutdown), and no worker outlives the run.
    for _ in range(3):
        with pytest.raises(BrokenPipeError):
            fleet.run(paths, _fleet_job("jsonl"), 2, Closing(), False, chunk=1, window=16)
    import multiprocessing

    assert multiprocessing.active_children() == []


def _rejoined(lines: list[str]) -> dict[str, Any]:
    """jsonl-compact lines joined back to full reports, by setup path."""
    catalog = json.loads(lines[0])
    assert set(catalog) == {"tool", "version", "schema_version", "checks"}
    reports = {}
    for line in lines[1:]:
        report = json.loads(line)
        for finding in report["findings"]:
            static = catalog["checks"][finding["id"]]
            for key in ("title", "area", "remediation", "reference"):
                if key in finding:  # only where this setup's text differs from the catalogue
                    assert finding[key] != static[key], (finding["id"], key)
                else:
                    finding[key] = static[key]
        reports[report["setup"]] = report
    return reports


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_jsonl_compact_sends_static_text_once_and_loses_nothing(fleet_dir: Path,
                                                                jobs: str) -> None:
    env = {"SOURCE_DATE_EPOCH": "1764028800"}
    full = invoke("check", "--as-of", AS_OF, str(fleet_dir), "--jobs", jobs, "-f", "jsonl", "-q",
                  env=env)
    compact = invoke("check", "--as-of", AS_OF, str(fleet_dir), "--jobs", jobs, "-f",
                     "jsonl-compact", "-q", env=env)
    assert compact.exit_code == full.exit_code == 2  # the broken file, reported the same way
    lines = compact.stdout.splitlines()
    assert len(lines) == 13  # the catalogue, then one line per valid setup
    expected = {r["setup"]: r for r in map(json.loads, full.stdout.splitlines())}
    assert _rejoined(lines) == expected
    # Key order of a finding aside, the full and the compact forms hold the same data;
    # the compact one is much smaller.
    assert len(compact.stdout) < 0.6 * len(full.stdout)


def test_jsonl_compact_for_explicit_files(tmp_path: Path) -> None:
    env = {"SOURCE_DATE_EPOCH": "1764028800"}
    files = [str(EXAMPLES / "maya.json"), str(EXAMPLES / "secure.json")]
    compact = invoke("check", "--as-of", AS_OF, *files, "-f", "jsonl-compact", env=env)
    full = invoke("check", "--as-of", AS_OF, *files, "-f", "jsonl", env=env)
    assert compact.exit_code == full.exit_code in (0, 1)
    expected = {r["setup"]: r for r in map(json.loads, full.stdout.splitlines())}
    assert _rejoined(compact.stdout.splitlines()) == expected


def test_jsonl_compact_streams_like_jsonl(tmp_path: Path) -> None:
    """Explicit files, one of them broken: both jsonl forms write the valid ones, exit 2."""
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema_version": 1,')
    for fmt, lines in (("jsonl", 1), ("jsonl-compact", 2)):
        result = run(str(EXAMPLES / "maya.json"), str(broken), "-f", fmt)
        assert result.exit_code == 2, fmt
        assert len(result.stdout.splitlines()) == lines, fmt
        assert "broken.json" in result.stderr
