"""Avro compatibility: Apache Avro's reader/writer checker, its result in plain words.

The verdict is exactly that of `avro.compatibility.ReaderWriterCompatibilityChecker`
(can `reader` read every datum `writer` writes?). The checker reports its findings as
locations (`/fields/2/type/symbols`) and loose messages; `issues` walks each location
through both schemas to name the field and say what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Issue:
    """One incompatibility: the field (a dotted path, "" for the whole schema) and why."""

    field: str
    reason: str


def parse(text: str) -> Any:
    """An `avro.schema.Schema` from the text of an .avsc file; ValueError when it is not one."""
    import avro.schema

    try:
        return avro.schema.parse(text)
    except Exception as err:  # avro raises many kinds (SchemaParseException, TypeError...)
        raise ValueError(f"not a valid Avro schema: {_one_line(str(err))}") from err


def compatible(reader: Any, writer: Any) -> bool:
    """The Avro checker's verdict alone."""
    from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

    result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
    return result.compatibility is SchemaCompatibilityType.compatible


def issues(reader: Any, writer: Any, reader_label: str, writer_label: str) -> list[Issue]:
    """Why `reader` cannot read what `writer` writes; [] when the Avro checker says it can.
    The labels name each side in the reasons ("the new schema", "the schema at v1.2.0")."""
    from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

    result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    # The checker restarts its location at "/" inside union branches, so "/" next to
    # a precise location is that branch's detail, already said by the precise one.
    locations = sorted(result.locations)
    precise = [loc for loc in locations if loc != "/"] or locations
    found: list[Issue] = []
    for location in precise:
        issue = _explain(reader, writer, location, reader_label, writer_label)
        if issue is None:
            messages = "; ".join(sorted(result.messages))
            issue = Issue("", f"{reader_label} cannot read data written with {writer_label}: {messages}")
        if issue not in found:
            found.append(issue)
    return found


def _explain(
    reader: Any, writer: Any, location: str, reader_label: str, writer_label: str
) -> Issue | None:
    """Walk `location` through both schemas side by side; None when it does not fit them
    (the checker's locations are relative to a union branch in some cases)."""
    from avro.schema import ArraySchema, MapSchema, RecordSchema, UnionSchema

    r: Any = reader
    w: Any = writer
    path: list[str] = []
    steps = [s for s in location.split("/") if s]
    i = 0
    while i < len(steps):
        step = steps[i]
        if step == "fields" and i + 1 < len(steps) and isinstance(r, RecordSchema):
            index = int(steps[i + 1])
            if index >= len(r.fields):
                return None
            field = r.fields[index]
            path.append(field.name)
            w_field = _writer_field(w, field) if isinstance(w, RecordSchema) else None
            if i + 2 == len(steps):  # the location is the field itself: it lacks a default
                return Issue(_dotted(path), _missing(field.name, reader_label, writer_label))
            if steps[i + 2] != "type":
                return None
            r = field.type
            w = w_field.type if w_field is not None else None
            i += 3
            continue
        if step == "items" and isinstance(r, ArraySchema):
            r, w = r.items, w.items if isinstance(w, ArraySchema) else w
            path.append("[]")
        elif step == "values" and isinstance(r, MapSchema):
            r, w = r.values, w.values if isinstance(w, MapSchema) else w
            path.append("{}")
        elif step.isdigit() and isinstance(w, UnionSchema):  # the writer's union branch
            index = int(step)
            if index >= len(w.schemas):
                return None
            w = w.schemas[index]
            reason = (
                f"{writer_label} may write {_type(w)} here, which {reader_label}'s "
                f"{_type(r)} cannot read"
            )
            return Issue(_dotted(path), reason)
        elif step == "symbols" and i + 1 == len(steps):
            missing = sorted(set(getattr(w, "symbols", ())) - set(getattr(r, "symbols", ())))
            reason = (
                f"enum symbols {', '.join(missing) or '?'} that {writer_label} may write are "
                f"unknown to {reader_label}, whose enum has no default to fall back on"
            )
            return Issue(_dotted(path), reason)
        elif step == "name" and i + 1 == len(steps):
            reason = (
                f"the named type {getattr(w, 'fullname', '?')} of {writer_label} is "
                f"{getattr(r, 'fullname', '?')} in {reader_label}, with no alias to match it"
            )
            return Issue(_dotted(path), reason)
        elif step == "size" and i + 1 == len(steps):
            reason = (
                f"fixed size changed: {getattr(w, 'size', '?')} bytes in {writer_label}, "
                f"{getattr(r, 'size', '?')} in {reader_label}"
            )
            return Issue(_dotted(path), reason)
        else:
            return None
        i += 1
    if w is None:
        return None
    reason = f"type changed: {reader_label} reads {_type(r)} where {writer_label} writes {_type(w)}"
    if isinstance(r, UnionSchema):
        reason = f"{writer_label} writes {_type(w)} here, which {reader_label}'s {_type(r)} lacks"
    return Issue(_dotted(path), reason)


def _missing(name: str, reader_label: str, writer_label: str) -> str:
    return (
        f"{reader_label} has field `{name}` without a default and {writer_label} does not "
        f"have it (nor a field it names as an alias), so {reader_label} cannot read events "
        f"written with {writer_label}: give the field a default"
    )


def _writer_field(writer: Any, reader_field: Any) -> Any:
    """The writer's field the reader's one reads: same name, or one of its aliases."""
    fields = writer.fields_dict
    if reader_field.name in fields:
        return fields[reader_field.name]
    for alias in reader_field.props.get("aliases") or ():
        if alias in fields:
            return fields[alias]
    return None


def _type(schema: Any) -> str:
    """A type in a few words: `string`, `long`, `enum Status`, `union [null, string]`."""
    from avro.schema import ArraySchema, MapSchema, NamedSchema, UnionSchema

    if schema is None:
        return "nothing"
    if isinstance(schema, UnionSchema):
        return "union [" + ", ".join(_short(s) for s in schema.schemas) + "]"
    if isinstance(schema, ArraySchema):
        return f"array of {_short(schema.items)}"
    if isinstance(schema, MapSchema):
        return f"map of {_short(schema.values)}"
    if isinstance(schema, NamedSchema):
        return f"{schema.type} {schema.fullname}"
    return str(schema.type)


def _short(schema: Any) -> str:
    from avro.schema import NamedSchema

    if isinstance(schema, NamedSchema):
        return str(schema.fullname)
    return _type(schema)


def _dotted(path: list[str]) -> str:
    return ".".join(path).replace(".[]", "[]").replace(".{}", "{}")


def _one_line(text: str) -> str:
    return " ".join(text.split())
