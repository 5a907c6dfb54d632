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
    verbose: bool = False  # text: list passing and skipped checks too
    width: int | None = None  # text: columns to wrap to (None: the terminal's)


Formatter = Callable[[Sequence[Report], RenderOptions], str]


@dataclass(frozen=True)
class Format:
    """One report format and what it needs from the pipeline."""

    module: str  # under audit.reports, defining ``render`` (or "module:function")
    needs_lines: bool = False  # places findings on a line of the setup (costs a text scan)
    fleet: bool = False  # can stream one setup at a time in fleet mode
    fleet_only: bool = False  # always runs in fleet mode (one line per setup)
    color: bool = False  # may colour its output on a terminal


FORMATS: dict[str, Format] = {
    "text": Format("text", fleet=True, color=True),
    "json": Format("json_report", fleet=True),
    "markdown": Format("markdown", fleet=True),
    "sarif": Format("sarif", needs_lines=True),
    "junit": Format("junit", needs_lines=True),
    "jsonl": Format("jsonl", fleet=True, fleet_only=True),
    "short": Format("short", needs_lines=True),  # one file:line line per failure
    "jsonl-compact": Format("jsonl:render_compact", fleet=True, fleet_only=True),
    "html": Format("html", fleet=True),
}
FLEET_FORMATS = tuple(name for name, f in FORMATS.items() if f.fleet)


def get(name: str) -> Formatter:
    module_name, _, function = FORMATS[name].module.partition(":")
    module = importlib.import_module(f"audit.reports.{module_name}")
    render: Formatter = getattr(module, function or "render")
    return render
