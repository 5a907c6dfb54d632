"""One audit pipeline for every command that judges a setup.

``check``, ``plan``, ``remediate`` and fleet mode take the same inputs through the
same options (:func:`audit_options`), gathered in one :class:`Request`. From it:

    read inputs ──► learn secrets ──► validate ──► assemble ──► evaluate ──► render
    (setup,          (boundary)        (schema)     (setup +      (engine,     (formats,
     --waivers,                                      waivers +     no I/O)      through the
     config files,                                   $files)                    boundary)
     checklists)

:func:`prepare` reads everything that is shared by all setups of a run once;
:func:`evaluate` then loads, assembles and audits one setup. Every secret found
in any input is handed to :mod:`audit.boundary` as soon as the input parses.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import click

from audit.errors import UsageError
from audit.inputs import Limits
from audit.loading import Setup
from audit.model import Check, Report, Severity

F = TypeVar("F", bound=Callable[..., Any])

FAIL_ON_CHOICES = [s.value for s in Severity] + ["never"]
# Bounds for dates and numbers given on the command line (issue 14: no overflow later).
EARLIEST_DATE, LATEST_DATE = dt.date(1970, 1, 1), dt.date(2999, 12, 31)
MAX_PARAM = 1_000_000


@dataclass(frozen=True)
class Request:
    """Everything the user asked of one audit run, as parsed from the command line."""

    checklists: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    as_of: dt.date | None = None
    params: tuple[str, ...] = ()
    waiver_file: str | None = None
    allow_critical_waivers: bool = False
    config_files: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (kind, paths)
    check_keyring: bool = False
    show_account_ids: bool = False
    fail_on: str = "high"
    limits: Limits = field(default_factory=Limits)
    overrides: tuple[tuple[str, int], ...] = ()  # --max-review-age and friends

    @property
    def threshold(self) -> Severity | None:
        return parse_fail_on(self.fail_on)

    @property
    def has_config_files(self) -> bool:
        return any(paths for _kind, paths in self.config_files)

    def inputs(self, setups: tuple[str, ...] | list[str]) -> list[str]:
        """Every file this run reads, so ``--output`` can refuse to overwrite one."""
        return [*setups, *self.checklists,
                *(path for _kind, paths in self.config_files for path in paths),
                *([self.waiver_file] if self.waiver_file else [])]


def parse_fail_on(value: str) -> Severity | None:
    return None if value == "never" else Severity(value.lower())


def parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form") from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:  # date arithmetic must not overflow
        raise click.BadParameter(f"{value!r} is out of range ({EARLIEST_DATE.isoformat()} to "
                                 f"{LATEST_DATE.isoformat()})")
    return day


def parse_params(values: tuple[str, ...], known: dict[str, Any]) -> dict[str, Any]:
    """``NAME=NUMBER`` pairs for checklist parameters; unknown names are a usage error."""
    out: dict[str, Any] = {}
    for item in values:
        name, sep, raw = item.partition("=")
        if not sep:
            raise UsageError(f"--param {item!r}: expected NAME=VALUE")
        if name not in known:
            raise UsageError(f"--param {name!r}: unknown parameter; "
                             f"known: {', '.join(sorted(known))}")
        try:
            number = float(raw) if "." in raw else int(raw)
        except ValueError:
            raise UsageError(f"--param {name}={raw!r}: value must be a number") from None
        if not -MAX_PARAM <= number <= MAX_PARAM:  # also refuses inf and nan
            raise UsageError(f"--param {name}={raw[:30]!r}: value must be between "
                             f"-{MAX_PARAM:,} and {MAX_PARAM:,}")
        out[name] = number
    return out


# name of the keyword the option produces -> the click option
_OPTIONS: dict[str, Callable[[F], F]] = {
    "fail_on": click.option(
        "--fail-on", type=click.Choice(FAIL_ON_CHOICES, case_sensitive=False), default="high",
        show_default=True,
        help="Exit 1 when a check at or above this severity fails ('never': always 0)."),
    "checklists": click.option(
        "--checklist", "checklists", multiple=True, metavar="PATH",
        help="Add checks from a checklist file or directory (repeatable)."),
    "only": click.option("--only", multiple=True, metavar="ID|AREA",
                         help="Run only these checks or areas (repeatable)."),
    "skip_": click.option("--skip", "skip_", multiple=True, metavar="ID|AREA",
                          help="Do not run these checks or areas (repeatable)."),
    "as_of": click.option(
        "--as-of", callback=parse_date, metavar="YYYY-MM-DD",
        help="Evaluate date checks as if today were this date (default: today)."),
    "params": click.option(
        "--param", "params", multiple=True, metavar="NAME=VALUE",
        help="Override a checklist parameter, e.g. max_review_age_days=60 "
             "(see 'ibkr-audit checks --params')."),
    "waiver_file": click.option(
        "--waivers", "waiver_file", metavar="FILE",
        help='Extra waivers, as {"waivers": [...]} (appended to the setup\'s own).'),
    "allow_critical_waivers": click.option(
        "--allow-critical-waivers", is_flag=True,
        help="Accept waivers for critical checks (refused by default)."),
    "ibc_files": click.option("--ibc", "ibc_files", multiple=True, metavar="PATH",
                              help="Also audit this IBC config.ini (repeatable)."),
    "jts_files": click.option("--jts", "jts_files", multiple=True, metavar="PATH",
                              help="Also audit this TWS/Gateway jts.ini (repeatable)."),
    "gateway_files": click.option(
        "--gateway-conf", "gateway_files", multiple=True, metavar="PATH",
        help="Also audit this Client Portal gateway conf.yaml (repeatable)."),
    "check_keyring": click.option(
        "--check-keyring", is_flag=True,
        help="Also verify that the keyring entry the setup declares exists, and measure "
             "enrolled drill seeds (may prompt to unlock the keyring; no secret is ever "
             "printed)."),
    "show_account_ids": click.option(
        "--show-account-ids", is_flag=True,
        help="Print IBKR account numbers in full instead of masking them (U***1234)."),
    "max_review_age": click.option(
        "--max-review-age", type=click.IntRange(1, 36_500), metavar="DAYS",
        help="Days before profile.reviewed_on is too old (default 90)."),
    "max_backup_test_age": click.option(
        "--max-backup-test-age", type=click.IntRange(1, 36_500), metavar="DAYS",
        help="Days before a backup authenticator test is too old (default 180)."),
    "max_bytes": click.option(
        "--max-bytes", type=click.IntRange(1, 2**40), default=Limits.max_bytes, show_default=True,
        help="Refuse setup files larger than this."),
    "max_depth": click.option(
        "--max-depth", type=click.IntRange(1, 1000), default=Limits.max_depth,
        show_default=True, help="Refuse setup files nested deeper than this."),
    "max_string": click.option(
        "--max-string", type=click.IntRange(1, 2**31), default=Limits.max_string, show_default=True,
        help="Refuse strings (and keys) longer than this."),
    "max_items": click.option(
        "--max-items", type=click.IntRange(1, 2**31), default=Limits.max_items,
        show_default=True, help="Refuse lists (and objects) with more items than this."),
}


def audit_options(f: F) -> F:
    """Add the shared audit options to a command; it receives one ``request`` instead."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {name: kwargs.pop(name) for name in _OPTIONS}
        kwargs["request"] = _request(given)
        return f(*args, **kwargs)

    command: Any = wrapper
    for option in reversed(list(_OPTIONS.values())):
        command = option(command)
    return command  # type: ignore[no-any-return]


