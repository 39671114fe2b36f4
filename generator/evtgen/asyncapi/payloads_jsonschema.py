"""JSON Schema payloads: an object schema's properties as fields in the model file's
format, through the one type table (`fieldtypes.py`, read backwards)."""

from __future__ import annotations

from typing import Any

from evtgen.asyncapi.documents import Documents
from evtgen.asyncapi.parts import PayloadSpecs
from evtgen.fieldtypes import INT32, INT64, SCALARS
from evtgen.loader.names import TYPE_NAME
from evtgen.loader.pieces import mapping_at
from evtgen.model import pascal
from evtgen.yamllines import LineMap

#: JSON Schema keywords that only annotate (kept: description and default; others
#: do not change what a message may hold).
JSON_ANNOTATIONS = {
    "title",
    "description",
    "default",
    "examples",
    "example",
    "$comment",
    "readOnly",
    "writeOnly",
    "deprecated",
    "externalDocs",
    "$schema",
    "$id",
}
#: JSON Schema keywords that make a field more than one type: refused.
COMPOSITIONS = {
    "oneOf",
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "patternProperties",
    "dependencies",
    "dependentSchemas",
    "dependentRequired",
    "discriminator",
    "const",
}
DECIMAL_PATTERN = SCALARS["decimal"].json_schema["pattern"]


