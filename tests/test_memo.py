"""Loop-invariant sub-conditions are evaluated once per setup, with identical findings.

The engine memoises any composite node or ``collect`` operand that does not read
the loop item (``@``). These tests compare every finding with and without it, on
the bundled examples and on generated setups, and count the engine's work (pointer
resolutions, not time) to show that a loop over one list nested in a loop over
another now costs the sum of their sizes, not the product.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from audit.auditor import audit_file
from audit.engine import compile, conditions
from audit.engine.checklist import load
from audit.engine.conditions import Context, Evaluator, _Scope
from audit.engine.evaluate import Options
from audit.errors import AuditError
from audit.reports.json_report import report_dict
from audit.secrets.scan import Redactor
from tests.conftest import EXAMPLES, crowded
from tests.strategies import valid_setups

AS_OF = dt.date(2026, 11, 25)
LISTS = load()


def findings(path: Path, memoise: bool, keep_evidence: bool = True) -> list[dict[str, Any]]:
    options = Options(as_of=AS_OF, memoise=memoise, keep_evidence=keep_evidence)
    report = audit_file(str(path), LISTS, options)
    out: list[dict[str, Any]] = report_dict(report)["findings"]
    return out


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.json")))
@pytest.mark.parametrize("keep_evidence", [True, False])
def test_bundled_examples_same_findings_with_and_without(example: str,
                                                         keep_evidence: bool) -> None:
    path = EXAMPLES / example
    memo = findings(path, True, keep_evidence)
    assert memo == findings(path, False, keep_evidence)
    assert memo  # the comparison covers real findings


@pytest.mark.parametrize("n", [0, 1, 2, 7, 30])
def test_crowded_setups_same_findings_with_and_without(tmp_path: Path, n: int) -> None:
    path = tmp_path / "crowded.json"
    path.write_text(json.dumps(crowded(n)))
    memo = findings(path, True)
    assert memo == findings(path, False)
    statuses = {f["id"]: f["status"] for f in memo}
    assert statuses  # the crowded setups are audited, not rejected as invalid


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(doc=valid_setups)
def test_generated_setups_same_findings_with_and_without(tmp_path: Path,
                                                         doc: dict[str, Any]) -> None:
    path = tmp_path / "generated.json"
    path.write_text(json.dumps(doc))
    try:
        memo = findings(path, True)
    except AuditError:  # a draw the semantic checks reject is rejected either way
        with pytest.raises(AuditError):
            findings(path, False)
        return
    assert memo == findings(path, False)


def resolutions(monkeypatch: pytest.MonkeyPatch, path: Path, memoise: bool,
                compiled: bool = True) -> int:
    """How many pointers the condition engine resolved to audit ``path`` (the
    interpreter resolves whole pointers, the compiled closures walk split ones)."""
    calls = 0
    real, real_walk = conditions.resolve, compile.walk

    def counting(document: Any, pointer: Any) -> Any:
        nonlocal calls
        calls += 1
        return (real if isinstance(pointer, str) else real_walk)(document, pointer)

    monkeypatch.setattr(conditions, "resolve", counting)
    monkeypatch.setattr(compile, "walk", counting)
    try:
        options = Options(as_of=AS_OF, memoise=memoise, keep_evidence=False,
                          compiled=compiled)
        audit_file(str(path), LISTS, options)
    finally:
        monkeypatch.setattr(conditions, "resolve", real)
        monkeypatch.setattr(compile, "walk", real_walk)
    return calls


@pytest.mark.parametrize("compiled", [True, False])
def test_devices_by_authenticators_is_linear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             compiled: bool) -> None:
    work = {}
    for n in (100, 1000):
        path = tmp_path / f"crowded-{n}.json"
        path.write_text(json.dumps(crowded(n)))
        work[n] = resolutions(monkeypatch, path, memoise=True, compiled=compiled)
    # Ten times the items on both lists: about ten times the work (quadratic: 100x).
    assert work[100] > 100  # the measure sees the engine's work
    assert work[1000] <= 12 * work[100], work


@pytest.mark.parametrize("compiled", [True, False])
def test_without_memoisation_the_same_setups_are_quadratic(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiled: bool) -> None:
    """The measure above can tell: the unmemoised engine grows with the product."""
    work = {}
    for n in (40, 400):
        path = tmp_path / f"crowded-{n}.json"
        path.write_text(json.dumps(crowded(n)))
        work[n] = resolutions(monkeypatch, path, memoise=False, compiled=compiled)
    assert work[400] >= 50 * work[40], work


def ctx(document: Any, conditions_: dict[str, Any] | None = None) -> Context:
    return Context(document=document, params={}, conditions=conditions_ or {},
                   as_of=AS_OF, redactor=Redactor())


DOC = {"xs": [{"v": 1}, {"v": 2}, {"v": 3}], "ys": [{"v": 2}, {"v": 9}], "flag": True}
COLLECT = {"collect": "/ys", "field": "/v"}


@pytest.mark.parametrize("node, reads", [
    ({"fact": "/flag", "equals": True}, False),
    ({"fact": "@/v", "equals": 1}, True),
    ({"fact": "/flag", "one_of": {"collect": "/ys", "field": "/v"}}, False),
    ({"fact": "/flag", "one_of": {"collect": "@/ys", "field": "/v"}}, True),
    ({"fact": "/flag", "equals": {"fact": "@/v"}}, True),
    ({"fact": "/flag", "equals": {"lookup": "@/v", "table": {}}}, True),
    ({"some": "/ys", "where": {"fact": "@/v", "equals": 2}}, False),  # its own '@'
    ({"every": "@/zs", "where": {"fact": "@/v", "equals": 2}}, True),
    ({"all": [{"fact": "/flag", "equals": True}, {"fact": "@/v", "equals": 1}]}, True),
    ({"any": [{"fact": "/flag", "equals": True}]}, False),
    ({"not": {"fact": "@", "present": True}}, True),
    ({"at_least": 1, "of": [{"fact": "@/v", "equals": 1}]}, True),
    ({"ref": "invariant"}, False),
    ({"ref": "reads"}, True),
    ({"ref": "through"}, True),
    ({"secret_scan": "credentials"}, False),
])
def test_which_nodes_read_the_loop_item(node: dict[str, Any], reads: bool) -> None:
    scope = _Scope({"invariant": {"fact": "/flag", "equals": True},
                    "reads": {"fact": "@/v", "equals": 1},
                    "through": {"all": [{"ref": "reads"}]}})
    assert scope.reads_item(node) is reads


def test_an_invariant_collect_inside_a_loop_runs_once(monkeypatch: pytest.MonkeyPatch) -> None:
    node = {"some": "/xs", "where": {"fact": "@/v", "one_of": COLLECT}}
    runs = {True: 0, False: 0}
    real = Evaluator._operand

    for memoise in (True, False):
        def counting(self: Evaluator, raw: Any, memoise: bool = memoise) -> Any:
            if raw is COLLECT:
                runs[memoise] += 1
            return real(self, raw)

        monkeypatch.setattr(Evaluator, "_operand", counting)
        outcome = Evaluator(ctx(DOC), memoise=memoise, compiled=False).eval(node)
        assert outcome.value is True
    assert runs == {True: 1, False: 3}


@pytest.mark.parametrize("truth", [False, True])
def test_an_invariant_collect_inside_a_loop_runs_once_compiled(
        monkeypatch: pytest.MonkeyPatch, truth: bool) -> None:
    """The same in the compiled engine: the collect reads /ys once, not once per item."""
    node = {"some": "/xs", "where": {"fact": "@/v", "one_of": COLLECT}}
    runs = {True: 0, False: 0}
    real = compile.walk

    for memoise in (True, False):
        def counting(start: Any, tokens: Any, memoise: bool = memoise) -> Any:
            if tuple(tokens) == ("ys",):
                runs[memoise] += 1
            return real(start, tokens)

        monkeypatch.setattr(compile, "walk", counting)
        evaluator = Evaluator(ctx(DOC), memoise=memoise)
        assert (evaluator.truth(node) if truth else evaluator.eval(node).value) is True
    # Without evidence, 'some' stops at the first matching item (the second of three).
    assert runs == {True: 1, False: 2 if truth else 3}


def test_memoised_outcomes_keep_their_evidence() -> None:
    node = {"every": "/xs", "where": {"all": [
        {"fact": "@/v", "at_least": 1},
        {"some": "/ys", "where": {"fact": "@/v", "equals": 9}}]}}
    with_memo = Evaluator(ctx(DOC)).eval(node)
    without = Evaluator(ctx(DOC), memoise=False).eval(node)
    assert with_memo == without
    assert with_memo.value is True
    assert [e.pointer for e in with_memo.evidence].count("/ys/1/v") == 3
