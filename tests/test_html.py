"""The HTML report: self-contained, redacted, deterministic, and checked in a real browser."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AS_OF, ASSETS, EXAMPLES, ROOT, invoke
from tests.test_secrets import ACCOUNTS, SECRETS

MAYA = str(EXAMPLES / "maya.json")
PLANTED = str(ASSETS / "planted_secrets.json")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
EPOCH = {"SOURCE_DATE_EPOCH": "1795622400"}


def _html(tmp_path: Path, *args: str, name: str = "report.html",
          expect: int | None = None) -> Path:
    out = tmp_path / name
    run = invoke("check", *args, "--as-of", AS_OF, "-f", "html", "-o", str(out), env=EPOCH)
    if expect is not None:
        assert run.exit_code == expect, run.stderr
    assert out.is_file(), run.stderr
    return out


def _json(*args: str) -> dict[str, Any]:
    run = invoke("check", *args, "--as-of", AS_OF, "-f", "json")
    data: dict[str, Any] = json.loads(run.stdout)
    return data


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data


def _parse(path: Path) -> _Tags:
    parser = _Tags()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


# ------------------------------------------------------------------ without a browser


def test_page_is_self_contained_and_its_csp_allows_only_its_own_style(tmp_path: Path) -> None:
    page = _parse(_html(tmp_path, MAYA, expect=0))
    csp = next(a["content"] for t, a in page.tags
               if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp is not None
    assert "default-src 'none'" in csp and "script-src 'none'" in csp
    digest = base64.b64encode(hashlib.sha256(page.style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp
    assert not [t for t, _a in page.tags if t in ("script", "link", "img", "iframe")]
    for tag, attrs in page.tags:
        assert "style" not in attrs, tag  # inline style attributes would be blocked
        for name in ("src", "href"):
            assert not attrs.get(name), (tag, attrs)


def test_page_is_deterministic_with_source_date_epoch(tmp_path: Path) -> None:
    first = _html(tmp_path, MAYA, name="a.html").read_bytes()
    second = _html(tmp_path, MAYA, name="b.html").read_bytes()
    assert first == second
    assert b"2026-11-25T16:00:00Z" in first  # the pinned epoch, not the clock


def test_verdict_and_rows_match_the_json_report(tmp_path: Path) -> None:
    text = _html(tmp_path, MAYA).read_text()
    report = _json(MAYA)
    for status, count in report["summary"].items():
        assert f'data-verdict-status="{status}">{count}<' in text, status
    for severity in ("critical", "high", "medium", "low", "info"):
        failed = sum(1 for f in report["findings"]
                     if f["status"] == "fail" and f["severity"] == severity)
        assert f'data-verdict-severity="{severity}">{failed}<' in text, severity
    assert text.count('class="finding"') == len(report["findings"])


def test_plan_stages_and_tasks_match_plan_and_remediate(tmp_path: Path) -> None:
    text = _html(tmp_path, MAYA).read_text()
    plan = json.loads(invoke("plan", MAYA, "--as-of", AS_OF, "-f", "json").stdout)
    for stage in plan["stages"]:
        assert (f'data-stage="{stage["stage"]}" data-stage-status="{stage["status"]}"'
                in text), stage["name"]
    tasks = json.loads(invoke("remediate", MAYA, "--as-of", AS_OF, "-f", "json").stdout)
    todo = text.split("data-tasks>", 1)[1].split("</ol>", 1)[0]
    assert re.findall(r"<code>([A-Z]+-\d+)</code>", todo) == \
        [t["id"] for t in tasks["tasks"]]


def test_planted_secrets_never_reach_the_page(tmp_path: Path) -> None:
    text = _html(tmp_path, PLANTED, expect=1).read_text()
    for secret in SECRETS + ACCOUNTS:
        assert secret not in text, secret
        assert html.escape(secret) not in text, secret  # nor in its escaped form
    assert "U***4321" in text  # the masked account id is what shows


def test_everything_from_the_setup_is_escaped(tmp_path: Path) -> None:
    data = json.loads(Path(MAYA).read_text())
    data["profile"]["name"] = "<script>alert(1)</script>"
    setup = tmp_path / "evil.json"
    setup.write_text(json.dumps(data))
    text = _html(tmp_path, str(setup)).read_text()
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_trend_chart_needs_recorded_runs(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    assert "data-trend" not in _html(tmp_path, MAYA, "--history-db", str(db),
                                     name="none.html").read_text()
    assert not db.exists()  # rendering never creates a history
    for as_of in ("2026-09-01", "2026-10-01", "2026-11-01"):
        run = invoke("check", MAYA, "--as-of", as_of, "--record", "--history-db", str(db),
                     "-f", "json")
        assert run.exit_code in (0, 1), run.stderr
    text = _html(tmp_path, MAYA, "--history-db", str(db)).read_text()
    assert "Failures over time (3 recorded runs)" in text
    chart = text.split("data-trend>", 1)[1].split("</svg>", 1)[0]
    titles = re.findall(r"<title>run (\d+), as of ([\d-]+): (\d+) (\w+)</title>", chart)
    dates = ("2026-09-01", "2026-10-01", "2026-11-01")
    assert [d for _r, d, _n, _s in titles] == sorted(d for _r, d, _n, _s in titles)
    for as_of in dates:
        run = invoke("check", MAYA, "--as-of", as_of, "-f", "json")
        findings = json.loads(run.stdout)["findings"]
        for severity in ("critical", "high", "medium", "low", "info"):
            expected = sum(1 for f in findings
                           if f["status"] == "fail" and f["severity"] == severity)
            got = sum(int(n) for _r, d, n, s in titles if s == severity and d == as_of)
            assert got == expected, (as_of, severity)


def test_fleet_overview_lists_every_setup_and_the_most_failed_checks(tmp_path: Path) -> None:
    fleet = tmp_path / "clients"
    fleet.mkdir()
    for name in ("maya", "secure", "minimal"):
        shutil.copy(EXAMPLES / f"{name}.json", fleet / f"{name}.json")
    shutil.copy(EXAMPLES / "maya.json", fleet / "maya-2.json")
    (fleet / "broken.json").write_text("{\n")
    out = tmp_path / "fleet.html"
    run = invoke("check", str(fleet), "--as-of", AS_OF, "-f", "html", "-o", str(out), env=EPOCH)
    assert run.exit_code == 2  # an invalid file is reported, and the page still written
    text = out.read_text()
    assert "broken.json:2" in text
    table = text.split('data-sort="path">', 1)[1].split("</tbody>", 1)[0]
    assert re.findall(r'data-path="[^"]*/([\w-]+\.json)"', table) == \
        ["maya-2.json", "maya.json", "minimal.json", "secure.json"]
    assert text.count("<tbody data-sort=") == 4
    bars = re.findall(r'<g data-check="([A-Z]+-\d+)"><title>[^<]*\((\d+) setups\)', text)
    listed = re.findall(r"<li><code>([A-Z]+-\d+)</code>", text.split('class="checks-list"')[1])
    assert listed == [cid for cid, _n in bars]  # each bar named in full below the chart
    assert bars and bars[0][1] >= bars[-1][1]
    maya_failed = {f["id"] for f in _json(MAYA)["findings"] if f["status"] == "fail"}
    assert {cid for cid, n in bars if n == "2"} >= maya_failed - {
        f["id"] for f in _json(str(EXAMPLES / "minimal.json"))["findings"]
        if f["status"] == "fail"}


def test_templates_ship_in_the_wheel(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    names = set(zipfile.ZipFile(next(tmp_path.glob("ibkr_audit-*.whl"))).namelist())
    for template in ("report.html.j2", "fleet.html.j2", "style.css.j2"):
        assert f"audit/reports/templates/{template}" in names


# ------------------------------------------------------------------ in Chromium


def _browser() -> Any:
    if not Path(CHROMIUM).exists() or not _has_playwright():
        if os.environ.get("CI"):
            pytest.fail("CI must provide /usr/bin/chromium and playwright (see .ci/run)")
        pytest.skip("needs the Debian chromium package and playwright")
    from playwright.sync_api import sync_playwright

    return sync_playwright()


def _has_playwright() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def chromium() -> Any:
    with _browser() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class _Watched:
    def __init__(self, browser: Any, url: str, width: int, height: int,
                 javascript: bool = True) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height},
                                           java_script_enabled=javascript)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url)
        self.page.wait_for_load_state("load")

    def visible(self, selector: str) -> list[Any]:
        return [e for e in self.page.query_selector_all(selector) if e.is_visible()]

    def close(self) -> None:
        self.context.close()


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)])
def test_report_in_chromium(chromium: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    page_file = _html(tmp_path, MAYA)
    width, height = size
    view = _Watched(chromium, page_file.as_uri(), width, height)
    try:
        assert view.console == []
        assert view.requests == [page_file.as_uri()]
        report = _json(MAYA)
        for status, count in report["summary"].items():
            shown = view.page.inner_text(f'[data-verdict-status="{status}"]')
            assert int(shown) == count, status
        scroll = view.page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert scroll[0] <= scroll[1], f"horizontal scrolling at {width}px: {scroll}"
        shot = tmp_path / f"maya-{width}x{height}.png"
        view.page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        view.close()


def test_filters_hide_the_right_rows_with_javascript_off(chromium: Any, tmp_path: Path) -> None:
    page_file = _html(tmp_path, MAYA)
    report = _json(MAYA)
    view = _Watched(chromium, page_file.as_uri(), 1280, 800, javascript=False)
    try:
        open_ids = [f["id"] for f in report["findings"]
                    if f["status"] in ("fail", "manual", "waived")]
        shown = [e.get_attribute("data-id") for e in view.visible(".finding")]
        assert sorted(shown) == sorted(open_ids)  # the default: what needs attention
        view.page.click('label[for="f-st-all"]')
        assert len(view.visible(".finding")) == len(report["findings"])
        for severity in ("critical", "medium"):
            view.page.click(f'label[for="f-sev-{severity}"]')
            rows = view.visible(".finding")
            assert {r.get_attribute("data-severity") for r in rows} == {severity}
            assert len(rows) == sum(1 for f in report["findings"]
                                    if f["severity"] == severity)
        view.page.click('label[for="f-st-pass"]')
        rows = view.visible(".finding")
        assert rows and {r.get_attribute("data-status") for r in rows} == {"pass"}
        assert len(rows) == sum(1 for f in report["findings"]
                                if f["severity"] == "medium" and f["status"] == "pass")
        assert view.console == []
    finally:
        view.close()


def test_planted_secrets_absent_from_the_dom(chromium: Any, tmp_path: Path) -> None:
    page_file = _html(tmp_path, PLANTED)
    view = _Watched(chromium, page_file.as_uri(), 390, 844)
    try:
        view.page.click('label[for="f-st-all"]')
        dom = view.page.evaluate("document.documentElement.outerHTML + document.body.innerText")
        for secret in SECRETS + ACCOUNTS:
            assert secret not in dom, secret
        assert view.requests == [page_file.as_uri()]
    finally:
        view.close()


def test_fleet_table_sorts_without_javascript(chromium: Any, tmp_path: Path) -> None:
    fleet = tmp_path / "clients"
    fleet.mkdir()
    for name in ("secure", "maya", "minimal"):
        shutil.copy(EXAMPLES / f"{name}.json", fleet / f"{name}.json")
    out = tmp_path / "fleet.html"
    invoke("check", str(fleet), "--as-of", AS_OF, "-f", "html", "-o", str(out), env=EPOCH)
    for width, height in ((1280, 800), (390, 844)):
        view = _Watched(chromium, out.as_uri(), width, height, javascript=False)
        try:
            assert view.console == [] and view.requests == [out.as_uri()]
            view.page.click('label[for="sort-path"]')
            rows = view.visible("tbody tr")
            paths = [Path(r.get_attribute("data-path")).name for r in rows]
            assert paths == ["maya.json", "minimal.json", "secure.json"]
            view.page.click('label[for="sort-fail"]')
            fails = [int(r.query_selector_all("td")[2].inner_text())
                     for r in view.visible("tbody tr")]
            assert fails == sorted(fails, reverse=True) and len(fails) == 3
            scroll = view.page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert scroll[0] <= scroll[1]
            view.page.screenshot(path=str(tmp_path / f"fleet-{width}.png"), full_page=True)
        finally:
            view.close()


def test_committed_screenshots_are_maya_at_both_sizes() -> None:
    import struct

    for width, height in ((1280, 800), (390, 844)):
        png = (ROOT / "docs" / "img" / f"maya-report-{width}x{height}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", png[16:24]) == (width, height)
        assert f"docs/img/maya-report-{width}x{height}.png" in (ROOT / "README.md").read_text()


def test_declared_vs_observed_rows_are_shown_when_a_probe_ran() -> None:
    import dataclasses
    import datetime as dt

    from audit import pipeline
    from audit.reports import RenderOptions
    from audit.reports import html as html_report

    prepared = pipeline.prepare(pipeline.Request(as_of=dt.date.fromisoformat(AS_OF)))
    report = pipeline.audit_path(MAYA, prepared)
    assert "data-observed" not in html_report.render_pages([report], RenderOptions())
    probed = dataclasses.replace(report, observed=(
        ("disk_encrypted", "yes", "no (medium confidence)", "lsblk -J <x>"),))
    page = html_report.render_pages([probed], RenderOptions())
    table = page.split("data-observed>", 1)[1].split("</table>", 1)[0]
    assert "<td><code>disk_encrypted</code></td><td>yes</td><td>no (medium confidence)</td>" \
        in table
    assert "lsblk -J &lt;x&gt;" in table
