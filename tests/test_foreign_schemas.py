"""`evtgen schema check` on schema histories evtgen did not write: hand-written Avro
with named types reused, recursion, unions, enum defaults, aliases and namespaces;
JSON Schema with $defs/$ref, $anchor, $id, allOf/oneOf, additionalProperties and
patternProperties, draft-07 and 2020-12. Real git repos, the real CLI. A construct
the rules do not cover is a finding, never waved through (docs/schema-compatibility.md).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import run_evtgen

D7 = "http://json-schema.org/draft-07/schema#"
D2020 = "https://json-schema.org/draft/2020-12/schema"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def history(tmp_path: Path, name: str, old: Any, new: Any) -> Path:
    """A repo whose schemas/NAME is `old` at tag v1.0.0 and `new` in the working tree."""
    repo = tmp_path / "repo"
    (repo / "schemas").mkdir(parents=True)
    git(repo, "init", "-q")
    (repo / "schemas" / name).write_text(json.dumps(old))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1")
    git(repo, "tag", "v1.0.0")
    (repo / "schemas" / name).write_text(json.dumps(new))
    return repo


def verdict(tmp_path: Path, name: str, old: Any, new: Any, mode: str = "BACKWARD") -> list[str]:
    """The findings' reasons ([] when compatible); exit codes checked on the way."""
    done = run_evtgen(
        "schema", "check", history(tmp_path, name, old, new), "--mode", mode, "--json"
    )
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    reasons = [f["reason"] for e in report["events"] for f in e["findings"]]
    assert done.code == (1 if reasons else 0), done.stdout
    return reasons


# -- Avro ---------------------------------------------------------------------------

ADDRESS = {
    "type": "record",
    "name": "Address",
    "fields": [{"name": "street", "type": "string"}, {"name": "zip", "type": "string"}],
}


def order(*, zip_type: str = "string", namespace: str = "com.acme", **top: Any) -> dict:
    address = {**ADDRESS, "fields": [ADDRESS["fields"][0], {"name": "zip", "type": zip_type}]}
    return {
        "type": "record",
        "name": "OrderPlaced",
        "namespace": namespace,
        **top,
        "fields": [
            {"name": "billing", "type": address},
            {"name": "shipping", "type": "Address"},  # the named type, reused
            {
                "name": "status",
                "type": {"type": "enum", "name": "S", "symbols": ["NEW", "PAID"], "default": "NEW"},
            },
            {"name": "note", "type": ["null", "string"], "default": None},
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        ],
    }


def test_avro_a_change_inside_a_reused_named_type_is_found_at_its_field(tmp_path: Path) -> None:
    [reason] = verdict(tmp_path, "o.avsc", order(), order(zip_type="int"))
    assert "reads int where the schema at v1.0.0 writes string" in reason


def test_avro_a_namespace_moved_with_an_alias_is_compared_not_removed(tmp_path: Path) -> None:
    moved = order(namespace="com.acme.orders", aliases=["com.acme.OrderPlaced"])
    assert verdict(tmp_path / "a", "o.avsc", order(), moved, "FULL") == []
    broken = order(zip_type="int", namespace="com.acme.orders", aliases=["com.acme.OrderPlaced"])
    [reason] = verdict(tmp_path / "b", "o.avsc", order(), broken)
    assert "reads int" in reason


def test_avro_a_namespace_moved_without_an_alias_is_a_removed_event(tmp_path: Path) -> None:
    reasons = verdict(tmp_path, "o.avsc", order(), order(namespace="com.acme.orders"))
    assert any("is gone" in r for r in reasons)


def test_avro_recursive_records_and_reordered_unions_of_records(tmp_path: Path) -> None:
    def node(value: str) -> dict:
        return {
            "type": "record",
            "name": "Node",
            "fields": [
                {"name": "v", "type": value},
                {"name": "next", "type": ["null", "Node"], "default": None},
            ],
        }

    assert verdict(tmp_path / "a", "n.avsc", node("int"), node("long")) == []
    assert verdict(tmp_path / "b", "n.avsc", node("int"), node("string")) != []
    card = {"type": "record", "name": "Card", "fields": [{"name": "n", "type": "string"}]}
    cash = {"type": "record", "name": "Cash", "fields": [{"name": "c", "type": "int"}]}

    def pay(*branches: dict) -> dict:
        return {"type": "record", "name": "Pay", "fields": [{"name": "p", "type": list(branches)}]}

    assert verdict(tmp_path / "c", "p.avsc", pay(card, cash), pay(cash, card), "FULL") == []
    assert verdict(tmp_path / "d", "p.avsc", pay(card, cash), pay(card)) != []


