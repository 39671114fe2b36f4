"""`evtgen new service NAME --asyncapi FILE`: AsyncAPI 3.0 documents into the model.

The documents in tests/asyncapi/ were written by hand from the AsyncAPI 3.0 spec and
pass the real parser (@asyncapi/parser); those in unsupported/ are valid AsyncAPI
that the model cannot express, those in malformed/ are not valid AsyncAPI 3. Each
refused document marks the line its error must name with `# refused`.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from asyncapi_parser import assert_valid_asyncapi
from conftest import ROOT, run_evtgen
from generated import fresh_venv, run_in
from hypothesis import HealthCheck, assume, given, settings
from test_generated_fuzz import models

from evtgen.asyncapi import load_asyncapi
from evtgen.commands.new import NewServiceRequest, new_service
from evtgen.fieldtypes import FieldType
from evtgen.loader import ModelError, load_model, parse_model
from evtgen.model import NO_DEFAULT, Field, Model

DOCS = ROOT / "tests" / "asyncapi"
MODELS = ROOT / "tests" / "models"
SAMPLE = ROOT / "generator" / "evtgen" / "data" / "sample-model.yaml"
GOOD = [
    "kafka-avro.yaml",
    "amqp-jsonschema.yaml",
    "request-reply.json",
    # value objects, maps and floats (issue 19), refused before
    "avro-float.yaml",
    "avro-map.yaml",
    "nested-object.yaml",
    "nested-payloads.yaml",
    "all-of-records.yaml",
    "inventory-wording.yaml",
]
REFUSED = sorted(
    str(p.relative_to(DOCS)) for d in ("unsupported", "malformed") for p in (DOCS / d).glob("*")
)


def fields(model: Model, event: str) -> dict[str, Field]:
    return {f.name: f for f in model.event(event).fields}


def messages(problems: list[Any]) -> list[str]:
    return [f"{Path(p.file).name}:{p.line}: {p.message}" for p in problems]


def marked_line(path: Path) -> int:
    lines = path.read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if re.search(r"[^`]# refused", line))


# -- documents of several shapes -------------------------------------------------


def test_kafka_avro_document_inline_and_from_a_file() -> None:
    imported = load_asyncapi(DOCS / "kafka-avro.yaml", service="accounts")
    model = imported.model
    assert model.description == "Opens an account for every user who signs up, and announces it."
    assert [(e.name, e.channel, e.external) for e in model.events] == [
        ("UserSignedUp", "users.user-signed-up.v1", True),
        ("AccountOpened", "accounts.account-opened.v1", False),
    ]
    # the payload in user-signed-up.avsc, beside the document
    signed_up = fields(model, "UserSignedUp")
    assert {n: f.type for n, f in signed_up.items()} == {
        "user_id": FieldType("uuid"),
        "email": FieldType("string"),
        "age": FieldType("int", optional=True),
        "newsletter": FieldType("boolean"),
        "score": FieldType("double"),
        "visits": FieldType("long"),
    }
    assert signed_up["newsletter"].default is False
    assert signed_up["age"].default is NO_DEFAULT  # null-first union: optional, no default
    assert model.event("UserSignedUp").doc == "A user signed up."
    # the inline record: logical types, enum, array, defaults, doc
    opened = fields(model, "AccountOpened")
    assert opened["plan"].type == FieldType("enum", symbols=("FREE", "PRO"))
    assert opened["plan"].default == "FREE"
    assert opened["opened_at"].type == FieldType("timestamp")
    assert opened["credit"].type == FieldType("decimal")
    assert opened["tags"].type == FieldType("list", items=FieldType("string"))
    assert opened["tags"].default == []
    assert opened["referrer"].type == FieldType("string", optional=True)
    assert opened["referrer"].doc == "Who referred the user, if anyone."
    # the flow: receive -> policy and command; send -> command that emits it
    assert [(p.name, p.when, p.then) for p in model.policies] == [
        ("WhenUserSignedUp", "UserSignedUp", "OnUserSignedUp")
    ]
    assert [(c.name, c.aggregate, c.emits) for c in model.commands] == [
        ("OnUserSignedUp", "Accounts", ()),
        ("OpenAccount", "Accounts", ("AccountOpened",)),
    ]
    assert model.command("OpenAccount").fields == model.event("AccountOpened").fields
    assert model.aggregates[0].id_field.name == "id"
    # what is not kept is named, with its line
    assert messages(imported.warnings) == [
        "kafka-avro.yaml:8: servers are only described: the broker is kafka (their protocol); "
        "schemas/asyncapi.yaml keeps them, and a generated service takes its broker's address "
        "from BROKER_URL",
        "kafka-avro.yaml:19: channel userSignedUp: its bindings (kafka) are not kept: "
        "evtgen's topology per broker is fixed (docs/asyncapi.md)",
        "kafka-avro.yaml:54: message UserSignedUp: its bindings (kafka) are not kept: "
        "evtgen's topology per broker is fixed (docs/asyncapi.md)",
        "user-signed-up.avsc:4: Avro record UserSignedUp: namespace 'com.example.users' "
        "becomes 'accounts.events'",
        "kafka-avro.yaml:71: Avro record AccountOpened: namespace 'com.example.accounts' "
        "becomes 'accounts.events'",
        "kafka-avro.yaml:79: field plan of message AccountOpened: Avro enum Plan becomes "
        "AccountOpened_plan (evtgen names enums after their event and field)",
        "kafka-avro.yaml:37: operation onUserSignedUp: its bindings (kafka) are not kept: "
        "evtgen's topology per broker is fixed (docs/asyncapi.md)",
    ]


def test_amqp_json_schema_document_through_component_refs() -> None:
    imported = load_asyncapi(DOCS / "amqp-jsonschema.yaml", service="shipping")
    model = imported.model
    assert [(e.name, e.channel, e.external) for e in model.events] == [
        ("OrderPaid", "payments.order-paid.v1", True),  # the channel is a components $ref
        ("ShipmentDispatched", "shipping.shipment-dispatched.v1", False),
    ]
    paid = fields(model, "OrderPaid")
    assert {n: f.type for n, f in paid.items()} == {
        "order_id": FieldType("uuid"),
        "amount": FieldType("decimal"),  # a $ref to components/schemas/Money
        "items": FieldType("list", items=FieldType("string")),
        "paid_at": FieldType("timestamp", optional=True),  # type: [string, 'null']
        "express": FieldType("boolean"),
    }
    assert (paid["express"].default, paid["express"].doc) == (
        False,
        "Ship by the fastest carrier.",
    )
    assert model.event("OrderPaid").doc == "An order was paid."
    dispatched = fields(model, "ShipmentDispatched")
    assert {n: f.type for n, f in dispatched.items()} == {
        "order_id": FieldType("uuid"),
        "carrier": FieldType("enum", symbols=("DHL", "UPS", "POST")),
        "parcels": FieldType("int"),  # integer within int32
        "weight_kg": FieldType("double"),
        "tracking": FieldType("list", optional=True, items=FieldType("long")),
        "note": FieldType("string", optional=True),  # anyOf [string, null]
    }
    assert dispatched["note"].doc == "Anything the carrier should know."
    assert [(c.name, c.emits) for c in model.commands] == [
        ("ShipPaidOrder", ()),
        ("DispatchShipment", ("ShipmentDispatched",)),
    ]
    assert [(p.when, p.then) for p in model.policies] == [("OrderPaid", "ShipPaidOrder")]
    warned = messages(imported.warnings)
    assert (
        "amqp-jsonschema.yaml:120: field tracking of message ShipmentDispatched is not "
        "required and has no default: read as optional (evtgen sends null for a value it "
        "does not have)"
    ) in warned
    assert sum("bindings (amqp) are not kept" in w for w in warned) == 4


def test_request_reply_the_reply_is_what_the_command_emits() -> None:
    model = load_asyncapi(DOCS / "request-reply.json", service="pricing").model
    external = {e.name: e.external for e in model.events}
    assert external == {
        "QuoteRequested": True,
        "QuoteGiven": False,  # the reply this service sends
        "RateRequested": False,
        "RateGiven": True,  # the reply this service receives
    }
    assert [(c.name, c.emits) for c in model.commands] == [
        ("GiveQuote", ("QuoteGiven",)),
        ("RequestRate", ("RateRequested",)),
        ("HandleRateGiven", ()),
    ]
    assert [(p.name, p.when, p.then) for p in model.policies] == [
        ("WhenQuoteRequested", "QuoteRequested", "GiveQuote"),
        ("WhenRateGiven", "RateGiven", "HandleRateGiven"),
    ]
    assert fields(model, "QuoteGiven")["price"].type == FieldType("decimal", optional=True)
    assert fields(model, "QuoteRequested")["quantity"].type == FieldType("int")  # int32


# -- refused documents ------------------------------------------------------------

EXPECTED = {
    "unsupported/avro-union.yaml": "is a union ['string', 'long'] (only a type with null",
    "unsupported/field-name-not-a-name.yaml": "field name 'user-id' of message UserSignedUp "
    "must be letters, digits and '_', not starting with a digit",
    "unsupported/one-of.yaml": "field method of message Paid uses oneOf",
    "unsupported/parameterised-address.yaml": "channel lightMeasured: address "
    "'lights.light-{lightId}.measured': each parameter must be a whole level between dots",
    "unsupported/protobuf.yaml": "schemaFormat 'application/vnd.google.protobuf;version=3' "
    "of message UserSignedUp is not supported",
    "unsupported/remote-ref.yaml": "$ref to http://127.0.0.1:9/users/user-signed-up.json: "
    "cannot fetch it",
    "unsupported/two-messages.yaml": "channel users carries 2 messages (UserSignedUp, UserLeft)",
    "malformed/asyncapi-1.yaml": "evtgen reads AsyncAPI 3.x and 2.0 to 2.6 documents",
    "malformed/dangling-ref.yaml": "$ref '#/components/messages/UserSignedUp' points at nothing",
    "malformed/no-action.yaml": "operation onUserSignedUp needs action: send or receive",
    "malformed/yaml-syntax.yaml": "YAML/JSON syntax error",
}


def test_every_refused_document_has_an_expectation() -> None:
    assert sorted(EXPECTED) == REFUSED


@pytest.mark.parametrize("name", REFUSED)
def test_refused_documents_name_the_line_and_write_nothing(name: str, tmp_path: Path) -> None:
    path = DOCS / name
    done = run_evtgen(
        "new", "service", "users", "--asyncapi", path, "--dest", tmp_path / "users", "--defaults"
    )
    assert done.code == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if "warning" not in line]
    assert errors == [f"{path}:{marked_line(path)}: {errors[0].split(': ', 1)[1]}"]
    assert EXPECTED[name] in errors[0]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "users").exists()


def test_documents_are_valid_asyncapi_by_the_real_parser() -> None:
    # remote-ref.yaml is valid too, but the parser would fetch its remote $ref
    valid = [DOCS / n for n in GOOD] + [
        p for p in sorted((DOCS / "unsupported").glob("*.yaml")) if p.name != "remote-ref.yaml"
    ]
    assert_valid_asyncapi(*valid)


# -- documents of any shape: the model's own checks, with the document's lines --------


def one_channel(tmp_path: Path, payload: str, action: str = "receive") -> Path:
    """A document of one channel and one operation; `payload` is its message's payload
    as YAML lines, the line to be named marked `# refused`."""
    head = textwrap.dedent(
        """\
        asyncapi: 3.0.0
        info: {title: Things, version: 1.0.0}
        channels:
          things:
            address: things.thing.v1
            messages:
              Thing:
                payload:
        """
    )
    tail = f"operations:\n  op: {{action: {action}, channel: {{$ref: '#/channels/things'}}}}\n"
    text = head + textwrap.indent(textwrap.dedent(payload), " " * 10) + tail
    path = tmp_path / "doc.yaml"
    path.write_text(text)
    return path


def test_a_default_that_does_not_fit_its_type_is_refused(tmp_path: Path) -> None:
    path = one_channel(
        tmp_path,
        """\
        type: object
        properties:
          n: {type: integer, default: x}  # refused
        """,
    )
    with pytest.raises(ModelError) as refused:
        load_asyncapi(path, service="things")
    assert messages(refused.value.problems) == [
        f"doc.yaml:{marked_line(path)}: default 'x' of field n of message Thing is not a valid long"
    ]


def test_names_python_cannot_use_are_kept_on_the_wire(tmp_path: Path) -> None:
    path = one_channel(
        tmp_path,
        """\
        type: object
        required: [schema, from, sentAt]
        properties:
          schema: {type: string}
          from: {type: string}
          sentAt: {type: string, format: date-time}
        """,
    )
    model = load_asyncapi(path, service="things").model
    assert [(f.name, f.attr) for f in model.event("Thing").fields] == [
        ("schema", "schema_"),
        ("from", "from_"),
        ("sentAt", "sent_at"),
    ]


def test_field_names_that_become_one_python_name_are_refused(tmp_path: Path) -> None:
    path = one_channel(
        tmp_path,
        """\
        type: object
        required: [userId, user_id]
        properties:
          userId: {type: string}
          user_id: {type: string}  # refused
        """,
    )
    with pytest.raises(ModelError) as refused:
        load_asyncapi(path, service="things")
    assert messages(refused.value.problems) == [
        f"doc.yaml:{marked_line(path)}: field names 'userId' and 'user_id' of message Thing "
        "both become 'user_id' in Python; rename one"
    ]


def test_an_open_payload_and_dropped_constraints_are_warnings(tmp_path: Path) -> None:
    path = one_channel(
        tmp_path,
        """\
        type: object
        required: [email]
        properties:
          email: {type: string, format: email, maxLength: 80}
        """,
        action="send",
    )
    imported = load_asyncapi(path, service="things")
    assert fields(imported.model, "Thing")["email"].type == FieldType("string")
    assert [w.message for w in imported.warnings] == [
        "payload of message Thing is open (additionalProperties is not false): evtgen's "
        "schemas are closed, so a producer sending more fields fails its contract tests",
        "field email of message Thing: format 'email' is not kept (a string)",
        "field email of message Thing: maxLength is not kept",
    ]
    assert imported.model.commands[0].emits == ("Thing",)


def test_all_of_one_schema_and_annotations_is_that_schema(tmp_path: Path) -> None:
    path = one_channel(
        tmp_path,
        """\
        type: object
        additionalProperties: false
        required: [comment_id]
        properties:
          comment_id:
            allOf:
              - {type: string, format: uuid, description: an id}
              - {description: The comment that was liked.}
          both:
            allOf:  # refused
              - {type: string}
              - {type: integer}
        """,
    )
    with pytest.raises(ModelError) as refused:
        load_asyncapi(path, service="things")
    assert messages(refused.value.problems) == [
        f"doc.yaml:{marked_line(path)}: field both of message Thing uses allOf, which the "
        "model cannot express (a field has one type)"
    ]
    path.write_text(re.sub(r"(?s)\n *both:.*(?=\noperations)", "", path.read_text()))
    comment_id = fields(load_asyncapi(path, service="things").model, "Thing")["comment_id"]
    assert comment_id == Field("comment_id", FieldType("uuid"), doc="The comment that was liked.")


def test_refs_into_another_file_beside_the_document(tmp_path: Path) -> None:
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "schemas.yaml").write_text(
        textwrap.dedent(
            """\
            Ids:
              comment_id: {type: string, format: uuid}
            Liked:
              type: object
              additionalProperties: false
              required: [comment_id]
              properties:
                comment_id: {$ref: '#/Ids/comment_id'}
                by: {$ref: '#/Missing'}
            """
        )
    )
    path = one_channel(tmp_path, "$ref: 'common/schemas.yaml#/Liked'\n")
    with pytest.raises(ModelError) as refused:
        load_asyncapi(path, service="things")
    assert messages(refused.value.problems) == [
        "schemas.yaml:9: $ref '#/Missing' points at nothing in schemas.yaml"
    ]
    schemas = tmp_path / "common" / "schemas.yaml"
    schemas.write_text(schemas.read_text().replace("    by: {$ref: '#/Missing'}\n", ""))
    model = load_asyncapi(path, service="things").model
    assert fields(model, "Thing") == {"comment_id": Field("comment_id", FieldType("uuid"))}


def test_yaml_is_read_as_yaml_1_2(tmp_path: Path) -> None:
    """`on`/`off` are strings and `1e-7` a number in YAML 1.2 (PyYAML reads YAML 1.1)."""
    path = one_channel(
        tmp_path,
        """\
        type: object
        additionalProperties: false
        required: [switch]
        properties:
          switch: {type: string, enum: [on, off]}
          ratio: {type: number, default: 1e-7}
        """,
    )
    thing = fields(load_asyncapi(path, service="things").model, "Thing")
    assert thing["switch"].type == FieldType("enum", symbols=("on", "off"))
    assert thing["ratio"].default == 1e-7


def test_a_message_on_two_channels_is_an_event_per_channel(tmp_path: Path) -> None:
    path = tmp_path / "lights.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            asyncapi: 3.0.0
            info: {title: Lights, version: 1.0.0}
            channels:
              lightTurnOn:
                address: lights.turn-on.v1
                messages:
                  turnOnOff: {$ref: '#/components/messages/turnOnOff'}
              lightTurnOff:
                address: lights.turn-off.v1
                messages:
                  turnOnOff: {$ref: '#/components/messages/turnOnOff'}
            operations:
              turnOn: {action: receive, channel: {$ref: '#/channels/lightTurnOn'}}
              turnOff: {action: receive, channel: {$ref: '#/channels/lightTurnOff'}}
            components:
              messages:
                turnOnOff:
                  payload:
                    type: object
                    additionalProperties: false
                    required: [light_id]
                    properties: {light_id: {type: integer}}
            """
        )
    )
    imported = load_asyncapi(path, service="lights")
    model = imported.model
    assert [(e.name, e.channel) for e in model.events] == [
        ("LightTurnOn", "lights.turn-on.v1"),
        ("LightTurnOff", "lights.turn-off.v1"),
    ]
    assert [(p.when, p.then) for p in model.policies] == [
        ("LightTurnOn", "TurnOn"),
        ("LightTurnOff", "TurnOff"),
    ]
    assert messages(imported.warnings) == [
        "lights.yaml:7: message turnOnOff is on more than one channel: on this one it is "
        "event LightTurnOn, named after the channel",
        "lights.yaml:11: message turnOnOff is on more than one channel: on this one it is "
        "event LightTurnOff, named after the channel",
    ]


