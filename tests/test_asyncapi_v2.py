"""AsyncAPI 2.x read directly (issue 19 item 5): publish/subscribe turned the right way
round (a channel's `subscribe` is what the service sends), the warning names the
version read, and the service's asyncapi.yaml is 3.0, valid, and reads back the same."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from asyncapi_parser import assert_valid_asyncapi, run_asyncapi_tool
from conftest import ROOT, run_evtgen
from generated import fresh_venv, run_in

from evtgen.asyncapi import load_asyncapi

DOCUMENT = ROOT / "tests" / "asyncapi" / "accounts-2.6.yaml"


def test_subscribe_is_sent_and_publish_received() -> None:
    imported = load_asyncapi(DOCUMENT, service="accounts")
    model = imported.model
    assert [(e.name, e.channel, e.external) for e in model.events] == [
        ("UserSignedUp", "users.user-signed-up.v1", True),
        ("AccountOpened", "accounts.account-opened.v1", False),
    ]
    assert [(p.when, p.then) for p in model.policies] == [("UserSignedUp", "OnUserSignedUp")]
    assert model.command("AnnounceAccountOpened").emits == ("AccountOpened",)
    # the Avro message's schemaFormat beside its payload, the JSON one inline
    assert [f.name for f in model.event("UserSignedUp").fields] == [
        "user_id",
        "email",
        "display_name",
    ]
    assert model.description == "Opens an account for every user who signs up, and says so. 🎉"
    first = imported.warnings[0]
    assert (Path(first.file).name, first.line) == ("accounts-2.6.yaml", 5)
    assert first.message.startswith("read as AsyncAPI 2.6.0: a channel's subscribe is what")


def test_the_2x_documents_wording_is_kept() -> None:
    contract = load_asyncapi(DOCUMENT, service="accounts").model.contract
    assert contract["info"]["title"] == "Account Service"
    assert contract["servers"]["production"]["host"] == "kafka.example.com:9092"
    received = contract["events"]["UserSignedUp"]["receive"]
    assert received == {"key": "onUserSignedUp", "doc": {"summary": received["doc"]["summary"]}}


@pytest.mark.slow
@pytest.mark.broker_names
def test_a_2x_document_makes_a_repo_whose_tests_pass(tmp_path: Path) -> None:
    repo = tmp_path / "accounts"
    done = run_evtgen(
        "new", "service", "accounts", "--defaults", "--dest", repo, "--asyncapi", DOCUMENT,
        "--schema-format", "avro",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    assert "read as AsyncAPI 2.6.0" in done.stderr
    written = repo / "schemas" / "asyncapi.yaml"
    assert_valid_asyncapi(written)
    checked = run_asyncapi_tool("validate.mjs", DOCUMENT)  # the input is valid 2.6 too
    assert "valid AsyncAPI 2.6.0" in checked.stdout, checked.stdout + checked.stderr
    assert (
        load_asyncapi(written, service="accounts").model
        == load_asyncapi(DOCUMENT, service="accounts").model
    )
    bin_dir = fresh_venv(repo)
    url = os.environ.get("BROKER_URL_KAFKA")
    result = run_in(
        repo, bin_dir, "pytest", "-p", "no:cacheprovider", "-q",
        extra_env={"BROKER_URL": url} if url else None,
    )  # fmt: skip
    assert result.code == 0, result.output
