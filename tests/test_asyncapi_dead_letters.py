"""A generated service's dead-letter channels are part of its AsyncAPI contract.

Every channel the service consumes has its dead-letter channel `<channel>.dlq` in
`schemas/asyncapi.yaml`, marked `x-evtgen-dead-letter-of`, with a `send` operation
and a message whose payload is the source channel's and whose headers are the
envelope's and the three `dead_letter_*` ones, as the real AsyncAPI parser reads them
(tests/tools/asyncapi/dead-letters.mjs). `evtgen new service --asyncapi` reads them
back as what they are, not as events (docs/asyncapi.md).
"""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from asyncapi_parser import run_asyncapi_tool
from conftest import ROOT
from generated import fresh_venv

from evtgen.asyncapi import load_asyncapi
from evtgen.commands.new import NewServiceRequest, new_service
from evtgen.loader import load_model
from evtgen.model import Event, Model

SAMPLE = ROOT / "generator" / "evtgen" / "data" / "sample-model.yaml"
MODELS = [SAMPLE, *sorted((ROOT / "tests" / "models").glob("*.yaml"))]
BROKERS = ("kafka", "rabbitmq", "nats", "redis")
DEAD_LETTER_HEADERS = {"dead_letter_reason", "dead_letter_attempts", "dead_letter_source"}


def service_of(model_path: Path) -> str:
    """The model's `service:` (the sample has none: it takes the name it is given)."""
    found = re.search(r"^service:\s*(\S+)", model_path.read_text(), re.MULTILINE)
    return found.group(1) if found else "orders"


def generate(model_path: Path, dest: Path, broker: str, schema_format: str) -> Path:
    new_service(
        NewServiceRequest(
            name=service_of(model_path),
            dest=dest,
            model=model_path,
            broker=broker,
            schema_format=schema_format,
            defaults=True,
        )
    )
    return dest


def consumed(model: Model) -> list[Event]:
    """What the service subscribes to: events its policies react to, and the saga's
    start and replies."""
    events = list(model.consumed_events)
    if model.saga is not None:
        events += [model.event(model.saga.start), *model.saga.replies]
    return list(dict.fromkeys(events))


def parsed(*documents: Path) -> dict[str, Any]:
    """The documents as @asyncapi/parser reads them (traits applied, $refs followed)."""
    done = run_asyncapi_tool("dead-letters.mjs", *documents, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    read: dict[str, Any] = json.loads(done.stdout)
    return read


def without_parser_ids(value: Any) -> Any:
    """A parsed schema without the ids the parser gives each occurrence."""
    if isinstance(value, dict):
        return {k: without_parser_ids(v) for k, v in value.items() if k != "x-parser-schema-id"}
    if isinstance(value, list):
        return [without_parser_ids(v) for v in value]
    return value


# -- the generated document, by the real parser -----------------------------------------

# every sample model once per broker, the schema formats alternating
CASES = [
    (model, broker, ("avro", "jsonschema")[(m + b) % 2])
    for m, model in enumerate(MODELS)
    for b, broker in enumerate(BROKERS)
    # Redis streams have no wildcard: a model with channel parameters is refused there
    if not (model.stem == "parameters" and broker == "redis")
]


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Any]:
    """Each case's repo, model and parsed asyncapi.yaml, parsed in one run of node."""
    base = tmp_path_factory.mktemp("dead-letters")
    repos = {
        (model.stem, broker): generate(model, base / f"{model.stem}-{broker}", broker, fmt)
        for model, broker, fmt in CASES
    }
    read = parsed(*(repo / "schemas" / "asyncapi.yaml" for repo in repos.values()))
    return {
        case: (repo, read[str(repo / "schemas" / "asyncapi.yaml")]) for case, repo in repos.items()
    }