# -- the CLI -------------------------------------------------------------------------


def test_model_and_asyncapi_together_are_refused(tmp_path: Path) -> None:
    done = run_evtgen(
        "new", "service", "accounts", "--model", SAMPLE, "--asyncapi", DOCS / "kafka-avro.yaml",
        "--dest", tmp_path / "x", "--defaults",
    )  # fmt: skip
    assert done.code == 2
    assert done.stderr.strip() == (
        "evtgen: error: --model and --asyncapi both describe the service; give one of them"
    )
    assert not (tmp_path / "x").exists()


def test_a_missing_document_is_refused(tmp_path: Path) -> None:
    done = run_evtgen("new", "service", "accounts", "--asyncapi", tmp_path / "no.yaml")
    assert done.code == 2
    assert "AsyncAPI document" in done.stderr and "does not exist" in done.stderr


def test_the_document_chooses_broker_and_schema_format_unless_told(tmp_path: Path) -> None:
    document = DOCS / "amqp-jsonschema.yaml"
    done = run_evtgen(
        "new", "service", "shipping", "--asyncapi", document,
        "--dest", tmp_path / "a", "--defaults", "--json",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    answers = json.loads(done.stdout)["answers"]
    assert (answers["broker"], answers["schema_format"]) == ("rabbitmq", "jsonschema")
    told = run_evtgen(
        "new", "service", "shipping", "--asyncapi", document, "--schema-format", "avro",
        "--dest", tmp_path / "b", "--defaults", "--json",
    )  # fmt: skip
    assert told.code == 0, told.stderr
    report = json.loads(told.stdout)
    assert report["answers"]["schema_format"] == "avro"
    assert (
        f"{document}: the document says schema format jsonschema, --schema-format says "
        "avro: the service follows --schema-format"
    ) in report["warnings"]


def test_cli_creates_the_service_and_reports_what_it_did_not_keep(tmp_path: Path) -> None:
    dest = tmp_path / "accounts"
    done = run_evtgen(
        "new", "service", "accounts", "--asyncapi", DOCS / "kafka-avro.yaml",
        "--dest", dest, "--defaults", "--json",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert len(report["warnings"]) == 7
    assert all(f"evtgen: warning: {w}" in done.stderr for w in report["warnings"])
    written = yaml.safe_load((dest / "model.yaml").read_text())
    assert [e["name"] for e in written["events"]] == ["UserSignedUp", "AccountOpened"]
    assert (dest / "schemas" / "AccountOpened.avsc").is_file()


# -- round trip: model -> generated asyncapi.yaml -> the same model ---------------------


def generate(model_path: Path, service: str, dest: Path, schema_format: str) -> Path:
    new_service(
        NewServiceRequest(
            name=service,
            dest=dest,
            model=model_path,
            schema_format=schema_format,
            defaults=True,
        )
    )
    return dest / "schemas" / "asyncapi.yaml"


@pytest.mark.parametrize("schema_format", ["avro", "jsonschema"])
@pytest.mark.parametrize(
    ("model_path", "service"),
    [
        (SAMPLE, "orders"),
        (MODELS / "rich.yaml", "fulfilment"),
        (MODELS / "minimal.yaml", "counter"),
        (MODELS / "rejections.yaml", "payments"),  # commands with a rejected event
    ],
    ids=["sample", "rich", "minimal", "rejections"],
)
def test_round_trip_gives_the_same_model(
    model_path: Path, service: str, schema_format: str, tmp_path: Path
) -> None:
    model = load_model(model_path, service=service)
    document = generate(model_path, service, tmp_path / service, schema_format)
    imported = load_asyncapi(document, service=service)
    assert imported.model == model
    # nothing evtgen wrote is lost; only the servers, whose address is BROKER_URL's
    assert [w.message.split(":")[0] for w in imported.warnings] == ["servers are only described"]
    # and the service generated from the document is the one generated from the model
    again = tmp_path / "again"
    new_service(
        NewServiceRequest(
            name=service, dest=again, asyncapi=document, schema_format=schema_format, defaults=True
        )
    )
    # the same model, and the same view recorded; model.yaml is the model's canonical
    # form here, the team's file as written there (the import has no file of its own)
    first = tmp_path / service
    assert load_model(again / "model.yaml") == load_model(first / "model.yaml") == model
    recorded = [yaml.safe_load((r / ".copier-answers.yml").read_text()) for r in (again, first)]
    assert recorded[0]["model"] == recorded[1]["model"]


def test_operations_edited_after_generation_are_named(tmp_path: Path) -> None:
    document = generate(SAMPLE, "orders", tmp_path / "orders", "jsonschema")
    text = document.read_text()
    start = text.index("  receivePaymentAuthorized:")
    end = text.index("components:")
    document.write_text(text[:start] + text[end:])
    imported = load_asyncapi(document, service="orders")
    assert imported.model == load_model(SAMPLE, service="orders")
    assert (
        "the operations send or receive other events than x-evtgen-commands and "
        "x-evtgen-policies say: the service follows the x-evtgen-* flow"
    ) in [w.message for w in imported.warnings]


@pytest.mark.parametrize("schema_format", ["avro", "jsonschema"])
def test_round_trip_of_strings_yaml_versions_read_apart(schema_format: str, tmp_path: Path) -> None:
    """evtgen's documents are written by PyYAML (YAML 1.1), which leaves `1e5` unquoted:
    they are read back as YAML 1.1, so the string stays a string."""
    model_file = tmp_path / "model.yaml"
    model_file.write_text(
        textwrap.dedent(
            """\
            service: codes
            events:
              - name: Coded
                fields:
                  code: {type: string, default: "1e5"}
                  state: {type: enum, symbols: ["on", "off"], default: "off"}
            """
        )
    )
    document = generate(model_file, "codes", tmp_path / "codes", schema_format)
    assert "default: 1e5" in document.read_text()
    assert load_asyncapi(document, service="codes").model == load_model(model_file)


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=models())
def test_round_trip_of_random_models(document: dict[str, Any], tmp_path: Path) -> None:
    text = yaml.safe_dump(document, sort_keys=False)
    try:
        model = parse_model(text, "fuzzed.yaml")
    except ModelError:
        assume(False)  # a draft the model itself refuses
        return
    model_file = tmp_path / f"model-{abs(hash(text))}.yaml"
    model_file.write_text(text)
    for schema_format in ("avro", "jsonschema"):
        dest = tmp_path / f"{model_file.stem}-{schema_format}"
        imported = load_asyncapi(
            generate(model_file, "fuzzed", dest, schema_format), service="fuzzed"
        )
        assert imported.model == model


# -- generated services from imported documents: their own checks pass ------------------

SERVICES = [
    ("kafka-avro.yaml", "accounts", "kafka", "avro"),
    ("amqp-jsonschema.yaml", "shipping", "rabbitmq", "jsonschema"),
    ("request-reply.json", "pricing", "nats", "jsonschema"),
]


@pytest.mark.slow
@pytest.mark.broker_names
@pytest.mark.parametrize(
    ("document", "service", "broker", "schema_format"), SERVICES, ids=[s[0] for s in SERVICES]
)
def test_services_from_documents_pass_their_own_checks(
    document: str, service: str, broker: str, schema_format: str, tmp_path: Path
) -> None:
    repo = tmp_path / service
    done = run_evtgen(
        "new", "service", service, "--asyncapi", DOCS / document, "--dest", repo,
        "--broker", broker, "--schema-format", schema_format, "--defaults",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    bin_dir = fresh_venv(repo)
    url = os.environ.get(f"BROKER_URL_{broker.upper()}")
    result = run_in(
        repo, bin_dir, "pytest", "-p", "no:cacheprovider", "-rs",
        extra_env={"BROKER_URL": url} if url else None,
    )  # fmt: skip
    assert result.code == 0, result.output
    summary = result.output.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary, summary
    skipped = [line for line in result.output.splitlines() if line.startswith("SKIPPED")]
    if url:
        assert not skipped, result.output
    for check in (("ruff", "check", "."), ("mypy",)):
        outcome = run_in(repo, bin_dir, *check)
        assert outcome.code == 0, f"{outcome.command}:\n{outcome.output}"
    # the repo's own asyncapi.yaml reads back into the model it was generated from
    imported = load_asyncapi(repo / "schemas" / "asyncapi.yaml", service=service)
    assert imported.model == load_model(repo / "model.yaml", service=service)
