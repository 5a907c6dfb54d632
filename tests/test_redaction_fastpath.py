"""The output side's fast paths write exactly what the slow, obvious paths write.

* The redactor's sweep of a long text goes piece by piece (between double quotes)
  and skips pieces it has seen come out unchanged (``audit.secrets.scan.sweep``);
  the reference sweeps the whole text every time (``sweep_whole``).
* Reports are built for orjson checking only the values read from the setup, and
  ``jsonl-compact`` builds its findings without the catalogue's text directly.

Each is compared with its reference on arbitrary texts, and the CLI's output with
the fast paths on and off over every setup in examples/ and tests/assets/ and 200
generated ones with secrets and account ids planted in them, in json, jsonl,
jsonl-compact, sarif and text.
"""

from __future__ import annotations

import copy
import json
import random
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.reports import json_report
from audit.secrets import scan
from tests.conftest import AS_OF, ASSETS, EXAMPLES, invoke

# Pieces that sit on every edge the sweep looks at: account ids (with a digit, a
# letter or %XX before them), seeds (upper, lower, mixed case, with padding),
# otpauth URIs (raw, percent-encoded, escaped), word characters that a replacement
# swallows, quotes, backslashes and the '"id"' cut.
TOKENS = ["U1234567", "DU12345", "F98765432", "U123", "7U1234567", "%20U1234567", "%2",
          "GEZDGNBVGY3TQOJQ", "gezdgnbvgy3tqojq", "GEZDGNBVgy3tqojq", "JBSWY3DPEHPK3PXP==",
          "ABCDEFGHIJKLMNOP", "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQ", "OTPAUTH%3aX",
          "otpauth-migration://offline?data=abc", "otpauth", '"', '"id"', "\\", "\\n", "\\\"",
          "_", "a", "Z", "5", " ", "\n", "=", "<redacted>", "U***1234", "é", ":", "{", "}"]
texts = st.lists(st.one_of(st.sampled_from(TOKENS), st.text("AUF2D7%\"_ a9=z", max_size=6)),
                 max_size=60).map("".join)


