"""Avro compatibility: Apache Avro's reader/writer checker, its result in plain words.

The verdict is that of `avro.compatibility.ReaderWriterCompatibilityChecker` (can
`reader` read every datum `writer` writes?), plus one thing it does not compare: two
different logical types on one base type. The checker reports its findings as
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
    import warnings

    import avro.schema

    try:
        with warnings.catch_warnings():
            # an unknown logical type is a warning on stderr; its base type is what counts
            warnings.simplefilter("ignore")
            return avro.schema.parse(text)
    except Exception as err:  # avro raises many kinds (SchemaParseException, TypeError...)
        raise ValueError(f"not a valid Avro schema: {_one_line(str(err))}") from err


def compatible(reader: Any, writer: Any) -> bool:
    """The Avro checker's verdict alone."""
    from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

    result = ReaderWriterCompatibilityChecker().get_compatibility(  # type: ignore[no-untyped-call]
        reader, writer
    )
    return result.compatibility is SchemaCompatibilityType.compatible


def issues(reader: Any, writer: Any, reader_label: str, writer_label: str) -> list[Issue]:
    """Why `reader` cannot read what `writer` writes; [] when the Avro checker says it
    can and no logical type changed. The labels name each side in the reasons ("the new schema")."""
    from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

    result = ReaderWriterCompatibilityChecker().get_compatibility(  # type: ignore[no-untyped-call]
        reader, writer
    )
    if result.compatibility is SchemaCompatibilityType.compatible:
        # the checker does not compare logical types: evtgen does, on top (see
        # docs/schema-compatibility.md)
        return _logical_changes(reader, writer, reader_label, writer_label)
    found: list[Issue] = []
    _Locate(reader_label, writer_label, found).pair(reader, writer, [])
    if not found:  # the checker's verdict rules; say what it said
        messages = "; ".join(sorted(result.messages))
        found.append(
            Issue("", f"{reader_label} cannot read data written with {writer_label}: {messages}")
        )
    unique: list[Issue] = []
    for issue in found:
        if issue not in unique:
            unique.append(issue)
    return unique


class _Locate:
    """Descends both schemas where the Avro checker finds a pair incompatible, down to
    the fields that make it so. (The checker's own locations lose their place inside
    unions, so they cannot name the field.)"""

    def __init__(self, reader_label: str, writer_label: str, found: list[Issue]) -> None:
        self.r_label, self.w_label, self.found = reader_label, writer_label, found
        self.seen: set[tuple[int, int]] = set()  # recursive named types

    def ok(self, reader: Any, writer: Any) -> bool:
        return compatible(reader, writer)

    def say(self, path: list[str], reason: str) -> None:
        self.found.append(Issue(_dotted(path), reason))

    def pair(self, r: Any, w: Any, path: list[str]) -> None:
        from avro.schema import (
            ArraySchema,
            EnumSchema,
            FixedSchema,
            MapSchema,
            RecordSchema,
            UnionSchema,
        )

        key = (id(r), id(w))
        if key in self.seen or self.ok(r, w):
            return
        self.seen.add(key)
        if isinstance(w, UnionSchema) and not isinstance(r, UnionSchema):
            for branch in w.schemas:
                if not self.ok(r, branch):
                    if branch.type == r.type or _named_alike(r, branch):
                        self.pair(r, branch, path)
                    else:
                        self.say(
                            path,
                            f"{self.w_label} may write {_type(branch)} here, "
                            f"which {self.r_label}'s {_type(r)} cannot read",
                        )
            return
        if isinstance(w, UnionSchema) and isinstance(r, UnionSchema):
            for branch in w.schemas:
                if not self.ok(r, branch):
                    self.pair(r, branch, path)
            return
        if isinstance(r, UnionSchema):
            alike = [b for b in r.schemas if b.type == w.type or _named_alike(b, w)]
            if alike:  # show what differs inside the branch meant to read it
                self.pair(alike[0], w, path)
            else:
                self.say(
                    path,
                    f"{self.w_label} writes {_type(w)} here, which "
                    f"{self.r_label}'s {_type(r)} lacks",
                )
            return
        if r.type != w.type:
            self.say(
                path,
                f"type changed: {self.r_label} reads {_type(r)} where "
                f"{self.w_label} writes {_type(w)}",
            )
            return
        named = (RecordSchema, EnumSchema, FixedSchema)
        if isinstance(r, named) and not _named_alike(r, w):
            self.say(
                path,
                f"the {r.type} {w.fullname} of {self.w_label} is {r.fullname} in "
                f"{self.r_label}, with no alias to match it",
            )
            return
        if isinstance(r, RecordSchema):
            for field in r.fields:
                w_field = _writer_field(w, field)
                here = [*path, field.name]
                if w_field is None:
                    if not field.has_default:
                        self.say(here, _missing(field.name, self.r_label, self.w_label))
                else:
                    self.pair(field.type, w_field.type, here)
        elif isinstance(r, EnumSchema):
            missing = sorted(set(w.symbols) - set(r.symbols))
            self.say(
                path,
                f"enum symbols {', '.join(missing)} that {self.w_label} may write "
                f"are unknown to {self.r_label}, whose enum has no default to fall back on",
            )
        elif isinstance(r, FixedSchema):
            self.say(
                path,
                f"fixed size changed: {w.size} bytes in {self.w_label}, {r.size} in {self.r_label}",
            )
        elif isinstance(r, ArraySchema):
            self.pair(r.items, w.items, [*path, "[]"])
        elif isinstance(r, MapSchema):
            self.pair(r.values, w.values, [*path, "{}"])


