"""The backup-authenticator drill: prove the recovery factor still produces codes.

The TOTP secret lives only in the OS keyring (enrolled once); the drill asks for
the code the backup device shows and checks it with pyotp, one step of clock
tolerance either way, naming the drift when the code matched a neighbour.
"""

from __future__ import annotations

import binascii
import datetime as dt
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from audit.errors import UsageError
from audit.secrets import keyring_store
from audit.textsafe import shell_command

clock: Callable[[], float] = time.time  # tests replace this with a fixed time


@dataclass(frozen=True)
class Verdict:
    ok: bool
    drift: str | None = None  # "behind" / "ahead" when a neighbouring window matched


MIN_BITS = 80  # 16 base32 characters: what many issuers still hand out
STRONG_BITS = 128  # below this the seed is weak (RFC 4226 asks for 128 bits at least)
_PROBE_SEED = "A" * 32  # a valid 160-bit stand-in, to let pyotp check the rest of a URI


@functools.cache
def _totp_class() -> type[Any]:
    """pyotp's TOTP accepting 80-bit keys, through its documented class attribute."""
    import pyotp

    class ShortKeyTOTP(pyotp.TOTP):
        min_secret_length_bits = MIN_BITS

    return ShortKeyTOTP


def _parse_uri(uri: str) -> Any:
    """pyotp checks everything in the URI but the seed, which our class then checks."""
    import pyotp

    parsed = urlparse(uri)
    pairs = parse_qsl(parsed.query, keep_blank_values=True)
    seeds = [value for key, value in pairs if key == "secret"]
    probe = urlunparse(parsed._replace(query=urlencode(
        [(k, _PROBE_SEED if k == "secret" and v else v) for k, v in pairs])))
    otp = pyotp.parse_uri(probe)
    if not isinstance(otp, pyotp.TOTP):
        raise UsageError("that otpauth URI is not a time-based (TOTP) authenticator")
    if type(otp) is not pyotp.TOTP:
        raise UsageError("that otpauth URI uses a non-standard encoder; it cannot be drilled")
    return _totp_class()(seeds[0].replace(" ", ""), digits=otp.digits, digest=otp.digest,
                         name=otp.name, issuer=otp.issuer, interval=otp.interval)


def _totp(secret: str) -> Any:
    if secret.lower().startswith("otpauth://"):
        return _parse_uri(secret)
    return _totp_class()(secret)


def seed_bits(secret: str) -> int:
    """How many bits of key the stored secret (seed or URI) holds."""
    return len(_totp(secret).byte_secret()) * 8


def normalise(raw: str) -> str:
    """Validate an otpauth:// URI or a base32 seed; returns what to keep in the keyring."""
    text = raw.strip()
    if not text:
        raise UsageError("nothing entered")
    if not text.lower().startswith("otpauth://"):
        text = text.replace(" ", "").replace("-", "").upper().rstrip("=")
    try:
        bits = seed_bits(text)
    except (ValueError, TypeError, binascii.Error) as exc:
        if "at least" in str(exc):
            raise UsageError(f"that is too short for a TOTP seed ({MIN_BITS // 5} base32 "
                             f"characters, {MIN_BITS} bits, at least)") from None
        raise UsageError("not a valid otpauth:// URI or base32 TOTP seed") from None
    if bits < MIN_BITS:  # pragma: no cover - the class refuses these above
        raise UsageError("that is too short for a TOTP seed")
    return text


@dataclass(frozen=True)
class SeedStrength:
    """What the keyring says about the seeds enrolled for the declared devices."""

    enrolled: bool | None  # None: the keyring could not be read (reason in observed)
    strong: bool | None
    observed: str
    weakest: int | None = None  # index of the weakest enrolled device


def seed_strength(devices: list[str]) -> SeedStrength:
    """Measure (never reveal) the drill seeds enrolled under the setup's device names."""
    bits: dict[int, int] = {}
    try:
        for index, device in enumerate(devices):
            secret = keyring_store.fetch(keyring_store.DRILL_SERVICE, device)
            if secret is None:
                continue
            try:
                bits[index] = seed_bits(secret)
            except (ValueError, TypeError, binascii.Error, UsageError):
                bits[index] = 0  # unreadable counts as weak: re-enrol it
    except keyring_store.KeyringUnavailable as exc:
        return SeedStrength(None, None, f"unavailable: {exc}")
    if not bits:
        return SeedStrength(False, None, "no drill seed enrolled for a declared device")
    weakest = min(bits, key=lambda i: bits[i])
    strong = bits[weakest] >= STRONG_BITS
    return SeedStrength(True, strong, f"{len(bits)} enrolled; the shortest has "
                                      f"{bits[weakest]} bits", weakest)


def enroll(name: str, raw: str) -> tuple[keyring_store.Backend, int]:
    """Store the secret (read back to confirm); returns the backend and the seed's bits."""
    secret = normalise(raw)
    backend = keyring_store.store(keyring_store.DRILL_SERVICE, name, secret)
    return backend, seed_bits(secret)


def load(name: str) -> Any:
    secret = keyring_store.fetch(keyring_store.DRILL_SERVICE, name)
    if secret is None:
        raise UsageError(f"no drill secret enrolled for {name!r}; run "
                         f"'{shell_command('ibkr-audit', 'drill', '--enroll', name)}' first")
    return _totp(secret)


def verify(otp: Any, code: str, now: float | None = None) -> Verdict:
    """Check ``code`` at ``now``; a match one step early or late is a pass with drift."""
    moment = clock() if now is None else now
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit()) or len(code) != otp.digits:
        return Verdict(False)
    if not otp.verify(code, for_time=moment, valid_window=1):
        return Verdict(False)
    if otp.verify(code, for_time=moment):
        return Verdict(True)
    return Verdict(True, "behind" if otp.at(moment - otp.interval) == code else "ahead")


def today() -> dt.date:
    return dt.datetime.fromtimestamp(clock(), dt.UTC).date()
