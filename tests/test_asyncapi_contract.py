"""A faithful contract (issue 19 item 2): the asyncapi.yaml generated from a document
keeps its identity (info, servers, the keys of channels, operations and messages, their
titles, summaries, descriptions, tags and external docs), so a diff against the input
shows only what evtgen adds; it passes @asyncapi/parser and reads back into the same
model, worded the same; non-ASCII text survives in every generated file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from asyncapi_parser import assert_valid_asyncapi
from conftest import ROOT, run_evtgen
from ruamel.yaml import YAML

from evtgen.asyncapi import load_asyncapi
from evtgen.asyncapi.parts import ANNOTATIONS

DOCS = ROOT / "tests" / "asyncapi"
DOCUMENT = DOCS / "inventory-wording.yaml"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("contract") / "inventory"
    done = run_evtgen(
        "new", "service", "inventory", "--defaults", "--dest", repo, "--asyncapi", DOCUMENT
    )
    assert done.code == 0, done.stderr
    return repo


def load(path: Path) -> dict:  # type: ignore[type-arg]
    return YAML(typ="safe").load(path)  # type: ignore[no-any-return]


def test_the_documents_identity_is_kept(generated: Path) -> None:
    given, written = load(DOCUMENT), load(generated / "schemas" / "asyncapi.yaml")
    assert written["info"] == given["info"]
    assert written["servers"] == given["servers"]
    ours = {k for k, v in written["channels"].items() if "x-evtgen-dead-letter-of" in v}
    assert set(written["channels"]) - ours == set(given["channels"])
    for key, channel in given["channels"].items():
        kept = written["channels"][key]
        assert kept["address"] == channel["address"]
        assert set(kept["messages"]) == set(channel["messages"])
        assert {k: kept[k] for k in ANNOTATIONS if k in kept} == {
            k: channel[k] for k in ANNOTATIONS if k in channel
        }
    operations = {k for k, v in written["operations"].items() if "x-evtgen-dead-letter-of" in v}
    assert set(written["operations"]) - operations == set(given["operations"])
    for key, operation in given["operations"].items():
        kept = written["operations"][key]
        assert kept["action"] == operation["action"]
        for annotation in ANNOTATIONS:
            assert kept.get(annotation) == operation.get(annotation), (key, annotation)
    for key, message in given["components"]["messages"].items():
        kept = written["components"]["messages"][key]
        for annotation in ("summary", "description", "tags", "externalDocs"):
            assert kept.get(annotation) == message.get(annotation), (key, annotation)
        assert kept["title"] == message.get("title", message["name"])


def test_it_passes_the_asyncapi_parser_and_reads_back_the_same(generated: Path) -> None:
    written = generated / "schemas" / "asyncapi.yaml"
    assert_valid_asyncapi(DOCUMENT, written)
    first = load_asyncapi(DOCUMENT, service="inventory").model
    again = load_asyncapi(written, service="inventory").model
    assert again == first
    assert again.contract == first.contract


def test_non_ascii_text_survives_in_every_generated_file(generated: Path) -> None:
    description = "Keeps stock counts for the shop's warehouses. 🏭 Ünïcödé too."
    project = tomllib.loads((generated / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["description"] == description
    assert load(generated / "model.yaml")["description"] == description
    assert load(generated / "schemas" / "asyncapi.yaml")["info"]["title"] == "Inventory Service ✨"
    package = generated / "src" / "inventory" / "__init__.py"
    text = package.read_text(encoding="utf-8") + (generated / "README.md").read_text("utf-8")
    assert "🏭" in text
    for path in generated.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            content = path.read_bytes().decode("utf-8")  # every file is UTF-8 text
            assert "\\ud83c" not in content.lower(), path  # no surrogate-pair escapes
