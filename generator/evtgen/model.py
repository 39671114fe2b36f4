"""The event-storming model of one bounded context, as typed objects.

`evtgen.loader` builds these from YAML and checks them; everything downstream (the
template view, the schema writers) reads only these objects.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evtgen.fieldtypes import FieldType

NO_DEFAULT: Any = object()


def snake(name: str) -> str:
    """PlaceOrder -> place_order, order-service -> order_service."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return name.replace("-", "_").lower()


def kebab(name: str) -> str:
    """PlaceOrder -> place-order."""
    return snake(name).replace("_", "-")


def pascal(name: str) -> str:
    """order_id -> OrderId, order-service -> OrderService."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\-]+", name) if part)


#: A field's name as the model (and the wire: JSON keys, Avro field names) spells it:
#: Avro's rule for names, which JSON keys also satisfy.
WIRE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: A field name the generated Python uses as is.
PYTHON_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Names the generated code already uses for itself: pydantic's BaseModel attributes
# (a field of that name shadows one: pydantic warns) and the types in annotations.
# A field named so gets another Python attribute (python_name).
RESERVED_FIELDS = frozenset(
    {
        "model_config",
        "model_fields",
        "schema",
        "json",
        "dict",
        "copy",
        "validate",
        "construct",
        "from_orm",
        "parse_file",
        "parse_obj",
        "parse_raw",
        "schema_json",
        "update_forward_refs",
        "fields",
        "self",
        "str",
        "int",
        "float",
        "bool",
        "list",
        "datetime",
    }
)


def python_name(name: str) -> str:
    """The Python attribute of a field whose wire name is `name` (docs/asyncapi.md):
    the name itself when it is snake_case and free; else its snake_case
    (`sentAt` -> `sent_at`), `f_` before one that starts with a digit or pydantic's
    `model_` (`model_config` -> `f_model_config`), `_` after a keyword or a name the
    message classes use (`from` -> `from_`, `schema` -> `schema_`)."""
    if PYTHON_NAME.match(name) and not _taken(name) and not name.startswith("model_"):
        return name
    attr = re.sub(r"_+", "_", snake(name)).strip("_")
    if not attr or attr[0].isdigit() or attr.startswith("model_"):
        attr = "f_" + attr
    return attr + "_" if _taken(attr) else attr


def _taken(name: str) -> bool:
    return keyword.iskeyword(name) or name in RESERVED_FIELDS


@dataclass(frozen=True)
class Field:
    #: the name on the wire (a JSON key, an Avro field name), as the model spells it
    name: str
    type: FieldType
    default: Any = NO_DEFAULT
    doc: str = ""

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT

    @property
    def attr(self) -> str:
        """The attribute in the generated Python (an alias of the wire name when they
        differ)."""
        return python_name(self.name)


@dataclass(frozen=True)
class Aggregate:
    name: str
    fields: tuple[Field, ...]
    line: int = field(default=0, compare=False)  # where the model file defines it

    @property
    def id_field(self) -> Field:
        """`id`, else `<aggregate>_id`, else the first uuid field, else the first field;
        never a list, map or value object, which cannot key a store (the loader
        refuses aggregates of only those)."""
        keys = [f for f in self.fields if f.type.kind not in ("list", "map", "record")]
        keys = keys or list(self.fields)
        by_name = {f.name: f for f in keys}
        for candidate in ("id", f"{snake(self.name)}_id"):
            if candidate in by_name:
                return by_name[candidate]
        return next((f for f in keys if f.type.kind == "uuid"), keys[0])


@dataclass(frozen=True)
class ValueType:
    """A value object of the model's `types:`: a named record, used as the type of
    fields of events, commands, aggregates and other value objects."""

    name: str
    fields: tuple[Field, ...]
    doc: str = ""
    line: int = field(default=0, compare=False)  # where the model file defines it


@dataclass(frozen=True)
class Command:
    name: str
    aggregate: str
    fields: tuple[Field, ...]
    emits: tuple[str, ...]
    doc: str = ""
    line: int = field(default=0, compare=False)  # where the model file defines it
    #: the event sent instead of `emits` when the domain refuses the command (raises
    #: `Rejected`): e.g. a saga participant's failure reply (docs/system.md)
    rejected: str | None = None

    @property
    def sends(self) -> tuple[str, ...]:
        """Every event the command may send: its `emits`, then its `rejected` event."""
        return self.emits + ((self.rejected,) if self.rejected else ())


@dataclass(frozen=True)
class Event:
    name: str
    channel: str
    fields: tuple[Field, ...]
    external: bool = False
    doc: str = ""
    line: int = field(default=0, compare=False)  # where the model file defines it
    #: the context that publishes an external event, when the model names it
    #: (docs/system.md): its schema then has the producer's name, not this service's
    producer: str | None = None

    @property
    def parameters(self) -> tuple[Field, ...]:
        """The fields that fill the `{name}` levels of the channel, in address order
        (docs/design.md, "Channel parameters"); the loader checks each names one."""
        by_name = {f.name: f for f in self.fields}
        return tuple(by_name[n] for n in channel_parameters(self.channel) if n in by_name)


@dataclass(frozen=True)
class Policy:
    name: str
    when: str
    then: str
    doc: str = ""
    line: int = field(default=0, compare=False)  # where the model file defines it


@dataclass(frozen=True)
class SagaStep:
    """One step of a saga: a command sent to a participant, the replies it may give,
    and the command that undoes the step. Messages are `Event`s: they travel on the
    broker with schemas, as events do."""

    name: str
    participant: str
    command: Event
    success: Event
    failure: Event | None
    compensation: Event | None
    timeout: float  # seconds the orchestrator waits for a reply
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Saga:
    """An orchestrated saga (docs/saga.md): `start` begins one, its steps run in order,
    `completed` / `failed` are announced at the end."""

    name: str
    start: str  # an event of the model
    steps: tuple[SagaStep, ...]
    completed: str | None = None  # an event of the model
    failed: str | None = None  # an event of the model
    doc: str = ""
    line: int = field(default=0, compare=False)
    #: The line of each key of the saga's mapping (start, completed, failed, ...).
    key_lines: tuple[tuple[str, int], ...] = field(default=(), compare=False)

    def line_of(self, key: str) -> int:
        return dict(self.key_lines).get(key, self.line)

    @property
    def sent(self) -> tuple[Event, ...]:
        """The messages the orchestrator sends to participants, in step order."""
        return tuple(m for s in self.steps for m in (s.command, s.compensation) if m is not None)

    @property
    def replies(self) -> tuple[Event, ...]:
        """The messages participants send back, in step order."""
        return tuple(m for s in self.steps for m in (s.success, s.failure) if m is not None)


@dataclass(frozen=True)
class Model:
    service: str
    description: str
    aggregates: tuple[Aggregate, ...]
    commands: tuple[Command, ...]
    events: tuple[Event, ...]
    policies: tuple[Policy, ...]
    saga: Saga | None = None
    #: the value objects (`types:`), in model order
    types: tuple[ValueType, ...] = ()
    #: What an AsyncAPI document read into this model says of itself beyond the
    #: model (docs/asyncapi.md, "A faithful contract"), so the generated asyncapi.yaml
    #: keeps its identity: `info` and `servers` as written, and under `events`, by
    #: event name, the keys and annotations of its channel, message and operations
    #: (`channel`, `channel_doc`, `message`, `component`, `message_doc`, `send` /
    #: `receive`: {`key`, `doc`}). Empty for an event-storming model. Not compared:
    #: the model is what the service does, this is how its contract is worded.
    contract: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def messages(self) -> tuple[Event, ...]:
        """Everything with a schema: the events, then the saga's commands and replies."""
        if self.saga is None:
            return self.events
        return self.events + self.saga.sent + self.saga.replies

    @property
    def package(self) -> str:
        return snake(self.service)

    def value_type(self, name: str) -> ValueType:
        return next(t for t in self.types if t.name == name)

    def aggregate(self, name: str) -> Aggregate:
        return next(a for a in self.aggregates if a.name == name)

    def command(self, name: str) -> Command:
        return next(c for c in self.commands if c.name == name)

    def event(self, name: str) -> Event:
        return next(e for e in self.events if e.name == name)

    @property
    def consumed_events(self) -> tuple[Event, ...]:
        """Events some policy reacts to: one subscriber each, in model order."""
        wanted = {p.when for p in self.policies}
        return tuple(e for e in self.events if e.name in wanted)

    @property
    def emitted_events(self) -> tuple[Event, ...]:
        """Events some command emits: one publisher each, in model order."""
        wanted = {name for c in self.commands for name in c.sends}
        return tuple(e for e in self.events if e.name in wanted)

    @property
    def subscribed_events(self) -> tuple[Event, ...]:
        """Everything the service subscribes to: the events policies react to, then the
        saga's start event and the replies its orchestrator awaits."""
        if self.saga is None:
            return self.consumed_events
        start = tuple(e for e in self.events if e.name == self.saga.start)
        return self.consumed_events + start + self.saga.replies

    @property
    def sent_events(self) -> tuple[Event, ...]:
        """Everything the service sends: the events commands emit, then what the saga's
        orchestrator sends (its commands, its completed and failed events)."""
        sent = list(self.emitted_events)
        if self.saga is not None:
            ends = [
                e
                for n in (self.saga.completed, self.saga.failed)
                for e in self.events
                if e.name == n
            ]
            sent += [e for e in (*self.saga.sent, *ends) if e not in sent]
        return tuple(sent)

    def policies_for(self, event: Event) -> tuple[Policy, ...]:
        return tuple(p for p in self.policies if p.when == event.name)


