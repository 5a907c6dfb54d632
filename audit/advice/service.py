"""Everything plan and remediate need, computed once from one setup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from audit import __version__
from audit.advice import data as advice_data
from audit.advice import rank
from audit.advice.plan import StageResult, build_plan
from audit.advice.recommend import Recommendation, mismatch_findings, recommend
from audit.advice.remediate import where_keys
from audit.auditor import audit_setup
from audit.engine.checklist import Checklists
from audit.engine.evaluate import Options, evaluator_for
from audit.loading import Setup
from audit.model import Check, Finding, Report
from audit.secrets.scan import Redactor


@dataclass(frozen=True)
class Analysis:
    report: Report
    advice: advice_data.Advice
    recommendation: Recommendation
    mismatches: list[Finding]
    stages: list[StageResult]
    urgent: list[rank.Urgent]
    next_step: rank.NextStep | None

    name: str | None = None
    where_keys: tuple[str, ...] = ()  # interfaces the remediate "Where" may name

    def header(self) -> dict[str, Any]:
        return {"tool": "ibkr-audit", "version": __version__, "setup": self.report.setup_path,
                "generated_at": self.report.generated_at, "as_of": self.report.as_of}


def analyse(setup: Setup, lists: Checklists, options: Options,
            checks: list[Check] | None = None) -> Analysis:
    """``checks`` (default: all) are the ones the user selected with --only/--skip."""
    report = audit_setup(setup, lists, options, checks)
    findings = list(report.findings)
    advice = advice_data.load(lists)
    rec = recommend(setup.data, evaluator_for(setup, lists, options), advice, findings)
    stages = build_plan(setup, lists, options, advice, rec, findings)
    name = setup.data.get("profile", {}).get("name")
    shown = (Redactor(setup.secrets(), options.show_account_ids).text(name)
             if isinstance(name, str) else None)
    return Analysis(report, advice, rec, mismatch_findings(findings), stages,
                    rank.urgent(findings, advice), rank.next_step(findings, advice), shown,
                    where_keys(setup.data, rec.current))
