"""Scan a trading bot's source tree for IBKR credentials and account material.

Read-only and bounded (file count, file size). Git-ignored files are scanned on
purpose: an ignored ``.env`` is exactly where plain credentials sit on disk.
A hit records file, line and kind; the value is kept only so outputs can redact
it, and is never part of what the scan reports.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from audit.errors import InputError, Problem
from audit.secrets.scan import ACCOUNT_ID, FREE_TEXT, classify, mask_account_id

SUFFIXES = frozenset({".py", ".env", ".ini", ".toml", ".yaml", ".yml", ".json", ".ipynb",
                      ".cfg", ".conf", ".properties"})
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "site-packages", "dist-packages",
                       "__pycache__", ".venv", "venv", ".tox", ".nox", ".mypy_cache",
                       ".ruff_cache", ".pytest_cache", ".ipynb_checkpoints"})
MAX_FILES = 5000
MAX_FILE_BYTES = 1024 * 1024

CREDENTIAL = "credential"
ACCOUNT = "account_id"

_WORDS = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
# Names and words that tie a line to IBKR: IB_PASSWORD, IbPassword, TWS_PASSWORD, IBEAM_...
_IBKR_WORDS = frozenset({"ib", "ibkr", "ibc", "tws", "ibeam", "ibgw", "insync", "ibapi",
                         "ibind"})
# Words that make a *key* IBKR's (FIXPassword, GATEWAY_PASSWORD) but are too common
# ("fix", "api gateway") to make a whole line or file about IBKR.
_IBKR_KEY_WORDS = _IBKR_WORDS | {"fix", "gateway"}
_PASSWORD_WORDS = frozenset({"password", "passwd", "pwd", "pass", "passphrase", "pin"})
_OAUTH_NAMES = frozenset({("consumer", "key"), ("access", "token"), ("token", "secret"),
                          ("access", "secret")})
_SEED_HINTS = frozenset({"otp", "totp", "seed", "mfa", "2fa", "authenticator", "secret"})
_ACCOUNT_HINTS = frozenset({"account", "acct", "accountid", "account_id", "accounts"})

_ASSIGN = re.compile(
    r"""["']?(?P<key>[A-Za-z_][\w.-]*)["']?\]?\s*(?::|=(?!=))\s*"""
    r"""(?P<val>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s#;,'"]+)""")
