"""Every broker x schema format: the generated repo installs in a fresh virtual
environment and its own checks pass (pytest, ruff, mypy); its schemas and its
AsyncAPI document are valid by the real parsers.

The real-broker integration tests of each repo run too when the broker's URL is
given (BROKER_URL_KAFKA, BROKER_URL_RABBITMQ, BROKER_URL_NATS, BROKER_URL_REDIS, as
`.ci/run` sets after `scripts/brokers.sh up`); without it they must be the only
skipped tests. Each repo keeps its state on SQLite; one runs its whole suite on
PostgreSQL (TEST_DATABASE_URL, a database of its own).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import NamedTuple

import fastavro
import pytest
from asyncapi_parser import assert_valid_asyncapi
from conftest import ROOT, postgres_database, run_evtgen
from generated import fresh_venv, run_in
from jsonschema import Draft7Validator
from ruamel.yaml import YAML

BROKERS = ("kafka", "rabbitmq", "nats", "redis")
FORMATS = ("avro", "jsonschema")
MODELS = ROOT / "tests" / "models"
CASES = [
    # the sample model, every broker x schema format; one keeps its state, outbox and
    # inbox on PostgreSQL instead of SQLite
    (None, "kafka", "avro"),
    (None, "kafka", "jsonschema", "postgres"),
    *((None, broker, schema_format) for broker in BROKERS[1:] for schema_format in FORMATS),
    # every field type and flow shape, every broker once
    ("rich", "kafka", "avro"),
    ("rich", "rabbitmq", "jsonschema"),
    ("rich", "nats", "avro"),
    ("rich", "redis", "jsonschema"),
    # value objects (types:) nested, in lists and maps; float; an emoji (issue 19)
    ("values", "kafka", "avro"),
    ("values", "nats", "jsonschema"),
    # no events at all
    ("minimal", "redis", "jsonschema"),
    # the longer names real models have (lines that ruff format would wrap)
    ("long-names", "redis", "avro"),
    # channel parameters: a Kafka topic pattern, RabbitMQ topic keys, NATS subject
    # wildcards (issue 19)
    ("parameters", "kafka", "avro"),
    ("parameters", "rabbitmq", "jsonschema"),
    ("parameters", "nats", "jsonschema"),
]

pytestmark = [pytest.mark.slow, pytest.mark.broker_names]


class Generated(NamedTuple):
    broker: str
    schema_format: str
    repo: Path
    #: the environment its own tests run in, beside BROKER_URL
    env: dict[str, str]


@pytest.fixture(scope="module", params=CASES, ids=lambda p: "-".join(filter(None, p)))
def generated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Generated:
    model, broker, schema_format, *database = request.param
    model_args: list[str | Path] = []
    service = "orders"
    if model:
        path = MODELS / f"{model}.yaml"
        service = YAML(typ="safe").load(path)["service"]
        model_args = ["--model", path]
    repo = tmp_path_factory.mktemp("repo") / service
    done = run_evtgen(
        "new",
        "service",
        service,
        "--defaults",
        "--dest",
        repo,
        *model_args,
        "--broker",
        broker,
        "--schema-format",
        schema_format,
    )
    assert done.code == 0, done.stderr
    env = {"TEST_DATABASE_URL": postgres_database()} if database else {}
    return Generated(broker, schema_format, repo, env)


def test_its_own_tests_pass_and_only_the_real_broker_ones_skip(generated: Generated) -> None:
    repo = generated.repo
    bin_dir = fresh_venv(repo)
    url = os.environ.get(f"BROKER_URL_{generated.broker.upper()}")
    result = run_in(
        repo,
        bin_dir,
        "pytest",
        "-p",
        "no:cacheprovider",
        "-rs",
        extra_env={**generated.env, **({"BROKER_URL": url} if url else {})},
    )
    assert result.code == 0, result.output
    summary = result.output.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary), summary
    assert "failed" not in summary and "error" not in summary, summary
    skipped = [line for line in result.output.splitlines() if line.startswith("SKIPPED")]
    if url:
        assert not skipped, result.output
    else:
        assert all(
            "tests/integration" in line and "BROKER_URL is not set" in line for line in skipped
        ), result.output
    for check in (("ruff", "check", "."), ("ruff", "format", "--check", "."), ("mypy",)):
        outcome = run_in(repo, bin_dir, *check)
        assert outcome.code == 0, f"{outcome.command}:\n{outcome.output}"


def test_schemas_parse_with_the_real_parsers(generated: Generated) -> None:
    schema_format, repo = generated.schema_format, generated.repo
    events = {e["name"] for e in YAML(typ="safe").load(repo / "model.yaml").get("events") or []}
    if schema_format == "avro":
        files = sorted((repo / "schemas").glob("*.avsc"))
        for path in files:
            fastavro.parse_schema(json.loads(path.read_text()))
        assert {p.name.removesuffix(".avsc") for p in files} == events
    else:
        files = sorted((repo / "schemas").glob("*.schema.json"))
        for path in files:
            Draft7Validator.check_schema(json.loads(path.read_text()))
        assert {p.name.removesuffix(".schema.json") for p in files} == events


def test_asyncapi_document_passes_the_asyncapi_parser(generated: Generated) -> None:
    assert_valid_asyncapi(generated.repo / "schemas" / "asyncapi.yaml")
