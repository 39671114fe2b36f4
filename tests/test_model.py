"""The model: parsed once into typed objects, every mistake reported with its line."""

from __future__ import annotations

import textwrap

import pytest

from evtgen.fieldtypes import FieldType
from evtgen.loader import ModelError, parse_model
from evtgen.model import default_channel, kebab, pascal, python_name, snake
from evtgen.templates import sample_model_path

SPEC_MODEL = """\
service: orders
description: Takes orders and confirms them once paid.
aggregates:
  - name: Order
    fields: {order_id: uuid, customer_id: string, amount: double, status: string}
commands:
  - name: PlaceOrder
    aggregate: Order
    fields: {customer_id: string, amount: double}
    emits: [OrderPlaced]
  - name: ConfirmOrder
    aggregate: Order
    fields: {order_id: uuid}
    emits: [OrderConfirmed]
events:
  - name: OrderPlaced
    fields: {order_id: uuid, customer_id: string, amount: double}
  - name: OrderConfirmed
    fields: {order_id: uuid}
  - name: PaymentAuthorized        # published by another bounded context
    external: true
    channel: payments.payment-authorized.v1
    fields: {order_id: uuid, payment_id: string}
policies:
  - name: ConfirmWhenPaid
    when: PaymentAuthorized
    then: ConfirmOrder
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ModelError) as caught:
        parse_model(textwrap.dedent(text), "m.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_spec_model_parses_into_typed_objects() -> None:
    model = parse_model(SPEC_MODEL, "orders.yaml")
    assert model.service == "orders"
    assert [a.name for a in model.aggregates] == ["Order"]
    assert model.aggregate("Order").id_field.name == "order_id"
    assert model.command("PlaceOrder").emits == ("OrderPlaced",)
    assert model.event("OrderPlaced").channel == "orders.order-placed.v1"
    assert model.event("PaymentAuthorized").channel == "payments.payment-authorized.v1"
    assert model.event("PaymentAuthorized").external
    assert [e.name for e in model.consumed_events] == ["PaymentAuthorized"]
    assert [e.name for e in model.emitted_events] == ["OrderPlaced", "OrderConfirmed"]


def test_the_sample_model_takes_the_name_it_is_created_for() -> None:
    model = parse_model(sample_model_path().read_text(), "sample", service="billing")
    assert model.service == "billing"
    assert model.event("OrderPlaced").channel == "billing.order-placed.v1"


def test_field_types_in_both_spellings() -> None:
    model = parse_model(
        """\
        service: shop
        events:
          - name: Things
            fields:
              a: string?
              b: {type: enum, symbols: [OPEN, CLOSED]}
              c: {type: list, items: long}
              d: {type: string, optional: true, default: "n/a", doc: why it exists}
              e: {type: list, items: {type: enum, symbols: [X]}}
        """.replace("        ", ""),
        "m.yaml",
    )
    fields = {f.name: f for f in model.event("Things").fields}
    assert fields["a"].type == FieldType("string", optional=True)
    assert fields["b"].type == FieldType("enum", symbols=("OPEN", "CLOSED"))
    assert fields["c"].type == FieldType("list", items=FieldType("long"))
    assert fields["d"].default == "n/a" and fields["d"].doc == "why it exists"
    assert fields["d"].type.optional
    assert fields["e"].type.items == FieldType("enum", symbols=("X",))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "service: s\nevents:\n  - name: E\n    fields: {a: strin}\n",
            "m.yaml:4: unknown type 'strin' of field a of event E",
        ),
        (
            "service: s\nevents:\n  - name: E\n    fields: {a: string}\n  - name: E\n",
            "m.yaml:5: event name 'E' is already used by an event",
        ),
        (
            "service: s\naggregates:\n  - name: A\n    fields: {id: uuid}\nevents:\n  - name: A\n",
            "m.yaml:6: event name 'A' is already used by an aggregate",
        ),
        (
            "service: s\nevents:\n  - name: E\ncommands:\n  - name: C\n    aggregate: A\n",
            "m.yaml:5: command C acts on aggregate 'A', which the model does not define",
        ),
        (
            "service: s\naggregates:\n  - {name: A, fields: {id: uuid}}\n"
            "commands:\n  - {name: C, aggregate: A, emits: [Nope]}\n",
            "m.yaml:5: command C emits 'Nope', which is not an event of the model",
        ),
        (
            "service: s\npolicies:\n  - {name: P, when: Ghost, then: C}\n",
            "m.yaml:3: policy P reacts to 'Ghost', which is not an event of the model",
        ),
        (
            "service: s\nevents:\n  - {name: E}\npolicies:\n  - {name: P, when: E, then: Ghost}\n",
            "m.yaml:5: policy P issues 'Ghost', which is not a command of the model",
        ),
        (
            "service: s\nevents:\n  - name: order_placed\n",
            "m.yaml:3: event name 'order_placed' must be PascalCase",
        ),
        (
            "service: s\nevents:\n  - name: E\n    fields: {order-id: uuid}\n",
            "m.yaml:4: field name 'order-id' of event E must be letters, digits and '_'",
        ),
        (
            "service: s\nevents:\n  - name: E\n    fields: {1st: uuid}\n",
            "m.yaml:4: field name '1st' of event E must be letters, digits and '_'",
        ),
        ("service: Orders_Svc\n", "m.yaml:1: service name 'Orders_Svc' is not lowercase"),
        (
            "service: s\nevents:\n  - name: E\n    fields: {a: {type: enum}}\n",
            "m.yaml:4: enum field a of event E needs 'symbols:'",
        ),
        (
            "service: s\nevents:\n  - name: E\n    fields: {a: {type: int, default: nope}}\n",
            "m.yaml:4: default 'nope' of field a of event E is not a valid int",
        ),
        (
            "service: s\nevents:\n  - name: E\n    colour: red\n",
            "m.yaml:4: unknown key 'colour' in an entry of events",
        ),
        (
            "service: s\nevents:\n  - {name: E, channel: 'a b'}\n",
            "m.yaml:3: channel 'a b' of event E may hold only",
        ),
        (
            "service: s\nevents:\n  - {name: E, channel: x}\n  - {name: F, channel: x}\n",
            "m.yaml:4: event F uses channel 'x', already used by E",
        ),
        ("service: s\nevents: [\n  - name: E\n", "m.yaml:3: YAML syntax error"),
        ("service: s\nservice: t\n", "m.yaml:2: YAML syntax error: found duplicate key"),
        ("- just a list\n", "m.yaml:1: the model must be a mapping"),
        (
            "service: s\naggregates:\n  - {name: A, fields: {id: uuid}}\n"
            "commands:\n  - {name: C, aggregate: A, emits: [E]}\n"
            "events:\n  - {name: E}\npolicies:\n  - {name: P, when: E, then: C}\n",
            "m.yaml:9: policy P leads back to E, the event it reacts to",
        ),
        (
            "service: s\naggregates:\n  - {name: A, fields: {tags: {type: list, items: string}}}\n",
            "m.yaml:3: aggregate A needs a field that identifies it",
        ),
        (
            "service: s\naggregates:\n  - {name: A, fields: {at: timestamp}}\n"
            "commands:\n  - {name: C, aggregate: A}\n",
            "m.yaml:5: command C creates a A, whose identity at is a timestamp",
        ),
        ("service: s\n", "m.yaml:1: the model has no aggregates and no events"),
        ("service: email\nevents:\n  - {name: E}\n", "m.yaml:1: service name 'email' would"),
        (
            "service: s\nevents:\n  - {name: Datetime}\n",
            "m.yaml:3: event name 'Datetime' becomes 'datetime' in Python",
        ),
        ("service: s\nevents: &e [*e]\n", "m.yaml:2: YAML syntax error: an alias refers to itself"),
        (
            "service: s\nevents:\n  - {name: Message}\n",
            "m.yaml:3: event name 'Message' is used by the generated code",
        ),
        (
            "service: s\naggregates:\n  - {name: Order, fields: {id: uuid}}\n"
            "commands:\n  - {name: NewOrder, aggregate: Order}\n",
            "m.yaml:5: command name 'NewOrder' becomes 'new_order' in Python, which aggregate",
        ),
        (
            "service: s\nevents:\n  - {name: HTTPRequest}\n  - {name: HttpRequest}\n",
            "m.yaml:4: event name 'HttpRequest' becomes 'http_request' in Python",
        ),
        (
            "service: s\nevents:\n  - name: E\n    fields: {userId: uuid, user_id: uuid}\n",
            "m.yaml:4: field names 'userId' and 'user_id' of event E both become 'user_id'",
        ),
        (
            "service: s\nevents:\n  - name: E\ncommands:\n  - name: C\n    aggregate: A\n"
            "aggregates:\n  - {name: A, fields: {id: uuid}}\n"
            "commands:\n",
            "m.yaml:9: YAML syntax error: found duplicate key",
        ),
        (
            "service: s\naggregates:\n  - {name: A, fields: {id: uuid}}\ncommands:\n"
            "  - {name: C, aggregate: A, rejected: Nope}\n",
            "m.yaml:5: command C is rejected with 'Nope', which is not an event of the model",
        ),
        (
            "service: s\naggregates:\n  - {name: A, fields: {id: uuid}}\ncommands:\n"
            "  - {name: C, aggregate: A, emits: [E], rejected: E}\nevents:\n  - {name: E}\n",
            "m.yaml:5: command C emits 'E' and is rejected with it",
        ),
        (
            "service: s\naggregates:\n  - {name: A, fields: {id: uuid}}\ncommands:\n"
            "  - {name: C, aggregate: A, rejected: E}\nevents:\n"
            "  - {name: E, external: true, channel: o.e.v1}\n",
            "m.yaml:5: command C is rejected with 'E', which is marked external",
        ),
        (
            "service: s\naggregates:\n  - {name: A, fields: {id: uuid}}\ncommands:\n"
            "  - name: C\n    aggregate: A\n    rejected: [E]\nevents:\n  - {name: E}\n",
            "m.yaml:7: rejected of command C must be an event's name",
        ),
    ],
)
def test_each_mistake_names_the_file_and_line(text: str, expected: str) -> None:
    found = problems(text)
    assert any(p.startswith(expected) for p in found), found


@pytest.mark.parametrize(
    ("wire", "attr"),
    [
        ("order_id", "order_id"),  # a model written before wire names: unchanged
        ("sentAt", "sent_at"),
        ("HTTPStatus", "http_status"),
        ("class", "class_"),
        ("from", "from_"),
        ("schema", "schema_"),
        ("list", "list_"),
        ("parse_obj", "parse_obj_"),
        ("model_config", "f_model_config"),
        ("_id", "id"),
    ],
)
def test_a_field_keeps_its_wire_name_and_gets_a_python_name(wire: str, attr: str) -> None:
    model = parse_model(f"service: s\nevents:\n  - name: E\n    fields: {{{wire}: string}}\n", "m")
    (field,) = model.event("E").fields
    assert (field.name, field.attr) == (wire, attr)


def test_no_field_shadows_an_attribute_of_pydantics_base_model() -> None:
    from pydantic import BaseModel

    public = [name for name in dir(BaseModel) if not name.startswith("_")]
    assert public  # the pydantic the generated services pin
    assert [name for name in public if python_name(name) == name] == []


def test_all_problems_are_reported_at_once_in_line_order() -> None:
    found = problems(
        "service: s\nevents:\n  - name: e\n    fields: {a: nope}\n"
        "policies:\n  - {name: P, when: X, then: Y}\n"
    )
    assert [p.split(":")[1] for p in found] == sorted((p.split(":")[1] for p in found), key=int)
    assert len(found) >= 4


def test_names_convert_between_cases() -> None:
    assert snake("PlaceOrder") == "place_order"
    assert snake("HTTPRequestSent") == "http_request_sent"
    assert kebab("OrderPlaced") == "order-placed"
    assert pascal("order_id") == "OrderId"
    assert default_channel("order-service", "OrderPlaced") == "order-service.order-placed.v1"


def test_an_event_on_the_dead_letter_channel_of_a_consumed_one_is_refused() -> None:
    found = problems(
        """\
        service: orders
        aggregates:
          - {name: Order, fields: {order_id: uuid}}
        commands:
          - {name: ConfirmOrder, aggregate: Order, fields: {order_id: uuid}, emits: [Failed]}
        events:
          - {name: Paid, channel: payments.paid.v1, fields: {order_id: uuid}}
          - {name: Failed, channel: payments.paid.v1.dlq, fields: {order_id: uuid}}
        policies:
          - {name: ConfirmWhenPaid, when: Paid, then: ConfirmOrder}
        """
    )
    assert found == [
        "m.yaml:8: event Failed uses channel 'payments.paid.v1.dlq', where the service "
        "dead-letters the Paid it cannot handle; choose another channel"
    ]


def test_a_saga_event_on_the_dead_letter_channel_of_its_start_is_refused() -> None:
    found = problems(
        """\
        service: fulfil
        events:
          - {name: Submitted, external: true, channel: shop.submitted.v1, fields: {order_id: uuid}}
          - {name: Done, channel: shop.submitted.v1.dlq, fields: {order_id: uuid}}
        saga:
          name: Fulfil
          start: Submitted
          completed: Done
          steps:
            - participant: stock
              command: {name: Reserve, fields: {order_id: uuid}}
              success: {name: Reserved, fields: {order_id: uuid}}
        """
    )
    assert found == [
        "m.yaml:4: event Done uses channel 'shop.submitted.v1.dlq', where the service "
        "dead-letters the Submitted it cannot handle; choose another channel"
    ]


BASE = "service: orders\nevents:\n  - name: OrderPlaced\n    fields: {order_id: uuid}\n"


def test_a_nul_byte_is_one_problem_at_its_line() -> None:
    found = problems(BASE.replace("OrderPlaced", "Order\0Placed"))
    assert len(found) == 1 and "\n" not in found[0], found
    assert found[0].startswith("m.yaml:3:"), found


def test_a_name_too_long_for_a_file_name_is_refused_at_its_line() -> None:
    found = problems(BASE.replace("OrderPlaced", "A" * 365))
    assert found == [
        "m.yaml:3: event name AAAAAAAAAAAAAAAAAAAA... is 365 characters long; files are "
        "named after it, so it may have at most 243: shorten it"
    ]
    parse_model(BASE.replace("OrderPlaced", "A" * 243), "m.yaml")  # the longest that fits


def test_yes_as_a_name_is_the_word_yes_not_a_boolean() -> None:
    found = problems(BASE + "policies:\n  - name: yes\n    when: OrderPlaced\n")
    assert not any("has no 'name:'" in p for p in found), found
    assert "m.yaml:6: policy name 'yes' must be PascalCase" in found[0], found


def test_a_command_may_name_the_event_it_sends_when_rejected() -> None:
    model = parse_model(
        "service: s\naggregates:\n  - {name: A, fields: {id: uuid}}\ncommands:\n"
        "  - {name: C, aggregate: A, emits: [Done], rejected: Refused}\n"
        "events:\n  - {name: Done}\n  - {name: Refused}\n",
        "m.yaml",
    )
    command = model.command("C")
    assert (command.emits, command.rejected, command.sends) == (
        ("Done",),
        "Refused",
        ("Done", "Refused"),
    )
    # a publisher for the rejection too
    assert [e.name for e in model.emitted_events] == ["Done", "Refused"]
