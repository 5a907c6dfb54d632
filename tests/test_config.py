"""Defaults from .ibkr-audit.toml: found, validated with file:line, and below flags and env."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import AS_OF, EXAMPLES, invoke

MAYA = str(EXAMPLES / "maya-live.json")  # fails a high check: exit 1 by default


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty directory with an empty user config dir (never the real one)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("IBKR_AUDIT_CONFIG", raising=False)
    return tmp_path


def test_no_config_changes_nothing(in_tmp: Path) -> None:
    assert invoke("check", MAYA, "--as-of", AS_OF).exit_code == 1


def test_cwd_file_sets_defaults_for_every_command(in_tmp: Path) -> None:
    (in_tmp / ".ibkr-audit.toml").write_text('fail-on = "critical"\nformat = "json"\n')
    run = invoke("check", MAYA, "--as-of", AS_OF)
    assert run.exit_code == 0  # only a high fails in this setup
    assert json.loads(run.stdout)["setup"] == MAYA
    assert invoke("plan", MAYA, "--as-of", AS_OF).exit_code == 0
    assert invoke("remediate", MAYA, "--as-of", AS_OF).exit_code == 0


def test_flag_beats_env_beats_file(in_tmp: Path) -> None:
    (in_tmp / ".ibkr-audit.toml").write_text('fail-on = "critical"\n')
    env = {"IBKR_AUDIT_CHECK_FAIL_ON": "low"}
    assert invoke("check", MAYA, "--as-of", AS_OF).exit_code == 0  # file
    assert invoke("check", MAYA, "--as-of", AS_OF, env=env).exit_code == 1  # env over file
    assert invoke("check", MAYA, "--as-of", AS_OF, "--fail-on", "never",
                  env=env).exit_code == 0  # flag over env


def test_user_config_dir_then_explicit_file(in_tmp: Path) -> None:
    user = in_tmp / "xdg" / "ibkr-audit"
    user.mkdir(parents=True)
    (user / "config.toml").write_text('fail-on = "never"\n')
    assert invoke("check", MAYA, "--as-of", AS_OF).exit_code == 0
    (in_tmp / ".ibkr-audit.toml").write_text('fail-on = "high"\n')  # the cwd file comes first
    assert invoke("check", MAYA, "--as-of", AS_OF).exit_code == 1
    other = in_tmp / "strict.toml"
    other.write_text('fail-on = "info"\n[params]\nmin_paper_trading_days = 5\n')
    run = invoke("--config", str(other), "check", MAYA, "--as-of", AS_OF, "-f", "json")
    assert run.exit_code == 1
    flag = invoke("check", MAYA, "--as-of", AS_OF, "-f", "json", "--fail-on", "info",
                  "--param", "min_paper_trading_days=5")
    assert json.loads(run.stdout)["findings"] == json.loads(flag.stdout)["findings"]
    assert json.loads(run.stdout)["findings"] != json.loads(
        invoke("check", MAYA, "--as-of", AS_OF, "-f", "json").stdout)["findings"]
    run = invoke("check", MAYA, "--as-of", AS_OF, env={"IBKR_AUDIT_CONFIG": str(other)})
    assert run.exit_code == 1


def test_checklists_are_relative_to_the_file_and_tables_set_any_option(in_tmp: Path) -> None:
    custom = in_tmp / "team" / "checks"
    custom.mkdir(parents=True)
    bundled = EXAMPLES.parent / "tests" / "assets" / "checklists"
    source = bundled / "custom_ok.json"
    (custom / source.name).write_text(source.read_text())
    (in_tmp / "team" / "cfg.toml").write_text(
        'checklists = ["checks"]\n[check]\nquiet = true\nas-of = "2026-11-25"\n')
    run = invoke("--config", str(in_tmp / "team" / "cfg.toml"), "checks", "-f", "json")
    assert run.exit_code == 0, run.stderr
    plain = invoke("checks", "-f", "json")
    assert len(json.loads(run.stdout)) > len(json.loads(plain.stdout))
    run = invoke("--config", str(in_tmp / "team" / "cfg.toml"), "check", MAYA)
    assert "as of 2026-11-25" in " ".join(run.stdout.split())  # the header may wrap


@pytest.mark.parametrize(("content", "line", "words"), [
    ('fail-on = "high"\nfial-on = "low"\n', 2, "unknown key 'fial-on'"),
    ('format = "pdf"\n', 1, "format must be one of"),
    ('fail-on = "high"\n[params]\nmax_review_age_days = "soon"\n', 2, "numbers"),
    ('checklists = "one"\n', 1, "list of strings"),
    ('\n\n[check]\nnot-an-option = 1\n', 4, "has no option --not-an-option"),
    ('fail-on = "high"\nformat = \n', 2, "invalid TOML"),
])
def test_bad_config_is_exit_2_with_file_and_line(in_tmp: Path, content: str, line: int,
                                                 words: str) -> None:
    path = in_tmp / ".ibkr-audit.toml"
    path.write_text(content)
    run = invoke("check", MAYA, "--as-of", AS_OF)
    assert run.exit_code == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr
    assert lines[0].startswith(f"ibkr-audit: error: {path}:{line}"), lines[0]
    assert words in lines[0]


def test_notify_targets_reach_commands_that_take_them(in_tmp: Path) -> None:
    from audit import config

    (in_tmp / "c.toml").write_text('notify = ["mailto://me@example.org"]\n')
    default_map = config.load(in_tmp / "c.toml", ["check", "schedule"], lambda _n: None)
    assert default_map["schedule"]["notify"] == ["mailto://me@example.org"]
    assert default_map["check"]["notify_targets"] == ["mailto://me@example.org"]
    from audit.cli.check import check
    from audit.cli.schedule import schedule_command

    # the parameter names are the commands' own, so click applies them as defaults
    assert {p.name for p in check.params} >= set(default_map["check"])
    assert {p.name for p in schedule_command.params} >= set(default_map["schedule"])


def test_case_insensitive_values_in_the_file(in_tmp: Path) -> None:
    (in_tmp / ".ibkr-audit.toml").write_text('fail-on = "Critical"\n')
    assert invoke("check", MAYA, "--as-of", AS_OF).exit_code == 0


@pytest.mark.parametrize("command", [["check"], ["check", "-f", "html"], ["plan"],
                                     ["remediate"]])
def test_commands_that_write_a_file_say_so(in_tmp: Path, command: list[str]) -> None:
    out = in_tmp / "out.file"
    run = invoke(command[0], MAYA, "--as-of", AS_OF, *command[1:], "-o", str(out))
    assert run.exit_code == 1 and out.is_file() and run.stdout == ""
    assert run.stderr == f"wrote {out}\n"


def test_history_with_nothing_recorded_is_not_an_error(in_tmp: Path) -> None:
    for args in (["history"], ["history", MAYA], ["history", "-f", "json"]):
        run = invoke(*args, "--history-db", str(in_tmp / "none.sqlite3"))
        assert run.exit_code == 0, run.stderr
        assert run.stdout.startswith("[]" if "json" in args else "no runs recorded yet")
    assert not (in_tmp / "none.sqlite3").exists()


def test_typo_suggestion_and_debug_after_the_subcommand(in_tmp: Path) -> None:
    run = invoke("chek", MAYA)
    assert run.exit_code == 2 and "did you mean 'check'?" in run.stderr
    assert invoke("check", MAYA, "--as-of", AS_OF, "--debug").exit_code == 1
    assert invoke("plan", MAYA, "--debug", "--as-of", AS_OF).exit_code == 1


@pytest.mark.parametrize("args", [["check", MAYA, "--fail-on", "bogus"], ["chek"], ["check"],
                                  ["checks", "--area", "nope"], ["check", MAYA, "--nope"]])
def test_usage_errors_use_the_one_error_style(in_tmp: Path, args: list[str]) -> None:
    run = invoke(*args)
    assert run.exit_code == 2 and run.stdout == ""
    lines = run.stderr.splitlines()
    assert lines[0].startswith("ibkr-audit: error: "), run.stderr
    assert "Usage:" not in run.stderr and "--help" in run.stderr


def test_user_config_file_is_where_platformdirs_puts_it(in_tmp: Path) -> None:
    import platformdirs

    from audit import config

    expected = Path(platformdirs.user_config_dir("ibkr-audit", appauthor=False))
    assert config.user_config_file() == expected / "config.toml"
