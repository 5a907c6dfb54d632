"""The compiled engine gives exactly the reports of the node-by-node interpreter.

Conditions are compiled into closures once per checklist set (``audit.engine.compile``);
the interpreter (``Evaluator.interpret``, ``Options(compiled=False)``) stays as the
reference. These tests render full JSON reports both ways and compare them byte for
byte: every example, every test asset that validates, every per-check fixture, a
seeded fleet of generated setups, crowded setups, configuration files, custom
checklists, with and without evidence, memoisation and a later date. Node by node,
every kind of condition is compared too, including the errors the interpreter raises.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from audit.auditor import audit_setup
from audit.engine import checklist, compile
from audit.engine.conditions import Context, Evaluator, Probe
from audit.engine.evaluate import Options
from audit.errors import AuditError
from audit.loading import Setup, load_setup
from audit.reports import RenderOptions, get
from audit.secrets.scan import Redactor, SecretHit
from tests.conftest import ASSETS, EXAMPLES, crowded, load_example, patched, with_configs

CASES = json.loads((ASSETS / "check_cases.json").read_text())
AS_OF = dt.date.fromisoformat(CASES["as_of"])
LATER = dt.date(2027, 8, 1)  # review dates and backup tests have gone stale by then
LISTS = checklist.load()
RENDER = get("json")


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764028800")  # the reports' timestamp


def report(setup: Setup, options: Options, lists: checklist.Checklists = LISTS) -> str:
    try:
        return RENDER([audit_setup(setup, lists, options)], RenderOptions())
    except AuditError as exc:  # e.g. a waiver for a critical check
        return "; ".join(problem.render() for problem in exc.problems)


def assert_same_reports(setup: Setup, lists: checklist.Checklists = LISTS,
                        as_of: dt.date = AS_OF, memoise: bool = True) -> None:
    for keep_evidence in (True, False):
        # Critical waivers allowed: the setups that waive critical checks get a report.
        options = Options(as_of=as_of, keep_evidence=keep_evidence, memoise=memoise,
                          allow_critical_waivers=True)
        fast = report(setup, options, lists)
        reference = report(setup, replace(options, compiled=False), lists)
        assert fast == reference
        assert '"findings": [' in fast  # the comparison covers real reports


def loaded(path: Path) -> Setup | None:
    try:
        return load_setup(str(path))
    except AuditError:
        return None  # does not validate: no report to compare


SETUP_FILES = sorted([*EXAMPLES.glob("*.json"), *ASSETS.glob("**/*.json")])


@pytest.mark.parametrize("path", SETUP_FILES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_examples_and_assets(path: Path) -> None:
    setup = loaded(path)
    if setup is None:
        pytest.skip("not a valid setup")
    assert_same_reports(setup)
    assert_same_reports(setup, as_of=LATER, memoise=False)


def test_most_assets_are_compared() -> None:
    valid = [p for p in SETUP_FILES if loaded(p) is not None]
    assert len(valid) >= 25, valid


def with_case_inputs(setup: Setup, case: dict[str, Any], tmp_path: Path) -> Setup:
    """The case's configuration files, observations and keyring, as ``check`` would merge them."""
    setup = with_configs(setup, case, tmp_path)
    if "keyring" in case:  # what the keyring probe would have found
        present = case["keyring"] == "has-entry"
        probe = Probe(present if case["keyring"] != "locked" else None,
                      "/automation/credentials", "entry found" if present else "no entry",
                      "an entry in the keyring")
        setup = replace(setup, probes={"keyring_entry": probe, "drill_enrolled": probe,
                                       "drill_seeds_strong": probe})
    return setup


@pytest.mark.parametrize("index", range(len(CASES["cases"])))
def test_every_check_case(index: int, tmp_path: Path) -> None:
    case = CASES["cases"][index]
    path = tmp_path / "case.json"
    path.write_text(json.dumps(patched(load_example(case["base"]), case.get("set"),
                                       case.get("remove"))))
    setup = loaded(path)
    assert setup is not None, case
    assert_same_reports(with_case_inputs(setup, case, tmp_path))


