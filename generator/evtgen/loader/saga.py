"""The saga of a model (docs/saga.md): its steps, their messages and timeouts, and
what the saga's messages must carry."""

from __future__ import annotations

import re
from typing import Any

from evtgen.fieldtypes import assignable
from evtgen.loader.checks import one_channel_each
from evtgen.loader.fields import read_fields
from evtgen.loader.names import SERVICE_NAME
from evtgen.loader.pieces import channel_of, mapping_at, text, type_name, unknown_keys
from evtgen.model import Event, Model, Saga, SagaStep, default_channel
from evtgen.problems import FileProblems
from evtgen.yamllines import LineList, LineMap

SAGA_KEYS = {"name", "doc", "start", "completed", "failed", "steps"}
STEP_KEYS = {"participant", "command", "success", "failure", "compensation", "timeout"}
SAGA_MESSAGE_KEYS = {"name", "fields", "channel", "doc"}
DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$")
DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
#: How long a step waits for its reply when the model does not say.
DEFAULT_STEP_TIMEOUT = 30.0


def read_saga(out: FileProblems, data: LineMap) -> Saga | None:
    item = data.get("saga")
    line = data.line_of("saga")
    if not isinstance(item, LineMap):
        out.fail(
            line,
            "saga must be a mapping with name, start and steps (see docs/saga.md)",
        )
        return None
    unknown_keys(out, item, SAGA_KEYS, "the saga")
    name = type_name(out, item, line, "saga")
    refs: dict[str, str | None] = {}
    for key in ("start", "completed", "failed"):
        value = item.get(key)
        if value is None and key != "start":
            refs[key] = None
        elif not isinstance(value, str) or not value:
            out.fail(item.line_of(key), f"the saga needs '{key}: <name of an event>'")
            refs[key] = None
        else:
            refs[key] = value
    steps_value = item.get("steps")
    steps: list[SagaStep] = []
    if not isinstance(steps_value, LineList) or not steps_value:
        out.fail(
            item.line_of("steps"),
            "the saga needs 'steps:', a list of steps each with participant, command and success",
        )
    else:
        for index, step_item in enumerate(steps_value):
            step_line = steps_value.item_lines[index]
            if not isinstance(step_item, LineMap):
                out.fail(step_line, "each step of the saga must be a mapping")
                continue
            step = saga_step(out, step_item, step_line)
            if step:
                steps.append(step)
    if name is None or refs["start"] is None:
        return None
    return Saga(
        name,
        refs["start"],
        tuple(steps),
        refs["completed"],
        refs["failed"],
        text(out, item, "doc", f"saga {name}"),
        line,
        tuple((k, item.line_of(k)) for k in item if isinstance(k, str)),
    )


def saga_step(out: FileProblems, item: LineMap, line: int) -> SagaStep | None:
    unknown_keys(out, item, STEP_KEYS, "a step of the saga")
    participant = item.get("participant")
    if not isinstance(participant, str) or not SERVICE_NAME.match(participant):
        out.fail(
            item.line_of("participant") if "participant" in item else line,
            "each step needs 'participant: <context>', the kebab-case name of the "
            "service that runs its command (e.g. 'payments')",
        )
        participant = None
    messages: dict[str, Event | None] = {}
    for key in ("command", "success", "failure", "compensation"):
        if key not in item:
            if key in ("command", "success"):
                out.fail(
                    line,
                    f"this step has no '{key}:'; give it as "
                    "{name: <PascalCase>, fields: {...}}",
                )
            messages[key] = None
            continue
        messages[key] = saga_message(
            out, item.get(key), item.line_of(key), key, participant or "participant"
        )
    timeout = duration(out, item, line)
    command, success = messages["command"], messages["success"]
    if participant is None or command is None or success is None or timeout is None:
        return None
    return SagaStep(
        command.name,
        participant,
        command,
        success,
        messages["failure"],
        messages["compensation"],
        timeout,
        line,
    )


