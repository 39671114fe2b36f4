"""`evtgen new service --asyncapi` on documents shaped as people write them: the
Streetlights example of the AsyncAPI 3 specification (transcribed here), and a shop's
checkout with camelCase fields, a Python keyword as a field name, parameterised and
MQTT-style addresses.

What a document means on the wire is checked on the wire: the generated services are
installed, run against the real brokers (slow, brokers) and their messages read with
the broker's plain client.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from asyncapi_parser import assert_valid_asyncapi
from conftest import ROOT, run_evtgen
from generated import fresh_venv, run_in

from evtgen.asyncapi import load_asyncapi
from evtgen.fieldtypes import FieldType
from evtgen.loader import ModelError, load_model
from evtgen.model import Field, Model
from evtgen.view_document import message_components

DRIVER = ROOT / "tests" / "e2e" / "driver.py"

# The Streetlights example (AsyncAPI 3.0, its Kafka flavour), transcribed: camelCase
# (`sentAt`), parameterised addresses, one message on two channels, traits, bindings.
STREETLIGHTS = """\
asyncapi: 3.0.0
info:
  title: Streetlights Kafka API
  version: 1.0.0
  description: The Smartylighting Streetlights API allows you to remotely manage the city lights.
  license:
    name: Apache 2.0
    url: https://www.apache.org/licenses/LICENSE-2.0
defaultContentType: application/json
servers:
  scram-connections:
    host: test.mykafkacluster.org:18092
    protocol: kafka-secure
    description: Test broker secured with scramSha256
    security:
      - $ref: '#/components/securitySchemes/saslScram'
channels:
  lightingMeasured:
    address: smartylighting.streetlights.1.0.event.{streetlightId}.lighting.measured
    messages:
      lightMeasured:
        $ref: '#/components/messages/lightMeasured'
    description: The topic on which measured values may be produced and consumed.
    parameters:
      streetlightId:
        $ref: '#/components/parameters/streetlightId'
  lightTurnOn:
    address: smartylighting.streetlights.1.0.action.{streetlightId}.turn.on
    messages:
      turnOn:
        $ref: '#/components/messages/turnOnOff'
    parameters:
      streetlightId:
        $ref: '#/components/parameters/streetlightId'
  lightTurnOff:
    address: smartylighting.streetlights.1.0.action.{streetlightId}.turn.off
    messages:
      turnOff:
        $ref: '#/components/messages/turnOnOff'
    parameters:
      streetlightId:
        $ref: '#/components/parameters/streetlightId'
  lightsDim:
    address: smartylighting.streetlights.1.0.action.{streetlightId}.dim
    messages:
      dimLight:
        $ref: '#/components/messages/dimLight'
    parameters:
      streetlightId:
        $ref: '#/components/parameters/streetlightId'
operations:
  receiveLightMeasurement:
    action: receive
    channel:
      $ref: '#/channels/lightingMeasured'
    summary: Inform about environmental lighting conditions of a particular streetlight.
    traits:
      - $ref: '#/components/operationTraits/kafka'
    messages:
      - $ref: '#/channels/lightingMeasured/messages/lightMeasured'
  turnOn:
    action: send
    channel:
      $ref: '#/channels/lightTurnOn'
    traits:
      - $ref: '#/components/operationTraits/kafka'
    messages:
      - $ref: '#/channels/lightTurnOn/messages/turnOn'
  turnOff:
    action: send
    channel:
      $ref: '#/channels/lightTurnOff'
    traits:
      - $ref: '#/components/operationTraits/kafka'
    messages:
      - $ref: '#/channels/lightTurnOff/messages/turnOff'
  dimLight:
    action: send
    channel:
      $ref: '#/channels/lightsDim'
    traits:
      - $ref: '#/components/operationTraits/kafka'
    messages:
      - $ref: '#/channels/lightsDim/messages/dimLight'
