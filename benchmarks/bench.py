#!/usr/bin/env python3
"""Measure ibkr-audit against its targets and its peers, side by side, in one run.

    python benchmarks/bench.py                  # 25 interleaved runs, fleet of 10,000
    python benchmarks/bench.py --runs 40 --fleet 5000 --markdown docs/performance.md
    python benchmarks/bench.py --only single --no-peers   # one section, ibkr-audit alone

It creates its own virtual environment (benchmarks/.venv-bench, reused on later
runs) with ibkr-audit installed as users get it (a wheel, not editable) and the
peers check-jsonschema and checkov (each skipped, with a message, when it cannot
be installed). Every figure is printed with its target and a verdict; nothing
here asserts. The machine may be shared: single-file figures are medians of
interleaved runs (drift hits every command alike), and both ratios and absolute
numbers are printed.

Measured:
  * single file: ``ibkr-audit check examples/maya.json --format json`` against
    ``check-jsonschema`` validating the same file with our schema (strictly less
    work than our audit) and ``checkov -f`` on it; peak RSS; ``python -c pass``
    as the floor any Python tool starts from;
  * the same run from a source checkout (``python -m audit`` in the repository)
    against the wheel;
  * 10 custom checklist files (``--checklist DIR``) against one;
  * N devices x N backup authenticators at N = 10, 100, 1,000 (whole process);
  * fleets of 1,000 and 10,000 generated setups with ``--jobs 2``, text and
    jsonl, and jsonl into a deliberately slow reader (parent peak RSS).

The compiled-checklist cache lives in the benchmark's venv (IBKR_AUDIT_CACHE_DIR),
warmed by the first, untimed run of each command, as a user's would be.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
MAYA = ROOT / "examples" / "maya.json"
SCHEMA = ROOT / "schemas" / "setup.schema.json"
MIB = 1024

# Slow reader for the backpressure case: 64 KiB, then a pause; about 30 MiB/s.
SLOW_READER = """
import sys, time
read = sys.stdin.buffer.read
while read(65536):
    time.sleep(0.002)
"""


# CPU time of `check -f json` on each crowded setup inside one process: best of 5.
CURVE_SCRIPT = """
import contextlib, io, sys, time
from audit.cli.main import main
def once(path):
    start = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main(["check", path, "--format", "json"])
        except SystemExit:
            pass
    return time.process_time() - start
paths = {paths!r}
once(paths[0])
print(" ".join(f"{{min(once(p) for _ in range(5)) * 1000:.2f}}" for p in paths))
"""


class Results:
    """Every measured figure with its target, for the terminal and for the docs."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []
        self.notes: list[str] = []

    def add(self, what: str, figure: str, target: str = "", verdict: str = "") -> None:
        self.rows.append((what, figure, target, verdict))
        print(f"  {what:<52} {figure:<44} {target:<18} {verdict}")

    def check(self, what: str, figure: str, value: float, limit: float, *, below: bool = True,
              unit: str = "") -> None:
        met = value <= limit if below else value >= limit
        target = f"{'≤' if below else '≥'} {limit:g}{unit}"
        self.add(what, figure, target, "met" if met else "NOT MET")

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}")

    def markdown(self, header: str) -> str:
        lines = [header, "", "| measurement | figure | target | verdict |",
                 "| --- | --- | --- | --- |"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in self.rows]
        if self.notes:
            lines += ["", *[f"- {n}" for n in self.notes]]
        return "\n".join(lines) + "\n"


def _hwm_kib(pid: int) -> int | None:
    """Peak resident set of one process so far (Linux: VmHWM), or None."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Run(NamedTuple):
    wall: float  # seconds
    rss: int  # peak RSS KiB of the largest process in the tree
    code: int
    own: int | None  # peak RSS KiB of the started process alone (Linux /proc), else None
    cpu: float  # user + system seconds of the tree


def measure(cmd: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None,
            stdout: Any = subprocess.DEVNULL) -> Run:
    """Run ``cmd`` once and say what it cost."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=stdout, stderr=subprocess.DEVNULL,
                            env=env)
    own: int | None = None
    if sys.platform.startswith("linux"):
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            own = _hwm_kib(proc.pid) or own
            time.sleep(0.005)
    else:
        _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    rss = usage.ru_maxrss // (1024 if sys.platform == "darwin" else 1)
    return Run(wall, rss, proc.returncode, own, usage.ru_utime + usage.ru_stime)