@pytest.fixture
def piecewise(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every text goes piece by piece, from an empty memory of unchanged pieces."""
    monkeypatch.setattr(scan, "PIECEWISE_FROM", 0)
    monkeypatch.setattr(scan, "_UNCHANGED", {False: set(), True: set()})
    monkeypatch.setattr(scan, "_KNOWN_CHARS", {False: 0, True: 0})
    yield


@settings(max_examples=400, deadline=None)
@given(text=texts, seen=st.lists(texts, max_size=3), show=st.booleans())
def test_piecewise_sweep_is_the_whole_sweep(text: str, seen: list[str], show: bool) -> None:
    with pytest.MonkeyPatch.context() as patch:  # a fresh memory for every example
        patch.setattr(scan, "PIECEWISE_FROM", 0)
        patch.setattr(scan, "_UNCHANGED", {False: set(), True: set()})
        patch.setattr(scan, "_KNOWN_CHARS", {False: 0, True: 0})
        for earlier in seen:  # what the memory holds depends on what was swept before
            assert scan.sweep(earlier, show) == scan.sweep_whole(earlier, show)
        expected = scan.sweep_whole(text, show)
        assert scan.sweep(text, show) == expected
        assert scan.sweep(text, show) == expected  # again, with its pieces remembered


def test_the_memory_only_holds_texts_the_sweep_leaves_unchanged(piecewise: None) -> None:
    report = json.dumps({"findings": [{"id": f"X-{i}", "title": "Use a U2F key",
                                       "evidence": [{"pointer": f"/devices/{i}"}]}
                                      for i in range(50)]})
    assert scan.sweep(report, False) == report
    known = scan._UNCHANGED[False]
    assert known and all(scan.sweep_whole(piece, False) == piece for piece in known)


@pytest.mark.parametrize("planted, hidden", [
    ("Maya U7654321", "U7654321"), ("mzxwGEZDGNBVGY3TQOJQ", None),
    ("GEZDGNBVGY3TQOJQ", "GEZDGNBVGY3TQOJQ"), ("%20U1234567", "U1234567"),
    ("otpauth://totp/IBKR:maya?secret=JBSWY3DPEHPK3PXP", "JBSWY3DPEHPK3PXP"),
    ('say \\"U1234567\\"', "U1234567"),
])
def test_a_new_value_among_remembered_pieces_is_still_redacted(
        piecewise: None, planted: str, hidden: str | None) -> None:
    lines = [json.dumps({"id": "LOGIN-001", "title": "MFA", "actual": value, "n": i})
             for i, value in enumerate(["laptop", "phone", planted])]
    report = "\n".join(lines[:2])
    assert scan.sweep(report, False) == report  # remembered: every piece is unchanged
    out = scan.sweep("\n".join(lines), False)
    assert out == scan.sweep_whole("\n".join(lines), False)
    if hidden is not None:
        assert hidden not in out
    assert scan.sweep("\n".join(lines), True) == scan.sweep_whole("\n".join(lines), True)


def test_the_memory_is_bounded(piecewise: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "_KNOWN_BUDGET", 1000)
    for i in range(200):
        text = json.dumps({"setup": f"clients/{i:04d}-{'x' * 40}.json", "id": "A"})
        assert scan.sweep(text, False) == text
        assert scan._KNOWN_CHARS[False] <= 1000
        assert sum(len(t) + scan._ENTRY_OVERHEAD
                   for t in scan._UNCHANGED[False]) == scan._KNOWN_CHARS[False]


def test_tiny_pieces_are_bounded_by_what_they_cost_not_by_their_length(
        piecewise: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Red team: counting characters alone let two-character pieces fill ~115 MB."""
    monkeypatch.setattr(scan, "_KNOWN_BUDGET", 100_000)
    for i in range(50):
        text = "\n".join(f"{i:02d}{j:04d}"[-2:] + chr(65 + j % 26) for j in range(3000))
        scan.sweep(text, False)
        assert len(scan._UNCHANGED[False]) <= 100_000 // scan._ENTRY_OVERHEAD


def test_a_redactor_with_secrets_replaces_them_before_the_sweep(piecewise: None) -> None:
    redactor = scan.Redactor(["Sup3r-Secret-Passw0rd"])
    report = json.dumps({"note": "pw Sup3r-Secret-Passw0rd, U7654321", "id": "x" * 3000})
    out = redactor.text(report)
    assert "Sup3r" not in out and "U7654321" not in out and "U***4321" in out
    plain = scan.Redactor()
    assert plain.text(report) == scan.sweep_whole(report, False)


# ---------------------------------------------------------------- the CLI, end to end

BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _planted(rng: random.Random) -> dict[str, str]:
    """Secrets and account ids of every shape the sweep knows, at random."""
    seed = "".join(rng.choice(BASE32) for _ in range(16 + rng.randint(0, 16)))
    account = f"{rng.choice(['U', 'DU', 'F'])}{rng.randint(10**6, 10**8)}"
    return rng.choice([
        {"/profile/name": f"Client {account}"},
        {"/profile/name": f'Client "{account}" \\ paper'},
        {"device": f"otpauth://totp/IBKR:c?secret={seed}&issuer=IBKR"},
        {"device": seed.lower()},
        {"x-notes": f"seed {seed}; password=Hunter2-{rng.randint(100, 999)}!"},
        {"x-notes": f"ibkr{account}paper%20{account}"},
        {"x-password": f"pw-{rng.randint(10**5, 10**6)}-{seed[:6]}"},
        {},
        {},
    ])


def _planted_name(rng: random.Random) -> str:
    seed = "".join(rng.choice(BASE32) for _ in range(20))
    account = f"{rng.choice(['U', 'DU', 'F'])}{rng.randint(10**6, 10**8)}"
    return rng.choice([account, f"ibkr{account}", f"x-{seed}", f"otpauth:{seed}",
                       f"%20{account}", "ok"])


def generated_setups(directory: Path, count: int, seed: int = 1125) -> list[Path]:
    rng = random.Random(seed)  # noqa: S311 - test data, reproducible
    bases = {name: json.loads((EXAMPLES / f"{name}.json").read_text())
             for name in ("maya", "secure", "minimal", "maya-live")}
    residences = ["US", "GB", "DE", "CA", "SG", "BR"]
    paths = []
    for i in range(count):
        doc: dict[str, Any] = copy.deepcopy(bases[rng.choice(sorted(bases))])
        doc.pop("$schema", None)
        doc["profile"]["name"] = f"client-{i}"
        doc["profile"]["residence"] = rng.choice(residences)
        for device in doc.get("devices", []):
            for key in ("shared", "disk_encrypted", "screen_lock", "saves_credentials"):
                if rng.random() < 0.2:
                    device[key] = not device.get(key, False)
        if "login" in doc and rng.random() < 0.3:
            doc["login"]["mfa"]["primary"] = rng.choice(["sms", "ibkr_mobile", "none"])
        for where, value in _planted(rng).items():
            if where == "/profile/name":
                doc["profile"]["name"] = value
            elif where == "device" and doc.get("devices"):
                doc["devices"][0]["name"] = value
            elif where == "x-password" and "login" in doc:
                doc["login"]["password"]["x-password"] = value
            else:
                doc["x-notes"] = value
        # The file's name is in every report and no input scan sees it: only the sweep
        # of what is written hides an account id or a seed there.
        tail = rng.choice(["", "", "", f"-{_planted_name(rng)}"])
        path = directory / f"gen-{i:03d}{tail}.json"
        path.write_text(json.dumps(doc, indent=rng.choice([None, 2])))
        paths.append(path)
    return paths


def corpus(directory: Path) -> list[Path]:
    """Every setup-like file the repository has, and 200 generated ones, in one folder
    (the assets include invalid files, other inputs and planted secrets on purpose)."""
    directory.mkdir()
    files = sorted(EXAMPLES.glob("*.json")) + sorted(ASSETS.glob("**/*.json"))
    out = []
    for index, source in enumerate(files):
        target = directory / f"a{index:03d}-{source.name}"
        shutil.copyfile(source, target)
        out.append(target)
    return out + generated_setups(directory, 200)


def _reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """The slow paths: the whole text swept every time, and the stdlib encoder."""
    monkeypatch.setattr(scan, "PIECEWISE_FROM", sys.maxsize)
    monkeypatch.setattr(json_report, "_orjson", None)


def _without_timing(text: str) -> str:
    # The fleet summary names the elapsed time and rate; nothing else may differ.
    return "\n".join(line for line in text.splitlines() if "Fleet summary:" not in line)


ENV = {"SOURCE_DATE_EPOCH": "1764028800"}


@pytest.mark.parametrize("fmt", ["json", "jsonl", "jsonl-compact", "text"])
def test_fleet_output_is_identical_with_and_without_the_fast_paths(
        tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "fleet"
    corpus(folder)
    args = ("check", str(folder), "--as-of", AS_OF, "--jobs", "1", "-f", fmt)
    fast = [invoke(*args, env=ENV) for _ in range(2)]  # cold, then with pieces remembered
    _reference(monkeypatch)
    slow = invoke(*args, env=ENV)
    assert slow.exit_code == 2  # the corpus holds invalid files on purpose
    assert len(slow.stdout) > 30_000
    for run in fast:
        assert run.exit_code == slow.exit_code
        assert _without_timing(run.stdout) == _without_timing(slow.stdout)
        assert _without_timing(run.stderr) == _without_timing(slow.stderr)


@pytest.mark.parametrize("fmt", ["json", "sarif", "text", "jsonl", "jsonl-compact"])
def test_single_runs_are_identical_with_and_without_the_fast_paths(
        tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    files = corpus(tmp_path / "files")
    rng = random.Random(fmt)  # noqa: S311 - test data, reproducible
    picked = [f for f in files if not f.name.startswith("gen-")] + rng.sample(
        [f for f in files if f.name.startswith("gen-")], 40)
    runs = [("check", str(path), "--as-of", AS_OF, "-f", fmt) for path in picked]
    # Several files at once: one report holding all of them (or exit 2 and no report).
    valid = [str(f) for f in files if f.name.startswith("gen-")][:60]
    in_order = ("--jobs", "1") if fmt.startswith("jsonl") else ()  # one line per file
    runs.append(("check", *valid, "--as-of", AS_OF, "-f", fmt, *in_order))
    fast = [invoke(*args, env=ENV) for args in runs]
    _reference(monkeypatch)
    slow = [invoke(*args, env=ENV) for args in runs]
    assert {r.exit_code for r in slow} >= {1, 2}
    for args, a, b in zip(runs, fast, slow, strict=True):
        assert a.exit_code == b.exit_code, args[1]
        assert a.stdout == b.stdout, args[1]
        assert _without_timing(a.stderr) == _without_timing(b.stderr), args[1]


def test_the_generated_corpus_exercises_the_redactor(tmp_path: Path) -> None:
    """The comparison above is only worth something if the sweep has work to do."""
    folder = tmp_path / "fleet"
    corpus(folder)
    out = invoke("check", str(folder), "--as-of", AS_OF, "--jobs", "1", "-f", "jsonl",
                 "-q", env=ENV).stdout
    assert "<redacted>" in out and "U***" in out
    reports = [json.loads(line) for line in out.splitlines()]
    names = [Path(r["setup"]).name for r in reports]
    assert any("<redacted>" in name for name in names)  # left to the sweep alone
    assert any("U***" in name for name in names)


# ------------------------------------------------- the report builders, against the contract

def _reference_report(report: Any) -> dict[str, Any]:
    """The contract's JSON report (setup-format.md, section 3), built the obvious way."""
    def finding(f: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": f.id, "title": f.check.title, "area": f.check.area,
            "severity": f.severity.value, "status": f.status.value,
            "evidence": [e.to_dict() for e in f.evidence],
            "remediation": f.check.remediation, "reference": f.check.reference.render()}
        if f.item is not None:
            out["item"] = f.item
        if f.waiver is not None:
            out["waiver"] = {"reason": f.waiver.reason, "expires": f.waiver.expires,
                             "approved_by": f.waiver.approved_by, "pointer": f.waiver.pointer}
        if f.note:
            out["note"] = f.note
        return out

    out = {"tool": "ibkr-audit", "version": report.tool_version,
           "checklist_version": report.checklist_version, "schema_version": 1,
           "setup": report.setup_path, "generated_at": report.generated_at,
           "as_of": report.as_of, "summary": report.summary(),
           "findings": [finding(f) for f in report.findings]}
    if report.observed:
        out["observed"] = [dict(zip(("fact", "declared", "observed", "how"), row, strict=True))
                           for row in report.observed]
    return out


def _reports(tmp_path: Path | None) -> list[Any]:
    """Reports on the whole corpus; on Maya alone without a ``tmp_path``."""
    import datetime as dt

    from audit.auditor import audit_file
    from audit.engine import checklist
    from audit.engine.evaluate import Options
    from audit.errors import AuditError

    lists = checklist.load(())
    options = Options(as_of=dt.date.fromisoformat(AS_OF))
    out = []
    for path in corpus(tmp_path / "files") if tmp_path else [EXAMPLES / "maya.json"]:
        try:
            out.append(audit_file(str(path), lists, options, None, lists.checks))
        except AuditError:
            continue
    return out


def test_report_builders_match_the_contract_built_the_obvious_way(tmp_path: Path) -> None:
    from audit.reports import RenderOptions
    from audit.reports import jsonl as jsonl_report

    reports = _reports(tmp_path)
    assert len(reports) > 200
    catalog = jsonl_report.catalog_for([f.check for r in reports for f in r.findings])
    options = RenderOptions()
    for report in reports:
        expected = _reference_report(report)
        assert json_report.render([report], options) == json.dumps(
            expected, indent=2, ensure_ascii=False) + "\n"
        assert jsonl_report.render([report], options) == json.dumps(
            expected, ensure_ascii=False, separators=(",", ":")) + "\n"
        compact = {**expected, "findings": [
            {k: v for k, v in f.items()
             if k not in ("title", "area", "remediation", "reference")
             or catalog.get(f["id"], {}).get(k) != v}
            for f in expected["findings"]]}
        assert jsonl_report.compact_line(report, catalog) == json.dumps(
            compact, ensure_ascii=False, separators=(",", ":")) + "\n"
    several = json_report.render(reports[:5], options)
    assert several == json.dumps([_reference_report(r) for r in reports[:5]], indent=2,
                                 ensure_ascii=False) + "\n"


def test_a_filled_in_remediation_stays_in_the_compact_line() -> None:
    from dataclasses import replace

    from audit.reports import jsonl as jsonl_report

    report = _reports(None)[0]
    catalog = jsonl_report.catalog_for([f.check for f in report.findings])
    first = report.findings[0]
    changed = first._replace(check=replace(first.check, remediation="Store it under 'svc'",
                                           title="Other title"))
    line = json.loads(jsonl_report.compact_line(
        replace(report, findings=(changed, *report.findings[1:])), catalog))
    assert line["findings"][0]["remediation"] == "Store it under 'svc'"
    assert line["findings"][0]["title"] == "Other title"
    assert "area" not in line["findings"][0] and "reference" not in line["findings"][0]
    assert all("remediation" not in f for f in line["findings"][1:])


@pytest.mark.parametrize("odd", [1e-07, float("nan"), 2**70, "\ud800", (1, "x"), {"a": 1e16}])
def test_odd_values_read_from_a_setup_still_encode_as_the_stdlib_does(odd: Any) -> None:
    """Only the evidence's values are checked for orjson; each odd one sends the whole
    report to the stdlib (or fails as the stdlib does on NaN: strict JSON)."""
    from dataclasses import replace

    from audit.model import Evidence
    from audit.reports import RenderOptions

    report = _reports(None)[0]
    first = report.findings[0]
    odd_finding = first._replace(evidence=(Evidence("/x", odd, "y"), *first.evidence))
    report = replace(report, findings=(odd_finding, *report.findings[1:]))
    try:
        expected = json.dumps(_reference_report(report), indent=2, ensure_ascii=False,
                              allow_nan=False) + "\n"
    except ValueError:
        with pytest.raises(ValueError):
            json_report.render([report], RenderOptions())
        return
    assert json_report.render([report], RenderOptions()) == expected


# ------------------------------------------------------- the setup scan's memory of clean strings

KEYS = ["name", "password", "x-pin", "token", "notes", "device", "x-ops", "apiKey",
        "U1234567", "GEZDGNBVGY3TQOJQ", "kind", "token_storage", "password_manager"]
VALUES = ["laptop", "hunter2-Pw9!", "GEZDGNBVGY3TQOJQ", "U7654321", "Maya DU1234567",
          "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", "password=Tr0ub4dor&3", "", "  ",
          "ibkr_mobile", "1234", "mzxw 6ytb oi4q 2345", "x" * 300 + " U7654321"]
documents = st.recursive(
    st.one_of(st.sampled_from(VALUES), st.integers(0, 10**7), st.booleans(), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)),
    max_leaves=25)


def _scan_without_memory(document: Any) -> Any:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scan, "_CLEAN_MAX_LEN", -1)  # nothing is ever remembered
        patch.setattr(scan, "_CLEAN_STRINGS", set())
        return scan.scan(document)


@settings(max_examples=300, deadline=None)
@given(earlier=st.lists(documents, max_size=3), document=documents)
def test_the_scan_finds_the_same_with_a_memory_of_clean_strings(earlier: list[Any],
                                                                 document: Any) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scan, "_CLEAN_STRINGS", set())
        for other in earlier:  # the memory holds what those left behind
            assert scan.scan(other) == _scan_without_memory(other)
        expected = _scan_without_memory(document)
        assert scan.scan(document) == expected
        assert scan.scan(document) == expected  # again, with its own strings remembered


