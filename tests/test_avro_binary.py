"""The generated services' compiled Avro codec (avro_binary.py) against fastavro.

Whatever the schema and the record, the compiled writer gives fastavro's bytes (or
fastavro's error), and the compiled reader gives what fastavro reads (or its error),
on good bytes and on truncated or corrupted ones.
"""

from __future__ import annotations

import io
import json
import math
import re
import uuid
from decimal import Decimal
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest.mock import patch

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TEMPLATE_FILE = next(
    (Path(__file__).parents[1] / "template" / "project" / "src" / "{{ model.package }}").glob(
        "*avro_binary.py*"
    )
)


def load_module() -> ModuleType:
    module = ModuleType("avro_binary")
    SourceFileLoader("avro_binary", str(TEMPLATE_FILE)).exec_module(module)
    return module


avro_binary = load_module()

INT32, INT64 = 2**31, 2**63


def test_the_template_file_is_plain_python() -> None:
    """Rendering leaves it as it is, so this test reads the file services get."""
    assert not re.search(r"\{\{|\{%|\{#", TEMPLATE_FILE.read_text(encoding="utf-8"))


# A field type and a strategy for its values, as pydantic hands them to the codec.
def scalar_types() -> st.SearchStrategy[tuple[Any, st.SearchStrategy[Any]]]:
    return st.sampled_from(
        [
            ("null", st.none()),
            ("boolean", st.booleans()),
            ("int", st.integers(-INT32, INT32 - 1)),
            ("long", st.integers(-INT64, INT64 - 1)),
            ("float", st.floats(width=32)),
            ("double", st.floats()),
            ("bytes", st.binary(max_size=200)),
            ("string", st.text(max_size=100)),
            ({"type": "string", "logicalType": "uuid"}, st.uuids()),
            ({"type": "string", "logicalType": "uuid"}, st.uuids().map(str)),
            (
                {"type": "enum", "name": "Colour", "symbols": ["RED", "GREEN", "BLUE"]},
                st.sampled_from(["RED", "GREEN", "BLUE"]),
            ),
            # left to fastavro: a logical type other than uuid
            ({"type": "long", "logicalType": "timestamp-millis"}, st.integers(0, 2**40)),
        ]
    )


def field_types() -> st.SearchStrategy[tuple[Any, st.SearchStrategy[Any]]]:
    def wrap(inner: tuple[Any, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
        avro, values = inner
        return st.sampled_from(
            [
                (avro, values),
                ({"type": "array", "items": avro}, st.lists(values, max_size=70)),
                ({"type": "map", "values": avro}, st.dictionaries(st.text(max_size=8), values)),
            ]
            + [(["null", avro], st.none() | values), ([avro, "null"], st.none() | values)]
            * (avro != "null")  # a union may not hold null twice
        )

    return scalar_types().flatmap(wrap)


@st.composite
def schemas_and_records(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    types = draw(st.lists(field_types(), min_size=1, max_size=5))
    fields, record = [], {}
    for i, (avro, values) in enumerate(types):
        avro = rename_enums(avro, i)
        fields.append({"name": f"f{i}", "type": avro})
        record[f"f{i}"] = draw(values)
    return {"type": "record", "name": "Event", "fields": fields}, record


def rename_enums(avro: Any, i: int) -> Any:
    """Each field's enum its own name: Avro names are unique in a schema."""
    if isinstance(avro, list):
        return [rename_enums(branch, i) for branch in avro]
    if isinstance(avro, dict):
        renamed = {k: rename_enums(v, i) for k, v in avro.items()}
        if avro.get("type") == "enum":
            renamed["name"] = f"Colour{i}"
        return renamed
    return avro


def fastavro_write(schema: dict[str, Any], record: Any) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), record)
    return buffer.getvalue()


def fastavro_read(schema: dict[str, Any], data: bytes) -> Any:
    """fastavro's reading, and bytes left after the record refused (ValueError): they
    are not this event (issue 20), which fastavro alone does not check."""
    reading = fastavro.parse_schema(avro_binary.uuids_as_strings(schema))
    buffer = io.BytesIO(data)
    record = fastavro.schemaless_reader(buffer, reading, None)
    if buffer.tell() != len(data):
        raise ValueError(f"{len(data) - buffer.tell()} bytes after the record")
    return record


def compiled(schema: dict[str, Any]) -> bool:
    """Whether the schema is one the compiled code writes and reads on its own."""
    return "timestamp-millis" not in json.dumps(schema)


def outcome(call: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "value", call(*args)
    except Exception as error:  # the same failure on both sides is the same outcome
        return "error", type(error).__name__


def same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(schemas_and_records())
def test_writes_what_fastavro_writes(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    schema, record = case
    expected = outcome(fastavro_write, schema, record)
    assert outcome(avro_binary.writer(schema), record) == expected
    if compiled(schema) and expected[0] == "value":  # and without fastavro's help
        with patch.object(fastavro, "schemaless_writer", side_effect=AssertionError("used")):
            assert avro_binary.writer(schema)(record) == expected[1]


@PROPERTY
@given(schemas_and_records(), st.data())
def test_reads_what_fastavro_reads_even_from_broken_bytes(
    case: tuple[dict[str, Any], dict[str, Any]], data: st.DataObject
) -> None:
    schema, record = case
    written = fastavro_write(schema, record)
    damaged = data.draw(
        st.sampled_from(["as written", "truncated", "a byte changed", "bytes appended"])
    )
    if damaged == "truncated":
        written = written[: data.draw(st.integers(0, max(len(written) - 1, 0)))]
    elif damaged == "a byte changed" and written:
        at = data.draw(st.integers(0, len(written) - 1))
        written = written[:at] + bytes([data.draw(st.integers(0, 255))]) + written[at + 1 :]
    elif damaged == "bytes appended":
        written += data.draw(st.binary(min_size=1, max_size=8))
    ours, theirs = (
        outcome(avro_binary.reader(schema), written),
        outcome(fastavro_read, schema, written),
    )
    assert ours[0] == theirs[0] and same(ours[1], theirs[1])
    if compiled(schema) and damaged == "as written":
        with patch.object(fastavro, "schemaless_reader", side_effect=AssertionError("used")):
            assert same(avro_binary.reader(schema)(written), theirs[1])
    if compiled(schema) and damaged == "bytes appended":  # refused without fastavro too
        with (
            patch.object(fastavro, "schemaless_reader", side_effect=AssertionError("used")),
            pytest.raises(ValueError, match="bytes after the record"),
        ):
            avro_binary.reader(schema)(written)


@pytest.mark.parametrize(
    ("avro", "value"),
    [
        ("int", True),  # a bool where an int goes: fastavro's verdict
        ("long", 2**63),  # beyond a long
        ("double", "1.5"),
        ("string", b"bytes"),
        ("boolean", 1),
        ({"type": "enum", "name": "E", "symbols": ["A"]}, "B"),
        (["null", "string"], 5),
        ({"type": "array", "items": "int"}, (1, 2)),
        ("float", 1e300),  # beyond a float: fastavro's verdict
    ],
)
def test_a_value_of_another_type_gets_fastavros_verdict(avro: Any, value: Any) -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "x", "type": avro}]}
    assert outcome(avro_binary.writer(schema), {"x": value}) == outcome(
        fastavro_write, schema, {"x": value}
    )


