"""The model as its own file writes it (`model.yaml`, the x-evtgen-* extensions of
asyncapi.yaml), and how an AsyncAPI document read into the model worded its contract
(docs/asyncapi.md, "A faithful contract"): the parts of the template's view that are
documents rather than code."""

from __future__ import annotations

from typing import Any

from evtgen.asyncapi.naming import type_name, unique
from evtgen.fieldtypes import RECORD
from evtgen.model import Event, Field, Model, Saga

# -- the contract's wording (docs/asyncapi.md, "A faithful contract") ---------------


def contract_view(model: Model, title: str) -> dict[str, Any]:
    """The document's `info` and `servers`, as the AsyncAPI document read said them
    (evtgen's own otherwise: `title`, version 0.1.0, no servers)."""
    info = dict(model.contract.get("info") or {})
    title = info.pop("title", None) or title
    version = info.pop("version", None) or "0.1.0"
    info.pop("description", None)  # the model's description (it is the same)
    view = {
        "title": str(title),
        "version": str(version),
        "info": info,  # the rest of it: contact, license, tags, externalDocs, ...
        "servers": model.contract.get("servers") or None,
    }
    if components := model.contract.get("components"):
        view["components"] = components  # what the servers refer to (securitySchemes)
    return view


def event_keys(model: Model, event: str) -> dict[str, Any]:
    """The keys of an event's channel and message in asyncapi.yaml, and what the
    document said of them: the document's own, else the event's name."""
    wording = (model.contract.get("events") or {}).get(event) or {}
    message_doc = dict(wording.get("message_doc") or {})
    component, first, shared = message_components(model)[event]
    keys = {
        "channel_key": wording.get("channel") or event,
        "message_key": wording.get("message") or event,
        "component": component,
        "channel_doc": wording.get("channel_doc") or {},
        "message_title": message_doc.pop("title", None) or event,
        "message_doc": message_doc,
    }
    # only where a message is shared: every other view stays as it was
    if first is not None:
        keys["shares_message_of"] = first  # its component is written by that event's
    elif shared:
        keys["message_name"] = component  # no one event's name: the message's key
    return keys


def message_components(model: Model) -> dict[str, tuple[str, str | None, bool]]:
    """Each event's key in components/messages (docs/asyncapi.md, "A faithful
    contract"), the event whose message it shares (None: its own), and whether others
    share it. Events read from one message on several channels share its key when
    they are still that message (same fields, same wording, each named after its
    channel, as a read names them); one that is not gets a key of its own (its name)."""
    wording = model.contract.get("events") or {}
    owner: dict[str, Event] = {}  # component key -> the event that writes it
    found: dict[str, tuple[str, str | None, bool]] = {}
    events = model.messages
    taken = {(wording.get(e.name) or {}).get("component") or e.name for e in events}
    for event in events:
        key = (wording.get(event.name) or {}).get("component") or event.name
        first = owner.get(key)
        if first is None:
            owner[key] = event
            found[event.name] = (key, None, False)
        elif same_message(model, first, event):
            found[first.name] = (key, None, True)
            found[event.name] = (key, first.name, True)
        else:
            key = unique(event.name, "Message", taken)
            owner[key] = event
            found[event.name] = (key, None, False)
    return found


def same_message(model: Model, first: Event, other: Event) -> bool:
    """Whether two events are one message of the document, as a read would make them."""
    wording = model.contract.get("events") or {}

    def message(event: Event) -> tuple[Any, ...]:
        entry = wording.get(event.name) or {}
        return (event.fields, event.external, event.doc, event.producer, entry.get("message_doc"))

    def named_after_channel(event: Event) -> bool:
        channel = (wording.get(event.name) or {}).get("channel")
        return isinstance(channel, str) and type_name(channel) == event.name

    return (
        message(first) == message(other)
        and named_after_channel(first)
        and named_after_channel(other)
    )


def operation_keys(model: Model, event: str, action: str) -> dict[str, Any]:
    wording = ((model.contract.get("events") or {}).get(event) or {}).get(action) or {}
    return {
        "operation_key": wording.get("key") or f"{action}{event}",
        "operation_doc": wording.get("doc") or {},
    }


def saga_document(saga: Saga) -> dict[str, Any]:
    """The saga as the model file writes it."""

    def message(event: Event) -> dict[str, Any]:
        written: dict[str, Any] = {
            "name": event.name,
            "channel": event.channel,
            "fields": {f.name: field_document(f) for f in event.fields},
        }
        return {**written, "doc": event.doc} if event.doc else written

    steps = []
    for step in saga.steps:
        written: dict[str, Any] = {
            "participant": step.participant,
            "command": message(step.command),
            "success": message(step.success),
        }
        if step.failure:
            written["failure"] = message(step.failure)
        if step.compensation:
            written["compensation"] = message(step.compensation)
        written["timeout"] = int(step.timeout) if step.timeout.is_integer() else step.timeout
        steps.append(written)
    document: dict[str, Any] = {"name": saga.name}
    if saga.doc:
        document["doc"] = saga.doc
    document["start"] = saga.start
    for key, value in (("completed", saga.completed), ("failed", saga.failed)):
        if value:
            document[key] = value
    document["steps"] = steps
    return document


def field_document(field: Field) -> Any:
    """A field as the model file writes it: a bare type name when it can be one."""
    field_type = field.type
    # a value object is named by its type
    kind = field_type.record if field_type.kind == RECORD else field_type.kind
    if field_type.kind in ("enum", "list", "map") or field.has_default or field.doc:
        spec: dict[str, Any] = {"type": kind}
        if field_type.optional:
            spec["optional"] = True
        if field_type.kind == "enum":
            spec["symbols"] = list(field_type.symbols)
        if field_type.items is not None:
            key = "values" if field_type.kind == "map" else "items"
            spec[key] = field_document(Field(key, field_type.items))
        if field.has_default:
            spec["default"] = field.default
        if field.doc:
            spec["doc"] = field.doc
        return spec
    return kind + ("?" if field_type.optional else "")


def model_document(model: Model) -> dict[str, Any]:
    """The model as plain data in the model file's own format."""

    def fields(items: tuple[Field, ...]) -> dict[str, Any]:
        return {f.name: field_document(f) for f in items}

    def with_doc(entry: dict[str, Any], doc: str) -> dict[str, Any]:
        return {**entry, "doc": doc} if doc else entry

    types = {
        "types": [
            with_doc({"name": t.name, "fields": fields(t.fields)}, t.doc) for t in model.types
        ]
    }
    return {
        "service": model.service,
        "description": model.description,
        **(types if model.types else {}),
        "aggregates": [{"name": a.name, "fields": fields(a.fields)} for a in model.aggregates],
        "commands": [
            with_doc(
                {
                    "name": c.name,
                    "aggregate": c.aggregate,
                    "fields": fields(c.fields),
                    "emits": list(c.emits),
                    **({"rejected": c.rejected} if c.rejected else {}),
                },
                c.doc,
            )
            for c in model.commands
        ],
        "events": [
            with_doc(
                {
                    "name": e.name,
                    "channel": e.channel,
                    **({"external": True} if e.external else {}),
                    **({"producer": e.producer} if e.producer else {}),
                    "fields": fields(e.fields),
                },
                e.doc,
            )
            for e in model.events
        ],
        "policies": [
            with_doc({"name": p.name, "when": p.when, "then": p.then}, p.doc)
            for p in model.policies
        ],
        **({"saga": saga_document(model.saga)} if model.saga else {}),
    }
