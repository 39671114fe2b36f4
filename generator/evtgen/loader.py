"""Read an event-storming model from YAML and check it, all problems at once.

Every problem is reported as `FILE:LINE: what is wrong`; `yamllines` keeps the line
of every key and item, so the line points at the offending entry.
"""

from __future__ import annotations

import keyword
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evtgen.fieldtypes import (
    ALL_TYPES,
    IMPORTED_NAMES,
    NEW_IDS,
    SCALARS,
    FieldType,
    assignable,
)
from evtgen.model import (
    NO_DEFAULT,
    WIRE_NAME,
    Aggregate,
    Command,
    Event,
    Field,
    Model,
    Policy,
    Saga,
    SagaStep,
    dead_letter_channel,
    default_channel,
    python_name,
    snake,
)
from evtgen.yamllines import LineList, LineMap, YamlSyntaxError, load, plain

TYPE_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
CHANNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Classes beside the model's own in the generated modules.
RESERVED_TYPES = {
    "Message",
    "BaseModel",
    "ConfigDict",
    "Field",
    "UUID",
    "Decimal",
    "Literal",
    "Annotated",
    "Any",
    "Service",
    "Repository",
    "InMemoryRepository",
    "Publish",
    "Awaitable",
    "Callable",
    "Context",
    "FastStream",
    "StreamMessage",
    "SagaState",
    "Orchestrator",
}
# Functions and modules beside the ones named after commands, policies and events.
RESERVED_FUNCTIONS = {name for name in IMPORTED_NAMES if name.islower()} | {
    "react",
    "replace",
    "dataclass",
    "messages",
    "domain",
    "codec",
    "uuid4",
    "publish",
    "service",
    "app",
    "broker",
    "stream",
    "main",
    "saga",
    "orchestrator",
}

TOP_KEYS = {"service", "description", "aggregates", "commands", "events", "policies", "saga"}
SAGA_KEYS = {"name", "doc", "start", "completed", "failed", "steps"}
STEP_KEYS = {"participant", "command", "success", "failure", "compensation", "timeout"}
SAGA_MESSAGE_KEYS = {"name", "fields", "channel", "doc"}
DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$")
DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
#: How long a step waits for its reply when the model does not say.
DEFAULT_STEP_TIMEOUT = 30.0
SECTION_KEYS = {
    "aggregates": {"name", "fields", "doc"},
    "commands": {"name", "aggregate", "fields", "emits", "doc"},
    "events": {"name", "fields", "external", "channel", "doc"},
    "policies": {"name", "when", "then", "doc"},
}
FIELD_KEYS = {"type", "optional", "default", "doc", "symbols", "items"}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ModelError(Exception):
    """The model has problems; each one says where and what."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


# Modules a generated service imports: its package must not take one's name.
TAKEN_PACKAGES = set(sys.stdlib_module_names) | {
    "faststream",
    "pydantic",
    "fastavro",
    "jsonschema",
    "pytest",
    "anyio",
    "aiokafka",
    "aio_pika",
    "nats",
    "redis",
    "tests",
    "test",
    "mypy",
    "ruff",
    # what those bring along, and the tools a generated repo runs (import names, as a
    # fresh install of every broker's and schema format's extras lists them)
    "typing_extensions",
    "pydantic_core",
    "annotated_types",
    "typing_inspection",
    "fast_depends",
    "uvicorn",
    "h11",
    "click",
    "prometheus_client",
    "opentelemetry",
    "google",
    "requests",
    "urllib3",
    "certifi",
    "idna",
    "charset_normalizer",
    "sniffio",
    "referencing",
    "rpds",
    "attr",
    "attrs",
    "jsonschema_specifications",
    "aiormq",
    "pamqp",
    "yarl",
    "multidict",
    "propcache",
    "async_timeout",
    "packaging",
    "pluggy",
    "iniconfig",
    "pygments",
    "mypy_extensions",
    "pathspec",
    "setuptools",
    "pkg_resources",
    "pip",
    "conftest",
    "hypothesis",
}


#: What other schema languages call the model's types.
_TYPE_SYNONYMS = {
    "str": "string",
    "text": "string",
    "integer": "int (32-bit) or long (64-bit)",
    "int32": "int",
    "int64": "long",
    "bigint": "long",
    "float": "double",
    "number": "double",
    "bool": "boolean",
    "datetime": "timestamp",
    "date-time": "timestamp",
    "instant": "timestamp",
    "money": "decimal",
    "bigdecimal": "decimal",
    "guid": "uuid",
}


def _type_hint(kind: str) -> str:
    """A hint for an unknown type name: the model's spelling of what was meant."""
    lowered = kind.lower()
    if lowered in SCALARS:
        return f"; did you mean {lowered!r}? (types are lowercase)"
    if lowered in _TYPE_SYNONYMS:
        return f"; did you mean {_TYPE_SYNONYMS[lowered]}?"
    if lowered.endswith("[]") or lowered.startswith(("list<", "list[", "array")):
        return "; write a list field as {type: list, items: <type>}"
    if lowered in ("record", "object", "struct", "map", "dict"):
        return (
            f"; the model has no {lowered} type: flatten its fields into the event, "
            "or make it an event of its own"
        )
    return ""


