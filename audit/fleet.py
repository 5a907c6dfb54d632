"""Fleet mode: audit many setups in parallel processes, streaming, in flat memory.

Workers audit one file each and render their own output; the parent only writes
what arrives and keeps bounded aggregates (per-check failure counts, the ten
worst setups, the first invalid files), never the reports themselves.
"""

from __future__ import annotations

import contextlib
import heapq
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from audit import boundary
from audit.auditor import audit_file
from audit.engine.checklist import Checklists
from audit.engine.evaluate import Options
from audit.errors import AuditError
from audit.inputs import Limits
from audit.model import Check, Report, Severity, Status, at_or_above
from audit.reports import RenderOptions, get
from audit.textsafe import clean

KEEP_INVALID = 20


@dataclass(frozen=True)
class Job:
    lists: Checklists
    checks: list[Check]
    options: Options
    limits: Limits
    fmt: str
    render: RenderOptions
    extra_waivers: tuple[dict[str, Any], ...] = ()  # from --waivers FILE
    waiver_file: str | None = None


@dataclass(frozen=True)
class Result:
    path: str
    output: str
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    failed: tuple[str, ...] = ()
    worst: int = -1
    gate: bool = False
    internal: bool = False  # the error is a bug of ours, not bad input


_JOB: Job | None = None


def _init(job: Job) -> None:
    global _JOB
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        # A worker: Ctrl-C is the parent's to handle (one line, exit 130), and the
        # parent's SIGTERM handler must not run here; Pool.terminate() ends workers.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if job.fmt in ("text", "html"):  # statuses only, no evidence to build
        job = replace(job, options=replace(job.options, keep_evidence=False))
    _JOB = job


# Plain lookups: enum attribute access is slow on Python 3.11 and this runs per finding.
_STATUS_NAMES = {s: s.value for s in Status}
_RANK = {s: s.rank for s in Severity}
_SEVERITY_BY_RANK = {s.rank: s.value for s in Severity}
_FAIL = Status.FAIL


def _one_line(report: Report, counts: dict[str, int], worst: int) -> str:
    label = "FAIL" if counts["fail"] else "ok"
    return (f"{label:<4}  {_SEVERITY_BY_RANK.get(worst, '-'):<8}  {counts['fail']:>3} failed  "
            f"{counts['manual']:>3} manual  {clean(report.setup_path)}\n")


def audit_chunk(paths: list[str]) -> list[Result]:
    """A worker's unit of work: a few files, so each round trip carries several results."""
    return [audit_one(path) for path in paths]


def audit_one(path: str) -> Result:
    """Audit one file; its output and errors leave already redacted with its secrets."""
    with boundary.scope():
        result = _audit_one(path)
        output = result.output.rstrip("\n") if _JOB and _JOB.fmt == "json" else result.output
        return replace(result, output=boundary.redact(output),
                       error=None if result.error is None else boundary.redact(result.error))


def _audit_one(path: str) -> Result:
    job = _JOB
    if job is None:
        raise RuntimeError("fleet worker used before _init")
    try:
        report = audit_file(path, job.lists, job.options, job.limits, job.checks,
                            extra_waivers=list(job.extra_waivers), waiver_file=job.waiver_file)
    except AuditError as exc:
        return Result(path, "", "; ".join(p.render() for p in exc.problems))
    except Exception as exc:  # a bug must not take the rest of the fleet down with it
        return Result(path, "", f"{clean(path)}: internal error: {type(exc).__name__}: "
                                f"{clean(str(exc))[:200]} (please report it)", internal=True)
    # One pass over the findings for everything the summary needs.
    counts = dict.fromkeys(_STATUS_NAMES.values(), 0)
    failed_ids: set[str] = set()
    worst = -1
    for finding in report.findings:
        status = finding.status
        counts[_STATUS_NAMES[status]] += 1
        if status is _FAIL:
            failed_ids.add(finding.check.id)
            worst = max(worst, _RANK[finding.check.severity])
    threshold = job.render.fail_on
    gate = worst >= 0 and at_or_above(_SEVERITY_BY_RANK[worst], threshold)
    failed = tuple(sorted(failed_ids))
    if job.fmt == "text":  # one line per setup; -q keeps only the failing ones
        output = _one_line(report, counts, worst) if failed or not job.render.quiet else ""
    elif job.fmt == "jsonl-compact":  # the parent writes the checks' catalogue line once
        from audit.reports.jsonl import catalog_for, compact_line

        output = compact_line(report, catalog_for(job.checks))
    elif job.fmt == "html":  # a row for the overview page the parent renders
        from audit.reports.html import fleet_row

        output = fleet_row(report, counts, _SEVERITY_BY_RANK.get(worst), gate, failed)
    else:
        output = get(job.fmt)([report], job.render)
    return Result(path, output, None, counts, failed, worst, gate)


