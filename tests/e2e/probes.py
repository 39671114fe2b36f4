"""Drive a generated service's health probes and shutdown on a real broker.

Runs inside the generated repository's virtual environment, like driver.py (whose
plain clients and codec it uses), and prints one JSON document of what it saw:

1. The service starts behind a gate: a TCP proxy to the broker that accepts
   connections but forwards nothing yet. Liveness answers, readiness says 503.
2. The gate opens: readiness turns 204 once the broker connection is up.
3. (Not Kafka, whose client goes on to the brokers' advertised addresses after
   bootstrap and so past the gate.) The gate cuts every connection: readiness
   turns 503; it opens again: readiness comes back.
4. One event goes in while every handler is slowed down (a wrapper around
   Service.react, put in place before `python -m PACKAGE` runs); SIGTERM comes while
   it is being handled: readiness turns 503 at once, the event it causes still comes
   out, and the process exits 0.

    probes.py --repo DIR --broker B --url URL --package P --input-event E
        --input-channel C --output-event F --output-channel D
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from driver import CLIENTS, Codec, add_service_arguments

#: How long the slowed handler takes: SIGTERM comes in the middle of it.
SLOW_SECONDS = 3.0
LAUNCH = """
import asyncio, runpy, sys
from {package} import service

react = service.Service.react


async def slow_react(*args, **kwargs):
    print("handling an event", flush=True)
    await asyncio.sleep({slow})
    return await react(*args, **kwargs)


service.Service.react = slow_react
sys.argv = ["{package}"]
runpy.run_module("{package}", run_name="__main__", alter_sys=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Gate:
    """A TCP proxy to the broker that holds new connections while shut, pipes them
    once open, and can cut every connection it carries."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.is_open = asyncio.Event()
        self.writers: list[asyncio.StreamWriter] = []
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        await self.is_open.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers.append(up_writer)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def open(self) -> None:
        self.is_open.set()

    def cut(self) -> None:
        """Shut, and drop every connection carried so far."""
        self.is_open.clear()
        for writer in self.writers:
            transport = writer.transport
            if transport is not None:
                transport.abort()
        self.writers.clear()


def through(url: str, port: int) -> tuple[str, tuple[str, int]]:
    """The broker URL pointed at the gate, and the broker's own address."""
    parts = urlsplit(url if "://" in url else f"kafka://{url}")
    host, target_port = parts.hostname or "127.0.0.1", parts.port or 0
    gated = url.replace(f"{host}:{target_port}", f"127.0.0.1:{port}", 1)
    return gated, (host, target_port)


async def probe(port: int, path: str) -> int | None:
    """The status of GET http://127.0.0.1:PORT/PATH; None when nothing answers."""

    def get() -> int | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                return int(r.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            return None

    return await asyncio.to_thread(get)


async def until(port: int, path: str, status: int, timeout: float) -> float:
    """Poll until the probe answers `status`; how long it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await probe(port, path) == status:
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    raise SystemExit(f"{path} did not answer {status} within {timeout}s")


async def scenario(args: argparse.Namespace, codec: Codec) -> dict[str, Any]:
    repo = Path(args.repo)
    gate = Gate(through(args.url, 0)[1])
    await gate.start()
    gated_url, _ = through(args.url, gate.port)
    health = free_port()
    log_path = repo / "probes.log"
    env = {
        **os.environ,
        "BROKER_URL": gated_url,
        "HEALTH_PORT": str(health),
        "PYTHONUNBUFFERED": "1",
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCH.format(package=args.package, slow=SLOW_SECONDS)],
            cwd=repo,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    result: dict[str, Any] = {}
    try:
        await until(health, "/health/live", 204, 30)
        # the gate holds the connection: the service is alive but not ready
        await asyncio.sleep(3)
        result["ready_before_connect"] = await probe(health, "/health/ready")
        result["live_before_connect"] = await probe(health, "/health/live")
        gate.open()
        result["seconds_to_ready"] = round(await until(health, "/health/ready", 204, 60), 2)
        if args.broker != "kafka":
            gate.cut()
            result["seconds_to_not_ready_after_loss"] = round(
                await until(health, "/health/ready", 503, 30), 2
            )
            gate.open()
            result["seconds_to_ready_again"] = round(
                await until(health, "/health/ready", 204, 60), 2
            )
        cid = f"probes-{uuid.uuid4()}"
        client = CLIENTS[args.broker](
            args.url, args.input_channel, args.output_channel, codec.codec.CONTENT_TYPE
        )
        async with client as (publish, received):
            await publish([(codec.encode_input(0), cid)])
            started = time.monotonic()
            while b"handling an event" not in log_path.read_bytes():
                if time.monotonic() - started > 60 or process.poll() is not None:
                    raise SystemExit("the event was not taken:\n" + log_path.read_text()[-3000:])
                await asyncio.sleep(0.05)
            stop_started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)
            result["ready_while_stopping"] = await probe(health, "/health/ready")
            body = b""

            async def first() -> None:
                nonlocal body
                async for body_, got, _headers in received():
                    if got == cid:
                        body = body_
                        return

            await asyncio.wait_for(first(), 60)
            result["output_after_sigterm"] = codec.decode_output(body)
            result["input"] = json.loads(json.dumps(codec.input.model_dump(mode="json")))
        code = await asyncio.to_thread(process.wait, 30)
        result["exit_code"] = code
        result["stop_seconds"] = round(time.monotonic() - stop_started, 2)
        result["slow_seconds"] = SLOW_SECONDS
        result["log"] = log_path.read_text()[-2000:]
    finally:
        if process.poll() is None:
            process.kill()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    add_service_arguments(parser)
    args = parser.parse_args()
    codec = Codec(Path(args.repo), args.package, args.input_event, args.output_event)
    print(json.dumps(asyncio.run(scenario(args, codec))))


if __name__ == "__main__":
    main()
