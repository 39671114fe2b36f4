"""Generated saga orchestrators: each installs in a fresh virtual environment and its
own checks pass (pytest, ruff, mypy strict). Its saga tests cover the happy path, a
failure at each step and a timeout at each step, on the step machine and on the
in-memory broker; against a real broker too when the broker's URL is given
(BROKER_URL_KAFKA, BROKER_URL_RABBITMQ, BROKER_URL_NATS, BROKER_URL_REDIS), and then
they must have run, not skipped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from asyncapi_parser import assert_valid_asyncapi
from conftest import ROOT, run_evtgen
from generated import fresh_venv, run_in

from evtgen.loader import load_model
from evtgen.saga_scenarios import saga_scenarios
from evtgen.templates import sample_saga_path

MODELS = ROOT / "tests" / "models"
CASES = [
    # the sample saga (no --model), every broker once, both schema formats
    (None, "kafka", "avro"),
    (None, "rabbitmq", "jsonschema"),
    (None, "nats", "avro"),
    (None, "redis", "jsonschema"),
    # a saga beside policies, every field type carried, steps without failure or undo
    ("saga-trips", "kafka", "jsonschema"),
    ("saga-trips", "rabbitmq", "avro"),
    # one step, messages without fields, nothing to undo or announce
    ("saga-tiny", "nats", "jsonschema"),
    # the longer names real models have
    ("saga-long-names", "redis", "avro"),
]

pytestmark = [pytest.mark.slow, pytest.mark.broker_names]


@pytest.mark.parametrize(
    ("model", "broker", "schema_format"), CASES, ids=lambda p: p or "sample-saga"
)
def test_the_orchestrators_own_tests_pass_in_memory_and_on_the_real_broker(
    tmp_path: Path, model: str | None, broker: str, schema_format: str
) -> None:
    service = {"saga-trips": "trips", "saga-tiny": "pinger", "saga-long-names": "trips"}.get(
        model or "", "fulfilment"
    )
    repo = tmp_path / service
    model_args = ["--model", str(MODELS / f"{model}.yaml")] if model else []
    done = run_evtgen(
        "new",
        "service",
        service,
        "--defaults",
        "--pattern",
        "orchestration",
        "--dest",
        repo,
        *model_args,
        "--broker",
        broker,
        "--schema-format",
        schema_format,
    )
    assert done.code == 0, done.stderr
    bin_dir = fresh_venv(repo)
    url = os.environ.get(f"BROKER_URL_{broker.upper()}")
    result = run_in(
        repo,
        bin_dir,
        "pytest",
        "-p",
        "no:cacheprovider",
        "-rs",
        "-v",
        extra_env={"BROKER_URL": url} if url else None,
    )
    assert result.code == 0, result.output
    ran = set(re.findall(r"::(test_\w+)\[([\w-]+)\] PASSED", result.output))
    model_path = MODELS / f"{model}.yaml" if model else sample_saga_path()
    saga = load_model(model_path, service=service).saga
    assert saga is not None
    every = {s["id"]: s for s in saga_scenarios(saga)}
    # the happy path, a failure at each step that can fail, a timeout at each step
    assert "happy-path" in every
    assert sum(i.startswith("timeout-at-") for i in every) == len(saga.steps)
    assert sum(i.startswith("failure-at-") for i in every) == sum(
        1 for s in saga.steps if s.failure
    )
    for test in (
        "test_scenario_on_the_in_memory_broker",
        "test_scenario_sends_what_it_must_in_order",
    ):
        assert {name for t, name in ran if t == test} == set(every), result.output
    on_broker = {name for test, name in ran if test == "test_scenario_on_the_real_broker"}
    skipped = [line for line in result.output.splitlines() if line.startswith("SKIPPED")]
    if url:
        assert not skipped, result.output
        assert on_broker == {i for i, s in every.items() if s["broker"]}, result.output
    else:
        assert all("BROKER_URL is not set" in line for line in skipped), result.output
    for check in (("ruff", "check", "."), ("ruff", "format", "--check", "."), ("mypy",)):
        outcome = run_in(repo, bin_dir, *check)
        assert outcome.code == 0, f"{outcome.command}:\n{outcome.output}"
    # the saga's commands and replies are in its AsyncAPI document, which must parse
    assert_valid_asyncapi(repo / "schemas" / "asyncapi.yaml")
    assert "receive" in (repo / "schemas" / "asyncapi.yaml").read_text()
