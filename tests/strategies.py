"""Hypothesis strategies: valid setups generated from our own JSON Schema, and mutants.

Covers exactly the keywords setup.schema.json uses; an unknown keyword fails loudly
so a schema change cannot silently narrow what the property tests explore.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import strategies as st

from audit.schema import load_schema

SCHEMA = load_schema()
KNOWN = {"$schema", "$id", "title", "description", "type", "properties", "required",
         "patternProperties", "additionalProperties", "$ref", "$defs", "enum", "const", "items",
         "uniqueItems", "minimum", "maximum", "exclusiveMinimum", "minLength", "maxLength",
         "format", "pattern"}

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)

FORMATS = {
    "date": st.dates(dt.date(2020, 1, 1), dt.date(2028, 12, 31)).map(dt.date.isoformat),
    "ip-network": st.sampled_from(["127.0.0.1", "::1", "10.0.0.0/24", "10.0.0.0/8",
                                   "192.168.1.7", "0.0.0.0/0", "8.8.8.8", "fe80::1"]),
}
# Real-looking strings in some fields make the checks do more than reject everything.
STRINGS = {"device": st.sampled_from(["laptop", "iphone", "yubikey", "ipad"]),
           "name": st.sampled_from(["laptop", "iphone", "Maya", "server"])}


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        resolved: dict[str, Any] = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]]
        node = {**resolved, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def from_schema(node: dict[str, Any], name: str = "") -> st.SearchStrategy[Any]:
    node = _resolve(node)
    unknown = set(node) - KNOWN
    assert not unknown, f"strategies.py does not understand {unknown}"
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(node.get("minimum", -1000), node.get("maximum", 100_000))
    if kind == "number":
        low = node.get("minimum", node.get("exclusiveMinimum", -1000))
        return st.floats(low, node.get("maximum", 1e6), allow_nan=False,
                         exclude_min="exclusiveMinimum" in node)
    if kind == "string":
        if "format" in node:
            return FORMATS[node["format"]]
        if "pattern" in node:  # check ids: mostly real ones, so waivers do something
            from audit.engine import checklist

            real = sorted(c.id for c in checklist.load().checks)
            return st.one_of(st.sampled_from(real), st.from_regex(node["pattern"],
                                                                  fullmatch=True))
        if name in STRINGS:
            return STRINGS[name]
        return st.text(min_size=node.get("minLength", 0), max_size=min(node.get("maxLength", 30),
                                                                       30))
    if kind == "array":
        items = from_schema(node["items"], name)
        return st.lists(items, max_size=4, unique_by=(lambda v: json.dumps(v, sort_keys=True))
                        if node.get("uniqueItems") else None)
    if kind == "object" or "properties" in node:
        props = node.get("properties", {})
        required = set(node.get("required", []))
        fields = {k: from_schema(v, k) for k, v in props.items()}
        optional = [k for k in props if k not in required]

        @st.composite
        def build(draw: st.DrawFn) -> dict[str, Any]:
            chosen = draw(st.lists(st.sampled_from(optional), unique=True)) if optional else []
            out = {k: draw(fields[k]) for k in props if k in required or k in chosen}
            if "patternProperties" in node and draw(st.booleans()):
                out["x-" + draw(st.text(max_size=6))] = draw(json_value)
            return out

        return build()
    return json_value


valid_setups = from_schema(SCHEMA)

# Hostile values (issue 14): integers past any sane size (and past Python's 4,300-digit
# int/str limit), floats that overflow to Infinity, lone surrogates in strings.
HOSTILE_MARK = "\u2603hostile\u2603"
huge_numbers = st.one_of(
    st.integers(31, 6000).map(lambda n: "9" * n),
    st.integers(31, 6000).map(lambda n: "-" + "1" * n),
    st.sampled_from(["1e400", "-1e400", "1.5E+309", "123456789e999"]),
)
lone_surrogates = st.sampled_from(['"\\ud800"', '"a\\udfff b"', '"\\udc80x"',
                                   '["\\ud834"]', '{"\\ud800": 1}'])


def _pointers(doc: Any, base: str = "") -> list[str]:
    out = [base]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _pointers(v, f"{base}/{k.replace('~', '~0').replace('/', '~1')}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _pointers(v, f"{base}/{i}")
    return out


@st.composite
def mutated_setups(draw: st.DrawFn) -> str:
    """A setup broken in one of the ways real files break, as text."""
    doc = draw(valid_setups)
    how = draw(st.sampled_from(["replace", "delete", "unknown_key", "truncate", "nest",
                                "wrap", "nan", "duplicate", "bytes", "huge_number",
                                "surrogate", "many_unknown"]))
    if how in ("huge_number", "surrogate"):  # hostile values at any place (issue 14)
        how = "replace_" + how
    if how.startswith("replace_"):
        pointer = draw(st.sampled_from(_pointers(doc)[1:] or [""]))
        if pointer:
            *parents, last = [t.replace("~1", "/").replace("~0", "~")
                              for t in pointer[1:].split("/")]
            node = doc
            for t in parents:
                node = node[int(t)] if isinstance(node, list) else node[t]
            node[int(last) if isinstance(node, list) else last] = HOSTILE_MARK
        else:
            doc["x-hostile"] = HOSTILE_MARK
        literal = draw(huge_numbers) if how == "replace_huge_number" else draw(lone_surrogates)
        text = json.dumps(doc, indent=draw(st.sampled_from([None, 2])))
        return text.replace(json.dumps(HOSTILE_MARK), literal)
    if how == "many_unknown":
        for index in range(draw(st.integers(90, 400))):
            doc[f"unknown{index}"] = index
    elif how in ("replace", "delete"):
        pointer = draw(st.sampled_from(_pointers(doc)[1:]))
        *parents, last = [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]
        node = doc
        for t in parents:
            node = node[int(t)] if isinstance(node, list) else node[t]
        key: Any = int(last) if isinstance(node, list) else last
        if how == "replace":
            node[key] = draw(json_value)
        else:
            del node[key]
    elif how == "unknown_key":
        doc[draw(st.sampled_from(["profil", "Login", "devices2", "permission"]))] = {}
    text = json.dumps(doc, indent=draw(st.sampled_from([None, 2])))
    if how == "truncate":
        text = text[:draw(st.integers(0, max(0, len(text) - 1)))]
    elif how == "nest":
        depth = draw(st.integers(60, 300))
        text = text[:-1] + ', "x-deep": ' + "[" * depth + "]" * depth + "}"
    elif how == "wrap":
        text = f"[{text}]"
    elif how == "nan":
        text = text[:-1] + ', "x-n": NaN}'
    elif how == "duplicate":
        text = text[:-1] + ', "schema_version": 1}'
    elif how == "bytes":
        raw = bytearray(text.encode())
        raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        return raw.decode("latin-1")
    return text