def _request(given: dict[str, Any]) -> Request:
    overrides = tuple((name, value) for name, value in (
        ("max_review_age_days", given["max_review_age"]),
        ("max_backup_test_age_days", given["max_backup_test_age"])) if value is not None)
    return Request(
        checklists=given["checklists"], only=given["only"], skip=given["skip_"],
        as_of=given["as_of"], params=given["params"], waiver_file=given["waiver_file"],
        allow_critical_waivers=given["allow_critical_waivers"],
        config_files=(("ibc", given["ibc_files"]), ("jts", given["jts_files"]),
                      ("gateway", given["gateway_files"])),
        check_keyring=given["check_keyring"], show_account_ids=given["show_account_ids"],
        fail_on=given["fail_on"].lower(), overrides=overrides,
        limits=Limits(max_bytes=given["max_bytes"], max_depth=given["max_depth"],
                      max_string=given["max_string"], max_items=given["max_items"]))


@dataclass(frozen=True)
class Prepared:
    """What every setup of a run shares, read and validated once."""

    request: Request
    lists: Any  # audit.engine.checklist.Checklists
    checks: list[Check]
    options: Any  # audit.engine.evaluate.Options
    extra_waivers: tuple[dict[str, Any], ...] = ()
    config_facts: dict[str, list[dict[str, Any]]] | None = None
    config_secrets: tuple[str, ...] = ()
    observed: dict[str, Any] | None = None  # audit.observe.facts (check --probe/--scan-code)


