"""The composite GitHub Action: valid against GitHub's schema, and its steps run here.

GitHub runs each ``run:`` step with ``bash --noprofile --norc -eo pipefail``,
the step's ``env:`` (with ``${{ ... }}`` expressions evaluated) and the runner's
variables. ``run_steps`` does the same with the expressions this action uses:
``inputs.*`` and ``github.action_path`` (this checkout).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLES, ROOT

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
STEPS = ACTION["runs"]["steps"]
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
PASSWORD = "action-Secret-9"  # noqa: S105 - planted in a temporary config.ini


def docs_block(marker: str) -> str:
    text = (ROOT / "docs" / "ci.md").read_text()
    match = re.search(rf"<!-- {marker} -->\s*```ya?ml\n(.*?)```", text, re.S)
    assert match, f"docs/ci.md has no block marked {marker}"
    return match.group(1)


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    # The built-in (vendored) schemas ship inside check-jsonschema: no network.
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           schema, str(path)], capture_output=True, text=True, check=False)


def test_action_yml_is_valid_against_the_github_action_schema() -> None:
    run = check_jsonschema("vendor.github-actions", ROOT / "action.yml")
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_documented_workflow_is_a_valid_workflow(tmp_path: Path) -> None:
    workflow = tmp_path / "ibkr-audit.yml"
    workflow.write_text(docs_block("workflow"))
    run = check_jsonschema("vendor.github-workflows", workflow)
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_broken_action_is_rejected_by_the_schema(tmp_path: Path) -> None:
    broken = {**ACTION, "runs": {"using": "composite", "steps": [{"run": "true"}]}}
    path = tmp_path / "action.yml"
    path.write_text(yaml.safe_dump(broken))  # a composite run step needs 'shell'
    assert check_jsonschema("vendor.github-actions", path).returncode == 1


def test_inputs_reach_scripts_only_through_the_environment() -> None:
    # An input spliced into a script is a script injection; env vars are not.
    for step in STEPS:
        assert step["shell"] == "bash"
        assert not EXPRESSION.search(step["run"]), step["name"]
    used = {m.group(1) for step in STEPS for v in step.get("env", {}).values()
            for m in EXPRESSION.finditer(str(v))}
    assert used == {"github.action_path"} | {f"inputs.{name}" for name in ACTION["inputs"]}


def expression(text: str, inputs: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "github.action_path":
            return str(ROOT)
        if name.startswith("inputs."):
            key = name.removeprefix("inputs.")
            return inputs.get(key, str(ACTION["inputs"][key].get("default", "")))
        raise AssertionError(f"unsupported expression {name}")

    return EXPRESSION.sub(value, text)


def run_steps(steps: list[dict[str, Any]], inputs: dict[str, str], workspace: Path,
              runner_temp: Path) -> tuple[int, str, dict[str, str]]:
    """Run ``steps`` as a runner would; stop at the first failing one, as GitHub does."""
    unknown = set(inputs) - set(ACTION["inputs"])
    assert not unknown, f"not inputs of action.yml: {unknown}"
    output_file = runner_temp / "github_output"
    output_file.write_text("")
    log = []
    for step in steps:
        env = {**os.environ, "RUNNER_TEMP": str(runner_temp), "GITHUB_OUTPUT": str(output_file),
               "HOME": str(runner_temp / "home"), "NO_COLOR": "1",
               **{k: expression(str(v), inputs) for k, v in step.get("env", {}).items()}}
        env.pop("VIRTUAL_ENV", None)
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                               step["run"]], cwd=workspace, env=env, capture_output=True,
                              text=True, check=False, timeout=900)
        log.append(done.stdout + done.stderr)
        if done.returncode != 0:
            break
    # A failed step's outputs are set too (the upload steps read them).
    outputs = dict(line.split("=", 1) for line in output_file.read_text().splitlines())
    return done.returncode, "".join(log), outputs


def run_audit(inputs: dict[str, str], workspace: Path,
              runner_temp: Path) -> tuple[int, str, dict[str, str]]:
    return run_steps(STEPS[1:], inputs, workspace, runner_temp)


@pytest.fixture(scope="module")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RUNNER_TEMP after the install step: pip installed this checkout into a venv."""
    temp = tmp_path_factory.mktemp("runner")
    (temp / "home").mkdir()
    assert STEPS[0]["name"].startswith("Install")
    code, log, _ = run_steps(STEPS[:1], {}, temp, temp)
    assert code == 0, log
    from audit import __version__

    assert f"ibkr-audit {__version__} (checklists" in log
    return temp


