"""A generated Kafka service under poison messages on the real broker (issue 20, items 9
and 10): an oversized message, bytes of another schema, trailing junk, a `ce_type`
naming another event and a tombstone, all ahead of good events on one partition
(tests/e2e/poison_driver.py). Every good event behind them is handled within seconds,
every bad one is dead-lettered with its reason, the oversized one as a reference.

Needs the Kafka of `scripts/brokers.sh up` (BROKER_URL_KAFKA).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT
from test_e2e_brokers import Deployed

pytestmark = [pytest.mark.brokers, pytest.mark.slow]
DRIVER = ROOT / "tests" / "e2e" / "poison_driver.py"


@pytest.mark.parametrize("schema_format", ["avro", "jsonschema"])
def test_poison_messages_are_dead_lettered_and_the_good_ones_behind_them_handled(
    tmp_path_factory: pytest.TempPathFactory, schema_format: str
) -> None:
    deployed = Deployed(tmp_path_factory.mktemp(schema_format), "kafka", schema_format)
    result = deployed.drive(
        None, "--count", "50", "--timeout", "90", script=DRIVER, env={"RETRY_BACKOFF_MS": "50"}
    )
    print(f"\nkafka-{schema_format}: {json.dumps(result)}")
    dead = result["dead_lettered"]
    assert sorted(dead) == result["poisons"], "every poison message dead-lettered"
    assert all(d["attempts"] == "1" for d in dead.values()), "none of them retried"
    assert result["acted_on"] == []
    assert result["good_processed"] == result["good_published"] == 50
    assert result["seconds_to_the_last_good_output"] < 30

    oversized = dead.pop("oversized")  # 2 MB: above the dead-letter topic's 1 MB
    assert oversized["body_omitted"] and not oversized["body_is_the_original"]
    reference = oversized["reference"]
    assert reference["topic"] == deployed.input_channel
    assert (reference["partition"], reference["offset"]) == (0, 0)  # first on the partition
    assert reference["size"] == 2 * 1024 * 1024
    assert reference["reason"].startswith("Undecodable: could not be decoded as PaymentAuthorized")
    assert all(d["body_is_the_original"] and not d["body_omitted"] for d in dead.values())

    reasons = {name: d["reason"] for name, d in dead.items()}
    assert all(r.startswith("Undecodable: ") for r in reasons.values()), reasons
    assert "names another event than PaymentAuthorized.v1" in reasons["wrong-ce-type"]
    if schema_format == "avro":
        assert "bytes after the record" in reasons["other-schema"]
        assert "bytes after the record" in reasons["trailing-junk"]
    else:
        assert "Extra inputs are not permitted" in reasons["other-schema"]
        assert "trailing characters" in reasons["trailing-junk"]

    assert result["relay_failures_logged"] == 0
    assert result["readiness"] == [204, ""]
    assert result["exit_code"] == 0


def test_a_dead_letter_the_broker_refuses_stalls_with_backoff_says_why_and_recovers(
    tmp_path: Path,
) -> None:
    """The dead-letter topic takes less than the service thinks (20 KB against 1 MiB):
    the broker refuses the dead letter of a 100 KB poison message. The relay tries again
    with backoff (a handful of tries in eight seconds, not thousands), readiness turns
    503 naming the refusal; restarted with MAX_MESSAGE_BYTES set to the topic's limit,
    the dead letter goes out as a reference and every event behind it follows."""
    deployed = Deployed(tmp_path, "kafka", "avro")
    result = deployed.drive(
        None, "--stall", "20000", "--count", "20", "--timeout", "60", script=DRIVER
    )
    print(f"\nkafka stall: {json.dumps(result)}")
    status, why = result["readiness_while_stalled"]
    assert status == 503
    assert why.startswith("outbox relay: stalled for "), why
    assert "cannot send" in why and "MessageSizeTooLarge" in why, why
    assert 1 <= result["relay_tries_logged_while_stalled"] <= 12
    [dead] = result["dead_lettered_after_the_restart"]
    assert dead["dead_letter_body"] == "omitted"
    reference = json.loads(dead["body"])
    assert (reference["topic"], reference["size"]) == (deployed.input_channel, 100_000)
    assert (reference["partition"], reference["offset"]) == (0, 0)
    assert result["good_processed"] == result["good_published"] == 20
    assert result["seconds_after_the_restart"] < 30
    assert result["readiness_after"] == [204, ""]
    assert result["exit_code"] == 0
