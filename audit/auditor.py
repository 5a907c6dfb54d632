"""The audit pipeline in one straight line: load → validate → evaluate → Report."""

from __future__ import annotations

import datetime as dt
import os

from audit import __version__
from audit.engine.checklist import Checklists
from audit.engine.evaluate import Options, evaluate
from audit.loading import Limits, Setup, load_setup
from audit.model import Check, Report


def now_utc() -> str:
    """Report timestamp; ``SOURCE_DATE_EPOCH`` pins it for reproducible output."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch and epoch.isdigit()
              else dt.datetime.now(dt.UTC))
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def audit_setup(setup: Setup, lists: Checklists, options: Options,
                checks: list[Check] | None = None) -> Report:
    findings = evaluate(setup, lists, options, checks)
    return Report(
        setup_path=setup.path, tool_version=__version__, generated_at=now_utc(),
        as_of=options.as_of.isoformat(), findings=tuple(findings),
        checklist_digest=lists.digest,
    )


def audit_file(path: str, lists: Checklists, options: Options, limits: Limits | None = None,
               checks: list[Check] | None = None) -> Report:
    setup = load_setup(path, limits, show_account_ids=options.show_account_ids)
    return audit_setup(setup, lists, options, checks)
