"""The condition language: three-valued logic, operators, evidence, scoping."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path
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


# --- compiled checklists, cached by content ----------------------------------------

CUSTOM = Path(__file__).resolve().parent / "assets" / "checklists" / "custom_ok.json"


def _builtin_and(*extra: Path) -> tuple[Path, ...]:
    from audit import _resources
    from audit.engine import checklist

    return (*checklist._files(_resources.checklist_dir()), *extra)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("IBKR_AUDIT_CACHE_DIR", str(directory))
    return directory


def _refuse_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    from audit.engine import checklist

    def refuse(*_args: Any) -> list[Any]:
        raise AssertionError("re-validated although the files are unchanged")

    monkeypatch.setattr(checklist, "validate", refuse)


def test_compiled_checklists_are_cached_privately_and_read_back_equal(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from audit.engine import checklist

    paths = _builtin_and(CUSTOM)
    compiled = checklist._load_files(paths)
    files = list(cache.glob("checklists-*.json"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    _refuse_validation(monkeypatch)  # a second run must not validate again
    again = checklist._load_files(paths)
    assert again == compiled and again is not compiled
    assert [c.reads for c in again.checks] == [c.reads for c in compiled.checks]
    assert any(c.source == str(CUSTOM) for c in again.checks)


def test_a_corrupt_cache_is_ignored_and_rebuilt(cache: Path) -> None:
    from audit.engine import checklist

    paths = _builtin_and(CUSTOM)
    compiled = checklist._load_files(paths)
    (entry,) = cache.glob("checklists-*.json")
    for garbage in (b"{not json", b"[]", b'{"format": 1}', entry.read_bytes()[:-40], b"\xff"):
        entry.write_bytes(garbage)
        assert checklist._load_files(paths) == compiled
        assert json.loads(entry.read_bytes())["format"] == checklist.CACHE_FORMAT  # rewritten


def test_a_changed_checklist_is_validated_again(cache: Path, tmp_path: Path) -> None:
    """jsonschema stays the authority: an edit is a new key, so the schema sees it."""
    from audit.engine import checklist
    from audit.errors import ChecklistError

    custom = tmp_path / "mine.json"
    custom.write_text(CUSTOM.read_text())
    checklist._load_files(_builtin_and(custom))
    data = json.loads(custom.read_text())
    data["checks"][0]["severity"] = "catastrophic"
    custom.write_text(json.dumps(data))
    with pytest.raises(ChecklistError) as caught:
        checklist._load_files(_builtin_and(custom))
    assert "catastrophic" in caught.value.problems[0].render()
    assert len(list(cache.glob("checklists-*.json"))) == 1  # nothing cached for a bad set


def test_an_empty_cache_setting_turns_the_cache_off(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from audit.engine import checklist

    monkeypatch.setenv("IBKR_AUDIT_CACHE_DIR", "")
    monkeypatch.chdir(tmp_path)
    assert checklist.cache_dir() is None
    assert checklist._load_files(_builtin_and(CUSTOM)).checks
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_cache_only_costs_speed(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from audit.engine import checklist

    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory would be")
    monkeypatch.setenv("IBKR_AUDIT_CACHE_DIR", str(blocker / "cache"))
    assert checklist._load_files(_builtin_and(CUSTOM)).checks


def test_custom_checklists_through_the_cli_use_the_cache(cache: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from audit.engine import checklist
    from tests.conftest import EXAMPLES, invoke

    args = ("check", str(EXAMPLES / "maya.json"), "--as-of", "2026-11-25", "-f", "json",
            "--checklist", str(CUSTOM))
    checklist._load_cached.cache_clear()  # each invocation as a new process would start
    env = {"SOURCE_DATE_EPOCH": "1764028800"}  # the same generated_at in both runs
    first = invoke(*args, env=env)
    checklist._load_cached.cache_clear()
    _refuse_validation(monkeypatch)
    second = invoke(*args, env=env)
    assert (first.exit_code, first.stdout) == (second.exit_code, second.stdout)
    assert "ACME-001" in {f["id"] for f in json.loads(second.stdout)["findings"]}


def test_old_cache_entries_are_pruned(cache: Path, tmp_path: Path) -> None:
    from audit.engine import checklist

    custom = tmp_path / "mine.json"
    text = CUSTOM.read_text()
    for i in range(checklist.KEEP_CACHED + 3):
        custom.write_text(text + " " * i)  # same checks, new bytes: a new key
        checklist._load_files(_builtin_and(custom))
    assert len(list(cache.glob("checklists-*.json"))) == checklist.KEEP_CACHED


def test_evidence_names_a_bounded_number_of_expected_values() -> None:
    """A collected list is as long as the setup makes it; its phrase must not be, since
    a loop repeats it in the evidence of every item."""
    from audit.engine.conditions import LIST_SHOWN

    doc = {"names": [f"n{i}" for i in range(LIST_SHOWN + 5)], "s": "x"}
    result = ev({"fact": "/s", "one_of": {"collect": "/names"}}, doc=doc)
    expected = result.evidence[0].expected
    assert result.value is False
    assert expected.startswith("one of: n0, n1, ")
    assert f"n{LIST_SHOWN - 1} … and 5 more" in expected and f"n{LIST_SHOWN}," not in expected
    short = ev({"fact": "/s", "one_of": {"collect": "/names"}},
               doc={"names": ["a", "x"], "s": "x"})
    assert short.value is True and short.evidence[0].expected == "one of: a, x"


def test_a_cache_others_can_write_is_not_trusted(cache: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Checks read from a cache another user could edit could be made to pass."""
    from audit.engine import checklist

    paths = _builtin_and(CUSTOM)
    compiled = checklist._load_files(paths)
    (entry,) = cache.glob("checklists-*.json")
    calls = []
    real = checklist.validate

    def counting(*args: Any) -> list[Any]:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(checklist, "validate", counting)
    for directory_mode, file_mode in ((0o777, 0o600), (0o700, 0o666)):
        cache.chmod(directory_mode)
        entry.chmod(file_mode)
        calls.clear()
        assert checklist._load_files(paths) == compiled
        assert calls, (oct(directory_mode), oct(file_mode))  # compiled again, not read
    cache.chmod(0o700)
    entry.chmod(0o600)
    calls.clear()
    assert checklist._load_files(paths) == compiled
    assert not calls  # a private cache is read


