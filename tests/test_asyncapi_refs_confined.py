"""An AsyncAPI document's `$ref`s read files inside its own folder only (or the folder
`--ref-root` names): `..`, absolute paths, `file://` and symlinks out are refused with
one line that names the reference and never shows the outside file's content."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_evtgen

from evtgen.asyncapi import load_asyncapi
from evtgen.loader import ModelError

DOCS = Path(__file__).parent / "asyncapi"


def document_referring_to(folder: Path, ref: str) -> Path:
    """kafka-avro.yaml in `folder`, its payload `$ref` replaced by `ref`."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (DOCS / "kafka-avro.yaml").read_text()
    assert "'./user-signed-up.avsc'" in text
    doc = folder / "api.yaml"
    doc.write_text(text.replace("'./user-signed-up.avsc'", repr(ref)))
    return doc


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.avsc"
    avro = (DOCS / "user-signed-up.avsc").read_text()
    secret.write_text(avro.replace("{", '{"aliases": ["TopSecretRecord"], ', 1))
    return secret


@pytest.mark.parametrize("how", ["dotdot", "absolute", "file-url", "symlink"])
def test_a_ref_outside_the_documents_folder_is_refused(
    tmp_path: Path, outside: Path, how: str
) -> None:
    api = tmp_path / "api"
    api.mkdir()
    (api / "in.avsc").symlink_to(outside)
    ref = {
        "dotdot": "../secret.avsc",
        "absolute": str(outside),
        "file-url": f"file://{outside}",
        "symlink": "./in.avsc",
    }[how]
    doc = document_referring_to(api, ref)
    with pytest.raises(ModelError) as refused:
        load_asyncapi(doc, service="accounts")
    message = str(refused.value)
    assert len(message.strip().splitlines()) == 1, message
    assert f"{doc}:62:" in message and repr(ref) in message
    assert "TopSecretRecord" not in message and "user_id" not in message


def test_ref_root_widens_where_refs_may_read(tmp_path: Path, outside: Path) -> None:
    doc = document_referring_to(tmp_path / "api", "../secret.avsc")
    refused = run_evtgen(
        "new", "service", "accounts", "--asyncapi", doc, "--defaults", cwd=tmp_path
    )
    assert refused.code == 2 and "--ref-root" in refused.stderr, refused.stderr
    assert not (tmp_path / "accounts").exists()
    imported = load_asyncapi(doc, service="accounts", ref_root=tmp_path)
    assert "UserSignedUp" in [e.name for e in imported.model.events]
