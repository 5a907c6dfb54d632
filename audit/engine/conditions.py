"""Evaluate checklist conditions against a setup, in three-valued logic.

A condition is JSON data (see ``schemas/checklist.schema.json``). Its value is
True, False or None; None means a fact it needs is missing, which a check turns
into ``manual`` (never ``pass``). Every leaf records what it read as
:class:`~audit.model.Evidence`, and the combinators keep the evidence that
decided the outcome, so a finding always says which facts made it fail.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from audit.model import Evidence
from audit.pointer import MISSING, join, resolve
from audit.secrets.scan import REDACTED, Redactor, SecretHit

if TYPE_CHECKING:
    from audit.engine.compile import Program

Truth = bool | None


class Outcome(NamedTuple):
    """A condition's value and the evidence that decided it (a tuple: made per node)."""

    value: Truth
    evidence: tuple[Evidence, ...] = ()


class Probe(NamedTuple):
    """A fact observed outside the setup: True, False, or None (could not tell, why)."""

    value: bool | None
    pointer: str
    observed: str
    expected: str


class Context:
    """What conditions can see: the setup, parameters, named conditions, the date.

    A plain class (one per setup, on the start-up path): ``items`` is the stack of
    loop items, innermost last; ``probes`` are facts from outside the setup (e.g.
    the keyring), gathered only when asked for.
    """

    __slots__ = ("as_of", "conditions", "document", "items", "params", "probes", "redactor",
                 "scans", "values")

    def __init__(self, document: Any, params: Mapping[str, Any],
                 conditions: Mapping[str, Any], as_of: dt.date, redactor: Redactor,
                 scans: Mapping[str, list[SecretHit]] | None = None,
                 probes: Mapping[str, Probe] | None = None,
                 items: list[str] | None = None) -> None:
        self.document = document
        self.params = params
        self.conditions = conditions
        self.as_of = as_of
        self.redactor = redactor
        self.scans: Mapping[str, list[SecretHit]] = scans if scans is not None else {}
        self.probes: Mapping[str, Probe] = probes if probes is not None else {}
        self.items: list[str] = items if items is not None else []
        # The loop items themselves, alongside their pointers in ``items`` (pushed and
        # popped together), so ``@/x`` is read from the item without walking from the root.
        self.values: list[Any] = [resolve(document, item) for item in self.items]

    def push(self, pointer: str, value: Any) -> None:
        """Enter a loop item: ``pointer`` and the value found there."""
        self.items.append(pointer)
        self.values.append(value)

    def pop(self) -> None:
        self.items.pop()
        self.values.pop()

    def pointer(self, path: str) -> str:
        """Absolute pointer for ``path``; ``@`` is the item the innermost loop is at."""
        if path == "@" or path.startswith("@/"):
            if not self.items:
                raise ValueError(f"{path!r} used outside for_each/some/every")
            return self.items[-1] + path[1:]
        return path


# The operators a leaf may use, in the order the checklist schema lists them.
LEAF_OPERATORS = (
    "equals", "not_equals", "one_of", "not_one_of", "at_least", "at_most",
    "contains", "contains_any", "contains_none", "contains_all", "length_at_least",
    "length_at_most", "declared", "present", "within_days", "days_until_at_least", "ips_within",
)
OPERAND_REFERENCES = ("param", "fact", "lookup", "collect")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _classify_network(entry: Any) -> tuple[str | None, int, int] | None:
    """(scope, prefix length, IP version) of an address or range; None when ``entry``
    is not one (a host name or pattern: it cannot be shown to be narrow)."""
    try:
        net = ipaddress.ip_network(entry, strict=False)
    except (TypeError, ValueError):
        return None
    if net.is_loopback:
        scope: str | None = "loopback"
    elif net.is_link_local:
        scope = "link_local"
    elif net.is_private and not net.is_unspecified and not net.is_reserved:
        scope = "private"
    else:
        scope = None
    return scope, net.prefixlen, net.version


# The same few addresses recur across a fleet's setups; parsing one is ~50 us.
_known_network = functools.lru_cache(maxsize=1024)(_classify_network)
CACHED_ADDRESS_LENGTH = 64  # longer strings are no address worth remembering


def _network(entry: Any) -> tuple[str | None, int, int] | None:
    if type(entry) is str and len(entry) <= CACHED_ADDRESS_LENGTH:
        return _known_network(entry)
    return _classify_network(entry)


