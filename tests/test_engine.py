"""The condition language: three-valued logic, operators, evidence, scoping."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from audit.engine.conditions import Context, Evaluator
from audit.pointer import MISSING, join, resolve, split
from audit.secrets.scan import Redactor

DOC = {
    "a": True, "n": 3, "s": "x", "list": ["p", "q"], "d": "2026-11-01",
    "items": [{"name": "one", "ok": True}, {"name": "two", "ok": False}, {"name": "three"}],
    "ips": ["127.0.0.1"],
}


def ev(node: dict[str, Any], doc: Any = None, **params: Any) -> Any:
    ctx = Context(document=DOC if doc is None else doc, params=params,
                  conditions={"is_a": {"fact": "/a", "equals": True}},
                  as_of=dt.date(2026, 11, 25), redactor=Redactor())
    return Evaluator(ctx).eval(node)


T, F, U = True, False, None
LEAF_T = {"fact": "/a", "equals": True}
LEAF_F = {"fact": "/a", "equals": False}
LEAF_U = {"fact": "/missing", "equals": True}


@pytest.mark.parametrize("node, value", [
    ({"all": [LEAF_T, LEAF_T]}, T), ({"all": [LEAF_T, LEAF_F]}, F), ({"all": [LEAF_T, LEAF_U]}, U),
    ({"all": [LEAF_F, LEAF_U]}, F), ({"any": [LEAF_F, LEAF_U]}, U), ({"any": [LEAF_T, LEAF_U]}, T),
    ({"any": [LEAF_F, LEAF_F]}, F), ({"not": LEAF_T}, F), ({"not": LEAF_U}, U),
    ({"at_least": 2, "of": [LEAF_T, LEAF_T, LEAF_F]}, T),
    ({"at_least": 2, "of": [LEAF_T, LEAF_U, LEAF_F]}, U),
    ({"at_least": 2, "of": [LEAF_T, LEAF_F, LEAF_F]}, F),
    ({"ref": "is_a"}, T),
    ({"fact": "/missing", "equals": True, "if_missing": False}, F),
    ({"fact": "/s", "equals": "x", "missing_values": ["x"]}, U),
])
def test_three_valued_logic(node: dict[str, Any], value: bool | None) -> None:
    assert ev(node).value is value


@pytest.mark.parametrize("op, operand, value", [
    ("equals", 3, T), ("equals", 3.0, T), ("not_equals", 4, T), ("at_least", 3, T),
    ("at_least", 4, F), ("at_most", 2, F), ("one_of", [1, 3], T), ("not_one_of", [3], F),
])
def test_numeric_operators(op: str, operand: Any, value: bool) -> None:
    assert ev({"fact": "/n", op: operand}).value is value


def test_booleans_are_not_numbers() -> None:
    assert ev({"fact": "/a", "equals": 1}).value is False
    assert ev({"fact": "/a", "at_least": 0}).value is False


@pytest.mark.parametrize("op, operand, value", [
    ("contains", "p", T), ("contains", "z", F), ("contains_any", ["z", "q"], T),
    ("contains_none", ["q"], F), ("length_at_least", 2, T), ("length_at_most", 1, F),
])
def test_list_operators(op: str, operand: Any, value: bool) -> None:
    assert ev({"fact": "/list", op: operand}).value is value


def test_within_days_uses_as_of_and_params() -> None:
    assert ev({"fact": "/d", "within_days": 30}).value is True
    assert ev({"fact": "/d", "within_days": 10}).value is False
    assert ev({"fact": "/d", "within_days": {"param": "age"}}, age=24).value is True
    assert ev({"fact": "/d", "within_days": 5}, doc={"d": "2026-12-01"}).value is False


def test_quantifiers_and_item_scope() -> None:
    some_ok = {"some": "/items", "where": {"fact": "@/ok", "equals": True}}
    every_ok = {"every": "/items", "where": {"fact": "@/ok", "equals": True}}
    assert ev(some_ok).value is True
    result = ev(every_ok)
    assert result.value is False
    assert [e.pointer for e in result.evidence] == ["/items/1/ok"]
    assert ev({"some": "/items", "where": {"fact": "@/ok", "equals": False}}).value is True
    assert ev({"every": "/nothing", "where": LEAF_T}).value is None
    assert ev({"some": "/items", "where": LEAF_F}, doc={"items": [], "a": True}).value is False


def test_collect_and_lookup_operands() -> None:
    names = {"collect": "/items", "where": {"fact": "@/ok", "equals": True}, "field": "/name"}
    assert ev({"fact": "/s", "not_one_of": names}, doc={**DOC, "s": "one"}).value is False
    lookup = {"lookup": "/s", "table": {"x": ["y"]}}
    assert ev({"fact": "/s", "one_of": lookup}, doc={**DOC}).value is False
    result = ev({"fact": "/s", "one_of": {"lookup": "/s", "table": {}}})
    assert result.value is None and "no rule" in result.evidence[0].expected


def test_ips_within() -> None:
    spec = {"allow": ["loopback", "private"], "min_prefix_v4": 24, "max_items": 2}
    for ips, value in [(["127.0.0.1"], T), (["10.0.0.0/24"], T), (["10.0.0.0/16"], F),
                       (["0.0.0.0/0"], F), (["1.1.1.1"], F), (["::1"], T),
                       (["127.0.0.1", "10.0.0.1", "10.0.0.2"], F)]:
        assert ev({"fact": "/ips", "ips_within": spec}, doc={"ips": ips}).value is value, ips


def test_evidence_for_missing_fact_points_where_it_belongs() -> None:
    result = ev({"fact": "/deep/missing/leaf", "equals": True})
    assert result.value is None
    assert result.evidence[0].pointer == "/deep/missing/leaf"
    assert result.evidence[0].actual is None


def test_pointer_round_trip() -> None:
    doc = {"a/b": {"c~d": [10, 20]}}
    pointer = join("", "a/b", "c~d", 1)
    assert pointer == "/a~1b/c~0d/1"
    assert split(pointer) == ["a/b", "c~d", "1"]
    assert resolve(doc, pointer) == 20
    assert resolve(doc, "/a~1b/c~0d/2") is MISSING
    assert resolve(doc, "/a~1b/c~0d/01") is MISSING
    with pytest.raises(ValueError, match="must start with"):
        split("a")