def _named_alike(reader: Any, writer: Any) -> bool:
    """Same named type: the reader's name, or one of its aliases, is the writer's."""
    from avro.schema import NamedSchema

    if not isinstance(reader, NamedSchema) or not isinstance(writer, NamedSchema):
        return False
    if reader.type != writer.type:
        return False
    aliases: Any = reader.props.get("aliases") or ()
    return bool(reader.name == writer.name or writer.fullname in aliases)


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


def _logical(schema: Any) -> str | None:
    """How a primitive or fixed's bytes are to be read: its logical type, with a
    decimal's precision and scale; None for a plain value."""
    props = getattr(schema, "props", {}) or {}
    logical = props.get("logicalType")
    if not isinstance(logical, str):
        return None
    if logical == "decimal":
        return f"decimal({props.get('precision')}, {props.get('scale', 0)})"
    return logical


def _logical_changes(reader: Any, writer: Any, r_label: str, w_label: str) -> list[Issue]:
    """Where both schemas hold the same base type with different logical types
    (timestamp-micros read as timestamp-millis, decimal(18, 2) as decimal(18, 4)):
    Avro's checker accepts that, yet every value would be read wrong."""
    found: list[Issue] = []
    seen: set[tuple[int, int]] = set()

    def same_kind(r: Any, w: Any) -> bool:
        if r.type != w.type:
            return False
        return (
            not hasattr(w, "fullname")
            or r.fullname == w.fullname
            or (w.fullname in (getattr(r, "props", {}).get("aliases") or []))
        )

    def walk(r: Any, w: Any, path: list[str]) -> None:
        if (id(r), id(w)) in seen:
            return
        seen.add((id(r), id(w)))
        if w.type == "union" or r.type == "union":
            r_branches = r.schemas if r.type == "union" else [r]
            for branch in w.schemas if w.type == "union" else [w]:
                match = next((b for b in r_branches if same_kind(b, branch)), None)
                if match is not None:
                    walk(match, branch, path)
            return
        if r.type != w.type:
            return  # a promotion (int to long...): no logical type on either side matters
        if r.type in ("record", "error"):
            by_name = {f.name: f for f in w.fields}
            for field in r.fields:
                names = [field.name, *(field.props.get("aliases") or [])]
                mine = next((by_name[n] for n in names if n in by_name), None)
                if mine is not None:
                    walk(field.type, mine.type, [*path, field.name])
        elif r.type == "array":
            walk(r.items, w.items, [*path, "[]"])
        elif r.type == "map":
            walk(r.values, w.values, [*path, "{}"])
        elif _logical(r) and _logical(w) and _logical(r) != _logical(w):
            # (adding or dropping the annotation alone is left to the checker: a plain
            # long annotated as the timestamp-millis it always was is common and fine)
            found.append(
                Issue(
                    _dotted(path),
                    f"logical type changed: {w_label} writes {w.type} as {_logical(w)}, "
                    f"which {r_label} reads as {_logical(r)}; Avro's checker allows it, "
                    "but every value would be read wrong",
                )
            )

    walk(reader, writer, [])
    return found