#: A parameter of a channel: a whole level `{name}` naming a field of its event.
PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def channel_parameters(channel: str) -> tuple[str, ...]:
    """The names of the `{name}` levels of a channel, in order."""
    return tuple(PARAMETER.findall(channel))


def channel_pattern(channel: str) -> str:
    """A regular expression of the addresses of a channel: each `{name}` one level
    (no '.'), the rest as written, anchored at both ends (a Kafka topic pattern)."""
    return (
        "^"
        + "\\.".join(
            "[^.]+" if PARAMETER.fullmatch(level) else re.escape(level)
            for level in channel.split(".")
        )
        + "$"
    )


#: The kinds of field a channel parameter may name: what fits in one level of an address.
PARAMETER_KINDS = ("string", "int", "long", "uuid", "enum")


def parameter_problem(name: str, fields: tuple[Field, ...]) -> str | None:
    """Why the parameter `{name}` cannot be filled from `fields`, if it cannot: it
    names a required field of a kind that fits in one level of an address."""
    found = next((f for f in fields if f.name == name), None)
    if found is None:
        return "is not a field of the event"
    if found.type.kind not in PARAMETER_KINDS or found.type.optional:
        return f"is a field of type {found.type.kind}{' (optional)' if found.type.optional else ''}"
    return None


def default_channel(service: str, event_name: str) -> str:
    """The documented convention for an event without `channel`."""
    return f"{kebab(service)}.{kebab(event_name)}.v1"


#: Appended to a channel to name its dead-letter channel (docs/deploy.md).
DEAD_LETTER_SUFFIX = ".dlq"


def dead_letter_channel(channel: str) -> str:
    """The documented convention for where a channel's failed messages go: the one
    place that decides it (the dead-letter handling and the manifests both read it)."""
    return channel + DEAD_LETTER_SUFFIX
