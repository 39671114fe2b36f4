"""Read an AsyncAPI 3.0 document into the model (`evtgen new service --asyncapi FILE`).

Channels and their messages become events, payload schemas (JSON Schema or Avro)
become fields through the one type table (`fieldtypes.py`, read backwards), and the
service's operations become its flow (docs/asyncapi.md explains the mapping):

- a `receive` operation: policy `When<Event>` runs command `<OperationId>`, whose
  fields are the message's and which emits the operation's `reply` messages (if any);
- a `send` operation whose message is not such a reply: command `<OperationId>`
  that emits it; its `reply`, if any, is received: policy `When<Reply>` runs
  command `Handle<Reply>`;
- one aggregate, named after the service, holding every command field.

A document evtgen generated carries its aggregates, commands and policies as
`x-evtgen-*` extensions, which are read instead, so model -> asyncapi.yaml -> model
gives the same model. Whatever the model cannot express is named: as an error
(`FILE:LINE: what`, nothing generated) when it changes what is on the wire, as a
warning otherwise.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evtgen.fieldtypes import (
    DECIMAL_PRECISION,
    DECIMAL_SCALE,
    INT32,
    INT64,
    NEW_IDS,
    SCALARS,
    FieldType,
)
from evtgen.loader import (
    CHANNEL_NAME,
    TYPE_NAME,
    ModelError,
    Problem,
    _Reader,  # the model file's own checks, reused so both inputs obey the same rules
)
from evtgen.model import (
    DEAD_LETTER_SUFFIX,
    Aggregate,
    Command,
    Event,
    Field,
    Model,
    Policy,
    dead_letter_channel,
    default_channel,
    kebab,
    pascal,
)
from evtgen.schemas import avro_namespace
from evtgen.yamllines import LineList, LineMap, YamlSyntaxError, load

#: Extensions a document evtgen generated carries, in the model file's format.
X_AGGREGATES = "x-evtgen-aggregates"
X_COMMANDS = "x-evtgen-commands"
X_POLICIES = "x-evtgen-policies"
X_EXTERNAL = "x-evtgen-external"
#: On a channel (and its message and send operation) of a document evtgen generated:
#: the service's dead-letter channel of the channel with this key (docs/asyncapi.md).
X_DEAD_LETTER_OF = "x-evtgen-dead-letter-of"

#: Server protocols (AsyncAPI's names) of the brokers evtgen generates for.
PROTOCOLS = {
    "kafka": "kafka",
    "kafka-secure": "kafka",
    "amqp": "rabbitmq",
    "amqps": "rabbitmq",
    "nats": "nats",
    "redis": "redis",
}
ROOT_IGNORED = {"id", "defaultContentType", "info", "asyncapi", "tags", "externalDocs"}
AVRO_PRIMITIVES = {"string", "int", "long", "double", "boolean"}
#: JSON Schema keywords that only annotate (kept: description and default; others
#: do not change what a message may hold).
JSON_ANNOTATIONS = {
    "title",
    "description",
    "default",
    "examples",
    "example",
    "$comment",
    "readOnly",
    "writeOnly",
    "deprecated",
    "externalDocs",
    "$schema",
    "$id",
}
#: JSON Schema keywords that make a field more than one type: refused.
COMPOSITIONS = {
    "oneOf",
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "patternProperties",
    "dependencies",
    "dependentSchemas",
    "dependentRequired",
    "discriminator",
    "const",
}
DECIMAL_PATTERN = SCALARS["decimal"].json_schema["pattern"]


@dataclass
class AsyncApiImport:
    """The model read from the document, and what it could not keep (warnings)."""

    model: Model
    warnings: list[Problem] = field(default_factory=list)
    #: the broker the document's servers name (one protocol evtgen knows), if any
    broker: str | None = None
    #: the payloads' format when they all have one ("avro" or "jsonschema"), if any
    schema_format: str | None = None


class _Stop(Exception):
    """A problem that leaves nothing else to read (unreadable file, not AsyncAPI 3)."""


def load_asyncapi(path: Path, *, service: str) -> AsyncApiImport:
    """Read the document at `path` as the model of `service`; raise ModelError with
    every problem (file and line) when it cannot be read into a model."""
    importer = _Importer(path, service)
    try:
        model = importer.run()
    except _Stop:
        model = None
    if importer.problems or model is None:
        raise ModelError(sorted(importer.problems, key=lambda p: (p.file, p.line)))
    formats = importer.formats
    return AsyncApiImport(
        model,
        importer.warnings,
        importer.broker,
        formats.pop() if len(formats) == 1 else None,
    )


# -- reading files and following $refs ------------------------------------------


@dataclass
class _Msg:
    """A message on a channel, as an event of the model."""

    key: str  # the channel's key
    event: Event
    node_id: int  # the resolved message object, to match operations' references
    external: bool | None = None  # as x-evtgen-external says, if it does


class _Importer:
    def __init__(self, path: Path, service: str) -> None:
        self.path = path
        self.file = str(path)
        self.service = service
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.files: dict[str, Any] = {}
        self.broker: str | None = None
        self.formats: set[str] = set()
        self.dead_letters: dict[int, _DeadLetter] = {}  # by the channel object's id

    def fail(self, file: str, line: int, message: str) -> None:
        self.problems.append(Problem(file, line, message))

    def warn(self, file: str, line: int, message: str) -> None:
        self.warnings.append(Problem(file, line, message))

    def load(self, path: Path, line_from: tuple[str, int] | None = None) -> Any:
        key = str(path)
        if key not in self.files:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                where = line_from or (key, 0)
                self.fail(*where, f"cannot read {key}: {getattr(err, 'strerror', None) or err}")
                raise _Stop from err
            try:
                loaded = load(text, core_schema=True)
                if isinstance(loaded, dict) and X_COMMANDS in loaded:
                    # evtgen wrote it, with PyYAML: YAML 1.1, so read it that way
                    loaded = load(text)
                self.files[key] = loaded
            except YamlSyntaxError as err:
                self.fail(key, err.line, f"YAML/JSON syntax error: {err.message}")
                raise _Stop from err
        return self.files[key]

    def deref(self, value: Any, file: str) -> tuple[Any, str]:
        """Follow `$ref`s: local pointers and other files beside the document
        (`other.yaml#/pointer`, `user.avsc`); anything else is refused."""
        seen: set[tuple[str, str]] = set()
        while isinstance(value, LineMap) and "$ref" in value:
            ref, line = value["$ref"], value.line_of("$ref")
            if not isinstance(ref, str):
                self.fail(file, line, "$ref must be a string such as '#/components/...'")
                return None, file
            target, _, pointer = ref.partition("#")
            if "://" in target or target.startswith("//"):
                self.fail(
                    file,
                    line,
                    f"$ref {ref!r}: references to remote documents are not supported; "
                    "copy the definition into the document or a file beside it",
                )
                return None, file
            if target:
                path = (Path(file).parent / target).resolve()
                if not path.is_file():
                    self.fail(file, line, f"$ref {ref!r}: no file {path}")
                    return None, file
                try:
                    root = self.load(path, (file, line))
                except _Stop:
                    return None, file
                file = str(path)
            else:
                root = self.files[file]
            if (file, pointer) in seen:
                self.fail(file, line, f"$ref {ref!r} refers to itself")
                return None, file
            seen.add((file, pointer))
            found = _pointer(root, pointer)
            if found is _MISSING:
                self.fail(file, line, f"$ref {ref!r} points at nothing in {Path(file).name}")
                return None, file
            value = found
        return value, file

    # -- the document ----------------------------------------------------------

    def run(self) -> Model | None:
        doc = self.load(self.path)
        file = self.file
        if not isinstance(doc, LineMap):
            self.fail(file, 1, "an AsyncAPI document must be a mapping (asyncapi: 3.0.0, ...)")
            raise _Stop
        version = doc.get("asyncapi")
        if not isinstance(version, str) or not version.startswith("3."):
            self.fail(
                file,
                doc.line_of("asyncapi"),
                f"asyncapi: {version!r}: only AsyncAPI 3.x documents are read "
                "(convert a 2.x one with `asyncapi convert`)",
            )
            raise _Stop
        self.ignored_root(doc)
        info, _ = self.deref(doc.get("info"), file)
        description = ""
        if isinstance(info, LineMap) and isinstance(info.get("description"), str):
            description = info["description"].strip()
        messages = self.channels(doc)
        self.unused_messages(doc, messages)
        operations = self.operations(doc, messages)
        self.check_dead_letters(messages, operations)
        sent = {
            msg.event.name
            for op in operations
            for msg in ((op.msg,) if op.action == "send" else (op.reply,) if op.reply else ())
        }
        events = []
        for msg in messages.values():
            external = msg.external if msg.external is not None else msg.event.name not in sent
            events.append(replace(msg.event, external=external))
        reader = _Reader(file)
        if any(k in doc for k in (X_AGGREGATES, X_COMMANDS, X_POLICIES)):
            aggregates, commands, policies = self.recorded_flow(doc, reader)
            self.flow_matches_operations(commands, policies, operations, doc)
        else:
            aggregates, commands, policies = self.derived_flow(events, operations, doc)
        model = Model(
            service=self.service,
            description=description or f"The {self.service} service.",
            aggregates=tuple(aggregates),
            commands=tuple(commands),
            events=tuple(events),
            policies=tuple(policies),
        )
        if not self.problems:  # else its findings would only echo what was refused
            reader.cross_check(model)
        self.problems.extend(reader.problems)
        return model

    def ignored_root(self, doc: LineMap) -> None:
        for key in doc:
            if key in ROOT_IGNORED or key in ("channels", "operations", "components"):
                continue
            line = doc.line_of(key)
            if key == "servers":
                self.servers(doc[key], line)
            elif isinstance(key, str) and key.startswith("x-"):
                if key not in (X_AGGREGATES, X_COMMANDS, X_POLICIES):
                    self.warn(self.file, line, f"extension {key} is not kept")
            else:
                self.fail(
                    self.file, line, f"unknown top-level key {key!r} in an AsyncAPI 3 document"
                )

    def servers(self, servers: Any, line: int) -> None:
        """The broker, when every server speaks the same protocol evtgen knows; the
        servers themselves are not kept (the service takes BROKER_URL)."""
        protocols = set()
        if isinstance(servers, LineMap):
            for raw in servers.values():
                server, _ = self.deref(raw, self.file)
                if isinstance(server, LineMap) and isinstance(server.get("protocol"), str):
                    protocols.add(server["protocol"].lower())
        brokers = {PROTOCOLS.get(p) for p in protocols}
        if len(brokers) == 1 and None not in brokers:
            self.broker = brokers.pop()
            what = f"the broker is {self.broker} (their protocol)"
        else:
            named = ", ".join(sorted(protocols)) or "none"
            what = f"their protocols ({named}) name no one broker evtgen knows"
        self.warn(
            self.file,
            line,
            f"servers are not kept: {what}; a generated service takes its broker's "
            "address from BROKER_URL",
        )

    # -- channels and messages -------------------------------------------------

    def channels(self, doc: LineMap) -> dict[str, _Msg]:
        """Each channel's one message, as an event, by channel key."""
        found: dict[str, _Msg] = {}
        channels = doc.get("channels") or _empty(0)
        if not isinstance(channels, LineMap):
            self.fail(self.file, doc.line_of("channels"), "channels must be a mapping")
            return found
        names: dict[str, str] = {}
        pending: list[tuple[str, str | None, str, Any, LineMap, str, LineMap]] = []
        for key, raw in channels.items():
            line = channels.line_of(key)
            channel, file = self.deref(raw, self.file)
            if not isinstance(channel, LineMap):
                if channel is not None or raw is None:
                    self.fail(self.file, line, f"channel {key} must be a mapping")
                continue
            if self.dead_letter_channel(channel, file, str(key), line):
                continue  # where the service sends what it failed to handle: no event
            self.channel_extras(channel, file, str(key))
            address = self.address(channel, file, str(key), line)
            messages = channel.get("messages") or _empty(0)
            if not isinstance(messages, LineMap) or not messages:
                self.warn(file, line, f"channel {key} has no messages: it is not kept (no event)")
                continue
            if len(messages) > 1:
                base = address or str(key)
                split = ", ".join(f"{base}.{kebab(str(m))}" for m in messages)
                self.fail(
                    file,
                    line,
                    f"channel {key} carries {len(messages)} messages "
                    f"({', '.join(map(str, messages))}): evtgen maps each channel to one "
                    "event type (its subscriber decodes one schema, and the Kafka consumer "
                    "of a channel is one handler); give each message its own channel, "
                    f"e.g. {split}",
                )
                continue
            ((msg_key, msg_raw),) = messages.items()
            message, msg_file = self.deref(msg_raw, file)
            if not isinstance(message, LineMap):
                if message is not None:
                    self.fail(
                        file, messages.line_of(msg_key), f"message {msg_key} must be a mapping"
                    )
                continue
            pending.append((str(key), address, str(msg_key), msg_raw, message, msg_file, messages))
        shared = Counter(id(p[4]) for p in pending)
        for key, address, msg_key, msg_raw, message, msg_file, messages in pending:
            ref = msg_raw.get("$ref") if isinstance(msg_raw, LineMap) else None
            # a message on several channels: one event per channel, named after it
            rename = _type_name(key) if shared[id(message)] > 1 else None
            event = self.event(
                message, msg_file, msg_key, ref, address, messages.line_of(msg_key), rename
            )
            if event is None:
                continue
            if event.name in names:
                self.fail(
                    msg_file,
                    event.line,
                    f"event {event.name} of channel {key} has the name of the event of "
                    f"channel {names[event.name]}: names must be unique",
                )
                continue
            names[event.name] = str(key)
            external = message.get(X_EXTERNAL)
            found[str(key)] = _Msg(
                str(key), event, id(message), external if isinstance(external, bool) else None
            )
        return found

    def channel_extras(self, channel: LineMap, file: str, key: str) -> None:
        for extra in ("servers", "parameters", "bindings"):
            if extra == "parameters" and _PARAMETER.search(str(channel.get("address"))):
                continue  # fixed_parameters says what became of them
            if extra in channel:
                what = {
                    "servers": "its servers are not kept (one broker for all)",
                    "parameters": "its parameters are not kept (its address has none)",
                    "bindings": _bindings_text(channel.get("bindings")),
                }[extra]
                self.warn(file, channel.line_of(extra), f"channel {key}: {what}")
        for unknown in set(channel) - {
            "address", "messages", "title", "summary", "description", "servers",
            "parameters", "bindings", "tags", "externalDocs",
        }:  # fmt: skip
            if isinstance(unknown, str) and unknown.startswith("x-"):
                self.warn(file, channel.line_of(unknown), f"channel {key}: {unknown} is not kept")
            else:
                self.fail(
                    file, channel.line_of(unknown), f"unknown key {unknown!r} in channel {key}"
                )

    def address(self, channel: LineMap, file: str, key: str, line: int) -> str | None:
        """The channel's address (a Kafka binding's `topic` wins, as the binding says)."""
        address = channel.get("address")
        bindings = channel.get("bindings")
        if isinstance(bindings, LineMap) and isinstance(bindings.get("kafka"), LineMap):
            topic = bindings["kafka"].get("topic")
            if isinstance(topic, str) and topic != address:
                self.warn(
                    file,
                    bindings["kafka"].line_of("topic"),
                    f"channel {key}: the Kafka binding's topic {topic!r} is the channel",
                )
                address = topic
        if address is None:
            return None
        if not isinstance(address, str):
            self.fail(
                file, channel.line_of("address"), f"address of channel {key} must be a string"
            )
            return None
        if _PARAMETER.search(address):
            fixed = self.fixed_parameters(channel, file, key, address)
            if fixed is None:
                return None
            address = fixed
        if "/" in address and CHANNEL_NAME.match(_dotted(address)):
            self.warn(
                file,
                channel.line_of("address"),
                f"channel {key}: address {address!r} becomes {_dotted(address)!r} ('/' "
                "separates levels as '.' does on NATS, RabbitMQ and Kafka, as their MQTT "
                "bridges map it)",
            )
            address = _dotted(address)
        if not CHANNEL_NAME.match(address):
            self.fail(
                file,
                channel.line_of("address"),
                f"address {address!r} of channel {key} may hold only letters, digits, "
                "'.', '_' and '-' (a channel name evtgen uses on every broker)",
            )
            return None
        return address

    def fixed_parameters(self, channel: LineMap, file: str, key: str, address: str) -> str | None:
        """The address with each `{parameter}` replaced by the one value the channel's
        `parameters` give it (`default`, or an `enum` of one value); refused when a
        parameter has no such value: a generated service has fixed channels (each event
        type one publisher, one subscriber), and Kafka topics and Redis streams have no
        wildcards to subscribe with (docs/asyncapi.md)."""
        line = channel.line_of("address")
        declared, params_file = self.deref(channel.get("parameters") or _empty(0), file)
        if not isinstance(declared, LineMap):
            declared = _empty(0)
        values: dict[str, str] = {}
        for name in _PARAMETER.findall(address):
            raw = declared.get(name)
            param, param_file = self.deref(raw, params_file) if raw is not None else (None, file)
            value = None
            if isinstance(param, LineMap):
                enum = param.get("enum")
                if isinstance(param.get("default"), str):
                    value = param["default"]
                elif isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], str):
                    value = enum[0]
            if value is None:
                what = "is not in its parameters" if param is None else "has no one value"
                where = (
                    f" (defined at {Path(param_file).name}:{param.line})"
                    if isinstance(param, LineMap)
                    else f" under the channel's parameters.{name}"
                )
                self.fail(
                    file,
                    line,
                    f"channel {key}: parameter {{{name}}} of address {address!r} {what}: "
                    "a generated service publishes and subscribes to fixed channels (Kafka "
                    "topics and Redis streams have no wildcards); give the parameter a "
                    f"`default:` (or an `enum:` of one value){where}, or give the channel "
                    "a fixed address",
                )
                return None
            values[name] = value
        fixed = _PARAMETER.sub(lambda m: values[m.group(1)], address)
        self.warn(
            file,
            line,
            f"channel {key}: address {address!r} is the fixed channel {fixed!r} "
            f"({', '.join(f'{n}={v}' for n, v in values.items())}, the parameters' values)",
        )
        return fixed

    def event(
        self,
        message: LineMap,
        file: str,
        key: str,
        ref: Any,
        address: str | None,
        key_line: int,
        rename: str | None = None,
    ) -> Event | None:
        # its name: `name`, else the component's key, else its key on the channel
        raw_name = message.get("name")
        if not isinstance(raw_name, str) or not raw_name:
            raw_name = ref.rsplit("/", 1)[-1] if isinstance(ref, str) and "/" in ref else key
        line = message.line
        for extra, what in (
            ("headers", "its headers are not kept (evtgen sends its own envelope)"),
            ("traits", "its traits are not applied"),
            ("bindings", _bindings_text(message.get("bindings"))),
            (
                "correlationId",
                "its correlationId is not kept (evtgen uses the correlation_id header)",
            ),
        ):
            if extra in message and not (
                (extra == "correlationId" and _evtgen_correlation(message))
                or (extra == "traits" and _evtgen_envelope(message))
            ):
                self.warn(file, message.line_of(extra), f"message {raw_name}: {what}")
        for unknown in set(message) - {
            "name", "title", "summary", "description", "payload", "headers", "traits",
            "bindings", "correlationId", "contentType", "tags", "externalDocs", "examples",
        }:  # fmt: skip
            if isinstance(unknown, str) and unknown.startswith("x-"):
                if unknown != X_EXTERNAL:
                    self.warn(
                        file, message.line_of(unknown), f"message {raw_name}: {unknown} is not kept"
                    )
            else:
                self.fail(
                    file, message.line_of(unknown), f"unknown key {unknown!r} in message {raw_name}"
                )
        payload, payload_file = self.deref(message.get("payload"), file)
        fields: tuple[Field, ...] = ()
        doc = ""
        name = _type_name(raw_name)
        if payload is None:
            if "payload" not in message:
                self.warn(file, line, f"message {raw_name} has no payload: an event without fields")
        elif not isinstance(payload, LineMap):
            self.fail(payload_file, line, f"payload of message {raw_name} must be a schema")
            return None
        else:
            got = self.payload(payload, payload_file, raw_name)
            if got is None:
                return None
            fields, doc, schema_name = got
            if schema_name:
                name = schema_name
        if rename is not None:
            self.warn(
                file,
                key_line,
                f"message {raw_name} is on more than one channel: on this one it is event "
                f"{rename}, named after the channel",
            )
            name = rename
        if not doc:
            for text_key in ("description", "summary"):
                if isinstance(message.get(text_key), str):
                    doc = message[text_key].strip()
                    break
        if not TYPE_NAME.match(name):
            self.fail(
                file,
                message.line_of("name") if "name" in message else key_line,
                f"message {raw_name!r} gives no PascalCase event name (letters and digits); "
                "give it a `name:` such as UserSignedUp",
            )
            return None
        event = Event(
            name, address or default_channel(self.service, name), fields, False, doc, line
        )
        if address is None:
            self.warn(
                file,
                line,
                f"message {name} is on a channel without an address: it gets {event.channel}",
            )
        return event

    def unused_messages(self, doc: LineMap, used: dict[str, _Msg]) -> None:
        components = doc.get("components")
        if not isinstance(components, LineMap):
            return
        messages = components.get("messages")
        if not isinstance(messages, LineMap):
            return
        on_channels = {m.node_id for m in used.values()}
        on_channels |= {n for d in self.dead_letters.values() for n in d.message_ids}
        for key, raw in messages.items():
            message, _ = self.deref(raw, self.file)
            if isinstance(message, LineMap) and id(message) not in on_channels:
                self.warn(
                    self.file,
                    messages.line_of(key),
                    f"message {key} is on no channel: it is not kept (no event)",
                )

    # -- payloads --------------------------------------------------------------

    def payload(
        self, payload: LineMap, file: str, message: str
    ) -> tuple[tuple[Field, ...], str, str | None] | None:
        """Fields, doc and (for Avro) record name of a payload."""
        if "schemaFormat" in payload:
            schema_format = payload.get("schemaFormat")
            schema, schema_file = self.deref(payload.get("schema"), file)
            if not isinstance(schema_format, str):
                self.fail(file, payload.line_of("schemaFormat"), "schemaFormat must be a string")
                return None
            kind = schema_format.split(";")[0].strip().lower()
            if schema is None:
                if "schema" not in payload:
                    self.fail(file, payload.line, f"payload of message {message} has no schema")
                return None
            if kind.startswith("application/vnd.apache.avro"):
                self.formats.add("avro")
                return self.avro_record(schema, schema_file, message)
            if kind in (
                "application/schema+json",
                "application/schema+yaml",
                "application/vnd.aai.asyncapi",
                "application/vnd.aai.asyncapi+json",
                "application/vnd.aai.asyncapi+yaml",
            ):
                self.formats.add("jsonschema")
                return self.json_object(schema, schema_file, message)
            self.fail(
                file,
                payload.line_of("schemaFormat"),
                f"schemaFormat {schema_format!r} of message {message} is not supported: "
                "evtgen reads JSON Schema and Avro payloads",
            )
            return None
        self.formats.add("jsonschema")
        return self.json_object(payload, file, message)

    def json_object(
        self, schema: Any, file: str, message: str
    ) -> tuple[tuple[Field, ...], str, str | None] | None:
        if not isinstance(schema, LineMap):
            self.fail(file, 0, f"payload of message {message} must be a JSON Schema object")
            return None
        schema, file = self.single_all_of(schema, file)
        if schema.get("type", "object") != "object":
            self.fail(
                file,
                schema.line_of("type"),
                f"payload of message {message} is a {schema.get('type')}: evtgen reads "
                "object payloads (an event is a record of fields)",
            )
            return None
        self.json_unsupported(schema, file, f"payload of message {message}", object_keys=True)
        additional = schema.get("additionalProperties", True)
        if additional is not False:
            self.warn(
                file,
                schema.line_of("additionalProperties"),
                f"payload of message {message} is open (additionalProperties is not false): "
                "evtgen's schemas are closed, so a producer sending more fields fails its "
                "contract tests",
            )
        properties, props_file = self.deref(schema.get("properties") or _empty(0), file)
        required = schema.get("required") or []
        if not isinstance(properties, LineMap) or not isinstance(required, list):
            self.fail(
                file, schema.line, f"payload of message {message}: bad properties or required"
            )
            return None
        for name in required:
            if name not in properties:
                self.fail(
                    file,
                    schema.line_of("required"),
                    f"payload of message {message} requires {name!r}, which is not a property",
                )
        specs = LineMap()
        specs.line, specs.key_lines = properties.line, {}
        for name, raw in properties.items():
            owner = f"field {name} of message {message}"
            prop, prop_file = self.deref(raw, props_file)
            spec = self.json_field(prop, prop_file, owner, properties.line_of(name))
            if spec is None:
                continue
            optional = spec.get("optional", False)
            if name in required and optional:
                self.warn(
                    prop_file,
                    properties.line_of(name),
                    f"{owner} is required but may be null: read as optional",
                )
            if name not in required and not optional and "default" not in spec:
                self.warn(
                    prop_file,
                    properties.line_of(name),
                    f"{owner} is not required and has no default: read as optional "
                    "(evtgen sends null for a value it does not have)",
                )
                spec["optional"] = True
            specs[name] = spec
            specs.key_lines[name] = properties.line_of(name)
        doc = schema.get("description", "")
        return self.fields(specs, file, message), doc.strip() if isinstance(doc, str) else "", None

    def single_all_of(self, schema: LineMap, file: str) -> tuple[LineMap, str]:
        """`allOf` of one schema and annotations (a common way to describe a `$ref`:
        `allOf: [{$ref: ...}, {description: ...}]`) is that schema, annotated."""
        branches = schema.get("allOf")
        if not isinstance(branches, list):
            return schema, file
        resolved = [self.deref(b, file) for b in branches]
        if not all(isinstance(b, LineMap) for b, _ in resolved):
            return schema, file
        typed = [(b, f) for b, f in resolved if set(b) - JSON_ANNOTATIONS]
        if len(typed) > 1:
            return schema, file  # a real intersection: refused by the caller
        # the typed branch first; annotations beside it, then the schema's own, win
        merged = _spec(schema.line)
        notes = [b for b, _ in resolved if not set(b) - JSON_ANNOTATIONS]
        target_file = file
        if typed:
            inner, target_file = self.single_all_of(*typed[0])
            notes.insert(0, inner)
        for branch in notes:
            merged.update(branch)
            merged.key_lines.update(branch.key_lines)
        for key, value in schema.items():
            if key != "allOf":
                merged[key] = value
                merged.key_lines[key] = schema.line_of(key)
        return merged, target_file

    def json_unsupported(
        self, schema: LineMap, file: str, owner: str, object_keys: bool = False
    ) -> None:
        allowed = set(JSON_ANNOTATIONS)
        if object_keys:
            allowed |= {"type", "properties", "required", "additionalProperties"}
        for key in schema:
            if key in allowed:
                continue
            if object_keys and key in ("oneOf", "anyOf"):
                self.fail(
                    file,
                    schema.line_of(key),
                    f"{owner} is one of several schemas ({key}): an event has one schema; "
                    "make each alternative a message of its own, on a channel of its own",
                )
            elif key in COMPOSITIONS:
                self.fail(
                    file,
                    schema.line_of(key),
                    f"{owner} uses {key}, which the model cannot express (a field has one type)",
                )
            else:
                self.warn(file, schema.line_of(key), f"{owner}: {key} is not kept")

    def json_field(self, prop: Any, file: str, owner: str, line: int) -> LineMap | None:
        """A JSON Schema property as a field spec in the model file's format."""
        if not isinstance(prop, LineMap):
            if prop is not None:
                self.fail(file, line, f"{owner} must be a schema")
            return None
        prop, file = self.single_all_of(prop, file)
        spec = self.json_type(prop, file, owner, line)
        if spec is None:
            return None
        if "default" in prop:
            spec["default"] = prop["default"]
            spec.key_lines["default"] = prop.line_of("default")
        if isinstance(prop.get("description"), str):
            spec["doc"] = prop["description"]
        return spec

    def json_type(self, prop: LineMap, file: str, owner: str, line: int) -> LineMap | None:
        prop, file = self.single_all_of(prop, file)
        prop_line = prop.line or line
        for key in COMPOSITIONS & set(prop):
            self.fail(
                file,
                prop.line_of(key),
                f"{owner} uses {key}, which the model cannot express (a field has one type)",
            )
            return None
        optional = False
        kind = prop.get("type")
        if "anyOf" in prop:
            branches = [self.deref(b, file)[0] for b in prop["anyOf"] or []]
            nulls = [b for b in branches if isinstance(b, LineMap) and b.get("type") == "null"]
            others = [b for b in branches if b not in nulls]
            if len(nulls) != 1 or len(others) != 1 or not isinstance(others[0], LineMap):
                self.fail(
                    file,
                    prop.line_of("anyOf"),
                    f"{owner} uses anyOf of other than one type and null: the model has no unions",
                )
                return None
            rest = LineMap({k: v for k, v in prop.items() if k != "anyOf"})
            rest.line, rest.key_lines = prop.line, prop.key_lines
            self.json_unsupported(rest, file, owner)
            inner = self.json_type(others[0], file, owner, prop.line_of("anyOf"))
            if inner is not None:
                inner["optional"] = True
            return inner
        if isinstance(kind, list):
            types = [t for t in kind if t != "null"]
            if len(types) != 1 or len(kind) != 2:
                self.fail(
                    file, prop.line_of("type"), f"{owner} has types {kind}: the model has no unions"
                )
                return None
            optional, kind = True, types[0]
        enum = prop.get("enum")
        handled = {"type", "format", "enum", "items"}
        spec: LineMap
        if enum is not None:
            values = [v for v in enum if v is not None] if isinstance(enum, list) else []
            if (
                (kind not in (None, "string"))
                or not values
                or not all(isinstance(v, str) for v in values)
            ):
                self.fail(
                    file, prop.line_of("enum"), f"{owner}: only enums of strings are supported"
                )
                return None
            optional = optional or None in enum
            spec = _spec(prop_line, type="enum", symbols=values)
        elif kind == "array":
            items, items_file = self.deref(prop.get("items"), file)
            if not isinstance(items, LineMap):
                self.fail(
                    file, prop.line_of("items"), f"{owner} is an array without one `items` schema"
                )
                return None
            item_spec = self.json_type(
                items, items_file, f"the items of {owner}", prop.line_of("items")
            )
            if item_spec is None:
                return None
            spec = _spec(prop_line, type="list", items=item_spec)
        elif kind == "object":
            self.fail(
                file,
                prop.line_of("type"),
                f"{owner} is a nested object: the model has no nested records "
                "(flatten it into fields of the event)",
            )
            return None
        elif kind == "string":
            fmt = prop.get("format")
            if fmt == "uuid":
                spec = _spec(prop_line, type="uuid")
            elif fmt == "date-time":
                spec = _spec(prop_line, type="timestamp")
            elif prop.get("pattern") == DECIMAL_PATTERN and fmt is None:
                spec, handled = _spec(prop_line, type="decimal"), handled | {"pattern"}
            else:
                if fmt is not None:
                    self.warn(
                        file,
                        prop.line_of("format"),
                        f"{owner}: format {fmt!r} is not kept (a string)",
                    )
                spec = _spec(prop_line, type="string")
        elif kind == "integer":
            low, high, fmt = prop.get("minimum"), prop.get("maximum"), prop.get("format")
            if (low, high) == INT32 or (fmt == "int32" and low is None and high is None):
                spec, handled = _spec(prop_line, type="int"), handled | {"minimum", "maximum"}
            else:
                if (low, high) == INT64:
                    handled = handled | {"minimum", "maximum"}
                spec = _spec(prop_line, type="long")
        elif kind == "number":
            spec = _spec(prop_line, type="double")
            if prop.get("format") not in (None, "double", "float"):
                self.warn(
                    file,
                    prop.line_of("format"),
                    f"{owner}: format {prop.get('format')!r} is not kept",
                )
        elif kind == "boolean":
            spec = _spec(prop_line, type="boolean")
        else:
            self.fail(
                file,
                prop.line_of("type") if "type" in prop else prop_line,
                f"{owner} has {'no type' if kind is None else f'type {kind!r}'}: give it one of "
                "string, integer, number, boolean, array (or an enum)",
            )
            return None
        rest = LineMap({k: v for k, v in prop.items() if k not in handled})
        rest.line, rest.key_lines = prop.line, prop.key_lines
        if kind in ("integer", "number", "string") and "format" in rest:
            del rest["format"]  # named above where it matters
        self.json_unsupported(rest, file, owner)
        if optional:
            spec["optional"] = True
        return spec

    def avro_record(
        self, schema: Any, file: str, message: str
    ) -> tuple[tuple[Field, ...], str, str | None] | None:
        if not isinstance(schema, LineMap) or schema.get("type") != "record":
            self.fail(
                file,
                getattr(schema, "line", 0),
                f"the Avro payload of message {message} must be a record",
            )
            return None
        name = schema.get("name")
        if not isinstance(name, str):
            self.fail(file, schema.line, f"the Avro record of message {message} has no name")
            return None
        name = name.rsplit(".", 1)[-1]
        namespace = schema.get("namespace")
        expected = avro_namespace(Model(self.service, "", (), (), (), ()))
        if namespace is not None and namespace != expected:
            self.warn(
                file,
                schema.line_of("namespace"),
                f"Avro record {name}: namespace {namespace!r} becomes {expected!r}",
            )
        for key in set(schema) - {"type", "name", "namespace", "doc", "fields"}:
            self.warn(file, schema.line_of(key), f"Avro record {name}: {key} is not kept")
        raw_fields = schema.get("fields")
        if not isinstance(raw_fields, LineList):
            self.fail(file, schema.line_of("fields"), f"Avro record {name} needs a list of fields")
            return None
        specs = LineMap()
        specs.line, specs.key_lines = raw_fields.line, {}
        named: dict[str, LineMap] = {}
        for index, item in enumerate(raw_fields):
            line = raw_fields.item_lines[index]
            if not isinstance(item, LineMap) or not isinstance(item.get("name"), str):
                self.fail(file, line, f"each field of Avro record {name} needs a name and a type")
                continue
            fname = item["name"]
            owner = f"field {fname} of message {name}"
            for key in set(item) - {"name", "type", "default", "doc"}:
                self.warn(file, item.line_of(key), f"{owner}: Avro {key} is not kept")
            spec = self.avro_type(
                item.get("type"), file, owner, item.line_of("type"), named, name, fname
            )
            if spec is None:
                continue
            if "default" in item:
                default = item["default"]
                if not (default is None and spec.get("optional") and _null_first(item.get("type"))):
                    spec["default"] = default
                    spec.key_lines["default"] = item.line_of("default")
            if isinstance(item.get("doc"), str):
                spec["doc"] = item["doc"]
            specs[fname] = spec
            specs.key_lines[fname] = line
        doc = schema.get("doc", "")
        return self.fields(specs, file, name), doc.strip() if isinstance(doc, str) else "", name

    def avro_type(
        self,
        avro: Any,
        file: str,
        owner: str,
        line: int,
        named: dict[str, LineMap],
        record: str,
        fname: str,
    ) -> LineMap | None:
        def unsupported(what: str) -> None:
            self.fail(file, line, f"{owner} is {what}, which the model cannot express")

        if isinstance(avro, LineList):
            branches = [b for b in avro if b != "null"]
            if len(avro) != 2 or len(branches) != 1:
                unsupported(f"a union {list(avro)} (only a type with null is supported)")
                return None
            spec = self.avro_type(branches[0], file, owner, line, named, record, fname)
            if spec is not None:
                spec["optional"] = True
            return spec
        if isinstance(avro, str):
            if avro in AVRO_PRIMITIVES:
                return _spec(line, type=avro)
            if avro in named or avro.rsplit(".", 1)[-1] in named:
                return self.avro_type(
                    named.get(avro) or named[avro.rsplit(".", 1)[-1]],
                    file, owner, line, {}, record, fname,
                )  # fmt: skip
            unsupported(f"of Avro type {avro!r}")
            return None
        if not isinstance(avro, LineMap):
            unsupported(f"of Avro type {avro!r}")
            return None
        line = avro.line or line
        base, logical = avro.get("type"), avro.get("logicalType")
        if logical is not None:
            for kind in ("uuid", "timestamp", "decimal"):
                if _same_avro(avro, SCALARS[kind].avro):
                    return _spec(line, type=kind)
            if logical == "decimal":
                unsupported(
                    f"a decimal({avro.get('precision')},{avro.get('scale')}); evtgen's decimals "
                    f"are decimal({DECIMAL_PRECISION},{DECIMAL_SCALE})"
                )
            else:
                unsupported(f"an Avro {base} with logicalType {logical!r}")
            return None
        if base in AVRO_PRIMITIVES:
            extra = set(avro) - {"type"}
            if extra:
                self.warn(file, line, f"{owner}: Avro {', '.join(sorted(extra))} not kept")
            return _spec(line, type=base)
        if base == "enum":
            symbols = avro.get("symbols")
            enum_name = avro.get("name")
            if isinstance(enum_name, str):
                named[enum_name] = avro
                if enum_name != f"{record}_{fname}":
                    self.warn(
                        file,
                        avro.line_of("name"),
                        f"{owner}: Avro enum {enum_name} becomes {record}_{fname} "
                        "(evtgen names enums after their event and field)",
                    )
            if "default" in avro:
                self.warn(
                    file, avro.line_of("default"), f"{owner}: the enum's own default is not kept"
                )
            return _spec(line, type="enum", symbols=symbols)
        if base == "array":
            items = self.avro_type(
                avro.get("items"), file, f"the items of {owner}", line, named, record, fname
            )
            return _spec(line, type="list", items=items) if items is not None else None
        if base == "record":
            unsupported("a nested record (the model has no nested records; flatten it)")
        elif base == "map":
            unsupported("a map (the model has no maps; use a list or fields)")
        else:
            unsupported(f"of Avro type {base!r}")
        return None

    def fields(self, specs: LineMap, file: str, owner: str) -> tuple[Field, ...]:
        """Checked by the model's own rules (names, defaults), with the document's lines:
        a name is kept as the wire name, the Python attribute is derived from it."""
        reader = _Reader(file)
        item = LineMap({"fields": specs})
        item.line, item.key_lines = specs.line, {"fields": specs.line}
        fields = reader.fields(item, f"message {owner}")
        self.problems.extend(reader.problems)
        return fields

    # -- operations ------------------------------------------------------------

    def operations(self, doc: LineMap, messages: dict[str, _Msg]) -> list[_Op]:
        operations = doc.get("operations") or _empty(0)
        found: list[_Op] = []
        if not isinstance(operations, LineMap):
            self.fail(self.file, doc.line_of("operations"), "operations must be a mapping")
            return found
        by_channel = {}
        for key in messages:
            channel, _ = self.deref(doc["channels"][key], self.file)
            by_channel[id(channel)] = messages[key]
        for op_id, raw in operations.items():
            line = operations.line_of(op_id)
            op, file = self.deref(raw, self.file)
            if not isinstance(op, LineMap):
                if op is not None:
                    self.fail(self.file, line, f"operation {op_id} must be a mapping")
                continue
            if self.dead_letter_operation(op, file, str(op_id), line):
                continue
            action = op.get("action")
            if action not in ("send", "receive"):
                self.fail(
                    file,
                    op.line_of("action") if "action" in op else line,
                    f"operation {op_id} needs action: send or receive",
                )
                continue
            for extra in ("bindings", "traits", "security"):
                if extra in op:
                    what = (
                        _bindings_text(op["bindings"])
                        if extra == "bindings"
                        else f"its {extra} are not kept"
                    )
                    self.warn(file, op.line_of(extra), f"operation {op_id}: {what}")
            msg = self.operation_message(op, file, str(op_id), by_channel)
            if msg is None:
                continue
            reply_msg = None
            if "reply" in op:
                reply, reply_file = self.deref(op["reply"], file)
                if isinstance(reply, LineMap):
                    reply_msg = self.operation_message(
                        reply, reply_file, f"{op_id} (its reply)", by_channel
                    )
                    if reply_msg is None:
                        continue
                    if "address" in reply and "channel" not in reply:
                        self.warn(
                            reply_file,
                            reply.line_of("address"),
                            f"operation {op_id}: the reply address is not kept; the reply "
                            f"goes to {reply_msg.event.channel}",
                        )
            found.append(_Op(str(op_id), action, msg, reply_msg, line))
        return found

    def operation_message(
        self, op: LineMap, file: str, op_id: str, by_channel: dict[int, _Msg]
    ) -> _Msg | None:
        """The channel's message the operation (or reply) is about."""
        wanted = []
        for raw in op.get("messages") or []:
            message, _ = self.deref(raw, file)
            if message is not None:
                wanted.append(id(message))
        if "channel" in op:
            channel, _ = self.deref(op["channel"], file)
            if channel is None:
                return None
            msg = by_channel.get(id(channel))
            if msg is None and self.problems:
                return None  # its channel was refused: already said
            if msg is None:
                self.fail(
                    file,
                    op.line_of("channel"),
                    f"operation {op_id} is on a channel without a message evtgen kept",
                )
                return None
            if wanted and msg.node_id not in wanted:
                self.fail(
                    file,
                    op.line_of("messages"),
                    f"operation {op_id} lists a message not on its channel",
                )
                return None
            return msg
        # a reply without a channel: its messages must be on some channel
        for msg in by_channel.values():
            if msg.node_id in wanted:
                return msg
        self.fail(
            file,
            op.line,
            f"operation {op_id} has no channel (or its messages are on no channel): "
            "every event needs a channel",
        )
        return None

    # -- dead-letter channels (docs/asyncapi.md) --------------------------------

    def dead_letter_channel(self, channel: LineMap, file: str, key: str, line: int) -> bool:
        """Whether the channel is marked as a dead-letter channel: then it is the
        generated service's own (`<channel>.dlq`), not an event; it is checked once
        the operations are read."""
        if X_DEAD_LETTER_OF not in channel:
            return False
        message_ids = set()
        messages = channel.get("messages")
        for raw in messages.values() if isinstance(messages, LineMap) else ():
            message, _ = self.deref(raw, file)
            message_ids.add(id(message))
        self.dead_letters[id(channel)] = _DeadLetter(
            key, channel[X_DEAD_LETTER_OF], channel.get("address"), file, line, message_ids
        )
        return True

    def dead_letter_operation(self, op: LineMap, file: str, op_id: str, line: int) -> bool:
        """Whether the operation is on a dead-letter channel (then it is no command or
        policy): sending to it is what the generated service does anyway."""
        raw = op.get("channel")
        if not isinstance(raw, LineMap):
            return False
        said = len(self.problems)
        channel, _ = self.deref(raw, file)
        del self.problems[said:]  # a bad $ref is named once, where the operation is read
        dead_letter = self.dead_letters.get(id(channel))
        if dead_letter is None:
            return False
        if op.get("action") != "send":
            self.warn(
                file,
                line,
                f"operation {op_id} is on the dead-letter channel {dead_letter.key}, "
                "which a generated service only sends to: it is not kept",
            )
        return True

    def check_dead_letters(self, messages: dict[str, _Msg], operations: list[_Op]) -> None:
        """A marked channel must be the dead-letter channel of a channel the service
        receives from, at the address the generated service sends to; an unmarked
        `<channel>.dlq` beside `<channel>` is an event, as in any document, but said."""
        received = {op.msg.key for op in operations if op.action == "receive"}
        for dead_letter in self.dead_letters.values():
            source = messages.get(dead_letter.of) if isinstance(dead_letter.of, str) else None
            where = f"channel {dead_letter.key} ({X_DEAD_LETTER_OF}: {dead_letter.of!r})"
            if source is None or source.key not in received:
                self.warn(
                    dead_letter.file,
                    dead_letter.line,
                    f"{where} is not the dead-letter channel of a channel the service "
                    "receives from: it is not kept; the generated service dead-letters "
                    "each channel it receives from to <channel>.dlq",
                )
            elif dead_letter.address != dead_letter_channel(source.event.channel):
                self.warn(
                    dead_letter.file,
                    dead_letter.line,
                    f"{where}: the generated service dead-letters {source.event.channel} "
                    f"to {dead_letter_channel(source.event.channel)}, not to "
                    f"{dead_letter.address}",
                )
        channels = {m.event.channel: m for m in messages.values()}
        for msg in messages.values():
            source_channel = msg.event.channel.removesuffix(DEAD_LETTER_SUFFIX)
            if source_channel != msg.event.channel and source_channel in channels:
                self.warn(
                    self.file,
                    msg.event.line,
                    f"channel {msg.key} ({msg.event.channel}) is read as event "
                    f"{msg.event.name}, though its address is that of the dead-letter "
                    f"channel of {channels[source_channel].key}; mark it with "
                    f"{X_DEAD_LETTER_OF}: {channels[source_channel].key} if it is one",
                )

    # -- the flow: aggregates, commands, policies ------------------------------

    def recorded_flow(
        self, doc: LineMap, reader: _Reader
    ) -> tuple[list[Aggregate], list[Command], list[Policy]]:
        """The flow evtgen recorded when it generated the document."""
        found: dict[str, list[Any]] = {}
        build = {
            X_AGGREGATES: reader.aggregate,
            X_COMMANDS: reader.command,
            X_POLICIES: reader.policy,
        }
        section = {X_AGGREGATES: "aggregates", X_COMMANDS: "commands", X_POLICIES: "policies"}
        for key, make in build.items():
            value = doc.get(key) or LineList()
            if not isinstance(value, LineList):
                self.fail(self.file, doc.line_of(key), f"{key} must be a list")
                value = LineList()
                value.item_lines = []
            holder = LineMap({section[key]: value})
            holder.line, holder.key_lines = doc.line_of(key), {section[key]: doc.line_of(key)}
            found[key] = [
                e for item, line in reader.items(holder, section[key]) if (e := make(item, line))
            ]
        return found[X_AGGREGATES], found[X_COMMANDS], found[X_POLICIES]

    def flow_matches_operations(
        self, commands: list[Command], policies: list[Policy], operations: list[_Op], doc: LineMap
    ) -> None:
        """The recorded flow wins; say so when someone edited the operations since."""
        recorded = (
            {e for c in commands for e in c.emits},
            {p.when for p in policies},
        )
        described = (
            {op.msg.event.name for op in operations if op.action == "send"},
            {op.msg.event.name for op in operations if op.action == "receive"},
        )
        if recorded != described:
            self.warn(
                self.file,
                doc.line_of(X_COMMANDS) if X_COMMANDS in doc else doc.line_of("operations"),
                "the operations send or receive other events than x-evtgen-commands and "
                "x-evtgen-policies say: the service follows the x-evtgen-* flow",
            )

    def derived_flow(
        self, events: list[Event], operations: list[_Op], doc: LineMap
    ) -> tuple[list[Aggregate], list[Command], list[Policy]]:
        """The documented mapping for documents evtgen did not write."""
        by_name = {e.name: e for e in events}
        taken = set(by_name)
        aggregate_name = _unique(pascal(self.service), "State", taken)
        commands: list[Command] = []
        policies: list[Policy] = []
        replies = {op.reply.event.name for op in operations if op.reply and op.action == "receive"}
        for op in operations:
            event = by_name[op.msg.event.name]
            if op.action == "receive":
                emits = (op.reply.event.name,) if op.reply else ()
                command = Command(
                    _unique(_type_name(op.op_id), "Command", taken),
                    aggregate_name,
                    event.fields,
                    emits,
                    f"Runs when {event.name} arrives (operation {op.op_id}).",
                    op.line,
                )
                commands.append(command)
                policies.append(
                    Policy(
                        _unique(f"When{event.name}", "Policy", taken),
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
                        _unique(_type_name(op.op_id), "Command", taken),
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
                    _unique(f"Handle{reply.name}", "Command", taken),
                    aggregate_name,
                    reply.fields,
                    (),
                    f"Runs when {reply.name}, the reply of operation {op.op_id}, arrives.",
                    op.line,
                )
                commands.append(command)
                policies.append(
                    Policy(
                        _unique(f"When{reply.name}", "Policy", taken),
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


@dataclass
class _DeadLetter:
    """A channel marked with x-evtgen-dead-letter-of."""

    key: str
    of: Any  # the key of the channel it is the dead-letter channel of, if a string
    address: Any
    file: str
    line: int
    message_ids: set[int]


@dataclass
class _Op:
    op_id: str
    action: str
    msg: _Msg
    reply: _Msg | None
    line: int


_MISSING: Any = object()


def _pointer(root: Any, pointer: str) -> Any:
    """A JSON pointer (`/components/messages/X`) into a loaded document."""
    node = root
    for part in [p for p in pointer.split("/")][1:] if pointer else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


#: A parameter in a channel's address: `lights.{lightId}.measured`.
_PARAMETER = re.compile(r"\{([^{}]*)\}")


def _dotted(address: str) -> str:
    """An MQTT-style address (`a/b/c`) with '.' between its levels."""
    return address.strip("/").replace("/", ".")


def _empty(line: int) -> LineMap:
    return _spec(line)


def _spec(line: int, **values: Any) -> LineMap:
    spec = LineMap(values)
    spec.line = line
    spec.key_lines = dict.fromkeys(values, line)
    return spec


def _same_avro(given: LineMap, table: Any) -> bool:
    return (
        isinstance(table, dict)
        and all(given.get(k) == v for k, v in table.items())
        and set(given) <= set(table)
    )


def _null_first(avro: Any) -> bool:
    return isinstance(avro, list) and bool(avro) and avro[0] == "null"


def _type_name(raw: str) -> str:
    """A PascalCase name from a message or operation id: userSignedUp -> UserSignedUp."""
    if TYPE_NAME.match(raw):
        return raw
    parts = [p for p in "".join(c if c.isalnum() else " " for c in raw).split() if p]
    return "".join(p[:1].upper() + p[1:] for p in parts)


def _unique(name: str, suffix: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        candidate = f"{name}{suffix}" if n == 1 else f"{name}{suffix}{n}"
        n += 1
    taken.add(candidate)
    return candidate


def _bindings_text(bindings: Any) -> str:
    protocols = ", ".join(str(k) for k in bindings) if isinstance(bindings, dict) else ""
    return (
        f"its bindings ({protocols}) are not kept: evtgen's topology per broker is fixed "
        "(docs/asyncapi.md)"
    )


#: The message trait of evtgen's envelope (CloudEvents headers) in its own documents.
ENVELOPE_TRAIT = "#/components/messageTraits/envelope"


def _evtgen_envelope(message: LineMap) -> bool:
    """The envelope trait evtgen writes on every message: the generated service sends it
    anyway, nothing lost."""
    return message.get("traits") == [{"$ref": ENVELOPE_TRAIT}]


def _evtgen_correlation(message: LineMap) -> bool:
    """The correlation id evtgen itself uses: nothing lost."""
    value = message.get("correlationId")
    return isinstance(value, dict) and value.get("location") == "$message.header#/correlation_id"
