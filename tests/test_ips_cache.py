"""``ips_within`` remembers parsed addresses, with the answers it gave before.

Parsing an address is most of the operator's cost, and a fleet's setups repeat the
same few; a bounded cache keeps them. This compares the operator with the
definition it had before the cache, on every kind of entry, cold and warm.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Mapping
from typing import Any

import pytest

from audit.engine import conditions


def before(actual: Any, spec: Mapping[str, Any]) -> tuple[bool, list[Any]]:
    """The operator as it was: parse every entry every time."""
    allowed = set(spec.get("allow", ["loopback"]))
    min_v4 = int(spec.get("min_prefix_v4", 32))
    min_v6 = int(spec.get("min_prefix_v6", 128))
    offending: list[Any] = []
    for entry in actual:
        try:
            net = ipaddress.ip_network(entry, strict=False)
        except (TypeError, ValueError):
            offending.append(entry)
            continue
        scopes = set()
        if net.is_loopback:
            scopes.add("loopback")
        elif net.is_link_local:
            scopes.add("link_local")
        elif net.is_private and not net.is_unspecified and not net.is_reserved:
            scopes.add("private")
        narrow = net.prefixlen >= (min_v4 if net.version == 4 else min_v6)
        if not scopes & allowed or ("loopback" not in scopes and not narrow):
            offending.append(entry)
    too_many = "max_items" in spec and len(actual) > int(spec["max_items"])
    return not offending and not too_many, offending


ENTRIES: list[Any] = [
    "127.0.0.1", "127.0.0.0/8", "::1", "10.0.0.5", "10.0.0.0/24", "10.0.0.0/8", "192.168.1.7",
    "172.16.0.0/12", "0.0.0.0/0", "0.0.0.0", "::", "8.8.8.8", "8.8.8.0/24", "fe80::1",  # noqa: S104
    "fe80::/10", "169.254.1.1", "fc00::1", "2001:db8::1", "240.0.0.1", "example.com", "*",
    "", "10.0.0.0/33", "1.2.3.4/", " 127.0.0.1", "x" * 100, "127.0.0.1" + " " * 60,
    3, 2130706433, None, 1.5, ["127.0.0.1"],
]
SPECS: list[dict[str, Any]] = [
    {}, {"allow": ["loopback", "private"]}, {"allow": ["private"], "min_prefix_v4": 24},
    {"allow": ["loopback", "private", "link_local"], "min_prefix_v4": 8, "min_prefix_v6": 64},
    {"max_items": 2}, {"allow": ["link_local"], "min_prefix_v6": 10},
]


@pytest.mark.parametrize("spec", SPECS)
def test_same_answers_cold_and_warm(spec: dict[str, Any]) -> None:
    conditions._known_network.cache_clear()
    for _round in range(2):
        for entry in ENTRIES:
            assert conditions._ips_within([entry], spec) == before([entry], spec), entry
        for pair in itertools.combinations(ENTRIES[:20], 2):
            assert conditions._ips_within(list(pair), spec) == before(list(pair), spec)


def test_only_short_strings_are_remembered() -> None:
    conditions._known_network.cache_clear()
    conditions._ips_within(["127.0.0.1", "x" * 100, 3, None], {})
    assert conditions._known_network.cache_info().currsize == 1
    conditions._ips_within(["127.0.0.1"], {})
    assert conditions._known_network.cache_info().hits == 1
