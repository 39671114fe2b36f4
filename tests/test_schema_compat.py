"""Schema changes and their verdict per compatibility mode, Avro and JSON Schema.

Each row is one change from an old to a new version of an event's schema, with the
verdict expected in the BACKWARD direction (the new schema reads old data) and the
FORWARD one (the old schema reads new data); FULL is both, NONE accepts everything.
Avro verdicts must also be what Apache Avro's own checker says, called directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from evtgen import avro_compat, json_compat

OK, BAD = True, False
INT32 = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
INT64 = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}


def record(*fields: dict[str, Any], name: str = "Order") -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": "shop.events", "fields": list(fields)}


def f(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def enum(*symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": "Status", "symbols": list(symbols), **extra}


ID = f("id", "string")
ADDRESS = record(f("city", "string"), name="Address")
ADDRESS_ZIP = record(f("city", "string"), f("zip", "string"), name="Address")


@dataclass(frozen=True)
class Change:
    name: str
    old: dict[str, Any]  # Avro; the JSON Schema rows are derived from it (see `to_json`)
    new: dict[str, Any]
    avro: tuple[bool, bool]  # (BACKWARD, FORWARD)
    closed: tuple[bool, bool]  # JSON Schema, additionalProperties: false
    open: tuple[bool, bool]  # JSON Schema, additionalProperties left open
    fields: str  # the fields (space-separated) findings may name: each one names one


CHANGES = [
    Change("nothing changes", record(ID), record(ID), (OK, OK), (OK, OK), (OK, OK), ""),
    Change(
        "add a field with a default",
        record(ID),
        record(ID, f("n", "int", default=0)),
        (OK, OK),
        (OK, BAD),
        (BAD, OK),
        "n",
    ),
    Change(
        "add a field without a default",
        record(ID),
        record(ID, f("n", "int")),
        (BAD, OK),
        (BAD, BAD),
        (BAD, OK),
        "n",
    ),
    Change(
        "add an optional field",
        record(ID),
        record(ID, f("n", ["null", "string"], default=None)),
        (OK, OK),
        (OK, BAD),
        (BAD, OK),
        "n",
    ),
    Change(
        "remove a field with a default",
        record(ID, f("n", "int", default=0)),
        record(ID),
        (OK, OK),
        (BAD, OK),
        (OK, BAD),
        "n",
    ),
    Change(
        "remove a field without a default",
        record(ID, f("n", "int")),
        record(ID),
        (OK, BAD),
        (BAD, BAD),
        (OK, BAD),
        "n",
    ),
    Change(
        "rename a field, with an alias",
        record(ID, f("name", "string")),
        record(ID, f("full_name", "string", aliases=["name"])),
        # JSON Schema has no aliases: a rename is a removal and an addition
        (OK, BAD),
        (BAD, BAD),
        (BAD, BAD),
        "name full_name",
    ),
    Change(
        "rename a field, without an alias",
        record(ID, f("name", "string")),
        record(ID, f("full_name", "string")),
        (BAD, BAD),
        (BAD, BAD),
        (BAD, BAD),
        "name full_name",
    ),
    Change(
        "change a type: string to int",
        record(ID, f("n", "string")),
        record(ID, f("n", "int")),
        (BAD, BAD),
        (BAD, BAD),
        (BAD, BAD),
        "n",
    ),
    Change(
        "widen int to long",
        record(ID, f("n", "int")),
        record(ID, f("n", "long")),
        (OK, BAD),
        (OK, BAD),
        (OK, BAD),
        "n",
    ),
    Change(
        "narrow long to int",
        record(ID, f("n", "long")),
        record(ID, f("n", "int")),
        (BAD, OK),
        (BAD, OK),
        (BAD, OK),
        "n",
    ),
    Change(
        "widen float to double",
        record(ID, f("x", "float")),
        record(ID, f("x", "double")),
        # both are `number` in JSON Schema
        (OK, BAD),
        (OK, OK),
        (OK, OK),
        "x",
    ),
    Change(
        "widen int to double",
        record(ID, f("x", "int")),
        record(ID, f("x", "double")),
        # JSON Schema: integer within int32 -> number
        (OK, BAD),
        (OK, BAD),
        (OK, BAD),
        "x",
    ),
    Change(
        "add an enum symbol",
        record(ID, f("status", enum("NEW", "PAID"))),
        record(ID, f("status", enum("NEW", "PAID", "SHIPPED"))),
        (OK, BAD),
        (OK, BAD),
        (OK, BAD),
        "status",
    ),
    Change(
        "remove an enum symbol",
        record(ID, f("status", enum("NEW", "PAID", "SHIPPED"))),
        record(ID, f("status", enum("NEW", "PAID"))),
        (BAD, OK),
        (BAD, OK),
        (BAD, OK),
        "status",
    ),
    Change(
        "remove an enum symbol, the enum has a default",
        record(ID, f("status", enum("NEW", "PAID", "SHIPPED"))),
        record(ID, f("status", enum("NEW", "PAID", default="NEW"))),
        # an Avro reader maps unknown symbols to the enum's default; JSON Schema cannot
        (OK, OK),
        (BAD, OK),
        (BAD, OK),
        "status",
    ),
    Change(
        "make a field optional",
        record(ID, f("s", "string")),
        record(ID, f("s", ["null", "string"], default=None)),
        (OK, BAD),
        (OK, BAD),
        (OK, BAD),
        "s",
    ),
    Change(
        "make an optional field required",
        record(ID, f("s", ["null", "string"], default=None)),
        record(ID, f("s", "string")),
        (BAD, OK),
        (BAD, OK),
        (BAD, OK),
        "s",
    ),
    Change(
        "change the type inside an optional",
        record(ID, f("s", ["null", "string"], default=None)),
        record(ID, f("s", ["null", "int"], default=None)),
        (BAD, BAD),
        (BAD, BAD),
        (BAD, BAD),
        "s",
    ),
    Change(
        "nested record: add a field without a default",
        record(ID, f("address", ADDRESS)),
        record(ID, f("address", ADDRESS_ZIP)),
        (BAD, OK),
        (BAD, BAD),
        (BAD, OK),
        "address.zip",
    ),
    Change(
        "array items: int to long",
        record(ID, f("tags", {"type": "array", "items": "int"})),
        record(ID, f("tags", {"type": "array", "items": "long"})),
        (OK, BAD),
        (OK, BAD),
        (OK, BAD),
        "tags[]",
    ),
    Change(
        "array items: string to int",
        record(ID, f("tags", {"type": "array", "items": "string"})),
        record(ID, f("tags", {"type": "array", "items": "int"})),
        (BAD, BAD),
        (BAD, BAD),
        (BAD, BAD),
        "tags[]",
    ),
]


# -- Avro ------------------------------------------------------------------------


def avro_verdict(reader: dict[str, Any], writer: dict[str, Any]) -> bool:
    """Apache Avro's checker, called directly: the reference."""
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    return result.compatibility is SchemaCompatibilityType.compatible


