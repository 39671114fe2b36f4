"""Avro payloads: a record's fields as fields in the model file's format, through the
one type table (`fieldtypes.py`, read backwards)."""

from __future__ import annotations

from typing import Any

from evtgen.asyncapi.parts import PayloadSpecs
from evtgen.fieldtypes import DECIMAL_PRECISION, DECIMAL_SCALE, SCALARS
from evtgen.loader.pieces import mapping_at
from evtgen.model import Model
from evtgen.problems import Problems
from evtgen.schemas import avro_namespace
from evtgen.yamllines import LineList, LineMap

AVRO_PRIMITIVES = {"string", "int", "long", "float", "double", "boolean"}


class AvroPayloads:
    """An Avro record payload read into field specs."""

    def __init__(self, problems: Problems, service: str) -> None:
        self.problems = problems
        #: the value objects read (nested records), by name
        self.records: dict[str, PayloadSpecs | None] = {}
        self.service = service

    def read(self, schema: Any, file: str, message: str) -> PayloadSpecs | None:
        if not isinstance(schema, LineMap) or schema.get("type") != "record":
            self.problems.fail(
                file,
                getattr(schema, "line", 0),
                f"the Avro payload of message {message} must be a record",
            )
            return None
        name = schema.get("name")
        if not isinstance(name, str):
            self.problems.fail(
                file, schema.line, f"the Avro record of message {message} has no name"
            )
            return None
        name = name.rsplit(".", 1)[-1]
        namespace = schema.get("namespace")
        expected = avro_namespace(Model(self.service, "", (), (), (), ()))
        if namespace is not None and namespace != expected:
            self.problems.warn(
                file,
                schema.line_of("namespace"),
                f"Avro record {name}: namespace {namespace!r} becomes {expected!r}",
            )
        for key in set(schema) - {"type", "name", "namespace", "doc", "fields"}:
            self.problems.warn(file, schema.line_of(key), f"Avro record {name}: {key} is not kept")
        raw_fields = schema.get("fields")
        if not isinstance(raw_fields, LineList):
            self.problems.fail(
                file, schema.line_of("fields"), f"Avro record {name} needs a list of fields"
            )
            return None
        specs = self.record_specs(raw_fields, file, name, f"message {name}")
        doc = schema.get("doc", "")
        return PayloadSpecs(specs, file, name, doc.strip() if isinstance(doc, str) else "", name)

    def record_specs(self, raw_fields: LineList, file: str, name: str, what: str) -> LineMap:
        """A record's fields as field specs (a payload's, or a nested record's: `what`
        is "message X" or "type X")."""
        specs = mapping_at(raw_fields.line)
        named: dict[str, LineMap] = {}
        for index, item in enumerate(raw_fields):
            line = raw_fields.item_lines[index]
            if not isinstance(item, LineMap) or not isinstance(item.get("name"), str):
                self.problems.fail(
                    file, line, f"each field of Avro record {name} needs a name and a type"
                )
                continue
            fname = item["name"]
            owner = f"field {fname} of {what}"
            for key in set(item) - {"name", "type", "default", "doc"}:
                self.problems.warn(file, item.line_of(key), f"{owner}: Avro {key} is not kept")
            spec = self.type_spec(
                item.get("type"), file, owner, item.line_of("type"), named, name, fname
            )
            if spec is None:
                continue
            if "default" in item:
                default = item["default"]
                if not (default is None and spec.get("optional") and null_first(item.get("type"))):
                    spec["default"] = default
                    spec.key_lines["default"] = item.line_of("default")
            if isinstance(item.get("doc"), str):
                spec["doc"] = item["doc"]
            specs[fname] = spec
            specs.key_lines[fname] = line
        return specs

    def type_spec(
        self,
        avro: Any,
        file: str,
        owner: str,
        line: int,
        named: dict[str, LineMap],
        record: str,
        fname: str,
    ) -> LineMap | None:
        def unsupported(what: str) -> None:
            self.problems.fail(file, line, f"{owner} is {what}, which the model cannot express")

        if isinstance(avro, LineList):
            branches = [b for b in avro if b != "null"]
            if len(avro) != 2 or len(branches) != 1:
                unsupported(f"a union {list(avro)} (only a type with null is supported)")
                return None
            spec = self.type_spec(branches[0], file, owner, line, named, record, fname)
            if spec is not None:
                spec["optional"] = True
            return spec
        if isinstance(avro, str):
            if avro in AVRO_PRIMITIVES:
                return mapping_at(line, type=avro)
            if avro.rsplit(".", 1)[-1] in self.records:  # a record named before
                return mapping_at(line, type=avro.rsplit(".", 1)[-1])
            if avro in named or avro.rsplit(".", 1)[-1] in named:
                return self.type_spec(
                    named.get(avro) or named[avro.rsplit(".", 1)[-1]],
                    file, owner, line, {}, record, fname,
                )  # fmt: skip
            unsupported(f"of Avro type {avro!r}")
            return None
        if not isinstance(avro, LineMap):
            unsupported(f"of Avro type {avro!r}")
            return None
        line = avro.line or line
        base, logical = avro.get("type"), avro.get("logicalType")
        if logical is not None:
            for kind in ("uuid", "timestamp", "decimal"):
                if same_avro(avro, SCALARS[kind].avro):
                    return mapping_at(line, type=kind)
            if logical == "decimal":
                unsupported(
                    f"a decimal({avro.get('precision')},{avro.get('scale')}); evtgen's decimals "
                    f"are decimal({DECIMAL_PRECISION},{DECIMAL_SCALE})"
                )
            else:
                unsupported(f"an Avro {base} with logicalType {logical!r}")
            return None
        if not isinstance(base, str):  # `type: {type: ...}`: a type written inside
            return self.type_spec(base, file, owner, line, named, record, fname)
        if base in AVRO_PRIMITIVES:
            extra = set(avro) - {"type"}
            if extra:
                self.problems.warn(file, line, f"{owner}: Avro {', '.join(sorted(extra))} not kept")
            return mapping_at(line, type=base)
        if base == "enum":
            symbols = avro.get("symbols")
            enum_name = avro.get("name")
            if isinstance(enum_name, str):
                named[enum_name] = avro
                if enum_name != f"{record}_{fname}":
                    self.problems.warn(
                        file,
                        avro.line_of("name"),
                        f"{owner}: Avro enum {enum_name} becomes {record}_{fname} "
                        "(evtgen names enums after their event and field)",
                    )
            if "default" in avro:
                self.problems.warn(
                    file, avro.line_of("default"), f"{owner}: the enum's own default is not kept"
                )
            return mapping_at(line, type="enum", symbols=symbols)
        if base == "array":
            items = self.type_spec(
                avro.get("items"), file, f"the items of {owner}", line, named, record, fname
            )
            return mapping_at(line, type="list", items=items) if items is not None else None
        if base == "map":
            values = self.type_spec(
                avro.get("values"), file, f"the values of {owner}", line, named, record, fname
            )
            return mapping_at(line, type="map", values=values) if values is not None else None
        if base == "record":
            # a value object, named by its record's (short) name
            name, fields = avro.get("name"), avro.get("fields")
            if not isinstance(name, str) or not isinstance(fields, LineList):
                unsupported("a record without a name and a list of fields")
                return None
            name = name.rsplit(".", 1)[-1]
            if name not in self.records:
                self.records[name] = None
                specs = self.record_specs(fields, file, name, f"type {name}")
                doc = avro.get("doc", "")
                self.records[name] = PayloadSpecs(
                    specs, file, name, doc.strip() if isinstance(doc, str) else ""
                )
            return mapping_at(line, type=name)
        else:
            unsupported(f"of Avro type {base!r}")
        return None


def same_avro(given: LineMap, table: Any) -> bool:
    return (
        isinstance(table, dict)
        and all(given.get(k) == v for k, v in table.items())
        and set(given) <= set(table)
    )


def null_first(avro: Any) -> bool:
    return isinstance(avro, list) and bool(avro) and avro[0] == "null"
