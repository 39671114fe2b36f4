"""The service's flow: its aggregates, commands and policies, as evtgen recorded them in
a document it generated (`x-evtgen-*`), else derived from the operations by the
documented mapping (docs/asyncapi.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evtgen.asyncapi.extensions import X_AGGREGATES, X_COMMANDS, X_POLICIES, X_TYPES
from evtgen.asyncapi.naming import type_name, unique
from evtgen.asyncapi.parts import Operation
from evtgen.fieldtypes import NEW_IDS, FieldType
from evtgen.loader import sections
from evtgen.loader.pieces import mapping_at
from evtgen.model import Aggregate, Command, Event, Field, Policy, ValueType, pascal
from evtgen.problems import FileProblems
from evtgen.yamllines import LineList, LineMap


def recorded_flow(
    out: FileProblems, rules: FileProblems, doc: LineMap
) -> tuple[list[Aggregate], list[Command], list[Policy]]:
    """The flow evtgen recorded when it generated the document: read by the model
    file's own rules (their problems into `rules`; the document's into `out`)."""
    found: dict[str, list[Any]] = {}
    records = set(recorded_types(rules, doc))
    build: dict[str, Callable[[FileProblems, LineMap, int], Any]] = {
        X_AGGREGATES: lambda o, i, n: sections.aggregate(o, i, n, records),
        X_COMMANDS: lambda o, i, n: sections.command(o, i, n, records),
        X_POLICIES: sections.policy,
    }
    section = {X_AGGREGATES: "aggregates", X_COMMANDS: "commands", X_POLICIES: "policies"}
    for key, make in build.items():
        value = doc.get(key) or LineList()
        if not isinstance(value, LineList):
            out.fail(doc.line_of(key), f"{key} must be a list")
            value = LineList()
            value.item_lines = []
        holder = mapping_at(doc.line_of(key), **{section[key]: value})
        found[key] = [
            e
            for item, line in sections.items(rules, holder, section[key])
            if (e := make(rules, item, line))
        ]
    return found[X_AGGREGATES], found[X_COMMANDS], found[X_POLICIES]


def recorded_types(rules: FileProblems, doc: LineMap) -> dict[str, ValueType]:
    """The value objects evtgen recorded (`x-evtgen-types`), by name."""
    value = doc.get(X_TYPES)
    if not isinstance(value, LineList):
        return {}
    holder = mapping_at(doc.line_of(X_TYPES), types=value)
    entries = sections.items(rules, holder, "types")
    names = {n for i, _ in entries if isinstance(n := i.get("name"), str)}
    found = [sections.value_type(rules, item, line, names) for item, line in entries]
    return {t.name: t for t in found if t}


def flow_matches_operations(
    out: FileProblems,
    commands: list[Command],
    policies: list[Policy],
    operations: list[Operation],
    doc: LineMap,
) -> None:
    """The recorded flow wins; say so when someone edited the operations since."""
    recorded = (
        {e for c in commands for e in c.sends},
        {p.when for p in policies},
    )
    described = (
        {op.msg.event.name for op in operations if op.action == "send"},
        {op.msg.event.name for op in operations if op.action == "receive"},
    )
    if recorded != described:
        out.warn(
            doc.line_of(X_COMMANDS) if X_COMMANDS in doc else doc.line_of("operations"),
            "the operations send or receive other events than x-evtgen-commands and "
            "x-evtgen-policies say: the service follows the x-evtgen-* flow",
        )


def derived_flow(
    service: str, events: list[Event], operations: list[Operation], doc: LineMap
) -> tuple[list[Aggregate], list[Command], list[Policy]]:
    """The documented mapping for documents evtgen did not write."""
    by_name = {e.name: e for e in events}
    taken = set(by_name)
    aggregate_name = unique(pascal(service), "State", taken)
    commands: list[Command] = []
    policies: list[Policy] = []
    replies = {op.reply.event.name for op in operations if op.reply and op.action == "receive"}
    for op in operations:
        event = by_name[op.msg.event.name]
        if op.action == "receive":
            emits = (op.reply.event.name,) if op.reply else ()
            command = Command(
                unique(type_name(op.op_id), "Command", taken),
                aggregate_name,
                event.fields,
                emits,
                f"Runs when {event.name} arrives (operation {op.op_id}).",
                op.line,
            )
            commands.append(command)
            policies.append(
                Policy(
                    unique(f"When{event.name}", "Policy", taken),
                    event.name,
                    command.name,
                    "",
                    op.line,
                )
            )
            continue
        if event.name not in replies:
            commands.append(
                Command(
                    unique(type_name(op.op_id), "Command", taken),
                    aggregate_name,
                    event.fields,
                    (event.name,),
                    f"Sends {event.name} (operation {op.op_id}).",
                    op.line,
                )
            )
        if op.reply:  # the reply to what this service sent: it receives it
            reply = by_name[op.reply.event.name]
            command = Command(
                unique(f"Handle{reply.name}", "Command", taken),
                aggregate_name,
                reply.fields,
                (),
                f"Runs when {reply.name}, the reply of operation {op.op_id}, arrives.",
                op.line,
            )
            commands.append(command)
            policies.append(
                Policy(
                    unique(f"When{reply.name}", "Policy", taken),
                    reply.name,
                    command.name,
                    "",
                    op.line,
                )
            )
    if not commands:
        return [], [], []
    fields: dict[str, Field] = {}
    for command in commands:
        for f in command.fields:
            fields.setdefault(f.name, Field(f.name, f.type))
    identity = fields.get("id")
    if identity is None or identity.type.kind not in NEW_IDS or identity.type.optional:
        fields.pop("id", None)
        identity = Field("id", FieldType("uuid"))
    aggregate_fields = (identity, *(f for f in fields.values() if f.name != "id"))
    aggregate = Aggregate(aggregate_name, aggregate_fields, doc.line_of("info"))
    return [aggregate], commands, policies
