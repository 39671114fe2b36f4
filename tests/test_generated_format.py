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

import re
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


#: The modules of FastStream and aiokafka a generated service may import: their public
#: API (what their docs import from), nothing below it.
PUBLIC_MODULES = re.compile(
    r"(faststream|faststream\.(kafka|rabbit|nats|redis|asgi|opentelemetry|prometheus)"
    r"(\.(opentelemetry|prometheus|annotations))?|aiokafka|aiokafka\.(errors|structs))$"
)
IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\s+(.+)|import\s+([\w.]+))", re.MULTILINE)
#: An attribute of someone else's object that starts with `_`: `x._producer`, not `self._x`.
PRIVATE_ATTRIBUTE = re.compile(r"(?<![\w.])(?!self\b|cls\b)[A-Za-z_]\w*(?:\.\w+)*\._[a-z]\w*")


def test_generated_services_use_no_private_faststream_or_aiokafka_name(rendered: Path) -> None:
    found: list[str] = []
    for path in sorted(rendered.rglob("*.py")):
        text = path.read_text()
        where = path.relative_to(rendered)
        for match in IMPORT.finditer(text):
            module = match.group(1) or match.group(3)
            if not module.startswith(("faststream", "aiokafka")):
                continue
            names = match.group(2) or ""
            if not PUBLIC_MODULES.match(module) or any(
                n.strip().startswith("_") for n in names.split(",")
            ):
                found.append(f"{where}: {match.group(0).strip()}")
        found += [f"{where}: {m.group(0)}" for m in PRIVATE_ATTRIBUTE.finditer(text)]
        found += [f"{where}: gc.freeze" for _ in re.finditer(r"\bgc\.freeze\(", text)]
    assert not found, "private names in generated code:\n" + "\n".join(found)


def test_the_private_name_check_sees_what_it_looks_for(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text(
        "from faststream.kafka.publisher.producer import AioKafkaFastProducerImpl\n"
        "producer = broker.config.producer._producer.producer\n"
        "gc.freeze()\n"
        "self._mine = 1\n"
    )
    with pytest.raises(AssertionError) as seen:
        test_generated_services_use_no_private_faststream_or_aiokafka_name(tmp_path)
    assert "AioKafkaFastProducerImpl" in str(seen.value)
    assert "broker.config.producer._producer" in str(seen.value)
    assert "gc.freeze" in str(seen.value)
    assert "self._mine" not in str(seen.value)


#: A level put into every channel of a model (`web.trip-requested.v1` becomes
#: `web.<level>.trip-requested.v1`): one length where a NATS publisher's
#: `app.stream("...").name` first passes the line, one where every line holding a
#: channel does (channels of 55-130 characters).
LONGER_CHANNELS = {
    "55-plus": "as-read-by-the-downstream-services",
    "95-plus": "as-read-by-the-downstream-fulfilment-and-settlement-services",
}
#: The models with channels of every kind: sent and consumed, a saga's, parameterised
#: (which Redis refuses).
LONG_CHANNEL_MODELS = [
    (model, broker)
    for model in ("long-names", "saga-long-names", "parameters")
    for broker in BROKERS
    if (model, broker) != ("parameters", "redis")
]


@pytest.mark.parametrize("length", LONGER_CHANNELS)
@pytest.mark.parametrize(("name", "broker"), LONG_CHANNEL_MODELS)
def test_long_channels_are_wrapped_as_ruff_formats_them(
    name: str, broker: str, length: str, tmp_path: Path
) -> None:
    text = (MODELS / f"{name}.yaml").read_text()
    level = LONGER_CHANNELS[length]
    longer, count = re.subn(r"(channel: [a-z]+\.)", rf"\g<1>{level}.", text)
    assert count >= 2
    (tmp_path / "model.yaml").write_text(longer)
    model = load_model(tmp_path / "model.yaml")
    assert max(len(e.channel) for e in model.messages) > 55
    repo = tmp_path / "repo"
    render(repo, model, "orchestration" if model.saga else "choreography", broker, "jsonschema")
    for check in (["format", "--check"], ["check"]):
        done = subprocess.run(
            [ruff(), *check, "--no-cache", "src", "tests"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
