"""The model as the template sees it: plain data with every decision already made.

The Copier template reads one answer, `model`, holding this view. Everything that
needs logic (type mapping, schemas, which value fills which field, imports) is
computed here in tested Python, so the template files read like the files they
produce. The view is plain JSON-able data, so Copier records it in
`.copier-answers.yml` and an update re-renders without evtgen's help.
"""

from __future__ import annotations

import json
from typing import Any

from evtgen.deploy import topics
from evtgen.fieldtypes import NEW_IDS, RECORD, FieldType, assignable
from evtgen.flow import flow_mermaid
from evtgen.import_block import import_block
from evtgen.model import (
    Aggregate,
    Command,
    Event,
    Field,
    Model,
    Policy,
    ValueType,
    channel_parameters,
    channel_pattern,
    dead_letter_channel,
    snake,
)
from evtgen.schemas import avro_schema, json_definition, json_schema
from evtgen.view_document import contract_view, event_keys, model_document, operation_keys

#: Bumped when the shape of the view changes, so a template can tell.
VIEW_VERSION = 1
#: The generated repos' line length (ruff's `line-length` in their pyproject.toml).
LINE_LENGTH = 100


#: What each generated module imports whatever the model holds; the model's types
#: add to it. (`imports.<module>` is that module's whole stdlib and third-party block.)
FIXED_IMPORTS = {
    "messages": ["BaseModel", "ConfigDict"],
    "domain": [],
    "service": ["Awaitable", "Callable"],
    "samples": [],
    "saga": ["dataclass", "replace", "Literal", "TypeVar"],
}


def model_view(model: Model) -> dict[str, Any]:
    """The `model` answer of the template, built from a checked model."""
    from evtgen.view_saga import saga_consumed, saga_view  # it reads this module's helpers

    code = {module: list(names) for module, names in FIXED_IMPORTS.items()}
    view: dict[str, Any] = {
        "view_version": VIEW_VERSION,
        "service": model.service,
        "package": model.package,
        "title": _title(model.service),
        "description": model.description,
        "description_doc": docstring_text(model.description),
        # value objects, each after those it holds (messages.py defines them in order)
        "types": [_value_type(t, code) for t in defined_in_order(model)],
        "aggregates": [_aggregate(model, a, code) for a in model.aggregates],
        "commands": [_command(model, c, code) for c in model.commands],
        "events": [_event(model, e, code) for e in model.messages],
        "policies": [_policy(model, p, code) for p in model.policies],
        "consumed": [_consumed(model, e) for e in model.consumed_events] + saga_consumed(model),
        "emitted": [
            {
                "event": e.name,
                "snake": snake(e.name),
                "channel": e.channel,
                **event_keys(model, e.name),
                **operation_keys(model, e.name, "send"),
            }
            for e in model.sent_events
        ],
        "saga": saga_view(model, model.saga, code["saga"]) if model.saga else None,
        # what the generated crash test sends (tests/integration/test_crash.py)
        "crash_input": crash_input(model),
        "source": model_document(model),
        # the README's event-flow diagram (Mermaid), drawn by evtgen.flow
        "flow": flow_mermaid(model),
        # catalog-info.yaml: the Backstage entities of the repo (docs/system.md)
        "catalog": catalog_view(model),
    }
    # the kinds of aggregate Service.preload reads for a batch
    view["preloaded"] = sorted(
        {load["aggregate_snake"] for c in view["consumed"] for load in c["loads"]}
    )
    # Kubernetes manifests: a Strimzi topic for every channel the service consumes or
    # emits, and its dead-letter channel (deploy.py)
    # (not a parameterised channel's: its topics are made as its events are published)
    view["topics"] = topics(
        [
            channel
            for channel in [c["channel"] for c in view["consumed"]]
            + [e["channel"] for e in view["emitted"]]
            if not channel_parameters(channel)
        ]
    )
    for consumed in view["consumed"]:
        consumed.update(event_keys(model, consumed["event"]))
        consumed.update(operation_keys(model, consumed["event"], "receive"))
    # tests/test_pacts.py: a Pact V4 message pact per producer of another service whose
    # events this one reads (docs/system.md, consumer-driven contracts)
    view["pacts"] = pacts(view["consumed"])
    if parameterised := parameterised_channels(model):
        view["parameterised"] = parameterised  # absent otherwise: answers stay as they were
        # the consumed event the generated address tests send (tests/test_addresses.py)
        view["addressed"] = next(
            (c["event"] for c in view["consumed"] if c["channel"] in parameterised), None
        )
    view["contract"] = contract_view(model, _title(model.service))
    view["imports"] = {module: import_block(lines) for module, lines in code.items()}
    return view


def api_name(service: str) -> str:
    """The Backstage API entity of a service's events (its schemas/asyncapi.yaml)."""
    return f"{service}-events"


