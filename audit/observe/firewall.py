"""Whether the OS firewall is on, where a tool says so without privileges."""

from __future__ import annotations

import re
from collections.abc import Mapping

from audit.observe.fact import Fact, observed, unobserved
from audit.observe.run import denied, run

NAME = "firewall"
MAC_TOOL = "/usr/libexec/ApplicationFirewall/socketfilterfw"


def observe(platform: str, env: Mapping[str, str] | None = None,
            mac_tool: str = MAC_TOOL) -> Fact:
    """The firewall state on this ``platform``."""
    if platform == "darwin":
        ran = run([mac_tool, "--getglobalstate"], env)
        if ran.ok and re.search(r"\benabled\b", ran.stdout):
            return observed(NAME, True, ran.how, "high")
        if ran.ok and re.search(r"\bdisabled\b", ran.stdout):
            return observed(NAME, False, ran.how, "high")
        return unobserved(NAME, ran.how, ran.error or "socketfilterfw gave no answer we know")
    if platform.startswith("linux"):
        return _linux(env)
    if platform == "win32":
        return _windows(env)
    return unobserved(NAME, "-", f"no firewall probe for platform {platform!r}")


def _linux(env: Mapping[str, str] | None) -> Fact:
    """firewalld and ufw, in that order; nft/iptables need root, so they are not tried."""
    reasons: list[str] = []
    inactive: list[str] = []
    hows: list[str] = []
    for argv, on, off in ((["firewall-cmd", "--state"], "running", "not running"),
                          (["ufw", "status"], "Status: active", "Status: inactive")):
        ran = run(argv, env)
        hows.append(ran.how)
        text = ran.output
        if ran.error is not None:
            reasons.append(ran.error)
        elif off in text:
            inactive.append(ran.how)
        elif on in text:
            return observed(NAME, True, ran.how, "high")
        elif denied(ran):
            reasons.append(f"{ran.how} needs root, which ibkr-audit does not ask for")
        else:
            reasons.append(f"{ran.how} gave no answer we know")
    if inactive:
        return observed(NAME, False, "; ".join(inactive), "low", reason="reported inactive; "
                        "rules loaded directly with nft or iptables need root to list")
    return unobserved(NAME, "; ".join(hows), "; ".join(reasons))


_PROFILE = re.compile(r"^(\w+) Profile Settings:.*?^State\s+(ON|OFF)", re.MULTILINE | re.DOTALL)


def _windows(env: Mapping[str, str] | None) -> Fact:
    ran = run(["netsh", "advfirewall", "show", "allprofiles", "state"], env)
    states = {name.lower(): state == "ON" for name, state in _PROFILE.findall(ran.stdout)}
    if not ran.ok or not states:
        return unobserved(NAME, ran.how, ran.error or "netsh gave no answer we know")
    return observed(NAME, all(states.values()), ran.how, "high", profiles=states)
