"""The fields of an entry and their types, in the model file's format (`fields.md`
names the types; `fieldtypes.py` holds them)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from typing import Any

from evtgen.fieldtypes import ALL_TYPES, RECORD, SCALARS, FieldType
from evtgen.loader.names import SYMBOL
from evtgen.loader.pieces import unknown_keys
from evtgen.model import NO_DEFAULT, WIRE_NAME, Field, pascal, python_name
from evtgen.problems import FileProblems
from evtgen.yamllines import LineMap, plain

FIELD_KEYS = {"type", "optional", "default", "doc", "symbols", "items", "values"}

#: What other schema languages call the model's types.
_TYPE_SYNONYMS = {
    "str": "string",
    "text": "string",
    "integer": "int (32-bit) or long (64-bit)",
    "int32": "int",
    "int64": "long",
    "bigint": "long",
    "number": "double",
    "bool": "boolean",
    "datetime": "timestamp",
    "date-time": "timestamp",
    "instant": "timestamp",
    "money": "decimal",
    "bigdecimal": "decimal",
    "guid": "uuid",
}


def type_hint(kind: str) -> str:
    """A hint for an unknown type name: the model's spelling of what was meant."""
    lowered = kind.lower()
    if lowered in SCALARS:
        return f"; did you mean {lowered!r}? (types are lowercase)"
    if lowered in _TYPE_SYNONYMS:
        return f"; did you mean {_TYPE_SYNONYMS[lowered]}?"
    if lowered.endswith("[]") or lowered.startswith(("list<", "list[", "array")):
        return "; write a list field as {type: list, items: <type>}"
    if lowered in ("record", "object", "struct"):
        return f"; name a value object of the model's types: instead of {lowered}"
    if lowered == "dict":
        return "; write a map field as {type: map, values: <type>}"
    return ""


def read_fields(
    out: FileProblems, item: LineMap, owner: str, records: Collection[str] = ()
) -> tuple[Field, ...]:
    """The entry's `fields:`; `records` names the model's value objects (`types:`),
    which a field's type may name."""
    value = item.get("fields")
    if value is None:
        return ()
    if not isinstance(value, LineMap):
        out.fail(item.line_of("fields"), f"fields of {owner} must be a mapping of name: type")
        return ()
    found = []
    attrs: dict[str, str] = {}
    for name, spec in value.items():
        where = value.line_of(name)
        # The name is the one on the wire; the generated Python may use another
        # (python_name: `sentAt` -> `sent_at`, `from` -> `from_`), so any name
        # Avro and JSON can both carry is fine.
        if not isinstance(name, str) or not WIRE_NAME.match(name):
            out.fail(
                where,
                f"field name {name!r} of {owner} must be letters, digits and '_', "
                "not starting with a digit (a name Avro and JSON can both carry)",
            )
            continue
        attr = python_name(name)
        if attr in attrs:
            out.fail(
                where,
                f"field names {attrs[attr]!r} and {name!r} of {owner} both become "
                f"{attr!r} in Python; rename one",
            )
            continue
        attrs[attr] = name
        built = read_field(out, name, spec, where, owner, records)
        if built:
            found.append(built)
    return tuple(found)


