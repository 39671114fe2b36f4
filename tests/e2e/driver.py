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
Got = tuple[bytes, str, dict[str, str]]  # payload, correlation id, headers
Publish = Callable[..., Awaitable[None]]  # (batch: list[Sent], headers: dict | None = None)
Received = Callable[[], AsyncIterator[Got]]


# -- the service process ----------------------------------------------------------


class Service:
    def __init__(self, repo: Path, package: str, url: str) -> None:
        self.repo, self.package, self.url = repo, package, url
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, env_extra: dict[str, str] | None = None) -> None:
        self.starts += 1
        log = open(self.repo / f"service-{self.starts}.log", "wb")  # noqa: SIM115
        self.log = Path(log.name)
        env = {**os.environ, "BROKER_URL": self.url, "PYTHONUNBUFFERED": "1"}
        self.health_port = free_port()  # services of parallel runs share the machine
        env["HEALTH_PORT"] = str(self.health_port)
        env.update(env_extra or {})
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

    async def publish(batch: list[Sent], extra: dict[str, str] | None = None) -> None:
        more = [(k, v.encode()) for k, v in (extra or {}).items()]
        futures = [
            await producer.send(
                inp,
                body,
                headers=[
                    ("correlation_id", cid.encode()),
                    ("content-type", content_type.encode()),
                    *more,
                ],
            )
            for body, cid in batch
        ]
        await asyncio.gather(*futures)

    async def received() -> AsyncIterator[Sent]:
        async for record in consumer:
            headers = {k: v.decode() for k, v in record.headers or []}
            yield record.value or b"", headers.get("correlation_id", ""), headers

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

    async def publish(batch: list[Sent], extra: dict[str, str] | None = None) -> None:
        await asyncio.gather(
            *(
                exchange.publish(
                    aio_pika.Message(
                        body,
                        headers=dict(extra or {}),
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
                headers = {
                    k: v.decode() if isinstance(v, bytes) else str(v)
                    for k, v in (message.headers or {}).items()
                }
                if message.content_type:
                    headers["content-type"] = message.content_type
                yield message.body, message.correlation_id or "", headers

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

    async def publish(batch: list[Sent], extra: dict[str, str] | None = None) -> None:
        await asyncio.gather(
            *(
                jetstream.publish(
                    inp,
                    body,
                    headers={"correlation_id": cid, "content-type": content_type, **(extra or {})},
                )
                for body, cid in batch
            )
        )

    async def received() -> AsyncIterator[Sent]:
        async for message in subscription.messages:
            headers = dict(message.headers or {})
            yield message.data, headers.get("correlation_id", ""), headers

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

    async def publish(batch: list[Sent], extra: dict[str, str] | None = None) -> None:
        async with client.pipeline(transaction=False) as pipe:
            for body, cid in batch:
                headers = {"correlation_id": cid, "content-type": content_type, **(extra or {})}
                pipe.xadd(inp, {"__data__": envelope(body, headers)})
            await pipe.execute()

    last = "0"  # where reading goes on from, across calls

    async def received() -> AsyncIterator[Sent]:
        nonlocal last
        while True:
            for _, entries in await client.xread({out: last}, block=1000, count=500):
                for entry_id, fields in entries:
                    last = entry_id
                    body, headers = open_envelope(fields[b"__data__"])
                    yield body, headers.get("correlation_id", ""), headers

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
            async for body_, got, _ in received():
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
            async for _, cid, _ in received():
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


class Collector:
    """An OTLP/HTTP trace receiver on loopback: the service exports its spans here
    (OTEL_EXPORTER_OTLP_ENDPOINT), decoded with opentelemetry-proto, which the
    service's OTLP exporter brings."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []

    async def __aenter__(self) -> Collector:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                fields = (line.partition(":") for line in lines[1:])
                headers = {k.strip().lower(): v.strip() for k, _, v in fields}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if headers.get("content-encoding") == "gzip":
                    import gzip

                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest.FromString(body)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        for span in scope.spans:
                            self.spans.append(
                                {
                                    "name": span.name,
                                    "kind": span.kind,
                                    "trace_id": span.trace_id.hex(),
                                    "span_id": span.span_id.hex(),
                                    "parent_span_id": span.parent_span_id.hex(),
                                    "service": next(
                                        (
                                            a.value.string_value
                                            for a in resource.resource.attributes
                                            if a.key == "service.name"
                                        ),
                                        "",
                                    ),
                                }
                            )
                answer = ExportTraceServiceResponse().SerializeToString()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
                    + f"Content-Length: {len(answer)}\r\n\r\n".encode()
                    + answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def scrape(port: int) -> dict[str, float]:
    """The service's /metrics, as `name{labels}` -> value."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


async def trace(args: argparse.Namespace, codec: Codec, service: Service) -> dict[str, Any]:
    """An event with a W3C traceparent and CloudEvents headers in, with tracing on (OTLP
    to a collector here): what came out, what /metrics says, which spans arrived."""
    cid = f"trace-{uuid.uuid4()}"
    trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    sent = {
        "traceparent": f"00-{trace_id}-{parent}-01",
        "ce_specversion": "1.0",
        "ce_id": str(uuid.uuid4()),
        "ce_source": "/payments",
        "ce_type": "payments.PaymentAuthorized.v1",
        "ce_time": "2026-01-01T00:00:00Z",
    }
    client = CLIENTS[args.broker](
        args.url, args.input_channel, args.output_channel, codec.codec.CONTENT_TYPE
    )
    async with Collector() as collector:
        service.start(
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.port}",
                "OTEL_BSP_SCHEDULE_DELAY": "100",
            }
        )
        await service.ready()
        async with client as (publish, received):
            await publish([(codec.encode_input(0), cid)], sent)
            out: dict[str, str] = {}

            async def first() -> None:
                nonlocal out
                async for _, got, headers in received():
                    if got == cid:  # as each broker carries it (RabbitMQ: a property)
                        out = {**headers, "correlation_id": got}
                        return

            await asyncio.wait_for(first(), args.timeout)
        metrics = scrape(service.health_port)
        # its last spans are exported on the way out: the collector must go on answering
        code, seconds = await asyncio.to_thread(service.stop)
        for _ in range(50):
            if any(s["trace_id"] == trace_id for s in collector.spans):
                break
            await asyncio.sleep(0.1)
    log_lines = [line for line in service.log.read_text().splitlines() if line.strip()]
    return {
        "sent": {**sent, "correlation_id": cid, "trace_id": trace_id, "span_id": parent},
        "received": out,
        "metrics": {
            key: value
            for key, value in metrics.items()
            if key.startswith("events_")
            and (args.input_channel in key or args.output_channel in key)
        },
        "spans": [s for s in collector.spans if s["trace_id"] == trace_id],
        "log_lines": len(log_lines),
        "json_log_lines": sum(1 for line in log_lines if _is_json_object(line)),
        "exit_code": code,
        "stop_seconds": round(seconds, 2),
    }


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def add_service_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every driver takes: the generated repo and its flow on the broker."""
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["roundtrip", "at-least-once", "trace"])
    add_service_arguments(parser)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args()
    scenarios = {"roundtrip": roundtrip, "at-least-once": at_least_once, "trace": trace}
    run_scenario(args, scenarios[args.scenario])


def run_scenario(
    args: argparse.Namespace,
    scenario: Callable[[argparse.Namespace, Codec, Service], Awaitable[dict[str, Any]]],
) -> None:
    """Run `scenario` against the generated service the arguments name, print its
    result as JSON, and never leave the service running."""
    repo = Path(args.repo)
    codec = Codec(repo, args.package, args.input_event, args.output_event)
    service = Service(repo, args.package, args.url)
    try:
        result = asyncio.run(scenario(args, codec, service))
    finally:
        if service.process is not None and service.process.poll() is None:
            service.process.kill()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
