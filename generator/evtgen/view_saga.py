"""The saga's part of the template's view (docs/saga.md): the orchestrator's
subscribers (its start event and each step's replies) and the messages it builds
from what the saga knows."""

from __future__ import annotations

from typing import Any

from evtgen.model import (
    Event,
    Model,
    Saga,
    SagaStep,
    channel_parameters,
    dead_letter_channel,
    snake,
)
from evtgen.saga_scenarios import saga_scenarios
from evtgen.view import docstring_text, filled_field, producer_of


def saga_consumed(model: Model) -> list[dict[str, Any]]:
    """Subscribers for the saga: its start event and its replies go to the orchestrator."""
    if model.saga is None:
        return []
    start = model.event(model.saga.start)
    # a reply comes from the step's participant, a service of its own
    replies = [
        (reply, "reply", step.participant)
        for step in model.saga.steps
        for reply in (step.success, step.failure)
        if reply is not None
    ]
    return [
        {
            "event": e.name,
            "snake": snake(e.name),
            "channel": e.channel,
            "producer": producer,
            "dead_letter_channel": dead_letter_channel(e.channel),
            **({"parameters": list(channel_parameters(e.channel))} if e.parameters else {}),
            "policies": [],
            "loads": [],
            "saga": kind,
            "rejections": [],
        }
        for e, kind, producer in [(start, "start", producer_of(start)), *replies]
    ]


def _saga_message(event: Event) -> dict[str, Any]:
    return {"name": event.name, "snake": snake(event.name), "channel": event.channel}


def _built(event: Event, sources: list[Event], start: str, code: list[str]) -> dict[str, Any]:
    """A message the orchestrator builds from what the saga knows: the start event
    (`state.start`) and the success replies received so far (`got(state, Reply)`).
    `expected` is what a copied field holds when the saga ran on the sample messages."""
    prefixed = [
        (
            "state.start" if source.name == start else f"got(state, messages.{source.name})",
            source.fields,
        )
        for source in sources
    ]
    fields = []
    for target in event.fields:
        filled = filled_field(target, prefixed, code)
        if filled["copied"]:
            origin = filled["value"].rpartition(".")[0]
            source = next(
                s for s, (prefix, _) in zip(sources, prefixed, strict=True) if prefix == origin
            )
            filled["expected"] = f"samples.{snake(source.name)}().{target.attr}"
        elif target.name == "reason" and target.type.kind == "string":
            filled = {"name": "reason", "value": "state.reason", "copied": False}
        fields.append(filled)
    return {**_saga_message(event), "fields": fields}


def saga_view(model: Model, saga: Saga, code: list[str]) -> dict[str, Any]:
    start = model.event(saga.start)
    known: list[Event] = [start]
    steps = []
    for index, step in enumerate(saga.steps):
        command = _built(step.command, list(known), start.name, code)
        known.append(step.success)
        steps.append(_step(index, step, command, known, start.name, code))
    ends: dict[str, Any] = {}
    for key, name, sources in (
        ("completed", saga.completed, known),
        ("failed", saga.failed, [start]),
    ):
        ends[key] = _built(model.event(name), sources, start.name, code) if name else None
    return {
        "name": saga.name,
        "doc": docstring_text(saga.doc),
        "start": _saga_message(start),
        "steps": steps,
        **ends,
        "scenarios": saga_scenarios(saga),
    }


def _step(
    index: int,
    step: SagaStep,
    command: dict[str, Any],
    known: list[Event],
    start: str,
    code: list[str],
) -> dict[str, Any]:
    return {
        "index": index,
        "name": step.name,
        "snake": snake(step.name),
        "participant": step.participant,
        "timeout": step.timeout,
        "timeout_env": f"SAGA_TIMEOUT_{snake(step.name).upper()}",
        "command": command,
        "success": _saga_message(step.success),
        "failure": _saga_message(step.failure) if step.failure else None,
        "compensation": (
            _built(step.compensation, list(known), start, code) if step.compensation else None
        ),
    }