components:
  messages:
    lightMeasured:
      name: lightMeasured
      title: Light measured
      summary: Inform about environmental lighting conditions of a particular streetlight.
      contentType: application/json
      traits:
        - $ref: '#/components/messageTraits/commonHeaders'
      payload:
        $ref: '#/components/schemas/lightMeasuredPayload'
    turnOnOff:
      name: turnOnOff
      title: Turn on/off
      summary: Command a particular streetlight to turn the lights on or off.
      traits:
        - $ref: '#/components/messageTraits/commonHeaders'
      payload:
        $ref: '#/components/schemas/turnOnOffPayload'
    dimLight:
      name: dimLight
      title: Dim light
      summary: Command a particular streetlight to dim the lights.
      traits:
        - $ref: '#/components/messageTraits/commonHeaders'
      payload:
        $ref: '#/components/schemas/dimLightPayload'
  schemas:
    lightMeasuredPayload:
      type: object
      properties:
        lumens:
          type: integer
          minimum: 0
          description: Light intensity measured in lumens.
        sentAt:
          $ref: '#/components/schemas/sentAt'
    turnOnOffPayload:
      type: object
      properties:
        command:
          type: string
          enum:
            - 'on'
            - 'off'
          description: Whether to turn on or off the light.
        sentAt:
          $ref: '#/components/schemas/sentAt'
    dimLightPayload:
      type: object
      properties:
        percentage:
          type: integer
          description: Percentage to which the light should be dimmed to.
          minimum: 0
          maximum: 100
        sentAt:
          $ref: '#/components/schemas/sentAt'
    sentAt:
      type: string
      format: date-time
      description: Date and time when the message was sent.
  securitySchemes:
    saslScram:
      type: scramSha256
      description: Provide your username and password for SASL/SCRAM authentication
  parameters:
    streetlightId:
      description: The ID of the streetlight.
  messageTraits:
    commonHeaders:
      headers:
        type: object
        properties:
          my-app-header:
            type: integer
            minimum: 0
            maximum: 100
  operationTraits:
    kafka:
      bindings:
        kafka:
          clientId:
            type: string
            enum:
              - my-app-id
"""

# The one edit that makes Streetlights a service with fixed channels: which streetlight.
ONE_STREETLIGHT = STREETLIGHTS.replace(
    "      description: The ID of the streetlight.\n",
    "      description: The ID of the streetlight.\n      default: '@LIGHT@'\n",
)

# A shop's checkout: camelCase, a keyword (`from`) and a pydantic name (`schema`) as
# field names, a parameter fixed by a one-value enum, an MQTT-style reply address.
CHECKOUT = """\
asyncapi: 3.0.0
info:
  title: Checkout
  version: 2.1.0
  description: Asks for the payment of every order placed.
channels:
  orderPlaced:
    address: shop.{region}.orders.placed
    parameters:
      region:
        description: The shop's region.
        enum: ['@REGION@']
    messages:
      orderPlaced:
        $ref: '#/components/messages/orderPlaced'
  paymentRequested:
    address: shop/{region}/payments/requested
    parameters:
      region:
        default: '@REGION@'
    messages:
      paymentRequested:
        $ref: '#/components/messages/paymentRequested'
operations:
  onOrderPlaced:
    action: receive
    channel:
      $ref: '#/channels/orderPlaced'
    reply:
      channel:
        $ref: '#/channels/paymentRequested'
components:
  messages:
    orderPlaced:
      name: OrderPlaced
      payload:
        type: object
        additionalProperties: false
        required: [orderId, customerId, totalAmount, from, placedAt]
        properties:
          orderId: {type: string, format: uuid}
          customerId: {type: string}
          totalAmount: {type: number}
          from: {type: string, description: The sales channel.}
          placedAt: {type: string, format: date-time}
    paymentRequested:
      name: PaymentRequested
      payload:
        type: object
        additionalProperties: false
        required: [orderId, totalAmount, from]
        properties:
          orderId: {type: string, format: uuid}
          totalAmount: {type: number}
          from: {type: string}
          schema: {type: string, default: v2}
