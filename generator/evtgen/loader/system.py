"""A system model: several bounded contexts in one file (docs/system.md).

Each entry of `contexts:` has the shape of a service model. An event another context
publishes is named `<context>.<Event>` (in a policy's `when:` or a saga's `start:`),
never retyped: the loader imports it into the consumer as an external event with the
producer's fields, channel and name (`producer:`), so each context resolves into the
ordinary `Model` and everything downstream reads the same objects. Each context's
standalone `model.yaml` is the same entry with the same imports written in.

Problems point at the system file's lines; the checks across contexts (a channel
published twice, a saga participant that is not a context) come after each context
has been read as a service model.
"""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evtgen.loader.names import check_service_name
from evtgen.loader.pieces import mapping_at, text, unknown_keys
from evtgen.loader.sections import read_model
from evtgen.model import Model, default_channel
from evtgen.problems import FileProblems, ModelError, Problem, Problems
from evtgen.yamllines import LineList, LineMap, YamlSyntaxError, load

SYSTEM_KEYS = {"system", "description", "contexts"}


@dataclass(frozen=True)
class Import:
    """An event of another context that a context reads, written into its model."""

    name: str
    producer: str
    channel: str
    #: where the producer's entry is: (index of its context, index in its events)
    source: tuple[int, int]


@dataclass(frozen=True)
class Addition:
    """An entry a context gets without declaring it: its half of another context's
    saga (docs/system.md). `fields` is the path, from the document's root, of the
    saga message's fields it copies."""

    section: str  # events, commands or policies
    values: tuple[tuple[str, Any], ...]
    fields: tuple[Any, ...] | None
    line: int


@dataclass(frozen=True)
class Link:
    """Messages on one channel from the context that writes them to one that reads
    them: an event a policy (or a saga's start) reacts to, or a saga's message."""

    producer: str
    consumer: str
    message: str
    channel: str
    kind: str = "event"  # event, command (orchestrator to participant), reply


@dataclass(frozen=True)
class Context:
    name: str
    model: Model
    #: its standalone model.yaml: the system file's entry, the imports written in
    model_text: str
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class System:
    name: str
    description: str
    contexts: tuple[Context, ...]
    links: tuple[Link, ...]

    def context(self, name: str) -> Context:
        return next(c for c in self.contexts if c.name == name)


def load_system(path: Path) -> System:
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ModelError([Problem(str(path), 1, f"cannot read the system model: {err}")]) from err
    return parse_system(text, str(path))


def parse_system(text: str, filename: str) -> System:
    try:
        data = load(text, round_trip=True)
    except YamlSyntaxError as err:
        raise ModelError(
            [Problem(filename, err.line, f"YAML syntax error: {err.message}")]
        ) from err
    problems = Problems()
    out = problems.in_file(filename)
    system = _read(out, data, text)
    if problems.errors:
        # a producer's field read again in each consumer says the same thing once
        unique = list(dict.fromkeys(problems.errors))
        raise ModelError(sorted(unique, key=lambda p: (p.file, p.line)))
    assert system is not None
    return system


def _read(out: FileProblems, data: Any, source_text: str) -> System | None:
    if not isinstance(data, LineMap) or "system" not in data:
        out.fail(1, "a system model is a mapping with system, description and contexts")
        return None
    unknown_keys(out, data, SYSTEM_KEYS, "the system model")
    name = data.get("system")
    if not isinstance(name, str) or check_service_name(name):
        out.fail(data.line_of("system"), "system must be a name such as 'shipping'")
        name = "system"
    description = text(out, data, "description", "the system model")
    entries = _contexts(out, data)
    names = [n for _, n, _ in entries]
    produced = {n: _produced(entry, n) for entry, n, _ in entries}
    resolutions = [_resolve(out, entry, n, names, produced) for entry, n, _ in entries]
    halves = _saga_halves(out, entries)
    contexts = []
    for (entry, ctx, line), imports in zip(entries, resolutions, strict=True):
        added = halves.get(ctx, [])
        resolved = _with_additions(_with_imports(entry, imports, entries), added, data)
        model = read_model(out, resolved, ctx)
        if model is None:
            continue
        index = names.index(ctx)
        model_text = _model_text(source_text, index, imports, added)
        contexts.append(Context(ctx, model, model_text, line))
    if len(contexts) < len(entries):
        return None
    links = _check_across(out, contexts, set(names))
    return System(name, description or f"The {name} system.", tuple(contexts), links)


