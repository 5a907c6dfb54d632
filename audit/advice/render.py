"""Pure renderers for ``plan`` and ``remediate`` (text, markdown, json)."""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import asdict
from typing import Any

from audit.advice.plan import StageResult
from audit.advice.rank import NextStep, Urgent
from audit.advice.recommend import INTERFACE_NAMES, Recommendation
from audit.advice.remediate import Accepted, Task
from audit.model import Finding
from audit.reports.text import fit, style, terminal_width
from audit.textsafe import clean


def _lines(out: list[str]) -> str:
    """Join output lines, escaping control characters that came from the setup file."""
    return "\n".join(clean(line) for line in out)


def _names(interfaces: tuple[str, ...] | list[str]) -> str:
    return ", ".join(INTERFACE_NAMES.get(i, i) for i in interfaces) or "nothing"


def urgent_dicts(urgent: list[Urgent]) -> list[dict[str, Any]]:
    return [{"id": u.id, "severity": u.severity, "status": u.status, "action": u.action,
             "title": u.title, "subject": u.subject, "remediation": u.remediation}
            for u in urgent]


def next_step_dict(step: NextStep | None) -> dict[str, Any] | None:
    return None if step is None else asdict(step)


def urgent_lines(urgent: list[dict[str, Any]]) -> list[str]:
    """The block shown first by check (text), plan and remediate."""
    if not urgent:
        return []
    out = ["URGENT: act on these now, whatever stage you are at"]
    for u in urgent:
        subject = f" ({u['subject']})" if u.get("subject") else ""
        out += _wrap(f"! {u['id']} ({u['severity']}) {u['title']}{subject}", 2)
        out += _wrap(u["action"], 6)
        out += _wrap(f"fix: {u['remediation']}", 6)
    return [*out, ""]


def plan_dict(header: dict[str, Any], rec: Recommendation, mismatches: list[Finding],
              stages: list[StageResult], urgent: list[Urgent] | None = None,
              step: NextStep | None = None, unknown: str = "",
              caveats: list[Finding] | None = None) -> dict[str, Any]:
    recommendation = asdict(rec)
    recommendation["costly_errors"] = [
        {**asdict(e), "checks": [{"id": cid, "status": st} for cid, st in e.checks]}
        for e in rec.costly_errors]
    recommendation["mismatches"] = [
        {"id": f.id, "title": f.check.title, "severity": f.severity.value} for f in mismatches]
    recommendation["caveats"] = [
        {"id": f.id, "title": f.check.title, "severity": f.severity.value,
         "remediation": f.check.remediation} for f in caveats or []]
    return {
        **header,
        "urgent": urgent_dicts(urgent or []),
        "next_step": next_step_dict(step),
        "unknown": unknown,
        "recommendation": recommendation,
        "stages": [{
            "stage": s.stage, "name": s.name, "purpose": s.purpose,
            "interfaces": list(s.interfaces), "status": s.status,
            "gates": [{"id": cid, "status": st} for cid, st in s.gates],
            "blocking": [asdict(b) for b in s.blocking],
            "note": s.note, "next_steps": list(s.next_steps), "strategies": list(s.strategies),
        } for s in stages],
    }


def next_step(stages: list[StageResult], step: dict[str, Any] | None = None,
              unknown: str = "") -> str:
    """The text of the JSON ``next_step``, so both always name the same thing."""
    if step is not None:
        stage = f", stage {step['stage']}" if step.get("stage") is not None else ""
        subject = f" ({step['subject']})" if step.get("subject") else ""
        state = ", unknown" if step.get("status") == "manual" else ""
        return (f"{step['id']} ({step['severity']}{state}{stage}) {step['title']}{subject}: "
                f"{step['action']}")
    ready = next((s for s in stages if s.status == "ready"), None)
    if ready is not None:
        first = ready.next_steps[0] if ready.next_steps else "adopt its interfaces"
        return f"Stage {ready.stage} ({ready.name}) is ready: {first}"
    return "Every stage you need is done. Re-run the audit on a schedule to keep it that way."


def _wrap(text: str, indent: int) -> list[str]:
    pad = " " * indent
    return textwrap.wrap(text, max(terminal_width(), indent + 24), initial_indent=pad,
                         subsequent_indent=pad + "  ", break_on_hyphens=False)


_STAGE_COLOR = {"done": "green", "ready": "cyan", "blocked": "red", "not_needed": "bright_black"}


def _color_stages(text: str) -> str:
    lines = text.split("\n")
    for i, line in enumerate(lines):
        tag = line[2:].split("]", 1)[0].lstrip("[") if line.startswith("  [") else ""
        if tag in _STAGE_COLOR:
            lines[i] = "  " + style(f"[{tag}]", True, fg=_STAGE_COLOR[tag], bold=True) + \
                line[3 + len(tag) + 1:]
        elif line.startswith("NEXT STEP:"):
            lines[i] = style("NEXT STEP:", True, bold=True) + line[len("NEXT STEP:"):]
    return "\n".join(lines)


