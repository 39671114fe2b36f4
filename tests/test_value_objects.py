"""Value objects (the model's `types:`, SPEC "Value objects"): named records used as
field types, nested, in lists and maps, through the one type table: Avro nested
records, JSON Schema `$defs`, the generated asyncapi.yaml's components, and back."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import fastavro
import pytest
from conftest import ROOT, run_evtgen
from generated import fresh_venv, run_in
from jsonschema import Draft7Validator

from evtgen.asyncapi import load_asyncapi
from evtgen.loader import ModelError, load_model, parse_model
from evtgen.schemas import avro_schema, json_schema

MODEL = ROOT / "tests" / "models" / "values.yaml"


def test_a_type_names_a_record_nested_in_lists_and_maps() -> None:
    model = load_model(MODEL)
    assert [t.name for t in model.types] == ["Address", "Money", "OrderLine"]
    placed = model.event("OrderPlaced")
    kinds = {f.name: (f.type.kind, f.type.record, f.type.items) for f in placed.fields}
    assert kinds["ship_to"][:2] == ("record", "Address")
    assert kinds["lines"][0] == "list" and kinds["lines"][2].record == "OrderLine"
    assert kinds["tags"][0] == "map" and kinds["tags"][2].kind == "string"


def test_avro_defines_each_record_once_and_takes_a_nested_value() -> None:
    model = load_model(MODEL)
    schema = avro_schema(model, model.event("OrderShipped"))
    parsed = fastavro.parse_schema(schema)
    text = json.dumps(schema)
    assert text.count('"name": "Address"') == 1  # then named: "Address"
    record = {
        "id": "00000000-0000-4000-8000-000000000001",
        "ship_to": {"street": "Main 1", "city": "Ghent", "zip": None},
        "billing": {"street": "Side 2", "city": "Lyon", "zip": "69001"},
        "weights": {"a": 1.5},
    }
    out = io.BytesIO()
    fastavro.schemaless_writer(out, parsed, record)
    back = fastavro.schemaless_reader(io.BytesIO(out.getvalue()), parsed, None)
    assert back["billing"] == record["billing"]


def test_json_schema_has_defs_for_the_records_it_names() -> None:
    model = load_model(MODEL)
    schema = json_schema(model, model.event("OrderPlaced"))
    assert set(schema["$defs"]) == {"Address", "OrderLine", "Money"}
    Draft7Validator.check_schema(schema)
    line = {"sku": "a", "quantity": 1, "price": {"amount": "1.50", "currency": "EUR"}}
    good = {
        "id": "00000000-0000-4000-8000-000000000001",
        "ship_to": {"street": "s", "city": "c", "zip": None},
        "lines": [{**line, "weight": 0.5}],
        "tags": {"k": "v"},
    }
    Draft7Validator(schema).validate(good)
    bad = {**good, "lines": [{**line, "weight": 0.5, "colour": "red"}]}
    assert not Draft7Validator(schema).is_valid(bad)  # records are closed too


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "types:\n  - {name: A, fields: {b: B}}\n  - {name: B, fields: {a: A?}}\n",
            "m.yaml:3: type A holds itself",
        ),
        (
            "types:\n  - {name: A, fields: {x: string}}\nevents:\n  - {name: A}\n",
            "m.yaml:5: event name 'A' is already used by a type",
        ),
        (
            "events:\n  - {name: E, fields: {at: Adress}}\n",
            "m.yaml:3: unknown type 'Adress' of field at of event E",
        ),
        (
            "events:\n  - {name: E, fields: {m: {type: map}}}\n",
            "m.yaml:3: map field m of event E needs 'values:'",
        ),
        (
            "types:\n  - {name: A, fields: {x: string}}\n"
            "events:\n  - {name: E, fields: {a: {type: A, default: 1}}}\n",
            "m.yaml:5: default 1 of field a of event E is not a valid record",
        ),
    ],
)
def test_each_mistake_with_types_has_its_line(text: str, expected: str) -> None:
    with pytest.raises(ModelError) as caught:
        parse_model("service: s\n" + text, "m.yaml")
    assert expected in str(caught.value)


@pytest.mark.parametrize("schema_format", ["jsonschema", "avro"])
def test_the_generated_asyncapi_reads_back_into_the_same_model(
    tmp_path: Path, schema_format: str
) -> None:
    repo = tmp_path / "shop"
    done = run_evtgen(
        "new", "service", "shop", "--defaults", "--dest", repo, "--model", MODEL,
        "--broker", "nats", "--schema-format", schema_format,
    )  # fmt: skip
    assert done.code == 0, done.stderr
    read = load_asyncapi(repo / "schemas" / "asyncapi.yaml", service="shop")
    assert read.model == load_model(MODEL)
    # the emoji of the description survives in TOML, YAML and Python
    assert "📦" in (repo / "pyproject.toml").read_text(encoding="utf-8")
    assert "📦" in (repo / "schemas" / "asyncapi.yaml").read_text(encoding="utf-8")


def test_nested_objects_of_a_foreign_document_become_value_objects(tmp_path: Path) -> None:
    document = ROOT / "tests" / "asyncapi" / "nested-payloads.yaml"
    read = load_asyncapi(document, service="shipping")
    types = {t.name: t for t in read.model.types}
    assert set(types) == {"Address", "Parcel"}
    assert [f.name for f in types["Address"].fields] == ["street", "city"]
    shipped = read.model.event("ParcelShipped")
    by_name = {f.name: f.type for f in shipped.fields}
    assert by_name["parcel"].record == "Parcel"
    assert by_name["parcels_by_id"].kind == "map"
    assert by_name["weight"].kind == "float"


@pytest.mark.slow
@pytest.mark.broker_names
@pytest.mark.parametrize(
    ("document", "broker"),
    [
        ("nested-payloads.yaml", "rabbitmq"),
        ("avro-map.yaml", "redis"),
        ("nested-object.yaml", "kafka"),
    ],
)
def test_a_foreign_document_with_nested_payloads_makes_a_repo_whose_tests_pass(
    tmp_path: Path, document: str, broker: str
) -> None:
    repo = tmp_path / "svc"
    source = tmp_path / document
    shutil.copy(ROOT / "tests" / "asyncapi" / document, source)
    done = run_evtgen(
        "new", "service", "svc", "--defaults", "--dest", repo, "--asyncapi", source,
        "--broker", broker,
    )  # fmt: skip
    assert done.code == 0, done.stderr
    bin_dir = fresh_venv(repo)
    url = os.environ.get(f"BROKER_URL_{broker.upper()}")
    result = run_in(
        repo, bin_dir, "pytest", "-p", "no:cacheprovider", "-q",
        extra_env={"BROKER_URL": url} if url else None,
    )  # fmt: skip
    assert result.code == 0, result.output
    for check in (("ruff", "check", "."), ("ruff", "format", "--check", "."), ("mypy",)):
        outcome = run_in(repo, bin_dir, *check)
        assert outcome.code == 0, f"{outcome.command}:\n{outcome.output}"
