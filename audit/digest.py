"""SHA-256 for the audit path, without importing :mod:`hashlib`.

``import hashlib`` loads OpenSSL's libcrypto, about 5 ms of a ~100 ms ``check``
before a byte is hashed. CPython also ships its own SHA-256 — the one hashlib
falls back to when OpenSSL lacks it — as ``_sha2`` (3.12+) or ``_sha256``
(3.11); the digests are the same (``tests/test_startup.py`` compares them).
Another interpreter, or a build without those modules, gets hashlib's.
Commands off the audit path (SARIF fingerprints, the HTML report's CSP hash,
schedules) keep using hashlib directly.
"""

from __future__ import annotations

import importlib
from typing import Protocol


class Hash(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def digest(self) -> bytes: ...
    def hexdigest(self) -> str: ...


class _Constructor(Protocol):
    def __call__(self, data: bytes = b"", /) -> Hash: ...


def _builtin() -> _Constructor:
    for module in ("_sha2", "_sha256"):
        try:
            constructor: _Constructor = importlib.import_module(module).sha256
        except (ImportError, AttributeError):
            continue
        return constructor
    import hashlib

    return hashlib.sha256


sha256 = _builtin()