def _ips_within(actual: Any, spec: Mapping[str, Any]) -> tuple[bool, list[str]]:
    """Whether every address/range in ``actual`` stays inside the allowed scopes."""
    allowed = set(spec.get("allow", ["loopback"]))
    min_v4 = int(spec.get("min_prefix_v4", 32))
    min_v6 = int(spec.get("min_prefix_v6", 128))
    offending: list[str] = []
    for entry in actual:
        found = _network(entry)
        if found is None:
            offending.append(entry)
            continue
        scope, prefixlen, version = found
        narrow = prefixlen >= (min_v4 if version == 4 else min_v6)
        if scope not in allowed or (scope != "loopback" and not narrow):
            offending.append(entry)
    too_many = "max_items" in spec and len(actual) > int(spec["max_items"])
    return not offending and not too_many, offending


# Evidence names at most this many values of a list it expected (or not): a list
# collected from the setup can be as long as the setup allows, and its phrase is
# repeated in the evidence of every item a loop looks at.
LIST_SHOWN = 20


def _count(operand: Any) -> bool:
    """A number of items or days (an operand by reference may resolve to anything)."""
    return isinstance(operand, int | float) and not isinstance(operand, bool)


def _list(o: Any) -> str:
    if not isinstance(o, list):  # an operand by reference that is not a list
        return f"(a list, but the checklist's operand is {_fmt(o)})"
    values = o
    if len(values) <= LIST_SHOWN:
        return ", ".join(map(_fmt, values))
    return (", ".join(map(_fmt, values[:LIST_SHOWN]))
            + f" … and {len(values) - LIST_SHOWN} more")


def _days_before(day: dt.date, days: int) -> dt.date:
    """``day - days``, clamped to the calendar's first day instead of overflowing."""
    return dt.date.fromordinal(max(1, day.toordinal() - max(days, 0)))


# What a leaf wanted, in words, for evidence. Built once, not per evaluation.
_EXPECTED: dict[str, Callable[[Any, dt.date], str]] = {
    "not_equals": lambda o, _d: f"anything but {_fmt(o)}",
    "one_of": lambda o, _d: "one of: " + _list(o),
    "not_one_of": lambda o, _d: "none of: " + _list(o),
    "at_least": lambda o, _d: f"at least {_fmt(o)}",
    "at_most": lambda o, _d: f"at most {_fmt(o)}",
    "contains": lambda o, _d: f"a list containing {_fmt(o)}",
    "contains_any": lambda o, _d: ("a list containing " if isinstance(o, list) and len(o) == 1 else
                                   "a list containing any of: ") + _list(o),
    "contains_none": lambda o, _d: "a list containing none of: " + _list(o),
    "contains_all": lambda o, _d: "a list containing all of: " + _list(o),
    "length_at_least": lambda o, _d: f"at least {o} item(s)",
    "length_at_most": lambda o, _d: f"at most {o} item(s)",
    "declared": lambda o, _d: "declared",
    "present": lambda o, _d: "present" if o else "absent",
    "within_days": lambda o, d: (
        f"a date within {o} days of {d.isoformat()} "
        f"(on or after {_days_before(d, int(o)).isoformat()})" if _count(o)
        else f"a date (but the checklist's number of days is {_fmt(o)})"),
    "days_until_at_least": lambda o, d: (
        f"a date at least {o} day(s) after {d.isoformat()}" if _count(o) and int(o) else
        f"a date on or after {d.isoformat()}" if _count(o) else
        f"a date (but the checklist's number of days is {_fmt(o)})"),
    "ips_within": lambda o, _d: (
        "only " + " or ".join(o.get("allow", ["loopback"])) + " addresses"
        + (f", ranges no wider than /{o['min_prefix_v4']} (IPv4)"
           if "min_prefix_v4" in o else "")
        + (f", at most {o['max_items']} entries" if "max_items" in o else "")),
}


def _expected(op: str, operand: Any, as_of: dt.date) -> Any:
    """What the check wanted, for evidence: the literal for ``equals``, words otherwise."""
    if op == "equals":
        return operand
    return _EXPECTED[op](operand, as_of)


def _equals(actual: Any, operand: Any) -> bool:
    if _number(actual) and _number(operand):
        return bool(actual == operand)
    return bool(actual == operand and type(actual) is type(operand))


def _compare(actual: Any, operand: Any, at_least: bool) -> bool:
    if not (_number(actual) and _number(operand)):
        return False
    return bool(actual >= operand if at_least else actual <= operand)


def _sized(actual: Any) -> bool:
    return isinstance(actual, list | str | dict)


