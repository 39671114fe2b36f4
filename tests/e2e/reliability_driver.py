"""Drive a generated service's failure handling and idempotence on a real broker.

Runs inside the generated repository's virtual environment, like driver.py (whose
service process, codec and Redis envelope it reuses), and prints one JSON document
of what it observed; tests/test_e2e_reliability.py asserts on it.

    reliability_driver.py dead-letter|redelivery --repo DIR --broker B --url URL
        --package P --input-event E --input-channel C --output-event F --output-channel D

dead-letter: a message no handler can take (bytes that are not the event), then
good events; reports the poison message as the dead-letter channel has it (earlier
runs' are left out), the good ones' outputs and the service's failure counts.
redelivery: an event, its output awaited, (with --kill) the service killed (SIGKILL)
and started again, the same event (same `ce_id`) delivered again, then another event; reports
how many outputs each caused. The settings (RETRY_*, DEDUPE_URL) come from the
environment, which the service process inherits.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from driver import (
    Codec,
    Service,
    add_service_arguments,
    envelope,
    open_envelope,
    run_scenario,
    scrape,
)

Message = tuple[bytes, dict[str, str]]  # body, headers (correlation_id among them)
Publish = Callable[[list[Message]], Awaitable[None]]
Received = Callable[[], AsyncIterator[tuple[str, bytes, dict[str, str]]]]


def text(headers: Any) -> dict[str, str]:
    return {
        str(k): v.decode() if isinstance(v, bytes) else str(v) for k, v in (headers or {}).items()
    }


@asynccontextmanager
async def kafka(url: str, inp: str, outs: list[str]) -> AsyncIterator[tuple[Publish, Received]]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=url)
    consumer = AIOKafkaConsumer(
        *outs, bootstrap_servers=url, group_id=None, auto_offset_reset="earliest"
    )
    await producer.start()
    await consumer.start()

    async def publish(batch: list[Message]) -> None:
        for body, headers in batch:  # one by one, in order, each acknowledged
            await producer.send_and_wait(
                inp, body, headers=[(k, v.encode()) for k, v in headers.items()]
            )

    async def received() -> AsyncIterator[tuple[str, bytes, dict[str, str]]]:
        async for record in consumer:
            yield record.topic, record.value or b"", text(dict(record.headers or []))

    try:
        yield publish, received
    finally:
        await producer.stop()
        await consumer.stop()


@asynccontextmanager
async def rabbitmq(url: str, inp: str, outs: list[str]) -> AsyncIterator[tuple[Publish, Received]]:
    import aio_pika

    connection = await aio_pika.connect_robust(url)
    channel = await connection.channel(publisher_confirms=True)
    exchange = await channel.declare_exchange("events", aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(exclusive=True)
    for out in outs:
        await queue.bind(exchange, routing_key=out)

    async def publish(batch: list[Message]) -> None:
        for body, headers in batch:
            rest = {k: v for k, v in headers.items() if k != "correlation_id"}
            await exchange.publish(
                aio_pika.Message(
                    body,
                    headers=rest,
                    correlation_id=headers.get("correlation_id"),
                    content_type=headers.get("content-type"),
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=inp,
            )

    async def received() -> AsyncIterator[tuple[str, bytes, dict[str, str]]]:
        async with queue.iterator() as messages:
            async for message in messages:
                await message.ack()
                headers = text(message.headers)
                headers["correlation_id"] = message.correlation_id or ""
                yield message.routing_key or "", message.body, headers

    try:
        yield publish, received
    finally:
        await connection.close()


@asynccontextmanager
async def nats(url: str, inp: str, outs: list[str]) -> AsyncIterator[tuple[Publish, Received]]:
    import nats as nats_client
    from nats.js.api import DeliverPolicy
    from nats.js.errors import BadRequestError

    client = await nats_client.connect(url)
    jetstream = client.jetstream()
    queue: asyncio.Queue[tuple[str, bytes, dict[str, str]]] = asyncio.Queue()

    async def put(message: Any) -> None:
        await queue.put((message.subject, message.data, text(message.headers)))

    for out in outs:
        with suppress(BadRequestError):  # the same streams the service declares
            await jetstream.add_stream(name=out.replace(".", "_"), subjects=[out])
        await jetstream.subscribe(
            out, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL, cb=put
        )

    async def publish(batch: list[Message]) -> None:
        for body, headers in batch:
            await jetstream.publish(inp, body, headers=headers)

    async def received() -> AsyncIterator[tuple[str, bytes, dict[str, str]]]:
        while True:
            yield await queue.get()

    try:
        yield publish, received
    finally:
        await client.close()


@asynccontextmanager
async def redis(url: str, inp: str, outs: list[str]) -> AsyncIterator[tuple[Publish, Received]]:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    last = dict.fromkeys(outs, "0")

    async def publish(batch: list[Message]) -> None:
        for body, headers in batch:
            await client.xadd(inp, {"__data__": envelope(body, headers)})

    async def received() -> AsyncIterator[tuple[str, bytes, dict[str, str]]]:
        while True:
            for stream, entries in await client.xread(dict(last), block=1000, count=500):
                name = stream.decode()
                for entry_id, fields in entries:
                    last[name] = entry_id
                    body, headers = open_envelope(fields[b"__data__"])
                    yield name, body, headers

    try:
        yield publish, received
    finally:
        await client.aclose()


CLIENTS = {"kafka": kafka, "rabbitmq": rabbitmq, "nats": nats, "redis": redis}


def headers(codec: Codec, cid: str, ce_id: str) -> dict[str, str]:
    return {"correlation_id": cid, "content-type": codec.codec.CONTENT_TYPE, "ce_id": ce_id}


async def collect(
    received: Received, until: Callable[[], bool], into: list[tuple[str, bytes, dict[str, str]]]
) -> None:
    async for item in received():
        into.append(item)
        if until():
            return


async def dead_letter(args: argparse.Namespace, codec: Codec, service: Service) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    dlq = f"{args.input_channel}.dlq"
    poison = b"\xff this is not an event " + run.encode()
    good = [
        (codec.encode_input(i + 1), headers(codec, f"good-{run}-{i}", f"good-{run}-{i}"))
        for i in range(args.count)
    ]
    wanted = {h["correlation_id"] for _, h in good}
    seen: list[tuple[str, bytes, dict[str, str]]] = []

    def ours(channel: str, headers: dict[str, str]) -> bool:
        """This run's poison message on the dead-letter channel (which keeps earlier runs')."""
        return channel == dlq and headers.get("ce_id") == f"poison-{run}"

    service.start()
    await service.ready()
    async with CLIENTS[args.broker](args.url, args.input_channel, [args.output_channel, dlq]) as (
        publish,
        received,
    ):
        started = time.monotonic()
        await publish([(poison, headers(codec, f"poison-{run}", f"poison-{run}")), *good])

        def done() -> bool:
            outputs = {h.get("correlation_id") for c, _, h in seen if c == args.output_channel}
            return wanted <= outputs and any(ours(c, h) for c, _, h in seen)

        with suppress(TimeoutError):
            await asyncio.wait_for(collect(received, done, seen), args.timeout)
        seconds = time.monotonic() - started
    metrics = scrape(service.health_port)  # a process of its own: counts of this run only
    code, _ = service.stop()
    dead = [
        {"body_is_the_original": body == poison, "headers": h}
        for channel, body, h in seen
        if ours(channel, h)
    ]
    outputs = [h.get("correlation_id") for c, _, h in seen if c == args.output_channel]
    return {
        "dead_lettered": dead,
        "good_published": len(good),
        "good_processed": len(wanted & set(outputs)),
        "seconds": round(seconds, 2),
        # failed handler runs and dead-lettered messages of the input channel
        "metrics": {
            name: metrics.get(f'{name}{{channel="{args.input_channel}"}}', 0.0)
            for name in ("events_failed_total", "events_dead_lettered_total")
        },
        "exit_code": code,
    }


async def redelivery(args: argparse.Namespace, codec: Codec, service: Service) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    event = codec.encode_input(1)
    seen: list[tuple[str, bytes, dict[str, str]]] = []

    def outputs(prefix: str) -> int:
        wanted = f"{prefix}-{run}"  # the channel may hold outputs of earlier runs
        return sum(1 for _, _, h in seen if h.get("correlation_id") == wanted)

    service.start()
    await service.ready()
    async with CLIENTS[args.broker](args.url, args.input_channel, [args.output_channel]) as (
        publish,
        received,
    ):
        await publish([(event, headers(codec, f"first-{run}", f"evt-{run}"))])
        await asyncio.wait_for(collect(received, lambda: outputs("first") > 0, seen), args.timeout)
        if args.kill:
            # the output is out before the id is remembered (a crash in between is the
            # one window left for a duplicate): let it be remembered, then crash before
            # or after the broker's ack, as it comes
            await asyncio.sleep(1)
            service.kill()  # SIGKILL: whatever the process kept in memory is gone
            service.start()
            await service.ready()
        await publish(
            [
                (event, headers(codec, f"again-{run}", f"evt-{run}")),  # the same event
                (codec.encode_input(2), headers(codec, f"other-{run}", f"other-{run}")),
            ]
        )
        await asyncio.wait_for(collect(received, lambda: outputs("other") > 0, seen), args.timeout)
        # anything the redelivered event caused would have come out by now
        with suppress(TimeoutError):
            await asyncio.wait_for(collect(received, lambda: False, seen), 3)
    code, _ = service.stop()
    return {
        "outputs_of_the_event": outputs("first") + outputs("again"),
        "outputs_of_the_other_event": outputs("other"),
        "exit_code": code,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["dead-letter", "redelivery"])
    add_service_arguments(parser)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--kill", action="store_true", help="redelivery: kill and restart first")
    parser.add_argument("--timeout", type=float, default=90)
    args = parser.parse_args()
    run_scenario(args, dead_letter if args.scenario == "dead-letter" else redelivery)


if __name__ == "__main__":
    main()