def _article(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def check_service_name(name: str) -> str | None:
    """Why `name` is not a usable service name, or None when it is."""
    if not SERVICE_NAME.match(name):
        return (
            f"service name {name!r} is not lowercase kebab-case "
            "(letters and digits, words joined by '-', starting with a letter, e.g. 'orders')"
        )
    package = name.replace("-", "_")
    if keyword.iskeyword(package):
        return (
            f"service name {name!r} would make a Python package named after the keyword "
            f"{package!r}, which cannot be imported; choose another name "
            f"(e.g. '{name}-service')"
        )
    if package in TAKEN_PACKAGES:
        return (
            f"service name {name!r} would make a Python package that hides the module "
            f"{package!r}; choose another name (e.g. '{name}-service')"
        )
    return None


def load_model(path: Path, *, service: str | None = None) -> Model:
    """Parse and check the model file; raise ModelError listing every problem."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ModelError([Problem(str(path), 1, f"cannot read the model: {err}")]) from err
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ModelError(
            [
                Problem(
                    str(path),
                    line,
                    f"the model is not UTF-8 text (byte 0x{data[err.start]:02x}); save it as UTF-8",
                )
            ]
        ) from err
    return parse_model(text, str(path), service=service)


def parse_model(text: str, filename: str, *, service: str | None = None) -> Model:
    """Parse model text; `service`, when given, is the name the caller wants."""
    reader = _Reader(filename)
    try:
        data = load(text, round_trip=True)  # the parser the model file is written back with
    except YamlSyntaxError as err:
        raise ModelError(
            [Problem(filename, err.line, f"YAML syntax error: {err.message}")]
        ) from err
    model = reader.model(data, service)
    if reader.problems:
        raise ModelError(sorted(reader.problems, key=lambda p: p.line))
    assert model is not None
    return model


class _Reader:
    """Walks the YAML tree, collecting problems instead of stopping at the first."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[Problem] = []

    def fail(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.filename, line, message))

    # -- the document ---------------------------------------------------------

    def model(self, data: Any, service: str | None) -> Model | None:
        if not isinstance(data, LineMap):
            self.fail(
                1,
                "the model must be a mapping with service, aggregates, commands, "
                "events and policies (see the README's model format)",
            )
            return None
        if "asyncapi" in data:
            self.fail(
                data.line_of("asyncapi"),
                "this is an AsyncAPI document, not an event-storming model; give it with "
                "--asyncapi FILE instead of --model",
            )
            return None
        # `x-...` keys hold what the model reuses by YAML anchors (as in Compose files)
        extensions = {k for k in data if isinstance(k, str) and k.startswith("x-")}
        self.unknown_keys(data, TOP_KEYS | extensions, "the model")
        name = self.service_name(data, service)
        description = self.text(data, "description", "the model")
        aggregates = [self.aggregate(item, line) for item, line in self.items(data, "aggregates")]
        commands = [self.command(item, line) for item, line in self.items(data, "commands")]
        events = [self.event(item, line, name) for item, line in self.items(data, "events")]
        policies = [self.policy(item, line) for item, line in self.items(data, "policies")]
        saga = self.saga(data) if "saga" in data else None
        model = Model(
            service=name,
            description=description or f"The {name} service.",
            aggregates=tuple(a for a in aggregates if a),
            commands=tuple(c for c in commands if c),
            events=tuple(e for e in events if e),
            policies=tuple(p for p in policies if p),
            saga=saga,
        )
        self.cross_check(model)
        if saga is not None:
            self.check_saga(model, saga)
        return model

    def service_name(self, data: LineMap, wanted: str | None) -> str:
        given = data.get("service")
        line = data.line_of("service")
        if given is None:
            if wanted is None:
                self.fail(1, "the model has no 'service:'; add 'service: <name>'")
                return "service"
            return wanted
        if not isinstance(given, str):
            self.fail(line, "service must be a name such as 'orders'")
            return wanted or "service"
        if why := check_service_name(given):
            self.fail(line, why)
        if wanted is not None and given != wanted:
            self.fail(
                line,
                f"the model is for service {given!r} but the service to create is "
                f"{wanted!r}; use the same name, or change 'service:' in the model",
            )
        return given

    def items(self, data: LineMap, section: str) -> list[tuple[LineMap, int]]:
        value = data.get(section)
        if value is None:
            return []
        if not isinstance(value, LineList):
            self.fail(data.line_of(section), f"{section} must be a list of entries")
            return []
        found = []
        for index, item in enumerate(value):
            line = value.item_lines[index]
            if not isinstance(item, LineMap):
                self.fail(line, f"each entry of {section} must be a mapping with a name")
                continue
            self.unknown_keys(item, SECTION_KEYS[section], f"an entry of {section}")
            found.append((item, line))
        return found

    # -- entries --------------------------------------------------------------

    def aggregate(self, item: LineMap, line: int) -> Aggregate | None:
        name = self.type_name(item, line, "aggregate")
        fields = self.fields(item, f"aggregate {name}")
        if name is None:
            return None
        if not any(f.type.kind != "list" for f in fields):
            self.fail(
                line,
                f"aggregate {name} needs a field that identifies it "
                "(a single value, not a list), e.g. 'fields: {id: uuid}'",
            )
            return None
        return Aggregate(name, fields, line)

    def command(self, item: LineMap, line: int) -> Command | None:
        name = self.type_name(item, line, "command")
        fields = self.fields(item, f"command {name}")
        aggregate = item.get("aggregate")
        if not isinstance(aggregate, str):
            self.fail(
                item.line_of("aggregate"), f"command {name} needs 'aggregate: <AggregateName>'"
            )
            aggregate = ""
        emits = self.name_list(item, "emits", f"command {name}")
        if name is None:
            return None
        return Command(name, aggregate, fields, emits, self.text(item, "doc", name), line)

    def event(self, item: LineMap, line: int, service: str) -> Event | None:
        name = self.type_name(item, line, "event")
        fields = self.fields(item, f"event {name}")
        external = item.get("external", False)
        if not isinstance(external, bool):
            self.fail(item.line_of("external"), "external must be true or false")
            external = False
        channel = item.get("channel")
        if channel is not None and (
            not isinstance(channel, str) or not CHANNEL_NAME.match(channel)
        ):
            self.fail(
                item.line_of("channel"),
                f"channel {channel!r} of event {name} may hold only letters, digits, "
                "'.', '_' and '-'",
            )
            channel = None
        if name is None:
            return None
        return Event(
            name,
            channel or default_channel(service, name),
            fields,
            external,
            self.text(item, "doc", name),
            line,
        )

    def policy(self, item: LineMap, line: int) -> Policy | None:
        name = self.type_name(item, line, "policy")
        refs = {}
        for key, what in (("when", "an event"), ("then", "a command")):
            value = item.get(key)
            if not isinstance(value, str) or not value:
                self.fail(item.line_of(key), f"policy {name} needs '{key}: <name of {what}>'")
            refs[key] = value if isinstance(value, str) else ""
        if name is None:
            return None
        return Policy(name, refs["when"], refs["then"], self.text(item, "doc", name), line)

    # -- the saga (docs/saga.md) --------------------------------------------------

    def saga(self, data: LineMap) -> Saga | None:
        item = data.get("saga")
        line = data.line_of("saga")
        if not isinstance(item, LineMap):
            self.fail(
                line,
                "saga must be a mapping with name, start and steps (see docs/saga.md)",
            )
            return None
        self.unknown_keys(item, SAGA_KEYS, "the saga")
        name = self.type_name(item, line, "saga")
        refs: dict[str, str | None] = {}
        for key in ("start", "completed", "failed"):
            value = item.get(key)
            if value is None and key != "start":
                refs[key] = None
            elif not isinstance(value, str) or not value:
                self.fail(item.line_of(key), f"the saga needs '{key}: <name of an event>'")
                refs[key] = None
            else:
                refs[key] = value
        steps_value = item.get("steps")
        steps: list[SagaStep] = []
        if not isinstance(steps_value, LineList) or not steps_value:
            self.fail(
                item.line_of("steps"),
                "the saga needs 'steps:', a list of steps each with participant, "
                "command and success",
            )
        else:
            for index, step_item in enumerate(steps_value):
                step_line = steps_value.item_lines[index]
                if not isinstance(step_item, LineMap):
                    self.fail(step_line, "each step of the saga must be a mapping")
                    continue
                step = self.saga_step(step_item, step_line)
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
            self.text(item, "doc", f"saga {name}"),
            line,
            tuple((k, item.line_of(k)) for k in item if isinstance(k, str)),
        )

    def saga_step(self, item: LineMap, line: int) -> SagaStep | None:
        self.unknown_keys(item, STEP_KEYS, "a step of the saga")
        participant = item.get("participant")
        if not isinstance(participant, str) or not SERVICE_NAME.match(participant):
            self.fail(
                item.line_of("participant") if "participant" in item else line,
                "each step needs 'participant: <context>', the kebab-case name of the "
                "service that runs its command (e.g. 'payments')",
            )
            participant = None
        messages: dict[str, Event | None] = {}
        for key in ("command", "success", "failure", "compensation"):
            if key not in item:
                if key in ("command", "success"):
                    self.fail(
                        line,
                        f"this step has no '{key}:'; give it as "
                        "{name: <PascalCase>, fields: {...}}",
                    )
                messages[key] = None
                continue
            messages[key] = self.saga_message(
                item.get(key), item.line_of(key), key, participant or "participant"
            )
        timeout = self.duration(item, line)
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

    def saga_message(self, value: Any, line: int, role: str, participant: str) -> Event | None:
        if isinstance(value, str):  # just a name: a message without fields
            named = LineMap({"name": value})
            named.line, named.key_lines = line, {"name": line}
            value = named
        if not isinstance(value, LineMap):
            self.fail(line, f"{role} must be a mapping such as {{name: ..., fields: {{...}}}}")
            return None
        self.unknown_keys(value, SAGA_MESSAGE_KEYS, f"the {role} of a step")
        name = self.type_name(value, line, f"{role} message")
        fields = self.fields(value, f"{role} {name}")
        channel = value.get("channel")
        if channel is not None and (
            not isinstance(channel, str) or not CHANNEL_NAME.match(channel)
        ):
            self.fail(
                value.line_of("channel"),
                f"channel {channel!r} of {name} may hold only letters, digits, '.', '_' and '-'",
            )
            channel = None
        if name is None:
            return None
        return Event(
            name,
            channel or default_channel(participant, name),
            fields,
            # replies come from the participant; the orchestrator sends the commands
            external=role in ("success", "failure"),
            doc=self.text(value, "doc", name),
            line=line,
        )

    def duration(self, item: LineMap, line: int) -> float | None:
        value = item.get("timeout", DEFAULT_STEP_TIMEOUT)
        seconds: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
        elif isinstance(value, str) and (match := DURATION.match(value.strip())):
            seconds = float(match.group(1)) * DURATION_UNITS[match.group(2)]
        if seconds is None or seconds <= 0:
            self.fail(
                item.line_of("timeout") if "timeout" in item else line,
                f"timeout {value!r} must be a positive duration: seconds, or e.g. "
                "'500ms', '30s', '5m', '1h'",
            )
            return None
        return seconds

    def check_saga(self, model: Model, saga: Saga) -> None:
        events = {e.name: e for e in model.events}
        start = events.get(saga.start)
        if start is None:
            self.fail(
                saga.line_of("start"),
                f"the saga starts on {saga.start!r}, which is not an event of the model",
            )
        for policy in model.policies:
            if start is not None and policy.when == start.name:
                self.fail(
                    policy.line,
                    f"policy {policy.name} reacts to {start.name}, which starts the saga: "
                    "a service subscribes to a channel once; let the saga start on "
                    "another event, or drop the policy",
                )
        if saga.completed is not None and saga.completed == saga.failed:
            self.fail(
                saga.line_of("failed"),
                f"the saga's completed and failed events are both {saga.failed!r}; "
                "give each its own event, so the two outcomes can be told apart",
            )
        for key, name in (("completed", saga.completed), ("failed", saga.failed)):
            if name is None:
                continue
            if name == saga.start:
                self.fail(
                    saga.line_of(key),
                    f"the saga's {key} event is {name!r}, the event that starts it; "
                    "choose another event",
                )
                continue
            if name not in events:
                self.fail(
                    saga.line_of(key),
                    f"the saga's {key} event {name!r} is not an event of the model",
                )
            elif events[name].external:
                self.fail(
                    saga.line_of(key),
                    f"the saga's {key} event {name!r} is marked external, but the "
                    "orchestrator publishes it",
                )
        channels = {e.channel: e.name for e in model.events}
        for message in saga.sent + saga.replies:
            if message.channel in channels:
                self.fail(
                    message.line,
                    f"{message.name} uses channel {message.channel!r}, "
                    f"already used by {channels[message.channel]}",
                )
            channels[message.channel] = message.name
        if start is None or not saga.steps:
            return
        # Every field a message needs must come from what the saga knows by then:
        # the start event and the success replies of the steps done so far.
        known: list[Event] = [start]
        for step in saga.steps:
            self.carried(step.command, known, "the start event and earlier steps' replies")
            known.append(step.success)
            if step.compensation is not None:
                self.carried(
                    step.compensation, known, "the start event and the replies up to its step"
                )
        if saga.completed in events:
            self.carried(events[saga.completed], known, "the start event and the steps' replies")
        if saga.failed in events:
            self.carried(events[saga.failed], [start], "the start event", spare={"reason"})

    def carried(
        self,
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
                self.fail(
                    target.line,
                    f"field {wanted.name} of {target.name} is not carried by "
                    f"{what} ({', '.join(s.name for s in sources)}); add it to one of "
                    "them, or make it optional or give it a default",
                )

    # -- pieces ---------------------------------------------------------------

    def type_name(self, item: LineMap, line: int, what: str) -> str | None:
        name = item.get("name")
        if not isinstance(name, str) or not name:
            self.fail(line, f"this {what} has no 'name:'")
            return None
        if not TYPE_NAME.match(name):
            self.fail(
                item.line_of("name"),
                f"{what} name {name!r} must be PascalCase letters and digits (e.g. PlaceOrder)",
            )
        return name

    def text(self, item: LineMap, key: str, owner: str) -> str:
        value = item.get(key, "")
        if not isinstance(value, str):
            self.fail(item.line_of(key), f"{key} of {owner} must be text")
            return ""
        return value.strip()

    def name_list(self, item: LineMap, key: str, owner: str) -> tuple[str, ...]:
        value = item.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(item.line_of(key), f"{key} of {owner} must be a list of names")
            return ()
        return tuple(value)

    def fields(self, item: LineMap, owner: str) -> tuple[Field, ...]:
        value = item.get("fields")
        if value is None:
            return ()
        if not isinstance(value, LineMap):
            self.fail(item.line_of("fields"), f"fields of {owner} must be a mapping of name: type")
            return ()
        found = []
        attrs: dict[str, str] = {}
        for name, spec in value.items():
            where = value.line_of(name)
            # The name is the one on the wire; the generated Python may use another
            # (python_name: `sentAt` -> `sent_at`, `from` -> `from_`), so any name
            # Avro and JSON can both carry is fine.
            if not isinstance(name, str) or not WIRE_NAME.match(name):
                self.fail(
                    where,
                    f"field name {name!r} of {owner} must be letters, digits and '_', "
                    "not starting with a digit (a name Avro and JSON can both carry)",
                )
                continue
            attr = python_name(name)
            if attr in attrs:
                self.fail(
                    where,
                    f"field names {attrs[attr]!r} and {name!r} of {owner} both become "
                    f"{attr!r} in Python; rename one",
                )
                continue
            attrs[attr] = name
            built = self.field(name, spec, where, owner)
            if built:
                found.append(built)
        return tuple(found)

    def field(self, name: str, spec: Any, line: int, owner: str) -> Field | None:
        if isinstance(spec, str):
            field_type = self.field_type(spec, line, f"field {name} of {owner}")
            return Field(name, field_type) if field_type else None
        if isinstance(spec, list):
            self.fail(
                line,
                f"field {name} of {owner} is a YAML list; write a list field as "
                "{type: list, items: <type>}",
            )
            return None
        if not isinstance(spec, LineMap):
            self.fail(
                line, f"field {name} of {owner} must be a type name or a mapping with 'type:'"
            )
            return None
        if "type" not in spec and spec and not set(spec) & FIELD_KEYS:
            # `address: {street: string, zip: string}`: a nested object, as JSON has
            self.fail(
                line,
                f"field {name} of {owner} is a nested object ({', '.join(map(str, spec))}); "
                "the model has no nested records: flatten it into fields of their own "
                f"(e.g. {name}_{next(iter(spec))}), or make it an event of its own",
            )
            return None
        self.unknown_keys(spec, FIELD_KEYS, f"field {name} of {owner}")
        field_type = self.mapped_type(spec, line, f"field {name} of {owner}")
        if field_type is None:
            return None
        default = plain(spec.get("default", NO_DEFAULT))
        if default is not NO_DEFAULT and not field_type.accepts_default(default):
            self.fail(
                spec.line_of("default"),
                f"default {default!r} of field {name} of {owner} is not a "
                f"valid {field_type.kind}"
                + (
                    ""
                    if SCALARS.get(field_type.kind, None) is None
                    or SCALARS[field_type.kind].default_types is not None
                    else f" (a {field_type.kind} field cannot have a default)"
                ),
            )
            return None
        doc = spec.get("doc", "")
        return Field(name, field_type, default, doc if isinstance(doc, str) else "")

    def field_type(self, spec: str, line: int, owner: str) -> FieldType | None:
        optional = spec.endswith("?")
        kind = spec.rstrip("?").strip()
        if kind not in SCALARS:
            hint = (
                f"; write {kind} as a mapping, e.g. {{type: {kind}, ...}}"
                if kind in ALL_TYPES
                else _type_hint(kind)
            )
            self.fail(
                line,
                f"unknown type {spec!r} of {owner}; known types: "
                f"{', '.join(ALL_TYPES)} (add '?' for optional){hint}",
            )
            return None
        return FieldType(kind, optional)

    def mapped_type(self, spec: LineMap, line: int, owner: str) -> FieldType | None:
        kind = spec.get("type")
        optional = spec.get("optional", False)
        if not isinstance(optional, bool):
            self.fail(spec.line_of("optional"), f"optional of {owner} must be true or false")
            return None
        if not isinstance(kind, str):
            self.fail(line, f"{owner} needs 'type:'")
            return None
        if kind.endswith("?"):
            optional, kind = True, kind[:-1]
        if kind == "enum":
            symbols = spec.get("symbols")
            if not isinstance(symbols, list) or not symbols:
                self.fail(
                    spec.line_of("symbols"),
                    f"enum {owner} needs 'symbols:', a list of names such as [OPEN, CLOSED]",
                )
                return None
            bad = [s for s in symbols if not isinstance(s, str) or not SYMBOL.match(s)]
            if bad:
                self.fail(
                    spec.line_of("symbols"),
                    f"enum {owner} needs 'symbols:', a list of names such as [OPEN, CLOSED]: "
                    f"{', '.join(map(repr, bad))} is not a name (letters, digits, '_'; "
                    "quote YAML's true/false/yes/no/on/off/null, e.g. 'ON')",
                )
                return None
            if len(set(symbols)) != len(symbols):
                self.fail(spec.line_of("symbols"), f"enum {owner} repeats a symbol")
                return None
            return FieldType("enum", optional, symbols=tuple(symbols))
        if kind == "list":
            items = spec.get("items")
            if isinstance(items, str):
                item_type = self.field_type(items, spec.line_of("items"), f"the items of {owner}")
            elif isinstance(items, LineMap):
                item_type = self.mapped_type(items, spec.line_of("items"), f"the items of {owner}")
            else:
                self.fail(
                    spec.line_of("items"), f"list {owner} needs 'items:', the type of its elements"
                )
                return None
            return FieldType("list", optional, items=item_type) if item_type else None
        base = self.field_type(kind, spec.line_of("type"), owner)
        return FieldType(base.kind, optional or base.optional) if base else None

    def unknown_keys(self, item: LineMap, allowed: set[str], owner: str) -> None:
        for key in item:
            if key not in allowed:
                self.fail(
                    item.line_of(key),
                    f"unknown key {key!r} in {owner}; "
                    f"expected one of: {', '.join(sorted(allowed))}",
                )

    # -- references between entries --------------------------------------------

    def dead_letter_clashes(self, model: Model) -> None:
        """An event the service sends or receives on the dead-letter channel of one it
        consumes would mix the two (and declare that topic twice)."""
        consumed = model.subscribed_events
        dead_letters = {dead_letter_channel(e.channel): e.name for e in consumed}
        used = {e.name for e in [*consumed, *model.sent_events]}  # not unused externals
        for event in model.events:
            if event.name in used and event.channel in dead_letters:
                self.fail(
                    event.line,
                    f"event {event.name} uses channel {event.channel!r}, where the "
                    f"service dead-letters the {dead_letters[event.channel]} it cannot "
                    "handle; choose another channel",
                )

    def loops(self, model: Model) -> None:
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
                    for emitted in command.emits if command else ():
                        if emitted == target:
                            return True
                        if emitted not in seen:
                            seen.add(emitted)
                            stack.append(emitted)
            return False

        for policy in model.policies:
            command = commands.get(policy.then)
            if command and any(
                e == policy.when or leads_to(e, policy.when, {e}) for e in command.emits
            ):
                self.fail(
                    policy.line,
                    f"policy {policy.name} leads back to {policy.when}, "
                    "the event it reacts to: the service would react to its own "
                    "events for ever; break the loop",
                )

    def cross_check(self, model: Model) -> None:
        seen: dict[str, str] = {}
        entries: list[tuple[str, str, int]] = [
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
                self.fail(
                    line, f"{kind} name {name!r} is used by the generated code; choose another name"
                )
            form = snake(name)
            if name in seen:
                self.fail(
                    line,
                    f"{kind} name {name!r} is already used by {_article(seen[name])}; "
                    "names must be unique in a model",
                )
                continue
            if form in RESERVED_FUNCTIONS or form in generated:
                clash = generated.get(form, "the generated code")
                self.fail(
                    line,
                    f"{kind} name {name!r} becomes {form!r} in Python, which "
                    f"{clash} already uses; choose another name",
                )
            generated.setdefault(form, f"{kind} {name}")
            seen[name] = kind
        if not model.aggregates and not model.events:
            self.fail(1, "the model has no aggregates and no events: nothing to generate")
        for command in model.commands:
            if command.aggregate not in {a.name for a in model.aggregates}:
                continue
            identity = model.aggregate(command.aggregate).id_field
            carried = any(
                f.name == identity.name and assignable(f.type, identity.type)
                for f in command.fields
            )
            if not carried and identity.type.kind not in NEW_IDS:
                self.fail(
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
                self.fail(
                    command.line,
                    f"command {command.name} acts on aggregate "
                    f"{command.aggregate!r}, which the model does not define",
                )
            for emitted in command.emits:
                if emitted not in events:
                    self.fail(
                        command.line,
                        f"command {command.name} emits {emitted!r}, "
                        "which is not an event of the model",
                    )
                elif events[emitted].external:
                    self.fail(
                        command.line,
                        f"command {command.name} emits {emitted!r}, "
                        "which is marked external (published by another context)",
                    )
        for policy in model.policies:
            if policy.when and policy.when not in events:
                self.fail(
                    policy.line,
                    f"policy {policy.name} reacts to {policy.when!r}, "
                    "which is not an event of the model",
                )
            if policy.then and policy.then not in commands:
                self.fail(
                    policy.line,
                    f"policy {policy.name} issues {policy.then!r}, "
                    "which is not a command of the model",
                )
        self.loops(model)
        channels: dict[str, str] = {}
        for event in model.events:
            if event.channel in channels:
                self.fail(
                    event.line,
                    f"event {event.name} uses channel {event.channel!r}, "
                    f"already used by {channels[event.channel]}",
                )
            channels[event.channel] = event.name
        self.dead_letter_clashes(model)
