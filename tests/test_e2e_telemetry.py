"""End to end on real brokers: the envelope, the trace and the metrics of a generated
service running as its own process with tracing on (OTLP to a collector in the driver).

An input event goes in through the broker's plain client with a W3C traceparent and
CloudEvents headers; the output event must carry the input's trace id, a new envelope
pointing back to the input (causation id), the same correlation id, and the service's
spans must have reached the collector, chained from the input's span. /metrics is read
over HTTP. Needs the brokers of `scripts/brokers.sh up` (marker `brokers`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import pytest
from test_e2e_brokers import Deployed

pytestmark = [pytest.mark.brokers, pytest.mark.slow]
CASES = [("kafka", "avro"), ("rabbitmq", "jsonschema"), ("nats", "avro"), ("redis", "jsonschema")]
PRODUCER, CONSUMER = 4, 5  # OTLP's SpanKind numbers


@pytest.mark.parametrize(("broker", "schema_format"), CASES, ids=[b for b, _ in CASES])
def test_the_trace_and_the_envelope_go_from_input_to_output(
    broker: str, schema_format: str, tmp_path: Path
) -> None:
    deployed = Deployed(tmp_path, broker, schema_format)
    result = deployed.drive("trace", "--timeout", "90")
    sent, received = result["sent"], result["received"]

    # the trace: the output's traceparent is in the input's trace
    _, trace_id, span_id, _ = received["traceparent"].split("-")
    assert trace_id == sent["trace_id"]
    assert span_id != sent["span_id"], "a span of the service's own, not a copy"
    # the envelope: a new event, caused by the input, in the same conversation
    assert received["ce_specversion"] == "1.0"
    assert uuid.UUID(received["ce_id"]) and received["ce_id"] != sent["ce_id"]
    assert received["ce_source"] == f"/{deployed.service}"
    assert received["ce_type"] == f"{deployed.service}.OrderConfirmed.v1"
    assert datetime.fromisoformat(received["ce_time"]).tzinfo is not None
    assert received["causation_id"] == sent["ce_id"]
    assert received["correlation_id"] == sent["correlation_id"]

    # the spans the service exported: process (child of the input's span), then publish
    spans = {span["name"]: span for span in result["spans"]}
    process = spans[f"{deployed.input_channel} process"]
    publish = spans[f"{deployed.output_channel} publish"]
    assert (process["kind"], publish["kind"]) == (CONSUMER, PRODUCER)
    assert process["parent_span_id"] == sent["span_id"]
    assert publish["parent_span_id"] == process["span_id"]
    assert publish["span_id"] == span_id  # the context the output carries
    assert {span["service"] for span in result["spans"]} == {deployed.service}

    # metrics over HTTP, and every log line JSON
    metrics = result["metrics"]
    assert metrics[f'events_consumed_total{{channel="{deployed.input_channel}"}}'] == 1
    assert metrics[f'events_published_total{{channel="{deployed.output_channel}"}}'] == 1
    assert result["log_lines"] > 3 and result["json_log_lines"] == result["log_lines"]
    assert result["exit_code"] == 0