_GETENV = re.compile(r"""(?:getenv|get)\(\s*["'](?P<key>[\w.-]+)["']\s*,\s*"""
                     r"""(?P<val>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")
_ANNOTATION = re.compile(r"^(\s*[A-Za-z_]\w*)\s*:\s*[\w\[\], .|]+?(?=\s*=(?!=))")
_PLACEHOLDER = re.compile(
    r"^(?:|none|null|nil|true|false|\*+|x+|\.+|<[^>]*>|\{\{.*\}\}|\$\{?[\w:.-]+\}?|%\w+%|"
    r"(?:your|my)[\w-]*|os\.environ.*|getpass.*|keyring.*|env\(.*|![\w!]+|[\[{(].*|\W+)$",
    re.IGNORECASE)
_SESSION_COOKIE = re.compile(r"x-sess-uuid\s*[=:]\s*[\"']?(?P<val>[\w.-]{8,})", re.IGNORECASE)
_PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")
_KEY_BODY = re.compile(r"^(?:\\n|\s)*[A-Za-z0-9+/=]{20,}")
# A real enrolment URI carries its seed; a template ("otpauth://{0}/{1}?{2}") does not.
_OTPAUTH_SEED = re.compile(r"[?&]secret=[A-Z2-7]{16,}", re.IGNORECASE)
_LIVE = re.compile(r"""(?i)\btrading_?mode["']?\s*[:=]\s*["']?live\b""")
_ACCOUNT_LITERAL = re.compile(r"^D?[UF]\d{5,8}$")
_LITERAL = re.compile(r"""["'](D?[UF]\d{5,8})["']""")


@dataclass(frozen=True)
class Hit:
    """One finding: where, what kind, and the raw value (for redaction only)."""

    path: str
    line: int
    kind: str
    category: str
    value: str

    def shown(self) -> str:
        """``path:line: kind``, account numbers masked; never the value."""
        return ACCOUNT_ID.sub(mask_account_id, f"{self.path}:{self.line}: {self.kind}")


@dataclass
class Scan:
    """What a scan looked at and found."""

    paths: list[str]
    hits: list[Hit] = field(default_factory=list)
    files: int = 0
    skipped: list[str] = field(default_factory=list)
    truncated: bool = False

    def of(self, category: str) -> list[Hit]:
        return [h for h in self.hits if h.category == category]

    def secrets(self) -> list[str]:
        return [h.value for h in self.of(CREDENTIAL)]

    def to_dict(self) -> dict[str, object]:
        return {
            "status": "observed",
            "how": "scan of " + ", ".join(self.paths),
            "confidence": "medium",
            "credentials": [h.shown() for h in self.of(CREDENTIAL)],
            "account_ids": [h.shown() for h in self.of(ACCOUNT)],
            "files_scanned": self.files,
            "truncated": self.truncated,
            "skipped": [ACCOUNT_ID.sub(mask_account_id, s) for s in self.skipped],
        }


def _words(key: str) -> list[str]:
    return [w.lower() for w in _WORDS.split(key) if w]


def _unquote(raw: str) -> tuple[str, bool]:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1], True
    return raw, False


def wanted(path: Path) -> bool:
    """A file the scan reads: by suffix, or an ``.env`` file in any spelling."""
    name = path.name.lower()
    return (path.suffix.lower() in SUFFIXES or name == ".env" or name.startswith(".env.")
            or name.endswith(".env"))


def walk(roots: Iterable[str], max_files: int = MAX_FILES) -> Iterator[Path]:
    """Files to scan under ``roots``; symlinks are not followed, dependency dirs pruned."""
    count = 0
    for root in roots:
        start = Path(root)
        if start.is_file():
            count += 1
            yield start
            continue
        for here, dirs, names in os.walk(start, followlinks=False):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS
                             and not (Path(here, d) / "pyvenv.cfg").exists())
            for name in sorted(names):
                path = Path(here, name)
                if path.is_symlink() or not wanted(path):
                    continue
                count += 1
                if count > max_files:
                    return
                yield path


def scan(roots: list[str], *, max_files: int = MAX_FILES,
         max_bytes: int = MAX_FILE_BYTES) -> Scan:
    """Scan files and directories; unreadable or oversized files are listed as skipped."""
    missing = [r for r in roots if not Path(r).exists()]
    if missing:
        raise InputError([Problem("no such file or directory to scan", file=r) for r in missing])
    result = Scan([str(r) for r in roots])
    for path in walk(roots, max_files + 1):
        if result.files >= max_files:
            result.truncated = True
            break
        try:
            size = path.stat().st_size
            if size > max_bytes:
                result.skipped.append(f"{path} (larger than {max_bytes} bytes)")
                continue
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            result.skipped.append(f"{path} ({exc.strerror or 'unreadable'})")
            continue
        result.files += 1
        result.hits.extend(scan_text(str(path), text))
    return result


def _lines(path: str, text: str) -> Iterator[tuple[int, str]]:
    """(line number, text) pairs; notebook cells are decoded from their JSON strings."""
    raw_lines = text.splitlines()
    if not path.lower().endswith(".ipynb"):
        yield from enumerate(raw_lines, start=1)
        return
    if len(raw_lines) <= 2:  # a notebook saved without indentation: all on line 1
        yield from ((1, source) for source in _cell_sources(text))
        return
    for number, raw in enumerate(raw_lines, start=1):
        item = raw.strip().rstrip(",")
        if item.startswith('"') and item.endswith('"'):
            try:
                decoded = json.loads(item)
            except ValueError:
                decoded = item
            yield number, decoded if isinstance(decoded, str) else item
        else:
            yield number, raw


