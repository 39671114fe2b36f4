"""Remote `$ref`s (fetched over http(s), or one line naming the URL that could not be)
and the crashes found in the importer's split, each now one FILE:LINE: error."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, run_evtgen

from evtgen.asyncapi import load_asyncapi
from evtgen.loader import ModelError

DOCS = ROOT / "tests" / "asyncapi"

USER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["user_id"],
    "properties": {
        "user_id": {"type": "string", "format": "uuid"},
        "home": {"$ref": "#/$defs/Home"},
    },
    "$defs": {
        "Home": {
            "type": "object",
            "title": "Home",
            "additionalProperties": False,
            "required": ["city"],
            "properties": {"city": {"type": "string"}},
        }
    },
}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """An http server on loopback serving tmp_path/www."""
    www = tmp_path / "www"
    (www / "users").mkdir(parents=True)
    (www / "users" / "user.json").write_text(json.dumps(USER), encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(www), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def document(tmp_path: Path, ref: str) -> Path:
    path = tmp_path / "doc.yaml"
    path.write_text(
        "asyncapi: 3.0.0\ninfo: {title: Users, version: 1.0.0}\nchannels:\n  signedUp:\n"
        "    address: users.signed-up.v1\n    messages:\n      UserSignedUp:\n"
        f"        payload: {{$ref: '{ref}'}}\n"
        "operations:\n  onSignedUp: {action: receive, channel: {$ref: '#/channels/signedUp'}}\n",
        encoding="utf-8",
    )
    return path


def test_a_remote_ref_is_fetched_and_its_own_refs_followed(tmp_path: Path, served: str) -> None:
    model = load_asyncapi(document(tmp_path, f"{served}/users/user.json"), service="users").model
    fields = {f.name: f.type for f in model.event("UserSignedUp").fields}
    assert fields["user_id"].kind == "uuid"
    assert fields["home"].record == "Home"
    assert [t.name for t in model.types] == ["Home"]


def test_a_remote_ref_that_cannot_be_fetched_is_one_line_naming_the_url(
    tmp_path: Path, served: str
) -> None:
    url = f"{served}/users/missing.json"
    with pytest.raises(ModelError) as refused:
        load_asyncapi(document(tmp_path, url), service="users")
    lines = str(refused.value).splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{tmp_path / 'doc.yaml'}:8: $ref to {url}: cannot fetch it")


def test_a_reply_whose_messages_is_a_number_is_one_error(tmp_path: Path) -> None:
    data = json.loads((DOCS / "request-reply.json").read_text(encoding="utf-8"))
    data["operations"]["giveQuote"]["reply"]["messages"] = 3
    path = tmp_path / "rr.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    with pytest.raises(ModelError) as refused:
        load_asyncapi(path, service="pricing")
    lines = str(refused.value).splitlines()
    assert len(lines) == 1
    line = next(n for n, t in enumerate(path.read_text().splitlines(), 1) if '"messages": 3' in t)
    assert lines[0].startswith(f"{path}:{line}: messages of operation giveQuote")


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        ('{"type": ["null", "string"]}', "string"),
        ('{"type": {"type": "map", "values": "long"}}', "map"),
        ('{"type": {"type": "array", "items": "string"}}', "list"),
    ],
)
def test_an_avro_type_written_inside_type_is_read(
    tmp_path: Path, inner: str, expected: str
) -> None:
    schema = (
        '{"type": "record", "name": "Measured", "fields": [{"name": "v", "type": ' + inner + "}]}"
    )
    path = tmp_path / "doc.yaml"
    path.write_text(
        "asyncapi: 3.0.0\ninfo: {title: T, version: 1.0.0}\nchannels:\n  m:\n"
        "    address: t.measured.v1\n    messages:\n      Measured:\n        payload:\n"
        "          schemaFormat: application/vnd.apache.avro+json;version=1.9.0\n"
        f"          schema: {schema}\n"
        "operations:\n  onM: {action: receive, channel: {$ref: '#/channels/m'}}\n",
        encoding="utf-8",
    )
    field = load_asyncapi(path, service="t").model.event("Measured").fields[0]
    assert field.type.kind == expected


def test_every_problem_at_once_each_with_its_line(tmp_path: Path) -> None:
    path = DOCS / "problems" / "several.yaml"
    done = run_evtgen(
        "new", "service", "t", "--defaults", "--dest", tmp_path / "t", "--asyncapi", path
    )
    assert done.code == 2
    errors = [line for line in done.stderr.splitlines() if "warning" not in line]
    assert [line.split(": ", 1)[0] for line in errors] == [
        f"{path}:{n}" for n in (12, 13, 17, 20)
    ], done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize(
    ("broker", "word"),
    [
        ("kafka", "Kafka topic"),
        ("rabbitmq", "RabbitMQ routing key"),
        ("nats", "NATS subject"),
        ("redis", "Redis stream"),
    ],
)
def test_the_wording_fits_the_broker_in_use(tmp_path: Path, broker: str, word: str) -> None:
    path = DOCS / "unsupported" / "two-messages.yaml"
    done = run_evtgen(
        "new", "service", "users", "--defaults", "--dest", tmp_path / "u", "--asyncapi", path,
        "--broker", broker,
    )  # fmt: skip
    assert done.code == 2
    assert f"give each message its own {word}" in done.stderr


def test_all_of_object_schemas_is_one_record() -> None:
    model = load_asyncapi(DOCS / "all-of-records.yaml", service="orders").model
    shipped = {f.name: f for f in model.event("OrderShipped").fields}
    assert list(shipped) == ["order_id", "at", "carrier", "to"]
    assert shipped["order_id"].type.kind == "uuid" and not shipped["order_id"].type.optional
    assert shipped["to"].type.record == "Address"
    (address,) = model.types
    assert [(f.name, f.type.optional) for f in address.fields] == [("city", False), ("zip", False)]


def test_a_string_const_is_an_enum_of_its_one_value(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text(
        "asyncapi: 3.0.0\ninfo: {title: T, version: 1.0.0}\nchannels:\n  m:\n"
        "    address: t.m.v1\n    messages:\n      M:\n        payload:\n"
        "          type: object\n          additionalProperties: false\n"
        "          required: [kind, n]\n          properties:\n"
        "            kind: {type: string, const: ORDER_PLACED}\n"
        "            n: {const: 3}\n"
        "operations:\n  onM: {action: receive, channel: {$ref: '#/channels/m'}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ModelError) as refused:
        load_asyncapi(path, service="t")
    # a const of another type is still refused, at its line; the string one is read
    assert [p.line for p in refused.value.problems] == [14]
    path.write_text(
        path.read_text().replace("            n: {const: 3}\n", "").replace("[kind, n]", "[kind]")
    )
    (kind,) = load_asyncapi(path, service="t").model.event("M").fields
    assert (kind.type.kind, kind.type.symbols) == ("enum", ("ORDER_PLACED",))
