"""The one type table: how each model field type maps to Avro, JSON Schema and Python.

Every writer (Avro schemas, JSON Schemas, the message classes, sample values in the
generated tests) reads this table, so a type maps the same way everywhere.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
DECIMAL_PRECISION = 18
DECIMAL_SCALE = 2


@dataclass(frozen=True)
class Scalar:
    """One row of the table for a scalar type."""

    avro: str | dict[str, Any]
    json_schema: dict[str, Any]
    python: str
    #: a Python expression of a plausible value, used by the generated tests
    sample: str
    #: a Python expression for "no value given" (a new aggregate, a missing field)
    zero: str
    #: Python types a model default may have for this type (None: no default allowed)
    default_types: tuple[type, ...] | None = None


SCALARS: dict[str, Scalar] = {
    "string": Scalar("string", {"type": "string"}, "str", '"{name}-1"', '""', (str,)),
    "int": Scalar(
        "int",
        {"type": "integer", "minimum": INT32[0], "maximum": INT32[1]},
        "int",
        "7",
        "0",
        (int,),
    ),
    "long": Scalar(
        "long",
        {"type": "integer", "minimum": INT64[0], "maximum": INT64[1]},
        "int",
        "42",
        "0",
        (int,),
    ),
    "double": Scalar("double", {"type": "number"}, "float", "12.5", "0.0", (int, float)),
    # 32-bit: Avro's float; JSON has one number type, `format: float` tells them apart
    "float": Scalar(
        "float", {"type": "number", "format": "float"}, "float", "2.5", "0.0", (int, float)
    ),
    "boolean": Scalar("boolean", {"type": "boolean"}, "bool", "True", "False", (bool,)),
    "uuid": Scalar(
        {"type": "string", "logicalType": "uuid"},
        {"type": "string", "format": "uuid"},
        "UUID",
        'UUID("00000000-0000-4000-8000-000000000001")',
        "uuid4()",
        (str,),
    ),
    "timestamp": Scalar(
        {"type": "long", "logicalType": "timestamp-millis"},
        {"type": "string", "format": "date-time"},
        "datetime",
        "datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)",
        "datetime.now(UTC)",
        None,
    ),
    "decimal": Scalar(
        {
            "type": "bytes",
            "logicalType": "decimal",
            "precision": DECIMAL_PRECISION,
            "scale": DECIMAL_SCALE,
        },
        {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"},
        f"Annotated[Decimal, Field(max_digits={DECIMAL_PRECISION}, "
        f"decimal_places={DECIMAL_SCALE})]",
        'Decimal("12.50")',
        'Decimal("0")',
        None,
    ),
}

#: Types that take more than a name; written as a mapping in the model. (A value
#: object of the model's `types:` is the fourth kind, "record", named by its type.)
COMPOUND = ("enum", "list", "map")
RECORD = "record"

ALL_TYPES = (*SCALARS, *COMPOUND)

#: How a command that creates an aggregate makes its identity, by the identity's type.
NEW_IDS = {
    "uuid": "uuid4()",
    "string": "str(uuid4())",
    "int": "uuid4().int >> 97",  # 31 random bits: fits int
    "long": "uuid4().int >> 65",  # 63 random bits: fits long
}

#: Where each name the type table's Python code uses comes from.
IMPORTED_NAMES = {
    "UUID": "uuid",
    "uuid4": "uuid",
    "datetime": "datetime",
    "UTC": "datetime",
    "Decimal": "decimal",
    "Annotated": "typing",
    "Literal": "typing",
    "TypeVar": "typing",
    "Field": "pydantic",
    "BaseModel": "pydantic",
    "ConfigDict": "pydantic",
    "dataclass": "dataclasses",
    "replace": "dataclasses",
    "Awaitable": "collections.abc",
    "Callable": "collections.abc",
}


#: How a record (a value object) is written in Avro: its whole definition the first
#: time a schema names it, its name after that (the schema writer keeps count).
AvroRecord = Callable[[str], Any]
#: Where a JSON Schema finds a record's definition, by its name.
JsonRef = Callable[[str], str]


def json_defs_ref(name: str) -> str:
    """A record's definition in a standalone JSON Schema: its `$defs`."""
    return f"#/$defs/{name}"


