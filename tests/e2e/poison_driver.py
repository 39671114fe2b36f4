"""Drive a generated Kafka service through poison messages on the real broker.

Runs inside the generated repository's virtual environment, like driver.py (whose
service process and codec it reuses), and prints one JSON document of what it
observed; tests/test_e2e_poison.py asserts on it.

    poison_driver.py --repo DIR --broker kafka --url URL --package P --input-event E
        --input-channel C --output-event F --output-channel D [--count N]

The input topic is created taking messages of up to 4 MB (its dead-letter topic keeps
the broker's default, 1 MB). Then, in this order on one partition: a 2 MB message
that is no event (it cannot be dead-lettered as it is), the Avro or JSON bytes of
another event (the input event's fields and more), the input event with junk
appended, the input event with a `ce_type` naming another event, a tombstone (no
value), then --count good events. Reports, per poison message, what the dead-letter
topic has for it (its reason, and whether the body is the original or a reference),
how long until every good event's output was out, the poison messages that caused an
output (acted on as events), the readiness probe's status and body at the end, and
how many times the service's log says the relay failed.

With --stall DLQ_BYTES the dead-letter topic takes only DLQ_BYTES a message, less than
the service's MAX_MESSAGE_BYTES: one 100 KB poison message, then --count good events.
The broker refuses the dead letter; reports readiness while stalled (status and
why), how often the relay tried in the seconds it was stalled, the good outputs
meanwhile; then the service restarted with MAX_MESSAGE_BYTES=DLQ_BYTES (what the 503
tells the operator to do): the dead letter as it then goes out, the good outputs and
readiness.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from contextlib import suppress
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from driver import Codec, Service, add_service_arguments, run_scenario

MAX_TOPIC_BYTES = 4 * 1024 * 1024
OVERSIZED = 2 * 1024 * 1024


def text(headers: Any) -> dict[str, str]:
    return {str(k): v.decode() if isinstance(v, bytes) else str(v) for k, v in headers or []}


def other_event(codec: Codec, repo: Path, event: str) -> bytes:
    """The bytes of another event: the input event's fields, then more (an amount and a
    currency), written with a schema of its own."""
    fields = codec.input.model_dump(mode="json", by_alias=True)
    avsc = repo / "schemas" / f"{event}.avsc"
    if not avsc.exists():
        return json.dumps({**fields, "amount": 1250, "currency": "EUR"}).encode()
    import io

    import fastavro

    schema = json.loads(avsc.read_text())
    schema["name"] = "PaymentCaptured"
    schema["fields"] += [
        {"name": "amount", "type": "long"},
        {"name": "currency", "type": "string"},
    ]
    buffer = io.BytesIO()
    record = {**fields, "amount": 1250, "currency": "EUR"}
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), record)
    return buffer.getvalue()


def readiness(port: int) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=5) as r:
            return int(r.status), r.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


async def create_topics(url: str, limits: dict[str, int]) -> None:
    """One partition each (every good event waits behind every poison one), each
    taking messages of up to its limit."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=url)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(name, 1, 1, topic_configs={"max.message.bytes": str(limit)})
                for name, limit in limits.items()
            ]
        )
    finally:
        await admin.close()


def message_headers(content_type: str, ce_id: str, ce_type: str) -> list[tuple[str, bytes]]:
    """The envelope a message is sent with (its id as its correlation id too)."""
    values = {"content-type": content_type, "ce_id": ce_id, "ce_type": ce_type}
    return [(k, v.encode()) for k, v in {**values, "correlation_id": ce_id}.items()]


