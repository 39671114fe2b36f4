"""Drive a generated service on a real broker with the broker's plain client.

Runs inside the generated repository's virtual environment (it has the broker's
client library, the codec's dependencies and the repo's tests/samples.py), starts
the service as its own process the way its README says (`python -m PACKAGE` with
BROKER_URL), and prints one JSON document of what it observed; the tests in
tests/test_e2e_brokers.py assert on it.

    driver.py roundtrip|at-least-once --repo DIR --broker B --url URL --package P
        --input-event E --input-channel C --output-event F --output-channel D [--count N]

The plain clients speak each broker's wire format as FastStream does: the
correlation id travels in the `correlation_id` header (Kafka, NATS), the AMQP
`correlation_id` property (RabbitMQ), or the binary envelope FastStream writes
into a Redis stream entry's `__data__` field (encoded here from its description).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

Sent = tuple[bytes, str]  # payload, correlation id
Publish = Callable[[list[Sent]], Awaitable[None]]
Received = Callable[[], AsyncIterator[Sent]]


# -- the service process ----------------------------------------------------------


class Service:
    def __init__(self, repo: Path, package: str, url: str) -> None:
        self.repo, self.package, self.url = repo, package, url
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.repo / f"service-{self.starts}.log", "wb")  # noqa: SIM115
        self.log = Path(log.name)
        env = {**os.environ, "BROKER_URL": self.url, "PYTHONUNBUFFERED": "1"}
        env["HEALTH_PORT"] = str(free_port())  # services of parallel runs share the machine
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.package],
            cwd=self.repo,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    async def ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SystemExit(f"service exited early:\n{self.log.read_text()[-3000:]}")
            if b"started successfully" in self.log.read_bytes():
                return
            await asyncio.sleep(0.1)
        raise SystemExit(f"service not ready in {timeout}s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self, timeout: float = 30) -> tuple[int | None, float]:
        """SIGTERM; the exit code and how long it took (None: it did not exit)."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code: int | None = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = None
        return code, time.monotonic() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- plain clients, one per broker --------------------------------------------------


@asynccontextmanager
async def kafka(
    url: str, inp: str, out: str, content_type: str
) -> AsyncIterator[tuple[Publish, Received]]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=url, linger_ms=5)
    consumer = AIOKafkaConsumer(
        out, bootstrap_servers=url, group_id=None, auto_offset_reset="earliest"
    )
    await producer.start()
    await consumer.start()

    async def publish(batch: list[Sent]) -> None:
        futures = [
            await producer.send(
                inp,
                body,
                headers=[("correlation_id", cid.encode()), ("content-type", content_type.encode())],
            )
            for body, cid in batch
        ]
        await asyncio.gather(*futures)

    async def received() -> AsyncIterator[Sent]:
        async for record in consumer:
            headers = dict(record.headers or [])
            yield record.value or b"", headers.get("correlation_id", b"").decode()

    try:
        yield publish, received
    finally:
        await producer.stop()
        await consumer.stop()


