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
how many outputs each caused.
crash: --count events (each its own order, --pace a second), the service SIGKILLed
--kills times at random moments while it works and started again each time; reports the inputs with
no output, the inputs that caused two different outputs (executed twice), the
outputs that came twice with the same event id (re-sent by the outbox relay, which
a consumer can tell), and the stored state: every order confirmed, once (version 1),
as a run without kills leaves it.
The settings (RETRY_*, DATABASE_URL) come from the environment, which the service
process inherits; the state is in a fresh DATA_DIR (SQLite) unless DATABASE_URL is set.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
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


async def stored_orders(package: str, data_dir: str) -> list[tuple[int, dict[str, Any]]]:
    """(version, state) of every stored order: SQLite under `data_dir`, else the
    DATABASE_URL the service used."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        with sqlite3.connect(Path(data_dir) / "state.db") as db:
            rows = db.execute("SELECT version, state FROM aggregate_order").fetchall()
        return [(version, json.loads(state)) for version, state in rows]
    database = __import__(f"{package}.platform.database", fromlist=["Database"])
    scratch = database.Database(url, pooled=False)
    async with (await scratch.engine()).connect() as connection:
        found = await connection.exec_driver_sql("SELECT version, state FROM aggregate_order")
        rows = [
            (version, state if isinstance(state, dict) else json.loads(state))
            for version, state in found
        ]
    await scratch.close()
    return rows


async def empty_database(package: str) -> None:
    """The service's tables on DATABASE_URL emptied: the stored state is this run's."""
    database = __import__(f"{package}.platform.database", fromlist=["Database"])
    __import__(f"{package}.app")  # every aggregate's table known
    scratch = database.Database(os.environ["DATABASE_URL"], pooled=False)
    async with (await scratch.engine()).begin() as connection:
        for table in reversed(database.metadata.sorted_tables):
            await connection.execute(table.delete())
    await scratch.close()


async def crash(args: argparse.Namespace, codec: Codec, service: Service) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix=f"crash-{run}-"))
    if os.environ.get("DATABASE_URL"):
        await empty_database(args.package)
    inputs = [
        (codec.encode_input(i + 1), headers(codec, f"crash-{run}-{i}", f"in-{run}-{i}"))
        for i in range(args.count)
    ]
    wanted = {h["correlation_id"] for _, h in inputs}
    seen: list[tuple[str, bytes, dict[str, str]]] = []
    rng = random.Random(args.seed)

    def arrived() -> set[str]:
        return {h.get("correlation_id", "") for _, _, h in seen} & wanted

    service.start()
    await service.ready()
    kills = 0
    async with CLIENTS[args.broker](args.url, args.input_channel, [args.output_channel]) as (
        publish,
        received,
    ):
        collecting = asyncio.create_task(collect(received, lambda: False, seen))

        async def paced() -> None:  # spread over seconds, so the kills fall while it works
            for start in range(0, len(inputs), 100):
                await publish(inputs[start : start + 100])
                await asyncio.sleep(100 / args.pace)

        sending = asyncio.create_task(paced())
        deadline = time.monotonic() + args.timeout
        while kills < args.kills and time.monotonic() < deadline:
            await asyncio.sleep(rng.uniform(0.3, 2.5))  # while it works, at random
            if len(arrived()) == len(wanted):
                break
            service.kill()  # SIGKILL: whatever the process kept in memory is gone
            kills += 1
            service.start()
            await service.ready()
        await sending
        while len(arrived()) < len(wanted) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)  # anything executed twice would have come out by now
        collecting.cancel()
        with suppress(asyncio.CancelledError):
            await collecting
    code, _ = service.stop()
    # per input: the distinct event ids of its outputs (two: it ran twice)
    ids: dict[str, set[str]] = {}
    copies = 0
    for _, _, h in seen:
        cid = h.get("correlation_id", "")
        if cid in wanted:
            if h.get("ce_id", "") in ids.setdefault(cid, set()):
                copies += 1
            ids[cid].add(h.get("ce_id", ""))
    orders = await stored_orders(args.package, os.environ["DATA_DIR"])
    return {
        "inputs": len(wanted),
        "kills": kills,
        "missing": len(wanted - set(ids)),
        "executed_twice": sum(1 for found in ids.values() if len(found) > 1),
        "resent_with_the_same_id": copies,
        "stored_orders": len(orders),
        "stored_versions": sorted({version for version, _ in orders}),
        "exit_code": code,
    }


async def outage(args: argparse.Namespace, codec: Codec, service: Service) -> dict[str, Any]:
    """Events keep coming while the database (DATABASE_URL) is stopped for a while
    (--db-stop, then --db-start, shell commands): none is lost or run twice."""
    run = uuid.uuid4().hex[:8]
    await empty_database(args.package)
    inputs = [
        (codec.encode_input(i + 1), headers(codec, f"outage-{run}-{i}", f"in-{run}-{i}"))
        for i in range(args.count)
    ]
    wanted = {h["correlation_id"] for _, h in inputs}
    seen: list[tuple[str, bytes, dict[str, str]]] = []

    def arrived() -> set[str]:
        return {h.get("correlation_id", "") for _, _, h in seen} & wanted

    service.start()
    await service.ready()
    third = len(inputs) // 3
    async with CLIENTS[args.broker](args.url, args.input_channel, [args.output_channel]) as (
        publish,
        received,
    ):
        collecting = asyncio.create_task(collect(received, lambda: False, seen))
        await publish(inputs[:third])
        subprocess.run(args.db_stop, shell=True, check=True, capture_output=True)
        await publish(inputs[third:])  # while the database is away
        await asyncio.sleep(5)
        during = len(arrived())
        ready_during = probe(service.health_port)
        subprocess.run(args.db_start, shell=True, check=True, capture_output=True)
        deadline = time.monotonic() + args.timeout
        while len(arrived()) < len(wanted) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)
        collecting.cancel()
        with suppress(asyncio.CancelledError):
            await collecting
    code, _ = service.stop()
    ids: dict[str, set[str]] = {}
    for _, _, h in seen:
        if h.get("correlation_id", "") in wanted:
            ids.setdefault(h["correlation_id"], set()).add(h.get("ce_id", ""))
    return {
        "inputs": len(wanted),
        "arrived_while_away": during,
        "ready_while_away": ready_during,
        "missing": len(wanted - set(ids)),
        "executed_twice": sum(1 for found in ids.values() if len(found) > 1),
        "exit_code": code,
    }


def probe(port: int) -> int:
    """The readiness probe's status."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["dead-letter", "redelivery", "crash", "outage"])
    add_service_arguments(parser)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--kill", action="store_true", help="redelivery: kill and restart first")
    parser.add_argument("--kills", type=int, default=3, help="crash: how many SIGKILLs")
    parser.add_argument("--seed", type=int, default=None, help="crash: the kills' moments")
    parser.add_argument("--pace", type=float, default=300, help="crash: inputs per second")
    parser.add_argument("--db-stop", default="", help="outage: stops the database")
    parser.add_argument("--db-start", default="", help="outage: starts it again")
    parser.add_argument("--timeout", type=float, default=90)
    args = parser.parse_args()
    scenarios = {
        "dead-letter": dead_letter,
        "redelivery": redelivery,
        "crash": crash,
        "outage": outage,
    }
    run_scenario(args, scenarios[args.scenario])


if __name__ == "__main__":
    main()
