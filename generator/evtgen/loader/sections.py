"""The sections of a model file: the service, its aggregates, commands, events and
policies (and its saga, in `saga.py`), each entry read into the typed model."""

from __future__ import annotations

from typing import Any

from evtgen.loader.checks import cross_check
from evtgen.loader.fields import read_fields
from evtgen.loader.names import check_service_name
from evtgen.loader.pieces import channel_of, name_list, text, type_name, unknown_keys
from evtgen.loader.saga import check_saga, read_saga
from evtgen.model import (
    Aggregate,
    Command,
    Event,
    Field,
    Model,
    Policy,
    ValueType,
    channel_parameters,
    default_channel,
    parameter_problem,
)
from evtgen.problems import FileProblems
from evtgen.yamllines import LineList, LineMap

TOP_KEYS = {
    "service",
    "description",
    "types",
    "aggregates",
    "commands",
    "events",
    "policies",
    "saga",
}
SECTION_KEYS = {
    "types": {"name", "fields", "doc"},
    "aggregates": {"name", "fields", "doc"},
    "commands": {"name", "aggregate", "fields", "emits", "rejected", "doc"},
    "events": {"name", "fields", "external", "channel", "producer", "doc"},
    "policies": {"name", "when", "then", "doc"},
}


def read_model(out: FileProblems, data: Any, service: str | None) -> Model | None:
    if not isinstance(data, LineMap):
        out.fail(
            1,
            "the model must be a mapping with service, aggregates, commands, "
            "events and policies (see the README's model format)",
        )
        return None
    if "asyncapi" in data:
        out.fail(
            data.line_of("asyncapi"),
            "this is an AsyncAPI document, not an event-storming model; give it with "
            "--asyncapi FILE instead of --model",
        )
        return None
    if "system" in data and "contexts" in data:
        out.fail(
            data.line_of("system"),
            "this is a system model of several contexts; create its repos with "
            "`evtgen new system --model FILE` (docs/system.md)",
        )
        return None
    # `x-...` keys hold what the model reuses by YAML anchors (as in Compose files)
    extensions = {k for k in data if isinstance(k, str) and k.startswith("x-")}
    unknown_keys(out, data, TOP_KEYS | extensions, "the model")
    name = service_name(out, data, service)
    description = text(out, data, "description", "the model")
    # value objects first: every entry's fields may name them, and so may they each other
    type_items = items(out, data, "types")
    records = {n for i, _ in type_items if isinstance(n := i.get("name"), str)}
    types = [value_type(out, item, line, records) for item, line in type_items]
    aggregates = [
        aggregate(out, item, line, records) for item, line in items(out, data, "aggregates")
    ]
    commands = [command(out, item, line, records) for item, line in items(out, data, "commands")]
    events = [event(out, item, line, name, records) for item, line in items(out, data, "events")]
    policies = [policy(out, item, line) for item, line in items(out, data, "policies")]
    saga = read_saga(out, data) if "saga" in data else None
    model = Model(
        service=name,
        description=description or f"The {name} service.",
        aggregates=tuple(a for a in aggregates if a),
        commands=tuple(c for c in commands if c),
        events=tuple(e for e in events if e),
        policies=tuple(p for p in policies if p),
        saga=saga,
        types=tuple(t for t in types if t),
    )
    cross_check(out, model)
    if saga is not None:
        check_saga(out, model, saga)
    return model


def service_name(out: FileProblems, data: LineMap, wanted: str | None) -> str:
    given = data.get("service")
    line = data.line_of("service")
    if given is None:
        if wanted is None:
            out.fail(1, "the model has no 'service:'; add 'service: <name>'")
            return "service"
        return wanted
    if not isinstance(given, str):
        out.fail(line, "service must be a name such as 'orders'")
        return wanted or "service"
    if why := check_service_name(given):
        out.fail(line, why)
    if wanted is not None and given != wanted:
        out.fail(
            line,
            f"the model is for service {given!r} but the service to create is "
            f"{wanted!r}; use the same name, or change 'service:' in the model",
        )
    return given


