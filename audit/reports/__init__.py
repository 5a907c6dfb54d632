"""Report formats: one pure module per format, one registry.

A formatter turns a list of :class:`~audit.model.Report` into text and does
nothing else; the CLI reads files, writes output and decides the exit code.
Modules are imported only when their format is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from audit.model import Report, Severity


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False
    quiet: bool = False
    fail_on: Severity | None = Severity.HIGH


Formatter = Callable[[Sequence[Report], RenderOptions], str]

# format name -> module under audit.reports that defines ``render``
FORMATS: dict[str, str] = {
    "text": "text",
    "json": "json_report",
    "markdown": "markdown",
    "sarif": "sarif",
    "junit": "junit",
    "jsonl": "jsonl",
}
# Formats that place findings on a line of the setup file; only these pay for locating.
NEEDS_LINES = frozenset({"sarif", "junit"})


def get(name: str) -> Formatter:
    module = importlib.import_module(f"audit.reports.{FORMATS[name]}")
    render: Formatter = module.render
    return render
