"""Models in the shape other teams write them: YAML anchors and merge keys, a BOM,
tabs, names that clash with Python, pydantic or the generated modules, many
aggregates, events nobody consumes. Each is either generated into a service whose own
checks pass, or refused at FILE:LINE with exit 2 and nothing written.

(tests/test_model.py has the model format's own mistakes; tests/test_generated_fuzz.py
draws random well-formed models.)"""

from __future__ import annotations

import keyword
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import TEMPLATE, Run
from generated import run_in
from pydantic import BaseModel
from test_generated_fuzz import shared_env  # noqa: F401  (a fixture: one venv for all)

from evtgen.copier_adapter import staging_render
from evtgen.loader import ModelError, check_service_name, load_model, parse_model
from evtgen.model import python_name
from evtgen.view import model_view


def model(text: str) -> object:
    return parse_model(textwrap.dedent(text), "m.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(ModelError) as caught:
        parse_model(textwrap.dedent(text), "m.yaml")
    return [str(p) for p in caught.value.problems]


def one_event(fields: str) -> str:
    return f"service: s\nevents:\n  - name: E\n    fields: {fields}\n"


# -- refused, each at its line ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (one_event("{größe: string}"), "m.yaml:4: field name 'größe' of event E must be"),
        ("service: s\nevents:\n  - name: order-placed\n", "m.yaml:3: event name 'order-placed'"),
        ("service: s\nevents:\n  - name: BestellungÄndern\n", "must be PascalCase"),
        ("service: s\nevents:\n\t- name: E\n", "m.yaml:3: YAML syntax error: found character"),
        ("service: s\nevents:\n  - name: E\n\tfields: {}\n", "replace the tab with spaces"),
        ("- service: s\n", "m.yaml:1: the model must be a mapping"),
        ("", "m.yaml:1: the model must be a mapping"),
        ("service: s\nevents:\n  - name: E\n    fields:\n      <<: 3\n", "m.yaml:5: YAML"),
        (
            one_event("{kind: {type: enum, symbols: [true, false]}}"),
            "m.yaml:4: enum field kind of event E needs 'symbols:', a list of names such as "
            "[OPEN, CLOSED]: True, False is not a name",
        ),
        ("service: s\nx: 1\nevents:\n  - name: E\n", "m.yaml:2: unknown key 'x' in the model"),
        (
            "asyncapi: 3.0.0\ninfo: {title: t, version: '1'}\n",
            "m.yaml:1: this is an AsyncAPI document, not an event-storming model; give it "
            "with --asyncapi FILE",
        ),
        # types as other schema languages spell them
        (
            one_event("{address: {street: string, zip: string}}"),
            "m.yaml:4: field address of event E is a nested object (street, zip); name it as a "
            "value object under types: (e.g. Address) and write address: Address",
        ),
        (one_event("{tags: [string]}"), "is a YAML list; write a list field as {type: list"),
        (one_event("{tags: 'list<string>'}"), "write a list field as {type: list, items: <type>}"),
        (one_event("{tags: 'string[]'}"), "write a list field as {type: list, items: <type>}"),
        (one_event("{name: String}"), "did you mean 'string'? (types are lowercase)"),
        (one_event("{n: integer}"), "did you mean int (32-bit) or long (64-bit)?"),
        (one_event("{at: datetime}"), "did you mean timestamp?"),
        (one_event("{m: {type: map}}"), "map field m of event E needs 'values:'"),
        (one_event("{m: {type: dict}}"), "write a map field as {type: map, values: <type>}"),
        (
            "service: s\naggregates:\n  - {name: A, fields: {id: uuid}}\ncommands:\n"
            "  - {name: C1, aggregate: A, fields: {id: uuid}, emits: [B1]}\n"
            "  - {name: C2, aggregate: A, fields: {id: uuid}, emits: [A1]}\n"
            "events:\n  - {name: A1, fields: {id: uuid}}\n  - {name: B1, fields: {id: uuid}}\n"
            "policies:\n  - {name: P1, when: A1, then: C1}\n  - {name: P2, when: B1, then: C2}\n",
            "m.yaml:11: policy P1 leads back to A1, the event it reacts to",
        ),
    ],
    ids=lambda v: v if len(v) < 40 else None,
)
def test_foreign_mistakes_are_refused_at_their_line(text: str, expected: str) -> None:
    found = problems(text)
    assert any(expected in p for p in found), found


@pytest.mark.parametrize(
    "name", [n for n in dir(BaseModel) if not n.startswith("_")] + ["from", "class", "orderId"]
)
def test_a_field_named_like_a_pydantic_attribute_or_a_keyword_gets_a_free_python_name(
    name: str,
) -> None:
    [event] = model(one_event(f"{{{name}: string}}")).events  # type: ignore[attr-defined]
    [field] = event.fields
    attr = python_name(field.name)
    assert field.name == name  # on the wire as the model spells it
    assert attr.isidentifier() and not keyword.iskeyword(attr)
    assert attr not in dir(BaseModel) and not attr.startswith("model_")


