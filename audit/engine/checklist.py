"""Load checklist files, validate them, and resolve what checks share.

A bad checklist is an error (exit 2), never a silently dropped check: the schema
catches structural mistakes, and :func:`_semantic_problems` catches what a schema
cannot (unknown condition or parameter names, reference cycles, ``@`` outside a
loop, duplicate ids across files).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit import _resources
from audit.digest import sha256
from audit.engine.conditions import LEAF_OPERATORS
from audit.errors import ChecklistError, Problem, UsageError
from audit.inputs import Limits, decode, parse, read_bytes
from audit.model import Check, Reference, Severity
from audit.pointer import join
from audit.schema import schema_problems, validate

CHECKLIST_SCHEMA = "checklist.schema.json"


@dataclass
class Checklists:
    """Every check in load order, plus the parameters and conditions they share."""

    checks: list[Check] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    param_descriptions: dict[str, str] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)
    digest: str = ""
    # The bundled checklists' version; '+custom' when --checklist files were added.
    version: str = ""

    def by_id(self) -> dict[str, Check]:
        return {c.id: c for c in self.checks}


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.glob("*.json") if p.is_file())
    return [path]


def load(extra: Iterable[str] = (), *, builtin: bool = True) -> Checklists:
    """Load the bundled checklists (unless ``builtin`` is False) and any extra paths."""
    builtin_paths = _files(_resources.checklist_dir()) if builtin else []
    paths: list[Path] = list(builtin_paths)
    for item in extra:
        path = Path(item)
        if not path.exists():
            raise ChecklistError([Problem("no such checklist file or directory", file=item)])
        found = _files(path)
        if not found:
            raise ChecklistError([Problem("directory holds no *.json checklist", file=item)])
        paths.extend(found)
    base = _resources.checklist_version() if builtin else ""
    version = f"{base}+custom" if paths[len(builtin_paths):] and base else base or "custom"
    # load_files memoises; the copy keeps the cached object as it was.
    return dataclasses.replace(load_files(paths), version=version)


def load_files(paths: list[Path]) -> Checklists:
    """Load and validate checklist files; memoised per process while they are unchanged."""
    key = []
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            return _load_files(tuple(paths))  # let the loader report it
        key.append((str(path), info.st_size, info.st_mtime_ns))
    return _load_cached(tuple(key))


@functools.lru_cache(maxsize=8)
def _load_cached(key: tuple[tuple[str, int, int], ...]) -> Checklists:
    return _load_files(tuple(Path(p) for p, _size, _mtime in key))


def _load_files(paths: tuple[Path, ...]) -> Checklists:
    """Checklists from ``paths``: compiled once, then read back from the cache.

    Compiling (schema validation for files outside a wheel, the semantic walk) is
    most of the cost of loading. Its result is stored under a key made of the files'
    paths and contents, the checklist schema and this loader, so an unchanged set of
    files is never re-validated; a changed byte anywhere means a new key.
    """
    raws = [read_bytes(str(path), Limits()) for path in paths]
    key = _cache_key(paths, raws)
    cached = _read_cache(key)
    if cached is not None:
        return cached
    result = _compile(paths, raws)
    _write_cache(key, result)
    return result


# Bump when the cached form changes shape.
CACHE_FORMAT = 1
CACHE_ENV = "IBKR_AUDIT_CACHE_DIR"
KEEP_CACHED = 16


def cache_dir() -> Path | None:
    """``$IBKR_AUDIT_CACHE_DIR`` (set but empty: no cache), else the user cache dir."""
    import os

    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured else None
    import platformdirs  # only on this path; a few ms of import otherwise

    return Path(platformdirs.user_cache_dir("ibkr-audit", appauthor=False))


def _cache_key(paths: tuple[Path, ...], raws: list[bytes]) -> str:
    from audit import __version__

    key = sha256(f"{CACHE_FORMAT}\0{__version__}\0".encode())
    # The loader itself (a source checkout changes without a version bump) and the schema.
    for source in (Path(__file__), Path(__file__).with_name("conditions.py")):
        try:
            info = source.stat()
            key.update(f"{source}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
        except OSError:
            key.update(b"?\0")
    try:
        key.update(sha256(_resources.schema_path(CHECKLIST_SCHEMA).read_bytes()).digest())
    except OSError:
        key.update(b"?\0")
    for path, raw in zip(paths, raws, strict=True):
        key.update(f"{path}\0{_resources.is_packaged(path)}\0".encode())
        key.update(sha256(raw).digest())
    return key.hexdigest()


def _cache_file(key: str) -> Path | None:
    directory = cache_dir()
    return directory / f"checklists-{key[:40]}.json" if directory is not None else None


def _read_cache(key: str) -> Checklists | None:
    """The compiled checklists for ``key``, or None if absent, unreadable or corrupt."""
    target = _cache_file(key)
    if target is None or not _private(target):
        return None
    try:
        data = json.loads(target.read_bytes())
        if data["format"] != CACHE_FORMAT or data["key"] != key:
            return None
        checks = [Check(**{**fields, "severity": Severity(fields["severity"]),
                           "reference": Reference(**fields["reference"]),
                           "reads": tuple(fields["reads"])})
                  for fields in data["checks"]]
        return Checklists(checks=checks, params=data["params"],
                          param_descriptions=data["param_descriptions"],
                          conditions=data["conditions"], digest=data["digest"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None  # rebuilt and rewritten by the caller


def _private(target: Path) -> bool:
    """Read an entry only if this user owns it and its directory, and nobody else may
    write to either: checks read from a cache others can edit could be made to pass."""
    import os

    if not hasattr(os, "getuid"):  # Windows: the per-user cache dir's ACLs decide
        return True
    try:
        for info in (target.parent.stat(), target.stat()):
            if info.st_uid != os.getuid() or info.st_mode & 0o022:
                return False
    except OSError:
        return False
    return True


def _write_cache(key: str, lists: Checklists) -> None:
    """Store the compiled form, privately and atomically; a failure only costs speed."""
    target = _cache_file(key)
    if target is None:
        return
    checks = []
    for check in lists.checks:
        fields = dict(check.__dict__)
        fields.update(severity=check.severity.value, reads=list(check.reads),
                      reference={"section": check.reference.section,
                                 "passage": check.reference.passage})
        checks.append(fields)
    try:
        payload = json.dumps({
            "format": CACHE_FORMAT, "key": key, "digest": lists.digest, "params": lists.params,
            "param_descriptions": lists.param_descriptions, "conditions": lists.conditions,
            "checks": checks}, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return  # a field that is not plain JSON: stay uncached rather than cache it wrong
    from audit.errors import OutputError
    from audit.fsutil import write_atomic

    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(target, payload)
        _prune(target.parent)
    except (OSError, OutputError):
        pass


def _validity_marker(schema_name: str, text: str) -> Path | None:
    from audit import __version__

    directory = cache_dir()
    if directory is None:
        return None
    key = sha256(f"{CACHE_FORMAT}\0{__version__}\0{schema_name}\0".encode())
    try:
        key.update(sha256(_resources.schema_path(schema_name).read_bytes()).digest())
    except OSError:
        return None
    key.update(sha256(text.encode("utf-8", "surrogatepass")).digest())
    return directory / f"valid-{key.hexdigest()[:40]}"


def validated_before(schema_name: str, text: str) -> bool:
    """Whether exactly this text already passed ``schema_name`` (same schema, same
    version): a private marker in the cache dir, for data files other than checklists
    (the bundled advice) that every run would otherwise validate again."""
    marker = _validity_marker(schema_name, text)
    return marker is not None and marker.is_file() and _private(marker)


def remember_valid(schema_name: str, text: str) -> None:
    """Record that ``text`` passed ``schema_name``; a failure only costs speed."""
    marker = _validity_marker(schema_name, text)
    if marker is None:
        return
    from audit.errors import OutputError
    from audit.fsutil import write_atomic

    try:
        marker.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(marker, "")
        _prune(marker.parent, "valid-*", 4 * KEEP_CACHED)
    except (OSError, OutputError):
        pass


def _prune(directory: Path, pattern: str = "checklists-*.json", keep: int = KEEP_CACHED) -> None:
    """Keep the ``keep`` most recently written entries (edits make new keys)."""
    entries = []
    for entry in directory.glob(pattern):
        try:
            entries.append((entry.stat().st_mtime_ns, entry))
        except OSError:
            continue
    for _mtime, entry in sorted(entries, reverse=True)[keep:]:
        entry.unlink(missing_ok=True)


def _compile(paths: tuple[Path, ...], raws: list[bytes]) -> Checklists:
    result = Checklists()
    digest = sha256()
    owners: dict[str, str] = {}
    problems: list[Problem] = []
    for path, raw in zip(paths, raws, strict=True):
        digest.update(raw)
        text = decode(raw, str(path))
        data = parse(text, str(path), Limits())
        # Packaged checklists were schema-validated by the test suite before release;
        # files in a checkout (maybe mid-edit) and custom checklists are validated here.
        errors = [] if _resources.is_packaged(path) else validate(data, CHECKLIST_SCHEMA)
        if errors:
            problems.extend(schema_problems(errors, str(path), text))
            continue
        for kind in ("params", "conditions"):
            for name, spec in data.get(kind, {}).items():
                key = f"{kind}:{name}"
                if key in owners:
                    problems.append(Problem(
                        f"{kind[:-1]} {name!r} is already defined in {owners[key]}",
                        file=str(path), pointer=join("", kind, name)))
                    continue
                owners[key] = str(path)
                if kind == "params":
                    result.params[name] = spec["default"]
                    result.param_descriptions[name] = spec["description"]
                else:
                    result.conditions[name] = spec["condition"]
        for index, raw_check in enumerate(data["checks"]):
            check_id = raw_check["id"]
            if f"check:{check_id}" in owners:
                problems.append(Problem(
                    f"check id {check_id} is already defined in {owners['check:' + check_id]}",
                    file=str(path), pointer=join("", "checks", index, "id")))
                continue
            owners[f"check:{check_id}"] = str(path)
            result.checks.append(_check(raw_check, str(path), join("", "checks", index)))
    if problems:
        raise ChecklistError(problems)
    problems = _semantic_problems(result, owners)
    if problems:
        raise ChecklistError(problems)
    result.digest = digest.hexdigest()
    return result


def _check(raw: dict[str, Any], source: str, origin: str) -> Check:
    return Check(
        id=raw["id"], title=raw["title"], area=raw["area"], severity=Severity(raw["severity"]),
        description=raw["description"], severity_reason=raw["severity_reason"],
        remediation=raw["remediation"],
        reference=Reference(raw["reference"]["section"], raw["reference"]["passage"]),
        reads=(), pass_if=raw["pass_if"], applies_if=raw.get("applies_if"),
        for_each=raw.get("for_each"), where_in_ibkr=raw.get("where_in_ibkr"), source=source,
        origin=origin, severity_if=raw.get("severity_if"), change=raw.get("change"),
        verify_in_ibkr=raw.get("verify_in_ibkr"), where_by_interface=raw.get("where"),
        standalone=raw.get("standalone", False),
    )


def walk(node: Any) -> Iterator[tuple[dict[str, Any], int]]:
    """Every condition node below ``node`` with its loop depth (for ``@`` scoping)."""
    stack: list[tuple[Any, int]] = [(node, 0)]
    while stack:
        current, depth = stack.pop()
        if not isinstance(current, dict):
            continue
        yield current, depth
        for key in ("all", "any", "of"):
            stack.extend((child, depth) for child in current.get(key, []))
        if "not" in current:
            stack.append((current["not"], depth))
        if "where" in current:
            stack.append((current["where"], depth + 1))
        for op in LEAF_OPERATORS:
            value = current.get(op)
            if isinstance(value, dict) and "collect" in value and "where" in value:
                stack.append((value["where"], depth + 1))


def _pointers(node: dict[str, Any]) -> list[str]:
    found = [node[k] for k in ("fact", "some", "every") if isinstance(node.get(k), str)]
    for op in LEAF_OPERATORS:
        value = node.get(op)
        if isinstance(value, dict):
            found.extend(value[k] for k in ("fact", "lookup", "collect")
                         if isinstance(value.get(k), str))
    return found


def _semantic_problems(lists: Checklists, owners: dict[str, str]) -> list[Problem]:
    problems: list[Problem] = []
    reads_item: dict[str, bool] = {}

    def needs_item(name: str, seen: frozenset[str] = frozenset()) -> bool:
        """Whether named condition ``name`` reads the enclosing loop's item ('@'), itself
        or through a condition it refers to, outside a loop of its own."""
        if name not in reads_item:
            tree = lists.conditions.get(name)
            reads_item[name] = tree is not None and name not in seen and any(
                depth == 0 and (any(p.startswith("@") for p in _pointers(node)) or (
                    "ref" in node and needs_item(node["ref"], seen | {name})))
                for node, depth in walk(tree))
        return reads_item[name]

    def check_tree(tree: Any, in_loop: bool, file: str, pointer: str) -> None:
        for node, depth in walk(tree):
            if "ref" in node and node["ref"] not in lists.conditions:
                problems.append(Problem(f"unknown condition {node['ref']!r}", file=file,
                                        pointer=pointer))
            for op in LEAF_OPERATORS:
                value = node.get(op)
                if (isinstance(value, dict) and "param" in value
                        and value["param"] not in lists.params):
                    problems.append(Problem(f"unknown parameter {value['param']!r}", file=file,
                                            pointer=pointer))
            # A named condition may be used inside a loop, so '@' is allowed there.
            if not in_loop and depth == 0 and any(p.startswith("@") for p in _pointers(node)):
                problems.append(Problem("'@' is only meaningful inside for_each, some, every or "
                                        "collect", file=file, pointer=pointer))
            elif (not in_loop and depth == 0 and "ref" in node
                  and node["ref"] in lists.conditions and needs_item(node["ref"])):
                problems.append(Problem(f"condition {node['ref']!r} reads '@' (the item of a "
                                        "loop) and is used outside for_each, some, every or "
                                        "collect", file=file, pointer=pointer))

    for name, tree in lists.conditions.items():
        check_tree(tree, True, owners[f"conditions:{name}"], join("", "conditions", name))
    for check in lists.checks:
        for key in ("applies_if", "pass_if"):
            tree = getattr(check, key)
            if tree is not None:
                check_tree(tree, check.for_each is not None, check.source, f"{check.origin}/{key}")
        for index, rule in enumerate(check.severity_if or []):
            check_tree(rule["when"], check.for_each is not None, check.source,
                       f"{check.origin}/severity_if/{index}/when")
    problems.extend(Problem("'standalone' is only for configuration-file checks (for_each "
                            "under /$files/)", file=c.source, pointer=f"{c.origin}/standalone")
                    for c in lists.checks
                    if c.standalone and not (c.for_each or "").startswith("/$files/"))
    problems.extend(_cycles(lists, owners))
    if not problems:
        for index, check in enumerate(lists.checks):
            lists.checks[index] = _with_reads(check, lists.conditions)
    return problems


def _cycles(lists: Checklists, owners: dict[str, str]) -> list[Problem]:
    def refs(name: str) -> set[str]:
        return {n["ref"] for n, _ in walk(lists.conditions[name]) if "ref" in n}

    problems = []
    for start in lists.conditions:
        seen, frontier = set(), refs(start)
        while frontier:
            name = frontier.pop()
            if name == start:
                problems.append(Problem(f"condition {start!r} refers to itself (through refs)",
                                        file=owners[f"conditions:{start}"],
                                        pointer=join("", "conditions", start)))
                break
            if name in seen or name not in lists.conditions:
                continue
            seen.add(name)
            frontier |= refs(name)
    return problems


def _with_reads(check: Check, conditions: dict[str, Any]) -> Check:
    """The facts a check reads, derived from its conditions so it can never drift.

    Pointers inside a loop are shown with ``*`` for "each item": ``/devices/*/shared``.
    """
    reads: list[str] = [check.for_each] if check.for_each else []

    def add(pointer: str) -> None:
        if pointer not in reads:
            reads.append(pointer)

    def visit(node: Any, scope: str, seen: frozenset[str]) -> None:
        if not isinstance(node, dict):
            return

        def res(pointer: str) -> str:
            return scope + pointer[1:] if pointer.startswith("@") else pointer

        for key in ("all", "any", "of"):
            for child in node.get(key, []):
                visit(child, scope, seen)
        if "not" in node:
            visit(node["not"], scope, seen)
        if "ref" in node and node["ref"] not in seen:
            visit(conditions[node["ref"]], scope, seen | {node["ref"]})
        if "secret_scan" in node:
            add("")  # the whole document, keys included
        if node.get("probe") == "keyring_entry":
            add("/automation/credentials/keyring_service")
            add("/automation/credentials/keyring_username")
        if node.get("probe") in ("drill_enrolled", "drill_seeds_strong"):
            add("/login/backup_authenticators")  # the device names seeds are enrolled under
        for pointer in _pointers(node):
            add(res(pointer))
        for quantifier in ("some", "every"):
            if quantifier in node:
                visit(node["where"], res(node[quantifier]) + "/*", seen)
        for op in LEAF_OPERATORS:
            value = node.get(op)
            if isinstance(value, dict) and isinstance(value.get("collect"), str):
                inner = res(value["collect"]) + "/*"
                if "field" in value:
                    add(inner + value["field"])
                visit(value.get("where"), inner, seen)

    scope = (check.for_each or "") + "/*"
    for tree in (check.applies_if, check.pass_if):
        visit(tree, scope, frozenset())
    for rule in check.severity_if or []:
        visit(rule["when"], scope, frozenset())
    return Check(**{**check.__dict__, "reads": tuple(reads)})


def select(lists: Checklists, only: Iterable[str] = (), skip: Iterable[str] = ()) -> list[Check]:
    """Checks chosen by id or area; an unknown id or area is a usage error."""
    only, skip = list(only), list(skip)
    ids = {c.id for c in lists.checks}
    areas = {c.area for c in lists.checks}
    unknown = [n for n in only + skip if n.upper() not in ids and n.lower() not in areas]
    if unknown:
        raise UsageError([Problem(
            f"--only/--skip {name!r}: no check or area of that name"
            + suggest(name, sorted(ids | areas))) for name in unknown])

    def matches(check: Check, names: list[str]) -> bool:
        return any(n.upper() == check.id or n.lower() == check.area for n in names)

    return [c for c in lists.checks
            if (not only or matches(c, only)) and not matches(c, skip)]


def suggest(name: str, known: list[str]) -> str:
    """``; did you mean X?`` for the closest known names, or nothing."""
    from difflib import get_close_matches

    close = get_close_matches(name.upper(), [k.upper() for k in known], n=3, cutoff=0.6)
    originals = [k for k in known if k.upper() in close]
    return f"; did you mean {', '.join(originals)}?" if originals else ""


def dump_check(check: Check) -> dict[str, Any]:
    """A check as plain data (for ``checks --format json`` and ``explain``)."""
    data: dict[str, Any] = json.loads(json.dumps({
        "id": check.id, "title": check.title, "area": check.area,
        "severity": check.severity.value, "severity_reason": check.severity_reason,
        "description": check.description, "reads": list(check.reads),
        "for_each": check.for_each, "applies_if": check.applies_if, "pass_if": check.pass_if,
        "severity_if": check.severity_if, "change": check.change,
        "remediation": check.remediation, "where_in_ibkr": check.where_in_ibkr,
        "where": check.where_by_interface, "verify_in_ibkr": check.verify_in_ibkr,
        "reference": {"section": check.reference.section, "passage": check.reference.passage},
        "source": check.source,
    }))
    return data
