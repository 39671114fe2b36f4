"""Schema writers: one Avro record and one JSON Schema per event, from the model.

A value object (the model's `types:`) is a nested Avro record, defined in full where a
schema first names it and by its name after that, and a JSON Schema `$defs` entry.
"""

from __future__ import annotations

from typing import Any

from evtgen.fieldtypes import AvroRecord, JsonRef, json_defs_ref
from evtgen.model import Event, Field, Model, ValueType, snake

JSON_SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#"


def avro_namespace(model: Model) -> str:
    return f"{snake(model.service)}.events"


def schema_owner(model: Model, event: Event) -> str:
    """The service whose name an event's schema carries: its producer's, when the
    model names one (docs/system.md), so a consumer's schema is the producer's."""
    return event.producer or model.service


def avro_field(
    event: Event | ValueType, field: Field, record: AvroRecord | None = None
) -> dict[str, Any]:
    default_is_null = not field.has_default or field.default is None
    written: dict[str, Any] = {
        "name": field.name,
        "type": field.type.avro(
            f"{event.name}_{field.name}", default_is_null=default_is_null, record=record
        ),
    }
    if field.doc:
        written["doc"] = field.doc
    if field.has_default:
        written["default"] = field.default
    elif field.type.optional:
        # An optional field without a default reads as null from old data: this is
        # what lets a reader add it without breaking BACKWARD compatibility.
        written["default"] = None
    return written


def avro_records(model: Model) -> AvroRecord:
    """How one schema writes its value objects: in full the first time, then by name
    (Avro names a type once per schema)."""
    defined: set[str] = set()

    def record(name: str) -> Any:
        if name in defined:
            return name
        defined.add(name)
        value_type = model.value_type(name)
        written: dict[str, Any] = {"type": "record", "name": name}
        if value_type.doc:
            written["doc"] = value_type.doc
        written["fields"] = [avro_field(value_type, f, record) for f in value_type.fields]
        return written

    return record


def avro_schema(model: Model, event: Event) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "record",
        "name": event.name,
        "namespace": f"{snake(schema_owner(model, event))}.events",
    }
    if event.doc:
        schema["doc"] = event.doc
    record = avro_records(model)
    schema["fields"] = [avro_field(event, f, record) for f in event.fields]
    return schema


def json_object(
    fields: tuple[Field, ...], doc: str, ref: JsonRef = json_defs_ref
) -> dict[str, Any]:
    """The closed object of an event's or a value object's fields."""
    properties: dict[str, Any] = {}
    for field in fields:
        prop = field.type.json_schema(ref)
        if field.doc:
            prop["description"] = field.doc
        if field.has_default:
            prop["default"] = field.default
        properties[field.name] = prop
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": [f.name for f in fields if not f.type.optional and not f.has_default],
        # Closed content: a message with a field the schema does not know fails the
        # contract tests, so producers cannot drift from the agreed schema unnoticed.
        "additionalProperties": False,
    }
    if doc:
        schema["description"] = doc
    return schema


def records_of(model: Model, fields: tuple[Field, ...]) -> list[ValueType]:
    """The value objects the fields name, and those they name, in first-use order."""
    found: list[str] = []
    todo = [r for f in fields for r in f.type.records()]
    while todo:
        name = todo.pop(0)
        if name not in found:
            found.append(name)
            todo.extend(r for f in model.value_type(name).fields for r in f.type.records())
    return [model.value_type(n) for n in found]


def json_definition(value_type: ValueType, ref: JsonRef = json_defs_ref) -> dict[str, Any]:
    """A value object's JSON Schema, as `$defs` (or AsyncAPI's components) hold it."""
    return {"title": value_type.name, **json_object(value_type.fields, value_type.doc, ref)}


def json_schema(model: Model, event: Event, ref: JsonRef | None = None) -> dict[str, Any]:
    """The event's JSON Schema; with `ref`, its value objects are referenced there
    (AsyncAPI's components/schemas) rather than defined in `$defs`."""
    body = json_object(event.fields, "", ref or json_defs_ref)
    schema: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DRAFT,
        "$id": f"urn:{schema_owner(model, event)}:{event.channel}",
        "title": event.name,
        **{k: v for k, v in body.items()},
    }
    if event.doc:
        schema["description"] = event.doc
    if ref is None:
        records = records_of(model, event.fields)
        if records:
            schema["$defs"] = {t.name: json_definition(t) for t in records}
    return schema
