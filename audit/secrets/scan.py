"""Find credentials and account identifiers anywhere in a parsed setup.

A setup file describes *how* an account is protected; it should never contain the
protection itself. The scan runs on the raw parsed document, before schema
validation, so that even a validation error cannot echo a secret back.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from audit.pointer import join

REDACTED = "<redacted>"

# IBKR account ids: U/F (live individual/advisor), DU/DF (paper). 5-9 digits. Letters
# may touch them ("ibkrU1234567", "U1234567paper"); so may an escape that ends in a
# hex digit: a percent-escape as in a SARIF file URI ("%20U1234567"), or the escape
# of a control character in a file name (JSON "\u0001U1234567", terminal
# "\x01U1234567"). Any other ASCII digit may not: that is part of a longer number.
_ESCAPE_BEHIND = (r"(?<=%[0-9A-Fa-f]{2})|(?<=\\x[0-9A-Fa-f]{2})|(?<=\\u[0-9A-Fa-f]{4})"
                  r"|(?<=\\U[0-9A-Fa-f]{8})")
ACCOUNT_ID = re.compile(rf"(?:{_ESCAPE_BEHIND}|(?<![0-9]))(D?[UF])(\d{{1,5}})(\d{{4}})(?![0-9])")
# otpauth:// and otpauth-migration:// (an authenticator export holding every seed),
# also percent-encoded or with its slashes escaped as in a JSON pointer (~1).
_OTPAUTH = re.compile(r"otpauth(?:-migration)?(?::|%3a)[^\s\"'<>]+", re.IGNORECASE)
_BASE32 = re.compile(r"[A-Z2-7]{16,}=*")
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")

# The last word of a key that says its value is a secret (``ib_password``,
# ``apiKey``, ``x-totp-seed``); "token_storage" or "password_manager" do not count.
_SECRET_WORDS = frozenset(
    {"password", "passwd", "passphrase", "passcode", "pwd", "pass", "secret", "token",
     "seed", "otp", "totp", "pin", "credential", "apikey", "privatekey"}
)
# These name a secret wherever they stand in the key ("x-password-old", "secret_key"),
# unless a later word says the value is only about the secret ("password_manager").
_STRONG_WORDS = frozenset(
    {"password", "passwd", "passphrase", "passcode", "secret", "token", "seed", "totp",
     "apikey", "privatekey", "credential"}
)
_ABOUT_WORDS = frozenset(
    {"storage", "store", "stored", "manager", "policy", "length", "age", "rotation",
     "rotated", "expiry", "expires", "hint", "unique", "reused", "changed", "last", "date",
     "days", "enabled", "method", "type", "kind", "location", "service", "username", "user",
     "name", "file", "path", "set", "plaintext", "required", "count", "format", "source",
     "label", "env", "var", "prefix", "url", "header", "field", "hash"}
)
_SECRET_PAIRS = frozenset({("api", "key"), ("private", "key"), ("access", "key"),
                           ("secret", "key")})


@dataclass(frozen=True)
class SecretHit:
    """A credential-like value found at ``pointer``; ``kind`` says why we think so."""

    pointer: str
    kind: str
    value: str


@functools.lru_cache(maxsize=4096)  # the same few keys recur in every setup
def _key_names_secret(key: str) -> bool:
    words = [_stem(w) for w in _WORD_SPLIT.split(key) if w]
    if not words:
        return False
    if words[-1] in _SECRET_WORDS:
        return True
    if len(words) >= 2 and (words[-2], words[-1]) in _SECRET_PAIRS:
        return True
    for index, word in enumerate(words):
        if word in _STRONG_WORDS and not _ABOUT_WORDS.intersection(words[index + 1:]):
            return True
    return False


def _stem(word: str) -> str:
    """``Password2`` and ``passwords`` are the password word too."""
    word = word.lower().rstrip("0123456789")
    return word[:-1] if len(word) > 3 and word.endswith("s") and word[:-1] in (
        _SECRET_WORDS | _STRONG_WORDS) else word


def _looks_like_seed(candidate: str) -> bool:
    """A base32 TOTP seed: 16+ chars of A-Z2-7 in one case, with a digit in it."""
    compact = candidate.replace(" ", "").replace("-", "")
    if len(compact) < 16 or not (compact.isupper() or compact.islower()):
        return False
    upper = compact.upper()
    return bool(_BASE32.fullmatch(upper)) and any(c in "234567" for c in upper)


def classify(value: str, key: str | None) -> list[tuple[str, str]]:
    """(kind, secret substring) pairs found in one string value."""
    found: list[tuple[str, str]] = []
    if key is not None and value.strip() and _key_names_secret(key):
        return [("value under a key that names a secret", value)]
    if ":" in value or "=" in value:
        found.extend((FREE_TEXT, secret)
                     for secret in _assigned_secrets(value))
    if len(value) < 16:  # shorter than any seed or otpauth URI
        return found
    if "otpauth" in value.lower():
        # Well-formed or not, encoded or not: an enrolment URI carries the seed.
        found.extend(("otpauth URI (TOTP enrolment secret)", match.group(0))
                     for match in _OTPAUTH.finditer(value))
    if not found:
        if _looks_like_seed(value):
            found.append(("base32 TOTP seed", value))
        else:
            found.extend(
                ("base32 TOTP seed", token) for token in value.split() if _looks_like_seed(token)
            )
    return found


# "password=Hunter2!", "ib password: s3cret-pw", "token = 'abc123…'" inside a note.
FREE_TEXT = "value after a secret's name in free text"
_ASSIGNED = re.compile(r"([A-Za-z][A-Za-z0-9_.-]*)\s*[:=]\s*['\"]?([^\s'\",;]+)")


def _assigned_secrets(text: str) -> list[str]:
    """Values written after a secret's name in free text.

    Only values that look like credentials count (six characters or more, with a
    digit, a symbol or mixed case): "password: stored in the keychain" is a note
    about a password, not one.
    """
    out = []
    for match in _ASSIGNED.finditer(text):
        name, value = match.groups()
        if len(value) >= 6 and _key_names_secret(name) and (
                any(c.isdigit() for c in value) or not value.isalnum()
                or not (value.islower() or value.isupper())):
            out.append(value)
    return out


# Strings (keys and values) known to hold no credential and no account id, whatever
# key they stand under unless that key names a secret: the same keys and most of the
# same values recur in every setup of a fleet, and a setup's scan is then mostly set
# lookups. Only strings the scan found nothing in are kept, so no secret is held here.
_CLEAN_STRINGS: set[str] = set()
_CLEAN_MAX = 1 << 14  # entries; forgotten all at once when full
_CLEAN_MAX_LEN = 256  # longer strings are scanned every time


def _found_nothing(text: str) -> None:
    if len(text) <= _CLEAN_MAX_LEN:
        if len(_CLEAN_STRINGS) >= _CLEAN_MAX:
            _CLEAN_STRINGS.clear()
        _CLEAN_STRINGS.add(text)


def scan(document: Any) -> tuple[list[SecretHit], list[SecretHit]]:
    """Walk ``document``; return (credential hits, account-id hits), in document order.

    Keys are scanned as well as values: a secret pasted as a key is still a secret.
    """
    credentials: list[SecretHit] = []
    accounts: list[SecretHit] = []
    path: list[str | int] = []  # tokens to here; a pointer is built only for a hit
    clean = _CLEAN_STRINGS

    def here(*more: str | int) -> str:
        return join("", *path, *more)

    def string(text: str, key: str | None) -> None:
        """Scan one string value (its pointer is ``path``)."""
        if text in clean and (key is None or not _key_names_secret(key)):
            return
        found = classify(text, key)
        for kind, secret in found:
            credentials.append(SecretHit(here(), kind, secret))
        ids = [match.group(0) for match in ACCOUNT_ID.finditer(text)]
        accounts.extend(SecretHit(here(), "IBKR account number", found_id) for found_id in ids)
        if not found and not ids and (key is None or not _key_names_secret(key)):
            _found_nothing(text)

    def visit(node: Any, key: str | None, free: bool = False) -> None:
        # ``free``: inside an ``x-`` note, the one place the schema lets a number stand
        # under a name of the user's choosing (a PIN written as a number).
        if isinstance(node, dict):
            for k, item in node.items():
                if k not in clean:
                    found = classify(k, None)
                    for kind, secret in found:
                        credentials.append(SecretHit(here(k), f"key is a {kind}", secret))
                    ids = [match.group(0) for match in ACCOUNT_ID.finditer(k)]
                    accounts.extend(SecretHit(here(k), "IBKR account number as a key", found_id)
                                    for found_id in ids)
                    if not found and not ids:
                        _found_nothing(k)
                if item is None or item is True or item is False:
                    continue  # nothing to find in them
                path.append(k)
                if type(item) is str:
                    string(item, k)
                else:
                    visit(item, k, free or k.startswith("x-"))
                path.pop()
        elif isinstance(node, list):
            for index, item in enumerate(node):
                path.append(index)
                visit(item, key, free)
                path.pop()
        elif isinstance(node, str):
            string(node, key)
        elif free and isinstance(node, int | float) and not isinstance(node, bool) and (
                key is not None and _key_names_secret(key)):
            credentials.append(SecretHit(here(), "number under a key that names a secret",
                                         str(node)))

    visit(document, None)  # depth is bounded by the loader's nesting limit
    return credentials, accounts


def mask_account_id(match: re.Match[str]) -> str:
    prefix, _middle, last4 = match.groups()
    return f"{prefix}***{last4}"


# The same ids as ACCOUNT_ID, found without its leading lookbehind: a pattern that
# starts with a literal class is scanned several times faster, and every byte the
# tool prints passes here. What the lookbehind excluded is excluded in Python.
_ACCOUNT_CANDIDATE = re.compile(r"(D?[UF])(\d{1,5})(\d{4})(?![0-9])")
_ESCAPE_ENDS_HERE = re.compile("(?:" + _ESCAPE_BEHIND.replace("(?<=", "(?:") + r")\Z")


def _after_a_number(text: str, start: int) -> bool:
    """An ASCII digit just before ``start`` that does not end an escape (see ACCOUNT_ID)."""
    return bool(start) and text[start - 1] in "0123456789" and not (
        _ESCAPE_ENDS_HERE.search(text, max(0, start - 10), start))


def _mask_standalone(match: re.Match[str]) -> str:
    text, start = match.string, match.start()
    if not _after_a_number(text, start):
        return mask_account_id(match)
    if len(match.group(1)) == 2:
        # "5DU1234567": not DU1234567 (a digit before it), but U1234567 (a letter
        # before it), as ACCOUNT_ID finds it; masked, both read "5DU***4567".
        return "D" + mask_account_id(match)[1:]
    return match.group(0)  # the tail of a longer number


def mask_accounts(text: str) -> str:
    """``text`` with every IBKR account id masked (``U***1234``)."""
    return _ACCOUNT_CANDIDATE.sub(_mask_standalone, text)


# A secret shorter than this is never searched for inside text: replacing "e" or "30"
# wherever it occurs would mangle unrelated words and, by the holes it leaves, reveal
# the secret. Such values are still replaced where they appear as a whole value, and
# the scan reports them as a finding either way.
MIN_SEARCHABLE = 6
# Characters that continue a word: a replacement swallows them, so "<redacted>" never
# sits inside a word and never reveals where a secret began or ended.
_SEED_TOKEN = re.compile(r"[A-Za-z2-7]{16,}=*")


def _variants(secret: str) -> set[str]:
    """The ways a secret can be spelt in our outputs: raw, JSON-, HTML- (html.escape
    and markupsafe), XML-attribute- and Markdown-cell-escaped, percent-encoded,
    shell-quoted, pointer-escaped, and any of those with control characters escaped."""
    import html
    import json
    import shlex
    from urllib.parse import quote

    from audit.textsafe import clean, markdown_cell

    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             html.escape(secret), html.escape(secret, quote=False), quote(secret, safe=""),
             shlex.quote(secret), secret.replace("~", "~0").replace("/", "~1"),
             # Jinja2's autoescape (markupsafe) and XML attributes (JUnit) spell quotes
             # differently from html.escape; Markdown table cells escape | and \.
             html.escape(secret, quote=False).replace('"', "&#34;").replace("'", "&#39;"),
             html.escape(secret, quote=False).replace('"', "&quot;"),
             markdown_cell(secret)}
    # Terminal text, errors and Markdown escape control characters (\x07, \u2028).
    forms |= {clean(form) for form in forms}
    return {f for f in forms if len(f) >= MIN_SEARCHABLE}


class Redactor:
    """Replaces known secrets and masks account ids in any string or JSON value.

    Secrets are replaced as whole tokens: the word characters around an occurrence go
    with it. Secrets shorter than :data:`MIN_SEARCHABLE` are replaced only where they
    are a whole value. Text is also swept for otpauth URIs and base32 seeds the scan
    never saw (e.g. inside a parser's error message), and account ids are masked.
    """

    def __init__(self, secrets: list[str] | None = None, show_account_ids: bool = False,
                 *, document_is_clean: bool = False) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.show_account_ids = show_account_ids
        self.learn(secrets or [])
        # The scan read every string and key of the document and found nothing: values
        # taken from it need no rewriting (a fast path for the common case).
        self.passthrough = document_is_clean and not self._secrets

    def learn(self, secrets: list[str]) -> None:
        """Add secrets found in another input; every later output hides them too."""
        fresh = {s for s in secrets if s and s.strip()} - self._secrets
        if fresh:
            self._secrets |= fresh
            self._pattern = None
            self.passthrough = False

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def extend(self, secrets: list[str]) -> Redactor:
        out = Redactor(sorted(self._secrets), self.show_account_ids)
        out.learn(secrets)
        return out

    def _compiled(self) -> re.Pattern[str] | None:
        if self._pattern is None and self._secrets:
            forms = sorted({f for s in self._secrets for f in _variants(s)}, key=len,
                           reverse=True)
            if forms:
                self._pattern = re.compile("|".join(map(re.escape, forms)))
        return self._pattern

    def text(self, value: str) -> str:
        if self.passthrough:
            return value
        pattern = self._compiled()
        if pattern is not None:
            value = _replace_tokens(pattern, value)
        return sweep(value, self.show_account_ids)

    def value(self, value: Any) -> Any:
        if self.passthrough:
            return value
        if isinstance(value, str):
            return REDACTED if value in self._secrets else self.text(value)
        if isinstance(value, int | float) and not isinstance(value, bool) and (
                str(value) in self._secrets):
            return REDACTED
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        return value


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _replace_tokens(pattern: re.Pattern[str], text: str) -> str:
    """Replace every match with the word characters around it, in linear time.

    (A regex with the word runs inside it would backtrack quadratically over a long
    word; here each character is passed at most twice.)
    """
    pieces: list[str] = []
    done = 0
    for match in pattern.finditer(text):
        start, end = match.span()
        if end <= done:  # inside a token already replaced
            continue
        start = max(start, done)
        while start > done and _is_word(text[start - 1]):
            start -= 1
        while end < len(text) and _is_word(text[end]):
            end += 1
        pieces += (text[done:start], REDACTED)
        done = end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def _seed_or_keep(match: re.Match[str]) -> str:
    token = match.group(0)
    start, end = match.span()
    text = match.string
    # Only a whole token: a run of letters inside a longer word is not a seed.
    if (start and (text[start - 1].isalnum() or text[start - 1] == "_")) or (
            end < len(text) and (text[end].isalnum() or text[end] == "_")):
        return token
    return REDACTED if _looks_like_seed(token) else token


def sweep_whole(value: str, show_account_ids: bool) -> str:
    """The generic sweep, for secrets no input named: otpauth URIs, base32 seeds and
    (unless shown) account ids, over the whole text: the reference :func:`sweep`
    always agrees with."""
    if "otpauth" in value.lower():
        value = _replace_tokens(_OTPAUTH, value)
    if len(value) >= 16:
        value = _SEED_TOKEN.sub(_seed_or_keep, value)
    if not show_account_ids:
        value = mask_accounts(value)
    return value


# The generic sweep of a long text (a JSON report: tens of KB per setup, mostly the
# same check texts again and again) goes piece by piece and skips the pieces already
# known to come out unchanged.
#
# Why that is the same as sweeping the whole text: cut it at a double quote or a
# newline. No match of the three patterns can contain either (_OTPAUTH stops at a
# quote or a blank; seeds and account ids are letters and digits), every context
# they look at around a match (word characters swallowed by _replace_tokens, the
# whole-token test of a seed, the digit or %XX before an account id, the digit
# after it) stops at either exactly as at the start or end of a string, and a
# replacement (REDACTED) holds neither. So sweep(a + c + b) == sweep(a) + c +
# sweep(b) for c in '"' and '\n', and a text whose pieces each come out unchanged
# comes out unchanged. Cutting first at newlines (the lines of an indented report),
# then at '"id"' (a quote, "id", a quote: one piece per finding of a one-line
# report), then at every quote and newline finds the repeated pieces cheaply. It
# also works backwards: a text that comes out unchanged has pieces that all do. So
# when a new piece does change (an account id in a file name), only the pieces that
# change are replaced, each with what the sweep makes of it.
# tests/test_redaction_fastpath.py checks the equality on arbitrary texts.
_QUOTE = '"'
_CUTS = ("\n", '"id"')  # each begins and ends with a cut character
PIECEWISE_FROM = 2048  # shorter texts are swept whole: cutting them would not pay
_KNOWN_MAX_LEN = 4096  # longer pieces are checked every time, never remembered
_KNOWN_BUDGET = 1 << 21  # bytes (about) remembered per setting; forgotten when full
# What a remembered string costs beyond its characters: the str object and its set
# slot. Counting characters alone let 2-character pieces hold ~115 MB (red team).
_ENTRY_OVERHEAD = 80
_UNCHANGED: dict[bool, set[str]] = {False: set(), True: set()}
_KNOWN_CHARS = {False: 0, True: 0}


def sweep(value: str, show_account_ids: bool) -> str:
    """:func:`sweep_whole`, faster on long texts whose pieces were seen before."""
    if len(value) < PIECEWISE_FROM:
        return sweep_whole(value, show_account_ids)
    known = _UNCHANGED[show_account_ids]
    rest = value  # the parts not known yet, joined at the last cut
    seen: list[set[str]] = []
    for cut in _CUTS:
        if cut in rest:
            parts = set(rest.split(cut))
            parts.difference_update(known)
            if not parts:
                break
            seen.append(parts)
            rest = cut.join(parts)
    else:
        # The pieces: cut at every quote and newline, so none holds either.
        pieces = set(rest.replace("\n", _QUOTE).split(_QUOTE))
        pieces.difference_update(known)
        joined = _QUOTE.join(pieces)
        if sweep_whole(joined, show_account_ids) != joined:  # which ones change?
            changed = {}
            for piece in pieces:
                swept = sweep_whole(piece, show_account_ids)
                if swept != piece:
                    changed[piece] = swept
            _remember(show_account_ids, pieces.difference(changed))
            return _substitute(value, changed)
        seen.append(pieces)
    for parts in seen:
        _remember(show_account_ids, parts)
    return value


def _substitute(value: str, changed: dict[str, str]) -> str:
    """``value`` with each piece between quotes and newlines swept as ``changed`` says
    (a piece not in it is unchanged: it is new and came out unchanged, or it is part
    of a text known to come out unchanged, and so comes out unchanged itself)."""
    get = changed.get
    if "\n" not in value:
        pieces = value.split(_QUOTE)
        return _QUOTE.join(map(get, pieces, pieces))
    return "\n".join([_QUOTE.join(map(get, pieces, pieces))
                      for pieces in (line.split(_QUOTE) for line in value.split("\n"))])


def _remember(show_account_ids: bool, unchanged: set[str]) -> None:
    """Keep texts the sweep leaves unchanged, within a bounded memory (~2 MiB)."""
    known = _UNCHANGED[show_account_ids]
    fresh = [text for text in unchanged if len(text) <= _KNOWN_MAX_LEN and text not in known]
    size = sum(map(len, fresh)) + _ENTRY_OVERHEAD * len(fresh)
    if _KNOWN_CHARS[show_account_ids] + size > _KNOWN_BUDGET:
        _UNCHANGED[show_account_ids].clear()
        _KNOWN_CHARS[show_account_ids] = 0
        if size > _KNOWN_BUDGET:
            return
    _UNCHANGED[show_account_ids].update(fresh)
    _KNOWN_CHARS[show_account_ids] += size