def saga_message(
    out: FileProblems, value: Any, line: int, role: str, participant: str
) -> Event | None:
    if isinstance(value, str):  # just a name: a message without fields
        value = mapping_at(line, name=value)
    if not isinstance(value, LineMap):
        out.fail(line, f"{role} must be a mapping such as {{name: ..., fields: {{...}}}}")
        return None
    unknown_keys(out, value, SAGA_MESSAGE_KEYS, f"the {role} of a step")
    name = type_name(out, value, line, f"{role} message")
    fields = read_fields(out, value, f"{role} {name}")
    channel = channel_of(out, value, f"{name}")
    if name is None:
        return None
    return Event(
        name,
        channel or default_channel(participant, name),
        fields,
        # replies come from the participant; the orchestrator sends the commands
        external=role in ("success", "failure"),
        doc=text(out, value, "doc", name),
        line=line,
    )


def duration(out: FileProblems, item: LineMap, line: int) -> float | None:
    value = item.get("timeout", DEFAULT_STEP_TIMEOUT)
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := DURATION.match(value.strip())):
        seconds = float(match.group(1)) * DURATION_UNITS[match.group(2)]
    if seconds is None or seconds <= 0:
        out.fail(
            item.line_of("timeout") if "timeout" in item else line,
            f"timeout {value!r} must be a positive duration: seconds, or e.g. "
            "'500ms', '30s', '5m', '1h'",
        )
        return None
    return seconds


def check_saga(out: FileProblems, model: Model, saga: Saga) -> None:
    events = {e.name: e for e in model.events}
    start = events.get(saga.start)
    if start is None:
        out.fail(
            saga.line_of("start"),
            f"the saga starts on {saga.start!r}, which is not an event of the model",
        )
    for policy in model.policies:
        if start is not None and policy.when == start.name:
            out.fail(
                policy.line,
                f"policy {policy.name} reacts to {start.name}, which starts the saga: "
                "a service subscribes to a channel once; let the saga start on "
                "another event, or drop the policy",
            )
    if saga.completed is not None and saga.completed == saga.failed:
        out.fail(
            saga.line_of("failed"),
            f"the saga's completed and failed events are both {saga.failed!r}; "
            "give each its own event, so the two outcomes can be told apart",
        )
    for key, name in (("completed", saga.completed), ("failed", saga.failed)):
        if name is None:
            continue
        if name == saga.start:
            out.fail(
                saga.line_of(key),
                f"the saga's {key} event is {name!r}, the event that starts it; "
                "choose another event",
            )
            continue
        if name not in events:
            out.fail(
                saga.line_of(key),
                f"the saga's {key} event {name!r} is not an event of the model",
            )
        elif events[name].external:
            out.fail(
                saga.line_of(key),
                f"the saga's {key} event {name!r} is marked external, but the "
                "orchestrator publishes it",
            )
    one_channel_each(out, saga.sent + saga.replies, {e.channel: e.name for e in model.events})
    if start is None or not saga.steps:
        return
    # Every field a message needs must come from what the saga knows by then:
    # the start event and the success replies of the steps done so far.
    known: list[Event] = [start]
    for step in saga.steps:
        carried(out, step.command, known, "the start event and earlier steps' replies")
        known.append(step.success)
        if step.compensation is not None:
            carried(out, step.compensation, known, "the start event and the replies up to its step")
    if saga.completed in events:
        carried(out, events[saga.completed], known, "the start event and the steps' replies")
    if saga.failed in events:
        carried(out, events[saga.failed], [start], "the start event", spare={"reason"})


def carried(
    out: FileProblems,
    target: Event,
    sources: list[Event],
    what: str,
    spare: frozenset[str] | set[str] = frozenset(),
) -> None:
    for wanted in target.fields:
        if wanted.type.optional or wanted.has_default or wanted.name in spare:
            continue
        if not any(
            f.name == wanted.name and assignable(f.type, wanted.type)
            for source in sources
            for f in source.fields
        ):
            out.fail(
                target.line,
                f"field {wanted.name} of {target.name} is not carried by "
                f"{what} ({', '.join(s.name for s in sources)}); add it to one of "
                "them, or make it optional or give it a default",
            )