async def start_clients(args: argparse.Namespace, dlq: str) -> tuple[Any, Any]:
    """A producer for the input channel, and a consumer of the output and dead-letter
    channels from their start; both started."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=args.url, max_request_size=MAX_TOPIC_BYTES)
    consumer = AIOKafkaConsumer(
        args.output_channel,
        dlq,
        bootstrap_servers=args.url,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await producer.start()
    await consumer.start()
    return producer, consumer


async def poison(args: argparse.Namespace, codec: Codec, service: Service) -> dict[str, Any]:
    if args.stall:  # the dead-letter topic refuses what the service thinks it takes
        return await stall(args, codec, service)
    run = uuid.uuid4().hex[:8]
    dlq = f"{args.input_channel}.dlq"
    await create_topics(args.url, {args.input_channel: MAX_TOPIC_BYTES})

    good_event = codec.encode_input(1)
    content_type = codec.codec.CONTENT_TYPE
    event_type = f"payments.{args.input_event}.v1"
    poisons: dict[str, tuple[bytes | None, str]] = {
        "oversized": (b"\xff" * OVERSIZED, event_type),
        "other-schema": (other_event(codec, Path(args.repo), args.input_event), event_type),
        "trailing-junk": (good_event + b"\x02junk", event_type),
        "wrong-ce-type": (codec.encode_input(2), "payments.OrderPlaced.v1"),
        "tombstone": (None, event_type),
    }
    good = {f"good-{run}-{i}": codec.encode_input(i + 3) for i in range(args.count)}

    def headers(ce_id: str, ce_type: str) -> list[tuple[str, bytes]]:
        return message_headers(content_type, ce_id, ce_type)

    service.start()
    await service.ready()
    producer, consumer = await start_clients(args, dlq)
    dead: dict[str, dict[str, Any]] = {}
    outputs: set[str] = set()
    acted_on: set[str] = set()
    started = time.monotonic()
    seconds = None
    try:
        for name, (body, ce_type) in poisons.items():
            await producer.send_and_wait(  # a tombstone is a key without a value
                args.input_channel, body, key=b"k", headers=headers(f"{name}-{run}", ce_type)
            )
        for ce_id, body in good.items():
            await producer.send_and_wait(
                args.input_channel, body, key=b"k", headers=headers(ce_id, event_type)
            )

        def ce_id_of_cause(got: dict[str, str]) -> str:
            return got.get("correlation_id", "").removesuffix(f"-{run}")

        async def collect() -> None:
            nonlocal seconds
            async for record in consumer:
                got = text(record.headers)
                ce_id = got.get("ce_id", "")
                if record.topic == dlq and ce_id.endswith(f"-{run}"):
                    name = ce_id.removesuffix(f"-{run}")
                    original = poisons.get(name, (b"", ""))[0] or b""
                    dead[name] = {
                        "reason": got.get("dead_letter_reason", ""),
                        "attempts": got.get("dead_letter_attempts"),
                        "body_is_the_original": (record.value or b"") == original,
                        "body_omitted": got.get("dead_letter_body") == "omitted",
                        "reference": (
                            json.loads(record.value or b"{}")
                            if got.get("dead_letter_body") == "omitted"
                            else None
                        ),
                    }
                elif record.topic == args.output_channel and ce_id_of_cause(got) in poisons:
                    acted_on.add(ce_id_of_cause(got))
                elif record.topic == args.output_channel and got.get("correlation_id") in good:
                    outputs.add(got["correlation_id"])
                    if len(outputs) == len(good) and seconds is None:
                        seconds = round(time.monotonic() - started, 2)
                if len(outputs) == len(good) and len(dead) == len(poisons):
                    return

        with suppress(TimeoutError):
            await asyncio.wait_for(collect(), args.timeout)
    finally:
        await producer.stop()
        await consumer.stop()
    ready = readiness(service.health_port)
    code, _ = service.stop()
    log = service.log.read_text(errors="replace")
    return {
        "dead_lettered": dead,
        "poisons": sorted(poisons),
        "good_published": len(good),
        "good_processed": len(outputs),
        "seconds_to_the_last_good_output": seconds,
        "readiness": list(ready),
        "relay_failures_logged": log.count("the outbox relay cannot send"),
        "acted_on": sorted(acted_on),  # poison messages that caused an output
        "exit_code": code,
    }


async def stall(args: argparse.Namespace, codec: Codec, service: Service) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    dlq = f"{args.input_channel}.dlq"
    await create_topics(args.url, {args.input_channel: MAX_TOPIC_BYTES, dlq: args.stall})
    content_type = codec.codec.CONTENT_TYPE
    event_type = f"payments.{args.input_event}.v1"

    def headers(ce_id: str) -> list[tuple[str, bytes]]:
        return message_headers(content_type, ce_id, event_type)

    poison_body = b"\xff" * 100_000
    good = {f"good-{run}-{i}": codec.encode_input(i + 1) for i in range(args.count)}
    fast = {"STALL_SECONDS": "1", "RELAY_RETRY_SECONDS": "0.2"}
    service.start(fast)
    await service.ready()
    producer, consumer = await start_clients(args, dlq)
    outputs: set[str] = set()
    dead: list[dict[str, Any]] = []

    async def collect(until: float) -> None:
        with suppress(TimeoutError):
            async with asyncio.timeout(until):
                async for record in consumer:
                    got = text(record.headers)
                    if record.topic == dlq and got.get("ce_id") == f"poison-{run}":
                        dead.append({**got, "body": (record.value or b"").decode(errors="replace")})
                    elif got.get("correlation_id") in good:
                        outputs.add(got["correlation_id"])
                    if dead and len(outputs) == len(good):
                        return

    try:
        await producer.send_and_wait(
            args.input_channel, poison_body, key=b"k", headers=headers(f"poison-{run}")
        )
        for ce_id, body in good.items():
            await producer.send_and_wait(args.input_channel, body, key=b"k", headers=headers(ce_id))
        stalled = (0, "")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            stalled = readiness(service.health_port)
            if stalled[0] == 503:
                break
            await asyncio.sleep(0.2)
        await collect(8)  # eight seconds stalled: how often does the relay try?
        log = service.log.read_text(errors="replace")
        outputs_while_stalled = len(outputs)
        service.stop()
        service.start({**fast, "MAX_MESSAGE_BYTES": str(args.stall)})
        await service.ready()
        started = time.monotonic()
        await collect(args.timeout)
        seconds = round(time.monotonic() - started, 2)
        after = readiness(service.health_port)
    finally:
        await producer.stop()
        await consumer.stop()
    code, _ = service.stop()
    return {
        "readiness_while_stalled": list(stalled),
        "relay_tries_logged_while_stalled": log.count("the outbox relay cannot send"),
        "outputs_while_stalled": outputs_while_stalled,
        "dead_lettered_after_the_restart": dead,
        "good_published": len(good),
        "good_processed": len(outputs),
        "seconds_after_the_restart": seconds,
        "readiness_after": list(after),
        "exit_code": code,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    add_service_arguments(parser)
    parser.add_argument("--stall", type=int, default=0, help="the dead-letter topic's limit")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=90)
    run_scenario(parser.parse_args(), poison)


if __name__ == "__main__":
    main()
