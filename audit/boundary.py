"""The redaction boundary: every byte that leaves the process passes through here.

Readers call :func:`learn` with each secret they find (in a setup, a waiver file, a
config file) as soon as an input is parsed — before it is validated, so even an
error message about the input is covered. Writers never redact by hand:

* standard output and standard error are replaced, for the whole run, by
  :class:`RedactingStream` (see :func:`guarded`), so ``click.echo``, prompts,
  progress lines and error messages are all redacted whatever built them;
* report files are written with :func:`write_report` / :func:`report_writer`;
* the history store passes every stored string through :func:`redact`.

The only writes that bypass it are the tool's edits of the user's own input files
(``import --into``, ``drill --update``), which must keep the file's content as it
is, and scheduler entries, which must name the real path; a test keeps that list
closed.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO, Protocol

from audit.secrets.scan import Redactor

_redactor = Redactor()


def reset() -> None:
    """Forget what earlier runs in this process learnt (one CLI invocation = one run)."""
    global _redactor
    _redactor = Redactor()


def show_account_ids(show: bool) -> None:
    _redactor.show_account_ids = show


def learn(secrets: list[str]) -> None:
    """Hide these values in every output from now on."""
    _redactor.learn(secrets)


def redactor() -> Redactor:
    """The run's redactor: knows every secret found in any input so far."""
    return _redactor


def redact(text: str) -> Redacted:
    return Redacted(_redactor.text(text))


class Redacted(str):
    """Text that has passed the redactor (e.g. in a fleet worker, which knew the
    secrets of its file); streams pass it on without a second pass."""

    __slots__ = ()


@contextmanager
def scope() -> Iterator[None]:
    """Secrets learnt inside the block are forgotten after it (one fleet file each):
    its output must be redacted with :func:`redact` before the block ends."""
    global _redactor
    outer = _redactor
    _redactor = outer.extend([])
    try:
        yield
    finally:
        _redactor = outer


def redact_at_rest(text: str) -> str:
    """For what is stored (the history): account ids are masked even when the run
    shows them in full (--show-account-ids is for the screen, not the disk)."""
    if not _redactor.show_account_ids:
        return _redactor.text(text)
    return Redactor(sorted(_redactor.secrets)).text(text)


class Target(Protocol):
    def write(self, text: str, /) -> int: ...


class RedactingStream(io.TextIOBase):
    """A text stream that redacts whole lines before passing them on.

    Text is held until a line ends (or the stream is flushed), so a secret written
    in two pieces is still seen whole. There is deliberately no ``buffer``
    attribute: nothing can reach the bytes underneath without passing here.
    """

    def __init__(self, target: Target | IO[str]) -> None:
        super().__init__()
        self.target = target
        self._pending = ""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.target, "errors", None)

    def isatty(self) -> bool:
        return bool(getattr(self.target, "isatty", lambda: False)())

    def fileno(self) -> int:
        fileno: int = self.target.fileno()  # type: ignore[union-attr]
        return fileno

    def writable(self) -> bool:
        return True

    def write(self, text: str | bytes) -> int:
        if isinstance(text, bytes):  # click echoes bytes (shell completion scripts) and,
            text = text.decode(self.encoding, "replace")  # with no buffer, writes them here
        if type(text) is Redacted and not self._pending:
            self.target.write(text)
            return len(text)
        self._pending += text
        cut = max(self._pending.rfind("\n"), self._pending.rfind("\r"))
        if cut >= 0:
            ready, self._pending = self._pending[:cut + 1], self._pending[cut + 1:]
            self.target.write(_redactor.text(ready))
        return len(text)

    def flush(self) -> None:
        # One echo is one write followed by a flush: redact it whole. (Holding back a
        # partial line would cut a secret with blanks in it, like a passphrase.)
        self.drain()

    def drain(self) -> None:
        """Pass on everything held back (the run is over, or the file is complete)."""
        if self._pending:
            ready, self._pending = self._pending, ""
            self.target.write(_redactor.text(ready))
        self._flush_target()

    def _flush_target(self) -> None:
        flush = getattr(self.target, "flush", None)
        if flush is not None:
            flush()


@contextmanager
def guarded() -> Iterator[None]:
    """Route stdout and stderr through the redactor until the block ends."""
    if isinstance(sys.stdout, RedactingStream):  # already inside a guarded run
        yield
        return
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(saved[0]), RedactingStream(saved[1])
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, RedactingStream):
                with suppress(OSError, ValueError):  # the reader went away; main() reports it
                    stream.drain()
        sys.stdout, sys.stderr = saved


def write_report(path: str, text: str, mode: int | None = None) -> None:
    """Write an output file atomically (private by default), redacted."""
    from audit.fsutil import PRIVATE, write_atomic

    write_atomic(path, redact(text), PRIVATE if mode is None else mode)


@contextmanager
def report_writer(path: str) -> Iterator[IO[str]]:
    """A streaming, redacting, atomic writer: the file appears only when complete."""
    from audit.fsutil import atomic_writer

    with atomic_writer(path) as handle:
        stream = RedactingStream(handle)
        yield stream  # type: ignore[misc]
        stream.drain()
