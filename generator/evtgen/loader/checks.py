"""The checks across a model's entries: names unique and free for the generated code,
references that resolve, no policy loops, channels used once."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from evtgen.fieldtypes import NEW_IDS, assignable
from evtgen.loader.names import RESERVED_FUNCTIONS, RESERVED_TYPES
from evtgen.model import (
    PARAMETER,
    Event,
    Model,
    Policy,
    channel_parameters,
    channel_pattern,
    dead_letter_channel,
    snake,
)
from evtgen.problems import FileProblems


def cross_check(out: FileProblems, model: Model) -> None:
    """What no single entry shows: the entries together, as the generated code uses them."""
    seen: dict[str, str] = {}
    entries: list[tuple[str, str, int]] = [
        *(("type", t.name, t.line) for t in model.types),
        *(("aggregate", a.name, a.line) for a in model.aggregates),
        *(("command", c.name, c.line) for c in model.commands),
        *(("event", e.name, e.line) for e in model.events),
        *(("policy", p.name, p.line) for p in model.policies),
        *(("saga message", m.name, m.line) for m in model.messages[len(model.events) :]),
    ]
    generated: dict[str, str] = {}  # snake_case form -> the name it came from
    for aggregate in model.aggregates:
        for derived in (f"new_{snake(aggregate.name)}", f"{snake(aggregate.name)}_store"):
            generated[derived] = f"aggregate {aggregate.name}"
    for kind, name, line in entries:
        if name in RESERVED_TYPES:
            out.fail(
                line, f"{kind} name {name!r} is used by the generated code; choose another name"
            )
        form = snake(name)
        if name in seen:
            out.fail(
                line,
                f"{kind} name {name!r} is already used by {_article(seen[name])}; "
                "names must be unique in a model",
            )
            continue
        if form in RESERVED_FUNCTIONS or form in generated:
            clash = generated.get(form, "the generated code")
            out.fail(
                line,
                f"{kind} name {name!r} becomes {form!r} in Python, which "
                f"{clash} already uses; choose another name",
            )
        generated.setdefault(form, f"{kind} {name}")
        seen[name] = kind
    _no_record_loops(out, model)
    if not model.aggregates and not model.events:
        out.fail(1, "the model has no aggregates and no events: nothing to generate")
    for command in model.commands:
        if command.aggregate not in {a.name for a in model.aggregates}:
            continue
        identity = model.aggregate(command.aggregate).id_field
        carried = any(
            f.name == identity.name and assignable(f.type, identity.type) for f in command.fields
        )
        if not carried and identity.type.kind not in NEW_IDS:
            out.fail(
                command.line,
                f"command {command.name} creates a {command.aggregate}, whose identity "
                f"{identity.name} is a {identity.type.kind}: evtgen makes new identities "
                f"only of type {', '.join(NEW_IDS)}; give the command a field "
                f"{identity.name!r} or change the identity's type",
            )
    aggregates = {a.name for a in model.aggregates}
    commands = {c.name for c in model.commands}
    events = {e.name: e for e in model.events}
    for command in model.commands:
        if command.aggregate and command.aggregate not in aggregates:
            out.fail(
                command.line,
                f"command {command.name} acts on aggregate "
                f"{command.aggregate!r}, which the model does not define",
            )
        if command.rejected in command.emits:
            out.fail(
                command.line,
                f"command {command.name} emits {command.rejected!r} and is rejected with it: "
                "the rejected event is sent instead of the others, list it once",
            )
        sent = [("emits", e) for e in command.emits]
        sent += [("is rejected with", command.rejected)] if command.rejected else []
        for verb, emitted in sent:
            if emitted not in events:
                out.fail(
                    command.line,
                    f"command {command.name} {verb} {emitted!r}, "
                    "which is not an event of the model",
                )
            elif events[emitted].external:
                out.fail(
                    command.line,
                    f"command {command.name} {verb} {emitted!r}, "
                    "which is marked external (published by another context)",
                )
    for policy in model.policies:
        if policy.when and policy.when not in events:
            out.fail(
                policy.line,
                f"policy {policy.name} reacts to {policy.when!r}, "
                "which is not an event of the model",
            )
        if policy.then and policy.then not in commands:
            out.fail(
                policy.line,
                f"policy {policy.name} issues {policy.then!r}, which is not a command of the model",
            )
    loops(out, model)
    one_channel_each(out, model.events, {}, "event ")
    dead_letter_clashes(out, model)
    wildcard_overlaps(out, model)


def one_channel_each(
    out: FileProblems, messages: Iterable[Event], taken: dict[str, str], kind: str = ""
) -> None:
    """Each message on a channel of its own; `taken` holds the channels already used
    (channel -> the name of its message), and these messages' too, once checked."""
    for message in messages:
        if message.channel in taken:
            out.fail(
                message.line,
                f"{kind}{message.name} uses channel {message.channel!r}, "
                f"already used by {taken[message.channel]}",
            )
        taken[message.channel] = message.name


