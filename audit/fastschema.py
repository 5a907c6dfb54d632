"""A compiled fast path for validating setups against the setup schema.

jsonschema is the authority: it produces every error message, and it decides
whenever this fast path says "invalid". This module only answers "valid?" for
the common case without importing jsonschema (~40 ms and several MiB). It
compiles the schema once into closures and understands exactly the keywords the
setup schema uses; any other keyword makes :func:`compile_schema` give up, and
callers then always use jsonschema. A differential property test checks that it
never accepts a document jsonschema rejects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]
IGNORED = {"$schema", "$id", "title", "description", "$defs"}


class Unsupported(Exception):
    pass


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "number": _is_number,
    "integer": lambda v: _is_number(v) and (isinstance(v, int) or float(v).is_integer()),
    "null": lambda v: v is None,
}


def _canonical(value: Any) -> Any:
    """JSON equality: 1 == 1.0, but true != 1."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, int | float):
        # Not float(value): an integer past 1e308 would overflow (issue 14). Python
        # compares and hashes 1 and 1.0 alike, so JSON equality holds as it is.
        return ("number", value)
    if isinstance(value, list):
        return ("array", tuple(_canonical(v) for v in value))
    return ("object", tuple(sorted((k, _canonical(v)) for k, v in value.items())))


def _every(checks: list[Check]) -> Check:
    """All of ``checks``, without a generator per call."""
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)

    def every(v: Any) -> bool:
        for check in checks:  # noqa: SIM110 - all() would make a generator per value
            if not check(v):
                return False
        return True

    return every


def _type_test(kinds: list[str]) -> Check:
    tests = [TYPES[k] for k in kinds]
    if len(tests) == 1:
        return tests[0]
    return lambda v: any(t(v) for t in tests)


def _enum_test(values: list[Any]) -> Check:
    if values and all(type(v) is str for v in values):
        # _canonical(v) is ("str", v) exactly when v is a str: the same answer, no tuple.
        strings = frozenset(values)
        return lambda v: type(v) is str and v in strings
    allowed = {_canonical(v) for v in values}
    return lambda v: _canonical(v) in allowed


def compile_schema(schema: Mapping[str, Any], formats: Mapping[str, Check]) -> Check:
    """A predicate equivalent to validating against ``schema``; raises Unsupported.

    Each schema node becomes one closure, compiled once: a node's keywords are
    checked in one chain (no generator per value), an object's keys look up the
    rules that apply to them in a table made on first sight of each key.
    """
    defs = schema.get("$defs", {})
    cache: dict[str, Check] = {}

    def ref(target: str) -> Check:
        name = target.rsplit("/", 1)[1]
        if not target.startswith("#/$defs/") or name not in defs:
            raise Unsupported(target)
        if name not in cache:
            cache[name] = lambda v: compiled[name](v)  # late-bound for recursion
            compiled[name] = build(defs[name])
        return cache[name]

    compiled: dict[str, Check] = {}

    def build(node: Mapping[str, Any]) -> Check:
        checks: list[Check] = []
        unknown = set(node) - IGNORED - {
            "$ref", "type", "enum", "const", "properties", "required", "patternProperties",
            "additionalProperties", "items", "uniqueItems", "minimum", "maximum",
            "exclusiveMinimum", "minLength", "maxLength", "format", "pattern"}
        if unknown:
            raise Unsupported(", ".join(sorted(unknown)))
        if "$ref" in node:
            checks.append(ref(node["$ref"]))
        if "type" in node:
            kinds = node["type"] if isinstance(node["type"], list) else [node["type"]]
            checks.append(_type_test(kinds))
        if "enum" in node:
            checks.append(_enum_test(node["enum"]))
        if "const" in node:
            const = _canonical(node["const"])
            checks.append(lambda v: _canonical(v) == const)
        if "minimum" in node:
            low = node["minimum"]
            checks.append(lambda v: not _is_number(v) or v >= low)
        if "maximum" in node:
            high = node["maximum"]
            checks.append(lambda v: not _is_number(v) or v <= high)
        if "exclusiveMinimum" in node:
            floor = node["exclusiveMinimum"]
            checks.append(lambda v: not _is_number(v) or v > floor)
        if "minLength" in node:
            shortest = node["minLength"]
            checks.append(lambda v: not isinstance(v, str) or len(v) >= shortest)
        if "maxLength" in node:
            longest = node["maxLength"]
            checks.append(lambda v: not isinstance(v, str) or len(v) <= longest)
        if "pattern" in node:
            regex = re.compile(node["pattern"])
            checks.append(lambda v: not isinstance(v, str) or regex.search(v) is not None)
        if "format" in node:
            if node["format"] not in formats:
                raise Unsupported(node["format"])
            checks.append(formats[node["format"]])
        if "items" in node:
            item = build(node["items"])

            def items(v: Any) -> bool:
                if isinstance(v, list):
                    for x in v:
                        if not item(x):
                            return False
                return True

            checks.append(items)
        if node.get("uniqueItems"):
            checks.append(lambda v: not isinstance(v, list)
                          or len({_canonical(x) for x in v}) == len(v))
        if "properties" in node or "required" in node or "additionalProperties" in node:
            checks.append(_object(node, build))
        return _every(checks) if checks else (lambda v: True)

    return build(schema)


# Distinct keys an object node remembers the rules of (the setup schema's own keys, and
# a bounded number of others: custom notes); past it, keys are looked at each time.
KEYS_REMEMBERED = 512


def _object(node: Mapping[str, Any], build: Callable[[Mapping[str, Any]], Check]) -> Check:
    props = {k: build(v) for k, v in node.get("properties", {}).items()}
    required = tuple(node.get("required", ()))
    patterns = [(re.compile(p), build(s)) for p, s in node.get("patternProperties", {}).items()]
    extra = node.get("additionalProperties", True)
    if extra not in (True, False):
        raise Unsupported("additionalProperties schema")
    # key -> the rules its value must pass (its property's, then every matching
    # pattern's), or None when no rule names it and additionalProperties is false.
    seen: dict[str, tuple[Check, ...] | None] = {}

    def rules_for(key: str) -> tuple[Check, ...] | None:
        found = seen.get(key, False)
        if found is not False:
            return found  # type: ignore[return-value]
        rules = [props[key]] if key in props else []
        rules.extend(rule for regex, rule in patterns if regex.search(key))
        result = tuple(rules) if rules or extra is not False else None
        if len(seen) < KEYS_REMEMBERED:
            seen[key] = result
        return result

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for name in required:
            if name not in value:
                return False
        for key, item in value.items():
            rules = rules_for(key)
            if rules is None:
                return False
            for rule in rules:
                if not rule(item):
                    return False
        return True

    return check