def _contexts(out: FileProblems, data: LineMap) -> list[tuple[LineMap, str, int]]:
    value = data.get("contexts")
    if not isinstance(value, LineList) or not value:
        out.fail(data.line_of("contexts"), "contexts must be a list of service models")
        return []
    found: list[tuple[LineMap, str, int]] = []
    for index, entry in enumerate(value):
        line = value.item_lines[index]
        name = entry.get("service") if isinstance(entry, LineMap) else None
        if not isinstance(name, str):
            out.fail(line, "each context is a service model with 'service: <name>'")
            continue
        assert isinstance(entry, LineMap)
        if any(name == n for _, n, _ in found):
            out.fail(entry.line_of("service"), f"context {name!r} is defined twice")
            continue
        found.append((entry, name, line))
    return found


def _produced(entry: LineMap, context: str) -> dict[str, tuple[int, str]]:
    """The events a context publishes: name -> (index in its events, channel)."""
    found: dict[str, tuple[int, str]] = {}
    events = entry.get("events")
    for index, item in enumerate(events if isinstance(events, list) else []):
        if not isinstance(item, LineMap) or item.get("external") is True:
            continue
        name, channel = item.get("name"), item.get("channel")
        if isinstance(name, str):
            found[name] = (index, channel if isinstance(channel, str) else "")
            if not found[name][1]:
                found[name] = (index, default_channel(context, name))
    return found


def _references(entry: LineMap) -> list[tuple[LineMap, str]]:
    """The mappings and keys that may name another context's event."""
    refs: list[tuple[LineMap, str]] = []
    policies = entry.get("policies")
    for item in policies if isinstance(policies, list) else []:
        if isinstance(item, LineMap) and isinstance(item.get("when"), str):
            refs.append((item, "when"))
    saga = entry.get("saga")
    if isinstance(saga, LineMap) and isinstance(saga.get("start"), str):
        refs.append((saga, "start"))
    return refs


def _resolve(
    out: FileProblems,
    entry: LineMap,
    context: str,
    names: list[str],
    produced: dict[str, dict[str, tuple[int, str]]],
) -> list[Import]:
    own = {i.get("name") for i in entry.get("events") or [] if isinstance(i, LineMap)}
    imports: dict[str, Import] = {}
    for item, key in _references(entry):
        ref: str = item[key]
        if "." not in ref:
            continue
        other, _, event = ref.partition(".")
        line = item.line_of(key)
        if other == context:
            out.fail(line, f"{ref} is {context}'s own event: name it {event!r}")
        elif other not in names:
            out.fail(
                line,
                f"{ref} names an unknown context {other!r}; the system's contexts are: "
                f"{', '.join(names)}",
            )
        elif event not in produced[other]:
            out.fail(
                line,
                f"context {other} publishes no event {event!r}; it publishes: "
                f"{', '.join(produced[other]) or 'nothing'}",
            )
        elif event in own:
            out.fail(
                line,
                f"{context} already has an event named {event!r}; another context's "
                f"event is never retyped: remove that entry and keep {ref}",
            )
        elif event in imports and imports[event].producer != other:
            out.fail(line, f"two contexts' events named {event!r}: {context} can read one")
        else:
            index, channel = produced[other][event]
            imports[event] = Import(event, other, channel, (names.index(other), index))
    return list(imports.values())


def _copy_map(item: LineMap, **changes: Any) -> LineMap:
    made = LineMap(item)
    made.update(changes)
    made.line = item.line
    made.key_lines = dict(item.key_lines)
    return made


def _with_imports(
    entry: LineMap, imports: list[Import], entries: list[tuple[LineMap, str, int]]
) -> LineMap:
    """The context's entry as a service model: qualified names made local, and each
    import an external event (at the line of the first reference to it)."""
    if not imports:
        return entry
    wanted = {f"{i.producer}.{i.name}": i.name for i in imports}
    resolved = _copy_map(entry)
    for key in ("policies",):
        items = entry.get(key)
        if isinstance(items, LineList):
            copied = LineList(
                _copy_map(i, when=wanted.get(i["when"], i["when"]))
                if isinstance(i, LineMap) and isinstance(i.get("when"), str)
                else i
                for i in items
            )
            copied.line, copied.item_lines = items.line, list(items.item_lines)
            resolved[key] = copied
    saga = entry.get("saga")
    if isinstance(saga, LineMap) and isinstance(saga.get("start"), str):
        resolved["saga"] = _copy_map(saga, start=wanted.get(saga["start"], saga["start"]))
    events = entry.get("events")
    listed = LineList(events if isinstance(events, list) else [])
    listed.line = events.line if isinstance(events, LineList) else entry.line
    listed.item_lines = list(events.item_lines) if isinstance(events, LineList) else []
    for imp in imports:
        ctx, index = imp.source
        source = entries[ctx][0]["events"][index]
        at = next(
            (
                item.line_of(k)
                for item, k in _references(entry)
                if item[k] == imp.producer + "." + imp.name
            ),
            entry.line,
        )
        values = {"name": imp.name, "external": True, "producer": imp.producer}
        values["channel"] = imp.channel
        if "fields" in source:
            values["fields"] = source["fields"]
        listed.append(mapping_at(at, **values))
        listed.item_lines.append(at)
    resolved["events"] = listed
    if "events" not in resolved.key_lines:
        resolved.key_lines["events"] = entry.line
    return resolved


