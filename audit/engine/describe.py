"""Conditions in words, for ``explain``: generated from the data, so never stale."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from audit.engine.conditions import LEAF_OPERATORS

_OP_WORDS = {
    "equals": "is", "not_equals": "is not", "one_of": "is one of", "not_one_of": "is none of",
    "at_least": "is at least", "at_most": "is at most", "contains": "contains",
    "contains_any": "contains any of", "contains_none": "contains none of",
    "contains_all": "contains all of",
    "length_at_least": "has at least this many items:",
    "length_at_most": "has at most this many items:",
    "within_days": "is a date no more than this many days before the audit date:",
    "days_until_at_least": "is a date at least this many days after the audit date:",
}


def _subject(pointer: str) -> str:
    if pointer == "@":
        return "the item"
    if pointer.startswith("@/"):
        return f"the item's {pointer[2:]}"
    return pointer or "the whole file"


def _operand(value: Any, params: Mapping[str, Any]) -> str:
    if isinstance(value, dict):
        if "param" in value:
            name = value["param"]
            return f"{params.get(name, '?')} (parameter {name})"
        if "fact" in value:
            return f"the value of {_subject(value['fact'])}"
        if "lookup" in value:
            return f"the entry for {_subject(value['lookup'])} in a table of {len(value['table'])}"
        if "collect" in value:
            field = value.get("field", "").lstrip("/") or "values"
            where = ""
            if "where" in value:
                where = " where " + "; ".join(
                    line.strip() for line in describe(value["where"], {}, params))
            return f"the {field} of each item of {_subject(value['collect'])}{where}"
    if isinstance(value, list):
        return ", ".join(v if isinstance(v, str) else json.dumps(v) for v in value)
    return value if isinstance(value, str) else json.dumps(value)


def describe(node: Any, conditions: Mapping[str, Any], params: Mapping[str, Any],
             indent: int = 0) -> list[str]:
    """Lines describing ``node``; nested conditions are indented by two spaces."""
    pad = "  " * indent
    if not isinstance(node, dict):
        return [f"{pad}(nothing)"]

    def nested(header: str, children: list[Any]) -> list[str]:
        lines = [pad + header]
        for child in children:
            lines.extend(describe(child, conditions, params, indent + 1))
        return lines

    if "all" in node:
        return nested("all of:", node["all"])
    if "any" in node:
        return nested("any of:", node["any"])
    if "not" in node:
        return nested("not:", [node["not"]])
    if "of" in node:
        return nested(f"at least {node['at_least']} of:", node["of"])
    if "ref" in node:
        return nested(f"{node['ref']}, that is:", [conditions.get(node["ref"])])
    for key, word in (("some", "some item of"), ("every", "every item of")):
        if key in node:
            return nested(f"{word} {node[key]} where:", [node["where"]])
    if "secret_scan" in node:
        scanned_for = node["secret_scan"]
        what = ("no credential (password, TOTP seed, token) anywhere in the file"
                if scanned_for == "credentials" else
                "no IBKR account number anywhere in the file")
        return [f"{pad}{what}"]
    if "probe" in node:
        probes = {"keyring_requested": "the run was asked to look in the OS keyring "
                                       "(--check-keyring)",
                  "keyring_entry": "the OS keyring holds the declared entry "
                                   "(service and user name)",
                  "drill_enrolled": "a drill seed is enrolled under a declared backup "
                                    "device ('ibkr-audit drill --enroll DEVICE')",
                  "drill_seeds_strong": "every enrolled drill seed has at least 128 bits"}
        return [pad + probes.get(str(node["probe"]), str(node["probe"]))]
    op = next((k for k in LEAF_OPERATORS if k in node), None)
    if op is None:
        return [f"{pad}(unrecognised condition)"]
    subject = _subject(node["fact"])
    if op == "declared":
        text = f"{subject} is declared"
    elif op == "present":
        text = f"{subject} is {'present' if node[op] else 'absent'}"
    elif op == "ips_within":
        spec = node[op]
        text = (f"{subject} lists only {' or '.join(spec['allow'])} addresses"
                + (f", IPv4 ranges no wider than /{spec['min_prefix_v4']}"
                   if "min_prefix_v4" in spec else "")
                + (f", at most {spec['max_items']} entries" if "max_items" in spec else ""))
    else:
        text = f"{subject} {_OP_WORDS[op]} {_operand(node[op], params)}"
    if "if_missing" in node:
        text += f" (counts as {'true' if node['if_missing'] else 'false'} when not declared)"
    if "missing_values" in node:
        text += " (" + ", ".join(map(str, node["missing_values"])) + " counts as not declared)"
    return [pad + text]
