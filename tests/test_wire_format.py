"""Generated services on a real schema registry (Apicurio, REGISTRY_URL) and real
brokers: Confluent's wire format on Kafka, the schema id in a header elsewhere
(docs/registry.md, "On the wire").

- the services' own tests pass with REGISTRY_URL set, none skipped (Kafka, and
  RabbitMQ with the header form);
- interop with confluent-kafka's serializers, a writer and a reader nobody here wrote;
- evolution on the wire: a producer on v1 and a consumer on v2 (a field added with a
  default), and the reverse;
- faults: an unknown schema id is dead-lettered, an unreachable registry holds the
  service unready, a schema not registered stops it with one line.

Every repo here has channels of its own (the registry and the brokers keep what
earlier runs left), and all are installed in one virtual environment.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import REGISTRY_URL, ROOT, run_evtgen
from generated import fresh_venv, run_in, uv

pytestmark = [pytest.mark.brokers, pytest.mark.slow]
RUN = uuid.uuid4().hex[:8]
SAMPLE = (ROOT / "generator/evtgen/data/sample-model.yaml").read_text()
V1_FIELDS = "fields: {order_id: uuid, payment_id: string}"
V2_FIELDS = "fields: {order_id: uuid, payment_id: string, method: {type: string, default: card}}"
TIMEOUT = 90.0


def env_url(name: str) -> str:
    url = REGISTRY_URL if name == "REGISTRY_URL" else os.environ.get(name)
    if not url:
        pytest.fail(
            f"{name} is not set: start the brokers and the registry with "
            "`scripts/brokers.sh up kafka rabbitmq registry` (scripts/test.sh does), "
            "or deselect with -m 'not brokers'"
        )
    return url.rstrip("/")


@dataclass
class Repo:
    path: Path
    service: str
    input_channel: str

    @property
    def package(self) -> str:
        return self.service.replace("-", "_")

    @property
    def output_channel(self) -> str:
        return f"{self.service}.order-confirmed.v1"

    def schema(self, event: str, suffix: str = ".avsc") -> str:
        return (self.path / "schemas" / f"{event}{suffix}").read_text()


def generate(
    root: Path, service: str, broker: str, fmt: str, fields: str = V1_FIELDS, channel: str = ""
) -> Repo:
    channel = channel or f"payments.{service}.payment-authorized.v1"
    model = root / f"{service}.yaml"
    model.write_text(
        SAMPLE.replace("channel: payments.payment-authorized.v1", f"channel: {channel}").replace(
            V1_FIELDS, fields
        )
    )
    repo = Repo(root / service, service, channel)
    done = run_evtgen(
        "new", "service", service, "--model", model, "--defaults", "--dest", repo.path,
        "--broker", broker, "--schema-format", fmt,
    )  # fmt: skip
    assert done.code == 0, done.stderr
    return repo


@dataclass
class World:
    bin: Path
    v1: Repo  # Kafka, Avro
    v2: Repo  # Kafka, Avro, PaymentAuthorized with a field more (v2), same input channel
    json: Repo  # Kafka, JSON Schema
    rabbit: Repo  # RabbitMQ, Avro: the schema id in a header


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("wire")
    # both consume one channel: v1's producers meet v2's consumer, and the reverse
    shared = f"payments.{RUN}.payment-authorized.v1"
    v1 = generate(root, f"wire-{RUN}", "kafka", "avro", channel=shared)
    world = World(
        fresh_venv(v1.path),
        v1,
        generate(root, f"wire2-{RUN}", "kafka", "avro", V2_FIELDS, channel=shared),
        generate(root, f"wirej-{RUN}", "kafka", "jsonschema"),
        generate(root, f"wirer-{RUN}", "rabbitmq", "avro"),
    )
    env = {**os.environ, "VIRTUAL_ENV": str(v1.path / ".venv")}
    for repo in (world.v2, world.json, world.rabbit):
        done = subprocess.run(
            [uv(), "pip", "install", "-q", "-e", f"{repo.path}[test]"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
    return world


# -- the service as its own process --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    log: Path
    port: int

    def ready(self) -> int:
        try:
            url = f"http://127.0.0.1:{self.port}/health/ready"
            with urllib.request.urlopen(url, timeout=2) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    def wait_ready(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        while self.ready() != 204:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, self.log.read_text()[-3000:]
            time.sleep(0.2)


@pytest.fixture
def start(world: World, tmp_path: Path) -> Iterator[Any]:
    started: list[Running] = []

    def run(repo: Repo, **env: str) -> Running:
        log, port = tmp_path / f"{repo.service}-{len(started)}.log", free_port()
        environment = {
            **os.environ,
            "BROKER_URL": env_url("BROKER_URL_KAFKA"),
            "REGISTRY_URL": env_url("REGISTRY_URL"),
            "DATA_DIR": str(tmp_path / f"{repo.service}-{len(started)}"),
            "HEALTH_PORT": str(port),
            "LOG_FORMAT": "text",
            **env,
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(world.bin / "python"), "-m", repo.package],
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(Running(process, log, port))
        return started[-1]

    yield run
    for running in started:
        running.process.kill()
        running.process.wait()


def register(repo: Repo) -> None:
    """The repo's sent events' schemas, as its pipeline's register stage does."""
    done = run_evtgen("schema", "register", repo.path, "--registry", env_url("REGISTRY_URL"))
    assert done.code == 0, done.stdout + done.stderr


