"""The JSON Schema rules are sound: when they call a change compatible, every
instance the writer's schema accepts passes the reader's, by the real validator.

Random schemas (objects, open or closed, of strings, integers with bounds, numbers,
enums, optionals, arrays, nested objects) and random edits of them; instances drawn
from the writer's schema (open objects carry extra fields of any JSON value), each
first checked valid for the writer, then for the reader, with jsonschema.
(hypothesis-jsonschema 0.23 does not run on current hypothesis, hence `instances`.)
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from evtgen import json_compat

NAMES = ["a", "b", "c"]
SYMBOLS = ["X", "Y", "Z"]


def leaves() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.just({"type": "string"}),
        st.just({"type": "number"}),
        st.just({"type": "boolean"}),
        st.tuples(st.integers(-3, 3), st.integers(0, 3)).map(
            lambda b: {"type": "integer", "minimum": b[0], "maximum": b[0] + b[1]}
        ),
        st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=3, unique=True).map(
            lambda s: {"type": "string", "enum": s}
        ),
    )


def objects(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    def build(props: dict[str, Any], required: list[str], closed: bool) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "object",
            "properties": props,
            "required": [n for n in required if n in props],
        }
        if closed:
            schema["additionalProperties"] = False
        return schema

    return st.builds(
        build,
        st.dictionaries(st.sampled_from(NAMES), children, max_size=3),
        st.lists(st.sampled_from(NAMES), unique=True),
        st.booleans(),
    )


def optional(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


schemas = st.recursive(
    leaves(),
    lambda children: st.one_of(
        objects(children),
        children.map(lambda s: {"type": "array", "items": s, "maxItems": 3}),
        children.map(optional),
    ),
    max_leaves=6,
).flatmap(lambda s: st.just(s) if s.get("type") == "object" else objects(st.just(s)))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-20, 20) | st.floats(-20, 20) | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner, max_size=2)
    ),
    max_leaves=4,
)


def instances(schema: Any) -> st.SearchStrategy[Any]:
    """Values the (generated) schema accepts, the odd ones included."""
    if "anyOf" in schema:
        return st.one_of([instances(branch) for branch in schema["anyOf"]])
    kind = schema.get("type")
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if kind == "string":
        return st.text(max_size=3)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "integer":
        return st.integers(schema["minimum"], schema["maximum"])
    if kind == "number":
        return st.integers(-20, 20) | st.floats(-20, 20, allow_nan=False)
    if kind == "array":
        return st.lists(instances(schema["items"]), max_size=schema.get("maxItems", 3))
    assert kind == "object", schema
    required = set(schema["required"])
    props = {name: instances(sub) for name, sub in schema["properties"].items()}
    extra = (
        st.just({})
        if schema.get("additionalProperties") is False
        else st.dictionaries(st.sampled_from([*NAMES, "zz"]), JSON, max_size=2)
    )

    def build(given: dict[str, Any], present: list[bool], more: dict[str, Any]) -> dict[str, Any]:
        value = {k: v for k, v in more.items() if k not in props}
        for (name, item), keep in zip(given.items(), present, strict=True):
            if keep or name in required:
                value[name] = item
        return value

    return st.builds(
        build,
        st.fixed_dictionaries(props),
        st.lists(st.booleans(), min_size=len(props), max_size=len(props)),
        extra,
    )


def sometimes(data: st.DataObject) -> bool:
    """One edit in five decisions: most changes touch one or two places."""
    return data.draw(st.integers(1, 5)) == 5


def mutate(schema: Any, data: st.DataObject) -> Any:
    """The schema with a few random edits, the kind a model change makes."""
    schema = dict(schema)
    if "anyOf" in schema:
        inner = mutate(schema["anyOf"][0], data)
        return inner if sometimes(data) else optional(inner)
    if sometimes(data) and sometimes(data):  # replace this node outright
        return data.draw(leaves())
    kind = schema.get("type")
    if kind == "object":
        props = {n: mutate(s, data) for n, s in schema["properties"].items()}
        if sometimes(data):
            name = data.draw(st.sampled_from(NAMES))
            if name in props:
                del props[name]
            else:
                props[name] = data.draw(leaves())
        schema["properties"] = props
        required = set(schema["required"])
        if sometimes(data):
            required ^= {data.draw(st.sampled_from(NAMES))}
        schema["required"] = sorted(n for n in required if n in props)
        if sometimes(data):
            if "additionalProperties" in schema:
                del schema["additionalProperties"]
            else:
                schema["additionalProperties"] = False
    elif kind == "array":
        schema["items"] = mutate(schema["items"], data)
    elif "enum" in schema and sometimes(data):
        symbols = set(schema["enum"]) ^ {data.draw(st.sampled_from(SYMBOLS))}
        schema["enum"] = sorted(symbols) or ["X"]
    elif kind == "integer":
        schema["minimum"] += data.draw(st.integers(-2, 2))
        schema["maximum"] = max(
            schema["minimum"], schema["maximum"] + data.draw(st.integers(-2, 2))
        )
    elif kind == "number" and sometimes(data):
        schema["type"] = "integer"  # narrowing: number -> integer
    return schema


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(schemas, st.data())
def test_a_change_called_compatible_accepts_every_instance_of_the_writer(
    writer: dict[str, Any], data: st.DataObject
) -> None:
    reader = mutate(writer, data)
    if json_compat.issues(reader, writer, "reader", "writer"):
        event("a finding")
        return  # a finding may be conservative; only "compatible" promises something
    event("compatible" if reader != writer else "unchanged")
    validator = Draft7Validator(reader)
    for _ in range(8):
        instance = data.draw(instances(writer))
        assert Draft7Validator(writer).is_valid(instance), (writer, instance)  # the generator
        assert validator.is_valid(instance), (writer, reader, instance)


@given(schemas)
@settings(max_examples=100, deadline=None)
def test_a_schema_is_compatible_with_itself(schema: dict[str, Any]) -> None:
    assert json_compat.issues(schema, schema, "reader", "writer") == []
