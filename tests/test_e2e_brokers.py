"""End to end on real brokers: a generated service runs as its own process, as its
README says, and meets events from the broker's plain client.

Needs the brokers of `scripts/brokers.sh up` and their URLs in BROKER_URL_KAFKA,
BROKER_URL_RABBITMQ, BROKER_URL_NATS and BROKER_URL_REDIS (scripts/test.sh sets
them); `-m "not brokers"` leaves these tests out on a machine without brokers.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import ROOT, run_evtgen
from generated import fresh_venv

pytestmark = [pytest.mark.brokers, pytest.mark.slow]
DRIVER = ROOT / "tests" / "e2e" / "driver.py"
CASES = [
    ("kafka", "avro"),
    ("kafka", "jsonschema"),
    ("rabbitmq", "avro"),
    ("rabbitmq", "jsonschema"),
    ("nats", "avro"),
    ("nats", "jsonschema"),
    ("redis", "avro"),
    ("redis", "jsonschema"),
]
EVENTS = 10_000


def broker_url(broker: str) -> str:
    url = os.environ.get(f"BROKER_URL_{broker.upper()}")
    if not url:
        pytest.fail(
            f"BROKER_URL_{broker.upper()} is not set: start the brokers with "
            "`scripts/brokers.sh up` (scripts/test.sh does), or deselect with "
            "-m 'not brokers'"
        )
    return url


class Deployed:
    """A generated service with channels of its own, so runs never share a stream."""

    def __init__(self, root: Path, broker: str, schema_format: str) -> None:
        run = uuid.uuid4().hex[:8]
        self.broker, self.service = broker, f"orders-{run}"
        self.package = self.service.replace("-", "_")
        self.input_channel = f"payments.{run}.payment-authorized.v1"
        self.output_channel = f"{self.service}.order-confirmed.v1"
        model = (
            (ROOT / "generator/evtgen/data/sample-model.yaml")
            .read_text()
            .replace("channel: payments.payment-authorized.v1", f"channel: {self.input_channel}")
        )
        (root / "model.yaml").write_text(model)
        self.repo = root / self.service
        done = run_evtgen(
            "new",
            "service",
            self.service,
            "--model",
            root / "model.yaml",
            "--defaults",
            "--dest",
            self.repo,
            "--broker",
            broker,
            "--schema-format",
            schema_format,
        )
        assert done.code == 0, done.stderr
        self.python = fresh_venv(self.repo) / "python"

    def drive(
        self,
        scenario: str | None,
        *extra: str,
        script: Path = DRIVER,
        env: dict[str, str] | None = None,
    ) -> dict:
        """Run a driver script (tests/e2e/) against this service; its last line, as JSON."""
        done = subprocess.run(
            [
                str(self.python),
                str(script),
                *([scenario] if scenario else []),
                "--repo",
                str(self.repo),
                "--broker",
                self.broker,
                "--url",
                broker_url(self.broker),
                "--package",
                self.package,
                "--input-event",
                "PaymentAuthorized",
                "--input-channel",
                self.input_channel,
                "--output-event",
                "OrderConfirmed",
                "--output-channel",
                self.output_channel,
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, **(env or {})},
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("broker", "schema_format"), CASES, ids=[f"{b}-{f}" for b, f in CASES])
def test_an_external_event_comes_out_as_the_emitted_event(
    broker: str, schema_format: str, tmp_path: Path
) -> None:
    result = Deployed(tmp_path, broker, schema_format).drive("roundtrip", "--timeout", "90")
    # decoded with the schema files: the order the payment was for is confirmed
    assert result["output"] == {"order_id": result["input"]["order_id"]}
    assert result["correlation_id"].startswith("e2e-")
    assert result["exit_code"] == 0, "SIGTERM must stop it cleanly"
    assert result["stop_seconds"] < 10


@pytest.mark.parametrize("broker", ["kafka", "rabbitmq", "nats", "redis"])
def test_at_least_once_across_a_kill(broker: str, tmp_path: Path) -> None:
    deployed = Deployed(tmp_path, broker, "avro")
    result = deployed.drive("at-least-once", "--count", str(EVENTS), "--timeout", "240")
    print(f"\n{broker}: {json.dumps(result)}")  # the counts, for the record
    assert result["published"] == EVENTS
    assert 0 < result["killed_after"] < EVENTS, "the kill must come partway"
    assert result["missing"] == 0, result
    assert result["received_unique"] == EVENTS
    assert result["exit_code"] == 0
