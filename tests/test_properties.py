"""Property tests: any setup, valid or broken, through every command and format.

CI runs a bounded number of examples (profile "ci"); run the long profile locally
with HYPOTHESIS_PROFILE=long python -m pytest tests/test_properties.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.pointer import split
from tests.conftest import EXAMPLES, invoke
from tests.strategies import SCHEMA, _resolve, mutated_setups, valid_setups

settings.register_profile("ci", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.function_scoped_fixture])
settings.register_profile("long", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

COMMANDS = [["check", "-f", f] for f in ("text", "json", "markdown", "sarif", "junit")] + [
    ["plan", "-f", f] for f in ("text", "json", "markdown")] + [
    ["remediate", "-f", f] for f in ("markdown", "json")]
ENV = {"SOURCE_DATE_EPOCH": "1764028800"}
MAYA = EXAMPLES / "maya.json"


def in_schema(pointer: str) -> bool:
    """The pointer names a place the setup schema defines (present or not)."""
    node: dict[str, Any] = SCHEMA
    for token in split(pointer):
        node = _resolve(node)
        if "properties" in node and token in node["properties"]:
            node = node["properties"][token]
        elif "items" in node and token.isdigit():
            node = node["items"]
        else:
            return token.startswith("x-")  # notes are free-form below an x- key
    return True


def _refuse_constant(name: str) -> Any:
    raise AssertionError(f"{name} in JSON output")


def _run_all(path: Path) -> list[tuple[list[str], Any]]:
    results = []
    for args in COMMANDS:
        run = invoke(args[0], str(path), "--as-of", "2026-11-25", *args[1:], env=ENV)
        assert run.exit_code in (0, 1, 2), (args, run.exit_code, run.stderr)
        assert "Traceback" not in run.stderr + run.stdout, args
        if run.exit_code == 2:
            assert run.stdout == ""
            assert all(line.startswith("ibkr-audit: error: ")
                       for line in run.stderr.strip().splitlines() if line), run.stderr
            # A cap bounds the output of even the most broken file (issue 14).
            assert len(run.stderr.splitlines()) <= 101, len(run.stderr.splitlines())
        elif args[2] in ("json", "sarif"):
            json.loads(run.stdout, parse_constant=_refuse_constant)  # strict JSON only
        results.append((args, run))
    return results


@given(doc=valid_setups)
def test_valid_setups_never_crash_and_report_consistently(doc: dict[str, Any],
                                                         tmp_path: Path) -> None:
    path = tmp_path / "setup.json"
    path.write_text(json.dumps(doc))
    results = _run_all(path)
    for args, run in results:
        if run.exit_code == 2:  # only a waiver can make a schema-valid file unusable
            assert "/waivers/" in run.stderr, (args, run.stderr)
            continue
        if args[2] in ("json", "sarif"):
            data = json.loads(run.stdout)
            if args[:3] == ["check", "-f", "json"]:
                for finding in data["findings"]:
                    for ev in finding["evidence"]:
                        assert in_schema(ev["pointer"]), (finding["id"], ev["pointer"])
    # The same input gives the same output, byte for byte.
    again = _run_all(path)
    assert [r.stdout for _a, r in again] == [r.stdout for _a, r in results]


@given(text=mutated_setups())
def test_broken_setups_fail_cleanly(text: str, tmp_path: Path) -> None:
    path = tmp_path / "setup.json"
    path.write_bytes(text.encode("latin-1", "replace") if any(ord(c) > 127 for c in text)
                     and not _is_utf8(text) else text.encode("utf-8", "surrogatepass"))
    _run_all(path)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False
    return True


@given(doc=valid_setups)
def test_fast_validator_agrees_with_jsonschema_on_valid(doc: dict[str, Any]) -> None:
    from audit.schema import _fast_validator, validate

    assert _fast_validator("setup.schema.json")(doc) is (validate(doc) == [])


@given(text=mutated_setups())
def test_fast_validator_never_accepts_what_jsonschema_rejects(text: str) -> None:
    from audit.schema import _fast_validator, validate

    try:
        doc = json.loads(text)
    except ValueError:
        return
    fast = _fast_validator("setup.schema.json")(doc)
    assert fast is (validate(doc) == []), text[:300]


@given(as_of=st.dates(), age=st.integers(), param=st.one_of(st.integers(), st.floats()),
       epoch=st.integers(0, 10**20), run_id=st.integers())
def test_any_number_on_the_command_line_is_exit_0_1_or_2(as_of: dt.date, age: int,
                                                         param: float, epoch: int,
                                                         run_id: int) -> None:
    """Dates and numbers from the command line or the environment never overflow."""
    runs = [
        invoke("check", str(MAYA), "--as-of", as_of.isoformat(), "--max-review-age", str(age),
               "--param", f"max_backup_test_age_days={param}",
               env={"SOURCE_DATE_EPOCH": str(epoch)}),
        invoke("diff", str(run_id)),
    ]
    for run in runs:
        assert run.exit_code in (0, 1, 2), run.stderr
        assert "Traceback" not in run.stderr and "internal error" not in run.stderr