def _gnu_time() -> str | None:
    """GNU time, if it is there: it reports a child's peak RSS from its own wait4."""
    for candidate in ("/usr/bin/time", "/bin/time"):
        try:
            probe = subprocess.run([candidate, "-f", "%M", "true"], capture_output=True,
                                   text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        lines = probe.stderr.split()
        if probe.returncode == 0 and lines and lines[-1].isdigit():
            return candidate
    return None


GNU_TIME = _gnu_time()


def peak_rss(cmd: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None,
             runs: int = 3) -> tuple[float, str]:
    """Peak RSS (MiB) of ``cmd`` alone: the largest of ``runs`` untimed runs, and how measured.

    ``ru_maxrss`` from our own ``wait4`` is not the child's figure: the child
    starts as a fork of this (much larger) benchmark process, and Linux counts
    the pages it maps until ``exec`` toward its peak, so every command, even
    ``python -c pass``, would seem to need the benchmark's own ~16 MiB. GNU time
    forks from its own small image, so its figure is the command's. Without it,
    the inflated figure is all there is, and the label says so.
    """
    if GNU_TIME is None:
        return max(measure(cmd, cwd, env).rss for _ in range(runs)) / MIB, \
            "ru_maxrss via fork of the benchmark (inflated; GNU time not found)"
    peaks = []
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "rss"
        for _ in range(runs):
            subprocess.run([GNU_TIME, "-f", "%M", "-o", str(report), *cmd], cwd=cwd, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            peaks.append(int(report.read_text().split()[-1]))
    return max(peaks) / MIB, "GNU time"


def ensure_venv(path: Path, install_peers: bool) -> dict[str, Path | None]:
    bindir = path / ("Scripts" if os.name == "nt" else "bin")
    if not (bindir / "python").exists():
        print(f"creating {path} ...", file=sys.stderr)
        venv.create(path, with_pip=True)
    pip = [str(bindir / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--force-reinstall", "--no-deps", str(ROOT)], check=True)
    subprocess.run([*pip, str(ROOT)], check=True)  # dependencies, if not there yet
    tools: dict[str, Path | None] = {"ibkr-audit": bindir / "ibkr-audit",
                                     "python": bindir / "python"}
    for peer in ("check-jsonschema", "checkov"):
        tools[peer] = None
        if not install_peers:
            continue
        if not (bindir / peer).exists():
            ok = subprocess.run([*pip, peer], check=False).returncode == 0
            if not ok:
                print(f"could not install {peer}: peer skipped", file=sys.stderr)
        if (bindir / peer).exists():
            tools[peer] = bindir / peer
    return tools


def interleaved(commands: dict[str, list[str]], runs: int, env: dict[str, str],
                cwd: dict[str, Path] | None = None) -> dict[str, tuple[float, float, float]]:
    """name -> (median wall s, peak RSS MiB, median CPU s): each command once per round.

    Wall time is what the targets name; CPU time (user + system) is printed beside
    it because on a shared machine wall time also counts waiting for a core."""
    cwd = cwd or {}
    for name, cmd in commands.items():  # warm the page cache, .pyc files, checklist cache
        measure(cmd, cwd.get(name, ROOT), env)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    rss: dict[str, int] = dict.fromkeys(commands, 0)
    for _ in range(runs):
        for name, cmd in commands.items():
            run = measure(cmd, cwd.get(name, ROOT), env)
            walls[name].append(run.wall)
            cpus[name].append(run.cpu)
            rss[name] = max(rss[name], run.rss)
    return {n: (statistics.median(walls[n]), rss[n] / MIB, statistics.median(cpus[n]))
            for n in commands}


def custom_checklists(directory: Path, copies: int) -> None:
    """``copies`` custom checklist files: the bundled device checks under new ids."""
    source = json.loads((ROOT / "checklists" / "devices.json").read_text())
    directory.mkdir(parents=True)
    for i in range(copies):
        data = {"title": f"house rules {i}", "checks": copy.deepcopy(source["checks"])}
        for check in data["checks"]:
            check["id"] = f"HOUSE{i}-" + check["id"].replace("-", "")
        (directory / f"house-{i}.json").write_text(json.dumps(data, indent=2))


def single_file(tools: dict[str, Path | None], runs: int, env: dict[str, str], out: Results,
                tmp: Path, no_peers: bool = False) -> None:
    wheel = [str(tools["ibkr-audit"]), "check", str(MAYA), "--format", "json"]
    python = str(tools["python"])
    commands = {
        "ibkr-audit (wheel)": wheel,
        "source checkout": [python, "-m", "audit", "check", str(MAYA), "--format", "json"],
        "python -c pass": [python, "-c", "pass"],
        "python -c 'import click'": [python, "-c", "import click"],
    }
    one, ten = tmp / "custom-1", tmp / "custom-10"
    custom_checklists(one, 1)
    custom_checklists(ten, 10)
    commands["1 custom checklist"] = [*wheel, "--checklist", str(one)]
    commands["10 custom checklists"] = [*wheel, "--checklist", str(ten)]
    if tools.get("check-jsonschema"):
        commands["check-jsonschema"] = [str(tools["check-jsonschema"]), "--schemafile",
                                        str(SCHEMA), str(MAYA)]
    else:
        out.note("check-jsonschema: skipped" + (" (--no-peers)" if no_peers else
                                                ": it could not be installed"))
    if tools.get("checkov"):
        commands["checkov"] = [str(tools["checkov"]), "-f", str(MAYA), "--framework", "json",
                               "--quiet", "--skip-download"]
    else:
        out.note("checkov: skipped" + (" (--no-peers)" if no_peers else
                                       ": it could not be installed"))
    # The checkout run imports the repository's `audit` (python -m puts cwd first).
    results = interleaved(commands, runs, env, {"source checkout": ROOT})
    print(f"\nSingle file ({MAYA.name}), median of {runs} interleaved runs:")
    for name, (wall, _rss, cpu) in results.items():
        print(f"  {name:<26} {wall * 1000:8.1f} ms  CPU {cpu * 1000:7.1f} ms")
    print()
    ours, _rss, ours_cpu = results["ibkr-audit (wheel)"]
    for peer, limit in (("check-jsonschema", 0.3), ("checkov", 0.02)):
        if peer in results:
            theirs, _rss, their_cpu = results[peer]
            out.check(f"check -f json vs {peer}",
                      f"{ours / theirs:.3f}x ({ours * 1000:.1f} vs {theirs * 1000:.1f} ms; "
                      f"CPU {ours_cpu / their_cpu:.3f}x)", ours / theirs, limit, unit="x")
    floor_wall = results["python -c pass"][0]
    click = "python -c 'import click'"
    click_wall = results[click][0]
    rss = {name: peak_rss(commands[name], env=env) for name in
           ("ibkr-audit (wheel)", "python -c pass", click)}
    how = rss["ibkr-audit (wheel)"][1]
    print(f"Peak RSS ({how}, largest of 3 runs): " + ", ".join(
        f"{name} {mib:.1f} MiB" for name, (mib, _how) in rss.items()))
    ours_rss = rss["ibkr-audit (wheel)"][0]
    out.check("check -f json, peak RSS", f"{ours_rss:.1f} MiB (python -c pass: "
              f"{rss['python -c pass'][0]:.1f} MiB, {floor_wall * 1000:.1f} ms; "
              f"import click: {rss[click][0]:.1f} MiB, "
              f"{click_wall * 1000:.1f} ms)", ours_rss, 16, unit=" MiB")
    checkout = results["source checkout"][0]
    out.check("source checkout vs wheel", f"{checkout / ours:.2f}x ({checkout * 1000:.1f} ms)",
              checkout / ours, 1.2, unit="x")
    c1, c10 = results["1 custom checklist"][0], results["10 custom checklists"][0]
    out.check("10 custom checklists vs 1", f"{c10 / c1:.2f}x ({c10 * 1000:.1f} vs "
              f"{c1 * 1000:.1f} ms)", c10 / c1, 1.5, unit="x")


def crowded(n: int) -> dict[str, Any]:
    """Maya with n devices and n backup authenticators (the named condition behind
    'qualifying backup' looks at every device for every authenticator)."""
    doc: dict[str, Any] = json.loads(MAYA.read_text())
    base = doc["devices"]
    doc["devices"] = [{**copy.deepcopy(base[i % len(base)]), "name": f"device-{i}",
                       "authenticator": i % 3 == 0} for i in range(n)]
    doc["login"]["backup_authenticators"] = [
        {"method": ("totp_app", "hardware_token")[i % 2], "device": f"device-{(i * 7) % (2 * n)}",
         "last_tested": "2026-09-01"} for i in range(n)]
    return doc


def curve(tools: dict[str, Path | None], runs: int, env: dict[str, str], out: Results,
          tmp: Path) -> None:
    print("\nN devices x N backup authenticators, whole process, "
          f"median of {runs} interleaved runs:")
    commands = {}
    for n in (10, 100, 1000):
        path = tmp / f"crowded-{n}.json"
        path.write_text(json.dumps(crowded(n), indent=2))
        for fmt in ("text", "json"):
            commands[f"{n} {fmt}"] = [str(tools["ibkr-audit"]), "check", str(path),
                                      "--format", fmt]
    results = interleaved(commands, runs, env)
    for name, (wall, rss, cpu) in results.items():
        print(f"  {name:<12} {wall * 1000:8.1f} ms  CPU {cpu * 1000:7.1f} ms  "
              f"peak RSS {rss:6.1f} MiB")
    print()
    for fmt in ("text", "json"):
        t10, t100, t1000 = (results[f"{n} {fmt}"][0] for n in (10, 100, 1000))
        cpu = results[f"1000 {fmt}"][2]
        out.check(f"1,000 x 1,000, --format {fmt}, whole process",
                  f"{t1000:.3f} s, CPU {cpu:.3f} s (10: {t10:.3f} s, 100: {t100:.3f} s)",
                  t1000, 0.5, unit=" s")
    # The curve itself in one process (start-up excluded; best of 5, so a busy machine
    # blurs it less): ~10x per 10x items is linear, ~100x quadratic.
    script = CURVE_SCRIPT.format(paths=[str(tmp / f"crowded-{n}.json") for n in (10, 100, 1000)])
    proc = subprocess.run([str(tools["python"]), "-c", script], env=env, capture_output=True,
                          text=True, check=False)
    try:
        audit_ms = [float(x) for x in proc.stdout.split()]
    except ValueError:
        audit_ms = []
    if len(audit_ms) != 3:
        out.note(f"in-process curve failed: {proc.stderr.strip()[-300:]}")
        return
    print("  in one process (check -f json, CPU, best of 5): " + ", ".join(
        f"N={n}: {ms:.1f} ms" for n, ms in zip((10, 100, 1000), audit_ms, strict=True)))
    growth = audit_ms[2] / audit_ms[1]
    out.add("curve in one process (CPU), N = 10 / 100 / 1,000",
            " / ".join(f"{ms:.1f}" for ms in audit_ms) + f" ms (100 -> 1,000: {growth:.1f}x)",
            "~10x per 10x", "linear" if growth < 20 else "SUPERLINEAR")


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


def fleet(tools: dict[str, Path | None], count: int, jobs: int, runs: int, env: dict[str, str],
          out: Results, tmp: Path) -> None:
    small, large = tmp / "fleet-small", tmp / "fleet-large"
    small.mkdir()
    large.mkdir()
    n_small = min(1000, count)
    generate(small, n_small)
    generate(large, count)
    python = str(tools["python"])
    # jsonl-compact is the option the issue suggested for jsonl's throughput: the checks'
    # static text once, in a first line, instead of in every setup's line.
    for fmt in ("text", "jsonl", "jsonl-compact"):
        print(f"\nFleet, --jobs {jobs}, --format {fmt} (output discarded), "
              f"median of {runs} run(s):")
        for label, directory, n in (("1,000", small, n_small), (f"{count:,}", large, count)):
            cmd = [str(tools["ibkr-audit"]), "check", str(directory), "--jobs", str(jobs),
                   "--format", fmt, "--quiet"]
            if n != count:  # warm-up (the large fleet was just written: already cached)
                measure(cmd, env=env)
            walls, peaks, owns = [], [], []
            for _ in range(runs):
                run = measure(cmd, env=env)
                walls.append(run.wall)
                peaks.append(run.rss)
                owns.append(run.own or 0)
                code = run.code
            wall = statistics.median(walls)
            print(f"  {label:>7} setups: {wall:6.2f} s  {n / wall:8,.0f} setups/s  "
                  f"peak RSS {max(peaks) / MIB:6.1f} MiB (parent {max(owns) / MIB:5.1f})"
                  f"  (exit {code})")
            if n == count:
                out.check(f"fleet of {count:,}, --jobs {jobs}, {fmt}",
                          f"{n / wall:,.0f} setups/s ({wall:.2f} s)", n / wall, 3000,
                          below=False, unit="/s")
    # Backpressure: jsonl into a reader that keeps stdout's pipe full.
    slow_n = min(2000, count)
    directory = large / "000" if count > 1000 else small
    cmd = [str(tools["ibkr-audit"]), "check", str(directory), *(
        [str(large / "001")] if count > 1000 else []), "--jobs", str(jobs), "--format", "jsonl",
        "--quiet"]
    reader = subprocess.Popen([python, "-c", SLOW_READER], stdin=subprocess.PIPE)
    pipe = reader.stdin
    if pipe is None:
        raise RuntimeError("no pipe to the slow reader")
    run = measure(cmd, env=env, stdout=pipe)
    pipe.close()
    reader.wait()
    wall, rss = run.wall, run.rss
    parent = (run.own or rss) / MIB
    print(f"\nFleet of {slow_n:,}, jsonl into a slow reader (~30 MiB/s): {wall:.2f} s, "
          f"parent peak RSS {parent:.1f} MiB, largest process {rss / MIB:.1f} MiB")
    out.check(f"fleet jsonl, slow reader ({slow_n:,} setups): parent peak RSS",
              f"{parent:.1f} MiB", parent, 64, unit=" MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=25, help="interleaved runs per command")
    parser.add_argument("--curve-runs", type=int, default=5)
    parser.add_argument("--fleet", type=int, default=10_000, help="setups in the large fleet")
    parser.add_argument("--fleet-runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--venv", type=Path, default=ROOT / "benchmarks" / ".venv-bench")
    parser.add_argument("--no-peers", action="store_true", help="measure only ibkr-audit")
    parser.add_argument("--only", metavar="SECTIONS", default="single,curve,fleet",
                        help="comma-separated sections to run (default: all of "
                             "single,curve,fleet)")
    parser.add_argument("--markdown", type=Path, action="append", default=[],
                        help="also write the table to this file, between the BENCH markers "
                             "if it has them (repeatable: docs/performance.md and README.md)")
    args = parser.parse_args()
    unknown = set(args.only.split(",")) - {"single", "curve", "fleet"}
    if unknown:
        parser.error(f"--only: unknown section(s) {', '.join(sorted(unknown))} "
                     "(choose from single, curve, fleet)")
    tools = ensure_venv(args.venv, not args.no_peers)
    env = {**os.environ, "IBKR_AUDIT_CACHE_DIR": str(args.venv / "cache")}
    env.pop("PYTHONPATH", None)
    # As users run it: a source checkout caches its bytecode (the wheel's was compiled
    # at install time); without this a checkout would recompile every module every run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    machine = (f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {sys.platform}, "
               f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())} at start")
    print(f"machine: {machine}")
    out = Results()
    sections: list[tuple[str, Callable[[Path], None]]] = [
        ("single", lambda tmp: single_file(tools, args.runs, env, out, tmp, args.no_peers)),
        ("curve", lambda tmp: curve(tools, args.curve_runs, env, out, tmp)),
    ]
    if args.fleet:
        sections.append(("fleet", lambda tmp: fleet(tools, args.fleet, args.jobs,
                                                     args.fleet_runs, env, out, tmp)))
    wanted = set(args.only.split(","))
    sections = [(name, run) for name, run in sections if name in wanted]
    with tempfile.TemporaryDirectory(prefix="ibkr-audit-bench-") as tmp:
        for name, run in sections:
            directory = Path(tmp) / name
            directory.mkdir()
            run(directory)
    print("\nTargets:")
    for row in out.rows:
        print(f"  {row[3]:<8} {row[0]}: {row[1]} (target {row[2]})")
    if args.markdown:
        table = out.markdown(f"Measured on {machine}; {args.runs} interleaved runs "
                             f"(curve {args.curve_runs}, fleet {args.fleet_runs}).")
        for path in args.markdown:
            _write_table(path, table)


def _write_table(path: Path, table: str) -> None:
    start, end = "<!-- BENCH:START -->", "<!-- BENCH:END -->"
    text = path.read_text() if path.exists() else ""
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _old, tail = rest.split(end, 1)
        text = f"{head}{start}\n{table}{end}{tail}"
    else:
        text = f"{text}{start}\n{table}{end}\n"
    path.write_text(text)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
