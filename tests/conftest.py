"""Shared helpers: run the real CLI, write models in a line or two."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
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
#: pytest-xdist's workers inherit the environment without it: they read it back from
#: EVTGEN_TESTS_REGISTRY_URL, which no generated service reads.
REGISTRY_URL = (
    os.environ.pop("REGISTRY_URL", "") or os.environ.get("EVTGEN_TESTS_REGISTRY_URL", "")
).rstrip("/")
os.environ["EVTGEN_TESTS_REGISTRY_URL"] = REGISTRY_URL


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


@pytest.fixture(autouse=True, scope="session")
def own_config_and_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A developer's own ~/.config/evtgen/config.yml must not change what tests see,
    and `evtgen new` publishes its template into a store in the user's data directory
    (docs/update.md): tests keep theirs out of the home directory. Session-wide, so
    module-scoped fixtures that run evtgen see it too (each xdist worker has its own)."""
    base = tmp_path_factory.getbasetemp()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVTGEN_CONFIG", str(base / "no-config.yml"))
        patch.setenv("EVTGEN_DATA_DIR", str(base / "evtgen-data"))
        yield


#: the real brokers a test's generated service may meet (scripts/brokers.sh)
BROKERS = ("kafka", "rabbitmq", "nats", "redis")


def broker_of(item: pytest.Item) -> str:
    """The broker a test meets: the first broker name among its parameters (nested
    in tuples too), else Kafka, evtgen's default broker."""
    callspec = getattr(item, "callspec", None)
    values: list[object] = list(callspec.params.values()) if callspec else []
    while values:
        value = values.pop(0)
        if isinstance(value, tuple | list):
            values[:0] = value
        elif isinstance(value, str) and value in BROKERS:
            return value
    return "kafka"


def pytest_itemcollected(item: pytest.Item) -> None:
    """scripts/test.sh runs the suite on several workers (pytest-xdist, --dist
    loadgroup). Generated repos of one model share channel names and consumer groups,
    so two of them on one broker at once would read each other's messages: every test
    that runs one under its model's names (marked `broker_names`) runs on its broker's
    worker, one after another. The others, the end-to-end tests with names of their
    own run (uuids) among them, go wherever a worker is free.

    The group is marked as each test is collected, so it is there when xdist's own
    pytest_collection_modifyitems writes the groups into the test ids (pytest 9.2
    broke that write: pyproject.toml keeps pytest below it, tests/test_parallel.py
    checks the grouping for real).
    """
    if item.get_closest_marker("broker_names"):
        item.add_marker(pytest.mark.xdist_group(broker_of(item)))


def postgres_database() -> str:
    """The URL of a new database on the suite's PostgreSQL (`scripts/postgres.sh up`,
    DATABASE_URL_POSTGRES): tests on several workers at once must not share tables."""
    if not os.environ.get("DATABASE_URL_POSTGRES"):
        pytest.fail("no DATABASE_URL_POSTGRES: start PostgreSQL with scripts/postgres.sh up")
    name = f"test_{uuid.uuid4().hex[:12]}"
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "postgres.sh"), "database", name],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()