def plan_text(data: dict[str, Any], stages: list[StageResult], color: bool = False) -> str:
    rec = data["recommendation"]
    name = data.get("name") or data["setup"]
    out = [f"Interface plan for {name} · {data['setup']} · as of {data['as_of']}", ""]
    out += urgent_lines(data.get("urgent", []))
    if rec["determined"]:
        out.append(f"RECOMMENDATION: {rec['summary']}")
        out += [line for r in rec["reasons"] for line in _wrap(f"- {r}", 2)]
        out.append(f"  You use today: {_names(rec['current'])}."
                   if rec["current"] else "  You use today: nothing declared (profile.interfaces).")
        if rec["to_add"]:
            out.append(f"  To add: {_names(rec['to_add'])}.")
        if rec["beyond"]:
            out += _wrap(f"Beyond what you need: {_names(rec['beyond'])}; each one is more to "
                         "secure and keep up. Keep it only if you use it.", 2)
    else:
        out.append("RECOMMENDATION: undetermined")
        out += [line for r in rec["reasons"] for line in _wrap(f"- {r}", 2)]
        out += _wrap("Declare: " + ", ".join(rec["missing"]), 2)
    for c in rec.get("caveats", []):
        out += _wrap(f"Check your goals: {c['title']} ({c['id']}, {c['severity']}, failing). "
                     f"{c['remediation']}", 2)
    if rec["costly_errors"]:
        out += ["", "COSTLIEST MISTAKES FOR YOU, AND WHAT REDUCES THEM"]
        for e in rec["costly_errors"]:
            out += _wrap(f"- {e['title']}", 2)
            out += _wrap(f"reduced by: {e['reduced_by']}", 6)
            out += _wrap("checks: " + ", ".join(f"{c['id']} {c['status']}" for c in e["checks"]),
                         6)
    if rec["mismatches"]:
        out += ["", "MISMATCHES TODAY"]
        out += [line for m in rec["mismatches"]
                for line in _wrap(f"- not yet true: {m['title']} ({m['id']}, {m['severity']})",
                                  2)]
    out += ["", "STAGES"]
    for s in stages:
        title = s.name + (f": {', '.join(s.strategies)}" if s.strategies else "")
        head = textwrap.wrap(f"Stage {s.stage}  {title}", max(terminal_width() - 16, 24))
        out += [f"  [{s.status}]".ljust(16) + head[0], *(" " * 16 + x for x in head[1:])]
        detail = 16
        if s.note:
            out += _wrap(s.note, detail)
        if s.status == "ready" or (s.status == "in_progress" and not s.blocking):
            out += _wrap(f"All {len(s.gates)} gates pass.", detail)
            out += [line for step in s.next_steps for line in _wrap(f"next: {step}", detail)]
        for b in s.blocking:
            out += _wrap(f"{b.id} ({b.severity}, {b.status}) {b.title}", detail)
            out += _wrap(f"fix: {b.remediation}", detail + 2)
    if data.get("unknown") and not data["unknown"].startswith("0 "):
        out += ["", *_wrap(f"UNKNOWN: {data['unknown']} (facts the file does not declare).", 0)]
    step = next_step(stages, data.get("next_step"), data.get("unknown", ""))
    out += ["", *_wrap(f"NEXT STEP: {step}", 0)]
    text = fit(_lines(out), terminal_width())  # titles and stage lines too
    return (_color_stages(text) if color else text) + "\n"


def plan_markdown(data: dict[str, Any], stages: list[StageResult]) -> str:
    rec = data["recommendation"]
    out = [f"# Interface plan: `{data['setup']}`", "",
           f"ibkr-audit {data['version']} · as of {data['as_of']}", ""]
    if data.get("urgent"):
        out += ["## Urgent", ""]
        out += [f"- **{u['id']}** ({u['severity']}) {u['title']}: {u['action']}"
                for u in data["urgent"]]
        out.append("")
    if rec["determined"]:
        out += [f"**Recommendation: {rec['summary']}** ({_names(rec['interfaces'])})", ""]
        out += [f"- {r}" for r in rec["reasons"]]
        out += ["", f"You use today: {_names(rec['current'])}. "
                    + (f"To add: {_names(rec['to_add'])}." if rec["to_add"] else "")]
    else:
        out += ["**Recommendation: undetermined.** Declare: "
                + ", ".join(f"`{p}`" for p in rec["missing"])]
    if rec["costly_errors"]:
        out += ["", "## Costliest mistakes for you", "",
                "| Mistake | Reduced by | Checks |", "| --- | --- | --- |"]
        out += [f"| {e['title']} | {e['reduced_by']} | "
                + ", ".join(f"{c['id']} {c['status']}" for c in e["checks"]) + " |"
                for e in rec["costly_errors"]]
    out += ["", "## Stages", "", "| Stage | Status | Gates | What blocks it |",
            "| --- | --- | --- | --- |"]
    for s in stages:
        passed = sum(1 for _c, st in s.gates if st in ("pass", "skip", "waived"))
        blocks = "<br>".join(f"**{b.id}** ({b.severity}, {b.status}) {b.title}"
                             for b in s.blocking) or (s.note or "")
        out.append(f"| {s.stage}. {s.name} | {s.status} | {passed}/{len(s.gates)} | {blocks} |")
    step = next_step(stages, data.get("next_step"), data.get("unknown", ""))
    out += ["", f"**Next step:** {step}", ""]
    return _lines(out)


