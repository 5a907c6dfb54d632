"""Reading a setup measures it in one pass: nesting, members, sizes, keys in the text.

``audit.inputs.parse_measured`` parses first and then walks the value once for its
depth, its object members and its sizes; the text is scanned only to count keys
(duplicates) and, when something is wrong, to say where. These tests compare each
measure with a plain recursive definition on generated JSON, and check that the
errors (and which one wins) are those the reader always gave.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import inputs
from audit.errors import InputError
from audit.inputs import Limits, check_sizes, parse, parse_measured
from tests.conftest import ASSETS, EXAMPLES

# Keys and strings with the characters that confuse a tokenizer: quotes, colons,
# backslashes, brackets, escapes.
text = st.text(alphabet=st.sampled_from(list('ab:"\\{}[], \n\té')), max_size=8)
leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), text)
values = st.recursive(leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)), max_leaves=30)


def members(value: Any) -> int:
    if isinstance(value, dict):
        return len(value) + sum(members(v) for v in value.values())
    if isinstance(value, list):
        return sum(members(v) for v in value)
    return 0


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def within(value: Any, limits: Limits) -> bool:
    if isinstance(value, dict):
        return (len(value) <= limits.max_items
                and all(len(k) <= limits.max_string and within(v, limits)
                        for k, v in value.items()))
    if isinstance(value, list):
        return len(value) <= limits.max_items and all(within(v, limits) for v in value)
    return not isinstance(value, str) or len(value) <= limits.max_string


@settings(max_examples=300, deadline=None)
@given(value=values, indent=st.sampled_from([None, 0, 2]), ascii_only=st.booleans(),
       max_items=st.integers(1, 5), max_string=st.integers(1, 8))
def test_one_pass_measures_what_the_definitions_say(value: Any, indent: int | None,
                                                    ascii_only: bool, max_items: int,
                                                    max_string: int) -> None:
    limits = Limits(max_items=max_items, max_string=max_string)
    encoded = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    assert inputs._measure(value, limits) == (members(value), depth(value),
                                              within(value, limits))
    assert inputs._keys_in(encoded) == members(value)
    parsed, fits = parse_measured(encoded, "x.json", limits)
    assert parsed == value and fits is within(value, limits)
    assert (check_sizes(parsed, "x.json", limits, fits) == []) is fits
    assert check_sizes(parsed, "x.json", limits, fits) == check_sizes(parsed, "x.json", limits)


@pytest.mark.parametrize("path", sorted([*EXAMPLES.glob("*.json"), *ASSETS.glob("**/*.json")]),
                         ids=lambda p: p.name)
def test_files_parse_as_before(path: Path) -> None:
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        pytest.skip("not UTF-8: refused before parsing")
    try:
        plain = json.loads(source, object_pairs_hook=_no_duplicates,
                           parse_constant=_no_constant)
    except ValueError:
        with pytest.raises(InputError):
            parse(source, str(path), Limits())
        return
    assert parse(source, str(path), Limits()) == plain


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise ValueError("duplicate")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def nested(levels: int, inner: str = "1") -> str:
    return "[" * levels + inner + "]" * levels


@pytest.mark.parametrize("source, message", [
    (nested(65), "nesting is deeper than 64 levels"),
    ('{"a": 1,\n "b": ' + nested(70) + "}", "nesting is deeper than 64 levels"),
    (nested(70, "1,"), "nesting is deeper than 64 levels"),  # invalid JSON too: depth first
    (nested(70, "NaN"), "nesting is deeper than 64 levels"),
    (nested(70, "1" + "0" * 40), "nesting is deeper than 64 levels"),
    (nested(5000), "nesting is deeper than 64 levels"),  # beyond the parser's recursion
    (nested(64), None),
    ('{"a": 1, "a": 2}', "duplicate key"),
    ('{"a": NaN}', "NaN is not valid JSON"),
    ('{"a": 1e999}', "too large for a JSON number"),
    ('{"a": 1,}', "invalid JSON"),
    ('{"a:": "b:", "c": {"d\\":": [":"]}}', None),
])
def test_errors_and_which_comes_first(source: str, message: str | None) -> None:
    if message is None:
        assert parse(source, "x.json", Limits()) == json.loads(source)
        return
    with pytest.raises(InputError) as caught:
        parse(source, "x.json", Limits())
    assert message in caught.value.problems[0].message


def test_the_depth_error_names_the_line() -> None:
    source = '{\n"a": 1,\n"b":\n' + nested(70) + "\n}"
    with pytest.raises(InputError) as caught:
        parse(source, "x.json", Limits())
    problem = caught.value.problems[0]
    # The 64th nested list opens on line 4 (with the object, the 65th level).
    assert problem.line == 4 and "deeper than 64" in problem.message


def test_a_lower_depth_limit_is_honoured() -> None:
    assert parse(nested(3), "x.json", Limits(max_depth=3)) == [[[1]]]
    with pytest.raises(InputError) as caught:
        parse(nested(4), "x.json", Limits(max_depth=3))
    assert "deeper than 3 levels" in caught.value.problems[0].message
