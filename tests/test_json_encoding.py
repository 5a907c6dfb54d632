"""The fast JSON encoder writes exactly the stdlib's bytes, or lets the stdlib write them."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.reports import json_report
from audit.reports.json_report import dumps
from tests.conftest import AS_OF, EXAMPLES, invoke

orjson = pytest.importorskip("orjson")


def stdlib(value: Any, indent: bool) -> str:
    # Strict JSON, as every report is written (issue 14): NaN/Infinity raise ValueError.
    if indent:
        return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e-7, 1e-5, 1e16, 1.5e300, 0.1, -0.0, 5e-324, 123456789.125]),
    st.text(), st.text(st.characters(codec="utf-8", exclude_categories=())),
    st.sampled_from(["\ud800", "a\udfffb", "\u2028\u2029\x7f\x00\x1f", "é😀\"\\/"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner),
    st.dictionaries(st.text(max_size=6), inner, max_size=4)), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(value=values, indent=st.booleans())
def test_same_bytes_as_the_stdlib_for_any_json_value(value: Any, indent: bool) -> None:
    try:
        expected = stdlib(value, indent)
    except (UnicodeEncodeError, ValueError):  # pragma: no cover - stdlib refuses it too
        with pytest.raises((UnicodeEncodeError, ValueError)):
            dumps(value, indent=indent)
        return
    assert dumps(value, indent=indent) == expected


@pytest.mark.parametrize("value, safe", [
    ({"a": [1, "x", None, True, 0.5]}, True),
    ({"a": 1e-07}, False), ([float("nan")], False), ([float("inf")], False),
    ({1: "non-string key"}, True),  # orjson raises on it; dumps falls back (below)
    ([dataclasses.make_dataclass("D", [])()], False),
])
def test_which_values_go_to_orjson(value: Any, safe: bool) -> None:
    assert json_report._orjson_safe(value) is safe


def test_orjson_refusals_fall_back_to_the_stdlib() -> None:
    for value in ({1: "x"}, [2**64], ["\ud800"]):
        with pytest.raises(TypeError):
            orjson.dumps(value)
        assert dumps(value, indent=True) == stdlib(value, True)


def test_values_only_orjson_would_encode_are_refused_as_before() -> None:
    value = [dataclasses.make_dataclass("D", [("x", int)])(1)]
    with pytest.raises(TypeError):
        dumps(value, indent=False)


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_reports_are_identical_without_orjson(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ("check", str(EXAMPLES / "maya.json"), "--as-of", AS_OF, "-f", fmt)
    env = {"SOURCE_DATE_EPOCH": "1764028800"}
    fast = invoke(*args, env=env)
    monkeypatch.setattr(json_report, "_orjson", None)
    plain = invoke(*args, env=env)
    assert (fast.exit_code, fast.stdout) == (plain.exit_code, plain.stdout)
    assert fast.exit_code in (0, 1) and json.loads(fast.stdout.splitlines()[0] if fmt == "jsonl"
                                              else fast.stdout)["findings"]