@dataclass(frozen=True)
class FieldType:
    """A field's type: a scalar, an enum, a list, a map (string keys) or a record (a
    value object of the model's `types:`), possibly optional. `items` is a list's
    element type and a map's value type; `record` the value object's name."""

    kind: str
    optional: bool = False
    symbols: tuple[str, ...] = ()
    items: FieldType | None = None
    record: str = ""

    def _base_avro(self, enum_name: str, record: AvroRecord | None) -> Any:
        if self.kind == "enum":
            return {"type": "enum", "name": enum_name, "symbols": list(self.symbols)}
        if self.kind in ("list", "map"):
            assert self.items is not None
            inner = self.items.avro(enum_name, record=record)
            if self.kind == "map":
                return {"type": "map", "values": inner}
            return {"type": "array", "items": inner}
        if self.kind == RECORD:
            assert record is not None, "a record's Avro needs the schema writer"
            return record(self.record)
        return _copy(SCALARS[self.kind].avro)

    def avro(
        self, enum_name: str, *, default_is_null: bool = True, record: AvroRecord | None = None
    ) -> Any:
        """The Avro type; an optional is a union with null first, unless its default
        is a value, which Avro requires to match the union's first branch."""
        base = self._base_avro(enum_name, record)
        if not self.optional:
            return base
        return ["null", base] if default_is_null else [base, "null"]

    def json_schema(self, ref: JsonRef = json_defs_ref) -> dict[str, Any]:
        if self.kind == "enum":
            base: dict[str, Any] = {"type": "string", "enum": list(self.symbols)}
        elif self.kind == "list":
            assert self.items is not None
            base = {"type": "array", "items": self.items.json_schema(ref)}
        elif self.kind == "map":
            assert self.items is not None
            base = {"type": "object", "additionalProperties": self.items.json_schema(ref)}
        elif self.kind == RECORD:
            base = {"$ref": ref(self.record)}
        else:
            base = _copy(SCALARS[self.kind].json_schema)
        if self.optional:
            return {"anyOf": [base, {"type": "null"}]}
        return base

    def python(self, module: str = "") -> str:
        """The annotation; `module` is where the value objects' classes are, seen from
        the code (`messages.`, or "" inside messages.py)."""
        if self.kind == "enum":
            base = "Literal[" + ", ".join(f'"{s}"' for s in self.symbols) + "]"
        elif self.kind == "list":
            assert self.items is not None
            base = f"list[{self.items.python(module)}]"
        elif self.kind == "map":
            assert self.items is not None
            base = f"dict[str, {self.items.python(module)}]"
        elif self.kind == RECORD:
            base = module + self.record
        else:
            base = SCALARS[self.kind].python
        return f"{base} | None" if self.optional else base

    def records(self) -> tuple[str, ...]:
        """The value objects this type names, itself or inside."""
        if self.kind == RECORD:
            return (self.record,)
        return self.items.records() if self.items is not None else ()

    def sample(self, field_name: str) -> str:
        """A Python expression of a value of this type, for the generated tests (a
        record's is its sample factory in tests/samples.py)."""
        if self.kind == "enum":
            return f'"{self.symbols[0]}"'
        if self.kind == "list":
            assert self.items is not None
            return f"[{self.items.sample(field_name)}]"
        if self.kind == "map":
            assert self.items is not None
            return f'{{"key-1": {self.items.sample(field_name)}}}'
        if self.kind == RECORD:
            from evtgen.model import snake  # the model imports this table

            return f"{snake(self.record)}()"
        return SCALARS[self.kind].sample.replace("{name}", field_name.replace("_", "-"))

    def zero(self) -> str:
        """A Python expression for a value nobody gave: None when optional. (A record's
        is built from its fields' zeros by the view, which knows them.)"""
        if self.optional:
            return "None"
        if self.kind == "enum":
            return f'"{self.symbols[0]}"'
        if self.kind == "list":
            return "[]"
        if self.kind == "map":
            return "{}"
        assert self.kind != RECORD, "a record's zero is the view's"
        return SCALARS[self.kind].zero

    def accepts_default(self, value: Any) -> bool:
        """Whether a model default is a valid value of this type (a record takes
        none but null)."""
        if value is None:
            return self.optional
        if self.kind == "enum":
            return value in self.symbols
        if self.kind == "list":
            return isinstance(value, list) and all(
                self.items is not None and self.items.accepts_default(v) for v in value
            )
        if self.kind == "map":
            return isinstance(value, dict) and all(
                isinstance(k, str) and self.items is not None and self.items.accepts_default(v)
                for k, v in value.items()
            )
        if self.kind == RECORD:
            return False
        allowed = SCALARS[self.kind].default_types
        if allowed is None:
            return False
        # bool is an int in Python; a model author writing `true` for an int is wrong
        if (isinstance(value, bool) and bool not in allowed) or not isinstance(value, allowed):
            return False
        if self.kind == "uuid":
            try:
                uuid.UUID(str(value))
            except ValueError:
                return False
        if self.kind in ("int", "long") and isinstance(value, int):
            low, high = INT32 if self.kind == "int" else INT64
            return low <= value <= high
        if self.kind in ("double", "float") and isinstance(value, int | float):
            return math.isfinite(value)
        return True


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


def assignable(source: FieldType, target: FieldType) -> bool:
    """Whether a value of `source` may fill a field of `target` as it is."""
    if source.optional and not target.optional:
        return False
    same = (
        source.kind == target.kind
        and source.symbols == target.symbols
        and source.record == target.record
    )
    if source.kind == target.kind and source.kind in ("list", "map"):
        return (
            source.items is not None
            and target.items is not None
            and assignable(source.items, target.items)
        )
    return same