def test_avro_an_enum_default_lets_old_readers_take_new_symbols(tmp_path: Path) -> None:
    def event(*symbols: str, **extra: Any) -> dict:
        status = {"type": "enum", "name": "S", "symbols": list(symbols), **extra}
        return {"type": "record", "name": "E", "fields": [{"name": "s", "type": status}]}

    assert (
        verdict(tmp_path / "a", "e.avsc", event("A", default="A"), event("A", "B"), "FORWARD") == []
    )
    assert verdict(tmp_path / "b", "e.avsc", event("A"), event("A", "B"), "FORWARD") != []


def test_avro_an_enum_default_outside_its_symbols_is_bad_input(tmp_path: Path) -> None:
    bad = {
        "type": "record",
        "name": "E",
        "fields": [
            {"name": "s", "type": {"type": "enum", "name": "S", "symbols": ["A"], "default": "Z"}}
        ],
    }
    done = run_evtgen("schema", "check", history(tmp_path, "e.avsc", bad, bad))
    assert done.code == 2 and "Traceback" not in done.stderr
    assert "schemas/e.avsc" in done.stderr and "not a valid Avro schema" in done.stderr


# -- JSON Schema --------------------------------------------------------------------


def with_defs(a_type: str, draft: str = D2020, **a: Any) -> dict:
    return {
        "$schema": draft,
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/A", **a}},
        "$defs": {"A": {"type": a_type}},
        "additionalProperties": False,
    }


def test_json_defs_are_followed_in_draft_07_and_2020_12(tmp_path: Path) -> None:
    [reason] = verdict(
        tmp_path / "a", "e.schema.json", with_defs("string", D7), with_defs("integer")
    )
    assert "allows string, which the new schema (type integer) rejects" in reason
    assert (
        verdict(tmp_path / "b", "e.schema.json", with_defs("string", D7), with_defs("string")) == []
    )


def test_json_siblings_of_a_ref_count_since_2019_09_and_not_in_draft_07(tmp_path: Path) -> None:
    narrowed = with_defs("string", maxLength=3)
    [reason] = verdict(tmp_path / "a", "e.schema.json", with_defs("string"), narrowed)
    assert "since draft 2019-09 both apply" in reason
    ignored = with_defs("string", D7, maxLength=3)  # draft-07 ignores maxLength there
    assert verdict(tmp_path / "b", "e.schema.json", with_defs("string", D7), ignored) == []
    described = with_defs("string", description="annotations never matter")
    assert verdict(tmp_path / "c", "e.schema.json", with_defs("string"), described) == []


def test_json_an_unchanged_allof_whose_ref_target_changed_is_a_finding(tmp_path: Path) -> None:
    def schema(a_type: str) -> dict:
        return {
            "type": "object",
            "properties": {"a": {"allOf": [{"$ref": "#/$defs/A"}, {"minLength": 1}]}},
            "$defs": {"A": {"type": a_type}},
        }

    [reason] = verdict(tmp_path / "a", "e.schema.json", schema("string"), schema("integer"))
    assert "`allOf` differs" in reason
    assert verdict(tmp_path / "b", "e.schema.json", schema("string"), schema("string")) == []


def test_json_a_ref_branch_keeps_the_schemas_other_keywords(tmp_path: Path) -> None:
    def schema(*required: str) -> dict:
        return {
            "type": "object",
            "required": list(required),
            "anyOf": [{"$ref": "#/$defs/Card"}, {"type": "object"}],
            "$defs": {"Card": {"type": "object"}},
        }

    assert verdict(tmp_path, "e.schema.json", schema(), schema("b")) != []


def test_json_anchors_and_the_documents_own_id_point_within_it(tmp_path: Path) -> None:
    def anchored(a_type: str) -> dict:
        return {
            "$schema": D2020,
            "$id": "https://acme.example/order.json",
            "type": "object",
            "properties": {
                "a": {"$ref": "#addr"},
                "b": {"$ref": "https://acme.example/order.json#/$defs/B"},
            },
            "$defs": {"A": {"$anchor": "addr", "type": a_type}, "B": {"type": "string"}},
        }

    assert verdict(tmp_path / "a", "e.schema.json", anchored("string"), anchored("string")) == []
    [reason] = verdict(tmp_path / "b", "e.schema.json", anchored("string"), anchored("integer"))
    assert "field `a`" not in reason and "rejects" in reason