def evtgen_avro(reader: dict[str, Any], writer: dict[str, Any]) -> list[avro_compat.Issue]:
    return avro_compat.issues(
        avro_compat.parse(json.dumps(reader)),
        avro_compat.parse(json.dumps(writer)),
        "the new schema",
        "the old schema",
    )


def verdicts(check: Any, old: Any, new: Any) -> dict[str, bool]:
    """A verdict per mode from a directional check (True: no issue)."""
    backward = not check(new, old)
    forward = not check(old, new)
    return {"BACKWARD": backward, "FORWARD": forward, "FULL": backward and forward, "NONE": True}


def expected(pair: tuple[bool, bool]) -> dict[str, bool]:
    backward, forward = pair
    return {"BACKWARD": backward, "FORWARD": forward, "FULL": backward and forward, "NONE": True}


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: c.name)
def test_avro_verdicts_per_mode(change: Change) -> None:
    assert verdicts(evtgen_avro, change.old, change.new) == expected(change.avro)


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: c.name)
def test_avro_verdicts_are_the_avro_packages(change: Change) -> None:
    # the table's expectations and evtgen's verdicts, both against Avro's own checker
    reference = (avro_verdict(change.new, change.old), avro_verdict(change.old, change.new))
    assert reference == change.avro
    ours = (not evtgen_avro(change.new, change.old), not evtgen_avro(change.old, change.new))
    assert ours == reference