@dataclass
class Summary:
    audited: int = 0
    invalid: int = 0
    gate_failures: int = 0
    # Most chunks of files ever handed to workers and not yet written out (see run()).
    peak_in_flight: int = 0
    internal_errors: int = 0
    check_failures: Counter[str] = field(default_factory=Counter)
    worst: list[tuple[int, int, str]] = field(default_factory=list)  # min-heap of the 10 worst
    invalid_files: list[str] = field(default_factory=list)

    def add(self, result: Result) -> None:
        if result.error is not None:
            self.invalid += 1
            self.internal_errors += result.internal
            if len(self.invalid_files) < KEEP_INVALID:
                self.invalid_files.append(result.error)
            return
        self.audited += 1
        self.gate_failures += result.gate
        self.check_failures.update(result.failed)
        if not result.failed:
            return
        entry = (result.worst, result.counts.get("fail", 0), result.path)
        if len(self.worst) < 10:
            heapq.heappush(self.worst, entry)
        else:
            heapq.heappushpop(self.worst, entry)


class Progress:
    """count, rate and ETA on stderr, redrawn in place; only on a terminal."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled = total, enabled
        self.start = time.monotonic()
        self.last = 0.0

    def update(self, done: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.1 and done < self.total):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        eta = (self.total - done) / rate if rate else 0.0
        sys.stderr.write(f"\r{done}/{self.total} setups  {rate:,.0f}/s  ETA {eta:4.1f}s ")
        sys.stderr.flush()

    def clear_line(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 60 + "\r")

    def close(self) -> None:
        self.clear_line()
        sys.stderr.flush()


class Writer(Protocol):
    def write(self, text: str, /) -> int: ...


# Chunks handed to the pool and not yet written, per worker process. Enough to keep
# every worker busy while the parent writes; few enough that the parent holds at most
# window x chunk reports (jsonl: tens of KiB each) when the reader of stdout is slow.
IN_FLIGHT_PER_JOB = 4


class _Window:
    """Backpressure: at most ``size`` chunks between the feed and the writer.

    Pool.imap_unordered reads its input in a feeder thread as fast as it can and
    queues every result it receives, however slowly they are consumed. The feed
    here blocks once ``size`` chunks are out until the parent has written one.
    """

    def __init__(self, size: int) -> None:
        import threading

        self.size = size
        self._slots = threading.Semaphore(size)
        self._lock = threading.Lock()
        self._closed = False
        self.in_flight = 0
        self.peak = 0

    def feed(self, paths: list[str], chunk: int) -> Iterator[list[str]]:
        for start in range(0, len(paths), chunk):
            self._slots.acquire()
            if self._closed:
                return
            with self._lock:
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
            yield paths[start:start + chunk]

    def done(self) -> None:
        with self._lock:
            self.in_flight -= 1
        self._slots.release()

    def close(self) -> None:
        """Stop the feed (an error or interrupt ends the run early): the pool's feeder
        thread must not stay blocked, or shutting the pool down would wait for it."""
        self._closed = True
        self._slots.release(self.size + 1)


def run(paths: list[str], job: Job, jobs: int, out: Writer, progress: bool,
        problems: list[str] | tuple[str, ...] = (), *,
        chunk: int | None = None, window: int | None = None) -> tuple[Summary, float]:
    """Audit ``paths`` with ``jobs`` processes, writing each output as it finishes.

    ``problems`` (from :func:`scan`) are reported and counted as invalid files.

    Files go to workers in chunks of ``chunk``; at most ``window`` chunks (default
    ``IN_FLIGHT_PER_JOB`` per process) are out at any time, so memory stays flat
    however slowly ``out`` accepts what is written.
    """
    summary = Summary()
    bar = Progress(len(paths) + len(problems), progress)
    started = time.monotonic()
    if job.fmt == "json":
        out.write("[\n")
    elif job.fmt == "jsonl-compact":
        from audit.reports.jsonl import catalog_line

        out.write(catalog_line(job.checks))
    first = True

    def emit(result: Result) -> None:
        nonlocal first
        summary.add(result)
        if result.error is not None:  # always said, whatever the format or --quiet
            bar.clear_line()
            sys.stderr.write(f"ibkr-audit: error: {result.error}\n")
        if result.output:
            if job.fmt == "json":
                out.write("" if first else ",\n")
                out.write(result.output)  # redacted in the worker, and stripped there
                first = False
            else:
                out.write(result.output)
        bar.update(summary.audited + summary.invalid)

    for problem in problems:
        emit(Result("", "", problem))
    if "-" in paths:  # standard input belongs to this process, not to a worker
        _init(job)
        emit(audit_one("-"))
        paths = [p for p in paths if p != "-"]
    if jobs <= 1 or len(paths) < 2:
        _init(job)
        for path in paths:
            emit(audit_one(path))
    else:
        # Text results are a line; other formats carry whole reports, so smaller chunks.
        size = chunk or max(1, min(64 if job.fmt == "text" else 16, len(paths) // (jobs * 8)))
        gate = _Window(window or jobs * IN_FLIGHT_PER_JOB)
        import multiprocessing  # only fleet mode pays for it

        context = multiprocessing.get_context("fork" if sys.platform.startswith("linux")
                                              else "spawn")
        with context.Pool(jobs, initializer=_init, initargs=(job,)) as pool:
            finished = pool.imap_unordered(audit_chunk, gate.feed(paths, size))
            try:
                for results in finished:
                    for result in results:
                        emit(result)
                    gate.done()  # only now, once written: a slow reader slows the feed
            except BaseException:
                # Stop feeding, then collect (and drop) the chunks already handed out,
                # at most the window. Leaving them in the result pipe can hang the
                # pool's shutdown: once its result thread stops reading, a pipe full
                # of reports blocks the sentinel its task thread still has to send.
                gate.close()
                with contextlib.suppress(Exception):
                    for _results in finished:
                        pass
                raise
            finally:
                gate.close()
        summary.peak_in_flight = gate.peak
    if job.fmt == "json":
        out.write("\n]\n")
    bar.close()
    return summary, time.monotonic() - started


def render_summary(summary: Summary, elapsed: float, by_id: dict[str, Check]) -> str:
    rate = (summary.audited + summary.invalid) / elapsed if elapsed else 0.0
    lines = ["", f"Fleet summary: {summary.audited} setups audited, {summary.invalid} invalid, "
                 f"in {elapsed:.2f} s ({rate:,.0f}/s); {summary.gate_failures} failed the gate."]
    if summary.check_failures:
        lines.append("Failing checks (number of setups):")
        for check_id, count in summary.check_failures.most_common(15):
            check = by_id.get(check_id)
            title = f"{check.severity.value:<8}  {check.title}" if check else ""
            lines.append(f"  {count:>7}  {check_id:<10}  {title}")
    if summary.worst:
        lines.append(f"The {len(summary.worst)} worst setups:")
        for rank, failed, path in sorted(summary.worst, reverse=True):
            severity = [s.value for s in Severity if s.rank == rank]
            lines.append(f"  {severity[0] if severity else '-':<8}  {failed:>3} failed  "
                         f"{clean(path)}")
    if summary.invalid_files:
        lines.append(f"Invalid files ({summary.invalid}):")
        lines.extend(f"  {message}" for message in summary.invalid_files)
        if summary.invalid > len(summary.invalid_files):
            lines.append(f"  … and {summary.invalid - len(summary.invalid_files)} more")
    return "\n".join(lines) + "\n"
