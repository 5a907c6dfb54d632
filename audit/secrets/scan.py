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

# IBKR account ids: U/F (live individual/advisor), DU/DF (paper). 5-9 digits.
ACCOUNT_ID = re.compile(r"(?<![A-Za-z0-9])(D?[UF])(\d{1,5})(\d{4})(?![A-Za-z0-9])")
_OTPAUTH = re.compile(r"otpauth://[^\s\"'<>]+", re.IGNORECASE)
_BASE32 = re.compile(r"[A-Z2-7]{16,}=*")
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")

# The last word of a key that says its value is a secret (``ib_password``,
# ``apiKey``, ``x-totp-seed``); "token_storage" or "password_manager" do not count.
_SECRET_WORDS = frozenset(
    {"password", "passwd", "passphrase", "pwd", "pass", "secret", "token", "seed",
     "otp", "totp", "pin", "credential", "credentials", "apikey", "privatekey"}
)
_SECRET_PAIRS = frozenset({("api", "key"), ("private", "key"), ("access", "key")})


@dataclass(frozen=True)
class SecretHit:
    """A credential-like value found at ``pointer``; ``kind`` says why we think so."""

    pointer: str
    kind: str
    value: str


@functools.lru_cache(maxsize=4096)  # the same few keys recur in every setup
def _key_names_secret(key: str) -> bool:
    words = [w.lower() for w in _WORD_SPLIT.split(key) if w]
    if not words:
        return False
    if words[-1] in _SECRET_WORDS:
        return True
    return len(words) >= 2 and (words[-2], words[-1]) in _SECRET_PAIRS


def _is_otpauth(candidate: str) -> bool:
    import pyotp  # lazily: only strings that look like an otpauth URI get here

    try:
        pyotp.parse_uri(candidate)
    except (ValueError, TypeError, KeyError):
        # Malformed but still an otpauth URI: treat as secret all the same.
        return candidate.lower().startswith("otpauth://")
    return True


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
    if len(value) < 16:  # shorter than any seed or otpauth URI
        return found
    if "otpauth:" in value.lower():
        for match in _OTPAUTH.finditer(value):
            if _is_otpauth(match.group(0)):
                found.append(("otpauth URI (TOTP enrolment secret)", match.group(0)))
    if not found:
        if _looks_like_seed(value):
            found.append(("base32 TOTP seed", value))
        else:
            found.extend(
                ("base32 TOTP seed", token) for token in value.split() if _looks_like_seed(token)
            )
    return found


def scan(document: Any) -> tuple[list[SecretHit], list[SecretHit]]:
    """Walk ``document``; return (credential hits, account-id hits), in document order.

    Keys are scanned as well as values: a secret pasted as a key is still a secret.
    """
    credentials: list[SecretHit] = []
    accounts: list[SecretHit] = []
    path: list[str | int] = []  # tokens to here; a pointer is built only for a hit

    def here(*more: str | int) -> str:
        return join("", *path, *more)

    def visit(node: Any, key: str | None) -> None:
        if isinstance(node, dict):
            for k, item in node.items():
                for kind, secret in classify(k, None):
                    credentials.append(SecretHit(here(k), f"key is a {kind}", secret))
                path.append(k)
                visit(item, k)
                path.pop()
        elif isinstance(node, list):
            for index, item in enumerate(node):
                path.append(index)
                visit(item, key)
                path.pop()
        elif isinstance(node, str):
            for kind, secret in classify(node, key):
                credentials.append(SecretHit(here(), kind, secret))
            for match in ACCOUNT_ID.finditer(node):
                accounts.append(SecretHit(here(), "IBKR account number", match.group(0)))

    visit(document, None)  # depth is bounded by the loader's nesting limit
    return credentials, accounts


def mask_account_id(match: re.Match[str]) -> str:
    prefix, _middle, last4 = match.groups()
    return f"{prefix}***{last4}"


class Redactor:
    """Replaces known secrets and masks account ids in any string or JSON value."""

    def __init__(self, secrets: list[str] | None = None, show_account_ids: bool = False,
                 *, document_is_clean: bool = False) -> None:
        # Longest first, so a URI is replaced whole before a seed inside it.
        self._secrets = sorted({s for s in (secrets or []) if s}, key=len, reverse=True)
        self.show_account_ids = show_account_ids
        # The scan read every string and key of the document and found nothing: values
        # taken from it need no rewriting (a fast path for the common case).
        self.passthrough = document_is_clean and not self._secrets

    def extend(self, secrets: list[str]) -> Redactor:
        return Redactor(self._secrets + secrets, self.show_account_ids)

    def text(self, value: str) -> str:
        if self.passthrough:
            return value
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        value = _OTPAUTH.sub(REDACTED, value)
        if not self.show_account_ids:
            value = ACCOUNT_ID.sub(mask_account_id, value)
        return value

    def value(self, value: Any) -> Any:
        if self.passthrough:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {self.text(k): self.value(v) for k, v in value.items()}
        return value
