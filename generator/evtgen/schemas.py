"""Schema writers: one Avro record and one JSON Schema per event, from the model."""

from __future__ import annotations

from typing import Any

from evtgen.model import Event, Field, Model, snake

JSON_SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#"


def avro_namespace(model: Model) -> str:
    return f"{snake(model.service)}.events"


def schema_owner(model: Model, event: Event) -> str:
    """The service whose name an event's schema carries: its producer's, when the
    model names one (docs/system.md), so a consumer's schema is the producer's."""
    return event.producer or model.service


def avro_field(event: Event, field: Field) -> dict[str, Any]:
    default_is_null = not field.has_default or field.default is None
    written: dict[str, Any] = {
        "name": field.name,
        "type": field.type.avro(f"{event.name}_{field.name}", default_is_null=default_is_null),
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


def avro_schema(model: Model, event: Event) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "record",
        "name": event.name,
        "namespace": f"{snake(schema_owner(model, event))}.events",
    }
    if event.doc:
        schema["doc"] = event.doc
    schema["fields"] = [avro_field(event, f) for f in event.fields]
    return schema


def json_schema(model: Model, event: Event) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for field in event.fields:
        prop = field.type.json_schema()
        if field.doc:
            prop["description"] = field.doc
        if field.has_default:
            prop["default"] = field.default
        properties[field.name] = prop
    schema: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DRAFT,
        "$id": f"urn:{schema_owner(model, event)}:{event.channel}",
        "title": event.name,
        "type": "object",
        "properties": properties,
        "required": [f.name for f in event.fields if not f.type.optional and not f.has_default],
        # Closed content: a message with a field the schema does not know fails the
        # contract tests, so producers cannot drift from the agreed schema unnoticed.
        "additionalProperties": False,
    }
    if event.doc:
        schema["description"] = event.doc
    return schema
