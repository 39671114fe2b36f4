"""Benchmark: a generated Kafka service against two relays, side by side in one run.

Both sides do the same job on a real Kafka (scripts/brokers.sh up kafka): consume
`PaymentAuthorized` (Avro), produce `OrderConfirmed` (Avro) carrying the incoming
`correlation_id` header, commit the input offsets only after the output is published
(at-least-once).

- generated: `evtgen new service orders --broker kafka --schema-format avro` from the
  sample model (embedded below, channel names made unique per run), installed with uv
  into a fresh venv and run as its own process, `python -m orders`.
  Two sides run it: `sqlite` (its default database, a fresh DATA_DIR) and `postgres`
  (DATABASE_URL=--postgres, its tables dropped first). It keeps its state, outbox and
  inbox in the database: every input is a transaction's worth of rows.
- aiokafka: `_relay` below, aiokafka consumer -> fastavro decode -> build -> encode ->
  aiokafka producer, committing after each `getmany` batch once its sends are acked; run
  as its own process in the same venv, with the same .avsc files. `--relay-codec
  compiled` gives it the generated service's compiled Avro codec instead of fastavro,
  so the ratio shows what the rest of the service costs.
- faststream: `_faststream_relay` below, the same job as a team writes it on
  FastStream's public API: a batch subscriber (AckPolicy.NACK_ON_ERROR, offsets
  committed after the handler), fastavro, and a publisher whose sends are awaited
  together (`no_confirm=True`, then the futures). It keeps no state. The goal is set
  on it: the generated service on SQLite at least 0.8 of its throughput.

For each side, with fresh 1-partition topics: start the service, warm it up (a few
hundred events, not counted), then produce N events as fast as the producer goes (or at
--rate) and consume the output topic in a separate collector process. Each event's
correlation id carries its index and its CLOCK_MONOTONIC send time, so the collector
matches outputs to inputs and computes: throughput (events out / (last output received -
first event sent)), end-to-end latency p50/p99, and checks every output (order id, header).
Peak RSS is the service process's VmHWM from /proc.

Dependencies: this file needs nothing beyond the standard library to start; the
measurement parts (aiokafka, fastavro) run inside the generated repo's venv, by re-running
this same file there with a hidden sub-command (`_measure`, `_collect`, `_relay`).

    python bench/kafka_throughput.py [--events N] [--rate R] [--rounds K]
        [--side all|sqlite,postgres,faststream,aiokafka] [--postgres URL]
        [--template PATH | --service-dir DIR] [--keep] [--relay-codec fastavro|compiled]

--template generates from another Copier template (e.g. a patched copy); --service-dir
measures an existing generated repo instead (copied, its channel names replaced by this
run's). Needs uv (next to this Python, or on PATH) and Kafka on --bootstrap.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve()
SERVICE = "orders"
IN_EVENT, OUT_EVENT = "PaymentAuthorized", "OrderConfirmed"
CONTENT_TYPE = b"application/avro"
WARMUP = 300
#: The generated service on SQLite and on PostgreSQL, an idiomatic FastStream relay and
#: a plain aiokafka one.
SIDES = ["sqlite", "postgres", "faststream", "aiokafka"]
GENERATED = ("sqlite", "postgres")

SAMPLE_MODEL = THIS.parents[1] / "generator" / "evtgen" / "data" / "sample-model.yaml"
CHANNELS = {
    "OrderPlaced": "bench.{run}.orders.order-placed.v1",
    "OrderConfirmed": "bench.{run}.orders.order-confirmed.v1",
    "PaymentAuthorized": "bench.{run}.payments.payment-authorized.v1",
}


def bench_model(run: str) -> str:
    """evtgen's sample model for the service `orders`, every channel unique to this run."""
    lines = [f"service: {SERVICE}"]
    for line in SAMPLE_MODEL.read_text().splitlines():
        if re.match(r"\s*channel:", line):
            continue
        lines.append(line)
        if (m := re.match(r"(\s*)- name: (\w+)", line)) and m.group(2) in CHANNELS:
            lines.append(f"{m.group(1)}  channel: {CHANNELS[m.group(2)].format(run=run)}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------
# Driver: runs under any Python 3.11+; prepares the venv and runs `_measure` inside it.


def tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        sys.exit(f"kafka_throughput: {name} not found (next to {sys.executable} or on PATH)")
    return found


def run(command: list[str], **kwargs: Any) -> None:
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL, **kwargs)


