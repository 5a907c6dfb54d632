"""What the red team of the speed round (issue 19) found, pinned.

Each case failed before its fix; the setups and checklists are the red team's own
(tests/assets/rt19/). Most of these predate the speed work: the review that looked
for leaks and crashes in the new fast paths found them in older code next to it.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.secrets.scan import ACCOUNT_ID, Redactor, mask_accounts, sweep, sweep_whole
from tests.conftest import AS_OF, ASSETS, EXAMPLES, invoke

RT = ASSETS / "rt19"
LISTS = RT / "checklists"
MAYA = str(EXAMPLES / "maya.json")
FORMATS = ("text", "json", "markdown", "sarif", "junit", "html")


def outputs(path: Path, *extra: str) -> dict[str, str]:
    """Everything a user could see, per format: stdout and stderr together."""
    seen = {}
    for fmt in FORMATS:
        run = invoke("check", str(path), "--format", fmt, "--as-of", AS_OF, *extra)
        assert run.exit_code in (0, 1, 2), (fmt, run.stderr)
        assert "internal error" not in run.stderr
        seen[fmt] = run.stdout + run.stderr
    return seen


# -- custom checklists: one verdict however the tool is run -----------------------

def test_a_named_condition_reading_the_loop_item_outside_a_loop_is_refused_at_load(
        tmp_path: Path) -> None:
    """It used to end in exit 3 for one file, and pass in fleet text (whose value-only
    evaluation stopped before the child that would have raised)."""
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    (fleet / "a.json").write_text((EXAMPLES / "maya.json").read_text())
    (fleet / "b.json").write_text((EXAMPLES / "minimal.json").read_text())
    for args in ((MAYA,), (str(fleet), "--jobs", "1", "--format", "text", "--quiet"),
                 (str(fleet), "--jobs", "1", "--format", "json")):
        run = invoke("check", *args, "--checklist", str(LISTS / "at-outside-loop.json"))
        assert run.exit_code == 2, (args, run.stderr)
        assert "condition 'c_at' reads '@'" in run.stderr
        assert "internal error" not in run.stderr


def test_a_named_condition_reading_the_loop_item_inside_a_loop_is_fine(tmp_path: Path) -> None:
    lists = json.loads((LISTS / "at-outside-loop.json").read_text())
    lists["checks"][0]["for_each"] = "/devices"
    path = tmp_path / "inside.json"
    path.write_text(json.dumps(lists))
    run = invoke("check", MAYA, "--checklist", str(path), "--only", "AT-001", "--format", "json")
    assert run.exit_code in (0, 1), run.stderr
    assert {f["status"] for f in json.loads(run.stdout)["findings"]} <= {"pass", "fail"}


@pytest.mark.parametrize(("operator", "operand"), [
    ("one_of", {"fact": "/permissions/options_level"}),  # an integer, not a list
    ("not_one_of", {"fact": "/profile/name"}),  # a string: never a substring test
    ("contains_any", {"fact": "/permissions/options_level"}),
    ("contains_none", {"fact": "/profile/name"}),
])
def test_a_list_operator_given_a_reference_that_is_not_a_list_does_not_hold(
        tmp_path: Path, operator: str, operand: dict[str, str]) -> None:
    lists = json.loads((LISTS / "one-of-non-list.json").read_text())
    lists["checks"][0]["pass_if"] = {"fact": "/devices/0/os", operator: operand}
    if operator.startswith("contains"):
        lists["checks"][0]["pass_if"]["fact"] = "/profile/strategies"
    path = tmp_path / "lists.json"
    path.write_text(json.dumps(lists))
    single = invoke("check", MAYA, "--checklist", str(path), "--only", "TE-001", "--format",
                    "json")
    assert "internal error" not in single.stderr and single.exit_code in (0, 1), single.stderr
    (finding,) = json.loads(single.stdout)["findings"]
    assert finding["status"] == "fail"
    fleet = invoke("check", MAYA, "--checklist", str(path), "--only", "TE-001", "--format",
                   "json", "--jobs", "1")
    assert fleet.exit_code == single.exit_code, fleet.stderr
    assert json.loads(fleet.stdout)[0]["findings"][0]["status"] == "fail"


def test_a_pin_shown_through_a_remediation_placeholder_is_redacted() -> None:
    run = invoke("check", str(RT / "pin-setup.json"), "--checklist",
                 str(LISTS / "pin-placeholder.json"), "--as-of", AS_OF)
    assert "4821" not in run.stdout + run.stderr
    assert "97531" not in run.stdout + run.stderr
    assert "Remove the note <redacted> and <redacted>" in run.stdout


# -- account ids: what the scan finds, the mask hides -------------------------------

@pytest.mark.parametrize(("name", "account"), [("a2.json", "1234567"), ("sup.json", "1234567")])
def test_an_id_after_a_digit_and_a_letter_or_after_a_non_ascii_digit_is_masked(
        name: str, account: str) -> None:
    # "5DU1234567": not DU1234567 (a digit before it) but U1234567 (a letter before
    # it), which the scan reports; "²U1234567": '²' is not a digit to the scan.
    for fmt, text in outputs(RT / name).items():
        assert account not in text, fmt


def test_an_id_after_an_escaped_control_character_in_a_file_name_is_masked(
        tmp_path: Path) -> None:
    source = json.loads((EXAMPLES / "minimal.json").read_text())
    path = tmp_path / "ctl\x01U7654321.json"
    path.write_text(json.dumps(source), encoding="utf-8")
    for fmt, text in outputs(path).items():  # JSON writes \u0001, the terminal \x01
        assert "7654321" not in text, fmt
        assert "U***4321" in text, fmt


ALPHABET = "UDF0123456789%\\xu²a \"" + string.hexdigits[:6]


@given(st.text(alphabet=ALPHABET, max_size=40))
def test_no_id_the_scan_would_find_survives_the_mask(text: str) -> None:
    masked = mask_accounts(text)
    assert not ACCOUNT_ID.search(masked), (text, masked)
    if not ACCOUNT_ID.search(text):  # and nothing else is touched
        assert masked == text


@given(st.lists(st.text(alphabet=ALPHABET, max_size=30), max_size=8),
       st.sampled_from(['"', "\n", '"id"']))
def test_the_piecewise_sweep_agrees_with_the_whole_sweep_on_escapes(
        parts: list[str], cut: str) -> None:
    text = cut.join(parts) * 60  # long enough to be swept piece by piece
    for shown in (False, True):
        assert sweep(text, shown) == sweep_whole(text, shown)


# -- secrets in the spellings the renderers use --------------------------------------

@pytest.mark.parametrize(("name", "secret"), [
    ("leak_q.json", 'Pa"ss-word9'),  # Jinja2 writes &#34;
    ("leak_p.json", "Pa|ss-word9"),  # Markdown writes \|
    ("mdsec.json", 'Zq9|se<cr>et*pw_x&"'),  # everything at once, in reason and approver
])
def test_a_waiver_reason_never_shows_a_password_in_any_spelling(name: str, secret: str) -> None:
    fragment = "et*pw_x" if "et*pw_x" in secret else "ss-word9"  # survives any escaping
    for fmt, text in outputs(RT / name).items():
        assert fragment not in text, fmt


@pytest.mark.parametrize("secret", ['Pa"ss-word9', "Pa|ss-word9", "Xy\x07z9q-pass",
                                    "A&B<c>'d\"e\u2028f"])
def test_the_redactor_knows_every_spelling_a_renderer_produces(secret: str) -> None:
    import html

    import markupsafe

    from audit.textsafe import clean, markdown_cell

    redactor = Redactor([secret])
    for spelling in (secret, str(markupsafe.escape(secret)), html.escape(secret),
                     markdown_cell(secret), clean(secret), json.dumps(secret)[1:-1],
                     html.escape(secret, quote=False).replace('"', "&quot;")):
        assert redactor.text(f"before {spelling} after") == "before <redacted> after", spelling


def test_a_secret_key_with_a_control_character_is_not_shown_in_an_error_pointer() -> None:
    run = invoke("check", str(RT / "keysec2.json"))
    assert run.exit_code == 2
    assert "z9q" not in run.stderr and "<redacted>" in run.stderr