def _model_text(
    source_text: str, index: int, imports: list[Import], additions: list[Addition]
) -> str:
    """The context's standalone model.yaml: its entry of the system file, as written
    (comments kept), with the qualified names made local and the imports added."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    from evtgen.modelfile import indentation

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 1 << 16
    document = yaml.load(source_text.replace("\r\n", "\n"))
    contexts = document["contexts"]
    entry = contexts[index]
    wanted = {f"{i.producer}.{i.name}": i.name for i in imports}
    for policy in entry.get("policies") or []:
        if isinstance(policy, CommentedMap) and policy.get("when") in wanted:
            policy["when"] = wanted[policy["when"]]
    saga = entry.get("saga")
    if isinstance(saga, CommentedMap) and saga.get("start") in wanted:
        saga["start"] = wanted[saga["start"]]
    if imports and "events" not in entry:
        entry["events"] = CommentedSeq()
    for imp in imports:
        ctx, at = imp.source
        produced = contexts[ctx]["events"][at]
        added = CommentedMap()
        added["name"] = imp.name
        added["external"] = True
        added["producer"] = imp.producer
        added["channel"] = imp.channel
        if "fields" in produced:
            added["fields"] = copy.deepcopy(produced["fields"])
        entry["events"].append(added)
    for addition in additions:
        made = CommentedMap()
        for key, value in addition.values:
            if isinstance(value, list):
                value = CommentedSeq(value)
                value.fa.set_flow_style()
            made[key] = value
        if addition.fields is not None:
            made["fields"] = copy.deepcopy(_at(document, addition.fields))
        if addition.section not in entry:
            entry[addition.section] = CommentedSeq()
        entry[addition.section].append(made)
    mapping, sequence, offset = indentation(source_text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    written = io.StringIO()
    yaml.dump(entry, written)
    header = (
        f"# The event-storming model of this service: the context {entry['service']} of "
        f"the system {document['system']}.\n# Edit the system's model and run "
        "`evtgen update` over its repos (docs/system.md).\n"
    )
    return header + _dedent(written.getvalue())


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


def _with_additions(entry: LineMap, additions: list[Addition], data: LineMap) -> LineMap:
    """The entry with the additions appended to their sections, at their lines."""
    if not additions:
        return entry
    resolved = _copy_map(entry)
    for section in dict.fromkeys(a.section for a in additions):
        items = entry.get(section)
        listed = LineList(items if isinstance(items, list) else [])
        listed.line = items.line if isinstance(items, LineList) else entry.line
        listed.item_lines = list(items.item_lines) if isinstance(items, LineList) else []
        for addition in (a for a in additions if a.section == section):
            values = dict(addition.values)
            if addition.fields is not None:
                values["fields"] = _at(data, addition.fields)
            listed.append(mapping_at(addition.line, **values))
            listed.item_lines.append(addition.line)
        resolved[section] = listed
        resolved.key_lines.setdefault(section, entry.line)
    return resolved


SAGA_ROLES = ("command", "success", "failure", "compensation")


def _saga_halves(
    out: FileProblems, entries: list[tuple[LineMap, str, int]]
) -> dict[str, list[Addition]]:
    """Each participant's half of the sagas the other contexts run: the command as
    an external event, a policy on it running a command of the participant's that
    emits the success reply, or the failure reply when its domain refuses it, and
    the same for the compensation (docs/system.md)."""
    names = [n for _, n, _ in entries]
    halves: dict[str, list[Addition]] = {}
    for oi, (entry, orchestrator, _) in enumerate(entries):
        saga = entry.get("saga")
        steps = saga.get("steps") if isinstance(saga, LineMap) else None
        if not isinstance(steps, LineList):
            continue
        for si, step in enumerate(steps):
            participant = step.get("participant") if isinstance(step, LineMap) else None
            if participant not in names or participant == orchestrator:
                continue  # refused after the contexts are read (_check_across)
            assert isinstance(step, LineMap) and isinstance(participant, str)
            line = steps.item_lines[si]
            own = entries[names.index(participant)][0].get("aggregates")
            aggregate = next((a.get("name") for a in own or [] if isinstance(a, LineMap)), None)
            if not isinstance(aggregate, str):
                out.fail(
                    step.line_of("participant"),
                    f"participant {participant} has no aggregate for the saga's command to "
                    "act on; give its context one (e.g. what the step changes)",
                )
                continue
            found = {}
            for role in SAGA_ROLES:
                value = step.get(role)
                path: tuple[Any, ...] | None = None
                channel = None
                if isinstance(value, LineMap) and isinstance(value.get("name"), str):
                    if "fields" in value:
                        path = ("contexts", oi, "saga", "steps", si, role, "fields")
                    channel = value.get("channel")
                    value = value["name"]
                if isinstance(value, str):
                    if not isinstance(channel, str):
                        channel = default_channel(participant, value)
                    found[role] = (value, channel, path)
            if "command" not in found or "success" not in found:
                continue  # the saga's own reader says what is missing
            added = halves.setdefault(participant, [])
            # the success reply by default; the failure when the domain refuses
            rejected: tuple[tuple[str, Any], ...] = ()
            if "failure" in found:
                rejected = (("rejected", found["failure"][0]),)
            for role, emits in (("command", [found["success"][0]]), ("compensation", [])):
                if role not in found:
                    continue
                name, channel, path = found[role]
                event = (("name", name), ("external", True), ("producer", orchestrator))
                added.append(Addition("events", (*event, ("channel", channel)), path, line))
                run = f"Run{name}"
                command: tuple[tuple[str, Any], ...] = (
                    ("name", run),
                    ("aggregate", aggregate),
                    ("emits", emits),
                )
                if role == "command":
                    command += rejected
                added.append(Addition("commands", command, path, line))
                added.append(
                    Addition(
                        "policies",
                        (("name", f"On{name}"), ("when", name), ("then", run)),
                        None,
                        line,
                    )
                )
                if role == "command":
                    for reply in ("success", "failure"):
                        if reply in found:
                            name, channel, path = found[reply]
                            values = (("name", name), ("channel", channel))
                            added.append(Addition("events", values, path, line))
    return halves


def _dedent(text: str) -> str:
    lines = text.splitlines()
    margin = min((len(x) - len(x.lstrip(" ")) for x in lines if x.strip()), default=0)
    return "\n".join(x[margin:] for x in lines) + "\n"


def _check_across(out: FileProblems, contexts: list[Context], names: set[str]) -> tuple[Link, ...]:
    publisher: dict[str, str] = {}  # channel -> the context that publishes it
    links: list[Link] = []

    def publish(ctx: str, channel: str, line: int, what: str) -> None:
        other = publisher.setdefault(channel, ctx)
        if other != ctx:
            out.fail(
                line,
                f"{what} of {ctx} is published on {channel!r}, which {other} publishes "
                "already; a channel has one producer: give one of them another channel",
            )

    for ctx in contexts:
        for event in ctx.model.events:
            if not event.external:
                publish(ctx.name, event.channel, event.line, f"event {event.name}")
        saga = ctx.model.saga
        if saga is None:
            continue
        for step in saga.steps:
            if step.participant not in names:
                out.fail(
                    step.line,
                    f"the saga's participant {step.participant!r} is not a context of the "
                    f"system; its contexts are: {', '.join(sorted(names))}",
                )
                continue
            if step.participant == ctx.name:
                out.fail(step.line, f"{ctx.name} runs the saga: it cannot be its participant")
                continue
            for message in (step.command, step.compensation):
                if message is not None:
                    publish(ctx.name, message.channel, step.line, f"saga command {message.name}")
                    links.append(
                        Link(ctx.name, step.participant, message.name, message.channel, "command")
                    )
            for message in (step.success, step.failure):
                if message is not None:
                    publish(step.participant, message.channel, step.line, f"reply {message.name}")
                    links.append(
                        Link(step.participant, ctx.name, message.name, message.channel, "reply")
                    )
    for ctx in contexts:
        read = {e.name for e in ctx.model.subscribed_events}
        for event in ctx.model.events:
            producer = event.producer or publisher.get(event.channel)
            known = any(
                (x.producer, x.consumer, x.channel) == (producer, ctx.name, event.channel)
                for x in links
            )
            if event.external and event.name in read and producer in names and not known:
                links.append(Link(producer, ctx.name, event.name, event.channel))
    return tuple(links)