def channels_of(model_yaml: str) -> dict[str, str]:
    """event name -> channel, from a model.yaml as evtgen writes it (no YAML library)."""
    found, name = {}, None
    for line in model_yaml.splitlines():
        if m := re.match(r"\s*-\s*name:\s*(\S+)", line):
            name = m.group(1)
        elif (m := re.match(r"\s*channel:\s*(\S+)", line)) and name:
            found[name] = m.group(1)
    return found


def prepare_service(args: argparse.Namespace, work: Path, run_id: str) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    dest = work / "service"
    if args.service_dir:
        source = Path(args.service_dir).resolve()
        shutil.copytree(
            source, dest, ignore=shutil.ignore_patterns(".venv", "__pycache__", ".*cache")
        )
        old = channels_of((source / "model.yaml").read_text())
        new = channels_of(bench_model(run_id))
        for path in (dest / "src").rglob("*.py"):
            text = path.read_text()
            for event in (IN_EVENT, OUT_EVENT):
                text = text.replace(f'"{old[event]}"', f'"{new[event]}"')
            path.write_text(text)
    else:
        model = work / "model.yaml"
        model.write_text(bench_model(run_id))
        command = [
            tool("evtgen"),
            "new",
            "service",
            SERVICE,
            "--defaults",
            "--model",
            str(model),
            "--dest",
            str(dest),
            "--broker",
            "kafka",
            "--schema-format",
            "avro",
        ]
        if args.template:
            command += ["--template", str(Path(args.template).resolve())]
        run(command, stdout=subprocess.DEVNULL)
    uv = tool("uv")
    run([uv, "venv", "-q", str(dest / ".venv")])
    run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "-p",
            str(dest / ".venv" / "bin" / "python"),
            "-e",
            f"{dest}[test]",
        ]
    )
    return dest