def catalog_view(model: Model) -> dict[str, Any]:
    """What catalog-info.yaml says: the API the service provides (when it sends
    anything) and those it consumes (of the producers its model names)."""
    producers = [e.producer for e in model.subscribed_events if e.external and e.producer]
    return {
        "api": api_name(model.service),
        "provides": [api_name(model.service)] if model.sent_events else [],
        "consumes": [api_name(p) for p in dict.fromkeys(producers)],
    }


def docstring_text(text: str) -> str:
    """Model text made safe inside a one-line Python docstring."""
    return " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"')


def _title(service: str) -> str:
    return " ".join(part.capitalize() for part in service.split("-"))


# -- fields ------------------------------------------------------------------


def python_literal(field_type: FieldType, value: Any) -> str:
    """A model default as Python source."""
    if value is None:
        return "None"
    if field_type.kind == "uuid":
        return f'UUID("{value}")'
    if field_type.kind == "list" and field_type.items is not None:
        items = field_type.items
        return "[" + ", ".join(python_literal(items, v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a valid Python string literal too
    return repr(value)


def bracketed(indent: int, head: str, opener: str, inner: str, closer: str) -> str:
    """`head opener inner closer` on one line at `indent`, or split as ruff format
    splits it when that line would pass LINE_LENGTH: `inner` on a line of its own,
    one level deeper (the template writes the first line's indentation)."""
    line = f"{head}{opener}{inner}{closer}"
    if indent + len(line) <= LINE_LENGTH:
        return line
    return f"{head}{opener}\n{' ' * (indent + 4)}{inner}\n{' ' * indent}{closer}"


def _field(field: Field, code: list[str], *, message: bool = True) -> dict[str, Any]:
    """A message-class field: `name: python = default` (an aggregate's, with
    `message=False`, names the value objects in `messages.`)."""
    python = field.type.python("" if message else "messages.")
    if field.has_default:
        default: str | None = python_literal(field.type, field.default)
    elif field.type.optional:
        default = "None"
    else:
        default = None
    code.append(python)
    if default:
        code.append(default)
    # `name` is the Python attribute; `wire` the name in the messages (an alias when
    # they differ: `sent_at` for `sentAt`, docs/asyncapi.md)
    declared = default
    if field.attr != field.name and message:
        code.append("Field")
        arguments = f"alias={json.dumps(field.name)}" + (f", default={default}" if default else "")
        declared = bracketed(4, f"{field.attr}: {python} = Field", "(", arguments, ")")
        declared = declared.removeprefix(f"{field.attr}: {python} = ")  # a class field
    return {
        "name": field.attr,
        "wire": field.name,
        "doc": field.doc,
        "declaration": f"{field.attr}: {python}" + (f" = {declared}" if declared else ""),
        # without a default: aggregates take every field when they are made
        "annotation": f"{field.attr}: {python}",
    }


def _sample(field: Field, code: list[str]) -> dict[str, str]:
    value = field.type.sample(field.name)
    code.append(value)
    return {"name": field.attr, "value": value}


def zero_of(model: Model, field_type: FieldType) -> str:
    """A value nobody gave, as Python code outside messages.py: the type table's, or
    for a value object its class with its fields' zeros (or defaults)."""
    if field_type.kind != RECORD or field_type.optional:
        return field_type.zero()
    fields = model.value_type(field_type.record).fields
    arguments = ", ".join(
        f"{f.attr}="
        + (python_literal(f.type, f.default) if f.has_default else zero_of(model, f.type))
        for f in fields
    )
    return f"messages.{field_type.record}({arguments})"


def defined_in_order(model: Model) -> list[ValueType]:
    """The value objects, each after those its fields name (a class is defined before
    another's annotation uses it)."""
    done: list[ValueType] = []

    def visit(value_type: ValueType) -> None:
        if value_type in done:
            return
        for name in (r for f in value_type.fields for r in f.type.records()):
            visit(model.value_type(name))
        done.append(value_type)

    for value_type in model.types:
        visit(value_type)
    return done


def filled_field(
    target: Field,
    sources: list[tuple[str, tuple[Field, ...]]],
    code: list[str],
    model: Model | None = None,
) -> dict[str, Any]:
    """How `target` is filled: the first same-named, fitting field of the sources
    (`copied`, so a test can check it arrived), else its default, else the type's
    "nothing given" value."""
    for prefix, fields in sources:
        for field in fields:
            if field.name == target.name and assignable(field.type, target.type):
                return {"name": target.attr, "value": f"{prefix}.{field.attr}", "copied": True}
    if target.has_default:
        value = python_literal(target.type, target.default)
    elif model is not None:
        value = zero_of(model, target.type)
    else:
        value = target.type.zero()
    code.append(value)
    return {"name": target.attr, "value": value, "copied": False}


def _new_id(field: Field, code: list[str]) -> str:
    """A new, random identity (the loader refuses ids of other types on creation)."""
    value = NEW_IDS[field.type.kind]
    code.append(value)
    return value


# -- entries -----------------------------------------------------------------


def _value_type(value_type: ValueType, code: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "name": value_type.name,
        "snake": snake(value_type.name),
        "doc": docstring_text(value_type.doc),
        "fields": [_field(f, code["messages"]) for f in value_type.fields],
        "samples": [_sample(f, code["samples"]) for f in value_type.fields],
        "json_schema": json_definition(value_type, asyncapi_ref),
    }


def asyncapi_ref(name: str) -> str:
    """Where the generated asyncapi.yaml defines a value object."""
    return f"#/components/schemas/{name}"


def _aggregate(model: Model, aggregate: Aggregate, code: dict[str, list[str]]) -> dict[str, Any]:
    id_field = aggregate.id_field
    code["service"].append(id_field.type.python())  # the repository's key type
    code["domain"].append("dataclass")
    return {
        "name": aggregate.name,
        "snake": snake(aggregate.name),
        "id": id_field.attr,
        "id_python": id_field.type.python(),
        # `self.<snake>_store: ...` in Service.__init__
        "store_type": bracketed(
            8,
            f"self.{snake(aggregate.name)}_store: Repository",
            "[",
            f"{id_field.type.python()}, domain.{aggregate.name}",
            "]",
        ).removeprefix(f"self.{snake(aggregate.name)}_store: "),
        # a fresh aggregate: its identity and, for every other field, nothing given
        "blank": [
            filled_field(f, [], code["domain"], model)
            for f in aggregate.fields
            if f is not id_field
        ],
        "fields": [_field(f, code["domain"], message=False) for f in aggregate.fields],
        "samples": [_sample(f, code["samples"]) for f in aggregate.fields],
    }


def _creates(model: Model, command: Command) -> bool:
    """Whether the command makes a new aggregate (it carries no identity of one)."""
    id_field = model.aggregate(command.aggregate).id_field
    return not any(
        f.name == id_field.name and assignable(f.type, id_field.type) for f in command.fields
    )


def _command(model: Model, command: Command, code: dict[str, list[str]]) -> dict[str, Any]:
    aggregate = model.aggregate(command.aggregate)
    id_field = aggregate.id_field
    creates = _creates(model, command)
    changes = [
        f.attr
        for f in aggregate.fields
        if f is not id_field
        and any(c.name == f.name and assignable(c.type, f.type) for c in command.fields)
    ]
    if changes:
        code["domain"].append("replace")
    emitted = []
    for name in command.emits:
        event = model.event(name)
        sources = [("command", command.fields), ("state", aggregate.fields)]
        emitted.append(
            {
                "name": event.name,
                "snake": snake(event.name),
                "fields": [filled_field(f, sources, code["domain"], model) for f in event.fields],
            }
        )
    return {
        "name": command.name,
        "snake": snake(command.name),
        "doc": docstring_text(command.doc),
        "rejected": _rejected(model, command, code["domain"]),
        "aggregate": aggregate.name,
        "aggregate_snake": snake(aggregate.name),
        "id": id_field.attr,
        "creates": creates,
        "new_id": _new_id(id_field, code["domain"]) if creates else None,
        "changes": changes,
        "emits": emitted,
        "fields": [_field(f, code["messages"]) for f in command.fields],
        "samples": [_sample(f, code["samples"]) for f in command.fields],
    }


def _rejected(model: Model, command: Command, code: list[str]) -> dict[str, Any] | None:
    """The event the command sends when the domain refuses it, built from the command
    and why (a `reason: string` field gets the text of the `Rejected`)."""
    if command.rejected is None:
        return None
    event = model.event(command.rejected)
    fields = []
    for target in event.fields:
        if _is_reason(target):
            fields.append({"name": target.attr, "value": "reason", "copied": False, "reason": True})
        else:
            filled = filled_field(target, [("command", command.fields)], code, model)
            fields.append({**filled, "reason": False})
    return {"name": event.name, "snake": snake(event.name), "fields": fields}


def _role(model: Model, event: Event) -> str:
    """What the service does with the event, in words for its README."""
    if model.saga is not None:
        if event in model.saga.sent:
            return "sends (a saga command)"
        if event in model.saga.replies:
            return "consumes (a saga reply)"
        if event.name == model.saga.start:
            return "consumes (starts the saga)"
        if event.name in (model.saga.completed, model.saga.failed):
            return "emits (ends the saga)"
    consumed = event in model.consumed_events
    emitted = event in model.emitted_events
    if consumed and emitted:
        return "emits and consumes"
    return "consumes" if consumed else "emits" if emitted else "knows of"


def _event(model: Model, event: Event, code: dict[str, list[str]]) -> dict[str, Any]:
    return {
        **event_keys(model, event.name),
        "role": _role(model, event),
        "name": event.name,
        "snake": snake(event.name),
        "channel": event.channel,
        "external": event.external,
        "doc": docstring_text(event.doc),
        "fields": [_field(f, code["messages"]) for f in event.fields],
        "samples": [_sample(f, code["samples"]) for f in event.fields],
        "avro_schema": avro_schema(model, event),
        "json_schema": json_schema(model, event),
        # in asyncapi.yaml: its value objects are components/schemas
        "asyncapi_json_schema": json_schema(model, event, asyncapi_ref),
        # the channel's `{parameters}` (wire names), only when it has some
        **({"parameters": list(channel_parameters(event.channel))} if event.parameters else {}),
    }


def parameterised_channels(model: Model) -> dict[str, dict[str, Any]]:
    """Each channel with `{parameters}`, and its dead-letter channel: what a Kafka
    subscription to it matches (`pattern`, anchored), and the sample the generated
    tests send to an address of it (`sample`)."""
    found: dict[str, dict[str, Any]] = {}
    for event in model.messages:
        if not event.parameters:
            continue
        for channel in (event.channel, dead_letter_channel(event.channel)):
            found[channel] = {
                "pattern": channel_pattern(channel),
                "sample": f"samples.{snake(event.name)}()",
            }
    return found


def _policy(model: Model, policy: Policy, code: dict[str, list[str]]) -> dict[str, Any]:
    event = model.event(policy.when)
    command = model.command(policy.then)
    return {
        "name": policy.name,
        "snake": snake(policy.name),
        "doc": docstring_text(policy.doc),
        "when": event.name,
        "then": command.name,
        "then_snake": snake(command.name),
        "command_fields": [
            filled_field(f, [("event", event.fields)], code["service"], model)
            for f in command.fields
        ],
    }


def _load(model: Model, policy: Policy) -> dict[str, Any]:
    """The aggregate a policy's command loads, by its identity."""
    aggregate = model.aggregate(model.command(policy.then).aggregate)
    return {
        "policy": snake(policy.name),
        "aggregate_snake": snake(aggregate.name),
        "id": aggregate.id_field.attr,
        "id_python": aggregate.id_field.type.python(),
    }


def crash_input(model: Model) -> str | None:
    """The first consumed event whose policies emit an event: the crash test can see
    whether each of those ran once (an event whose policies emit nothing leaves no
    trace on the broker). None when there is none."""
    for event in model.consumed_events:
        if any(model.command(p.then).emits for p in model.policies_for(event)):
            return event.name
    return None


def pacts(consumed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each producer (`producer:` of an external event) with the subscribers of its
    events."""
    producers: dict[str, list[dict[str, Any]]] = {}
    for subscriber in consumed:
        if subscriber["producer"]:
            producers.setdefault(subscriber["producer"], []).append(subscriber)
    return [
        {"producer": name, "snake": snake(name), "consumed": subscribers}
        for name, subscribers in producers.items()
    ]


def producer_of(event: Event) -> str | None:
    """The service of the system that sends an event this one reads, if it names one."""
    return event.producer if event.external else None


def _consumed(model: Model, event: Event) -> dict[str, Any]:
    """A subscriber: one per consumed event, running every policy on it."""
    return {
        "event": event.name,
        "snake": snake(event.name),
        "channel": event.channel,
        "producer": producer_of(event),
        "dead_letter_channel": dead_letter_channel(event.channel),
        **({"parameters": list(channel_parameters(event.channel))} if event.parameters else {}),
        "policies": [snake(p.name) for p in model.policies_for(event)],
        # the aggregates its policies' commands load (one query for a whole batch)
        "loads": [
            _load(model, p)
            for p in model.policies_for(event)
            if not _creates(model, model.command(p.then))
        ],
        "saga": None,  # or what the saga's orchestrator does with it: "start" or "reply"
        # the commands its policies run that the domain may refuse, and what goes out then
        "rejections": [
            _rejection(model, model.command(p.then))
            for p in model.policies_for(event)
            if model.command(p.then).rejected
        ],
    }


def _rejection(model: Model, command: Command) -> dict[str, Any]:
    assert command.rejected is not None
    event = model.event(command.rejected)
    reason = next((f.attr for f in event.fields if _is_reason(f)), None)
    return {
        "command": snake(command.name),
        "event": event.name,
        "snake": snake(event.name),
        "channel": event.channel,
        "reason": reason,  # the field that carries the Rejected's text, if any
    }


def _is_reason(field: Field) -> bool:
    return field.name == "reason" and field.type.kind == "string"