def generated(count: int, seed: int) -> list[dict[str, Any]]:
    """Seeded setups: an example with the changes of several check fixtures at once
    (each fixture flips one check), and some list items duplicated or dropped."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    by_base: dict[str, list[dict[str, Any]]] = {}
    for case in CASES["cases"]:
        if "set" in case or "remove" in case:
            by_base.setdefault(case["base"], []).append(case)
    bases = sorted(by_base)
    out = []
    for _ in range(count):
        base = rng.choice(bases)
        doc = load_example(base)
        for case in rng.sample(by_base[base], min(len(by_base[base]), rng.randint(1, 6))):
            try:
                doc = patched(doc, case.get("set"), case.get("remove"))
            except (KeyError, IndexError, TypeError):
                continue  # an earlier change removed what this one edits
        for key in ("devices", "waivers"):
            items = doc.get(key)
            if isinstance(items, list) and items and rng.random() < 0.3:
                doc[key] = [copy.deepcopy(rng.choice(items))
                            for _ in range(rng.randint(0, 4))]
        login = doc.get("login")
        if isinstance(login, dict) and isinstance(login.get("backup_authenticators"), list):
            backups = login["backup_authenticators"]
            if backups and rng.random() < 0.3:
                login["backup_authenticators"] = backups[: rng.randint(0, len(backups))]
        out.append(doc)
    return out


def test_generated_fleet(tmp_path: Path) -> None:
    compared = 0
    for index, doc in enumerate(generated(200, seed=20261125)):
        path = tmp_path / f"setup-{index}.json"
        path.write_text(json.dumps(doc))
        setup = loaded(path)
        if setup is None:
            continue
        assert_same_reports(setup, as_of=LATER if index % 3 == 0 else AS_OF)
        compared += 1
    assert compared >= 150


@pytest.mark.parametrize("n", [0, 1, 7, 60])
def test_crowded_setups(n: int, tmp_path: Path) -> None:
    path = tmp_path / "crowded.json"
    path.write_text(json.dumps(crowded(n)))
    setup = loaded(path)
    assert setup is not None
    assert_same_reports(setup)
    assert_same_reports(setup, memoise=False)


def test_custom_checklists() -> None:
    lists = checklist.load([str(ASSETS / "checklists" / "custom_ok.json"),
                            str(ASSETS / "checklists" / "dir_ok")])
    assert len(lists.checks) > len(LISTS.checks)
    for name in ("maya", "secure", "minimal"):
        setup = loaded(EXAMPLES / f"{name}.json")
        assert setup is not None
        assert_same_reports(setup, lists)


def test_configuration_files_in_every_combination() -> None:
    from audit import pipeline

    configs = ASSETS / "configs"
    for suffix in ("unsafe", "safe"):
        request = pipeline.Request(as_of=AS_OF, config_files=(
            ("ibc", (str(configs / f"ibc-{suffix}.ini"),)),
            ("jts", (str(configs / f"jts-{suffix}.ini"),)),
            ("gateway", (str(configs / f"gateway-{suffix}.yaml"),))))
        prepared = pipeline.prepare(request)
        for name in ("maya", "secure", "minimal"):
            setup = pipeline.load(str(EXAMPLES / name) + ".json", prepared)
            assert "$files" in setup.data
            assert_same_reports(setup)


# ------------------------------------------------------------------------ node by node

DOC: dict[str, Any] = {
    "flag": True, "n": 3, "s": "x", "tags": ["p", "q"], "day": "2026-11-01", "bad_day": "soon",
    "ips": ["127.0.0.1", "10.0.0.0/8", "example.com"], "kind": "b",
    "xs": [{"v": 1, "name": "one", "ok": True}, {"v": 2, "ok": False}, {"name": "three"}],
    "ys": [{"v": 2}, {"v": 9}], "empty": [], "obj": {"v": 1}, "table_key": 7,
}
LEAVES = [
    {"fact": "/flag", "equals": True}, {"fact": "/n", "equals": 3.0},
    {"fact": "/flag", "equals": 1}, {"fact": "/s", "not_equals": "y"},
    {"fact": "/s", "one_of": ["x", "z"]}, {"fact": "/s", "not_one_of": ["x"]},
    {"fact": "/n", "at_least": 4}, {"fact": "/n", "at_most": 3}, {"fact": "/s", "at_most": 3},
    {"fact": "/tags", "contains": "p"}, {"fact": "/tags", "contains_any": ["z"]},
    {"fact": "/tags", "contains_none": ["z"]}, {"fact": "/tags", "contains_all": ["p", "z"]},
    {"fact": "/tags", "length_at_least": 3}, {"fact": "/s", "length_at_most": 1},
    {"fact": "/n", "declared": True}, {"fact": "/nope", "declared": True},
    {"fact": "/nope", "present": False}, {"fact": "/n", "present": True},
    {"fact": "/day", "within_days": 30}, {"fact": "/bad_day", "within_days": 30},
    {"fact": "/day", "days_until_at_least": 0}, {"fact": "/day", "days_until_at_least": 3},
    {"fact": "/ips", "ips_within": {"allow": ["loopback", "private"], "min_prefix_v4": 24}},
    {"fact": "/ips", "ips_within": {"max_items": 1}}, {"fact": "/s", "ips_within": {}},
    {"fact": "/nope", "equals": True}, {"fact": "/nope", "equals": True, "if_missing": False},
    {"fact": "/s", "equals": "x", "missing_values": ["x"]},
    {"fact": "/n", "at_least": {"param": "limit"}},
    {"fact": "/n", "equals": {"fact": "/xs/0/v"}}, {"fact": "/n", "equals": {"fact": "/nope"}},
    {"fact": "/s", "equals": {"lookup": "/kind", "table": {"b": "x"}}},
    {"fact": "/s", "equals": {"lookup": "/table_key", "table": {"b": "x"}}},
    {"fact": "/s", "equals": {"lookup": "/nope", "table": {}}},
    {"fact": "/n", "one_of": {"collect": "/ys", "field": "/v"}},
    {"fact": "/n", "one_of": {"collect": "/nope", "field": "/v"}},
    {"fact": "/n", "not_one_of": {"collect": "/xs", "field": "/v",
                                  "where": {"fact": "@/ok", "equals": True}}},
    {"fact": "/nope", "one_of": {"collect": "/ys", "field": "/v"}},
]
ITEM_LEAVES = [
    {"fact": "@/v", "at_least": 2}, {"fact": "@/name", "present": True},
    {"fact": "@", "declared": True}, {"fact": "@/v", "one_of": {"collect": "/ys", "field": "/v"}},
    {"fact": "@/ok", "equals": True, "if_missing": False},
    {"fact": "/n", "equals": {"fact": "@/v"}},
]
COMPOSITES = [
    {"all": LEAVES[:4]}, {"any": LEAVES[4:9]}, {"all": []}, {"any": []},
    {"all": [LEAVES[0], LEAVES[26]]}, {"any": [LEAVES[26], LEAVES[2]]},
    {"not": LEAVES[0]}, {"not": LEAVES[26]}, {"not": {"all": LEAVES[:3]}},
    {"at_least": 2, "of": LEAVES[:6]}, {"at_least": 2, "of": [LEAVES[26], LEAVES[0]]},
    {"at_least": 0, "of": [LEAVES[2]]}, {"at_least": 3, "of": LEAVES[2:5]},
    {"ref": "invariant"}, {"ref": "reads_item_via_some"},
    {"some": "/xs", "where": {"any": ITEM_LEAVES}}, {"every": "/xs", "where": ITEM_LEAVES[0]},
    {"every": "/xs", "where": {"all": [ITEM_LEAVES[4], {"ref": "invariant"}]}},
    {"some": "/empty", "where": LEAVES[0]}, {"every": "/empty", "where": LEAVES[0]},
    {"some": "/empty", "where": LEAVES[0], "describe": "a device"},
    {"some": "/nope", "where": LEAVES[0]}, {"every": "/nope", "where": LEAVES[0],
                                            "if_missing": True},
    {"some": "/s", "where": LEAVES[0]},
    {"every": "/xs", "where": {"some": "/ys", "where": {"fact": "@/v", "equals": 9}}},
    {"some": "/xs", "where": {"fact": "@/v", "equals": {"fact": "/ys/0/v"}}},
    {"secret_scan": "credentials"}, {"secret_scan": "account_ids"},
    {"probe": "keyring_entry"}, {"probe": "not_requested"},
]
CONDITIONS = {"invariant": {"all": [LEAVES[0], {"some": "/ys", "where": ITEM_LEAVES[0]}]},
              "reads_item_via_some": {"some": "/xs", "where": {"ref": "item"}},
              "item": {"fact": "@/v", "equals": 1}}
HIT = SecretHit("/s", "password", "hunter2")


def evaluator(compiled: bool, memoise: bool = True, keep_evidence: bool = True,
              items: list[str] | None = None) -> Evaluator:
    ctx = Context(document=DOC, params={"limit": 2}, conditions=CONDITIONS, as_of=AS_OF,
                  redactor=Redactor(["hunter2"]), scans={"credentials": [HIT]},
                  probes={"keyring_entry": Probe(None, "/s", "locked", "an entry")},
                  items=items)
    return Evaluator(ctx, compiled=compiled, memoise=memoise, keep_evidence=keep_evidence)


NODES = LEAVES + COMPOSITES


@pytest.mark.parametrize("memoise", [True, False])
@pytest.mark.parametrize("keep_evidence", [True, False])
@pytest.mark.parametrize("node", NODES, ids=[json.dumps(n)[:60] for n in NODES])
def test_every_kind_of_node(node: dict[str, Any], memoise: bool, keep_evidence: bool) -> None:
    reference = evaluator(False, memoise, keep_evidence).eval(node)
    fast = evaluator(True, memoise, keep_evidence).eval(node)
    if keep_evidence:
        assert fast == reference
    else:  # only the value means anything: the compiled engine builds no evidence
        assert fast.value is reference.value and fast.evidence == ()
    assert evaluator(True, memoise, keep_evidence).truth(node) is reference.value
    assert evaluator(False, memoise, keep_evidence).truth(node) is reference.value


@pytest.mark.parametrize("node", ITEM_LEAVES + COMPOSITES,
                         ids=[json.dumps(n)[:60] for n in ITEM_LEAVES + COMPOSITES])
def test_every_kind_of_node_inside_a_loop(node: dict[str, Any]) -> None:
    for item in ("/xs/0", "/xs/1", "/xs/2"):
        reference = evaluator(False, items=[item]).eval(node)
        assert evaluator(True, items=[item]).eval(node) == reference
        assert evaluator(True, items=[item]).truth(node) is reference.value


@pytest.mark.parametrize("node", [
    *ITEM_LEAVES, {"some": "@/zs", "where": LEAVES[0]},
    {"fact": "/n", "one_of": {"collect": "@", "field": "/v"}},
    {"fact": "/n", "equals": {"lookup": "@/v", "table": {}}},
])
def test_item_pointers_outside_a_loop_fail_alike(node: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="used outside"):
        evaluator(False).eval(node)
    with pytest.raises(ValueError, match="used outside"):
        evaluator(True).eval(node)
    with pytest.raises(ValueError, match="used outside"):
        evaluator(True).truth(node)


def test_unknown_nodes_fail_alike() -> None:
    for node in ({"nothing": 1}, {"fact": "/n"}):
        for compiled in (False, True):
            with pytest.raises((ValueError, StopIteration)):
                evaluator(compiled).eval(node)


def walks(monkeypatch: pytest.MonkeyPatch, node: dict[str, Any], truth: bool) -> int:
    """How many pointers the compiled engine resolved to evaluate ``node``."""
    calls = 0
    real = compile.walk

    def counting(start: Any, tokens: tuple[str, ...]) -> Any:
        nonlocal calls
        calls += 1
        return real(start, tokens)

    monkeypatch.setattr(compile, "walk", counting)
    try:
        ev = evaluator(True)
        ev.truth(node) if truth else ev.eval(node)
    finally:
        monkeypatch.setattr(compile, "walk", real)
    return calls


def test_values_alone_stop_at_the_deciding_child(monkeypatch: pytest.MonkeyPatch) -> None:
    false, true = {"fact": "/flag", "equals": False}, {"fact": "/flag", "equals": True}
    # With evidence every child is read (its facts are shown); for the value the first
    # false child of 'all' (true child of 'any', item of 'some') settles it.
    for node, first in (({"all": [false, true, true, true]}, False),
                        ({"any": [true, false, false]}, True),
                        ({"at_least": 1, "of": [true, false, false]}, True),
                        ({"some": "/xs", "where": {"fact": "@/name", "present": True}}, True)):
        assert evaluator(True).truth(node) is first
        assert walks(monkeypatch, node, truth=True) < walks(monkeypatch, node, truth=False)


def test_a_checklist_set_is_compiled_once() -> None:
    setup = loaded(EXAMPLES / "maya.json")
    assert setup is not None
    program = compile.program_for(LISTS.conditions)
    report(setup, Options(as_of=AS_OF))
    compiled = len(program._outcomes) + len(program._truths)
    plans = len(program.plans)
    assert plans == len(LISTS.checks)
    report(setup, Options(as_of=AS_OF, keep_evidence=False))
    report(setup, Options(as_of=AS_OF))
    assert len(program.plans) == plans
    assert len(program._outcomes) + len(program._truths) >= compiled
    before = len(program._outcomes) + len(program._truths)
    report(setup, Options(as_of=AS_OF, keep_evidence=False))
    assert len(program._outcomes) + len(program._truths) == before  # nothing new to compile
    assert compile.program_for(LISTS.conditions) is program
    assert compile.program_for(dict(LISTS.conditions)) is not program


def test_a_list_of_checks_changed_in_place_gets_its_own_plans() -> None:
    from audit.engine.evaluate import evaluate

    setup = loaded(EXAMPLES / "maya.json")
    assert setup is not None
    checks = LISTS.checks[:5]
    options = Options(as_of=AS_OF, keep_evidence=False)
    assert [f.id for f in evaluate(setup, LISTS, options, checks)] == [c.id for c in checks]
    checks.append(LISTS.checks[-1])
    checks.reverse()
    assert [f.id for f in evaluate(setup, LISTS, options, checks)] == [c.id for c in checks]
    assert len({f.id for f in evaluate(setup, LISTS, options)}) == len(LISTS.checks)


def test_a_check_shown_in_context_is_copied_once_per_context() -> None:
    from audit.engine.evaluate import evaluate

    setup = loaded(EXAMPLES / "maya.json")
    assert setup is not None
    by_id = LISTS.by_id()
    runs = [evaluate(setup, LISTS, Options(as_of=AS_OF, keep_evidence=keep))
            for keep in (False, True, False)]
    contextual = [i for i, f in enumerate(runs[0]) if f.check is not by_id[f.id]]
    assert contextual  # maya has a check whose severity or remediation depends on it
    for index in contextual:
        first, second, third = (run[index].check for run in runs)
        assert first is second is third  # the kept copy
        assert first != by_id[first.id]
        reference = evaluate(setup, LISTS, Options(as_of=AS_OF, compiled=False))[index]
        assert reference.check == first


def test_nodes_built_on_the_fly_do_not_grow_a_program_without_bound(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compile, "KEPT_NODES", 50)
    conditions: dict[str, Any] = {}
    ev = Evaluator(Context(document=DOC, params={}, conditions=conditions, as_of=AS_OF,
                           redactor=Redactor()))
    assert ev.program is not None
    for n in range(200):
        node = {"all": [{"fact": "/n", "at_least": n}, {"fact": "/flag", "equals": True}]}
        assert ev.eval(node).value is (n <= 3)
        assert ev.truth(node) is (n <= 3)
    assert len(ev.program._outcomes) <= 50 and len(ev.program._truths) <= 50


def test_programs_and_plan_lists_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from audit.engine import evaluate as evaluate_module

    monkeypatch.setattr(compile, "PROGRAMS_KEPT", 3)
    sets = [dict(LISTS.conditions) for _ in range(6)]
    programs = [compile.program_for(conditions) for conditions in sets]
    assert len(compile._PROGRAMS) <= 3
    assert compile.program_for(sets[-1]) is programs[-1]  # the newest are kept
    monkeypatch.setattr(evaluate_module, "PLAN_LISTS_KEPT", 2)
    setup = loaded(EXAMPLES / "minimal.json")
    assert setup is not None
    program = compile.program_for(LISTS.conditions)
    for _ in range(5):
        evaluate_module.evaluate(setup, LISTS, Options(as_of=AS_OF), list(LISTS.checks))
    assert len(program.plan_lists) <= 2


@pytest.mark.parametrize("node", [
    {"fact": "x", "equals": 1}, {"fact": "@x", "present": True},
    {"some": "xs", "where": {"fact": "/flag", "equals": True}},
    {"fact": "/n", "one_of": {"collect": "/xs", "field": "v"}},
])
def test_malformed_pointers_fail_alike(node: dict[str, Any]) -> None:
    """The schema allows none of these; reached anyway, both engines refuse them."""
    with pytest.raises(ValueError, match="must start with '/'"):
        evaluator(False).eval(node)
    with pytest.raises(ValueError, match="must start with '/'"):
        evaluator(True).eval(node)
    with pytest.raises(ValueError, match="must start with '/'"):
        evaluator(True).truth(node)
