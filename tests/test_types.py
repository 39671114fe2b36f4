"""The one type table: each model type maps to Avro, JSON Schema and Python alike."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import fastavro
import pytest
from jsonschema import Draft7Validator

from evtgen.fieldtypes import ALL_TYPES, SCALARS, FieldType
from evtgen.loader import parse_model
from evtgen.schemas import avro_schema, json_schema

TYPES = [
    *SCALARS,
    *(f"{name}?" for name in SCALARS),
    "{type: enum, symbols: [OPEN, CLOSED]}",
    "{type: list, items: decimal}",
    "{type: map, values: float}",
    "{type: map, values: {type: list, items: uuid}, optional: true}",
    "{type: list, items: {type: enum, symbols: [A, B]}, optional: true}",
    '{type: string, optional: true, default: "n/a", doc: kept for audits}',
    "{type: int, default: 3}",
    "{type: uuid?, default: 00000000-0000-4000-8000-000000000009}",
]
NAMESPACE: dict[str, Any] = {
    "UUID": UUID,
    "uuid4": uuid4,
    "datetime": datetime,
    "UTC": UTC,
    "Decimal": Decimal,
}


def event_with(spec: str) -> Any:
    model = parse_model(f"service: s\nevents:\n  - name: E\n    fields: {{value: {spec}}}\n", "m")
    return model, model.events[0]


def test_every_type_of_the_spec_is_in_the_table() -> None:
    assert set(ALL_TYPES) == {
        "string",
        "int",
        "long",
        "double",
        "float",
        "boolean",
        "uuid",
        "timestamp",
        "decimal",
        "enum",
        "list",
        "map",
    }


@pytest.mark.parametrize("spec", TYPES)
def test_avro_schema_parses_and_takes_the_sample_and_the_zero(spec: str) -> None:
    model, event = event_with(spec)
    parsed = fastavro.parse_schema(avro_schema(model, event))
    field = event.fields[0]
    for expression in (field.type.sample("value"), field.type.zero()):
        value = eval(expression, NAMESPACE)
        assert fastavro.validation.validate({"value": value}, parsed, raise_errors=True)


@pytest.mark.parametrize("spec", TYPES)
def test_json_schema_is_valid_draft7(spec: str) -> None:
    model, event = event_with(spec)
    schema = json_schema(model, event)
    Draft7Validator.check_schema(schema)
    assert schema["additionalProperties"] is False


def test_optional_is_nullable_everywhere_and_defaults_to_null_in_avro() -> None:
    model, event = event_with("long?")
    (avro_field,) = avro_schema(model, event)["fields"]
    assert avro_field == {"name": "value", "type": ["null", "long"], "default": None}
    assert json_schema(model, event)["required"] == []
    assert event.fields[0].type.python() == "int | None"


def test_a_default_value_leads_the_avro_union() -> None:
    model, event = event_with('{type: string, optional: true, default: "n/a"}')
    (avro_field,) = avro_schema(model, event)["fields"]
    assert avro_field["type"] == ["string", "null"] and avro_field["default"] == "n/a"


@pytest.mark.parametrize(
    ("spec", "python"),
    [
        ("uuid", "UUID"),
        ("timestamp", "datetime"),
        ("int", "int"),
        ("long?", "int | None"),
        ("{type: enum, symbols: [A, B]}", 'Literal["A", "B"]'),
        ("{type: list, items: string?}", "list[str | None]"),
    ],
)
def test_python_annotations(spec: str, python: str) -> None:
    assert event_with(spec)[1].fields[0].type.python() == python


def test_defaults_must_fit_their_type() -> None:
    assert FieldType("int").accepts_default(3)
    assert not FieldType("int").accepts_default(True)
    assert not FieldType("timestamp").accepts_default("2024-01-01")
    assert FieldType("enum", symbols=("A",)).accepts_default("A")
    assert not FieldType("string").accepts_default(None)
    assert FieldType("string", optional=True).accepts_default(None)


def test_defaults_are_checked_as_the_wire_will_check_them() -> None:
    assert not FieldType("uuid").accepts_default("not-a-uuid")
    assert FieldType("uuid").accepts_default("00000000-0000-4000-8000-000000000001")
    assert not FieldType("int").accepts_default(2**31)
    assert FieldType("long").accepts_default(2**31)
    assert not FieldType("double").accepts_default(float("nan"))