@pytest.mark.parametrize("change", [c for c in CHANGES if BAD in c.avro], ids=lambda c: c.name)
def test_avro_findings_name_the_field(change: Change) -> None:
    for reader, writer in ((change.new, change.old), (change.old, change.new)):
        for issue in evtgen_avro(reader, writer):
            assert issue.field in change.fields.split(), issue
            assert issue.reason


def test_avro_reasons_say_what_changed_in_words() -> None:
    (issue,) = evtgen_avro(
        record(ID, f("status", enum("NEW", "PAID"))),
        record(ID, f("status", enum("NEW", "PAID", "SHIPPED"))),
    )
    assert issue.field == "status"
    assert "SHIPPED" in issue.reason and "unknown to the new schema" in issue.reason
    (issue,) = evtgen_avro(record(ID, f("n", "int")), record(ID, f("n", "string")))
    assert "reads int where the old schema writes string" in issue.reason
    (issue,) = evtgen_avro(record(ID, f("n", "int")), record(ID))
    assert issue.field == "n" and "without a default" in issue.reason


def test_avro_reports_every_broken_field() -> None:
    issues = evtgen_avro(
        record(ID, f("a", "int"), f("b", "int"), f("c", "string")),
        record(ID, f("b", "string"), f("c", "string")),
    )
    assert {i.field for i in issues} == {"a", "b"}


# -- JSON Schema --------------------------------------------------------------------


def to_json(schema: Any, closed: bool) -> Any:
    """The JSON Schema evtgen's writers would give for the same Avro shape."""
    if isinstance(schema, list):
        branches = [to_json(s, closed) for s in schema if s != "null"]
        return {"anyOf": [*branches, {"type": "null"}]}
    if isinstance(schema, str):
        return {
            "string": {"type": "string"},
            "int": dict(INT32),
            "long": dict(INT64),
            "float": {"type": "number"},
            "double": {"type": "number"},
        }[schema]
    if schema["type"] == "enum":
        return {"type": "string", "enum": schema["symbols"]}
    if schema["type"] == "array":
        return {"type": "array", "items": to_json(schema["items"], closed)}
    properties = {field["name"]: to_json(field["type"], closed) for field in schema["fields"]}
    required = [
        fld["name"]
        for fld in schema["fields"]
        if "default" not in fld and not isinstance(fld["type"], list)
    ]
    written: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if closed:
        written["additionalProperties"] = False
    return written


def evtgen_json(reader: Any, writer: Any) -> list[json_compat.Issue]:
    return json_compat.issues(reader, writer, "the new schema", "the old schema")


@pytest.mark.parametrize("content", ["closed", "open"])
@pytest.mark.parametrize("change", CHANGES, ids=lambda c: c.name)
def test_json_schema_verdicts_per_mode(change: Change, content: str) -> None:
    closed = content == "closed"
    old, new = to_json(change.old, closed), to_json(change.new, closed)
    assert verdicts(evtgen_json, old, new) == expected(getattr(change, content))
    for reader, writer in ((new, old), (old, new)):
        for issue in evtgen_json(reader, writer):
            assert issue.field in change.fields.split(), issue


def obj(properties: dict[str, Any], *required: str, **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required), **extra}