def remediate_markdown(header: dict[str, Any], items: list[Task],
                       waived: list[Accepted]) -> str:
    out = [f"# Remediation checklist: `{header['setup']}`", "",
           f"ibkr-audit {header['version']} · as of {header['as_of']} · "
           f"{len(items)} task(s), worst first", ""]
    if header.get("urgent"):
        out += ["## Urgent: act on these now", ""]
        out += [f"- **{u['id']}** ({u['severity']}) {u['title']}"
                + (f" — {u['subject']}" if u.get("subject") else "") + f": {u['action']}"
                for u in header["urgent"]]
        out.append("")
    if header.get("unknown") and not header["unknown"].startswith("0 "):
        out += [f"Unknown: {header['unknown']} (the setup does not declare the facts).", ""]
    if not items:
        out += ["Nothing to do: every check passes or does not apply.", ""]
    current = None
    urgent_ids = {(u["id"], u.get("subject")) for u in header.get("urgent") or []}
    for t in items:
        if (t.id, t.subject) in urgent_ids:
            group = "First: the urgent items, in this order"
        elif t.status == "manual":
            group = f"{t.severity.capitalize()}, unknown (declare or check by hand)"
        else:
            group = t.severity.capitalize()
        if group != current:
            current = group
            out += [f"## {current}", ""]
        stage = f" *(stage {t.stage})*" if t.stage is not None else ""
        subject = f" — {t.subject}" if t.subject else ""
        out.append(f"- [ ] **{t.id}** {t.title}{subject}{stage}")
        out.append(f"  - Do: {t.action}")
        if t.why:
            out.append(f"  - Why {t.severity}: {t.why}")
        out.append(f"  - Where: {t.where}")
        for e in t.evidence:
            quoted = e.replace("`", "'")  # keep the code span intact
            out.append(f"  - Now: `{quoted}`")
        if t.verify_in_ibkr:
            out.append(f"  - Verify in IBKR: {t.verify_in_ibkr}")
        out.append("  - Verify here: " + ", then ".join(f"`{command}`" for command in t.verify))
        out.append("")
    if waived:
        out += ["## Accepted risks (waived)", "", "| Check | Severity | Reason | Expires | "
                "Approved by |", "| --- | --- | --- | --- | --- |"]
        out += [f"| **{w.id}** {w.title} | {w.severity} | {w.reason} | {w.expires} | "
                f"{w.approved_by or ''} |" for w in waived]
        out.append("")
    return _fit_markdown(_lines(out))


_ATOM = re.compile(r"`[^`]*`[^\s`]*|[^\s`]+")


def _fit_markdown(text: str) -> str:
    """Wrap long list items and paragraphs; headings and table rows stay whole.

    A code span moves to the next line whole rather than being split, so the
    commands to run stay copyable; one longer than the line is split at its
    spaces (still valid Markdown), unless it is a command, which is never split.
    """
    width = terminal_width()
    out: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width or line.startswith(("#", "|")):
            out.append(line)
            continue
        indent = len(line) - len(line.lstrip(" "))
        hang = " " * (indent + 2)
        current = line[:indent]
        for atom in _ATOM.findall(line):
            room = width - len(current) - (0 if current.strip() == "" else 1)
            if len(atom) <= room or not current.strip():
                current += ("" if not current.strip() else " ") + atom
            elif len(atom) <= width - len(hang) or atom.startswith("`ibkr-audit "):
                out.append(current)
                current = hang + atom
            else:  # a long code span or word: split at its spaces
                out.append(current)
                pieces = textwrap.wrap(atom, width - len(hang), break_long_words=False,
                                       break_on_hyphens=False)
                out += [hang + piece for piece in pieces[:-1]]
                current = hang + pieces[-1]
        out.append(current)
    return "\n".join(out)


def remediate_json(header: dict[str, Any], items: list[Task], waived: list[Accepted]) -> str:
    return json.dumps({**header, "tasks": [asdict(t) for t in items],
                       "waived": [asdict(w) for w in waived]}, indent=2,
                      ensure_ascii=False) + "\n"
