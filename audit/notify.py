"""Tell a person about an audit: a short, redacted message through Apprise.

Apprise (one library for e-mail, ntfy, Pushover, Telegram, Slack, Matrix, webhooks and
desktop notifications) is imported only when a message is actually sent or a target
checked. Notification URLs carry tokens: they are never printed (only their scheme),
never written into scheduler entries (a scheduled run reads them from a private file
named with ``--notify @FILE``), and removed from every message by the redactor.

The message names the verdict, the counts and the top regressions, and the command to
see more; it never includes evidence values.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from audit.errors import Problem, UsageError
from audit.fsutil import PRIVATE, write_atomic
from audit.history.diff import Diff
from audit.model import Report, Severity
from audit.secrets.scan import REDACTED, Redactor

ON = ("regression", "fail", "always")
TOP = 5  # regressions named in the message; the rest are counted


@dataclass(frozen=True)
class Delivery:
    """What became of one target: shown and stored with the target redacted."""

    target: str  # redacted: scheme only
    ok: bool
    detail: str = ""


def shown(target: str) -> str:
    """A target as it may appear anywhere: its scheme, never its tokens."""
    scheme, sep, _ = target.partition("://")
    return f"{scheme}://{REDACTED}" if sep and scheme.isalnum() else REDACTED


def read_targets(values: Iterable[str]) -> list[str]:
    """The targets given with --notify; ``@FILE`` reads one per line (# comments allowed)."""
    targets: list[str] = []
    for value in values:
        if not value.startswith("@"):
            targets.append(value.strip())
            continue
        path = value[1:]
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError([Problem(f"cannot read notification targets: "
                                      f"{type(exc).__name__}", file=path)]) from None
        targets += [line.strip() for line in text.splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    if not targets or not all(targets):
        raise UsageError("--notify: no notification target (an empty value or file)")
    from audit import boundary

    boundary.learn(targets)  # no output of this run may show them
    return targets


def validate(targets: Sequence[str]) -> None:
    """Refuse, before the audit runs, a target Apprise does not understand."""
    import apprise

    with _quiet():
        bad = [t for t in targets if not apprise.Apprise().add(t)]
    if bad:
        raise UsageError([Problem(f"--notify {shown(t)}: not a notification URL Apprise "
                                  "understands (see https://github.com/caronc/apprise/wiki)")
                          for t in bad])


def targets_file(key: str) -> Path:
    """Where a scheduled audit's targets live: the user config dir, mode 0600."""
    import platformdirs

    return (Path(platformdirs.user_config_dir("ibkr-audit", appauthor=False))
            / "notify" / f"{key}.txt")


def save_targets(key: str, targets: Sequence[str]) -> bytes | None:
    """Write the targets file (the real URLs: it bypasses the redaction boundary on
    purpose, like a scheduler entry); returns what it replaced, for a rollback."""
    path = targets_file(key)
    before = path.read_bytes() if path.exists() else None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, "# ibkr-audit notification targets (keep private)\n"
                 + "".join(f"{t}\n" for t in targets), PRIVATE)
    return before


def restore_targets(key: str, before: bytes | None) -> None:
    path = targets_file(key)
    if before is None:
        path.unlink(missing_ok=True)
    else:
        write_atomic(path, before, PRIVATE)


def wanted(on: str, failed: bool, diffs: Sequence[Diff | None]) -> bool:
    """Whether this run deserves a message under --notify-on ``on``."""
    if on == "always":
        return True
    if on == "fail":
        return failed
    return any(d is not None and d.regressions for d in diffs)


def compose(reports: Sequence[Report], diffs: Sequence[Diff | None], failed: bool,
            threshold: Severity | None, redactor: Redactor,
            recorded: bool) -> tuple[str, str]:
    """(title, body): verdict, counts, top regressions, the command to see more."""
    verdict = "FAIL" if failed else "PASS"
    gate = f" at or above {threshold.value}" if threshold is not None else ""
    regressions = [(r, c) for r, d in zip(reports, diffs, strict=True) if d is not None
                   for c in d.regressions]
    names = ", ".join(Path(r.setup_path).name for r in reports)
    title = f"ibkr-audit {verdict}: {names}"
    if regressions:
        title += f" ({len(regressions)} regression{'s' if len(regressions) != 1 else ''})"
    lines = []
    for report in reports:
        counts = report.summary()
        lines.append(f"{report.setup_path}: " + ", ".join(
            f"{counts[k]} {k}" for k in ("fail", "manual", "pass", "skip", "waived")))
    lines.append(f"Verdict: {verdict} (checks failing{gate}: "
                 f"{sum(len(r.failed_at(threshold)) for r in reports)})")
    if regressions:
        lines.append("Regressions since the last recorded run:")
        for _report, change in regressions[:TOP]:
            item = f" [{change.item}]" if change.item else ""
            lines.append(f"- {change.severity} {change.check_id} {change.title}{item}")
        if len(regressions) > TOP:
            lines.append(f"- and {len(regressions) - TOP} more")
    from audit.textsafe import shell_command

    for report in reports:
        words = ("diff", "--setup") if recorded else ("check",)
        lines.append("See more: " + shell_command("ibkr-audit", *words, report.setup_path))
    return redactor.text(title), redactor.text("\n".join(lines))


def send(targets: Sequence[str], title: str, body: str) -> list[Delivery]:
    """One Apprise call per target, so each failure is known; never raises for delivery."""
    import apprise

    results = []
    with _quiet():
        for target in targets:
            sender = apprise.Apprise()
            if not sender.add(target):
                results.append(Delivery(shown(target), False, "not a valid target"))
                continue
            try:
                ok = bool(sender.notify(body=body, title=title))
            except Exception as exc:  # a plugin bug must not cost the audit its exit code
                results.append(Delivery(shown(target), False, type(exc).__name__))
                continue
            results.append(Delivery(shown(target), ok, "" if ok else "not delivered"))
    return results


def deliver(reports: Sequence[Report], diffs: Sequence[Diff | None], redactor: Redactor, *,
            targets: Sequence[str], on: str, failed: bool, threshold: Severity | None,
            recorded: bool) -> list[Delivery]:
    """Send the message when ``on`` says so; returns what happened to each target."""
    if not targets or not wanted(on, failed, diffs):
        return []
    title, body = compose(reports, diffs, failed, threshold, redactor.extend(list(targets)),
                          recorded)
    return send(targets, title, body)


def previous(reports: Sequence[Report], history_db: str | None) -> list[Diff | None]:
    """Each report against its last recorded run; read before this run is recorded.

    With no history yet every failure counts as new (a first scheduled run should
    speak up); the history database is never created here.
    """
    from audit.history import diff as diffing
    from audit.history.store import Store, default_path, stored_findings

    path = Path(history_db) if history_db else default_path()
    if not path.exists():
        return [diffing.compare(None, None, [], stored_findings(r)) for r in reports]
    out: list[Diff | None] = []
    with Store(path, create=False) as store:
        for report in reports:
            runs = store.runs(report.setup_path, 1)
            old = store.findings(runs[0].id) if runs else []
            out.append(diffing.compare(runs[0] if runs else None, None, old,
                                       stored_findings(report)))
    return out


def after_check(reports: Sequence[Report], diffs: Sequence[Diff | None], *,
                targets: Sequence[str], on: str, failed: bool, threshold: Severity | None,
                recorded: bool, history_db: str | None) -> None:
    """Notify, then say on stderr (and in the history, when recording) what failed.

    A failed notification never changes the audit's exit code.
    """
    import datetime as dt

    import click

    from audit import boundary

    # the run's redactor knows every secret found in any input of this run
    results = deliver(reports, diffs, boundary.redactor(), targets=targets, on=on,
                      failed=failed, threshold=threshold, recorded=recorded)
    failures = [r for r in results if not r.ok]
    for failure in failures:
        click.echo(f"ibkr-audit: warning: notification to {failure.target} failed: "
                   f"{failure.detail}; the audit result is unchanged", err=True)
    if not (recorded and results):
        return
    from audit.history.store import Store, default_path

    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with Store(Path(history_db) if history_db else default_path()) as store:
        for report in reports:
            for result in results:
                store.record_notification(report.setup_path, now, result.target,
                                          "sent" if result.ok else f"failed: {result.detail}")


def input_failed(problems: Sequence[Problem], *, targets: Sequence[str]) -> None:
    """Tell the person that the audit could not run (exit 2): otherwise a scheduled
    audit of a broken or moved setup file would fall silent for good."""
    import click

    from audit import boundary

    redactor = boundary.redactor().extend(list(targets))
    files = sorted({Path(p.file).name for p in problems if p.file}) or ["input"]
    title = redactor.text(f"ibkr-audit ERROR: could not audit {', '.join(files)}")
    shown_problems = [p.render() for p in problems[:TOP]]
    if len(problems) > TOP:
        shown_problems.append(f"and {len(problems) - TOP} more")
    body = redactor.text("\n".join(shown_problems) + "\nNothing was audited; the run exited 2.")
    for failure in (r for r in send(targets, title, body) if not r.ok):
        click.echo(f"ibkr-audit: warning: notification to {failure.target} failed: "
                   f"{failure.detail}", err=True)


class _quiet:
    """Keep Apprise's own log lines (which may quote a URL) off the user's terminal."""

    def __enter__(self) -> None:
        self.logger = logging.getLogger("apprise")
        self.saved = (self.logger.propagate, list(self.logger.handlers), self.logger.level)
        self.logger.handlers = [logging.NullHandler()]
        self.logger.propagate = False
        self.logger.setLevel(logging.CRITICAL + 1)

    def __exit__(self, *_exc: object) -> None:
        self.logger.propagate, self.logger.handlers, level = self.saved
        self.logger.setLevel(level)
