#!/usr/bin/env python3
"""Measure ibkr-audit against peers in one run on this machine.

    python benchmarks/bench.py                 # 25 interleaved runs, fleet of 10,000
    python benchmarks/bench.py --runs 40 --fleet 5000

It creates its own virtual environment (benchmarks/.venv-bench, reused on later
runs) with ibkr-audit installed as users get it (a wheel, not editable) and the
peer check-jsonschema. Single file: the median wall time of N interleaved runs
and the peak RSS, for ``ibkr-audit check examples/maya.json --format json``
against ``check-jsonschema --schemafile schemas/setup.schema.json
examples/maya.json`` (validation only: strictly less work than our audit).
checkov is timed too when it is already installed (it is large; we do not
install it). Fleet: 10,000 generated setups (seeded, varied, about 1% invalid),
audited with --jobs 2; setups per second, and peak RSS at 1,000 and 10,000
files. Nothing here asserts: it prints what it measured.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAYA = ROOT / "examples" / "maya.json"
SCHEMA = ROOT / "schemas" / "setup.schema.json"


def measure(cmd: list[str], cwd: Path = ROOT) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in KiB of the process tree, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    rss = usage.ru_maxrss // (1024 if sys.platform == "darwin" else 1)
    return wall, rss, os.waitstatus_to_exitcode(status)


def ensure_venv(path: Path, install_peers: bool) -> dict[str, Path | None]:
    bindir = path / ("Scripts" if os.name == "nt" else "bin")
    if not (bindir / "python").exists():
        print(f"creating {path} ...", file=sys.stderr)
        venv.create(path, with_pip=True)
    pip = [str(bindir / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--force-reinstall", "--no-deps", str(ROOT)], check=True)
    subprocess.run([*pip, str(ROOT)], check=True)  # dependencies, if not there yet
    tools: dict[str, Path | None] = {"ibkr-audit": bindir / "ibkr-audit"}
    if install_peers:
        ok = subprocess.run([*pip, "check-jsonschema"], check=False).returncode == 0
        if not ok:
            print("could not install check-jsonschema: peer skipped", file=sys.stderr)
        tools["check-jsonschema"] = bindir / "check-jsonschema" if ok else None
    found = shutil.which("checkov")
    tools["checkov"] = Path(found) if found else None
    return tools


def single_file(tools: dict[str, Path | None], runs: int) -> None:
    commands = {"ibkr-audit": [str(tools["ibkr-audit"]), "check", str(MAYA), "--format", "json"]}
    if tools.get("check-jsonschema"):
        commands["check-jsonschema"] = [str(tools["check-jsonschema"]), "--schemafile",
                                        str(SCHEMA), str(MAYA)]
    else:
        print("check-jsonschema: not available, skipped")
    if tools.get("checkov"):
        commands["checkov"] = [str(tools["checkov"]), "-f", str(MAYA), "--framework", "json",
                               "--quiet"]
    else:
        print("checkov: not installed, skipped (pip install checkov to include it)")
    for cmd in commands.values():  # warm the page cache and .pyc files
        measure(cmd)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    rss: dict[str, int] = dict.fromkeys(commands, 0)
    for _ in range(runs):  # interleaved, so drift hits every tool alike
        for name, cmd in commands.items():
            wall, peak, _code = measure(cmd)
            walls[name].append(wall)
            rss[name] = max(rss[name], peak)
    print(f"\nSingle file ({MAYA.name}), median of {runs} interleaved runs:")
    ours = statistics.median(walls["ibkr-audit"])
    for name in commands:
        median = statistics.median(walls[name])
        ratio = f"  ibkr-audit/{name} = {ours / median:.2f}x" if name != "ibkr-audit" else ""
        print(f"  {name:<17} {median * 1000:7.1f} ms  peak RSS {rss[name] / 1024:6.1f} MiB{ratio}")


def generate(directory: Path, count: int, seed: int = 20261125) -> None:
    """Varied, realistic setups: different residences, goals, devices, automation."""
    rng = random.Random(seed)
    bases = [json.loads((ROOT / "examples" / f"{n}.json").read_text())
             for n in ("maya", "secure", "minimal")]
    residences = [("US", "IB LLC"), ("GB", "IB UK"), ("DE", "IB IE"), ("CA", "IB Canada"),
                  ("SG", "IB Singapore"), ("BR", "unknown"), ("US", "IB UK")]
    levels = ["low", "medium", "high"]
    strategies = ["equities", "etfs", "single_leg_options", "multi_leg_options",
                  "futures_hedging", "futures_trading", "forex", "rebalancing", "algorithmic"]
    for i in range(count):
        doc = copy.deepcopy(rng.choice(bases))
        doc.pop("$schema", None)
        doc["profile"]["name"] = f"client-{i}"
        doc["profile"]["residence"], entity = rng.choice(residences)
        if "account_entity" in doc["profile"] or rng.random() < 0.5:
            doc["profile"]["account_entity"] = entity
        if rng.random() < 0.8:
            doc["profile"]["goals"] = {k: rng.choice(levels) for k in
                                       ("strategy_complexity", "execution_sensitivity",
                                        "operational_tolerance")}
            doc["profile"]["strategies"] = rng.sample(strategies, rng.randint(1, 4))
        for device in doc.get("devices", []):
            for key in ("shared", "disk_encrypted", "screen_lock", "saves_credentials"):
                if rng.random() < 0.1:
                    device[key] = not device.get(key, False)
        if "automation" in doc and rng.random() < 0.3:
            doc["automation"]["paper_trading"] = {"days": rng.randint(0, 90),
                                                  "passed": rng.random() < 0.7}
            doc["automation"]["trusted_ips"] = rng.choice(
                [["127.0.0.1"], ["10.0.0.0/24"], ["0.0.0.0/0"], ["192.168.1.5", "127.0.0.1"]])
        if "login" in doc and rng.random() < 0.2:
            doc["login"]["mfa"]["primary"] = rng.choice(["sms", "ibkr_mobile", "none"])
        text = json.dumps(doc, indent=2)
        if rng.random() < 0.01:
            text = text[: rng.randint(1, len(text) - 1)]  # a truncated, invalid file
        sub = directory / f"{i // 1000:03d}"
        sub.mkdir(exist_ok=True)
        (sub / f"setup-{i:05d}.json").write_text(text)


def fleet(tools: dict[str, Path | None], count: int, jobs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ibkr-audit-fleet-") as tmp:
        base = Path(tmp)
        small, large = base / "small", base / "large"
        small.mkdir()
        large.mkdir()
        generate(small, min(1000, count))
        generate(large, count)
        for fmt in ("text", "jsonl"):
            print(f"\nFleet, --jobs {jobs}, --format {fmt} (output discarded):")
            for label, directory, n in (("1,000", small, min(1000, count)),
                                        (f"{count:,}", large, count)):
                cmd = [str(tools["ibkr-audit"]), "check", str(directory), "--jobs", str(jobs),
                       "--format", fmt, "--quiet"]
                measure(cmd)  # warm-up
                wall, rss, code = measure(cmd)
                print(f"  {label:>7} setups: {wall:6.2f} s  {n / wall:8,.0f} setups/s  "
                      f"peak RSS {rss / 1024:6.1f} MiB  (exit {code})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=25, help="interleaved runs per tool")
    parser.add_argument("--fleet", type=int, default=10_000, help="setups in the large fleet")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--venv", type=Path, default=ROOT / "benchmarks" / ".venv-bench")
    parser.add_argument("--no-peers", action="store_true", help="measure only ibkr-audit")
    args = parser.parse_args()
    tools = ensure_venv(args.venv, not args.no_peers)
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {sys.platform}")
    single_file(tools, args.runs)
    if args.fleet:
        fleet(tools, args.fleet, args.jobs)


if __name__ == "__main__":
    main()