def test_an_aggregate_and_an_event_of_one_name_is_one_clear_problem() -> None:
    found = problems(
        """\
        service: s
        aggregates:
          - {name: Order, fields: {id: uuid}}
        events:
          - {name: Order}
        """
    )
    assert found == [
        "m.yaml:5: event name 'Order' is already used by an aggregate; "
        "names must be unique in a model"
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("class", "named after the keyword 'class', which cannot be imported"),
        ("json", "hides the module 'json'"),
        ("email", "hides the module 'email'"),
        ("test", "hides the module 'test'"),
        # what the generated service's dependencies import
        ("typing-extensions", "hides the module 'typing_extensions'"),
        ("pydantic-core", "hides the module 'pydantic_core'"),
        ("prometheus-client", "hides the module 'prometheus_client'"),
        ("opentelemetry", "hides the module 'opentelemetry'"),
        ("conftest", "hides the module 'conftest'"),
    ],
)
def test_a_service_name_python_cannot_import_beside_its_dependencies(
    name: str, expected: str
) -> None:
    why = check_service_name(name)
    assert why is not None and expected in why and f"'{name}-service'" in why


def test_a_refused_service_name_writes_nothing(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    done = evtgen("new", "service", "typing-extensions", "--dest", tmp_path / "out", "--defaults")
    assert done.code == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


# -- accepted, as YAML means them -----------------------------------------------------


def test_merge_keys_and_x_keys_share_fields_the_way_yaml_says() -> None:
    parsed = parse_model(
        textwrap.dedent(
            """\
            service: s
            x-audit: &audit
              created_at: timestamp
              actor: string
            x-money: &money
              amount: decimal
              actor: int
            aggregates:
              - name: Order
                fields:
                  <<: [*audit, *money]
                  id: uuid
                  actor: uuid
            events:
              - name: OrderPlaced
                fields: {<<: *audit, order_id: uuid}
            """
        ),
        "m.yaml",
    )
    order = parsed.aggregate("Order")
    # merged keys first, the first merged mapping wins, the mapping's own keys win over all
    assert [(f.name, f.type.kind) for f in order.fields] == [
        ("created_at", "timestamp"),
        ("actor", "uuid"),
        ("amount", "decimal"),
        ("id", "uuid"),
    ]
    assert [f.name for f in parsed.event("OrderPlaced").fields] == [
        "created_at",
        "actor",
        "order_id",
    ]


def test_a_mistake_in_merged_fields_points_at_the_anchor() -> None:
    found = problems(
        """\
        service: s
        x-common: &common
          created_at: timestmp
        events:
          - name: E
            fields: {<<: *common, id: uuid}
        """
    )
    assert found[0].startswith("m.yaml:3: unknown type 'timestmp' of field created_at of event E")


def test_a_bom_aliases_empty_sections_and_unconsumed_events_are_fine() -> None:
    parsed = parse_model(
        "\ufeff"
        + textwrap.dedent(
            """\
            service: s
            aggregates:
              - name: Order
                fields: &order {id: uuid, total: double}
            commands:
            policies: []
            events:
              - {name: OrderSnapshot, fields: *order}
              - {name: Heartbeat2}
            """
        ),
        "m.yaml",
    )
    assert [f.name for f in parsed.event("OrderSnapshot").fields] == ["id", "total"]
    assert parsed.commands == () and parsed.policies == () and parsed.consumed_events == ()


# -- generated, and its own checks pass ------------------------------------------------

#: Many aggregates; field names that are the generated modules' and the dataclass
#: helpers' names; names with digits; every type the model allows; external events no
#: policy consumes; two policies on one event; events no command emits.
FOREIGN = """\
service: fulfilment-2
description: "Warehouse fulfilment: picks, packs and ships (ünïcödé in docs is fine)."
x-audit: &audit
  at: timestamp?
  by: {type: string, default: system, doc: who did it}
aggregates:
  - name: Order
    fields:
      order_id: uuid
      state: {type: enum, symbols: [NEW, PICKED, SHIPPED], default: NEW}
      lines: {type: list, items: string}
      total: decimal
      messages: string?
      field: {type: string, default: "x"}
      command: string?
      events: {type: list, items: long}
      grid: {type: list, items: {type: list, items: int}}
      <<: *audit
  - name: Parcel
    fields: {id: string, weight: double, dataclass: string?, replace: int?, codec: string?}
  - name: Shipment2
    fields: {shipment2_id: long, carrier: string, app: string?, service: string?}
  - name: Inventory
    fields: {sku: string, on_hand: int, broker: string?, uuid: string?, datetime_at: timestamp?}
  - name: Label
    fields: {label_id: int, body: string, decimal: double?, state: boolean}
commands:
  - name: PlaceOrder
    aggregate: Order
    fields: {total: decimal, lines: {type: list, items: string}, messages: string?, <<: *audit}
    emits: [OrderPlaced]
  - name: PickOrder
    aggregate: Order
    fields: {order_id: uuid, state: {type: enum, symbols: [NEW, PICKED, SHIPPED]}}
    emits: [OrderPicked, ParcelRequested]
  - name: PackParcel
    aggregate: Parcel
    fields: {id: string, weight: double}
    emits: [ParcelPacked]
  - name: Ship
    aggregate: Shipment2
    fields: {shipment2_id: long, carrier: string}
    emits: [Shipped]
  - name: Restock
    aggregate: Inventory
    fields: {sku: string, on_hand: int}
  - name: PrintLabel
    aggregate: Label
    fields: {body: string}
    emits: []
events:
  - name: OrderPlaced
    fields: {order_id: uuid, total: decimal, lines: {type: list, items: string}, <<: *audit}
  - name: OrderPicked
    fields: {order_id: uuid, state: {type: enum, symbols: [NEW, PICKED, SHIPPED]}}
  - name: ParcelRequested
    fields: {id: string, weight: double?, maybe: {type: list, items: string?}}
  - name: ParcelPacked
    fields: {id: string, weight: double, carrier: {type: string, default: dhl}}
  - name: Shipped
    fields: {shipment2_id: long, carrier: string, codec: string?, app: string?}
  - name: StockCounted
    external: true
    channel: inventory.stock-counted.v1
    fields: {sku: string, on_hand: int}
  - name: AuditRequested
    external: true
    channel: audit.requested.v1
    fields: {reason: string}
  - name: NobodyListens
    fields: {x: int, tags: {type: list, items: string, optional: true, default: []}}
policies:
  - {name: PickWhenPlaced, when: OrderPlaced, then: PickOrder}
  - {name: PackWhenRequested, when: ParcelRequested, then: PackParcel}
  - {name: RestockWhenCounted, when: StockCounted, then: Restock}
  - {name: LabelWhenPacked, when: ParcelPacked, then: PrintLabel}
  - {name: AlsoRestock, when: StockCounted, then: Restock}
"""


@pytest.mark.slow
@pytest.mark.parametrize(("broker", "schema_format"), [("kafka", "avro"), ("nats", "jsonschema")])
def test_a_foreign_model_gives_a_service_whose_checks_pass(
    broker: str,
    schema_format: str,
    shared_env: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    parsed = parse_model(FOREIGN, "foreign.yaml")
    repo = tmp_path / "fulfilment-2"
    with staging_render(
        src_path=str(TEMPLATE),
        dst_path=repo,
        quiet=True,
        defaults=True,
        data={"model": model_view(parsed), "broker": broker, "schema_format": schema_format},
    ) as render:
        render.copy()
    for command in (
        ["pytest", "-q", "-p", "no:cacheprovider", "-x"],
        ["ruff", "check", "."],
        ["mypy", "--cache-dir", str(shared_env.parent / ".mypy_cache")],
    ):
        done = run_in(repo, shared_env, *command, extra_env={"PYTHONPATH": str(repo / "src")})
        assert done.code == 0, f"{done.command} failed:\n{done.output}"


def test_a_model_saved_in_latin_1_is_refused_at_the_line_of_the_first_bad_byte(
    tmp_path: Path,
) -> None:
    path = tmp_path / "m.yaml"
    path.write_bytes("service: s\nevents:\n  - name: E\n    doc: café\n".encode("latin-1"))
    with pytest.raises(ModelError) as caught:
        load_model(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:4: the model is not UTF-8 text (byte 0xe9); save it as UTF-8"
    ]


def test_a_long_chain_of_policies_is_checked_for_loops_without_recursing() -> None:
    n = 1500  # deeper than Python's recursion limit
    text = "\n".join(
        [
            "service: chain",
            "aggregates:\n  - {name: A, fields: {id: uuid}}",
            "commands:",
            *(f"  - {{name: C{i}, aggregate: A, emits: [E{i + 1}]}}" for i in range(n)),
            "events:",
            *(f"  - {{name: E{i}, fields: {{id: uuid}}}}" for i in range(n + 1)),
            "policies:",
            *(f"  - {{name: P{i}, when: E{i}, then: C{i}}}" for i in range(n)),
        ]
    )
    assert len(parse_model(text, "m.yaml").policies) == n
    looped = text + f"\n  - {{name: Back, when: E{n}, then: C0}}"
    assert any("leads back to" in p for p in problems(looped))