class JsonSchemaPayloads:
    """A JSON Schema payload read into field specs (and the schemas it names by `$ref`)."""

    def __init__(self, docs: Documents) -> None:
        self.docs = docs
        self.problems = docs.problems
        #: the value objects read (nested objects), by name
        self.records: dict[str, PayloadSpecs | None] = {}

    def read(self, schema: Any, file: str, message: str) -> PayloadSpecs | None:
        if not isinstance(schema, LineMap):
            self.problems.fail(
                file, 0, f"payload of message {message} must be a JSON Schema object"
            )
            return None
        schema, file = self.single_all_of(schema, file)
        if schema.get("type", "object") != "object":
            self.problems.fail(
                file,
                schema.line_of("type"),
                f"payload of message {message} is a {schema.get('type')}: evtgen reads "
                "object payloads (an event is a record of fields)",
            )
            return None
        self.unsupported(schema, file, f"payload of message {message}", object_keys=True)
        specs = self.object_specs(schema, file, f"message {message}")
        if specs is None:
            return None
        doc = schema.get("description", "")
        return PayloadSpecs(specs, file, message, doc.strip() if isinstance(doc, str) else "")

    def object_specs(self, schema: LineMap, file: str, what: str) -> LineMap | None:
        """An object schema's properties as field specs (a payload's, or a value
        object's: `what` is "message X" or "type X")."""
        whole = f"payload of {what}" if what.startswith("message ") else what
        additional = schema.get("additionalProperties", True)
        if additional is not False:
            self.problems.warn(
                file,
                schema.line_of("additionalProperties"),
                f"{whole} is open (additionalProperties is not false): "
                "evtgen's schemas are closed, so a producer sending more fields fails its "
                "contract tests",
            )
        properties, props_file = self.docs.deref(schema.get("properties") or mapping_at(0), file)
        required = schema.get("required") or []
        names = isinstance(required, list) and all(isinstance(r, str) for r in required)
        if not isinstance(properties, LineMap) or not names:
            self.problems.fail(file, schema.line, f"{whole}: bad properties or required")
            return None
        for name in required:
            if name not in properties:
                self.problems.fail(
                    file,
                    schema.line_of("required"),
                    f"{whole} requires {name!r}, which is not a property",
                )
        specs = mapping_at(properties.line)
        for name, raw in properties.items():
            owner = f"field {name} of {what}"
            prop, prop_file = self.docs.deref(raw, props_file)
            spec = self.field_spec(prop, prop_file, owner, properties.line_of(name), pascal(name))
            if spec is None:
                continue
            optional = spec.get("optional", False)
            if name in required and optional:
                self.problems.warn(
                    prop_file,
                    properties.line_of(name),
                    f"{owner} is required but may be null: read as optional",
                )
            if name not in required and not optional and "default" not in spec:
                self.problems.warn(
                    prop_file,
                    properties.line_of(name),
                    f"{owner} is not required and has no default: read as optional "
                    "(evtgen sends null for a value it does not have)",
                )
                spec["optional"] = True
            specs[name] = spec
            specs.key_lines[name] = properties.line_of(name)
        return specs

    def single_all_of(self, schema: LineMap, file: str) -> tuple[LineMap, str]:
        """`allOf` of one schema and annotations (a common way to describe a `$ref`:
        `allOf: [{$ref: ...}, {description: ...}]`) is that schema, annotated."""
        branches = schema.get("allOf")
        if not isinstance(branches, list):
            return schema, file
        resolved = [self.docs.deref(b, file) for b in branches]
        if not all(isinstance(b, LineMap) for b, _ in resolved):
            return schema, file
        typed = [(b, f) for b, f in resolved if set(b) - JSON_ANNOTATIONS]
        if len(typed) > 1:
            return self.merged_objects(schema, file, typed)
        # the typed branch first; annotations beside it, then the schema's own, win
        merged = mapping_at(schema.line)
        notes = [b for b, _ in resolved if not set(b) - JSON_ANNOTATIONS]
        target_file = file
        if typed:
            inner, target_file = self.single_all_of(*typed[0])
            notes.insert(0, inner)
        for branch in notes:
            merged.update(branch)
            merged.key_lines.update(branch.key_lines)
        for key, value in schema.items():
            if key != "allOf":
                merged[key] = value
                merged.key_lines[key] = schema.line_of(key)
        return merged, target_file

    def merged_objects(
        self, schema: LineMap, file: str, typed: list[tuple[LineMap, str]]
    ) -> tuple[LineMap, str]:
        """`allOf` of object schemas (a base and what extends it) is one record: their
        properties together, each required where one branch requires it; closed
        unless every branch is open. A property two branches give differently, or
        branches of other types or files, are left to the caller to refuse."""
        branches = [self.single_all_of(b, f) for b, f in typed]
        files = {f for _, f in branches}
        objects = all(
            b.get("type", "object") == "object" and "properties" in b for b, _ in branches
        )
        if len(files) != 1 or not objects:
            return schema, file
        properties = mapping_at(schema.line)
        required: list[Any] = []
        open_content = True
        for branch, _ in branches:
            given = branch["properties"]
            if not isinstance(given, LineMap):
                return schema, file
            for name, prop in given.items():
                if name in properties and properties[name] != prop:
                    self.problems.fail(
                        file,
                        given.line_of(name),
                        f"allOf: property {name!r} is given twice, differently; a record "
                        "has one type per field",
                    )
                properties[name] = prop
                properties.key_lines[name] = given.line_of(name)
            wanted = branch.get("required") or []
            if not isinstance(wanted, list):  # `required: true`, draft 3's form
                self.problems.fail(
                    file,
                    branch.line_of("required"),
                    "allOf: required must be a list of property names",
                )
                return schema, file
            required += [r for r in wanted if r not in required]
            open_content = open_content and branch.get("additionalProperties", True) is not False
        merged = mapping_at(schema.line, type="object", properties=properties, required=required)
        if not open_content:
            merged["additionalProperties"] = False
        for key, value in schema.items():
            if key != "allOf":
                merged[key] = value
                merged.key_lines[key] = schema.line_of(key)
        return merged, files.pop()

    def unsupported(
        self, schema: LineMap, file: str, owner: str, object_keys: bool = False
    ) -> None:
        allowed = set(JSON_ANNOTATIONS)
        if object_keys:
            allowed |= {"type", "properties", "required", "additionalProperties"}
        for key in schema:
            if key in allowed:
                continue
            if object_keys and key in ("oneOf", "anyOf"):
                self.problems.fail(
                    file,
                    schema.line_of(key),
                    f"{owner} is one of several schemas ({key}): an event has one schema; "
                    "make each alternative a message of its own, on a channel of its own",
                )
            elif key in COMPOSITIONS:
                self.problems.fail(
                    file,
                    schema.line_of(key),
                    f"{owner} uses {key}, which the model cannot express (a field has one type)",
                )
            else:
                self.problems.warn(file, schema.line_of(key), f"{owner}: {key} is not kept")

    def field_spec(
        self, prop: Any, file: str, owner: str, line: int, hint: str = ""
    ) -> LineMap | None:
        """A JSON Schema property as a field spec in the model file's format; `hint`
        names a nested object without a title (the field's name, in PascalCase)."""
        if not isinstance(prop, LineMap):
            if prop is not None:
                self.problems.fail(file, line, f"{owner} must be a schema")
            return None
        prop, file = self.single_all_of(prop, file)
        spec = self.type_spec(prop, file, owner, line, hint)
        if spec is None:
            return None
        if "default" in prop:
            spec["default"] = prop["default"]
            spec.key_lines["default"] = prop.line_of("default")
        # a value object's description is its own, not the field's
        if isinstance(prop.get("description"), str) and spec.get("type") not in self.records:
            spec["doc"] = prop["description"]
        return spec

    def element_spec(
        self, prop: LineMap, key: str, file: str, owner: str, shape: str, part: str, hint: str
    ) -> LineMap | None:
        """The type of what an array (`items`) or a map (`additionalProperties`) holds."""
        element, element_file = self.docs.deref(prop.get(key), file)
        if not isinstance(element, LineMap):
            self.problems.fail(
                file, prop.line_of(key), f"{owner} is {shape} without one `{key}` schema"
            )
            return None
        return self.type_spec(
            element, element_file, f"the {part} of {owner}", prop.line_of(key), hint
        )

    def type_spec(
        self, prop: LineMap, file: str, owner: str, line: int, hint: str = ""
    ) -> LineMap | None:
        prop, file = self.single_all_of(prop, file)
        prop_line = prop.line or line
        if isinstance(prop.get("const"), str) and "enum" not in prop:
            # one value a string field must have: an enum of that one symbol
            const = mapping_at(prop_line, enum=[prop["const"]])
            const.update({k: v for k, v in prop.items() if k != "const"})
            const.key_lines = {**prop.key_lines, "enum": prop.line_of("const")}
            prop = const
        for key in COMPOSITIONS & set(prop):
            self.problems.fail(
                file,
                prop.line_of(key),
                f"{owner} uses {key}, which the model cannot express (a field has one type)",
            )
            return None
        optional = False
        kind = prop.get("type")
        if "anyOf" in prop:
            branches = [self.docs.deref(b, file)[0] for b in prop["anyOf"] or []]
            nulls = [b for b in branches if isinstance(b, LineMap) and b.get("type") == "null"]
            others = [b for b in branches if b not in nulls]
            if len(nulls) != 1 or len(others) != 1 or not isinstance(others[0], LineMap):
                self.problems.fail(
                    file,
                    prop.line_of("anyOf"),
                    f"{owner} uses anyOf of other than one type and null: the model has no unions",
                )
                return None
            rest = LineMap({k: v for k, v in prop.items() if k != "anyOf"})
            rest.line, rest.key_lines = prop.line, prop.key_lines
            self.unsupported(rest, file, owner)
            inner = self.type_spec(others[0], file, owner, prop.line_of("anyOf"), hint)
            if inner is not None:
                inner["optional"] = True
            return inner
        if isinstance(kind, list):
            types = [t for t in kind if t != "null"]
            if len(types) != 1 or len(kind) != 2:
                self.problems.fail(
                    file, prop.line_of("type"), f"{owner} has types {kind}: the model has no unions"
                )
                return None
            optional, kind = True, types[0]
        enum = prop.get("enum")
        handled = {"type", "format", "enum", "items"}
        spec: LineMap
        if enum is not None:
            values = [v for v in enum if v is not None] if isinstance(enum, list) else []
            if (
                (kind not in (None, "string"))
                or not values
                or not all(isinstance(v, str) for v in values)
            ):
                self.problems.fail(
                    file, prop.line_of("enum"), f"{owner}: only enums of strings are supported"
                )
                return None
            optional = optional or None in enum
            spec = mapping_at(prop_line, type="enum", symbols=values)
        elif kind == "array":
            item_spec = self.element_spec(prop, "items", file, owner, "an array", "items", hint)
            if item_spec is None:
                return None
            spec = mapping_at(prop_line, type="list", items=item_spec)
        elif kind == "object" and "properties" not in prop and "additionalProperties" in prop:
            value_spec = self.element_spec(
                prop, "additionalProperties", file, owner, "a map", "values", hint
            )
            if value_spec is None:
                return None
            spec = mapping_at(prop_line, type="map", values=value_spec)
            handled = handled | {"additionalProperties"}
        elif kind == "object":
            # a value object: named by its title, else after its field
            title = prop.get("title")
            name = title if isinstance(title, str) and TYPE_NAME.match(title) else hint
            if name not in self.records:
                self.records[name] = None  # being read: a type that holds itself ends here
                fields = self.object_specs(prop, file, f"type {name}")
                if fields is None:
                    return None
                doc = prop.get("description", "")
                self.records[name] = PayloadSpecs(
                    fields, file, name, doc.strip() if isinstance(doc, str) else ""
                )
            spec = mapping_at(prop_line, type=name)
            handled = set(prop)
        elif kind == "string":
            fmt = prop.get("format")
            if fmt == "uuid":
                spec = mapping_at(prop_line, type="uuid")
            elif fmt == "date-time":
                spec = mapping_at(prop_line, type="timestamp")
            elif prop.get("pattern") == DECIMAL_PATTERN and fmt is None:
                spec, handled = mapping_at(prop_line, type="decimal"), handled | {"pattern"}
            else:
                if fmt is not None:
                    self.problems.warn(
                        file,
                        prop.line_of("format"),
                        f"{owner}: format {fmt!r} is not kept (a string)",
                    )
                spec = mapping_at(prop_line, type="string")
        elif kind == "integer":
            low, high, fmt = prop.get("minimum"), prop.get("maximum"), prop.get("format")
            if (low, high) == INT32 or (fmt == "int32" and low is None and high is None):
                spec, handled = mapping_at(prop_line, type="int"), handled | {"minimum", "maximum"}
            else:
                if (low, high) == INT64:
                    handled = handled | {"minimum", "maximum"}
                spec = mapping_at(prop_line, type="long")
        elif kind == "number":
            spec = mapping_at(
                prop_line, type="float" if prop.get("format") == "float" else "double"
            )
            if prop.get("format") not in (None, "double", "float"):
                self.problems.warn(
                    file,
                    prop.line_of("format"),
                    f"{owner}: format {prop.get('format')!r} is not kept",
                )
        elif kind == "boolean":
            spec = mapping_at(prop_line, type="boolean")
        else:
            self.problems.fail(
                file,
                prop.line_of("type") if "type" in prop else prop_line,
                f"{owner} has {'no type' if kind is None else f'type {kind!r}'}: give it one of "
                "string, integer, number, boolean, array (or an enum)",
            )
            return None
        rest = LineMap({k: v for k, v in prop.items() if k not in handled})
        rest.line, rest.key_lines = prop.line, prop.key_lines
        if kind in ("integer", "number", "string") and "format" in rest:
            del rest["format"]  # named above where it matters
        self.unsupported(rest, file, owner)
        if optional:
            spec["optional"] = True
        return spec
