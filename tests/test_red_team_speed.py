"""What the red team of the speed round (issue 19) found, pinned.

Each case failed before its fix; the setups and checklists are the red team's own
(tests/assets/rt19/). Most of these predate the speed work: the review that looked
for leaks and crashes in the new fast paths found them in older code next to it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import AS_OF, ASSETS, EXAMPLES, invoke

RT = ASSETS / "rt19"
LISTS = RT / "checklists"
MAYA = str(EXAMPLES / "maya.json")


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
