"""The choreography flows of a system, traced through its contexts' policies: an
event from outside the system, the commands it runs and the events they emit, each
read by the next context, until an event no context reads (docs/system.md).

The system repository's end-to-end test drives each flow: it publishes the first
event and waits for the last one, every context running as its own process."""

from __future__ import annotations

from dataclasses import dataclass

from evtgen.loader.system import System


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

    @property
    def end(self) -> Hop:
        return self.hops[-1]

    @property
    def contexts(self) -> list[str]:
        return list(dict.fromkeys([self.start.context, *(h.context for h in self.hops)]))


def flows(system: System) -> list[Flow]:
    """One flow per event from outside the system that a context reacts to: the
    longest path from it to an event no context reads; and one per saga started from
    outside, from its start to its `completed` event."""
    names = {c.name for c in system.contexts}
    found = []
    for context in system.contexts:
        model = context.model
        for event in model.consumed_events:
            if event.external and (event.producer is None or event.producer not in names):
                start = Hop(context.name, event.name, event.channel)
                path = _longest(system, context.name, event.name, (), set())
                if path:
                    found.append(Flow(start, path))
        saga = model.saga
        if saga is not None and saga.completed is not None:
            begins = model.event(saga.start)
            if begins.external and (begins.producer is None or begins.producer not in names):
                # its participants answer with their first reply, the success
                end = model.event(saga.completed)
                found.append(
                    Flow(
                        Hop(context.name, begins.name, begins.channel),
                        (Hop(context.name, end.name, end.channel),),
                    )
                )
    return found


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