_SECTIONED = (".ini", ".toml", ".cfg", ".conf", ".properties")
_SECTION = re.compile(r"^\s*\[+([^\]]+)\]+\s*$")
_YAML_KEY = re.compile(r"^(\s*)(?:- )?([\w.-]+)\s*:")


class _Context:
    """Whether a config-file line sits in an IBKR part of the file, read line by line."""

    def __init__(self, path: str, text: str) -> None:
        self.yaml = path.lower().endswith((".yaml", ".yml"))
        self.sections = path.lower().endswith(_SECTIONED) and bool(
            re.search(r"(?m)^\s*\[[^\]]+\]\s*$", text))
        self.whole = bool(set(_words(text)) & _IBKR_WORDS)
        self.section = False
        self.parents: list[tuple[int, bool]] = []

    def about_ibkr(self, line: str) -> bool:
        if self.yaml:
            match = _YAML_KEY.match(line)
            if match is None:
                return any(ibkr for _i, ibkr in self.parents)
            indent = len(match.group(1))
            while self.parents and self.parents[-1][0] >= indent:
                self.parents.pop()
            inherited = any(ibkr for _i, ibkr in self.parents)
            self.parents.append((indent, bool(set(_words(match.group(2))) & _IBKR_WORDS)))
            return inherited
        if self.sections:
            header = _SECTION.match(line)
            if header is not None:
                self.section = bool(set(_words(header.group(1))) & _IBKR_WORDS)
            return self.section
        return self.whole


def _cell_sources(text: str) -> Iterator[str]:
    try:
        cells = json.loads(text).get("cells", [])
    except (ValueError, AttributeError):
        return
    for cell in cells if isinstance(cells, list) else []:
        source = cell.get("source", []) if isinstance(cell, dict) else []
        lines = source.splitlines() if isinstance(source, str) else source
        yield from (line for line in lines if isinstance(line, str))


def scan_text(path: str, text: str) -> list[Hit]:
    """Every hit in one file's text."""
    python = path.lower().endswith((".py", ".ipynb"))
    # In a config file the IBKR context is the section, the YAML parents or the
    # file ('password:' under 'ibkr:'); in code it must be on the line, or every
    # web app's password would count.
    context = _Context(path, text) if not python else None
    hits: list[Hit] = []
    live_lines: list[int] = []
    pending_key: tuple[int, str] | None = None  # a PEM header, waiting for its body
    # Whole-text searches first: most files have no key, no live mode, few candidates.
    has_key = _PRIVATE_KEY.search(text) is not None
    has_live = _LIVE.search(text) is not None
    candidates = _candidate_lines(text)
    for number, line in _lines(path, text):
        ibkr = context.about_ibkr(line) if context is not None else False
        if number not in candidates and pending_key is None:
            continue
        if pending_key is not None:
            if _KEY_BODY.match(line):
                hits.append(Hit(path, pending_key[0], "private key (e.g. an OAuth signing key)",
                                CREDENTIAL, pending_key[1]))
            pending_key = None
        header = _PRIVATE_KEY.search(line) if has_key else None
        if header is not None:
            rest = line[header.end():]
            if _KEY_BODY.match(rest):
                hits.append(Hit(path, number, "private key (e.g. an OAuth signing key)",
                                CREDENTIAL, line.strip()))
            elif not rest.strip(" \t\"',;)"):
                pending_key = (number, line.strip())  # the body may start on the next line
        if has_live and _LIVE.search(line):
            live_lines.append(number)
        hits.extend(_line_hits(path, number, line, python, ibkr))
    passwords = [h for h in hits if h.kind.startswith("IBKR password")]
    if passwords:
        hits.extend(Hit(path, n, "TradingMode=live in the same file as a plain password",
                        CREDENTIAL, passwords[0].value) for n in live_lines)
    return sorted(hits, key=lambda h: h.line)


# A line none of the detectors could fire on (most lines of most files) is skipped
# before the costlier word split and assignment parsing.
# (matched on the lower-cased text: much faster than re.IGNORECASE on an alternation)
_TRIGGER = re.compile(r"pass|pwd|pin|key|token|secret|cookie|sess|otp|seed|mfa|2fa|authent|"
                      r"acc|trading")