"""


def write(tmp_path: Path, text: str, name: str = "doc.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def wire(model: Model, event: str) -> list[tuple[str, str]]:
    """(name on the wire, Python attribute) of each field of `event`."""
    return [(f.name, f.attr) for f in model.event(event).fields]


def fields(model: Model, event: str) -> dict[str, Field]:
    return {f.name: f for f in model.event(event).fields}


def test_the_documents_here_are_valid_asyncapi_by_the_real_parser(tmp_path: Path) -> None:
    documents = [
        write(tmp_path, STREETLIGHTS, "streetlights.yaml"),
        write(tmp_path, ONE_STREETLIGHT.replace("@LIGHT@", "42"), "one-streetlight.yaml"),
        write(tmp_path, CHECKOUT.replace("@REGION@", "eu"), "checkout.yaml"),
    ]
    assert_valid_asyncapi(*documents)


# -- Streetlights ----------------------------------------------------------------------


def test_streetlights_as_published_imports_with_its_parameter(tmp_path: Path) -> None:
    """Each channel keeps {streetlightId}; no payload carries it, so each event gets a
    field of that name (a string), said once per channel at its address."""
    path = write(tmp_path, STREETLIGHTS)
    imported = load_asyncapi(path, service="streetlights")
    channels = {e.name: e.channel for e in imported.model.events}
    assert channels == {
        "LightMeasured": "smartylighting.streetlights.1.0.event.{streetlightId}.lighting.measured",
        "LightTurnOn": "smartylighting.streetlights.1.0.action.{streetlightId}.turn.on",
        "LightTurnOff": "smartylighting.streetlights.1.0.action.{streetlightId}.turn.off",
        "DimLight": "smartylighting.streetlights.1.0.action.{streetlightId}.dim",
    }
    for event in imported.model.events:
        (parameter,) = event.parameters
        assert (parameter.name, parameter.type.kind) == ("streetlightId", "string")
        assert parameter.doc == "The ID of the streetlight."
    lines = STREETLIGHTS.splitlines()
    addresses = [i + 1 for i, line in enumerate(lines) if line.strip().startswith("address:")]
    said = [str(w) for w in imported.warnings if "parameter {streetlightId}" in str(w)]
    assert [int(w.split(":")[1]) for w in said] == addresses
    assert all("the event gets a field streetlightId (string)" in w for w in said)


def test_streetlights_with_one_streetlight_becomes_a_service(tmp_path: Path) -> None:
    path = write(tmp_path, ONE_STREETLIGHT.replace("@LIGHT@", "42"))
    imported = load_asyncapi(path, service="streetlights")
    model = imported.model
    channels = {e.name: e.channel for e in model.events}
    assert channels == {
        "LightMeasured": "smartylighting.streetlights.1.0.event.42.lighting.measured",
        # turnOnOff is on two channels: an event per channel, named after it
        "LightTurnOn": "smartylighting.streetlights.1.0.action.42.turn.on",
        "LightTurnOff": "smartylighting.streetlights.1.0.action.42.turn.off",
        "DimLight": "smartylighting.streetlights.1.0.action.42.dim",
    }
    # camelCase stays on the wire; the Python attribute is snake_case
    assert wire(model, "LightMeasured") == [("lumens", "lumens"), ("sentAt", "sent_at")]
    assert fields(model, "DimLight")["sentAt"].type.kind == "timestamp"
    assert fields(model, "LightTurnOn")["command"].type.symbols == ("on", "off")
    assert {p.when for p in model.policies} == {"LightMeasured"}
    assert {c.name for c in model.commands} >= {"TurnOn", "TurnOff", "DimLightCommand"}
    assert imported.broker == "kafka"  # kafka-secure
    said = "\n".join(w.message for w in imported.warnings)
    assert (
        "address 'smartylighting.streetlights.1.0.event.{streetlightId}.lighting.measured' "
        "is the fixed channel 'smartylighting.streetlights.1.0.event.42.lighting.measured'"
    ) in said
    assert "streetlightId=42" in said


def test_streetlights_contract_writes_its_shared_message_once_and_reads_back(
    tmp_path: Path,
) -> None:
    """turnOnOff is on two channels (two events): the generated asyncapi.yaml has it
    once, under its own key, referenced by both channels; the security scheme its
    server refers to is kept; the real parser takes it and it reads back."""
    path = write(tmp_path, STREETLIGHTS)
    imported = load_asyncapi(path, service="streetlights").model
    repo = tmp_path / "streetlights"
    done = run_evtgen(
        "new", "service", "streetlights", "--asyncapi", path, "--dest", repo, "--defaults",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    generated = repo / "schemas" / "asyncapi.yaml"
    assert_valid_asyncapi(generated)
    text = generated.read_text()
    assert text.count("\n    turnOnOff:\n") == 1  # the key, once (YAML would keep the last)
    document = yaml.safe_load(text)
    assert list(document["components"]["messages"]) == ["lightMeasured", "turnOnOff", "dimLight"]
    assert document["components"]["messages"]["turnOnOff"]["name"] == "turnOnOff"
    channels = document["channels"]
    for channel, message in (("lightTurnOn", "turnOn"), ("lightTurnOff", "turnOff")):
        assert channels[channel]["messages"] == {
            message: {"$ref": "#/components/messages/turnOnOff"}
        }
    assert document["components"]["securitySchemes"] == {
        "saslScram": {
            "type": "scramSha256",
            "description": "Provide your username and password for SASL/SCRAM authentication",
        }
    }
    again = load_asyncapi(generated, service="streetlights")
    assert again.model.events == imported.events
    assert again.model == load_model(repo / "model.yaml", service="streetlights")
    # and the document generated from the read-back one is the same document
    twice = tmp_path / "twice"
    done = run_evtgen(
        "new", "service", "streetlights", "--asyncapi", generated, "--dest", twice, "--defaults",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    assert (twice / "schemas" / "asyncapi.yaml").read_text() == text


def test_a_shared_message_whose_events_differ_gets_a_key_per_event(tmp_path: Path) -> None:
    """An event of a shared message edited apart (here: another field) is no longer
    that message: it gets a component of its own, its name, and still reads back."""
    path = write(tmp_path, STREETLIGHTS)
    imported = load_asyncapi(path, service="streetlights")
    model = imported.model
    events = tuple(
        replace(e, fields=(*e.fields, Field("reason", FieldType("string"))))
        if e.name == "LightTurnOff"
        else e
        for e in model.events
    )
    edited = replace(model, events=events)
    keys = {e: message_components(edited)[e][0] for e in ("LightTurnOn", "LightTurnOff")}
    assert keys == {"LightTurnOn": "turnOnOff", "LightTurnOff": "LightTurnOff"}
    assert message_components(model)["LightTurnOff"] == ("turnOnOff", "LightTurnOn", True)


def test_mqtt_style_addresses_become_dotted_channels(tmp_path: Path) -> None:
    mqtt = ONE_STREETLIGHT.replace("@LIGHT@", "7").replace(
        "smartylighting.streetlights.1.0.", "smartylighting/streetlights/1/0/"
    )
    imported = load_asyncapi(write(tmp_path, mqtt), service="streetlights")
    assert imported.model.event("DimLight").channel == (
        "smartylighting.streetlights.1.0.action.7.dim"
    )
    assert any("('/' separates levels" in w.message for w in imported.warnings)


# -- the shop's checkout -----------------------------------------------------------------


def test_checkout_keeps_every_wire_name(tmp_path: Path) -> None:
    path = write(tmp_path, CHECKOUT.replace("@REGION@", "eu"))
    model = load_asyncapi(path, service="checkout").model
    assert wire(model, "OrderPlaced") == [
        ("orderId", "order_id"),
        ("customerId", "customer_id"),
        ("totalAmount", "total_amount"),
        ("from", "from_"),
        ("placedAt", "placed_at"),
    ]
    assert wire(model, "PaymentRequested")[-1] == ("schema", "schema_")
    assert model.event("OrderPlaced").channel == "shop.eu.orders.placed"
    assert model.event("PaymentRequested").channel == "shop.eu.payments.requested"
    (command,) = model.commands
    assert command.emits == ("PaymentRequested",)


@pytest.mark.parametrize("schema_format", ["avro", "jsonschema"])
def test_generated_files_agree_on_the_wire_names_and_read_back(
    schema_format: str, tmp_path: Path
) -> None:
    path = write(tmp_path, CHECKOUT.replace("@REGION@", "eu"))
    repo = tmp_path / "checkout"
    done = run_evtgen(
        "new", "service", "checkout", "--asyncapi", path, "--dest", repo,
        "--broker", "nats", "--schema-format", schema_format, "--defaults",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    names = ["orderId", "customerId", "totalAmount", "from", "placedAt"]
    if schema_format == "avro":
        schema = json.loads((repo / "schemas" / "OrderPlaced.avsc").read_text())
        assert [f["name"] for f in schema["fields"]] == names
    else:
        schema = json.loads((repo / "schemas" / "OrderPlaced.schema.json").read_text())
        assert sorted(schema["properties"]) == sorted(names)
        assert sorted(schema["required"]) == sorted(names)
    messages = (repo / "src" / "checkout" / "messages.py").read_text()
    assert 'order_id: UUID = Field(alias="orderId")' in messages
    assert 'from_: str = Field(alias="from")' in messages
    assert 'schema_: str = Field(alias="schema", default="v2")' in messages
    # model.yaml keeps the wire names, and the generated asyncapi.yaml reads back into it
    model = load_model(repo / "model.yaml", service="checkout")
    assert wire(model, "OrderPlaced")[0] == ("orderId", "order_id")
    again = load_asyncapi(repo / "schemas" / "asyncapi.yaml", service="checkout")
    assert again.model == model


# -- what stays refused ------------------------------------------------------------------


def test_a_channel_of_several_messages_is_refused_with_how_to_split_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        asyncapi: 3.0.0
        info: {title: Users, version: 1.0.0}
        channels:
          users:
            address: users.events
            messages:
              userSignedUp: {payload: {type: object, properties: {userId: {type: string}}}}
              userLeft: {payload: {type: object, properties: {userId: {type: string}}}}
        """,
    )
    with pytest.raises(ModelError) as refused:
        load_asyncapi(path, service="users")
    (problem,) = refused.value.problems
    assert problem.line == 4
    assert problem.message.startswith("channel users carries 2 messages (userSignedUp, userLeft)")
    assert problem.message.endswith("e.g. users.events.user-signed-up, users.events.user-left")