def test_json_a_ref_to_another_document_cannot_be_proven(tmp_path: Path) -> None:
    other = {"type": "object", "properties": {"a": {"$ref": "common.json#/A"}}}
    in_allof = {"type": "object", "properties": {"a": {"allOf": [{"$ref": "common.json#/A"}]}}}
    assert any(
        "cannot check it" in r for r in verdict(tmp_path / "a", "e.schema.json", other, other)
    )
    assert any(
        "cannot check it" in r for r in verdict(tmp_path / "b", "e.schema.json", in_allof, in_allof)
    )


@pytest.mark.parametrize(
    ("old_extra", "new_extra", "backward_ok"),
    [
        ({}, {"additionalProperties": True}, True),
        ({"additionalProperties": True}, {}, True),
        ({"additionalProperties": True}, {"additionalProperties": False}, False),
        (
            {"additionalProperties": {"type": "string"}},
            {"additionalProperties": {"type": "integer"}},
            False,
        ),
        ({"additionalProperties": False}, {"additionalProperties": {"type": "string"}}, True),
        (
            {"patternProperties": {"^x-": {"type": "string"}}},
            {"patternProperties": {"^x-": {"type": "integer"}}},
            False,
        ),
        (
            {"patternProperties": {"^x-": {"type": "string"}}},
            {"patternProperties": {"^x-": {"type": "string"}}},
            True,
        ),
    ],
)
def test_json_additional_and_pattern_properties(
    tmp_path: Path, old_extra: dict, new_extra: dict, backward_ok: bool
) -> None:
    def schema(extra: dict) -> dict:
        return {"type": "object", "properties": {"a": {"type": "string"}}, **extra}

    assert (
        verdict(tmp_path, "e.schema.json", schema(old_extra), schema(new_extra)) == []
    ) is backward_ok


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "object", "properties": {"a": 5}}, "#/properties/a is 5, not a schema"),
        ({"type": "object", "required": "a"}, "#/required must be a list of property names"),
        ({"type": "object", "additionalProperties": "no"}, '#/additionalProperties is "no"'),
        ({"anyOf": []}, "#/anyOf must be a non-empty list of schemas"),
        ({"type": "strin"}, "#/type must be a type name"),
        ({"items": {"anyOf": [{"type": "string"}, 3]}}, "#/items/anyOf/1 is 3"),
    ],
)
def test_json_a_malformed_schema_is_bad_input_naming_where(
    tmp_path: Path, schema: dict, expected: str
) -> None:
    good = {"type": "object"}
    for old, new, where in ((good, schema, ""), (schema, good, " at v1.0.0")):
        done = run_evtgen(
            "schema", "check", history(tmp_path / where.strip(), "e.schema.json", old, new)
        )
        assert done.code == 2 and "Traceback" not in done.stderr, done.stderr
        assert f"schemas/e.schema.json{where}: not a valid JSON Schema: {expected}" in done.stderr


def test_schemas_saved_with_a_bom_are_read(tmp_path: Path) -> None:
    repo = history(tmp_path, "e.schema.json", {"type": "object"}, {"type": "object"})
    for name, schema in (("e.schema.json", {"type": "object"}), ("o.avsc", order())):
        (repo / "schemas" / name).write_text("\ufeff" + json.dumps(schema), encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "saved on Windows")
    git(repo, "tag", "v1.1.0")
    done = run_evtgen("schema", "check", repo)
    assert done.code == 0, done.stderr


def test_avro_a_changed_logical_type_is_a_finding_though_the_checker_allows_it(
    tmp_path: Path,
) -> None:
    def event(a_type: dict | str, b_type: dict | str = "string") -> dict:
        return {
            "type": "record",
            "name": "E",
            "fields": [
                {"name": "a", "type": ["null", a_type], "default": None},
                {"name": "b", "type": {"type": "array", "items": b_type}},
            ],
        }

    micros = {"type": "long", "logicalType": "timestamp-micros"}
    millis = {"type": "long", "logicalType": "timestamp-millis"}
    [reason] = verdict(tmp_path / "a", "e.avsc", event(micros), event(millis))
    assert "logical type changed" in reason and "timestamp-micros" in reason
    cents = {"type": "bytes", "logicalType": "decimal", "precision": 18, "scale": 2}
    mills = {**cents, "scale": 3}
    reasons = verdict(tmp_path / "b", "e.avsc", event("long", cents), event("long", mills))
    assert reasons and "decimal(18, 2)" in reasons[0]
    # annotating a plain long with what it always held is the checker's call: fine
    assert verdict(tmp_path / "c", "e.avsc", event("long"), event(millis)) == []