# Operator -> test(actual, operand). A table, so each leaf finds its test in one lookup.
# An operand given by reference (a fact, a parameter, a lookup) can resolve to any
# JSON value. Where a test wants a list (or a count) and gets something else, the
# test does not hold: never a crash, and never a string's substring test standing
# in for list membership.
_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": _equals,
    "not_equals": lambda a, o: bool(a != o),
    "one_of": lambda a, o: isinstance(o, list) and a in o,
    "not_one_of": lambda a, o: isinstance(o, list) and a not in o,
    "at_least": lambda a, o: _compare(a, o, True),
    "at_most": lambda a, o: _compare(a, o, False),
    "contains": lambda a, o: isinstance(a, list) and o in a,
    "contains_any": lambda a, o: isinstance(a, list) and isinstance(o, list)
    and any(x in a for x in o),
    "contains_none": lambda a, o: isinstance(a, list) and isinstance(o, list)
    and not any(x in a for x in o),
    "contains_all": lambda a, o: isinstance(a, list) and isinstance(o, list)
    and all(x in a for x in o),
    "length_at_least": lambda a, o: _sized(a) and _count(o) and len(a) >= o,
    "length_at_most": lambda a, o: _sized(a) and _count(o) and len(a) <= o,
}


def _ips_test(actual: Any, operand: Any) -> tuple[bool, Any]:
    """``ips_within``: (result, what to show: the offending entries when there are any)."""
    if not isinstance(actual, list):
        return False, actual
    ok, offending = _ips_within(actual, operand)
    return ok, offending if offending else actual


_DATE_OPERATORS = frozenset({"within_days", "days_until_at_least"})
_NO_EVIDENCE = Evidence("", None, None)
LeafFn = Callable[["Evaluator"], Outcome]
_COMPILED: dict[int, tuple[Mapping[str, Any], LeafFn]] = {}


def _leaf_fn(node: Mapping[str, Any]) -> LeafFn:
    """The leaf compiled once: operator, pointer form and operand kind decided up front.

    Keyed by id() with the node kept alive alongside, so an id is never reused for
    another node while its entry exists.
    """
    cached = _COMPILED.get(id(node))
    if cached is None or cached[0] is not node:
        cached = (node, _compile_leaf(node))
        _COMPILED[id(node)] = cached
    return cached[1]


def _compile_leaf(node: Mapping[str, Any]) -> LeafFn:
    op = next(k for k in LEAF_OPERATORS if k in node)
    raw = node[op]
    path: str = node["fact"]
    relative = path == "@" or path.startswith("@/")
    suffix = path[1:]
    missing_values = node.get("missing_values")
    if_missing = node.get("if_missing")
    is_reference = isinstance(raw, dict) and bool(raw) and next(iter(raw)) in (
        OPERAND_REFERENCES)
    dated = op in _DATE_OPERATORS
    test = _TESTS.get(op)
    if test is None and not dated and op not in ("present", "declared", "ips_within"):
        raise ValueError(f"operator {op!r} has no implementation")  # guards LEAF_OPERATORS
    literal_expected = None if is_reference or dated else _expected(op, raw, dt.date.min)

    def run(ev: Evaluator) -> Outcome:
        ctx = ev.ctx
        if relative:
            if not ctx.items:
                raise ValueError(f"{path!r} used outside for_each/some/every")
            pointer = ctx.items[-1] + suffix
        else:
            pointer = path
        actual = resolve(ctx.document, pointer)
        if missing_values is not None and actual is not MISSING and actual in missing_values:
            actual = MISSING
        if op == "present":
            found = actual is not MISSING
            return Outcome(found == raw, (ev._ev(pointer, actual if found else None,
                                                 literal_expected),))
        if is_reference:
            operand, why = ev.operand(raw)
            if operand is MISSING:
                shown = None if actual is MISSING else actual
                return Outcome(None, (ev._ev(pointer, shown, why),))
        else:
            operand = raw
        expected = (None if not ev.keep_evidence
                    else literal_expected if literal_expected is not None
                    else _expected(op, operand, ctx.as_of))
        if actual is MISSING:
            return Outcome(if_missing, (ev._ev(pointer, None, expected),))
        if op == "declared":
            return Outcome(True, (ev._ev(pointer, actual, expected),))
        if dated:
            try:
                when = dt.date.fromisoformat(actual)
            except (TypeError, ValueError):
                return Outcome(False, (ev._ev(pointer, actual, expected),))
            age = (ctx.as_of - when).days
            ok = _count(operand) and (0 <= age <= int(operand) if op == "within_days"
                                      else -age >= int(operand))
            return Outcome(ok, (ev._ev(pointer, actual, expected),))
        if test is not None:
            return Outcome(test(actual, operand), (ev._ev(pointer, actual, expected),))
        result, shown_value = _ips_test(actual, operand)  # the one operator left
        return Outcome(result, (ev._ev(pointer, shown_value, expected),))

    return run


