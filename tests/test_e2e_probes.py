"""Health probes and graceful shutdown of a generated service on each real broker:
not ready until the broker connection is up (and, where the test can cut it, once
it is lost), ready after; SIGTERM during a handler lets it finish, its event goes
out, and the process exits 0. The scenario is tests/e2e/probes.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT
from test_e2e_brokers import Deployed

pytestmark = [pytest.mark.brokers, pytest.mark.slow]
PROBES = ROOT / "tests" / "e2e" / "probes.py"


@pytest.mark.parametrize("broker", ["kafka", "rabbitmq", "nats", "redis"])
def test_ready_follows_the_broker_and_sigterm_finishes_the_message_in_flight(
    broker: str, tmp_path: Path
) -> None:
    deployed = Deployed(tmp_path, broker, "avro")
    result = deployed.drive(None, script=PROBES)
    print(f"\n{broker}: " + json.dumps({k: v for k, v in result.items() if k != "log"}))
    assert result["live_before_connect"] == 204
    assert result["ready_before_connect"] == 503
    assert result["seconds_to_ready"] < 60
    if broker != "kafka":
        assert result["seconds_to_not_ready_after_loss"] < 30
        assert result["seconds_to_ready_again"] < 60
    # SIGTERM in the middle of the handler: not ready at once, the work completes
    assert result["ready_while_stopping"] in (503, None), result["log"]
    assert result["output_after_sigterm"] == {"order_id": result["input"]["order_id"]}
    assert result["exit_code"] == 0, result["log"]
    assert result["stop_seconds"] >= result["slow_seconds"] - 1, "it waited for the handler"
