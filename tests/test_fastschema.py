"""The compiled setup-schema fast path answers exactly what jsonschema answers.

jsonschema stays the authority (it produces every message); ``audit.fastschema``
only says "valid?" without importing it. Besides the property tests in
``test_properties.py``, these compare both on every example and test asset and on
seeded mutants of the examples: every value replaced by values of other types and
edge values, unknown and ``x-`` keys added to every object, required keys removed.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from audit import fastschema
from audit.schema import _fast_validator, _is_date, _is_network, load_schema, validate
from tests.conftest import ASSETS, EXAMPLES, load_example

FAST = _fast_validator("setup.schema.json")
REPLACEMENTS: list[Any] = [None, True, False, 0, -1, 1.5, 10**400, "", "x" * 300, "2026-02-30",
                           "2026-11-25", "127.0.0.1", "not an address", [], [1, 1], ["a"], {},
                           {"x-note": 1}, "U1234567", "totp_app", "high", "api"]


def agree(doc: Any) -> bool:
    fast = FAST(doc)
    assert fast is (validate(doc) == []), json.dumps(doc)[:400]
    return fast


def places(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a document, containers included (not the root)."""
    if path:
        yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from places(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from places(value, (*path, index))


def put(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    copied = copy.deepcopy(doc)
    node = copied
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copied


@pytest.mark.parametrize("path", sorted([*EXAMPLES.glob("*.json"), *ASSETS.glob("**/*.json")]),
                         ids=lambda p: p.name)
def test_examples_and_assets(path: Path) -> None:
    def refuse(name: str) -> Any:
        raise ValueError(name)  # NaN and Infinity never reach validation

    try:
        doc = json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)
    except (UnicodeDecodeError, ValueError):
        pytest.skip("not JSON")
    agree(doc)


@pytest.mark.parametrize("name", ["maya", "secure", "minimal", "maya-live"])
def test_seeded_mutants_of_the_examples(name: str) -> None:
    rng = random.Random(name)  # noqa: S311 - reproducible test data, not secrets
    base = load_example(name)
    verdicts = []
    for path in list(places(base)):
        for value in rng.sample(REPLACEMENTS, 4):
            verdicts.append(agree(put(base, path, value)))
        parent = put(base, path, None)  # the same place, emptied
        verdicts.append(agree(parent))
    for path in [(), *places(base)]:
        node: Any = base
        for step in path:
            node = node[step]
        if isinstance(node, dict):
            for key in ("unknown", "x-note", "x-", "X-note"):
                added = copy.deepcopy(base)
                target = added
                for step in path:
                    target = target[step]
                target[key] = "note"
                verdicts.append(agree(added))
            for key in list(node):
                removed = copy.deepcopy(base)
                target = removed
                for step in path:
                    target = target[step]
                del target[key]
                verdicts.append(agree(removed))
    assert True in verdicts and False in verdicts  # both answers were compared


def test_the_key_table_is_bounded() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}},
              "patternProperties": {"^x-": {"type": "integer"}}, "additionalProperties": False}
    check = fastschema.compile_schema(schema, {"date": _is_date, "ip-network": _is_network})
    many = {f"x-{i}": i for i in range(fastschema.KEYS_REMEMBERED * 3)}
    assert check(many) is True
    assert check({**many, "x-late": "text"}) is False  # a key past the table still checked
    assert check({**many, "b": 1}) is False
    assert check({"a": "s", "x-1": 1}) is True
    assert check({"a": 1}) is False


def test_enums_keep_json_equality() -> None:
    formats = {"date": _is_date, "ip-network": _is_network}
    strings = fastschema.compile_schema({"enum": ["a", "b"]}, formats)
    assert [strings(v) for v in ("a", "c", 1, None, ["a"])] == [True, False, False, False, False]
    mixed = fastschema.compile_schema({"enum": [1, "a", None]}, formats)
    assert [mixed(v) for v in (1.0, True, "a", None, 2)] == [True, False, True, True, False]


def test_the_setup_schema_compiles() -> None:
    assert FAST is not None
    assert load_schema()["$defs"]
