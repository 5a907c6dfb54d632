"""Parse IBC config.ini, TWS/Gateway jts.ini and Client Portal gateway conf.yaml.

Each file becomes an entry of facts for the checks, under ``/$files/<kind>/<n>``
of the document the engine evaluates, with the line of every key so evidence
can say ``file:line key``. Passwords never enter the facts: only whether one is
set. Their values are returned separately so every output can redact them.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit.errors import InputError, Problem
from audit.inputs import Limits, decode, read_bytes

KINDS = ("ibc", "jts", "gateway")
SECRET_KEYS = {"IbPassword", "FIXPassword", "sslPwd", "ProxyPassword"}
DEFAULT_GATEWAY_CERT = "vertx.jks"
DEFAULT_GATEWAY_PASSWORD = "mywebapi"  # noqa: S105 - the publicly known default we warn about


@dataclass
class Parsed:
    entry: dict[str, Any]
    secrets: list[str] = field(default_factory=list)


MAX_CONFIG_BYTES = 1024 * 1024
# A gateway conf.yaml is a flat file a few levels deep: bounds that no real one reaches,
# so a hostile one is refused before it costs time or memory (issue 14).
MAX_YAML_DEPTH = 32
MAX_YAML_NODES = 5_000


def _read(path: str) -> str:
    try:
        data = read_bytes(path, Limits(max_bytes=MAX_CONFIG_BYTES))
    except InputError as exc:
        if any("larger than" in p.message for p in exc.problems):
            # --max-bytes is for setup files; config files have a fixed bound.
            raise InputError([Problem(
                f"is larger than {MAX_CONFIG_BYTES:,} bytes; IBC, jts.ini and gateway config "
                "files are a few KiB, so this is not one (check the path given to "
                "--ibc/--jts/--gateway-conf or 'import')", file=path)]) from None
        raise
    return decode(data, path)


def _mode(path: str) -> tuple[str, bool]:
    info = Path(path).stat()
    mode = stat.S_IMODE(info.st_mode)
    return f"{mode:04o}", mode & 0o077 == 0


def parse_properties(text: str, path: str, *, sections: bool) -> list[tuple[str, str, str, int]]:
    """(section, key, value, line) for every setting; malformed lines are exit 2."""
    out: list[tuple[str, str, str, int]] = []
    section = ""
    seen: dict[tuple[str, str], int] = {}
    problems = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";", "!")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip() if sections else section
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip() or any(c.isspace() for c in key.strip()):
            problems.append(Problem("not a 'Key=value' line", file=path, line=number))
            continue
        name = (section, key.strip())
        if name in seen:
            problems.append(Problem(f"{key.strip()} is set again (first on line {seen[name]}); "
                                    "which one wins depends on the reader", file=path,
                                    line=number))
            continue
        seen[name] = number
        out.append((section, key.strip(), value.strip(), number))
    if problems:
        raise InputError(problems)
    return out


def _hosts(value: str) -> list[str]:
    """A comma list of hosts/addresses; 'localhost' counts as 127.0.0.1."""
    items = [v.strip() for v in re.split(r"[,;\s]+", value) if v.strip()]
    return ["127.0.0.1" if v.lower() == "localhost" else v for v in items]


def _settings(entries: list[tuple[str, str, str, int]]) -> Parsed:
    settings: dict[str, Any] = {}
    lines: dict[str, int] = {}
    secrets: list[str] = []
    for _section, key, value, line in entries:
        if key in SECRET_KEYS:
            if value:
                secrets.append(value)
            settings[key] = "set" if value else ""
        else:
            settings[key] = value
        lines[key] = line
    return Parsed({"settings": settings, "lines": lines}, secrets)


def parse_ibc(path: str) -> Parsed:
    parsed = _settings(parse_properties(_read(path), path, sections=False))
    settings = parsed.entry["settings"]
    lines = parsed.entry["lines"]
    for fact, key in (("control_from", "ControlFrom"), ("bind_address", "BindAddress"),
                      ("command_server", "CommandServerPort"),
                      ("trusted_api_clients", "TrustedTwsApiClientIPs")):
        if key in lines:
            lines[fact] = lines[key]
    mode, private = _mode(path)
    parsed.entry.update({
        "file": path, "mode": mode, "private": private,
        "control_from": _hosts(settings.get("ControlFrom", "")) or ["127.0.0.1"],
        # IBC listens on every interface when BindAddress is blank.
        "bind_address": _hosts(settings.get("BindAddress", "")) or ["0.0.0.0"],  # noqa: S104
        "command_server": settings.get("CommandServerPort", "0") not in ("", "0"),
        "trusted_api_clients": _hosts(settings.get("TrustedTwsApiClientIPs", "")),
    })
    return parsed


def parse_jts(path: str) -> Parsed:
    entries = parse_properties(_read(path), path, sections=True)
    parsed = _settings(entries)
    mode, private = _mode(path)
    trusted = [v for _s, k, v, _l in entries if k == "TrustedIPs"]
    if "TrustedIPs" in parsed.entry["lines"]:
        parsed.entry["lines"]["trusted_ips"] = parsed.entry["lines"]["TrustedIPs"]
    parsed.entry.update({"file": path, "mode": mode, "private": private,
                         "trusted_ips": [h for v in trusted for h in _hosts(v)],
                         "sections": sorted({s for s, _k, _v, _l in entries if s})})
    return parsed


def _wildcard_to_network(pattern: str) -> str:
    """Gateway allow patterns ('192.*', '10.1.*', '127.0.0.1', '*') as CIDR ranges."""
    text = pattern.strip()
    if text in ("*", "0.0.0.0", "*.*.*.*"):  # noqa: S104 - we read, not bind
        return "0.0.0.0/0"
    parts = text.split(".")
    if "*" in parts:
        fixed = parts[:parts.index("*")]
        octets = fixed + ["0"] * (4 - len(fixed))
        return f"{'.'.join(octets)}/{8 * len(fixed)}"
    return text


def parse_gateway(path: str) -> Parsed:
    import yaml  # only this importer needs YAML

    text = _read(path)
    try:
        root, data = _compose_and_construct(text, path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # The parser quotes the text it choked on, which may be a password (a value
        # written as a tag, '!secret'): say what is wrong, never what was there.
        # Token names such as '<block end>' are the parser's own words and stay.
        problem = re.sub(r"'(?!<[^'<>]*>')[^']*'|\"[^\"]*\"", "(…)",
                         str(getattr(exc, "problem", "") or ""))
        raise InputError([Problem(f"invalid YAML: {problem or 'cannot parse'}", file=path,
                                  line=mark.line + 1 if mark else None)]) from None
    if not isinstance(data, dict) or root is None:
        raise InputError([Problem("expected a YAML mapping at the top", file=path, line=1)])
    lines: dict[str, int] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                name = f"{prefix}{key_node.value}"
                lines[name] = key_node.start_mark.line + 1
                walk(value_node, name + ".")

    walk(root, "")
    ips = data.get("ips") or {}
    allow = [str(v) for v in (ips.get("allow") or [])] if isinstance(ips, dict) else []
    cors = data.get("cors") or {}
    origin = cors.get("origin.allowed") if isinstance(cors, dict) else None
    password = data.get("sslPwd")
    secrets = [str(password)] if password else []
    mode, private = _mode(path)
    networks = [_wildcard_to_network(a) for a in allow]
    entry = {
        "file": path, "mode": mode, "private": private,
        "allow": networks, "allow_patterns": allow,
        "listen_ssl": data.get("listenSsl", True) is not False,
        "cors_origin": str(origin) if origin is not None else "",
        "ssl_cert": str(data.get("sslCert", "")),
        "default_keystore": (str(data.get("sslCert", "")) == DEFAULT_GATEWAY_CERT
                             and str(password) == DEFAULT_GATEWAY_PASSWORD),
        "lines": {**lines, "allow": lines.get("ips.allow", 0), "listen_ssl":
                  lines.get("listenSsl", 0), "cors_origin": lines.get("cors.origin.allowed", 0),
                  "default_keystore": lines.get("sslPwd", 0)},
    }
    return Parsed(entry, secrets)


def _compose_and_construct(text: str, path: str) -> tuple[Any, Any]:
    """Compose (for line numbers) and construct a gateway file, refusing first, from
    its event stream, what such a file never needs: anchors and aliases (the "billion
    laughs" of YAML), nesting deeper than MAX_YAML_DEPTH, more than MAX_YAML_NODES
    values. libyaml parses when it is there (fast); the pure-Python parser otherwise."""
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    depth = nodes = 0
    for event in yaml.parse(text, Loader=loader_class):
        problem = None
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            problem = ("YAML anchors and aliases (&, *) are not accepted in a gateway "
                       "config file; write the values out")
        elif isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            nodes += 1
            if depth > MAX_YAML_DEPTH:
                problem = f"YAML is nested deeper than {MAX_YAML_DEPTH} levels"
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
        if nodes > MAX_YAML_NODES:
            problem = f"YAML has more than {MAX_YAML_NODES:,} values"
        if problem is not None:
            mark = getattr(event, "start_mark", None)
            raise InputError([Problem(problem, file=path,
                                      line=mark.line + 1 if mark is not None else None)])
    root = yaml.compose(text, Loader=loader_class)
    data = loader_class("").construct_document(root) if root is not None else None
    return root, data


PARSERS = {"ibc": parse_ibc, "jts": parse_jts, "gateway": parse_gateway}


def load(files: dict[str, list[str]]) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Facts for every given file, by kind, and the secret values found in them."""
    facts: dict[str, list[dict[str, Any]]] = {}
    secrets: list[str] = []
    problems: list[Problem] = []
    for kind, paths in files.items():
        for path in paths:
            try:
                regular = Path(path).is_file()
            except OSError as exc:  # a name too long, a loop of links
                problems.append(Problem(f"cannot read: {exc.strerror or exc}", file=path))
                continue
            if not regular:
                problems.append(Problem("no such file", file=path))
                continue
            try:
                parsed = PARSERS[kind](path)
            except InputError as exc:
                problems.extend(exc.problems)
                continue
            facts.setdefault(kind, []).append(parsed.entry)
            secrets.extend(parsed.secrets)
    if problems:
        raise InputError(problems)
    return facts, secrets

