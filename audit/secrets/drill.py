"""The backup-authenticator drill: prove the recovery factor still produces codes.

The TOTP secret lives only in the OS keyring (enrolled once); the drill asks for
the code the backup device shows and checks it with pyotp, one step of clock
tolerance either way, naming the drift when the code matched a neighbour.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from audit.errors import UsageError
from audit.secrets import keyring_store
from audit.textsafe import shell_command

clock: Callable[[], float] = time.time  # tests replace this with a fixed time


@dataclass(frozen=True)
class Verdict:
    ok: bool
    drift: str | None = None  # "behind" / "ahead" when a neighbouring window matched


def _totp(secret: str) -> Any:
    import pyotp

    if secret.lower().startswith("otpauth://"):
        otp = pyotp.parse_uri(secret)
        if not isinstance(otp, pyotp.TOTP):
            raise UsageError("that otpauth URI is not a time-based (TOTP) authenticator")
        return otp
    return pyotp.TOTP(secret)


def normalise(raw: str) -> str:
    """Validate an otpauth:// URI or a base32 seed; returns what to keep in the keyring."""
    import binascii

    text = raw.strip()
    if not text:
        raise UsageError("nothing entered")
    if not text.lower().startswith("otpauth://"):
        text = text.replace(" ", "").replace("-", "").upper()
        if len(text) < 16:
            raise UsageError("that is too short for a TOTP seed (16 base32 characters at least)")
    try:
        _totp(text).now()
    except (ValueError, TypeError, binascii.Error):
        raise UsageError("not a valid otpauth:// URI or base32 TOTP seed") from None
    return text


def enroll(name: str, raw: str) -> None:
    keyring_store.store(keyring_store.DRILL_SERVICE, name, normalise(raw))


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
    if not code.isdigit() or len(code) != otp.digits:
        return Verdict(False)
    if not otp.verify(code, for_time=moment, valid_window=1):
        return Verdict(False)
    if otp.verify(code, for_time=moment):
        return Verdict(True)
    return Verdict(True, "behind" if otp.at(moment - otp.interval) == code else "ahead")


def today() -> dt.date:
    return dt.datetime.fromtimestamp(clock(), dt.UTC).date()