@pytest.mark.parametrize(
    ("avro", "value"),
    [
        ({"type": "record", "name": "Inner", "fields": [{"name": "y", "type": "int"}]}, {"y": 3}),
        ({"type": "fixed", "name": "F", "size": 4}, b"abcd"),
        (["int", "string"], "text"),
        ({"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}, Decimal("1.25")),
    ],
)
def test_other_shapes_are_left_to_fastavro(avro: Any, value: Any) -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "x", "type": avro}]}
    with pytest.raises(avro_binary.Unsupported):
        avro_binary._writer(avro)
    written = avro_binary.writer(schema)({"x": value})
    assert written == fastavro_write(schema, {"x": value})
    assert same(avro_binary.reader(schema)(written), fastavro_read(schema, written))


def test_a_uuid_is_written_as_its_text() -> None:
    schema = {
        "type": "record",
        "name": "R",
        "fields": [{"name": "id", "type": {"type": "string", "logicalType": "uuid"}}],
    }
    value = uuid.UUID("12345678-9abc-4def-8123-456789abcdef")
    written = avro_binary.writer(schema)({"id": value})
    assert written == b"\x48" + str(value).encode()
    assert avro_binary.reader(schema)(written) == {"id": str(value)}


def test_nested_records_of_value_objects_are_fastavros_and_round_trip() -> None:
    """A value object is a nested record, defined once and then named: the compiled
    code leaves the whole schema to fastavro, which writes and reads it."""
    address = {
        "type": "record",
        "name": "Address",
        "fields": [{"name": "city", "type": "string"}, {"name": "zip", "type": ["null", "string"]}],
    }
    schema = {
        "type": "record",
        "name": "Shipped",
        "namespace": "shop.events",
        "fields": [
            {"name": "to", "type": address},
            {"name": "billing", "type": ["null", "Address"], "default": None},
            {"name": "stops", "type": {"type": "array", "items": "Address"}},
        ],
    }
    with pytest.raises(avro_binary.Unsupported):
        avro_binary._writer(address)  # the shape the compiled code does not write
    record = {
        "to": {"city": "Ghent", "zip": None},
        "billing": {"city": "Lyon", "zip": "69001"},
        "stops": [{"city": "Lille", "zip": "59000"}],
    }
    data = avro_binary.writer(schema)(record)
    assert data == fastavro_write(schema, record)
    assert avro_binary.reader(schema)(data) == record