JSON_ONLY = [
    # (name, old, new, (BACKWARD, FORWARD))
    (
        "integer to number",
        obj({"n": {"type": "integer"}}, "n"),
        obj({"n": {"type": "number"}}, "n"),
        (OK, BAD),
    ),
    (
        "close an open content model",
        obj({"n": {"type": "string"}}),
        obj({"n": {"type": "string"}}, additionalProperties=False),
        (BAD, OK),
    ),
    (
        "a $ref'd definition changes type",
        obj({"a": {"$ref": "#/definitions/A"}}, "a", definitions={"A": {"type": "string"}}),
        obj({"a": {"$ref": "#/definitions/A"}}, "a", definitions={"A": {"type": "integer"}}),
        (BAD, BAD),
    ),
    (
        "a property moves into a $ref'd definition",
        obj({"a": {"type": "string"}}, "a"),
        obj({"a": {"$ref": "#/definitions/A"}}, "a", definitions={"A": {"type": "string"}}),
        (OK, OK),
    ),
    (
        "a recursive $ref stays the same",
        obj({"next": {"$ref": "#"}, "v": {"type": "string"}}),
        obj({"next": {"$ref": "#"}, "v": {"type": "string"}}),
        (OK, OK),
    ),
    (
        "a pattern is added",
        obj({"s": {"type": "string"}}, "s"),
        obj({"s": {"type": "string", "pattern": "^[a-z]+$"}}, "s"),
        (BAD, OK),
    ),
    (
        "a maximum is raised",
        obj({"n": {"type": "integer", "maximum": 10}}, "n"),
        obj({"n": {"type": "integer", "maximum": 100}}, "n"),
        (OK, BAD),
    ),
    (
        # open content would allow the removal, but the patterns may now apply to it
        "a property removed beside patternProperties",
        obj({"xa": {"type": "string"}}, patternProperties={"^x": {"type": "integer"}}),
        obj({}, patternProperties={"^x": {"type": "integer"}}),
        (BAD, BAD),
    ),
    (
        "a keyword the rules do not know changes",
        obj({"s": {"type": "string", "not": {"const": "x"}}}, "s"),
        obj({"s": {"type": "string", "not": {"const": "y"}}}, "s"),
        (BAD, BAD),
    ),
]


@pytest.mark.parametrize(("name", "old", "new", "pair"), JSON_ONLY, ids=[c[0] for c in JSON_ONLY])
def test_json_schema_rules_beyond_the_shared_table(
    name: str, old: Any, new: Any, pair: tuple[bool, bool]
) -> None:
    assert verdicts(evtgen_json, old, new) == expected(pair)


def test_json_schema_reasons_name_the_field_and_the_rule() -> None:
    issues = evtgen_json(
        obj({"a": {"type": "object", "properties": {}, "additionalProperties": False}}),
        obj({"a": {"type": "object", "properties": {"z": {"type": "string"}}}}),
    )
    # the nested object closed its content: `z` and any other field are refused
    assert {i.field for i in issues} == {"a.z", "a.*"}
    issues = evtgen_json(
        obj({}, additionalProperties=False),
        obj({"z": {"type": "string"}}, additionalProperties=False),
    )
    assert [i.field for i in issues] == ["z"] and "closed" in issues[0].reason
    (issue,) = evtgen_json(obj({"a": {"$ref": "http://example.com/a.json"}}), obj({"a": {}}))
    assert issue.field == "a" and "$ref" in issue.reason


def test_recursive_schemas_end() -> None:
    node = {
        "$defs": {
            "n": {
                "type": "object",
                "properties": {"v": {"type": "integer"}, "next": {"$ref": "#/$defs/n"}},
            }
        },
        "$ref": "#/$defs/n",
    }
    assert evtgen_json(True, node) == []
    assert {i.field for i in evtgen_json(node, True)} == {"", "v"}
    linked = record(f("v", "int"), f("next", ["null", "Order"], default=None))
    changed = record(f("v", "string"), f("next", ["null", "Order"], default=None))
    assert [i.field for i in evtgen_avro(changed, linked)] == ["v"]