def read_field(
    out: FileProblems, name: str, spec: Any, line: int, owner: str, records: Collection[str] = ()
) -> Field | None:
    if isinstance(spec, str):
        field_type = named_type(out, spec, line, f"field {name} of {owner}", records)
        return Field(name, field_type) if field_type else None
    if isinstance(spec, list):
        out.fail(
            line,
            f"field {name} of {owner} is a YAML list; write a list field as "
            "{type: list, items: <type>}",
        )
        return None
    if not isinstance(spec, LineMap):
        out.fail(line, f"field {name} of {owner} must be a type name or a mapping with 'type:'")
        return None
    if "type" not in spec and spec and not set(spec) & FIELD_KEYS:
        # `address: {street: string, zip: string}`: a nested object, as JSON has
        out.fail(
            line,
            f"field {name} of {owner} is a nested object ({', '.join(map(str, spec))}); "
            f"name it as a value object under types: (e.g. {pascal(name)}) and write "
            f"{name}: {pascal(name)}",
        )
        return None
    unknown_keys(out, spec, FIELD_KEYS, f"field {name} of {owner}")
    field_type = mapped_type(out, spec, line, f"field {name} of {owner}", records)
    if field_type is None:
        return None
    default = plain(spec.get("default", NO_DEFAULT))
    if default is not NO_DEFAULT and not field_type.accepts_default(default):
        out.fail(
            spec.line_of("default"),
            f"default {default!r} of field {name} of {owner} is not a "
            f"valid {field_type.kind}"
            + (
                ""
                if SCALARS.get(field_type.kind, None) is None
                or SCALARS[field_type.kind].default_types is not None
                else f" (a {field_type.kind} field cannot have a default)"
            ),
        )
        return None
    doc = spec.get("doc", "")
    return Field(name, field_type, default, doc if isinstance(doc, str) else "")


def named_type(
    out: FileProblems, spec: str, line: int, owner: str, records: Collection[str] = ()
) -> FieldType | None:
    optional = spec.endswith("?")
    kind = spec.rstrip("?").strip()
    if kind in records:
        return FieldType(RECORD, optional, record=kind)
    if kind not in SCALARS:
        hint = (
            f"; write {kind} as a mapping, e.g. {{type: {kind}, ...}}"
            if kind in ALL_TYPES
            else type_hint(kind)
        )
        out.fail(
            line,
            f"unknown type {spec!r} of {owner}; known types: "
            f"{', '.join([*ALL_TYPES, *records])} (add '?' for optional){hint}",
        )
        return None
    return FieldType(kind, optional)


def mapped_type(
    out: FileProblems, spec: LineMap, line: int, owner: str, records: Collection[str] = ()
) -> FieldType | None:
    kind = spec.get("type")
    optional = spec.get("optional", False)
    if not isinstance(optional, bool):
        out.fail(spec.line_of("optional"), f"optional of {owner} must be true or false")
        return None
    if not isinstance(kind, str):
        out.fail(line, f"{owner} needs 'type:'")
        return None
    if kind.endswith("?"):
        optional, kind = True, kind[:-1]
    if kind == "enum":
        symbols = spec.get("symbols")
        if not isinstance(symbols, list) or not symbols:
            out.fail(
                spec.line_of("symbols"),
                f"enum {owner} needs 'symbols:', a list of names such as [OPEN, CLOSED]",
            )
            return None
        bad = [s for s in symbols if not isinstance(s, str) or not SYMBOL.match(s)]
        if bad:
            out.fail(
                spec.line_of("symbols"),
                f"enum {owner} needs 'symbols:', a list of names such as [OPEN, CLOSED]: "
                f"{', '.join(map(repr, bad))} is not a name (letters, digits, '_'; "
                "quote YAML's true/false/yes/no/on/off/null, e.g. 'ON')",
            )
            return None
        if len(set(symbols)) != len(symbols):
            out.fail(spec.line_of("symbols"), f"enum {owner} repeats a symbol")
            return None
        return FieldType("enum", optional, symbols=tuple(symbols))
    if kind in ("list", "map"):
        key, what = ("items", "elements") if kind == "list" else ("values", "values")
        inner = spec.get(key)
        inner_owner = f"the {what} of {owner}"
        if isinstance(inner, str):
            item_type = named_type(out, inner, spec.line_of(key), inner_owner, records)
        elif isinstance(inner, LineMap):
            item_type = mapped_type(out, inner, spec.line_of(key), inner_owner, records)
        else:
            out.fail(spec.line_of(key), f"{kind} {owner} needs '{key}:', the type of its {what}")
            return None
        return FieldType(kind, optional, items=item_type) if item_type else None
    base = named_type(out, kind, spec.line_of("type"), owner, records)
    return replace(base, optional=optional or base.optional) if base else None
