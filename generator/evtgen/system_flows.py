"""The flows of a system (docs/system.md, "End to end"): each choreography flow,
traced through its contexts' policies (an event from outside the system, the
commands it runs and the events they emit, each read by the next context, until an
event no context reads), and each saga across contexts, from its start event through
its participants' replies to its end.

The system repository's end-to-end test drives each flow: it publishes the first
event and waits for every event of the flow (in any order: brokers do not order
messages across channels), every context running as its own process."""

from __future__ import annotations

from dataclasses import dataclass

from evtgen.loader.system import System
from evtgen.model import Event, Saga


@dataclass(frozen=True)
class Hop:
    context: str
    event: str  # the event the context publishes
    channel: str


@dataclass(frozen=True)
class Flow:
    #: the context that reads the first event, the event and its channel
    start: Hop
    #: what each context publishes in turn; the last is the flow's last event
    hops: tuple[Hop, ...]
    #: a saga's failure: the participant whose domain refuses its command (raises
    #: `Rejected`); the flow runs once a team's rule refuses something (docs/system.md)
    refused_by: str | None = None

    @property
    def name(self) -> str:
        refused = f" refused by {self.refused_by}" if self.refused_by else ""
        return f"{self.start.event}{refused} to {self.end.event}"

    @property
    def end(self) -> Hop:
        return self.hops[-1]

    @property
    def contexts(self) -> list[str]:
        return list(dict.fromkeys([self.start.context, *(h.context for h in self.hops)]))


def flows(system: System) -> list[Flow]:
    """One flow per event from outside the system that a context reacts to: the
    longest path from it to an event no context reads (the commands' `emits`, not
    what they send when rejected); and one per saga started from outside the
    system: from its start, through each participant's success reply (what a
    generated participant answers), to its `completed` event."""
    found = []
    for context in system.contexts:
        model = context.model
        for event in model.consumed_events:
            if _from_outside(system, event):
                start = Hop(context.name, event.name, event.channel)
                path = _longest(system, context.name, event.name, (), set())
                if path:
                    found.append(Flow(start, path))
        saga = _driven_saga(system, context.name)
        if saga is not None and saga.completed is not None:
            begins = model.event(saga.start)
            replies = tuple(
                Hop(s.participant, s.success.name, s.success.channel) for s in saga.steps
            )
            end = model.event(saga.completed)
            found.append(
                Flow(
                    Hop(context.name, begins.name, begins.channel),
                    (*replies, Hop(context.name, end.name, end.channel)),
                )
            )
    return found


def refusals(system: System) -> list[Flow]:
    """One flow per saga step that can fail, of the sagas `flows` drives: its
    participant refuses the command, so the saga undoes the steps done (their
    compensations, last first) and ends at its `failed` event. Not driven by
    default: a generated domain refuses nothing; a team's rule does."""
    found = []
    for context in system.contexts:
        saga = _driven_saga(system, context.name)
        if saga is None or saga.failed is None:
            continue
        model = context.model
        begins = model.event(saga.start)
        end = model.event(saga.failed)
        for index, step in enumerate(saga.steps):
            if step.failure is None:
                continue
            done = saga.steps[:index]
            hops = [Hop(s.participant, s.success.name, s.success.channel) for s in done]
            hops.append(Hop(step.participant, step.failure.name, step.failure.channel))
            hops += [
                Hop(context.name, s.compensation.name, s.compensation.channel)
                for s in reversed(done)
                if s.compensation is not None
            ]
            hops.append(Hop(context.name, end.name, end.channel))
            start = Hop(context.name, begins.name, begins.channel)
            found.append(Flow(start, tuple(hops), refused_by=step.participant))
    return found


def _from_outside(system: System, event: Event) -> bool:
    names = {c.name for c in system.contexts}
    return event.external and (event.producer is None or event.producer not in names)


def _driven_saga(system: System, context: str) -> Saga | None:
    """The context's saga, when the end-to-end test can drive it: started from
    outside the system (its participants are contexts: the loader refuses others)."""
    model = system.context(context).model
    saga = model.saga
    if saga is None or not _from_outside(system, model.event(saga.start)):
        return None
    return saga


def _longest(
    system: System, reader: str, event: str, path: tuple[Hop, ...], seen: set[tuple[str, str]]
) -> tuple[Hop, ...]:
    model = system.context(reader).model
    best = path
    for policy in model.policies:
        if policy.when != event:
            continue
        for emitted in model.command(policy.then).emits:
            if (reader, emitted) in seen:
                continue
            hop = Hop(reader, emitted, model.event(emitted).channel)
            readers = [
                link.consumer
                for link in system.links
                if link.kind == "event" and link.producer == reader and link.message == emitted
            ]
            here = (*path, hop)
            candidates = [here] if not readers else []
            for consumer in readers:
                candidates.append(
                    _longest(system, consumer, emitted, here, seen | {(reader, emitted)})
                )
            for candidate in candidates:
                if len(candidate) > len(best):
                    best = candidate
    return best