def registry_client() -> Any:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryClient({"url": env_url("REGISTRY_URL")})


def produce(topic: str, values: list[tuple[str, Any]], serializer: Any) -> None:
    """Each (correlation id, value) through a Confluent serializer onto `topic`."""
    from confluent_kafka import Producer
    from confluent_kafka.serialization import MessageField, SerializationContext

    producer = Producer({"bootstrap.servers": env_url("BROKER_URL_KAFKA")})
    for correlation_id, value in values:
        data = value
        if serializer is not None:
            data = serializer(value, SerializationContext(topic, MessageField.VALUE))
        producer.produce(topic, data, headers=[("correlation_id", correlation_id.encode())])
    assert producer.flush(30) == 0


def consume(topics: list[str], wanted: int, keep: Any) -> list[Any]:
    """Records of `topics` (from their start) that `keep` accepts, until `wanted`."""
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": env_url("BROKER_URL_KAFKA"),
            "group.id": f"wire-test-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            # a topic the service creates only when it first sends (after this
            # subscribed) is seen within a second, not at librdkafka's 5-minute refresh
            "topic.metadata.refresh.interval.ms": 1000,
        }
    )
    consumer.subscribe(topics)
    found: list[Any] = []
    deadline = time.monotonic() + TIMEOUT
    try:
        while len(found) < wanted and time.monotonic() < deadline:
            record = consumer.poll(0.5)
            if record is not None and record.error() is None and keep(record):
                found.append(record)
    finally:
        consumer.close()
    return found


def correlation(record: Any) -> str:
    return dict(record.headers() or [])["correlation_id"].decode()


def test_confluent_serdes_interop_and_evolution_both_ways_on_kafka(
    world: World, start: Any
) -> None:
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    v1, v2 = world.v1, world.v2
    register(v1)
    register(v2)
    services = [start(v1), start(v2)]
    for service in services:
        service.wait_ready()

    client = registry_client()
    writer_v1 = v1.schema("PaymentAuthorized")
    # v2 as another team writes it: the field added first, so that only schema
    # resolution (by field name) reads it right, not the bytes' luck
    parsed = json.loads(v2.schema("PaymentAuthorized"))
    parsed["fields"] = parsed["fields"][-1:] + parsed["fields"][:-1]
    writer_v2 = json.dumps(parsed)
    inputs: dict[str, str] = {}
    for version, schema in (("v1", writer_v1), ("v2", writer_v2)):
        serializer = AvroSerializer(client, schema, conf={"auto.register.schemas": True})
        batch = []
        for i in range(5):
            order_id, correlation_id = str(uuid.uuid4()), f"wire-{RUN}-{version}-{i}"
            value = {"order_id": order_id, "payment_id": f"p-{i}", "method": "transfer"}
            batch.append((correlation_id, value))
            inputs[correlation_id] = order_id
        produce(v1.input_channel, batch, serializer)
    # and one no registry knows: dead-lettered by both services, with the reason
    unknown = b"\x00" + (2**31 - 7).to_bytes(4, "big") + b"\x00"
    produce(v1.input_channel, [(f"wire-{RUN}-unknown", unknown)], None)

    outputs = consume(
        [v1.output_channel, v2.output_channel], 2 * len(inputs), lambda r: correlation(r) in inputs
    )
    deserializer = AvroDeserializer(client)
    # a consumer on v2 of the service's event: a field added with a default
    confirmed_v2 = json.loads(v1.schema("OrderConfirmed"))
    confirmed_v2["fields"].append({"name": "note", "type": "string", "default": "none"})
    reader_v2 = AvroDeserializer(client, json.dumps(confirmed_v2))
    got: dict[tuple[str, str], str] = {}
    for record in outputs:
        assert record.value()[:1] == b"\x00", record.value()[:8]
        context = SerializationContext(record.topic(), MessageField.VALUE)
        value = deserializer(record.value(), context)
        got[(record.topic(), correlation(record))] = str(value["order_id"])
        if record.topic() == v1.output_channel:
            assert reader_v2(record.value(), context) == {**value, "note": "none"}
    expected = {
        (service.output_channel, correlation_id): order_id
        for service in (v1, v2)
        for correlation_id, order_id in inputs.items()
    }
    logs = "\n".join(service.log.read_text()[-2000:] for service in services)
    assert got == expected, logs

    dead = consume(
        [f"{v1.input_channel}.dlq"], 2, lambda r: correlation(r) == f"wire-{RUN}-unknown"
    )
    reasons = [dict(r.headers())["dead_letter_reason"].decode() for r in dead]
    assert len(reasons) == 2, reasons
    for reason in reasons:
        assert f"schema id {2**31 - 7} is not in the registry" in reason, reason
    for record in dead:
        assert record.value() == unknown  # unchanged