def workspace(tmp_path: Path, setup: str = "maya-live", password: bool = True) -> Path:
    (tmp_path / "ibc").mkdir()
    shutil.copy(EXAMPLES / f"{setup}.json", tmp_path / "setup.json")
    lines = ["IbLoginId=someone", "TradingMode=paper"] + ([f"IbPassword={PASSWORD}"]
                                                          if password else [])
    (tmp_path / "ibc" / "config.ini").write_text("\n".join(lines) + "\n")
    return tmp_path


def documented_inputs() -> dict[str, str]:
    workflow = yaml.safe_load(docs_block("workflow"))
    (step,) = [s for s in workflow["jobs"]["audit"]["steps"] if s.get("id") == "ibkr-audit"]
    return {k: str(v) for k, v in step["with"].items()}


def test_the_documented_inputs_fail_the_job_and_still_write_sarif(
        tmp_path: Path, runner_temp: Path) -> None:
    code, log, outputs = run_audit(documented_inputs(), workspace(tmp_path), runner_temp)
    assert code == 1, log
    assert outputs == {"exit-code": "1", "sarif-file": "ibkr-audit.sarif",
                       "configs-sarif-file": "ibkr-audit-configs.sarif"}
    setups = json.loads((tmp_path / "ibkr-audit.sarif").read_text())["runs"][0]
    assert any(r["ruleId"] == "AUTO-002" and r["kind"] == "fail" for r in setups["results"])
    configs = json.loads((tmp_path / "ibkr-audit-configs.sarif").read_text())["runs"][0]
    password = next(r for r in configs["results"] if r["ruleId"] == "CFG-001")
    assert password["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}
    assert password["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "ibc/config.ini")
    assert "FAIL    high      AUTO-002" in log  # the text report in the job log
    assert PASSWORD not in log + (tmp_path / "ibkr-audit-configs.sarif").read_text()


def test_a_clean_repository_passes(tmp_path: Path, runner_temp: Path) -> None:
    inputs = {**documented_inputs(), "format": "short"}
    code, log, outputs = run_audit(inputs, workspace(tmp_path, "secure", password=False),
                                   runner_temp)
    assert (code, outputs["exit-code"]) == (0, "0"), log
    for name in ("ibkr-audit.sarif", "ibkr-audit-configs.sarif"):
        results = json.loads((tmp_path / name).read_text())["runs"][0]["results"]
        assert all(r["kind"] != "fail" for r in results), name
    # 'short' prints nothing when nothing fails; files written are announced on stderr
    assert [line for line in log.splitlines() if not line.startswith("wrote ")] == []


def test_globs_and_fail_on(tmp_path: Path, runner_temp: Path) -> None:
    ws = workspace(tmp_path)
    (ws / "setups").mkdir()
    for name in ("maya-live", "secure"):
        shutil.copy(EXAMPLES / f"{name}.json", ws / "setups" / f"{name}.json")
    code, log, outputs = run_audit({"setups": "setups/*.json", "fail-on": "critical",
                                    "sarif-file": "out/setups.sarif"}, ws, runner_temp)
    assert code == 0, log  # maya-live's worst failure is high
    sarif = json.loads((ws / "out" / "setups.sarif").read_text())
    assert [a["location"]["uri"] for a in sarif["runs"][0]["artifacts"]] == [
        "setups/maya-live.json", "setups/secure.json"]
    assert outputs["configs-sarif-file"] == ""


@pytest.mark.parametrize(("inputs", "message"), [
    ({"setups": "nothing/*.json"}, "::error::ibkr-audit: no file matches setups: nothing/*.json"),
    ({}, "::error::ibkr-audit: give 'setups' or 'configs'"),
    ({"setups": "broken.json"}, "ibkr-audit: error: broken.json:1:"),
    ({"configs": "ibc/*.yaml"}, "::error::ibkr-audit: no file matches configs: ibc/*.yaml"),
    ({"configs": "ibc/missing.ini"}, "ibkr-audit: error: ibc/missing.ini: no such file"),
])
def test_bad_input_fails_with_exit_2_and_no_sarif(tmp_path: Path, runner_temp: Path,
                                                  inputs: dict[str, str], message: str) -> None:
    ws = workspace(tmp_path)
    (ws / "broken.json").write_text("{nope")
    code, log, _ = run_audit(inputs, ws, runner_temp)
    assert code == 2 and message in log, log
    assert not (ws / "ibkr-audit.sarif").exists()
