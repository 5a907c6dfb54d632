"""The HTML report: one self-contained page a person can read, print or hand over.

Everything is rendered by Jinja2 with autoescaping from objects that were already
redacted (reports, the advice analysis, the history's stored rows); nothing here
reads the setup file's raw text. The page makes no request of its own: the CSS is
inline and allowed by its hash in a Content-Security-Policy that forbids every
other source, the charts are SVG drawn here, and the filters and the fleet sort
are radio buttons styled with ``:has()``, so they work with JavaScript off (the
page has none).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from audit.model import Finding, Report, Severity, Status, area_sort_key
from audit.reports import RenderOptions
from audit.reports.common import evidence_text, finding_sort_key
from audit.textsafe import clean

if TYPE_CHECKING:
    import jinja2

    from audit.advice.service import Analysis
    from audit.model import Check

SEVERITIES = tuple(s.value for s in Severity)
STATUSES = ("fail", "manual", "waived", "pass", "skip")
OPEN_STATUSES = ("fail", "manual", "waived")
STAGE_STATUSES = ("done", "ready", "in_progress", "blocked", "not_needed")
TREND_RUNS = 30  # newest runs drawn in the trend chart
FLEET_TOP_CHECKS = 15


@dataclass(frozen=True)
class TrendPoint:
    """One recorded run: when, and how many failures at each severity."""

    run_id: int
    as_of: str
    recorded_at: str
    failures: dict[str, int]


@dataclass(frozen=True)
class Extras:
    """What the page shows besides the findings, when the caller has it."""

    analysis: Analysis | None = None
    trend: tuple[TrendPoint, ...] = ()


@dataclass
class FleetRow:
    path: str
    counts: dict[str, int]
    worst: str | None
    gate: bool
    failed: tuple[str, ...] = ()


@dataclass
class FleetData:
    rows: list[FleetRow] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- Jinja


@functools.cache
def _env() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("audit.reports", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["clean"] = lambda value: clean(str(value))
    return env


def _page(template: str, title: str, css_context: dict[str, Any], **context: Any) -> str:
    import markupsafe

    env = _env()
    css = env.get_template("style.css.j2").render(**css_context)
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    csp = (f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; "
           "script-src 'none'; base-uri 'none'; form-action 'none'")
    html: str = env.get_template(template).render(
        # The CSS comes from our own template and holds only enum values and indices.
        css=markupsafe.Markup(css), csp=csp,  # noqa: S704
        title=title, **context)
    return html


# --------------------------------------------------------------------------- single setups


def _finding_view(f: Finding, area_index: dict[str, int]) -> dict[str, Any]:
    status = f.status.value
    detail: list[str] = [clean(evidence_text(e)) for e in f.evidence]
    if f.note:
        detail.append(f"note: {clean(f.note)}")
    return {
        "id": clean(f.id), "title": clean(f.check.title), "area": clean(f.check.area),
        "area_key": f"a{area_index[f.check.area]}", "severity": f.severity.value,
        "status": status, "subject": clean(f.item_label or f.item or "") if f.item else "",
        "evidence": detail,
        "fix": clean(f.check.remediation) if status in ("fail", "manual") else "",
        "where": clean(f.check.where_in_ibkr or "") if status in ("fail", "manual") else "",
        "waiver": ({"reason": clean(f.waiver.reason), "expires": clean(f.waiver.expires),
                    "approved_by": clean(f.waiver.approved_by or "")}
                   if f.waiver is not None else None),
        "reference": clean(f.check.reference.render()),
    }


def _verdict(report: Report, fail_on: Severity | None) -> dict[str, Any]:
    failed = [f for f in report.findings if f.status is Status.FAIL]
    by_severity = {s: sum(1 for f in failed if f.severity.value == s) for s in SEVERITIES}
    threshold = fail_on or Severity.HIGH
    urgent = sorted((f for f in failed if f.severity.rank >= threshold.rank),
                    key=finding_sort_key)
    unknown_critical = sorted((f for f in report.findings if f.status is Status.MANUAL
                               and f.severity is Severity.CRITICAL), key=finding_sort_key)
    gate = report.failed_at(fail_on)
    if fail_on is None:
        state, headline = ("warn" if failed else "ok"), "Not gating (--fail-on never)"
    elif gate:
        state = "bad"
        headline = f"Action needed: {len(gate)} failed at or above {fail_on.value}"
    elif failed:
        state = "warn"
        headline = f"Nothing failed at or above {fail_on.value}; {len(failed)} smaller fix(es)"
    else:
        state, headline = "ok", "No check failed"
    return {
        "state": state, "headline": headline, "counts": report.summary(),
        "by_severity": by_severity,
        "threshold": threshold.value,
        "urgent": [_brief(f) for f in urgent],
        "unknown_critical": [_brief(f) for f in unknown_critical],
    }


def _brief(f: Finding) -> dict[str, str]:
    subject = f" [{clean(f.item_label or f.item or '')}]" if f.item else ""
    return {"id": clean(f.id), "title": clean(f.check.title) + subject,
            "severity": f.severity.value, "fix": clean(f.check.remediation)}


def _groups(findings: Iterable[Finding], area_index: dict[str, int]) -> list[dict[str, Any]]:
    by_severity: dict[str, list[Finding]] = {s: [] for s in SEVERITIES}
    for f in findings:
        by_severity[f.severity.value].append(f)
    return [{"severity": s, "open": sum(1 for f in fs if f.status.value in OPEN_STATUSES),
             "findings": [_finding_view(f, area_index) for f in sorted(fs, key=_row_key)]}
            for s, fs in by_severity.items() if fs]


def _row_key(f: Finding) -> tuple[int, tuple[int, str], str, str]:
    pointer = f.evidence[0].pointer if f.evidence else ""
    return (STATUSES.index(f.status.value), area_sort_key(f.check.area), f.id, pointer)


def _plan(analysis: Analysis) -> dict[str, Any]:
    from audit.advice import remediate
    from audit.advice.rank import unknown_text
    from audit.advice.recommend import INTERFACE_NAMES
    from audit.advice.render import next_step, next_step_dict

    rec = analysis.recommendation
    def names(ids: Iterable[str]) -> str:
        return ", ".join(INTERFACE_NAMES.get(i, i) for i in ids) or "nothing"

    findings = list(analysis.report.findings)
    tasks = remediate.tasks(findings, analysis.advice, analysis.report.setup_path)
    accepted = remediate.accepted(findings)
    return {
        "name": clean(analysis.name or ""),
        "determined": rec.determined, "summary": clean(rec.summary),
        "interfaces": clean(names(rec.interfaces)), "reasons": [clean(r) for r in rec.reasons],
        "missing": [clean(m) for m in rec.missing],
        "current": clean(names(rec.current)), "to_add": clean(names(rec.to_add)) if rec.to_add
        else "",
        "stages": [{
            "stage": s.stage, "name": clean(s.name), "purpose": clean(s.purpose),
            "interfaces": clean(names(s.interfaces)), "status": s.status,
            "strategies": [clean(x) for x in s.strategies],
            "gates": [{"id": clean(cid), "status": st} for cid, st in s.gates],
            "passed": sum(1 for _c, st in s.gates if st in ("pass", "skip", "waived")),
            "blocking": [{"id": clean(b.id), "title": clean(b.title), "status": b.status,
                          "severity": b.severity, "fix": clean(b.remediation)}
                         for b in s.blocking],
            "note": clean(s.note), "next_steps": [clean(n) for n in s.next_steps],
        } for s in analysis.stages],
        "diagram": _stage_diagram(analysis),
        "next_step": clean(next_step(analysis.stages, next_step_dict(analysis.next_step),
                                     unknown_text(list(analysis.report.findings)))),
        "tasks": [{"id": clean(t.id), "title": clean(t.title), "severity": t.severity,
                   "status": t.status, "stage": t.stage, "subject": clean(t.subject or ""),
                   "action": clean(t.action), "where": clean(t.where or ""),
                   "evidence": [clean(e) for e in t.evidence],
                   "verify": [clean(v) for v in t.verify]} for t in tasks],
        "accepted": [{"id": clean(a.id), "title": clean(a.title), "severity": a.severity,
                      "reason": clean(a.reason), "expires": clean(a.expires),
                      "approved_by": clean(a.approved_by or "")} for a in accepted],
    }


def _stage_diagram(analysis: Analysis) -> dict[str, Any]:
    """Geometry of the plan diagram: stages stacked top to bottom, gates as chips."""
    width, gap, chip_w, chip_h, per_row = 360, 26, 104, 20, 3
    boxes: list[dict[str, Any]] = []
    y = 8
    for s in analysis.stages:
        chips = []
        for i, (cid, status) in enumerate(s.gates):
            col, row = i % per_row, i // per_row
            chips.append({"x": 20 + col * (chip_w + 6), "y": y + 54 + row * (chip_h + 5),
                          "w": chip_w, "h": chip_h, "id": clean(cid), "status": status})
        rows = -(-len(s.gates) // per_row)
        height = 62 + rows * (chip_h + 5)
        boxes.append({"x": 8, "y": y, "w": width - 16, "h": height, "stage": s.stage,
                      "name": clean(s.name), "status": s.status,
                      "label": s.status.replace("_", " "), "gates": chips,
                      "passed": sum(1 for _c, st in s.gates if st in ("pass", "skip", "waived")),
                      "total": len(s.gates)})
        y += height + gap
    arrows = [{"x": width // 2, "y1": b["y"] + b["h"], "y2": b["y"] + b["h"] + gap}
              for b in boxes[:-1]]
    return {"width": width, "height": max(y - gap + 8, 16), "boxes": boxes, "arrows": arrows}


def _trend_chart(points: Sequence[TrendPoint]) -> dict[str, Any] | None:
    """Stacked bars: failures by severity per recorded run, oldest on the left."""
    if not points:
        return None
    points = list(points)[-TREND_RUNS:]
    width, height, left, bottom, top = 640, 240, 36, 40, 12
    plot_h = height - bottom - top
    peak = max(1, *(sum(p.failures.values()) for p in points))
    step = (width - left - 8) / len(points)
    bar_w = max(4.0, min(40.0, step * 0.7))
    bars = []
    for i, p in enumerate(points):
        x = left + i * step + (step - bar_w) / 2
        base = float(height - bottom)
        for severity in reversed(SEVERITIES):  # info at the bottom, critical on top
            n = p.failures.get(severity, 0)
            if not n:
                continue
            h = plot_h * n / peak
            base -= h
            bars.append({"x": round(x, 1), "y": round(base, 1), "w": round(bar_w, 1),
                         "h": round(h, 1), "severity": severity, "n": n,
                         "title": f"run {p.run_id}, as of {p.as_of}: {n} {severity}"})
    every = max(1, len(points) // 6)
    labels = [{"x": round(left + i * step + step / 2, 1), "text": clean(p.as_of)}
              for i, p in enumerate(points) if i % every == 0 or i == len(points) - 1]
    ticks = sorted({0, peak // 2, peak})
    return {"width": width, "height": height, "left": left, "bottom": height - bottom,
            "bars": bars, "labels": labels, "right": width - 8,
            "ticks": [{"value": t, "y": round(height - bottom - plot_h * t / peak, 1)}
                      for t in ticks],
            "runs": len(points),
            "latest": points[-1].failures, "first": points[0].failures}


def _areas(reports: Sequence[Report]) -> list[str]:
    return sorted({f.check.area for r in reports for f in r.findings}, key=area_sort_key)


def render_pages(reports: Sequence[Report], options: RenderOptions,
                 extras: Sequence[Extras | None] = ()) -> str:
    areas = _areas(reports)
    area_index = {a: i for i, a in enumerate(areas)}
    pages: list[dict[str, Any]] = []
    for i, report in enumerate(reports):
        extra = (extras[i] if i < len(extras) else None) or Extras()
        pages.append({
            "index": i, "setup": clean(report.setup_path), "as_of": clean(report.as_of),
            "generated_at": clean(report.generated_at), "version": clean(report.tool_version),
            "verdict": _verdict(report, options.fail_on),
            "groups": _groups(report.findings, area_index),
            "observed": [{"name": clean(n), "declared": clean(d), "seen": clean(o),
                          "how": clean(h)} for n, d, o, h in report.observed],
            "plan": _plan(extra.analysis) if extra.analysis is not None else None,
            "trend": _trend_chart(extra.trend),
        })
    title = ("ibkr-audit report: " + pages[0]["setup"] if len(pages) == 1
             else f"ibkr-audit report: {len(pages)} setups")
    area_options = [{"key": f"a{i}", "name": clean(a)} for i, a in enumerate(areas)]
    return _page("report.html.j2", title,
                 {"severities": SEVERITIES, "statuses": STATUSES,
                  "areas": [a["key"] for a in area_options], "stage_statuses": STAGE_STATUSES},
                 pages=pages, areas=area_options, severities=SEVERITIES, statuses=STATUSES)


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    """The registered formatter: findings only (``check`` adds the plan and the trend)."""
    return render_pages(reports, options)


# --------------------------------------------------------------------------- check's extras


def trend_points(history_db: str, setup_path: str) -> tuple[TrendPoint, ...]:
    """Recorded runs of ``setup_path`` in ``history_db``, oldest first (none: empty)."""
    from pathlib import Path

    from audit.history.store import Store

    if setup_path == "<stdin>" or not Path(history_db).is_file():
        return ()
    with Store(Path(history_db), create=False) as store:
        runs = store.runs(setup_path, TREND_RUNS)
        points = []
        for run in reversed(runs):
            failures = Counter(f.severity for f in store.findings(run.id) if f.status == "fail")
            points.append(TrendPoint(run.id, run.as_of, run.recorded_at,
                                     {s: failures.get(s, 0) for s in SEVERITIES}))
    return tuple(points)


# --------------------------------------------------------------------------- fleet


def fleet_row(report: Report, counts: dict[str, int], worst: str | None, gate: bool,
              failed: tuple[str, ...]) -> str:
    """What a fleet worker sends the parent for the overview: one JSON line."""
    return json.dumps({"path": report.setup_path, "counts": counts, "worst": worst,
                       "gate": gate, "failed": list(failed)}, ensure_ascii=False) + "\n"


class FleetCollector:
    """A writer for :func:`audit.fleet.run` that keeps the rows for the overview."""

    def __init__(self) -> None:
        self.data = FleetData()

    def write(self, text: str, /) -> int:
        for line in text.splitlines():
            if line.strip():
                row = json.loads(line)
                self.data.rows.append(FleetRow(row["path"], row["counts"], row["worst"],
                                               row["gate"], tuple(row["failed"])))
        return len(text)


def render_fleet(data: FleetData, by_id: dict[str, Check], options: RenderOptions,
                 invalid: Sequence[str] = (), generated_at: str = "", as_of: str = "") -> str:
    from audit.auditor import now_utc

    generated_at = generated_at or now_utc()
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    rows: list[dict[str, Any]] = [
        {"path": clean(r.path), "counts": r.counts, "worst": r.worst or "", "gate": r.gate,
         "failed": len(r.failed)} for r in data.rows]
    orders = {
        "worst": sorted(rows, key=lambda r: (rank.get(r["worst"], 9), -r["counts"]["fail"],
                                             r["path"])),
        "fail": sorted(rows, key=lambda r: (-r["counts"]["fail"], rank.get(r["worst"], 9),
                                            r["path"])),
        "manual": sorted(rows, key=lambda r: (-r["counts"]["manual"], r["path"])),
        "path": sorted(rows, key=lambda r: r["path"]),
    }
    counter: Counter[str] = Counter()
    for r in data.rows:
        counter.update(r.failed)
    top = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:FLEET_TOP_CHECKS]
    peak = max((n for _c, n in top), default=1)
    bar_h, label_w, width = 24, 84, 400
    chart = {"width": width, "height": max(len(top), 1) * bar_h + 8, "label_w": label_w,
             "bars": [{"y": 4 + i * bar_h, "h": bar_h - 8, "id": clean(cid), "n": n,
                       "w": round((width - label_w - 40) * n / peak, 1),
                       "title": clean(by_id[cid].title) if cid in by_id else "",
                       "severity": by_id[cid].severity.value if cid in by_id else "info"}
                      for i, (cid, n) in enumerate(top)]}
    gate = sum(1 for r in rows if r["gate"])
    totals = {s: sum(r["counts"].get(s, 0) for r in rows) for s in STATUSES}
    worst_counts = {s: sum(1 for r in rows if r["worst"] == s) for s in SEVERITIES}
    threshold = options.fail_on.value if options.fail_on else "never"
    return _page("fleet.html.j2", f"ibkr-audit fleet overview: {len(rows)} setups",
                 {"severities": SEVERITIES, "statuses": STATUSES, "areas": [],
                  "stage_statuses": STAGE_STATUSES, "sorts": list(orders)},
                 orders=orders, sorts=list(orders), chart=chart, gate=gate, totals=totals,
                 worst_counts=worst_counts, audited=len(rows), threshold=threshold,
                 invalid=[clean(m) for m in invalid], severities=SEVERITIES,
                 generated_at=clean(generated_at), as_of=clean(as_of))


def extras_for(reports: Sequence[Report], prepared: Any,
               history_db: str | None) -> list[Extras]:
    """The plan (from the advice service) and the history trend for each audited file.

    The setup is loaded again through the same pipeline the audit used (its
    validation, its redaction); standard input cannot be read twice, so it gets
    no plan.
    """
    import os

    from audit import pipeline
    from audit.advice.service import analyse
    from audit.history.store import ENV_VAR

    db = history_db or os.environ.get(ENV_VAR)
    out = []
    for report in reports:
        analysis = None
        if report.setup_path != "<stdin>":
            analysis = analyse(pipeline.load(report.setup_path, prepared), prepared.lists,
                               prepared.options, prepared.checks)
        out.append(Extras(analysis, trend_points(db, report.setup_path) if db else ()))
    return out
