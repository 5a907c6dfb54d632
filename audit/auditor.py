"""The audit pipeline in one straight line: load → validate → evaluate → Report."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from audit import __version__
from audit.engine import waivers
from audit.engine.checklist import Checklists
from audit.engine.evaluate import Options, evaluate
from audit.inputs import Limits
from audit.loading import Setup, load_setup
from audit.model import Check, Report


def now_utc() -> str:
    """Report timestamp; ``SOURCE_DATE_EPOCH`` pins it for reproducible output."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    pinned = epoch is not None and epoch.isascii() and epoch.isdigit()  # not '²': int() fails
    moment = (dt.datetime.fromtimestamp(int(epoch), dt.UTC) if pinned and epoch
              else dt.datetime.now(dt.UTC))
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def audit_setup(setup: Setup, lists: Checklists, options: Options,
                checks: list[Check] | None = None, *, locate: bool = False) -> Report:
    """Evaluate ``checks`` (default: all) on a loaded setup.

    ``locate`` adds the line of every pointer the findings mention (for SARIF and
    JUnit); it costs a second scan of the text, so other formats skip it.
    """
    in_force = waivers.active(setup, lists, options.as_of, options.allow_critical_waivers)
    findings = waivers.apply(evaluate(setup, lists, options, checks), in_force)
    lines: dict[str, int] = {}
    if locate:
        for finding in findings:
            for pointer in [e.pointer for e in finding.evidence] + [finding.item or ""]:
                line = setup.line_of(pointer)
                if line is not None:
                    lines[pointer] = line
    observed: tuple[tuple[str, str, str, str], ...] = ()
    if "$observed" in setup.data:  # --probe / --scan-code: declared vs observed rows
        from audit.observe.merge import side_by_side
        from audit.secrets.scan import Redactor

        redact = Redactor(setup.secrets(), options.show_account_ids)
        observed = tuple((a, redact.text(b), redact.text(c), redact.text(d))
                         for a, b, c, d in side_by_side(setup.data))
    return Report(
        setup_path=setup.path, tool_version=__version__, generated_at=now_utc(),
        as_of=options.as_of.isoformat(), findings=tuple(findings),
        checklist_digest=lists.digest, setup_sha256=setup.sha256, lines=lines,
        observed=observed,
        checklist_version=lists.version,
    )


def audit_file(path: str, lists: Checklists, options: Options, limits: Limits | None = None,
               checks: list[Check] | None = None, *, locate: bool = False,
               extra_waivers: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
               waiver_file: str | None = None) -> Report:
    """Load, validate, assemble (see :func:`audit.pipeline.assemble`) and audit one file."""
    from audit.pipeline import assemble

    setup = load_setup(path, limits, show_account_ids=options.show_account_ids)
    setup = assemble(setup, extra_waivers, waiver_file, check_keyring=options.check_keyring)
    return audit_setup(setup, lists, options, checks, locate=locate)
