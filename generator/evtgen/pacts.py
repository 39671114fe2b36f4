"""Consumer-driven contracts (docs/system.md): the Pact V4 message pacts a consumer's
tests write (`pacts/<consumer>-<producer>.json`, by the generated tests/test_pacts.py),
verified against the producer with pact-python's Verifier (the Pact FFI), offline.

The producer's side of each interaction is what its model says it sends: the event's
sample in JSON form (the type table's sample values, the ones the consumer's
tests/samples.py holds too) and the CloudEvents headers its envelope (the `envelope`
message trait of its `schemas/asyncapi.yaml`) declares. Pact's matching rules, written
by the consumer, decide: a field it reads that is gone or of another JSON type, or a
header it relies on that is missing or of another form, is a mismatch.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from evtgen.errors import UsageError
from evtgen.fieldtypes import RECORD, SCALARS, FieldType
from evtgen.model import Event, Model

#: Where a consumer keeps its pacts, one file per producer.
PACTS_DIR = "pacts"
#: The pact body's form, whatever the repos' wire format (Avro or JSON).
CONTENT_TYPE = "application/json"
#: What the type table's sample expressions name (fieldtypes.SCALARS).
_SAMPLE_NAMES = {"UUID": uuid.UUID, "datetime": datetime, "UTC": UTC, "Decimal": Decimal}


def description(event: Event) -> str:
    """An interaction's description: the consumer's test writes `<Event> on <channel>`."""
    return f"{event.name} on {event.channel}"


@dataclass
class PactFile:
    """One pact file of a consumer."""

    path: Path
    consumer: str
    producer: str
    #: interaction description -> the event and channel it names
    interactions: dict[str, tuple[str, str]]


def pacts_of(repo: Path) -> list[PactFile]:
    """The pacts a repo keeps; a file that is no V4 pact is bad input."""
    found = []
    for path in sorted((repo / PACTS_DIR).glob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            version = document["metadata"]["pactSpecification"]["version"]
            names = [i["description"] for i in document["interactions"]]
            consumer, producer = document["consumer"]["name"], document["provider"]["name"]
        except (ValueError, KeyError, TypeError) as err:
            raise UsageError(f"{path}: not a Pact file ({err})") from err
        if not str(version).startswith("4"):
            raise UsageError(f"{path}: a Pact {version} file; contract check reads V4 pacts")
        interactions = {}
        for name in names:
            event, _, channel = str(name).partition(" on ")
            interactions[str(name)] = (event, channel)
        found.append(PactFile(path, str(consumer), str(producer), interactions))
    return found


def _json(value: Any) -> Any:
    """A sample value in the JSON form pydantic gives it (the consumer's side)."""
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def sample(model: Model, field_type: FieldType, field_name: str) -> Any:
    """A value of the type, in JSON form: the type table's sample, as the generated
    tests' samples hold it."""
    if field_type.kind == "enum":
        return field_type.symbols[0]
    if field_type.kind in ("list", "map"):
        assert field_type.items is not None
        item = sample(model, field_type.items, field_name)
        return [item] if field_type.kind == "list" else {"key-1": item}
    if field_type.kind == RECORD:
        return body(model, model.value_type(field_type.record).fields)
    code = SCALARS[field_type.kind].sample.replace("{name}", field_name.replace("_", "-"))
    # evtgen's own table of sample expressions (literals and constructors of the names)
    return _json(eval(code, {"__builtins__": {}}, _SAMPLE_NAMES))


def body(model: Model, fields: Any) -> dict[str, Any]:
    return {f.name: sample(model, f.type, f.name) for f in fields}


def event_type(service: str, event: Event) -> str:
    """`<service>.<EventName>.v<N>`, N from the channel's `.vN` (the generated
    envelope.py's rule, which its asyncapi.yaml describes)."""
    last = event.channel.rsplit(".", 1)[-1]
    version = last if len(last) > 1 and last[0] == "v" and last[1:].isdigit() else "v1"
    return f"{service}.{event.name}.{version}"


def headers(service: str, event: Event, envelope: Any) -> dict[str, str]:
    """The CloudEvents headers the producer's envelope declares, with values of the
    forms it declares."""
    properties = (envelope or {}).get("properties") or {}
    values: dict[str, str] = {}
    for name, schema in properties.items():
        if not name.startswith("ce_") or not isinstance(schema, dict):
            continue
        if "const" in schema:
            values[name] = str(schema["const"])
        elif name == "ce_type":
            values[name] = event_type(service, event)
        elif name == "ce_source":
            values[name] = f"/{service}"
        elif schema.get("format") == "uuid":
            values[name] = str(uuid.uuid4())
        elif schema.get("format") == "date-time":
            values[name] = _json(datetime.now(UTC))
    return values


def message(model: Model, event: Event, envelope: Any) -> dict[str, Any]:
    """The producer's message for an interaction, as pact-python's Verifier takes it."""
    return {
        "contents": json.dumps(body(model, event.fields)).encode(),
        "metadata": headers(model.service, event, envelope),
        "content_type": CONTENT_TYPE,
    }


@dataclass
class Mismatch:
    description: str
    #: the body's field (`amount`, `items[0].sku`) or the header, "" for the whole message
    field: str
    message: str


@contextmanager
def _quiet() -> Iterator[None]:
    """The Pact FFI prints its report on the process's stdout (and the message
    server logs on stderr): contract check prints its own."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def verify(pact: PactFile, producer: Model, envelope: Any) -> list[Mismatch]:
    """Verify the producer against one pact: each interaction's message, as the
    producer sends it, must satisfy the consumer's expectations."""
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")  # offline: no usage ping
    try:
        from pact import Verifier
    except ImportError as err:
        raise UsageError(
            f"{pact.path} is a pact, and contract check verifies pacts with pact-python, "
            "which is not installed: pip install 'evtgen[pact]'"
        ) from err
    sent = {description(e): e for e in producer.sent_events}
    found = [
        Mismatch(name, "", f"{producer.service} sends no {event} on {channel or '?'}")
        for name, (event, channel) in pact.interactions.items()
        if name not in sent
    ]
    handlers: dict[str, Any] = {
        name: message(producer, sent[name], envelope) for name in pact.interactions if name in sent
    }
    if not handlers:
        return found
    verifier = Verifier(producer.service).message_handler(handlers).add_source(pact.path)
    with _quiet(), suppress(RuntimeError):  # raised on a failure: its results say which
        verifier.verify()
    for result in verifier.results.get("interactionResults", []):
        if result.get("description") not in handlers or result.get("result") == "OK":
            continue
        mismatches = (result.get("mismatch") or {}).get("mismatches") or [
            {"mismatch": json.dumps(result.get("mismatch"))}
        ]
        for m in mismatches:
            text = str(m.get("mismatch"))
            found.append(Mismatch(result["description"], _where(m, text), text))
    return found


def _where(mismatch: dict[str, Any], text: str) -> str:
    """The header, or the body's field, a mismatch is about: `$.amount` is `amount`,
    and a map missing keys (`$`, "... missing the following keys: a, b") names them."""
    if mismatch.get("key"):
        return str(mismatch["key"])
    path = str(mismatch.get("path", "")).removeprefix("$").lstrip(".")
    _, missing, keys = text.partition("missing the following keys: ")
    if missing:
        return ", ".join(f"{path}.{k}" if path else k for k in keys.split(", "))
    return path
