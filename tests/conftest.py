"""Shared helpers: run the real CLI, write models in a line or two."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template"
EVTGEN = [sys.executable, "-m", "evtgen"]
#: The tests' schema registry (scripts/test.sh exports REGISTRY_URL), taken out of the
#: environment: a generated service or repo's tests run by a test would read it and
#: switch to the registry's wire format, looking up schemas nobody registered; the
#: tests that mean it pass it on themselves (test_schema_registry, test_wire_format).
REGISTRY_URL = os.environ.pop("REGISTRY_URL", "").rstrip("/")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def run_evtgen(*args: str | os.PathLike[str], cwd: Path | None = None) -> Run:
    """Run `evtgen ARGS...` as a user would, in its own process."""
    done = subprocess.run(
        [*EVTGEN, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def evtgen() -> Callable[..., Run]:
    return run_evtgen


@pytest.fixture
def write_model(tmp_path: Path) -> Callable[[str], Path]:
    """Write a model file from indented YAML text; returns its path."""

    def write(text: str, name: str = "model.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commits made by tests need an identity, whatever the machine's git config."""
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "evtgen tests")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "tests@evtgen.invalid")


@pytest.fixture(autouse=True)
def no_user_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A developer's own ~/.config/evtgen/config.yml must not change what tests see."""
    monkeypatch.setenv("EVTGEN_CONFIG", str(tmp_path_factory.getbasetemp() / "no-config.yml"))


@pytest.fixture(autouse=True)
def evtgen_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`evtgen new` publishes its template into a store in the user's data directory
    (docs/update.md): tests keep theirs out of the home directory."""
    monkeypatch.setenv("EVTGEN_DATA_DIR", str(tmp_path_factory.getbasetemp() / "evtgen-data"))