def items(out: FileProblems, data: LineMap, section: str) -> list[tuple[LineMap, int]]:
    value = data.get(section)
    if value is None:
        return []
    if not isinstance(value, LineList):
        out.fail(data.line_of(section), f"{section} must be a list of entries")
        return []
    found = []
    for index, item in enumerate(value):
        line = value.item_lines[index]
        if not isinstance(item, LineMap):
            out.fail(line, f"each entry of {section} must be a mapping with a name")
            continue
        unknown_keys(out, item, SECTION_KEYS[section], f"an entry of {section}")
        found.append((item, line))
    return found


# -- entries --------------------------------------------------------------


def value_type(out: FileProblems, item: LineMap, line: int, records: set[str]) -> ValueType | None:
    name = type_name(out, item, line, "type")
    fields = read_fields(out, item, f"type {name}", records)
    if name is None:
        return None
    return ValueType(name, fields, text(out, item, "doc", name), line)


def aggregate(out: FileProblems, item: LineMap, line: int, records: set[str]) -> Aggregate | None:
    name = type_name(out, item, line, "aggregate")
    fields = read_fields(out, item, f"aggregate {name}", records)
    if name is None:
        return None
    if not any(f.type.kind not in ("list", "map", "record") for f in fields):
        out.fail(
            line,
            f"aggregate {name} needs a field that identifies it "
            "(a single value, not a list, map or type), e.g. 'fields: {id: uuid}'",
        )
        return None
    return Aggregate(name, fields, line)


def command(out: FileProblems, item: LineMap, line: int, records: set[str]) -> Command | None:
    name = type_name(out, item, line, "command")
    fields = read_fields(out, item, f"command {name}", records)
    aggregate = item.get("aggregate")
    if not isinstance(aggregate, str):
        out.fail(item.line_of("aggregate"), f"command {name} needs 'aggregate: <AggregateName>'")
        aggregate = ""
    emits = name_list(out, item, "emits", f"command {name}")
    rejected = item.get("rejected")
    if rejected is not None and not isinstance(rejected, str):
        out.fail(item.line_of("rejected"), f"rejected of command {name} must be an event's name")
        rejected = None
    if name is None:
        return None
    doc = text(out, item, "doc", name)
    return Command(name, aggregate, fields, emits, doc, line, rejected)


def event(
    out: FileProblems, item: LineMap, line: int, service: str, records: set[str]
) -> Event | None:
    name = type_name(out, item, line, "event")
    fields = read_fields(out, item, f"event {name}", records)
    external = item.get("external", False)
    if not isinstance(external, bool):
        out.fail(item.line_of("external"), "external must be true or false")
        external = False
    channel = channel_of(out, item, f"event {name}")
    producer = item.get("producer")
    if producer is not None and (
        not external or not isinstance(producer, str) or check_service_name(producer)
    ):
        out.fail(
            item.line_of("producer"),
            f"producer of event {name} names the service that publishes an external "
            "event: give it with 'external: true', as a service name such as 'payments'",
        )
        producer = None
    if name is None:
        return None
    if channel is not None and not parameters_are_fields(out, item, name, channel, fields):
        channel = None
    return Event(
        name,
        channel or default_channel(service, name),
        fields,
        external,
        text(out, item, "doc", name),
        line,
        producer,
    )


def parameters_are_fields(
    out: FileProblems, item: LineMap, name: str, channel: str, fields: tuple[Field, ...]
) -> bool:
    """Each `{parameter}` of the event's channel names a required field of it that fits
    in one level of an address (docs/design.md, "Channel parameters")."""
    fine = True
    for parameter in channel_parameters(channel):
        if why := parameter_problem(parameter, fields):
            out.fail(
                item.line_of("channel"),
                f"channel {channel!r} of event {name}: parameter {{{parameter}}} {why}; a "
                "parameter names a required string, int, long, uuid or enum field of the "
                "event, whose value the publisher puts in the address (fields: "
                f"{', '.join(f.name for f in fields) or 'none'})",
            )
            fine = False
    return fine


def policy(out: FileProblems, item: LineMap, line: int) -> Policy | None:
    name = type_name(out, item, line, "policy")
    refs = {}
    for key, what in (("when", "an event"), ("then", "a command")):
        value = item.get(key)
        if not isinstance(value, str) or not value:
            out.fail(item.line_of(key), f"policy {name} needs '{key}: <name of {what}>'")
        refs[key] = value if isinstance(value, str) else ""
    if name is None:
        return None
    return Policy(name, refs["when"], refs["then"], text(out, item, "doc", name), line)
