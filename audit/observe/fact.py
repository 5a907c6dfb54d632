"""One observed fact: its value, how it was observed, and how far to trust it.

A fact that could not be observed carries no value, only the reason; nothing
here ever guesses. ``confidence`` is ``high`` when the answer comes straight
from the system's own tool, ``medium`` when it is read indirectly or partly,
``low`` when another mechanism the tool cannot see may change the answer.
Only ``high`` and ``medium`` observations overrule a declaration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OBSERVED = "observed"
UNOBSERVED = "unobserved"
DECISIVE = ("high", "medium")


@dataclass(frozen=True)
class Fact:
    """What the machine said about one thing (``value`` is None when unobserved)."""

    name: str
    status: str
    how: str
    value: Any = None
    confidence: str | None = None
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "how": self.how}
        if self.status == OBSERVED:
            out.update(value=self.value, confidence=self.confidence)
        if self.reason:
            out["reason"] = self.reason
        out.update(self.detail)
        return out


def observed(name: str, value: Any, how: str, confidence: str, *, reason: str | None = None,
             **detail: Any) -> Fact:
    return Fact(name, OBSERVED, how, value, confidence, reason, detail)


def unobserved(name: str, how: str, reason: str, **detail: Any) -> Fact:
    return Fact(name, UNOBSERVED, how, reason=reason, detail=detail)
