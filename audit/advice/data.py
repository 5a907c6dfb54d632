"""Load the advice data (recommendation rules, costly errors, plan stages)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from audit import _resources
from audit.engine.checklist import Checklists, remember_valid, validated_before, walk
from audit.errors import ChecklistError, Problem
from audit.inputs import Limits, decode, parse, read_bytes
from audit.pointer import join
from audit.schema import schema_problems, validate

ADVICE_FILES = ("interfaces.json", "plan.json")


@dataclass(frozen=True)
class Advice:
    rules: tuple[dict[str, Any], ...]
    costly_errors: tuple[dict[str, Any], ...]
    stages: tuple[dict[str, Any], ...]
    baseline: tuple[str, ...] = ()
    urgent: tuple[dict[str, Any], ...] = ()
    prerequisites: tuple[dict[str, Any], ...] = ()


@cache
def _read(path: Path) -> tuple[dict[str, Any], str]:
    text = decode(read_bytes(str(path), Limits()), str(path))
    data: dict[str, Any] = parse(text, str(path), Limits())
    return data, text


ADVICE_SCHEMA = "advice.schema.json"
_LOADED: dict[tuple[int, str, Path], tuple[Checklists, Advice]] = {}


def load(lists: Checklists, directory: Path | None = None) -> Advice:
    """The bundled advice, validated against its schema and against ``lists``.

    Memoised per checklist set and directory (fleet mode and every audit that reads
    the recommendation call this once per setup); ``lists`` is kept alive with it.
    """
    directory = directory or _resources.checklist_dir() / "advice"
    key = (id(lists), lists.digest, directory)
    cached = _LOADED.get(key)
    if cached is not None and cached[0] is lists:
        return cached[1]
    advice = _load(lists, directory)
    _LOADED[key] = (lists, advice)
    return advice


def _load(lists: Checklists, directory: Path) -> Advice:
    merged: dict[str, list[dict[str, Any]]] = {"rules": [], "costly_errors": [], "stages": [],
                                               "urgent": [], "prerequisites": []}
    baseline: list[str] = []
    problems: list[Problem] = []
    for name in ADVICE_FILES:
        path = directory / name
        data, text = _read(path)
        # Validated once per content (a private marker in the cache dir), not per run.
        errors = []
        if not validated_before(ADVICE_SCHEMA, text):
            errors = validate(data, ADVICE_SCHEMA)
            if not errors:
                remember_valid(ADVICE_SCHEMA, text)
        if errors:
            problems.extend(schema_problems(errors, str(path), text))
            continue
        baseline.extend(data.get("baseline_interfaces", []))
        for key in merged:
            for index, entry in enumerate(data.get(key, [])):
                problems.extend(_semantic(entry, lists, str(path), join("", key, index)))
                merged[key].append(entry)
    if merged["rules"] and "when" in merged["rules"][-1]:
        problems.append(Problem("the last recommendation rule must have no 'when' (a catch-all)",
                                file=str(directory / ADVICE_FILES[0]), pointer="/rules"))
    if problems:
        raise ChecklistError(problems)
    return Advice(tuple(merged["rules"]), tuple(merged["costly_errors"]),
                  tuple(sorted(merged["stages"], key=lambda s: int(s["stage"]))), tuple(baseline),
                  tuple(merged["urgent"]), tuple(merged["prerequisites"]))


def _semantic(entry: dict[str, Any], lists: Checklists, file: str, pointer: str) -> list[Problem]:
    known = {c.id for c in lists.checks}
    named = [*entry.get("gates", []), *entry.get("related", []), *entry.get("checks", []),
             *entry.get("first", []),
             *([entry["while_applies"]] if "while_applies" in entry else [])]
    problems = [Problem(f"unknown check {cid!r}", file=file, pointer=pointer)
                for cid in named if cid not in known]
    trees = ([entry.get("when"), entry.get("assume_when"), entry.get("paper", {}).get("when")]
             + [a["when"] for a in entry.get("add", [])])
    for tree in trees:
        for node, _depth in walk(tree):
            if "ref" in node and node["ref"] not in lists.conditions:
                problems.append(Problem(f"unknown condition {node['ref']!r}", file=file,
                                        pointer=pointer))
    return problems