def _source(document: Any, pointer: str) -> str | None:
    """'observed' or 'declared' on runs with observations (``/$observed``), else None."""
    observed = document.get("$observed") if isinstance(document, dict) else None
    if not isinstance(observed, dict):
        return None
    if pointer.startswith(("/$observed/", "/$files/")) or pointer in observed.get(
            "overrides", ()):
        return "observed"
    return "declared"


def _relative(path: Any) -> bool:
    return isinstance(path, str) and (path == "@" or path.startswith("@/"))


class _Scope:
    """Which condition nodes and operands read the innermost loop item (``@``).

    ``@`` always means the innermost loop's item, so the ``where`` of a ``some``,
    ``every`` or ``collect`` binds its own ``@`` and cannot see an outer one: a
    node reads the enclosing item only through its own pointers, its children
    outside such a ``where``, or a named condition that does. A node that does not
    is loop-invariant: inside a loop it has the same value for every item, so an
    evaluator computes it once per setup (see :meth:`Evaluator.eval`).

    One instance per conditions mapping (one checklist set); answers are kept by
    node identity, with the node held alive so an id is never reused meanwhile.
    """

    def __init__(self, conditions: Mapping[str, Any]) -> None:
        self.conditions = conditions
        self._nodes: dict[int, tuple[Any, bool]] = {}
        self._refs: dict[str, bool] = {}

    def reads_item(self, node: Any) -> bool:
        """True when ``node`` (a condition or a reference operand) reads the loop item."""
        cached = self._nodes.get(id(node))
        if cached is not None and cached[0] is node:
            return cached[1]
        result = self._reads_item(node)
        self._nodes[id(node)] = (node, result)
        return result

    def _reads_item(self, node: Any) -> bool:
        if not isinstance(node, dict):
            return False
        if "ref" in node:
            name = node["ref"]
            if name not in self._refs:
                self._refs[name] = True  # cycles are rejected at load; stay safe regardless
                self._refs[name] = self.reads_item(self.conditions[name])
            return self._refs[name]
        # Pointers that address the item: leaf facts, operand references, loop sources.
        for key in ("fact", "lookup", "collect", "some", "every"):
            if _relative(node.get(key)):
                return True
        for key in ("all", "any", "of"):
            if any(self.reads_item(child) for child in node.get(key, ())):
                return True
        if "not" in node and self.reads_item(node["not"]):
            return True
        if "fact" in node:  # a leaf: its operand may be a reference that reads the item
            op = next((k for k in LEAF_OPERATORS if k in node), None)
            return op is not None and self.reads_item(node[op])
        return False  # some/every/collect 'where', secret_scan, probe: not the outer item


_SCOPES: dict[int, _Scope] = {}


def _scope_for(conditions: Mapping[str, Any]) -> _Scope:
    scope = _SCOPES.get(id(conditions))
    if scope is None or scope.conditions is not conditions:
        scope = _SCOPES[id(conditions)] = _Scope(conditions)
    return scope


def at_least(n: int, outcomes: list[Outcome]) -> Outcome:
    """At least ``n`` children true, in three-valued logic, with the deciding evidence."""
    true = [o for o in outcomes if o.value is True]
    unknown = [o for o in outcomes if o.value is None]
    if len(true) >= n:
        return Outcome(True, tuple(e for o in true for e in o.evidence))
    if len(true) + len(unknown) >= n:
        return Outcome(None, tuple(e for o in unknown for e in o.evidence))
    return Outcome(False, tuple(e for o in outcomes for e in o.evidence))


