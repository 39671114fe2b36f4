"""Failure handling and idempotence end to end, on each real broker: a generated
service runs as its own process and meets messages from the broker's plain client
(tests/e2e/reliability_driver.py).

Needs the brokers of `scripts/brokers.sh up` (BROKER_URL_KAFKA, ...); the PostgreSQL
dedupe store needs DEDUPE_URL_POSTGRES (`scripts/brokers.sh up postgres` prints it).
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import ROOT
from generated import uv
from test_e2e_brokers import Deployed

pytestmark = [pytest.mark.brokers, pytest.mark.slow]
DRIVER = ROOT / "tests" / "e2e" / "reliability_driver.py"
BROKERS = ["kafka", "rabbitmq", "nats", "redis"]


def drive(deployed: Deployed, scenario: str, env: dict[str, str], *extra: str) -> dict:
    return deployed.drive(scenario, *extra, script=DRIVER, env=env)


@pytest.fixture(scope="module", params=BROKERS)
def deployed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    deployed = Deployed(tmp_path_factory.mktemp(request.param), request.param, "avro")
    # the optional dedupe stores' clients, as a user installs them
    venv = deployed.repo / ".venv"
    subprocess.run(
        [uv(), "pip", "install", "-q", "-e", f"{deployed.repo}[dedupe-redis,dedupe-postgres]"],
        env={**os.environ, "VIRTUAL_ENV": str(venv)},
        check=True,
        capture_output=True,
    )
    return deployed


def test_a_message_that_cannot_be_decoded_is_dead_lettered_at_once_and_the_rest_go_on(
    deployed: Deployed,
) -> None:
    # four attempts allowed, one made: the same bytes would fail the same way
    env = {"PAYMENT_AUTHORIZED_RETRY_MAX_ATTEMPTS": "4", "RETRY_BACKOFF_MS": "50"}
    result = drive(deployed, "dead-letter", env, "--count", "20")
    print(f"\n{deployed.broker}: {json.dumps(result)}")
    [dead] = result["dead_lettered"]
    assert dead["body_is_the_original"]
    headers = dead["headers"]
    assert headers["dead_letter_attempts"] == "1"
    assert headers["dead_letter_source"] == deployed.input_channel
    assert headers["dead_letter_reason"].startswith(
        "Undecodable: could not be decoded as PaymentAuthorized"
        " (schemas/PaymentAuthorized.avsc, application/avro): "
    )
    assert headers["ce_id"].startswith("poison-")  # its own headers travel with it
    assert headers["correlation_id"].startswith("poison-")
    assert result["good_processed"] == result["good_published"] == 20
    assert result["metrics"] == {"events_failed_total": 1, "events_dead_lettered_total": 1}
    assert result["exit_code"] == 0


def test_a_poison_message_is_dead_lettered_after_its_attempts_and_the_rest_go_on(
    deployed: Deployed,
) -> None:
    # the undecodable message again, with every failure retried as the setting asks
    env = {
        "PAYMENT_AUTHORIZED_RETRY_MAX_ATTEMPTS": "4",
        "PAYMENT_AUTHORIZED_RETRY_NON_RETRYABLE": "true",
        "RETRY_BACKOFF_MS": "50",
    }
    result = drive(deployed, "dead-letter", env, "--count", "20")
    print(f"\n{deployed.broker}: {json.dumps(result)}")
    [dead] = result["dead_lettered"]
    assert dead["body_is_the_original"]
    assert dead["headers"]["dead_letter_attempts"] == "4"
    assert dead["headers"]["dead_letter_reason"].startswith("Undecodable: ")
    assert result["good_processed"] == result["good_published"] == 20
    assert result["metrics"] == {"events_failed_total": 4, "events_dead_lettered_total": 1}
    assert result["exit_code"] == 0


def test_an_event_delivered_twice_changes_state_once(deployed: Deployed) -> None:
    result = drive(deployed, "redelivery", {})
    assert result == {"outputs_of_the_event": 1, "outputs_of_the_other_event": 1, "exit_code": 0}


@pytest.mark.parametrize("store", ["redis", "postgres"])
def test_an_event_redelivered_after_a_crash_changes_state_once(
    deployed: Deployed, store: str
) -> None:
    url = os.environ.get("BROKER_URL_REDIS" if store == "redis" else "DEDUPE_URL_POSTGRES")
    if not url:
        pytest.fail(f"no URL for the {store} dedupe store: start it with scripts/brokers.sh")
    result = drive(deployed, "redelivery", {"DEDUPE_URL": url}, "--kill")
    assert result == {"outputs_of_the_event": 1, "outputs_of_the_other_event": 1, "exit_code": 0}
