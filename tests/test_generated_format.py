"""The generated Python is as `ruff format` writes it, for every broker x schema format
x pattern x sample model: a team that runs `ruff format` on day one gets no diff in
the files the template manages (which would become conflicts on `evtgen update`),
and the generated CI's lint stage (`ruff format --check .`) passes.

Rendering only, no install: every repo is rendered in-process and one ruff run checks
them all, each under its own pyproject.toml (line length 100). The slow tests
(test_generated.py, test_saga_generated.py) run the same check with the ruff each
repo installs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, TEMPLATE

from evtgen.copier_adapter import staging_render
from evtgen.loader import load_model
from evtgen.model import Model
from evtgen.templates import sample_saga_path
from evtgen.view import model_view

BROKERS = ("kafka", "rabbitmq", "nats", "redis")
FORMATS = ("avro", "jsonschema")
MODELS = ROOT / "tests" / "models"
#: Each model (None: the template's own sample, as plain `copier copy` renders it) with
#: the pattern it takes, a saga needing its orchestrator.
PATTERNED: list[tuple[Model | None, str]] = [
    (None, "choreography"),
    # the sample saga leaves the service's name to `evtgen new`
    (load_model(sample_saga_path(), service="fulfilment"), "orchestration"),
    *(
        (model, "orchestration" if model.saga else "choreography")
        for model in map(load_model, sorted(MODELS.glob("*.yaml")))
    ),
]


def ruff() -> str:
    """ruff from the test environment (a dev dependency), else from PATH."""
    beside = Path(sys.executable).parent / "ruff"
    return str(beside) if beside.exists() else (shutil.which("ruff") or "ruff")


def render(dest: Path, model: Model | None, pattern: str, broker: str, schema_format: str) -> None:
    data: dict[str, Any] = {"broker": broker, "schema_format": schema_format, "pattern": pattern}
    if model is not None:
        data["model"] = model_view(model)
    with staging_render(
        src_path=str(TEMPLATE), dst_path=dest, quiet=True, defaults=True, data=data
    ) as render:
        render.copy()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every combination, rendered side by side under one directory."""
    root = tmp_path_factory.mktemp("matrix")
    for number, (model, pattern) in enumerate(PATTERNED):
        for broker in BROKERS:
            for schema_format in FORMATS:
                service = model.service if model else "sample"
                name = f"{number}-{service}-{pattern}-{broker}-{schema_format}"
                render(root / name, model, pattern, broker, schema_format)
    return root


def test_the_matrix_covers_both_patterns_and_every_sample_model(rendered: Path) -> None:
    repos = [p for p in rendered.iterdir() if (p / "pyproject.toml").is_file()]
    assert len(repos) == len(PATTERNED) * len(BROKERS) * len(FORMATS)
    assert {pattern for _, pattern in PATTERNED} == {"choreography", "orchestration"}
    orchestrated = [p for p in repos if list(p.glob("src/*/orchestrator.py"))]
    assert len(orchestrated) == len(BROKERS) * len(FORMATS) * sum(
        pattern == "orchestration" for _, pattern in PATTERNED
    )


def test_every_generated_repo_is_as_ruff_format_writes_it(rendered: Path) -> None:
    done = subprocess.run(
        [ruff(), "format", "--check", "--no-cache", "."],
        cwd=rendered,
        capture_output=True,
        text=True,
        timeout=300,
    )
    diff = subprocess.run(
        [ruff(), "format", "--diff", "--no-cache", "."],
        cwd=rendered,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr + diff.stdout
    assert "files already formatted" in done.stdout, done.stdout


def test_the_check_sees_a_file_the_template_would_leave_unformatted(rendered: Path) -> None:
    # the check above is not vacuous: ruff reads these repos, under their own settings
    repo = next(
        p for p in sorted(rendered.iterdir()) if p.name.startswith("0-sample-choreography-kafka")
    )
    app = next(repo.glob("src/*/app.py"))
    original = app.read_text()
    try:
        app.write_text(original.replace("\n\n\n@app.on_startup", "\n@app.on_startup", 1))
        done = subprocess.run(
            [ruff(), "format", "--check", "--no-cache", "."],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 1 and "app.py" in done.stdout + done.stderr, done.stdout
    finally:
        app.write_text(original)