def kafka_answers(bootstrap: str) -> bool:
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=3).close()
        return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--events", type=int, default=100_000, help="events per side (default 100000)"
    )
    parser.add_argument(
        "--rate", type=float, default=0, help="produce at most this many events/s (0: flat out)"
    )
    parser.add_argument("--rounds", type=int, default=1, help="alternate the sides this many times")
    parser.add_argument(
        "--side",
        default="all",
        help="comma-separated: sqlite, postgres, faststream, aiokafka (default all; "
        "postgres only with --postgres)",
    )
    parser.add_argument(
        "--postgres",
        default=os.getenv("BENCH_POSTGRES_URL"),
        help="a PostgreSQL database for the `postgres` side (its tables are dropped)",
    )
    parser.add_argument("--bootstrap", default=os.getenv("BROKER_URL", "127.0.0.1:9092"))
    parser.add_argument("--template", help="generate from this Copier template instead of evtgen's")
    parser.add_argument(
        "--service-dir", help="measure this generated repo instead of generating one"
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per side and round")
    parser.add_argument(
        "--relay-codec",
        choices=["fastavro", "compiled"],
        default="fastavro",
        help="the relay's Avro: fastavro, as a hand-written relay has it (default), or the "
        "generated service's compiled codec (avro_binary.py), to see the rest apart",
    )
    parser.add_argument("--workdir", help="where to work (default: a new temporary directory)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory and the topics"
    )
    args = parser.parse_args()

    if not kafka_answers(args.bootstrap):
        sys.exit(
            f"kafka_throughput: no Kafka on {args.bootstrap} (bash scripts/brokers.sh up kafka)"
        )
    run_id = time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6]
    work = Path(args.workdir or tempfile.mkdtemp(prefix="kafka-bench-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"work directory {work}; run {run_id}; {args.events} events per side", flush=True)
    sides = SIDES if args.side == "all" else args.side.split(",")
    if not args.postgres:
        sides = [side for side in sides if side != "postgres"]
    if unknown := set(sides) - set(SIDES):
        sys.exit(f"kafka_throughput: unknown sides {sorted(unknown)}; choose from {SIDES}")
    results: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    try:
        for round_ in range(args.rounds):
            # a fresh service (and so fresh topic names) per round
            round_id = f"{run_id}r{round_}"
            started = time.perf_counter()
            service = prepare_service(args, work / f"round{round_}", round_id)
            print(
                f"round {round_ + 1}: generated and installed in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
            python = str(service / ".venv" / "bin" / "python")
            for side in sides if round_ % 2 == 0 else reversed(sides):
                print(f"[{side}] round {round_ + 1}: measuring ...", flush=True)
                output = subprocess.run(
                    [
                        python,
                        str(THIS),
                        "_measure",
                        "--side",
                        side,
                        "--service",
                        str(service),
                        "--run",
                        round_id,
                        "--events",
                        str(args.events),
                        "--rate",
                        str(args.rate),
                        "--bootstrap",
                        args.bootstrap,
                        "--timeout",
                        str(args.timeout),
                        "--log",
                        str(work / f"{side}{round_}.log"),
                        "--relay-codec",
                        args.relay_codec,
                        "--postgres",
                        args.postgres or "",
                        "--data-dir",
                        str(work / f"round{round_}" / f"data-{side}"),
                    ]
                    + (["--keep"] if args.keep else []),
                    check=True,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    text=True,
                ).stdout
                result = json.loads(output.strip().splitlines()[-1])
                results[side].append(result)
                print(f"[{side}] {line(result)}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print(
        f"{'side':<11} {'events':>7} {'out/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'peak RSS':>10}"
        f" {'CPU us/ev':>9}"
    )
    median = {}
    for side, rounds in results.items():
        for r in rounds:
            print(
                f"{side:<11} {r['received']:>7} {r['throughput']:>9.0f} {r['p50_ms']:>9.1f}"
                f" {r['p99_ms']:>9.1f} {r['peak_rss_mib']:>6.1f} MiB {r['cpu_us_per_event']:>9.0f}"
            )
        median[side] = statistics.median(r["throughput"] for r in rounds)
    for side in ("sqlite", "postgres"):
        for peer in ("faststream", "aiokafka"):
            if side in median and peer in median:
                ratio = median[side] / median[peer]
                goal = " (goal >= 0.8)" if (side, peer) == ("sqlite", "faststream") else ""
                print(f"throughput ratio {side}/{peer} = {ratio:.2f}{goal}")


def line(r: dict[str, float]) -> str:
    return (
        f"{r['received']}/{r['events']} out, {r['throughput']:.0f} events/s, "
        f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
        f"peak RSS {r['peak_rss_mib']:.1f} MiB, "
        f"service CPU {r['cpu_us_per_event']:.0f} us/event, "
        f"produced in {r['produce_s']:.2f} s, duplicates {r['duplicates']}, bad {r['bad']}"
    )


# ------------------------------------------------------------------------------------------
# Inside the generated venv (aiokafka, fastavro).


def load_schema(service: Path, event: str) -> Any:
    import fastavro

    return fastavro.schema.load_schema(str(service / "schemas" / f"{event}.avsc"))


def order_id(base: int, i: int) -> uuid.UUID:
    return uuid.UUID(int=(base << 32) | i)


def encode(schema: Any, record: dict[str, Any]) -> bytes:
    import io

    import fastavro

    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, record)
    return buffer.getvalue()


def decode(schema: Any, data: bytes | None) -> dict[str, Any]:
    import io

    import fastavro

    record = fastavro.schemaless_reader(io.BytesIO(data or b""), schema, None)
    assert isinstance(record, dict)
    return record


def vm(pid: int, key: str) -> float:
    """VmHWM/VmRSS of a process, in MiB (0 if it is gone)."""
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith(key + ":"):
                return int(row.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


async def measure(args: argparse.Namespace) -> None:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    service = Path(args.service)
    channels = channels_of(bench_model(args.run))
    env = {**os.environ, "BROKER_URL": args.bootstrap}
    if args.side in GENERATED:
        topic_in, topic_out = channels[IN_EVENT], channels[OUT_EVENT]
        command = [sys.executable, "-m", SERVICE]
        env["DATA_DIR"] = args.data_dir
        if args.side == "postgres":
            env["DATABASE_URL"] = args.postgres
            await drop_tables(args.postgres)
    else:
        topic_in, topic_out = f"bench.{args.run}.relay-in.v1", f"bench.{args.run}.relay-out.v1"
        command = [
            sys.executable,
            str(THIS),
            "_relay" if args.side == "aiokafka" else "_faststream_relay",
            "--bootstrap",
            args.bootstrap,
            "--service",
            str(service),
            "--topic-in",
            topic_in,
            "--topic-out",
            topic_out,
            "--group",
            f"bench-relay-{args.run}",
            "--codec",
            args.relay_codec,
        ]

    admin = AIOKafkaAdminClient(bootstrap_servers=args.bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(t, 1, 1) for t in (topic_in, topic_out)])

    base = uuid.uuid4().int >> 64
    in_schema = load_schema(service, IN_EVENT)
    log = open(args.log, "wb")  # noqa: SIM115
    collector = await asyncio.create_subprocess_exec(
        sys.executable,
        str(THIS),
        "_collect",
        "--bootstrap",
        args.bootstrap,
        "--topic",
        topic_out,
        "--service",
        str(service),
        "--events",
        str(args.events),
        "--warmup",
        str(WARMUP),
        "--base",
        str(base),
        "--timeout",
        str(args.timeout),
        stdout=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    if "HEALTH_PORT" not in env:  # the probes' default port may be another run's
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            env["HEALTH_PORT"] = str(probe.getsockname()[1])
    proc = subprocess.Popen(
        command,
        cwd=service,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    peak = {"rss": 0.0}

    async def watch() -> None:
        while proc.poll() is None:
            peak["rss"] = max(peak["rss"], vm(proc.pid, "VmHWM"))
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch())
    producer = AIOKafkaProducer(
        bootstrap_servers=args.bootstrap, linger_ms=5, max_batch_size=256 * 1024
    )
    await producer.start()

    async def produce(prefix: str, count: int, rate: float) -> float:
        payloads = [
            encode(in_schema, {"order_id": order_id(base, i), "payment_id": f"pay-{i}"})
            for i in range(count)
        ]
        futures = []
        start = time.monotonic()
        for i, payload in enumerate(payloads):
            if rate and i % 100 == 0 and (ahead := start + i / rate - time.monotonic()) > 0:
                await asyncio.sleep(ahead)
            correlation_id = f"{prefix}{i}:{time.monotonic_ns()}".encode()
            futures.append(
                await producer.send(
                    topic_in,
                    payload,
                    headers=[("content-type", CONTENT_TYPE), ("correlation_id", correlation_id)],
                )
            )
        await asyncio.gather(*futures)
        return time.monotonic() - start

    async def expect(what: str, timeout: float) -> str:
        try:
            assert collector.stdout is not None
            text = (await asyncio.wait_for(collector.stdout.readline(), timeout)).decode()
        except TimeoutError:
            text = ""
        if not text:
            proc.terminate()
            tail = Path(args.log).read_bytes()[-3000:].decode(errors="replace")
            sys.exit(f"no {what} from the collector in {timeout:.0f} s; service log tail:\n{tail}")
        return text

    try:
        await produce("w", WARMUP, 0)
        await expect("warm-up outputs", 120)
        rss_warm, cpu_warm = vm(proc.pid, "VmRSS"), cpu_seconds(proc.pid)
        produce_s = await produce("", args.events, args.rate)
        result = json.loads(await expect("result", args.timeout + 30))
        cpu = cpu_seconds(proc.pid) - cpu_warm
        result.update(
            produce_s=produce_s,
            rss_after_warmup_mib=rss_warm,
            cpu_us_per_event=cpu / args.events * 1e6,
            peak_rss_mib=max(peak["rss"], vm(proc.pid, "VmHWM")),
            side=args.side,
        )
    finally:
        await producer.stop()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        watcher.cancel()
        if collector.returncode is None:
            collector.kill()
        await collector.wait()
        log.close()
        if not args.keep:
            await admin.delete_topics([topic_in, topic_out])
        await admin.close()
    print(json.dumps(result))


async def collect(args: argparse.Namespace) -> None:
    """Consume the output topic; say `warm` after the warm-up, then print the result as JSON."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    warm: set[int] = set()
    sent: dict[int, int] = {}
    received: dict[int, int] = {}
    values: list[tuple[int, bytes | None, bytes | None]] = []
    duplicates = 0
    deadline = time.monotonic() + args.timeout + 120
    try:
        while len(received) < args.events and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=100)
            now = time.monotonic_ns()
            for records in batches.values():
                for record in records:
                    headers = dict(record.headers)
                    cid = headers.get("correlation_id", b"?:0").decode()
                    index, _, sent_ns = cid.partition(":")
                    if index.startswith("w"):
                        if len(warm) < args.warmup:
                            warm.add(int(index[1:]))
                            if len(warm) == args.warmup:
                                print("warm", flush=True)
                        continue
                    i = int(index)
                    if i in received:
                        duplicates += 1
                        continue
                    received[i], sent[i] = now, int(sent_ns)
                    values.append((i, record.value, headers.get("content-type")))
    finally:
        await consumer.stop()

    schema = load_schema(Path(args.service), OUT_EVENT)
    bad = sum(
        content_type != CONTENT_TYPE or decode(schema, value)["order_id"] != order_id(args.base, i)
        for i, value, content_type in values
    )
    latencies = sorted((received[i] - sent[i]) / 1e6 for i in received)
    n = len(latencies)
    span = (max(received.values()) - min(sent.values())) / 1e9 if n else float("inf")

    def pct(p: float) -> float:
        return latencies[min(n - 1, int(p * n))] if n else float("nan")

    print(
        json.dumps(
            {
                "events": args.events,
                "received": n,
                "duplicates": duplicates,
                "bad": bad,
                "seconds": span,
                "throughput": n / span,
                "p50_ms": pct(0.50),
                "p99_ms": pct(0.99),
                "max_ms": latencies[-1] if n else float("nan"),
            }
        ),
        flush=True,
    )


def fastavro_codec(in_schema: Any, out_schema: Any) -> tuple[Any, Any]:
    """Read and write as a hand-written relay does: fastavro, schemaless."""
    import io

    import fastavro

    def read(data: bytes) -> Any:
        return fastavro.schemaless_reader(io.BytesIO(data), in_schema, None)

    def write(record: dict[str, Any]) -> bytes:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, out_schema, record)
        return out.getvalue()

    return read, write


async def relay(args: argparse.Namespace) -> None:
    """The baseline: the same job on the plain client, committing after each acked batch."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    service = Path(args.service)
    in_schema, out_schema = load_schema(service, IN_EVENT), load_schema(service, OUT_EVENT)
    read, write = fastavro_codec(in_schema, out_schema)
    if args.codec == "compiled":  # the generated service's own (uuids as text both ways)
        avro_binary = importlib.import_module(f"{SERVICE}.avro_binary")
        read, write = avro_binary.reader(in_schema), avro_binary.writer(out_schema)
    consumer = AIOKafkaConsumer(
        args.topic_in,
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=args.bootstrap)
    await producer.start()
    await consumer.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200)
            futures = []
            for records in batches.values():
                for record in records:
                    correlation_id = next(
                        (v for k, v in record.headers if k == "correlation_id"), b""
                    )
                    event = read(record.value)
                    futures.append(
                        await producer.send(
                            args.topic_out,
                            write({"order_id": event["order_id"]}),
                            headers=[
                                ("content-type", CONTENT_TYPE),
                                ("correlation_id", correlation_id),
                            ],
                        )
                    )
            if futures:
                await asyncio.gather(*futures)
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()


def relay_codec(args: argparse.Namespace) -> tuple[Any, Any]:
    service = Path(args.service)
    in_schema, out_schema = load_schema(service, IN_EVENT), load_schema(service, OUT_EVENT)
    if args.codec == "compiled":  # the generated service's own (uuids as text both ways)
        avro_binary = importlib.import_module(f"{SERVICE}.avro_binary")
        return avro_binary.reader(in_schema), avro_binary.writer(out_schema)
    return fastavro_codec(in_schema, out_schema)


async def faststream_relay(args: argparse.Namespace) -> None:
    """The same job on FastStream's public API, as its docs show it, keeping no state."""
    from faststream import AckPolicy, Context, FastStream
    from faststream.kafka import KafkaBroker

    read, write = relay_codec(args)
    broker = KafkaBroker(args.bootstrap)
    publisher = broker.publisher(args.topic_out)

    @broker.subscriber(
        args.topic_in,
        group_id=args.group,
        auto_offset_reset="earliest",
        batch=True,
        max_records=2000,
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_payment(
        bodies: list[bytes],
        message: Any = Context("message"),  # noqa: B008 (FastStream's own idiom)
    ) -> None:
        futures = []
        for body, headers in zip(bodies, message.batch_headers, strict=True):
            event = read(body)
            futures.append(
                await publisher.publish(
                    write({"order_id": event["order_id"]}),
                    correlation_id=headers.get("correlation_id"),
                    headers={"content-type": CONTENT_TYPE.decode()},
                    no_confirm=True,
                )
            )
        await asyncio.gather(*futures)  # then FastStream commits the batch's offsets

    await FastStream(broker).run()


async def drop_tables(url: str) -> None:
    """An empty database for the `postgres` side: the service's tables dropped."""
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        for (name,) in await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND (tablename IN ('outbox', 'inbox', 'sagas') OR tablename LIKE 'aggregate_%')"
        ):
            await connection.execute(f'DROP TABLE IF EXISTS "{name}" CASCADE')
    finally:
        await connection.close()


def internal() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    m = sub.add_parser("_measure")
    for name in ("--side", "--service", "--run", "--bootstrap", "--log"):
        m.add_argument(name, required=True)
    m.add_argument("--events", type=int, required=True)
    m.add_argument("--rate", type=float, default=0)
    m.add_argument("--timeout", type=float, default=1800)
    m.add_argument("--keep", action="store_true")
    m.add_argument("--relay-codec", default="fastavro")
    m.add_argument("--postgres", default="")
    m.add_argument("--data-dir", required=True)
    c = sub.add_parser("_collect")
    for name in ("--bootstrap", "--topic", "--service"):
        c.add_argument(name, required=True)
    for name in ("--events", "--warmup", "--base"):
        c.add_argument(name, type=int, required=True)
    c.add_argument("--timeout", type=float, required=True)
    r = sub.add_parser("_relay")
    for name in ("--bootstrap", "--service", "--topic-in", "--topic-out", "--group"):
        r.add_argument(name, required=True)
    r.add_argument("--codec", choices=["fastavro", "compiled"], default="fastavro")
    f = sub.add_parser("_faststream_relay")
    for name in ("--bootstrap", "--service", "--topic-in", "--topic-out", "--group"):
        f.add_argument(name, required=True)
    f.add_argument("--codec", choices=["fastavro", "compiled"], default="fastavro")
    args = parser.parse_args()
    entry = {
        "_measure": measure,
        "_collect": collect,
        "_relay": relay,
        "_faststream_relay": faststream_relay,
    }[args.mode]
    asyncio.run(entry(args))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        internal()
    else:
        main()
