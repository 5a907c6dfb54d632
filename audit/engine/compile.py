"""Condition trees compiled into closures, once per checklist set.

:class:`~audit.engine.conditions.Evaluator` can interpret a condition node by
node (``interpret``): look at its keys, pick what to do, recurse. That dispatch,
the pointer parsing and the evidence built along the way are most of an audit's
CPU, and they are the same for every setup. A :class:`Program` does them once:
each node becomes a closure that knows its kind, its children's closures, its
pointer's tokens and its operator's test. Checks stay data: the closures are
made from whatever the checklists say, for any checklist, and nothing here
knows a check.

Every node gets two closures:

- ``outcome``: the value and its evidence, exactly what ``interpret`` returns;
- ``truth``: the value alone, for runs that show no evidence (fleet text lines).
  It builds no evidence and stops at the first child that decides a ``all``,
  ``any``, ``at_least``, ``some`` or ``every``: the value is the same, since a
  condition has no effect but its value (the caches below only remember values).

Loop-invariant nodes are memoised per evaluator as ``interpret`` does, and named
conditions are remembered per (name, loop item). The truth closures look in the
outcome caches first, so a value remembered by one kind of closure is the value
the other sees. ``tests/test_compiled.py`` compares the two ways of evaluating on
every example, test asset and generated setup, report by report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from audit.engine.conditions import (
    _DATE_OPERATORS,
    _TESTS,
    LEAF_OPERATORS,
    OPERAND_REFERENCES,
    Evaluator,
    Outcome,
    Truth,
    _count,
    _expected,
    _fmt,
    _ips_test,
    _Scope,
    _scope_for,
    at_least,
)
from audit.model import Evidence
from audit.pointer import MISSING, _tokens, resolve_tokens

OutcomeFn = Callable[[Evaluator], Outcome]
TruthFn = Callable[[Evaluator], Truth]
OperandFn = Callable[[Evaluator], tuple[Any, str | None]]
_UNSET: Any = object()


walk = resolve_tokens  # a pointer's value, its tokens split once


class _Path:
    """A pointer as written in a checklist: absolute, or relative to the loop item."""

    __slots__ = ("path", "relative", "suffix", "tokens")

    def __init__(self, path: str) -> None:
        self.path = path
        self.relative = path == "@" or path.startswith("@/")
        self.suffix = path[1:] if self.relative else path
        self.tokens = _split(self.suffix)

    def pointer(self, ev: Evaluator) -> str:
        """The absolute pointer (as ``Context.pointer`` gives it)."""
        if not self.relative:
            return self.path
        items = ev.ctx.items
        if not items:
            raise ValueError(f"{self.path!r} used outside for_each/some/every")
        return items[-1] + self.suffix

    def value(self, ev: Evaluator) -> Any:
        """The value there, or MISSING (as ``resolve`` from the root gives it)."""
        if not self.relative:
            return walk(ev.ctx.document, self.tokens)
        values = ev.ctx.values
        if not values:
            raise ValueError(f"{self.path!r} used outside for_each/some/every")
        return walk(values[-1], self.tokens)


def _split(pointer: str) -> tuple[str, ...]:
    """The tokens of ``pointer``; a malformed one (the schema allows none) fails on use,
    where resolving it would."""
    try:
        return _tokens(pointer)
    except ValueError:
        return _Malformed(pointer)


class _Malformed(tuple[str, ...]):
    """Tokens of a malformed pointer: walking them raises what ``resolve`` raises."""

    def __new__(cls, pointer: str) -> _Malformed:
        made = super().__new__(cls, (pointer,))
        return made

    def __iter__(self) -> Any:
        _tokens(self[0])  # raises the ValueError resolve would
        return super().__iter__()


# Compiled nodes a program keeps per kind. A checklist set has a few thousand; a caller
# that builds nodes on the fly must not grow a long-lived program without bound: past
# this, a node is compiled for the call that asks and not kept.
KEPT_NODES = 100_000


def _keep(table: dict[int, tuple[Any, Any]], node: Any, compiled: Any) -> tuple[Any, Any]:
    entry = (node, compiled)
    if len(table) < KEPT_NODES:
        table[id(node)] = entry
    return entry


def _failing(message: str) -> Callable[[Evaluator], Any]:
    """A node the checklist schema does not allow fails when reached, as interpreted."""
    def fail(_ev: Evaluator) -> Any:
        raise ValueError(message)

    return fail


class Program:
    """Closures for the condition nodes of one checklist set (one ``conditions`` map).

    Nodes are compiled on first use and kept by identity, the node held alive so its
    id is not reused meanwhile; a checklist set's nodes are never mutated.
    """

    def __init__(self, conditions: Mapping[str, Any]) -> None:
        self.conditions = conditions
        self.scope: _Scope = _scope_for(conditions)
        self._outcomes: dict[int, tuple[Any, OutcomeFn]] = {}
        self._truths: dict[int, tuple[Any, TruthFn]] = {}
        self._operands: dict[int, tuple[Any, OperandFn]] = {}
        # Per-check plans of audit.engine.evaluate, kept with the closures they use, and
        # the plans of a list of checks (by the list, checked against its contents).
        self.plans: dict[int, tuple[Any, Any]] = {}
        self.plan_lists: dict[int, tuple[tuple[Any, ...], Any]] = {}

    # -- lookup ---------------------------------------------------------------------

    def outcome(self, node: Mapping[str, Any]) -> OutcomeFn:
        found = self._outcomes.get(id(node))
        if found is None or found[0] is not node:
            found = _keep(self._outcomes, node, self._outcome(node))
        return found[1]

    def truth(self, node: Mapping[str, Any]) -> TruthFn:
        found = self._truths.get(id(node))
        if found is None or found[0] is not node:
            found = _keep(self._truths, node, self._truth(node))
        return found[1]

    def operand(self, raw: Any) -> OperandFn:
        found = self._operands.get(id(raw))
        if found is None or found[0] is not raw:
            found = _keep(self._operands, raw, self._operand(raw))
        return found[1]

    # -- outcome closures -------------------------------------------------------------

    def _outcome(self, node: Mapping[str, Any]) -> OutcomeFn:
        if "fact" in node:
            return _leaf_outcome(self, node)
        inner = self._composite_outcome(node)
        if self.scope.reads_item(node):
            return inner
        key = id(node)

        def memoised(ev: Evaluator) -> Outcome:
            if ev.ctx.items and ev.memoise:  # inside a loop, the same for every item
                outcome: Outcome | None = ev._memo.get(key)
                if outcome is None:
                    outcome = ev._memo[key] = inner(ev)
                return outcome
            return inner(ev)

        return memoised

    def _composite_outcome(self, node: Mapping[str, Any]) -> OutcomeFn:
        if "all" in node:
            children = [self.outcome(c) for c in node["all"]]
            return lambda ev: _kleene([c(ev) for c in children], False)
        if "any" in node:
            children = [self.outcome(c) for c in node["any"]]
            return lambda ev: _kleene([c(ev) for c in children], True)
        if "not" in node:
            inner = self.outcome(node["not"])

            def negated(ev: Evaluator) -> Outcome:
                outcome = inner(ev)
                value = outcome.value
                return Outcome(None if value is None else not value, tuple(
                    Evidence(e.pointer, e.actual, f"not ({_fmt(e.expected)})", e.location,
                             e.source) for e in outcome.evidence))

            return negated
        if "at_least" in node and "of" in node:
            wanted = node["at_least"]
            of = [self.outcome(c) for c in node["of"]]
            return lambda ev: at_least(int(wanted), [c(ev) for c in of])
        if "ref" in node:
            name = node["ref"]
            target: list[OutcomeFn] = []

            def ref(ev: Evaluator) -> Outcome:
                items = ev.ctx.items
                key = (name, items[-1] if items else "")
                outcome = ev._refs.get(key)
                if outcome is None:
                    if not target:
                        target.append(self.outcome(self.conditions[name]))
                    outcome = ev._refs[key] = target[0](ev)
                return outcome

            return ref
        if "some" in node or "every" in node:
            return self._quantifier_outcome(node)
        if "secret_scan" in node:
            which = node["secret_scan"]
            return lambda ev: ev._secret_scan(which)
        if "probe" in node:
            name = node["probe"]

            def probe(ev: Evaluator) -> Outcome:
                found = ev.ctx.probes.get(name)
                if found is None:  # not requested on this run (e.g. no --check-keyring)
                    return Outcome(False, (ev._ev("", "not requested on this run",
                                                  f"the {name} probe"),))
                return Outcome(found.value, (ev._ev(found.pointer, found.observed,
                                                    found.expected),))

            return probe
        return _failing(f"unrecognised condition with keys {sorted(node)}")

    def _quantifier_outcome(self, node: Mapping[str, Any]) -> OutcomeFn:
        every = "every" in node
        source = _Path(node["every" if every else "some"])
        where = self.outcome(node["where"])
        if_missing = node.get("if_missing")
        describe = node.get("describe", "at least one item")

        def quantifier(ev: Evaluator) -> Outcome:
            pointer = source.pointer(ev)
            items = source.value(ev)
            if items is MISSING:
                return Outcome(if_missing, (ev._ev(pointer, None, "declared"),))
            if not isinstance(items, list):
                return Outcome(False, (ev._ev(pointer, items, "a list"),))
            ctx = ev.ctx
            outcomes = []
            for index, item in enumerate(items):
                ctx.push(f"{pointer}/{index}", item)
                try:
                    outcomes.append(where(ev))
                finally:
                    ctx.pop()
            if every:
                return _kleene(outcomes, False) if outcomes else Outcome(True, ())
            if not outcomes:
                return Outcome(False, (ev._ev(pointer, [], describe),))
            return _kleene(outcomes, True)

        return quantifier

    # -- truth closures ---------------------------------------------------------------

    def _truth(self, node: Mapping[str, Any]) -> TruthFn:
        if "fact" in node:
            return _leaf_truth(self, node)
        inner = self._composite_truth(node)
        if self.scope.reads_item(node):
            return inner
        key = id(node)

        def memoised(ev: Evaluator) -> Truth:
            if ev.ctx.items and ev.memoise:
                value = ev._truth_memo.get(key, _UNSET)
                if value is _UNSET:
                    outcome: Outcome | None = ev._memo.get(key)
                    value = ev._truth_memo[key] = (outcome.value if outcome is not None
                                                   else inner(ev))
                return value  # type: ignore[no-any-return]
            return inner(ev)

        return memoised

    def _composite_truth(self, node: Mapping[str, Any]) -> TruthFn:
        if "all" in node:
            return _kleene_truth([self.truth(c) for c in node["all"]], False)
        if "any" in node:
            return _kleene_truth([self.truth(c) for c in node["any"]], True)
        if "not" in node:
            inner = self.truth(node["not"])

            def negated(ev: Evaluator) -> Truth:
                value = inner(ev)
                return None if value is None else not value

            return negated
        if "at_least" in node and "of" in node:
            return _at_least_truth(node["at_least"], [self.truth(c) for c in node["of"]])
        if "ref" in node:
            name = node["ref"]
            target: list[TruthFn] = []

            def ref(ev: Evaluator) -> Truth:
                items = ev.ctx.items
                key = (name, items[-1] if items else "")
                outcome = ev._refs.get(key)
                if outcome is not None:
                    return outcome.value
                value = ev._truths.get(key, _UNSET)
                if value is _UNSET:
                    if not target:
                        target.append(self.truth(self.conditions[name]))
                    value = ev._truths[key] = target[0](ev)
                return value  # type: ignore[no-any-return]

            return ref
        if "some" in node or "every" in node:
            return self._quantifier_truth(node)
        if "secret_scan" in node:
            which = node["secret_scan"]
            return lambda ev: not ev.ctx.scans.get(which)
        if "probe" in node:
            name = node["probe"]

            def probe(ev: Evaluator) -> Truth:
                found = ev.ctx.probes.get(name)
                return False if found is None else found.value

            return probe
        return _failing(f"unrecognised condition with keys {sorted(node)}")

    def _quantifier_truth(self, node: Mapping[str, Any]) -> TruthFn:
        every = "every" in node
        source = _Path(node["every" if every else "some"])
        where = self.truth(node["where"])
        if_missing = node.get("if_missing")
        decisive = not every  # 'some' is settled by a true item, 'every' by a false one

        def quantifier(ev: Evaluator) -> Truth:
            items = source.value(ev)
            if items is MISSING:
                return if_missing
            if not isinstance(items, list):
                return False
            if not items:
                return every
            pointer = source.pointer(ev)
            ctx = ev.ctx
            unknown = False
            for index, item in enumerate(items):
                ctx.push(f"{pointer}/{index}", item)
                try:
                    value = where(ev)
                finally:
                    ctx.pop()
                if value is decisive:
                    return decisive
                if value is None:
                    unknown = True
            return None if unknown else not decisive

        return quantifier

    # -- operands ---------------------------------------------------------------------

    def _operand(self, raw: Any) -> OperandFn:
        """What ``Evaluator.operand`` returns for a reference operand: (value, why)."""
        inner = self._reference(raw)
        if "collect" not in raw or self.scope.reads_item(raw):
            return inner
        key = id(raw)

        def memoised(ev: Evaluator) -> tuple[Any, str | None]:
            if ev.ctx.items and ev.memoise:
                found: tuple[Any, str | None] | None = ev._memo.get(key)
                if found is None:
                    found = ev._memo[key] = inner(ev)
                return found
            return inner(ev)

        return memoised

    def _reference(self, raw: Any) -> OperandFn:
        if "param" in raw:
            name = raw["param"]
            return lambda ev: (ev.ctx.params[name], None)
        if "fact" in raw:
            fact = _Path(raw["fact"])

            def value(ev: Evaluator) -> tuple[Any, str | None]:
                pointer = fact.pointer(ev)
                found = fact.value(ev)
                return found, (f"{pointer} is not declared" if found is MISSING else None)

            return value
        if "lookup" in raw:
            lookup = _Path(raw["lookup"])
            table = raw["table"]

            def looked_up(ev: Evaluator) -> tuple[Any, str | None]:
                pointer = lookup.pointer(ev)
                key = lookup.value(ev)
                if key is MISSING:
                    return MISSING, f"{pointer} is not declared"
                if str(key) not in table:
                    return MISSING, f"no rule for {_fmt(key)} at {pointer}; check it by hand"
                return table[str(key)], None

            return looked_up
        source = _Path(raw["collect"])
        where_node = raw.get("where")
        where = self.truth(where_node) if where_node is not None else None
        field = _split(raw.get("field", ""))

        def collect(ev: Evaluator) -> tuple[Any, str | None]:
            pointer = source.pointer(ev)
            items = source.value(ev)
            if not isinstance(items, list):
                return MISSING, f"{pointer} is not declared"
            ctx = ev.ctx
            values = []
            for index, item in enumerate(items):
                if where is not None:
                    ctx.push(f"{pointer}/{index}", item)
                    try:
                        keep = where(ev) is True
                    finally:
                        ctx.pop()
                    if not keep:
                        continue
                value = walk(item, field)
                if value is not MISSING:
                    values.append(value)
            return values, None

        return collect


def _kleene(outcomes: list[Outcome], decisive: bool) -> Outcome:
    """``Evaluator._kleene`` in one pass over the outcomes."""
    hits: list[Outcome] = []
    unknown: list[Outcome] = []
    for outcome in outcomes:
        value = outcome.value
        if value is decisive:
            hits.append(outcome)
        elif value is None:
            unknown.append(outcome)
    if hits:
        chosen, value = hits, decisive
    elif unknown:
        chosen, value = unknown, None
    else:
        chosen, value = outcomes, not decisive
    if len(chosen) == 1:
        return Outcome(value, chosen[0].evidence)
    evidence: list[Evidence] = []
    for outcome in chosen:
        evidence.extend(outcome.evidence)
    return Outcome(value, tuple(evidence))


def _kleene_truth(children: list[TruthFn], decisive: bool) -> TruthFn:
    """:func:`_kleene` for values alone: AND (decisive False) or OR (decisive True),
    stopping at the first decisive child."""
    def kleene(ev: Evaluator) -> Truth:
        unknown = False
        for child in children:
            value = child(ev)
            if value is decisive:
                return decisive
            if value is None:
                unknown = True
        return None if unknown else not decisive

    return kleene


def _at_least_truth(wanted: Any, children: list[TruthFn]) -> TruthFn:
    def at_least(ev: Evaluator) -> Truth:
        n = int(wanted)
        true = unknown = 0
        for child in children:
            value = child(ev)
            if value is True:
                true += 1
                if true >= n:
                    return True
            elif value is None:
                unknown += 1
        if true >= n:  # n <= 0
            return True
        return None if true + unknown >= n else False

    return at_least


# -- leaves -----------------------------------------------------------------------------


class _Leaf:
    """What a leaf is, decided once: operator, operand, pointer, how to test."""

    def __init__(self, program: Program, node: Mapping[str, Any]) -> None:
        op = next((k for k in LEAF_OPERATORS if k in node), "")
        self.op = op
        self.fact = _Path(node["fact"])
        self.raw = node[op] if op else None
        self.missing_values = node.get("missing_values")
        self.if_missing = node.get("if_missing")
        raw = self.raw
        self.is_reference = isinstance(raw, dict) and bool(raw) and next(iter(raw)) in (
            OPERAND_REFERENCES)
        self.operand: OperandFn | None = program.operand(raw) if self.is_reference else None
        self.dated = op in _DATE_OPERATORS
        self.test = _TESTS.get(op)
        self.valid = bool(op) and (self.test is not None or self.dated
                                         or op in ("present", "declared", "ips_within"))
        self.literal_expected = (None if self.is_reference or self.dated or not self.valid
                                 else _expected(op, raw, dt.date.min))


def _invalid_leaf(leaf: _Leaf) -> Callable[[Evaluator], Any]:
    if not leaf.op:  # no operator at all: the interpreter's next() fails
        return _failing("leaf without an operator")
    return _failing(f"operator {leaf.op!r} has no implementation")


def _leaf_outcome(program: Program, node: Mapping[str, Any]) -> OutcomeFn:
    leaf = _Leaf(program, node)
    if not leaf.valid:
        return _invalid_leaf(leaf)
    op, raw, fact = leaf.op, leaf.raw, leaf.fact
    missing_values, if_missing = leaf.missing_values, leaf.if_missing
    operand_fn, dated, test = leaf.operand, leaf.dated, leaf.test
    literal_expected = leaf.literal_expected

    def run(ev: Evaluator) -> Outcome:
        pointer = fact.pointer(ev)
        actual = fact.value(ev)
        if missing_values is not None and actual is not MISSING and actual in missing_values:
            actual = MISSING
        if op == "present":
            found = actual is not MISSING
            return Outcome(found == raw, (ev._ev(pointer, actual if found else None,
                                                 literal_expected),))
        if operand_fn is not None:
            operand, why = operand_fn(ev)
            if operand is MISSING:
                shown = None if actual is MISSING else actual
                return Outcome(None, (ev._ev(pointer, shown, why),))
        else:
            operand = raw
        expected = (None if not ev.keep_evidence
                    else literal_expected if literal_expected is not None
                    else _expected(op, operand, ev.ctx.as_of))
        if actual is MISSING:
            return Outcome(if_missing, (ev._ev(pointer, None, expected),))
        if op == "declared":
            return Outcome(True, (ev._ev(pointer, actual, expected),))
        if dated:
            return Outcome(_dated(op, actual, operand, ev.ctx.as_of),
                           (ev._ev(pointer, actual, expected),))
        if test is not None:
            return Outcome(test(actual, operand), (ev._ev(pointer, actual, expected),))
        result, shown_value = _ips_test(actual, operand)  # the one operator left
        return Outcome(result, (ev._ev(pointer, shown_value, expected),))

    return run


def _dated(op: str, actual: Any, operand: Any, as_of: dt.date) -> bool:
    try:
        when = dt.date.fromisoformat(actual)
    except (TypeError, ValueError):
        return False
    if not _count(operand):  # a parameter that is not a number: the test does not hold
        return False
    age = (as_of - when).days
    return 0 <= age <= int(operand) if op == "within_days" else -age >= int(operand)


def _leaf_truth(program: Program, node: Mapping[str, Any]) -> TruthFn:
    leaf = _Leaf(program, node)
    if not leaf.valid:
        return _invalid_leaf(leaf)
    op, raw, fact = leaf.op, leaf.raw, leaf.fact
    missing_values, if_missing = leaf.missing_values, leaf.if_missing
    operand_fn, dated, test = leaf.operand, leaf.dated, leaf.test
    tokens = fact.tokens

    if (test is not None and operand_fn is None and missing_values is None
            and not fact.relative):
        # The common leaf: a fact at a fixed place compared with a literal.
        def plain(ev: Evaluator) -> Truth:
            actual = walk(ev.ctx.document, tokens)
            if actual is MISSING:
                return if_missing
            return test(actual, raw)

        return plain
    if test is not None and operand_fn is None and missing_values is None:
        path = fact.path

        def item_fact(ev: Evaluator) -> Truth:
            values = ev.ctx.values
            if not values:
                raise ValueError(f"{path!r} used outside for_each/some/every")
            actual = walk(values[-1], tokens)
            if actual is MISSING:
                return if_missing
            return test(actual, raw)

        return item_fact

    def run(ev: Evaluator) -> Truth:
        actual = fact.value(ev)
        if missing_values is not None and actual is not MISSING and actual in missing_values:
            actual = MISSING
        if op == "present":
            return (actual is not MISSING) == raw
        if operand_fn is not None:
            operand, _why = operand_fn(ev)
            if operand is MISSING:
                return None
        else:
            operand = raw
        if actual is MISSING:
            return if_missing
        if op == "declared":
            return True
        if dated:
            return _dated(op, actual, operand, ev.ctx.as_of)
        if test is not None:
            return test(actual, operand)
        return _ips_test(actual, operand)[0]

    return run


_PROGRAMS: dict[int, Program] = {}


def program_for(conditions: Mapping[str, Any]) -> Program:
    """The compiled program of a checklist set (its ``conditions`` map), made once."""
    program = _PROGRAMS.get(id(conditions))
    if program is None or program.conditions is not conditions:
        while len(_PROGRAMS) >= PROGRAMS_KEPT:  # a long-lived process loading many sets
            del _PROGRAMS[next(iter(_PROGRAMS))]
        program = _PROGRAMS[id(conditions)] = Program(conditions)
    return program


PROGRAMS_KEPT = 16