_ACCOUNT_TRIGGER = re.compile(r"[UF]\d{5}")


def _candidate_lines(text: str) -> set[int]:
    """Numbers of the lines (as ``splitlines`` counts them) a detector could fire on."""
    starts = list(itertools.accumulate((len(x) for x in text.splitlines(keepends=True)),
                                       initial=0))
    lines: set[int] = set()
    low = text.lower()
    if len(low) != len(text):  # a few characters lower-case to two: keep the offsets exact
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    for match in itertools.chain(_TRIGGER.finditer(low), _ACCOUNT_TRIGGER.finditer(text)):
        lines.add(bisect.bisect_right(starts, match.start()))
    return lines


def _line_hits(path: str, number: int, line: str, python: bool, ibkr_part: bool) -> list[Hit]:
    hits: list[Hit] = []
    line_words = set(_words(line))
    ibkr_line = ibkr_part or bool(line_words & _IBKR_WORDS)
    source = _ANNOTATION.sub(r"\1 ", line) if python else line
    pairs = [(m.group("key"), m.group("val")) for m in _GETENV.finditer(source)]
    pairs += [(m.group("key"), m.group("val")) for m in _ASSIGN.finditer(source)]
    seen: set[str] = set()
    for key, raw in pairs:
        value, quoted = _unquote(raw)
        if (python and not quoted) or value in seen or _PLACEHOLDER.match(value.strip()):
            continue
        kind = _kind(_words(key), value, ibkr_line, line_words)
        if kind is not None:
            seen.add(value)
            category = ACCOUNT if kind.startswith("IBKR account") else CREDENTIAL
            hits.append(Hit(path, number, kind, category, value))
    if line_words & _ACCOUNT_HINTS or ibkr_line:
        for literal in _LITERAL.finditer(line):
            value = literal.group(1)
            if _ACCOUNT_LITERAL.match(value) and value not in seen:
                seen.add(value)
                hits.append(Hit(path, number, "IBKR account number", ACCOUNT, value))
    match = _SESSION_COOKIE.search(line)
    if match and match.group("val") not in seen:
        seen.add(match.group("val"))
        hits.append(Hit(path, number, "Client Portal session cookie", CREDENTIAL,
                        match.group("val")))
    # Seeds count only next to a seed-like name; classify() is the costly part of a line.
    otpauth = "otpauth:" in line.lower()
    if not (otpauth or line_words & _SEED_HINTS) or len(line) < 16:
        return hits
    for kind, secret in classify(line, None):
        if secret in seen or (kind == "base32 TOTP seed" and not line_words & _SEED_HINTS):
            continue
        if kind == FREE_TEXT:  # assignments in code have their own, stricter rule above
            continue
        if kind.startswith("otpauth") and not _OTPAUTH_SEED.search(secret):
            continue
        seen.add(secret)
        hits.append(Hit(path, number, kind, CREDENTIAL, secret))
    return hits


def _kind(words: list[str], value: str, ibkr_line: bool, line_words: set[str]) -> str | None:
    """What a ``key = value`` pair is, if it is IBKR secret material at all."""
    if not words:
        return None
    last, pair = words[-1], tuple(words[-2:])
    ibkr_key = bool(set(words) & _IBKR_KEY_WORDS)
    if last in _PASSWORD_WORDS and (ibkr_key or ibkr_line):
        return "IBKR password in plain text"
    if pair in _OAUTH_NAMES or (last == "secret" and ibkr_key):
        return "OAuth consumer key, token or secret"
    if ("cookie" in words or "session" in words) and (ibkr_key or ibkr_line) and len(value) >= 16:
        return "Client Portal session cookie"
    if set(words) & _SEED_HINTS and classify(value, None):
        return "base32 TOTP seed"
    if _ACCOUNT_LITERAL.match(value) and (
            (set(words) | line_words) & _ACCOUNT_HINTS or ibkr_key or ibkr_line):
        return "IBKR account number"
    return None