class Evaluator:
    """Evaluates condition nodes; one instance per (setup, checklist set, options).

    With ``memoise`` (the default), a composite node or reference operand that does
    not read the loop item is evaluated once per evaluator (one setup) even when a
    loop reaches it many times: e.g. a ``collect`` over ``/devices`` inside a
    ``some`` over the backup authenticators runs once, not once per authenticator.
    Results are the same either way; the tests compare both.
    """

    def __init__(self, ctx: Context, *, keep_evidence: bool = True,
                 memoise: bool = True, compiled: bool = True) -> None:
        self.ctx = ctx
        self.keep_evidence = keep_evidence
        self.memoise = memoise
        # Named conditions depend only on the document, parameters, date and the
        # innermost loop item ('@'), so one evaluator (one setup) computes each once.
        self._refs: dict[tuple[str, str], Outcome] = {}
        self._scope = _scope_for(ctx.conditions) if memoise else None
        self._memo: dict[int, Any] = {}  # id(node) -> value; nodes outlive the evaluator
        # The same for values alone (:meth:`truth`): no evidence is built for them.
        self._truths: dict[tuple[str, str], Truth] = {}
        self._truth_memo: dict[int, Truth] = {}
        # Condition trees compiled into closures once per checklist set (the fast path);
        # None: this class interprets them node by node (the reference the tests compare).
        self.program: Program | None = None
        if compiled:
            from audit.engine.compile import program_for

            self.program = program_for(ctx.conditions)

    def truth(self, node: Mapping[str, Any]) -> Truth:
        """The value of ``node`` alone: what ``eval(node).value`` is, without evidence."""
        if self.program is not None:
            return self.program.truth(node)(self)
        return self.eval(node).value

    def fact(self, path: str) -> tuple[str, Any]:
        pointer = self.ctx.pointer(path)
        return pointer, resolve(self.ctx.document, pointer)

    def operand(self, raw: Any) -> tuple[Any, str | None]:
        """Resolve an operand; returns (value or MISSING, why it is missing)."""
        if (self.ctx.items and self._scope is not None and isinstance(raw, dict)
                and "collect" in raw and not self._scope.reads_item(raw)):
            found: tuple[Any, str | None] | None = self._memo.get(id(raw))
            if found is None:
                found = self._memo[id(raw)] = self._operand(raw)
            return found
        return self._operand(raw)

    def _operand(self, raw: Any) -> tuple[Any, str | None]:
        if isinstance(raw, dict) and len(raw) >= 1 and next(iter(raw)) in OPERAND_REFERENCES:
            if "param" in raw:
                return self.ctx.params[raw["param"]], None
            if "fact" in raw:
                pointer, value = self.fact(raw["fact"])
                return value, (f"{pointer} is not declared" if value is MISSING else None)
            if "lookup" in raw:
                pointer, key = self.fact(raw["lookup"])
                if key is MISSING:
                    return MISSING, f"{pointer} is not declared"
                table = raw["table"]
                if str(key) not in table:
                    return MISSING, f"no rule for {_fmt(key)} at {pointer}; check it by hand"
                return table[str(key)], None
            if "collect" in raw:
                pointer, items = self.fact(raw["collect"])
                if not isinstance(items, list):
                    return MISSING, f"{pointer} is not declared"
                values = []
                for index, item in enumerate(items):
                    self.ctx.push(join(pointer, index), item)
                    try:
                        keep = raw.get("where") is None or self.eval(raw["where"]).value is True
                        if keep:
                            _p, value = self.fact("@" + raw.get("field", ""))
                            if value is not MISSING:
                                values.append(value)
                    finally:
                        self.ctx.pop()
                return values, None
        return raw, None

    def eval(self, node: Mapping[str, Any]) -> Outcome:
        """The value of ``node`` and the evidence that decided it.

        Without ``keep_evidence`` only the value means anything: the compiled engine
        then returns no evidence at all (the interpreter, placeholders).
        """
        if self.program is not None:
            if not self.keep_evidence:
                return Outcome(self.program.truth(node)(self))
            return self.program.outcome(node)(self)
        return self.interpret(node)

    def interpret(self, node: Mapping[str, Any]) -> Outcome:
        """:meth:`eval` node by node: the reference the compiled closures must match."""
        if "fact" in node:  # most nodes are leaves: straight to the compiled closure
            return _leaf_fn(node)(self)
        if self.ctx.items and self._scope is not None and not self._scope.reads_item(node):
            # Inside a loop, but the node never reads the item: once per setup.
            outcome: Outcome | None = self._memo.get(id(node))
            if outcome is None:
                outcome = self._memo[id(node)] = self._eval(node)
            return outcome
        return self._eval(node)

    def _eval(self, node: Mapping[str, Any]) -> Outcome:
        if "all" in node:
            return self._all([self.eval(c) for c in node["all"]])
        if "any" in node:
            return self._any([self.eval(c) for c in node["any"]])
        if "not" in node:
            inner = self.eval(node["not"])
            value = None if inner.value is None else not inner.value
            return Outcome(value, tuple(
                Evidence(e.pointer, e.actual, f"not ({_fmt(e.expected)})", e.location, e.source)
                for e in inner.evidence))
        if "at_least" in node and "of" in node:
            return at_least(int(node["at_least"]), [self.eval(c) for c in node["of"]])
        if "ref" in node:
            key = (node["ref"], self.ctx.items[-1] if self.ctx.items else "")
            outcome = self._refs.get(key)
            if outcome is None:
                outcome = self._refs[key] = self.eval(self.ctx.conditions[node["ref"]])
            return outcome
        if "some" in node or "every" in node:
            return self._quantifier(node)
        if "secret_scan" in node:
            return self._secret_scan(node["secret_scan"])
        if "probe" in node:
            probe = self.ctx.probes.get(node["probe"])
            if probe is None:  # not requested on this run (e.g. no --check-keyring)
                return Outcome(False, (self._ev("", "not requested on this run",
                                                f"the {node['probe']} probe"),))
            return Outcome(probe.value, (self._ev(probe.pointer, probe.observed,
                                                  probe.expected),))
        raise ValueError(f"unrecognised condition with keys {sorted(node)}")  # validated away

    @staticmethod
    def _kleene(outcomes: list[Outcome], decisive: bool) -> Outcome:
        """AND (decisive False) or OR (decisive True) in three-valued logic.

        A decisive child settles it; otherwise an unknown child makes it unknown.
        The evidence kept is that of the children that decided the outcome.
        """
        for wanted in (decisive, None):
            hits = [o for o in outcomes if o.value is wanted]
            if hits:
                return Outcome(wanted, tuple(e for o in hits for e in o.evidence))
        return Outcome(not decisive, tuple(e for o in outcomes for e in o.evidence))

    @classmethod
    def _all(cls, outcomes: list[Outcome]) -> Outcome:
        return cls._kleene(outcomes, decisive=False)

    @classmethod
    def _any(cls, outcomes: list[Outcome]) -> Outcome:
        return cls._kleene(outcomes, decisive=True)

    def _quantifier(self, node: Mapping[str, Any]) -> Outcome:
        every = "every" in node
        path = node["every" if every else "some"]
        pointer, items = self.fact(path)
        if items is MISSING:
            value = node.get("if_missing")
            return Outcome(value, (self._ev(pointer, None, "declared"),))
        if not isinstance(items, list):
            return Outcome(False, (self._ev(pointer, items, "a list"),))
        outcomes = []
        for index, item in enumerate(items):
            self.ctx.push(join(pointer, index), item)
            try:
                outcomes.append(self.eval(node["where"]))
            finally:
                self.ctx.pop()
        if every:
            return self._all(outcomes) if outcomes else Outcome(True, ())
        if not outcomes:
            wanted = node.get("describe", "at least one item")
            return Outcome(False, (self._ev(pointer, [], wanted),))
        return self._any(outcomes)

    def _secret_scan(self, which: str) -> Outcome:
        hits = self.ctx.scans.get(which, [])
        if not hits:
            return Outcome(True, (self._ev("", "nothing found", "no " + which.replace("_", " ")),))
        def shown(hit: SecretHit) -> str:
            # Credentials are never shown; account ids are shown masked (or in full on request).
            return REDACTED if which == "credentials" else self.ctx.redactor.text(hit.value)

        return Outcome(False, tuple(
            self._ev(hit.pointer, shown(hit), f"no {hit.kind} in the setup file") for hit in hits))

    def _ev(self, pointer: str, actual: Any, expected: Any) -> Evidence:
        """The one place evidence is built, so nothing from the setup escapes unredacted:
        the pointer (a key can be a pasted secret), the value, and an expected value that
        was computed from the document (``collect``, ``lookup``)."""
        if not self.keep_evidence:
            return _NO_EVIDENCE
        redact = self.ctx.redactor
        location = None
        if pointer.startswith("/$files/"):  # a fact from a configuration file: say where
            tokens = pointer.split("/")
            entry = resolve(self.ctx.document, "/".join(tokens[:4]))
            key = tokens[-1]
            if isinstance(entry, dict):
                location = (redact.text(str(entry.get("file", ""))),
                            entry.get("lines", {}).get(key), key)
        return Evidence(redact.text(pointer), redact.value(actual), redact.value(expected),
                        location, _source(self.ctx.document, pointer))
