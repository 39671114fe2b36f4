"""A message's payload: JSON Schema or Avro (by its `schemaFormat`), read into fields
checked by the model file's own rules, with the document's lines."""

from __future__ import annotations

from evtgen.asyncapi.documents import Documents
from evtgen.asyncapi.parts import PayloadSpecs
from evtgen.asyncapi.payloads_avro import AvroPayloads
from evtgen.asyncapi.payloads_jsonschema import JsonSchemaPayloads
from evtgen.loader.fields import read_fields
from evtgen.loader.pieces import mapping_at
from evtgen.model import Field, ValueType
from evtgen.yamllines import LineMap

#: The schemaFormats (without their version) read as JSON Schema.
JSON_SCHEMA_FORMATS = (
    "application/schema+json",
    "application/schema+yaml",
    "application/vnd.aai.asyncapi",
    "application/vnd.aai.asyncapi+json",
    "application/vnd.aai.asyncapi+yaml",
)


class Payloads:
    def __init__(self, docs: Documents, service: str) -> None:
        self.docs = docs
        self.problems = docs.problems
        self.json_schema = JsonSchemaPayloads(docs)
        self.avro = AvroPayloads(docs.problems, service)
        #: the formats of the payloads read ("avro", "jsonschema")
        self.formats: set[str] = set()

    def read(
        self, payload: LineMap, file: str, message: str
    ) -> tuple[tuple[Field, ...], str, str | None] | None:
        """Fields, doc and (for Avro) record name of a payload."""
        read = self.specs(payload, file, message)
        if read is None:
            return None
        return self.fields(read), read.doc, read.record

    def specs(self, payload: LineMap, file: str, message: str) -> PayloadSpecs | None:
        if "schemaFormat" in payload:
            schema_format = payload.get("schemaFormat")
            schema, schema_file = self.docs.deref(payload.get("schema"), file)
            if not isinstance(schema_format, str):
                self.problems.fail(
                    file, payload.line_of("schemaFormat"), "schemaFormat must be a string"
                )
                return None
            kind = schema_format.split(";")[0].strip().lower()
            if schema is None:
                if "schema" not in payload:
                    self.problems.fail(
                        file, payload.line, f"payload of message {message} has no schema"
                    )
                return None
            if kind.startswith("application/vnd.apache.avro"):
                self.formats.add("avro")
                return self.avro.read(schema, schema_file, message)
            if kind in JSON_SCHEMA_FORMATS:
                self.formats.add("jsonschema")
                return self.json_schema.read(schema, schema_file, message)
            self.problems.fail(
                file,
                payload.line_of("schemaFormat"),
                f"schemaFormat {schema_format!r} of message {message} is not supported: "
                "evtgen reads JSON Schema and Avro payloads",
            )
            return None
        self.formats.add("jsonschema")
        return self.json_schema.read(payload, file, message)

    def fields(self, read: PayloadSpecs) -> tuple[Field, ...]:
        """Checked by the model's own rules (names, defaults), with the document's lines:
        a name is kept as the wire name, the Python attribute is derived from it."""
        item = mapping_at(read.specs.line, fields=read.specs)
        return read_fields(
            self.problems.in_file(read.file), item, f"message {read.owner}", self.records()
        )

    def records(self) -> set[str]:
        """The names of the value objects read so far (nested objects and records)."""
        return set(self.json_schema.records) | set(self.avro.records)

    def value_types(self) -> list[ValueType]:
        """The value objects the payloads hold, read like their messages."""
        found = []
        for name, read in {**self.json_schema.records, **self.avro.records}.items():
            if read is None:
                continue
            item = mapping_at(read.specs.line, fields=read.specs)
            fields = read_fields(
                self.problems.in_file(read.file), item, f"type {name}", self.records()
            )
            found.append(ValueType(name, fields, read.doc, read.specs.line))
        return found