def prepare(request: Request, *, keep_evidence: bool = True) -> Prepared:
    """Read checklists, the waiver file and config files; every secret is learnt."""
    from audit import boundary
    from audit.engine import checklist
    from audit.engine.evaluate import Options

    boundary.show_account_ids(request.show_account_ids)
    lists = checklist.load(request.checklists)
    checks = checklist.select(lists, request.only, request.skip)
    params = {**parse_params(request.params, lists.params), **dict(request.overrides)}
    options = Options(as_of=request.as_of or dt.date.today(), params=params,
                      show_account_ids=request.show_account_ids,
                      allow_critical_waivers=request.allow_critical_waivers,
                      check_keyring=request.check_keyring, keep_evidence=keep_evidence)
    extra = (tuple(read_waiver_file(request.waiver_file))
             if request.waiver_file else ())
    facts: dict[str, list[dict[str, Any]]] | None = None
    secrets: list[str] = []
    if request.has_config_files:
        from audit.importers import configs

        facts, secrets = configs.load({kind: list(paths) for kind, paths in request.config_files})
        boundary.learn(secrets)
    return Prepared(request, lists, checks, options, extra, facts, tuple(secrets))


def read_waiver_file(path: str) -> list[dict[str, Any]]:
    """Waivers from ``--waivers FILE``: ``{"waivers": [...]}`` or a bare list."""
    from audit.errors import InputError, Problem
    from audit.inputs import decode, parse, read_bytes, scan_and_learn
    from audit.schema import schema_problems, validate

    text = decode(read_bytes(path, Limits()), path)
    data = parse(text, path, Limits())
    scan_and_learn(data)  # before validating: a message may quote any value
    entries = data.get("waivers") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise InputError([Problem('expected {"waivers": [...]} or a list of waivers', file=path)])
    # Validate each entry with the setup schema's own definition of a waiver.
    wrapper = {"schema_version": 1, "profile": {"residence": "US"}, "waivers": entries}
    errors = [e for e in validate(wrapper) if list(e.absolute_path)[:1] == ["waivers"]]
    problems = schema_problems(errors, path, drop=1)
    if problems:
        raise InputError(problems)
    return entries


def assemble(setup: Setup, extra_waivers: list[dict[str, Any]] | tuple[dict[str, Any], ...],
             waiver_file: str | None,
             config_facts: dict[str, list[dict[str, Any]]] | None = None,
             config_secrets: tuple[str, ...] | list[str] = (), *,
             check_keyring: bool = False, observed: dict[str, Any] | None = None) -> Setup:
    """The document the engine evaluates: the setup, plus waivers from ``--waivers``,
    plus facts from config files. The additions are scanned here, once, so that the
    secret checks and the redactor know about them as well as about the setup."""
    from audit.engine import waivers
    from audit.inputs import scan_and_learn

    setup = waivers.merge(setup, list(extra_waivers), waiver_file)
    additions: dict[str, Any] = {}
    if extra_waivers:
        # Placeholders keep the pointers of the scan's hits those of the merged list.
        additions["waivers"] = [None] * setup.own_waivers + list(extra_waivers)
    if config_facts is not None:
        setup = replace(setup, data={**setup.data, "$files": config_facts},
                        extra_secrets=[*setup.extra_secrets, *config_secrets])
        additions["$files"] = config_facts
    if additions:
        credentials, accounts = scan_and_learn(additions)
        setup = replace(setup, credential_hits=[*setup.credential_hits, *credentials],
                        account_hits=[*setup.account_hits, *accounts])
    if observed is not None:  # after the scan: observations are not the user's input
        from audit.observe.merge import merge

        setup = merge(setup, observed)
    if check_keyring:
        from audit import probes

        setup = replace(setup, probes={**setup.probes, **probes.keyring(setup)})
    return setup


def load(path: str, prepared: Prepared) -> Setup:
    """Read, validate and assemble one setup."""
    from audit.loading import load_setup

    setup = load_setup(path, prepared.request.limits,
                       show_account_ids=prepared.request.show_account_ids)
    return assemble(setup, prepared.extra_waivers, prepared.request.waiver_file,
                    prepared.config_facts, prepared.config_secrets,
                    check_keyring=prepared.request.check_keyring, observed=prepared.observed)


def evaluate(setup: Setup, prepared: Prepared, *, locate: bool = False) -> Report:
    """Audit an assembled setup with the run's checks."""
    from audit.auditor import audit_setup

    return audit_setup(setup, prepared.lists, prepared.options, prepared.checks, locate=locate)


def audit_path(path: str, prepared: Prepared, *, locate: bool = False) -> Report:
    return evaluate(load(path, prepared), prepared, locate=locate)