@pytest.mark.parametrize(
    ("model_path", "broker"),
    [(m, b) for m, b, _ in CASES],
    ids=[f"{m.stem}-{b}" for m, b, _ in CASES],
)
def test_one_dead_letter_channel_per_consumed_channel(
    model_path: Path, broker: str, documents: dict[tuple[str, str], Any]
) -> None:
    repo, doc = documents[(model_path.stem, broker)]
    model = load_model(repo / "model.yaml", service=service_of(model_path))
    channels, operations = doc["channels"], doc["operations"]
    key_of = {c["address"]: key for key, c in channels.items() if not c["deadLetterOf"]}
    dead_letters = {key: c for key, c in channels.items() if c["deadLetterOf"]}

    # exactly the consumed channels have one, at <channel>.dlq; emitted ones have none
    assert {c["deadLetterOf"]: c["address"] for c in dead_letters.values()} == {
        key_of[e.channel]: e.channel + ".dlq" for e in consumed(model)
    }
    assert len(dead_letters) == len(consumed(model))
    for key, channel in dead_letters.items():
        source = channels[channel["deadLetterOf"]]
        # the service sends to it, and only that
        on_it = [op for op in operations.values() if key in op["channels"]]
        assert [(op["action"], op["deadLetterOf"]) for op in on_it] == [
            ("send", channel["deadLetterOf"])
        ]
        # its message: the source's payload; the source's headers and the three more
        ((message,),) = [list(channel["messages"].values())]
        ((source_message,),) = [list(source["messages"].values())]
        assert message["deadLetterOf"] == channel["deadLetterOf"]
        assert without_parser_ids(message["payload"]) == without_parser_ids(
            source_message["payload"]
        )
        # (and, of a channel with parameters, the address it came on: not required)
        addressed = {"dead_letter_address"} if "{" in source["address"] else set()
        assert set(message["headers"]) == (
            set(source_message["headers"]) | DEAD_LETTER_HEADERS | addressed
        )
        assert {"ce_id", "correlation_id", "traceparent"} <= set(message["headers"])
        assert set(message["required"]) == DEAD_LETTER_HEADERS
    # the events' channels and operations are as before: no bindings, none marked
    assert all(not c["bindings"] for c in channels.values() if not c["deadLetterOf"])
    assert all(not op["deadLetterOf"] for k, op in operations.items() if "_dlq" not in k)


def kafka_topics(repo: Path) -> dict[str, Any]:
    path = repo / "deploy" / "base" / "topics.yaml"
    return {t["spec"]["topicName"]: t["spec"] for t in yaml.safe_load_all(path.read_text()) if t}


@pytest.mark.parametrize("broker", BROKERS)
def test_dead_letter_channels_are_bound_as_the_broker_keeps_them(
    broker: str, documents: dict[tuple[str, str], Any]
) -> None:
    repo, doc = documents[("sample-model", broker)]
    service = service_of(SAMPLE)
    (dead_letter,) = [c for c in doc["channels"].values() if c["deadLetterOf"]]
    address = dead_letter["address"]
    (send,) = [op for op in doc["operations"].values() if op["deadLetterOf"]]
    if broker == "kafka":
        # the topic the deploy manifests create for it: same partitions and retention
        topic = kafka_topics(repo)[address]
        assert dead_letter["bindings"] == {
            "kafka": {
                "topic": address,
                "partitions": topic["partitions"],
                "topicConfiguration": {"retention.ms": topic["config"]["retention.ms"]},
            }
        }
        assert send["bindings"] == {}
    elif broker == "rabbitmq":
        # a routing key on the exchange every channel uses, kept in the service's queue
        assert dead_letter["bindings"] == {
            "amqp": {
                "is": "routingKey",
                "exchange": {
                    "name": "events",
                    "type": "topic",
                    "durable": True,
                    "autoDelete": False,
                },
                "x-evtgen-queue": {"name": f"{service}.{address}", "durable": True},
            }
        }
        assert send["bindings"] == {"amqp": {"deliveryMode": 2, "mandatory": True}}
        app = next((repo / "src").glob("*/app.py")).read_text()
        assert 'RabbitQueue(f"{SERVICE}.{dead_letter}", durable=True' in app
    else:
        # AsyncAPI's NATS and Redis bindings have no channel fields: the address says it
        assert dead_letter["bindings"] == {} and send["bindings"] == {}
    # the README names it and says where it is documented
    readme = (repo / "README.md").read_text()
    assert f"`{address}`" in readme and "x-evtgen-dead-letter-of" in readme