def loops(out: FileProblems, model: Model) -> None:
    """Policies that lead back to the event they react to: the generated service
    would react to its own events for ever."""
    commands = {c.name: c for c in model.commands}
    by_event: dict[str, list[Policy]] = {}
    for policy in model.policies:
        by_event.setdefault(policy.when, []).append(policy)

    def leads_to(event: str, target: str, seen: set[str]) -> bool:
        # iterative: a long chain of policies must not hit the recursion limit
        stack = [event]
        while stack:
            for policy in by_event.get(stack.pop(), []):
                command = commands.get(policy.then)
                for emitted in command.sends if command else ():
                    if emitted == target:
                        return True
                    if emitted not in seen:
                        seen.add(emitted)
                        stack.append(emitted)
        return False

    for policy in model.policies:
        command = commands.get(policy.then)
        if command and any(
            e == policy.when or leads_to(e, policy.when, {e}) for e in command.sends
        ):
            out.fail(
                policy.line,
                f"policy {policy.name} leads back to {policy.when}, "
                "the event it reacts to: the service would react to its own "
                "events for ever; break the loop",
            )


def dead_letter_clashes(out: FileProblems, model: Model) -> None:
    """An event the service sends or receives on the dead-letter channel of one it
    consumes would mix the two (and declare that topic twice)."""
    consumed = model.subscribed_events
    dead_letters = {dead_letter_channel(e.channel): e.name for e in consumed}
    used = {e.name for e in [*consumed, *model.sent_events]}  # not unused externals
    for event in model.events:
        if event.name in used and event.channel in dead_letters:
            out.fail(
                event.line,
                f"event {event.name} uses channel {event.channel!r}, where the "
                f"service dead-letters the {dead_letters[event.channel]} it cannot "
                "handle; choose another channel",
            )


def wildcard_overlaps(out: FileProblems, model: Model) -> None:
    """A parameterised channel's subscription (a broker wildcard) must catch only its
    own addresses: not another message's channel, nor a dead-letter channel (a NATS
    stream may not overlap another, and a subscriber would get the other's messages)."""
    consumed = model.subscribed_events
    channels = {m.channel: m.name for m in model.messages}
    channels.update(
        {dead_letter_channel(e.channel): f"the dead letters of {e.name}" for e in consumed}
    )
    for message in model.messages:
        if not channel_parameters(message.channel):
            continue
        pattern = re.compile(channel_pattern(message.channel))
        for channel, owner in channels.items():
            sample = PARAMETER.sub("x", channel)
            if channel != message.channel and pattern.match(sample):
                out.fail(
                    message.line,
                    f"{message.name}'s channel {message.channel!r} also matches channel "
                    f"{channel!r} ({owner}): a subscriber on it would get both; give "
                    "one of them another level",
                )


def _article(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def _no_record_loops(out: FileProblems, model: Model) -> None:
    """A value object may not hold itself, directly or through others: its messages
    would never end (and neither would its sample)."""
    holds = {t.name: {r for f in t.fields for r in f.type.records()} for t in model.types}
    for value_type in model.types:
        seen: set[str] = set()
        todo = list(holds[value_type.name])
        while todo:
            name = todo.pop()
            if name == value_type.name:
                out.fail(
                    value_type.line,
                    f"type {value_type.name} holds itself (through its fields' types); "
                    "a value object cannot contain itself; drop that field or give it another type",
                )
                break
            if name not in seen:
                seen.add(name)
                todo.extend(holds.get(name, ()))


def redis_parameters(model: Model, path: Path) -> list[str]:
    """Channels with parameters cannot be Redis streams (docs/design.md, "Channel
    parameters"): a consumer group reads named streams, with no wildcard."""
    return [
        f"{path}:{event.line}: channel {event.channel!r} of event {event.name} has "
        "parameters, and Redis streams have no wildcard to subscribe with (FastStream's "
        "Redis path parameters are pub/sub channels, which keep nothing for a consumer that "
        "is down): use --broker kafka, rabbitmq or nats, or give the event a fixed channel"
        for event in model.messages
        if event.parameters
    ]
