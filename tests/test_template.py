"""The bundled template on its own, through pytest-copie: a plain Copier template
whose answers alone decide what is generated."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from evtgen.loader import parse_model
from evtgen.schemas import avro_schema, json_schema
from evtgen.view import model_view

BROKER_CLASSES = {
    "kafka": "KafkaBroker",
    "rabbitmq": "RabbitBroker",
    "nats": "NatsBroker",
    "redis": "RedisBroker",
}


@pytest.mark.parametrize("broker", sorted(BROKER_CLASSES))
def test_each_broker_renders_its_own_client(copie: Any, broker: str) -> None:
    result = copie.copy(extra_answers={"broker": broker})
    assert result.exit_code == 0, result.exception
    app = (result.project_dir / "src" / "orders" / "app.py").read_text()
    assert BROKER_CLASSES[broker] in app
    assert all(name not in app for other, name in BROKER_CLASSES.items() if other != broker)
    assert result.answers["broker"] == broker


def test_the_answers_file_records_the_model_so_an_update_can_rerender(copie: Any) -> None:
    result = copie.copy(extra_answers={"schema_format": "jsonschema"})
    recorded = yaml.safe_load((result.project_dir / ".copier-answers.yml").read_text())
    assert recorded["model"]["service"] == "orders"
    assert recorded["schema_format"] == "jsonschema"


@pytest.mark.parametrize("schema_format", ["avro", "jsonschema"])
def test_schema_files_are_exactly_the_schema_writers_output(copie: Any, schema_format: str) -> None:
    model = parse_model(
        "service: shop\nevents:\n"
        "  - name: ItemAdded\n    doc: An item went into a cart.\n"
        "    fields: {sku: string, qty: int, note: string?,"
        " kind: {type: enum, symbols: [A, B]}, tags: {type: list, items: long}}\n"
        "  - name: CartEmptied\n    channel: carts.emptied.v2\n",
        "m",
    )
    result = copie.copy(extra_answers={"model": model_view(model), "schema_format": schema_format})
    assert result.exit_code == 0, result.exception
    schemas = result.project_dir / "schemas"
    for event in model.events:
        if schema_format == "avro":
            written = json.loads((schemas / f"{event.name}.avsc").read_text())
            assert written == avro_schema(model, event)
        else:
            written = json.loads((schemas / f"{event.name}.schema.json").read_text())
            assert written == json_schema(model, event)
    assert not list(schemas.glob("*.avsc" if schema_format != "avro" else "*.schema.json"))