@pytest.mark.slow
@pytest.mark.parametrize("broker", BROKERS)
def test_the_bindings_agree_with_faststreams_own_description_of_the_service(
    broker: str, tmp_path: Path
) -> None:
    """FastStream describes the running app's publishers itself: the dead-letter
    channel evtgen documents is the one the app's dead-letter publisher writes to,
    bound alike."""
    repo = generate(SAMPLE, tmp_path / "orders", broker, "jsonschema")
    bin_dir = fresh_venv(repo)
    script = textwrap.dedent(
        """\
        import json
        from faststream.specification import AsyncAPI
        from orders import app
        spec = AsyncAPI(app.broker, schema_version="3.0.0").to_specification()
        print(json.dumps(spec.to_jsonable(), default=str))
        """
    )
    done = subprocess.run(
        [str(bin_dir / "python"), "-c", script],
        capture_output=True,
        text=True,
        cwd=repo,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    theirs = json.loads(done.stdout)
    ours = parsed(repo / "schemas" / "asyncapi.yaml")[str(repo / "schemas" / "asyncapi.yaml")]
    (dead_letter,) = [c for c in ours["channels"].values() if c["deadLetterOf"]]
    (send,) = [op for op in ours["operations"].values() if op["deadLetterOf"]]
    address = dead_letter["address"]
    (their_channel,) = [
        (key, c) for key, c in theirs["channels"].items() if c["address"] == address
    ]
    their_key, their_bindings = their_channel[0], their_channel[1]["bindings"]
    (their_send,) = [
        op for op in theirs["operations"].values() if op["channel"]["$ref"].endswith(their_key)
    ]
    assert their_send["action"] == "send"
    if broker == "kafka":
        assert their_bindings["kafka"]["topic"] == dead_letter["bindings"]["kafka"]["topic"]
    elif broker == "rabbitmq":
        ours_amqp = {k: v for k, v in dead_letter["bindings"]["amqp"].items() if k[:2] != "x-"}
        theirs_amqp = their_bindings["amqp"]
        assert ours_amqp["is"] == theirs_amqp["is"] == "routingKey"
        assert ours_amqp["exchange"].items() <= theirs_amqp["exchange"].items()
        assert send["bindings"]["amqp"].items() <= their_send["bindings"]["amqp"].items()
    else:
        # FastStream's own (non-standard, bindingVersion "custom") subject / stream key
        field = {"nats": "subject", "redis": "channel"}[broker]
        assert their_bindings[broker][field] == address
        assert their_bindings[broker].get("method", "xadd") == "xadd"


# -- reading documents back ------------------------------------------------------------


def sample_document(tmp_path: Path, broker: str = "rabbitmq") -> Path:
    return generate(SAMPLE, tmp_path / "orders", broker, "jsonschema") / "schemas" / "asyncapi.yaml"


def warnings_of(document: Path) -> list[str]:
    imported = load_asyncapi(document, service="orders")
    assert imported.model == load_model(SAMPLE, service="orders")
    return [w.message for w in imported.warnings if not w.message.startswith("servers")]


@pytest.mark.parametrize("broker", BROKERS)
def test_dead_letter_channels_read_back_as_nothing_of_the_model(
    broker: str, tmp_path: Path
) -> None:
    assert warnings_of(sample_document(tmp_path, broker)) == []


def edited(document: Path, edit: Any) -> Path:
    doc = yaml.safe_load(document.read_text())
    edit(doc)
    document.write_text(yaml.safe_dump(doc, sort_keys=False))
    return document


def test_a_document_without_its_dead_letter_channels_reads_the_same(tmp_path: Path) -> None:
    def drop(doc: dict[str, Any]) -> None:
        doc["channels"].pop("PaymentAuthorized_dlq")
        doc["operations"].pop("sendPaymentAuthorized_dlq")

    assert warnings_of(edited(sample_document(tmp_path), drop)) == []


def test_an_unmarked_dlq_channel_beside_its_channel_is_an_event_said_so(tmp_path: Path) -> None:
    """A document evtgen did not write: `.dlq` may be a channel like any other there."""
    document = tmp_path / "payments.yaml"
    document.write_text(
        textwrap.dedent(
            """\
            asyncapi: 3.0.0
            info: {title: Payments, version: 1.0.0}
            channels:
              paid:
                address: payments.paid
                messages:
                  Paid: {payload: {type: object, additionalProperties: false,
                         properties: {id: {type: string}}, required: [id]}}
              paidFailures:
                address: payments.paid.dlq
                messages:
                  PaidFailed: {payload: {type: object, additionalProperties: false,
                               properties: {id: {type: string}}, required: [id]}}
            operations:
              onPaid: {action: receive, channel: {$ref: '#/channels/paid'}}
            """
        )
    )
    imported = load_asyncapi(document, service="payments")
    assert [e.name for e in imported.model.events] == ["Paid", "PaidFailed"]
    assert imported.model.event("PaidFailed").channel == "payments.paid.dlq"
    assert [w.message for w in imported.warnings] == [
        "channel paidFailures (payments.paid.dlq) is read as event PaidFailed, though its "
        "address is that of the dead-letter channel of paid; mark it with "
        "x-evtgen-dead-letter-of: paid if it is one"
    ]


@pytest.mark.parametrize(
    ("edit", "warning"),
    [
        (
            lambda d: d["channels"]["PaymentAuthorized_dlq"].update(address="payments.failed"),
            "channel PaymentAuthorized_dlq (x-evtgen-dead-letter-of: 'PaymentAuthorized'): "
            "the generated service dead-letters payments.payment-authorized.v1 to "
            "payments.payment-authorized.v1.dlq, not to payments.failed",
        ),
        (
            lambda d: d["channels"]["PaymentAuthorized_dlq"].update(
                {"x-evtgen-dead-letter-of": "OrderPlaced"}
            ),
            "channel PaymentAuthorized_dlq (x-evtgen-dead-letter-of: 'OrderPlaced') is not "
            "the dead-letter channel of a channel the service receives from: it is not "
            "kept; the generated service dead-letters each channel it receives from to "
            "<channel>.dlq",
        ),
        (
            lambda d: d["operations"]["sendPaymentAuthorized_dlq"].update(action="receive"),
            "operation sendPaymentAuthorized_dlq is on the dead-letter channel "
            "PaymentAuthorized_dlq, which a generated service only sends to: it is not kept",
        ),
    ],
    ids=["other-address", "not-received", "received"],
)
def test_a_marked_channel_the_service_would_not_send_to_is_named(
    edit: Any, warning: str, tmp_path: Path
) -> None:
    assert warnings_of(edited(sample_document(tmp_path), edit)) == [warning]


def test_a_dead_letter_message_among_the_components_is_no_message_on_no_channel(
    tmp_path: Path,
) -> None:
    def to_components(doc: dict[str, Any]) -> None:
        messages = doc["channels"]["PaymentAuthorized_dlq"]["messages"]
        doc["components"]["messages"]["PaymentAuthorized_dlq"] = messages["PaymentAuthorized_dlq"]
        messages["PaymentAuthorized_dlq"] = {"$ref": "#/components/messages/PaymentAuthorized_dlq"}

    assert warnings_of(edited(sample_document(tmp_path), to_components)) == []
