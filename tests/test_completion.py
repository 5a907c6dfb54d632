"""Shell completion (click's own): the bash script, sourced in a real bash, completes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "ibkr-audit"
pytestmark = [
    pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash"),
    pytest.mark.skipif(not SCRIPT.exists(), reason="needs the installed ibkr-audit script"),
]


def complete(line: str) -> list[str]:
    """What bash offers after ``line``, through the script 'bash_source' prints."""
    words = line.split(" ")
    driver = (
        'eval "$(_IBKR_AUDIT_COMPLETE=bash_source ibkr-audit)"\n'
        'read -r -a COMP_WORDS <<< "$LINE"\n'
        '[[ "$LINE" == *" " ]] && COMP_WORDS+=("")\n'
        "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n"
        "_ibkr_audit_completion ibkr-audit\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{SCRIPT.parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "LINE": line}
    done = subprocess.run(["bash", "--noprofile", "--norc", "-c", driver], env=env,
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert words[0] == "ibkr-audit"
    return [w for w in done.stdout.splitlines() if w]


def test_bash_source_defines_the_completion_function() -> None:
    env = {**os.environ, "_IBKR_AUDIT_COMPLETE": "bash_source"}
    done = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert "complete -o nosort -F _ibkr_audit_completion ibkr-audit" in done.stdout


def test_subcommands_complete() -> None:
    assert complete("ibkr-audit con") == ["configs"]
    assert {"check", "checks", "configs", "credentials"} <= set(complete("ibkr-audit c"))


def test_options_and_their_choices_complete() -> None:
    assert complete("ibkr-audit check --fail") == ["--fail-on"]
    assert complete("ibkr-audit configs --kind ") == ["ibc", "jts", "gateway"]
    assert "short" in complete("ibkr-audit check --format ")
    assert complete("ibkr-audit check --fail-on cr") == ["critical"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_other_shells_get_a_script(shell: str) -> None:
    env = {**os.environ, "_IBKR_AUDIT_COMPLETE": f"{shell}_source"}
    done = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "_IBKR_AUDIT_COMPLETE" in done.stdout