def test_a_clean_string_under_a_key_that_names_a_secret_is_still_found() -> None:
    first = scan.scan({"device": "hunter2-Pw9!"})
    assert first == ([], [])
    assert "hunter2-Pw9!" in scan._CLEAN_STRINGS
    credentials, _ = scan.scan({"login": {"password": "hunter2-Pw9!"}})
    assert [(hit.pointer, hit.value) for hit in credentials] == [
        ("/login/password", "hunter2-Pw9!")]
    # ...and a key that is itself a secret is never taken for a clean one.
    credentials, accounts = scan.scan({"GEZDGNBVGY3TQOJQ": 1, "U1234567": 2})
    assert [hit.value for hit in credentials] == ["GEZDGNBVGY3TQOJQ"]
    assert [hit.value for hit in accounts] == ["U1234567"]
    assert not {"GEZDGNBVGY3TQOJQ", "U1234567"} & scan._CLEAN_STRINGS


def test_the_scan_memory_keeps_no_string_it_found_something_in(tmp_path: Path) -> None:
    for path in corpus(tmp_path / "files"):
        try:
            document = json.loads(path.read_text())
        except ValueError:
            continue
        assert scan.scan(document) == _scan_without_memory(document), path.name
    for text in scan._CLEAN_STRINGS:
        assert scan.classify(text, None) == [] and not scan.ACCOUNT_ID.search(text)


def test_reports_with_something_to_hide_are_swept_piece_by_piece(piecewise: None) -> None:
    """Every report of this fleet names an account id (in its file name): each is
    swept a piece at a time, gives what the full sweep gives, and the pieces that came
    out unchanged are remembered for the next one."""
    lines = [json.dumps({"setup": f"clients/U{1000000 + i}.json", "id": "LOGIN-001",
                         "title": "Two-factor login is on", "evidence": [{"pointer": "/x"}]},
                        indent=2) * 30 for i in range(5)]
    for line in lines:
        out = scan.sweep(line, False)
        assert out == scan.sweep_whole(line, False)
        assert "U1000" not in out and "U***" in out
    known = scan._UNCHANGED[False]
    assert "Two-factor login is on" in known
    assert not any("U1000" in piece for piece in known)


def test_the_scan_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "_CLEAN_STRINGS", set())
    monkeypatch.setattr(scan, "_CLEAN_MAX", 50)
    for i in range(40):
        assert scan.scan({f"x-note-{i}": [f"value {i}", "y" * 300]}) == ([], [])
        assert len(scan._CLEAN_STRINGS) <= 50
    assert "y" * 300 not in scan._CLEAN_STRINGS  # too long to be remembered