def test_a_one_of_payload_is_refused_as_several_messages(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        asyncapi: 3.0.0
        info: {title: Pay, version: 1.0.0}
        channels:
          paid:
            address: payments.paid
            messages:
              paid:
                payload:
                  oneOf:
                    - {type: object, properties: {card: {type: string}}}
                    - {type: object, properties: {iban: {type: string}}}
        """,
    )
    with pytest.raises(ModelError) as refused:
        load_asyncapi(path, service="pay")
    (problem,) = refused.value.problems
    assert problem.line == 9
    assert "is one of several schemas (oneOf): an event has one schema" in problem.message


def things(tmp_path: Path, parameters: str) -> Path:
    return write(
        tmp_path,
        "asyncapi: 3.0.0\ninfo: {title: T, version: 1.0.0}\nchannels:\n  things:\n"
        "    address: things.{id}\n" + parameters + "    messages:\n"
        "      thing: {payload: {type: object, properties: {a: {type: string}}}}\n",
    )


def test_an_undeclared_parameter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as refused:
        load_asyncapi(things(tmp_path, ""), service="things")
    (problem,) = refused.value.problems
    expected = "parameter {id} of address 'things.{id}' is not in its parameters"
    assert (problem.line, problem.message.split(": ", 1)[1][: len(expected)]) == (5, expected)


def test_a_parameter_of_several_values_in_no_payload_field_becomes_an_enum_field(
    tmp_path: Path,
) -> None:
    path = things(tmp_path, "    parameters: {id: {enum: [a, b]}}\n")
    (event,) = load_asyncapi(path, service="things").model.events
    assert event.channel == "things.{id}"
    (parameter,) = event.parameters
    assert (parameter.name, parameter.type.kind, parameter.type.symbols) == (
        "id",
        "enum",
        ("a", "b"),
    )


def test_a_wire_name_no_avro_field_can_have_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        asyncapi: 3.0.0
        info: {title: T, version: 1.0.0}
        channels:
          things:
            address: things
            messages:
              thing:
                payload:
                  type: object
                  properties:
                    '@type': {type: string}
        """,
    )
    with pytest.raises(ModelError) as refused:
        load_asyncapi(path, service="things")
    (problem,) = refused.value.problems
    assert problem.line == 11
    assert "field name '@type' of message thing must be letters, digits and '_'" in (
        problem.message
    )