def test_data_files_are_schema_validated_once_per_content(cache: Path) -> None:
    from audit.engine import checklist

    text = (Path(__file__).resolve().parent.parent / "checklists" / "advice").glob("*.json")
    sample = next(iter(sorted(text))).read_text()
    assert not checklist.validated_before("advice.schema.json", sample)
    checklist.remember_valid("advice.schema.json", sample)
    assert checklist.validated_before("advice.schema.json", sample)
    assert not checklist.validated_before("advice.schema.json", sample + " ")  # other bytes
    assert not checklist.validated_before("checklist.schema.json", sample)  # other schema
    (marker,) = cache.glob("valid-*")
    assert stat.S_IMODE(marker.stat().st_mode) == 0o600
    cache.chmod(0o777)  # a marker others could have planted is not believed
    assert not checklist.validated_before("advice.schema.json", sample)
    cache.chmod(0o700)


def test_the_bundled_advice_is_not_revalidated_on_every_run(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from audit.advice import data as advice_data
    from audit.engine import checklist
    from tests.conftest import EXAMPLES, invoke

    args = ("check", str(EXAMPLES / "maya.json"), "--as-of", "2026-11-25", "-f", "json")
    env = {"SOURCE_DATE_EPOCH": "1764028800"}
    advice_data._LOADED.clear()  # as a new process would start
    first = invoke(*args, env=env)
    assert list(cache.glob("valid-*"))
    advice_data._LOADED.clear()
    checklist._load_cached.cache_clear()

    def refuse(*_args: Any) -> list[Any]:
        raise AssertionError("advice re-validated although unchanged")

    monkeypatch.setattr(advice_data, "validate", refuse)
    second = invoke(*args, env=env)
    assert (first.exit_code, first.stdout) == (second.exit_code, second.stdout)
