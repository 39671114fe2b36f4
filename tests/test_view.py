"""The template view: every decision made in Python, so the template stays plain."""

from __future__ import annotations

from pathlib import Path

from evtgen.fieldtypes import FieldType
from evtgen.loader import load_model, parse_model
from evtgen.templates import (
    DEFAULT_MODEL_FILE,
    bundled_template,
    default_model_text,
    sample_model_path,
)
from evtgen.view import assignable, import_block, model_view


def test_the_templates_default_model_is_the_sample_models_view() -> None:
    # plain `copier copy --defaults` and `evtgen new --defaults` must render the same
    written = (bundled_template() / DEFAULT_MODEL_FILE).read_text()
    assert written == default_model_text(), "run: python -m evtgen.templates"


def test_import_blocks_are_sorted_like_ruffs_isort() -> None:
    block = import_block(["uuid4()", "UUID", "datetime.now(UTC)", "Annotated[Decimal, Field()]"])
    assert block == (
        "from datetime import UTC, datetime\n"
        "from decimal import Decimal\n"
        "from typing import Annotated\n"
        "from uuid import UUID, uuid4\n"
        "\n"
        "from pydantic import Field"
    )


def test_names_inside_strings_and_attributes_import_nothing() -> None:
    assert import_block(['"datetime-1"', "command.datetime", "state.UUID"]) == ""


def test_a_value_fills_a_field_only_when_its_type_fits() -> None:
    assert assignable(FieldType("uuid"), FieldType("uuid", optional=True))
    assert not assignable(FieldType("uuid", optional=True), FieldType("uuid"))
    assert not assignable(FieldType("int"), FieldType("long"))
    assert assignable(
        FieldType("list", items=FieldType("string")), FieldType("list", items=FieldType("string"))
    )


def test_commands_take_their_values_from_the_command_then_the_state() -> None:
    view = model_view(load_model(sample_model_path(), service="orders"))
    place = next(c for c in view["commands"] if c["name"] == "PlaceOrder")
    assert place["creates"] and place["new_id"] == "uuid4()"
    assert place["changes"] == ["customer_id", "amount"]
    (placed,) = place["emits"]
    assert {f["name"]: f["value"] for f in placed["fields"]} == {
        "order_id": "state.order_id",
        "customer_id": "command.customer_id",
        "amount": "command.amount",
    }
    confirm = next(c for c in view["commands"] if c["name"] == "ConfirmOrder")
    assert not confirm["creates"]


def test_a_field_nobody_gives_gets_its_default_or_a_blank() -> None:
    model = parse_model(
        "service: s\n"
        "aggregates:\n  - {name: A, fields: {id: string, n: int}}\n"
        "commands:\n  - {name: C, aggregate: A, fields: {n: long}, emits: [E]}\n"
        "events:\n  - name: E\n"
        "    fields: {id: string, n: int, tag: {type: string, default: x}, at: timestamp?}\n",
        "m",
    )
    (command,) = model_view(model)["commands"]
    assert command["creates"] and command["new_id"] == "str(uuid4())"
    values = {f["name"]: f["value"] for f in command["emits"][0]["fields"]}
    # n: the command's long does not fit the event's int, the state's does
    assert values == {"id": "state.id", "n": "state.n", "tag": '"x"', "at": "None"}


def test_subscribers_and_publishers_follow_the_policies() -> None:
    view = model_view(load_model(sample_model_path(), service="orders"))
    assert view["consumed"] == [
        {
            "event": "PaymentAuthorized",
            "snake": "payment_authorized",
            "channel": "payments.payment-authorized.v1",
            "producer": None,  # external without `producer:`: no pact (tests/test_pacts.py)
            "dead_letter_channel": "payments.payment-authorized.v1.dlq",
            "policies": ["confirm_when_paid"],
            # ConfirmOrder loads the Order it names: read for a whole batch at once
            "loads": [
                {
                    "policy": "confirm_when_paid",
                    "aggregate_snake": "order",
                    "id": "order_id",
                    "id_python": "UUID",
                }
            ],
            "saga": None,
            "rejections": [],
            # in asyncapi.yaml: no document read, so evtgen's own keys
            "channel_key": "PaymentAuthorized",
            "message_key": "PaymentAuthorized",
            "component": "PaymentAuthorized",
            "channel_doc": {},
            "message_title": "PaymentAuthorized",
            "message_doc": {},
            "operation_key": "receivePaymentAuthorized",
            "operation_doc": {},
        }
    ]
    assert view["preloaded"] == ["order"]
    assert [e["event"] for e in view["emitted"]] == ["OrderPlaced", "OrderConfirmed"]
    assert view["contract"] == {"title": "Orders", "version": "0.1.0", "info": {}, "servers": None}


def test_the_model_document_reads_back_as_the_same_model() -> None:
    import io

    from ruamel.yaml import YAML

    model = load_model(sample_model_path(), service="orders")
    text = io.StringIO()
    YAML().dump(model_view(model)["source"], text)
    assert parse_model(text.getvalue(), "round-trip") == model


def test_a_command_rejected_with_an_event_builds_it_from_the_command_and_why() -> None:
    view = model_view(load_model(Path(__file__).parent / "models" / "rejections.yaml"))
    charge = next(c for c in view["commands"] if c["name"] == "ChargeOrder")
    assert charge["rejected"] == {
        "name": "PaymentDeclined",
        "snake": "payment_declined",
        "fields": [
            {"name": "order_id", "value": "command.order_id", "copied": True, "reason": False},
            {"name": "reason", "value": "reason", "copied": False, "reason": True},
            {"name": "code", "value": "402", "copied": False, "reason": False},
        ],
    }
    refund = next(c for c in view["commands"] if c["name"] == "RefundPayment")
    assert [f["value"] for f in refund["rejected"]["fields"]] == [
        "command.payment_id",
        "command.amount",
    ]
    # the handler tests refuse each such command of a subscriber's policies
    rejections = {c["event"]: c["rejections"] for c in view["consumed"]}
    assert rejections["OrderPlaced"] == [
        {
            "command": "charge_order",
            "event": "PaymentDeclined",
            "snake": "payment_declined",
            "channel": "payments.payment-declined.v1",
            "reason": "reason",
        }
    ]
    assert rejections["RefundRequested"][0]["reason"] is None
    # and a publisher for each rejection
    assert {"PaymentDeclined", "RefundRefused"} <= {e["event"] for e in view["emitted"]}
    # the domain function itself emits its success only
    assert [e["name"] for e in charge["emits"]] == ["PaymentTaken"]