# -- on the real brokers -----------------------------------------------------------------


def broker_url(broker: str) -> str:
    url = os.environ.get(f"BROKER_URL_{broker.upper()}")
    if not url:
        pytest.fail(
            f"BROKER_URL_{broker.upper()} is not set: start the brokers with "
            "`scripts/brokers.sh up` (scripts/test.sh does), or deselect with -m 'not brokers'"
        )
    return url


def own_checks_pass(repo: Path, bin_dir: Path, broker: str) -> None:
    """The repo's own tests, its real-broker ones included, ruff and mypy."""
    result = run_in(
        repo, bin_dir, "pytest", "-p", "no:cacheprovider", "-rs",
        extra_env={"BROKER_URL": broker_url(broker)},
    )  # fmt: skip
    assert result.code == 0, result.output
    summary = result.output.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and "skipped" not in summary, summary
    for check in (("ruff", "check", "."), ("mypy",)):
        outcome = run_in(repo, bin_dir, *check)
        assert outcome.code == 0, f"{outcome.command}:\n{outcome.output}"


@pytest.mark.slow
@pytest.mark.brokers
@pytest.mark.broker_names  # the consumer group is the document's service name
@pytest.mark.parametrize(
    ("broker", "schema_format"), [("nats", "jsonschema"), ("rabbitmq", "avro"), ("kafka", "avro")]
)
def test_checkout_answers_an_order_with_camel_case_on_the_wire(
    broker: str, schema_format: str, tmp_path: Path
) -> None:
    region = f"r{uuid.uuid4().hex[:8]}"  # channels of this run only
    path = write(tmp_path, CHECKOUT.replace("@REGION@", region))
    repo = tmp_path / "checkout"
    done = run_evtgen(
        "new", "service", "checkout", "--asyncapi", path, "--dest", repo,
        "--broker", broker, "--schema-format", schema_format, "--defaults",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    bin_dir = fresh_venv(repo)
    own_checks_pass(repo, bin_dir, broker)
    driven = subprocess.run(
        [
            str(bin_dir / "python"), str(DRIVER), "roundtrip", "--repo", str(repo),
            "--broker", broker, "--url", broker_url(broker), "--package", "checkout",
            "--input-event", "OrderPlaced", "--input-channel", f"shop.{region}.orders.placed",
            "--output-event", "PaymentRequested",
            "--output-channel", f"shop.{region}.payments.requested", "--timeout", "90",
        ],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert driven.returncode == 0, driven.stdout + driven.stderr
    result: dict[str, Any] = json.loads(driven.stdout.strip().splitlines()[-1])
    sent = result["input"]  # the sample order, by its Python names
    # read from the broker with the schema files alone: the document's names
    assert result["output"] == {
        "orderId": sent["order_id"],
        "totalAmount": sent["total_amount"],
        "from": sent["from_"],
        "schema": "v2",
    }
    assert result["exit_code"] == 0


@pytest.mark.slow
@pytest.mark.brokers
@pytest.mark.broker_names  # tests/models/parameters.yaml's topic pattern matches its topic
def test_streetlights_service_runs_on_kafka(tmp_path: Path) -> None:
    light = f"l{uuid.uuid4().hex[:8]}"
    path = write(tmp_path, ONE_STREETLIGHT.replace("@LIGHT@", light))
    repo = tmp_path / "streetlights"
    done = run_evtgen(
        "new", "service", "streetlights", "--asyncapi", path, "--dest", repo, "--defaults",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    answers = (repo / ".copier-answers.yml").read_text()
    assert "broker: kafka" in answers  # the document's servers say kafka-secure
    own_checks_pass(repo, fresh_venv(repo), "kafka")