@asynccontextmanager
async def rabbitmq(
    url: str, inp: str, out: str, content_type: str
) -> AsyncIterator[tuple[Publish, Received]]:
    import aio_pika

    connection = await aio_pika.connect_robust(url)
    channel = await connection.channel(publisher_confirms=True)
    exchange = await channel.declare_exchange("events", aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(exchange, routing_key=out)

    async def publish(batch: list[Sent]) -> None:
        await asyncio.gather(
            *(
                exchange.publish(
                    aio_pika.Message(
                        body,
                        correlation_id=cid,
                        content_type=content_type,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=inp,
                )
                for body, cid in batch
            )
        )

    async def received() -> AsyncIterator[Sent]:
        async with queue.iterator() as messages:
            async for message in messages:
                await message.ack()
                yield message.body, message.correlation_id or ""

    try:
        yield publish, received
    finally:
        await connection.close()


@asynccontextmanager
async def nats(
    url: str, inp: str, out: str, content_type: str
) -> AsyncIterator[tuple[Publish, Received]]:
    import nats as nats_client
    from nats.js.api import DeliverPolicy
    from nats.js.errors import BadRequestError

    client = await nats_client.connect(url)
    jetstream = client.jetstream()
    with suppress(BadRequestError):  # the same stream the service declares for its channel
        await jetstream.add_stream(name=out.replace(".", "_"), subjects=[out])
    subscription = await jetstream.subscribe(
        out, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
    )

    async def publish(batch: list[Sent]) -> None:
        await asyncio.gather(
            *(
                jetstream.publish(
                    inp, body, headers={"correlation_id": cid, "content-type": content_type}
                )
                for body, cid in batch
            )
        )

    async def received() -> AsyncIterator[Sent]:
        async for message in subscription.messages:
            yield message.data, (message.headers or {}).get("correlation_id", "")

    try:
        yield publish, received
    finally:
        await client.close()


MAGIC = b"\x89BIN\x0d\x0a\x1a\x0a"  # FastStream's binary envelope, version 1


def envelope(body: bytes, headers: dict[str, str]) -> bytes:
    encoded = b"".join(
        struct.pack(">H", len(k.encode()))
        + k.encode()
        + struct.pack(">H", len(v.encode()))
        + v.encode()
        for k, v in headers.items()
    )
    headers_start = len(MAGIC) + 2 + 8
    data_start = headers_start + 2 + len(encoded)
    return MAGIC + struct.pack(">HIIH", 1, headers_start, data_start, len(headers)) + encoded + body


def open_envelope(data: bytes) -> tuple[bytes, dict[str, str]]:
    assert data.startswith(MAGIC), data[:20]
    _, headers_start, data_start = struct.unpack(">HII", data[8:18])
    (count,) = struct.unpack(">H", data[headers_start : headers_start + 2])
    offset, headers = headers_start + 2, {}
    for _ in range(count):
        pair = []
        for _ in range(2):
            (size,) = struct.unpack(">H", data[offset : offset + 2])
            pair.append(data[offset + 2 : offset + 2 + size].decode())
            offset += 2 + size
        headers[pair[0]] = pair[1]
    return data[data_start:], headers


@asynccontextmanager
async def redis(
    url: str, inp: str, out: str, content_type: str
) -> AsyncIterator[tuple[Publish, Received]]:
    from redis.asyncio import Redis

    client = Redis.from_url(url)

    async def publish(batch: list[Sent]) -> None:
        async with client.pipeline(transaction=False) as pipe:
            for body, cid in batch:
                pipe.xadd(
                    inp,
                    {
                        "__data__": envelope(
                            body, {"correlation_id": cid, "content-type": content_type}
                        )
                    },
                )
            await pipe.execute()

    last = "0"  # where reading goes on from, across calls

    async def received() -> AsyncIterator[Sent]:
        nonlocal last
        while True:
            for _, entries in await client.xread({out: last}, block=1000, count=500):
                for entry_id, fields in entries:
                    last = entry_id
                    body, headers = open_envelope(fields[b"__data__"])
                    yield body, headers.get("correlation_id", "")

    try:
        yield publish, received
    finally:
        await client.aclose()


CLIENTS = {"kafka": kafka, "rabbitmq": rabbitmq, "nats": nats, "redis": redis}


# -- the payloads -------------------------------------------------------------------


class Codec:
    """Input built from the repo's samples; output read with the schema files alone."""

    def __init__(self, repo: Path, package: str, input_event: str, output_event: str) -> None:
        sys.path[:0] = [str(repo / "src"), str(repo)]
        self.codec = importlib.import_module(f"{package}.codec")
        samples = importlib.import_module("tests.samples")
        messages = importlib.import_module(f"{package}.messages")
        factory = next(
            getattr(samples, name)
            for name in dir(samples)
            if name.replace("_", "") == input_event.lower()
        )
        self.input = factory()
        self.input_type = getattr(messages, input_event)
        avsc = repo / "schemas" / f"{output_event}.avsc"
        if avsc.exists():
            import fastavro

            self.schema = fastavro.parse_schema(json.loads(avsc.read_text()))
            self.avro = True
        else:
            from jsonschema import Draft7Validator

            self.validator = Draft7Validator(
                json.loads((repo / "schemas" / f"{output_event}.schema.json").read_text())
            )
            self.avro = False

    def encode_input(self, index: int) -> bytes:
        # distinct inputs: every uuid field gets a fresh value
        changes = {
            name: uuid.uuid4()
            for name, info in self.input_type.model_fields.items()
            if info.annotation is uuid.UUID
        }
        return (
            self.codec.encode(self.input.model_copy(update=changes))
            if index
            else self.codec.encode(self.input)
        )

    def decode_output(self, body: bytes) -> dict[str, Any]:
        if self.avro:
            import fastavro

            record = fastavro.schemaless_reader(io.BytesIO(body), self.schema, None)
            return json.loads(json.dumps(record, default=str))
        document = json.loads(body)
        self.validator.validate(document)
        return dict(document)


# -- the scenarios ------------------------------------------------------------------


async def roundtrip(args: argparse.Namespace, codec: Codec, service: Service) -> dict[str, Any]:
    cid = f"e2e-{uuid.uuid4()}"
    client = CLIENTS[args.broker](
        args.url, args.input_channel, args.output_channel, codec.codec.CONTENT_TYPE
    )
    service.start()
    await service.ready()
    async with client as (publish, received):
        await publish([(codec.encode_input(0), cid)])
        body = b""

        async def first() -> None:
            nonlocal body
            async for body_, got in received():
                if got == cid:
                    body = body_
                    return

        await asyncio.wait_for(first(), args.timeout)
    code, seconds = service.stop()
    return {
        "input": json.loads(json.dumps(codec.input.model_dump(mode="json"))),
        "output": codec.decode_output(body),
        "correlation_id": cid,
        "exit_code": code,
        "stop_seconds": round(seconds, 2),
    }


async def at_least_once(args: argparse.Namespace, codec: Codec, service: Service) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    sent = [(codec.encode_input(i), f"alo-{run}-{i}") for i in range(args.count)]
    wanted = {cid for _, cid in sent}
    seen: dict[str, int] = {}
    client = CLIENTS[args.broker](
        args.url, args.input_channel, args.output_channel, codec.codec.CONTENT_TYPE
    )
    service.start()
    await service.ready()
    killed_after = 0
    async with client as (publish, received):
        for start in range(0, len(sent), 500):
            await publish(sent[start : start + 500])

        async def count(until: int) -> None:
            async for _, cid in received():
                if cid in wanted:
                    seen[cid] = seen.get(cid, 0) + 1
                    if len(seen) >= until:
                        return

        await asyncio.wait_for(count(args.count // 3), args.timeout)
        service.kill()  # SIGKILL partway: whatever was in flight must come again
        killed_after = len(seen)
        service.start()
        await service.ready()
        with suppress(TimeoutError):
            await asyncio.wait_for(count(args.count), args.timeout)
    code, seconds = service.stop()
    return {
        "published": args.count,
        "received_unique": len(seen),
        "missing": len(wanted - set(seen)),
        "duplicates": sum(n - 1 for n in seen.values()),
        "killed_after": killed_after,
        "exit_code": code,
        "stop_seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["roundtrip", "at-least-once"])
    for option in (
        "repo",
        "broker",
        "url",
        "package",
        "input-event",
        "input-channel",
        "output-event",
        "output-channel",
    ):
        parser.add_argument(f"--{option}", required=True)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args()
    repo = Path(args.repo)
    codec = Codec(repo, args.package, args.input_event, args.output_event)
    service = Service(repo, args.package, args.url)
    scenario = roundtrip if args.scenario == "roundtrip" else at_least_once
    try:
        result = asyncio.run(scenario(args, codec, service))
    finally:
        if service.process is not None and service.process.poll() is None:
            service.process.kill()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
