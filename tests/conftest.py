from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from audit.pointer import split

ROOT = Path(__file__).resolve().parent.parent
ASSETS = Path(__file__).resolve().parent / "assets"
EXAMPLES = ROOT / "examples"
AS_OF = "2026-11-25"


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Run:
    """Run the CLI in-process; exceptions surface as they would through main()."""
    from audit.cli.main import main

    # 80 columns unless a test says otherwise: text output wraps to the terminal.
    runner = CliRunner(env={"NO_COLOR": "1", "COLUMNS": "80", **(env or {})})
    result = runner.invoke(_Main(main), list(args), input=input, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


class _Main:
    """Adapter so CliRunner drives audit.cli.main.main (our error handling included)."""

    def __init__(self, main: Any) -> None:
        self._main = main
        self.name = "ibkr-audit"

    def main(self, args: list[str], prog_name: str | None = None, **_kw: Any) -> None:
        self._main(args)


def load_example(name: str) -> dict[str, Any]:
    with (EXAMPLES / f"{name}.json").open() as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def patched(base: dict[str, Any], set_: dict[str, Any] | None = None,
            remove: list[str] | None = None) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    for pointer, value in (set_ or {}).items():
        *parents, last = split(pointer)
        node: Any = doc
        for token in parents:
            node = node[int(token)] if isinstance(node, list) else node[token]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    for pointer in remove or []:
        *parents, last = split(pointer)
        node = doc
        for token in parents:
            node = node[int(token)] if isinstance(node, list) else node[token]
        del node[int(last) if isinstance(node, list) else last]
    return doc


def crowded(n: int) -> dict[str, Any]:
    """Maya with ``n`` devices and ``n`` backup authenticators, some on those devices."""
    doc = load_example("maya")
    base = doc["devices"]
    doc["devices"] = [{**copy.deepcopy(base[i % len(base)]), "name": f"device-{i}",
                       "authenticator": i % 3 == 0} for i in range(n)]
    doc["login"]["backup_authenticators"] = [
        {"method": ("totp_app", "hardware_token", "sms")[i % 3],
         "device": f"device-{(i * 7) % (2 * n)}", "last_tested": "2026-09-01"}
        for i in range(n)]
    return doc


def with_configs(setup: Any, case: dict[str, Any], tmp_path: Path) -> Any:
    """The setup plus the case's config files, parsed as `check --ibc/--jts/...` would."""
    import shutil
    from dataclasses import replace

    from audit.importers import configs

    files: dict[str, list[str]] = {}
    for kind, name in case.get("configs", {}).items():
        target = tmp_path / name
        shutil.copy(ASSETS / "configs" / name, target)
        target.chmod(int(case.get("mode", "0644"), 8))
        files[kind] = [str(target)]
    if files:
        facts, secrets = configs.load(files)
        setup = replace(setup, data={**setup.data, "$files": facts}, extra_secrets=secrets)
    if "observed" in case:  # what 'check --probe/--scan-code' would merge in
        from audit.observe.merge import merge

        setup = merge(setup, case["observed"])
    return setup


def pytest_configure(config: pytest.Config) -> None:
    """Compiled checklists are cached in a directory of the run's own, never the user's
    cache dir; set before collection, since test modules load checklists on import."""
    import os
    import tempfile

    os.environ["IBKR_AUDIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="ibkr-audit-test-cache-")


def pytest_unconfigure(config: pytest.Config) -> None:
    import os
    import shutil

    shutil.rmtree(os.environ.pop("IBKR_AUDIT_CACHE_DIR", ""), ignore_errors=True)


@pytest.fixture(autouse=True)
def _isolate(tmp_path_factory: pytest.TempPathFactory,
             monkeypatch: pytest.MonkeyPatch) -> Any:
    """No test touches the real keyring or writes history into the real home."""
    import keyring

    from tests.fake_keyring import MemoryKeyring

    MemoryKeyring.entries.clear()
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.fake_keyring.MemoryKeyring")
    monkeypatch.setenv("IBKR_AUDIT_HISTORY_DB",
                       str(tmp_path_factory.mktemp("history") / "history.sqlite3"))
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def write_setup(tmp_path: Path) -> Any:
    counter = iter(range(10_000))

    def _write(doc: Any, name: str | None = None) -> Path:
        path = tmp_path / (name or f"setup{next(counter)}.json")
        path.write_text(json.dumps(doc, indent=2) if not isinstance(doc, str) else doc)
        return path

    return _write