def test_json_schema_interop_with_confluent_serdes(world: World, start: Any) -> None:
    from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    repo = world.json
    register(repo)
    start(repo).wait_ready()
    client = registry_client()
    serializer = JSONSerializer(
        repo.schema("PaymentAuthorized", ".schema.json"),
        client,
        conf={"auto.register.schemas": True},
    )
    inputs = {f"wirej-{RUN}-{i}": str(uuid.uuid4()) for i in range(5)}
    produce(
        repo.input_channel,
        [(c, {"order_id": o, "payment_id": "p"}) for c, o in inputs.items()],
        serializer,
    )
    outputs = consume([repo.output_channel], len(inputs), lambda r: correlation(r) in inputs)
    deserializer = JSONDeserializer(None, schema_registry_client=client)
    got = {}
    for record in outputs:
        assert record.value()[:1] == b"\x00"
        value = deserializer(
            record.value(), SerializationContext(record.topic(), MessageField.VALUE)
        )
        got[correlation(record)] = str(value["order_id"])
    assert got == inputs


def test_an_unreachable_registry_holds_the_service_unready_and_consuming_nothing(
    world: World, start: Any
) -> None:
    url = f"http://127.0.0.1:{free_port()}/apis/ccompat/v7"
    running = start(world.v1, REGISTRY_URL=url, REGISTRY_RETRY_SECONDS="0.5")
    time.sleep(6)
    assert running.process.poll() is None, running.log.read_text()
    assert running.ready() == 503
    log = running.log.read_text()
    lines = [line for line in log.splitlines() if "cannot reach the schema registry" in line]
    assert len(lines) == 1, log
    assert url in lines[0] and "readiness says 503" in lines[0]
    assert "started successfully" not in log and "Received" not in log, log


def test_a_schema_the_registry_lacks_stops_the_service_with_one_line(
    world: World, start: Any
) -> None:
    register(world.v1)
    # subjects by record name: none of them registered
    running = start(world.v1, REGISTRY_SUBJECT_STRATEGY="record")
    assert running.process.wait(TIMEOUT) != 0
    last = running.log.read_text().strip().splitlines()[-1]
    assert "is not registered under subject" in last, last
    assert f"'{world.v1.package}.events.Order" in last and "evtgen schema register" in last


# -- last: their crash tests leave hundreds of events on the shared input channel


def own_tests(world: World, repo: Repo, broker_url: str) -> None:
    result = run_in(
        repo.path,
        world.bin,
        "pytest",
        "-p",
        "no:cacheprovider",
        "-rs",
        extra_env={"BROKER_URL": broker_url, "REGISTRY_URL": env_url("REGISTRY_URL")},
    )
    assert result.code == 0, result.output
    assert not [line for line in result.output.splitlines() if line.startswith("SKIPPED")]
    assert "passed" in result.output.strip().splitlines()[-1]


def test_a_kafka_service_own_tests_pass_on_the_registry(world: World) -> None:
    own_tests(world, world.v1, env_url("BROKER_URL_KAFKA"))


def test_a_rabbitmq_service_own_tests_pass_with_the_schema_id_in_a_header(world: World) -> None:
    own_tests(world, world.rabbit, env_url("BROKER_URL_RABBITMQ"))
