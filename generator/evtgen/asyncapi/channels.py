"""Channels and their messages: each channel's one message becomes an event, on the
channel's address (fixed, with '.' between its levels)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from typing import Any

from evtgen.asyncapi.dead_letters import DeadLetters
from evtgen.asyncapi.documents import Documents
from evtgen.asyncapi.extensions import X_EXTERNAL, evtgen_correlation, evtgen_envelope
from evtgen.asyncapi.naming import type_name
from evtgen.asyncapi.parts import ChannelMessage, annotations_of
from evtgen.asyncapi.payloads import Payloads
from evtgen.fieldtypes import FieldType
from evtgen.loader.names import CHANNEL_NAME, TYPE_NAME
from evtgen.loader.pieces import channel_name as whole_levels
from evtgen.loader.pieces import mapping_at
from evtgen.model import WIRE_NAME, Event, Field, default_channel, kebab, parameter_problem
from evtgen.yamllines import LineMap

#: A parameter in a channel's address: `lights.{lightId}.measured`.
PARAMETER = re.compile(r"\{([^{}]*)\}")


class Channels:
    """The channels of a document, read into events."""

    def __init__(
        self, docs: Documents, payloads: Payloads, dead_letters: DeadLetters, service: str
    ) -> None:
        self.docs = docs
        self.problems = docs.problems
        self.payloads = payloads
        self.dead_letters = dead_letters
        self.service = service
        #: the broker the service will use, when known (the wording of problems)
        self.broker: str | None = None

    def read(self, doc: LineMap) -> dict[str, ChannelMessage]:
        """Each channel's one message, as an event, by channel key."""
        found: dict[str, ChannelMessage] = {}
        channels = doc.get("channels") or mapping_at(0)
        if not isinstance(channels, LineMap):
            self.problems.fail(
                self.docs.file, doc.line_of("channels"), "channels must be a mapping"
            )
            return found
        names: dict[str, str] = {}
        pending: list[tuple[str, str | None, str, Any, LineMap, str, LineMap, LineMap, str]] = []
        for key, raw in channels.items():
            line = channels.line_of(key)
            channel, file = self.docs.deref(raw, self.docs.file)
            if not isinstance(channel, LineMap):
                if channel is not None or raw is None:
                    self.problems.fail(self.docs.file, line, f"channel {key} must be a mapping")
                continue
            if self.dead_letters.channel(channel, file, str(key), line):
                continue  # where the service sends what it failed to handle: no event
            self.channel_extras(channel, file, str(key))
            address = self.address(channel, file, str(key), line)
            messages = channel.get("messages") or mapping_at(0)
            if not isinstance(messages, LineMap) or not messages:
                self.problems.warn(
                    file, line, f"channel {key} has no messages: it is not kept (no event)"
                )
                continue
            if len(messages) > 1:
                base = address or str(key)
                split = ", ".join(f"{base}.{kebab(str(m))}" for m in messages)
                self.problems.fail(
                    file,
                    line,
                    f"channel {key} carries {len(messages)} messages "
                    f"({', '.join(map(str, messages))}): evtgen maps each channel to one "
                    f"event type (its subscriber decodes one schema, and the consumer of "
                    f"{self.word('a')} is one handler); give each message its own "
                    f"{self.word()}, e.g. {split}",
                )
                continue
            ((msg_key, msg_raw),) = messages.items()
            message, msg_file = self.docs.deref(msg_raw, file)
            if not isinstance(message, LineMap):
                if message is not None:
                    self.problems.fail(
                        file, messages.line_of(msg_key), f"message {msg_key} must be a mapping"
                    )
                continue
            pending.append(
                (
                    str(key),
                    address,
                    str(msg_key),
                    msg_raw,
                    message,
                    msg_file,
                    messages,
                    channel,
                    file,
                )
            )
        shared = Counter(id(p[4]) for p in pending)
        for key, address, msg_key, msg_raw, message, msg_file, messages, node, file in pending:
            ref = msg_raw.get("$ref") if isinstance(msg_raw, LineMap) else None
            # a message on several channels: one event per channel, named after it
            rename = type_name(key) if shared[id(message)] > 1 else None
            event = self.event(
                message, msg_file, msg_key, ref, address, messages.line_of(msg_key), rename
            )
            if event is not None and address is not None and PARAMETER.search(address):
                event = self.parameters(event, node, file, key, address)
            if event is None:
                continue
            if event.name in names:
                self.problems.fail(
                    msg_file,
                    event.line,
                    f"event {event.name} of channel {key} has the name of the event of "
                    f"channel {names[event.name]}: names must be unique",
                )
                continue
            names[event.name] = str(key)
            external = message.get(X_EXTERNAL)
            channel_node, _ = self.docs.deref(channels[key], self.docs.file)
            component = ref.rsplit("/", 1)[-1] if isinstance(ref, str) and "/" in ref else None
            message_doc = annotations_of(message)
            if message_doc.get("title") == event.name:
                del message_doc["title"]  # what evtgen writes anyway
            contract: dict[str, Any] = {
                "channel": key,
                "channel_doc": annotations_of(channel_node),
                "message": msg_key,
                "component": component or event.name,
                "message_doc": message_doc,
            }
            found[str(key)] = ChannelMessage(
                str(key),
                event,
                id(message),
                external if isinstance(external, bool) else None,
                contract,
            )
        return found

    def word(self, article: str = "") -> str:
        """What a channel is on the broker in use, in the problems' wording."""
        word = CHANNEL_WORDS.get(self.broker or "", "channel")
        return f"{article} {word}" if article else word

    def wildcards(self) -> str:
        if self.broker is None:
            return "Kafka topics and Redis streams have no wildcards"
        return f"each event has one {self.word()}, on which it is published and consumed"

    def channel_extras(self, channel: LineMap, file: str, key: str) -> None:
        for extra in ("servers", "parameters", "bindings"):
            if extra == "parameters" and PARAMETER.search(str(channel.get("address"))):
                continue  # fixed_parameters says what became of them
            if extra in channel:
                what = {
                    "servers": "its servers are not kept (one broker for all)",
                    "parameters": "its parameters are not kept (its address has none)",
                    "bindings": bindings_text(channel.get("bindings")),
                }[extra]
                self.problems.warn(file, channel.line_of(extra), f"channel {key}: {what}")
        for unknown in set(channel) - {
            "address", "messages", "title", "summary", "description", "servers",
            "parameters", "bindings", "tags", "externalDocs",
        }:  # fmt: skip
            if isinstance(unknown, str) and unknown.startswith("x-"):
                self.problems.warn(
                    file, channel.line_of(unknown), f"channel {key}: {unknown} is not kept"
                )
            else:
                self.problems.fail(
                    file, channel.line_of(unknown), f"unknown key {unknown!r} in channel {key}"
                )

    def address(self, channel: LineMap, file: str, key: str, line: int) -> str | None:
        """The channel's address (a Kafka binding's `topic` wins, as the binding says)."""
        address = channel.get("address")
        bindings = channel.get("bindings")
        if isinstance(bindings, LineMap) and isinstance(bindings.get("kafka"), LineMap):
            topic = bindings["kafka"].get("topic")
            if isinstance(topic, str) and topic != address:
                self.problems.warn(
                    file,
                    bindings["kafka"].line_of("topic"),
                    f"channel {key}: the Kafka binding's topic {topic!r} is the channel",
                )
                address = topic
        if address is None:
            return None
        if not isinstance(address, str):
            self.problems.fail(
                file, channel.line_of("address"), f"address of channel {key} must be a string"
            )
            return None
        if "/" in address and CHANNEL_NAME.match(PARAMETER.sub("p", dotted(address))):
            self.problems.warn(
                file,
                channel.line_of("address"),
                f"channel {key}: address {address!r} becomes {dotted(address)!r} ('/' "
                "separates levels as '.' does on NATS, RabbitMQ and Kafka, as their MQTT "
                "bridges map it)",
            )
            address = dotted(address)
        if not CHANNEL_NAME.match(PARAMETER.sub("p", address)):
            self.problems.fail(
                file,
                channel.line_of("address"),
                f"address {address!r} of channel {key} may hold only letters, digits, "
                "'.', '_' and '-' (a channel name evtgen uses on every broker)",
            )
            return None
        return address

    def parameters(
        self, event: Event, channel: LineMap, file: str, key: str, address: str
    ) -> Event | None:
        """The event with its channel's `{parameters}` (docs/asyncapi.md, "Channel
        parameters"): each filled from the payload field its `location` names
        (`$message.payload#/field`), else from the payload field of its name, else fixed
        by its one value (`default`, or an `enum` of one value); else the event gets a
        field of its name (an enum of the parameter's `enum`, else a string)."""
        line = channel.line_of("address")
        declared, params_file = self.docs.deref(channel.get("parameters") or mapping_at(0), file)
        if not isinstance(declared, LineMap):
            declared = mapping_at(0)
        fields = list(event.fields)
        fixed: dict[str, str] = {}
        filled: dict[str, str] = {}  # parameter -> the field that fills it
        for name in dict.fromkeys(PARAMETER.findall(address)):
            raw = declared.get(name)
            param, param_file = (
                self.docs.deref(raw, params_file) if raw is not None else (None, file)
            )
            where = f"channel {key}: parameter {{{name}}} of address {address!r}"
            if not isinstance(param, LineMap):
                self.problems.fail(
                    file,
                    line,
                    f"{where} is not in its parameters: declare it under the channel's "
                    f"parameters.{name}, with a `location:` ($message.payload#/<field>) "
                    "or a `default:`",
                )
                return None
            location = param.get("location")
            if location is not None:
                found = LOCATION.fullmatch(str(location))
                why = (
                    parameter_problem(found.group(1), tuple(fields))
                    if found
                    else "is not a top-level payload field ($message.payload#/<field>; "
                    "headers are evtgen's envelope)"
                )
                if found and why is None:
                    filled[name] = found.group(1)
                    continue
                named = f"field {found.group(1)} " if found else ""
                self.problems.fail(
                    param_file,
                    param.line_of("location"),
                    f"{where}: its location {location!r} {named}{why}; a parameter is "
                    "filled from a required string, int, long, uuid or enum field of the "
                    f"payload of message {event.name}",
                )
                return None
            if any(f.name == name for f in fields):
                if why := parameter_problem(name, tuple(fields)):
                    self.problems.fail(
                        param_file,
                        param.line,
                        f"{where}: the payload field {name} that fills it {why}; give the "
                        "parameter a `location:` naming a string, int, long, uuid or enum "
                        "field, or a `default:`",
                    )
                    return None
                filled[name] = name
                continue
            if (value := one_value(param)) is not None:
                fixed[name] = value
                continue
            if not WIRE_NAME.match(name):
                self.problems.fail(
                    param_file,
                    param.line,
                    f"{where} is in no payload field and cannot name one (letters, digits "
                    "and '_'): give it a `location:` ($message.payload#/<field>) or a "
                    "`default:`",
                )
                return None
            enum = param.get("enum")
            symbols = enum if isinstance(enum, list) else []
            kind = (
                FieldType("enum", symbols=tuple(symbols))
                if symbols and all(isinstance(v, str) and WIRE_NAME.match(v) for v in symbols)
                else FieldType("string")
            )
            fields.append(Field(name, kind, doc=str(param.get("description") or "").strip()))
            filled[name] = name
            self.problems.warn(
                file,
                line,
                f"{where} is in no field of message {event.name}'s payload: the event gets "
                f"a field {name} ({kind.kind}), which the publisher puts in the address "
                "and the payload (give the parameter a `location:` to fill it from "
                "another field)",
            )
        channel_name = PARAMETER.sub(
            lambda m: fixed.get(m.group(1)) or "{" + filled[m.group(1)] + "}", address
        )
        if PARAMETER.search(channel_name) and not whole_levels(channel_name):
            self.problems.fail(
                file,
                line,
                f"channel {key}: address {address!r}: each parameter must be a whole level "
                "between dots (`a.{id}.b`), which the broker's wildcard stands for",
            )
            return None
        if fixed:
            self.problems.warn(
                file,
                line,
                f"channel {key}: address {address!r} is the "
                f"{'channel' if filled else 'fixed channel'} {channel_name!r} "
                f"({', '.join(f'{n}={v}' for n, v in fixed.items())}, the parameters' values)",
            )
        return replace(event, channel=channel_name, fields=tuple(fields))

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
            ("bindings", bindings_text(message.get("bindings"))),
            (
                "correlationId",
                "its correlationId is not kept (evtgen uses the correlation_id header)",
            ),
        ):
            if extra in message and not (
                (extra == "correlationId" and evtgen_correlation(message))
                or (extra == "traits" and evtgen_envelope(message))
            ):
                self.problems.warn(file, message.line_of(extra), f"message {raw_name}: {what}")
        for unknown in set(message) - {
            "name", "title", "summary", "description", "payload", "headers", "traits",
            "bindings", "correlationId", "contentType", "tags", "externalDocs", "examples",
        }:  # fmt: skip
            if isinstance(unknown, str) and unknown.startswith("x-"):
                if unknown != X_EXTERNAL:
                    self.problems.warn(
                        file, message.line_of(unknown), f"message {raw_name}: {unknown} is not kept"
                    )
            else:
                self.problems.fail(
                    file, message.line_of(unknown), f"unknown key {unknown!r} in message {raw_name}"
                )
        payload, payload_file = self.docs.deref(message.get("payload"), file)
        fields: tuple[Field, ...] = ()
        doc = ""
        name = type_name(raw_name)
        if payload is None:
            if "payload" not in message:
                self.problems.warn(
                    file, line, f"message {raw_name} has no payload: an event without fields"
                )
        elif not isinstance(payload, LineMap):
            self.problems.fail(
                payload_file, line, f"payload of message {raw_name} must be a schema"
            )
            return None
        else:
            got = self.payloads.read(payload, payload_file, raw_name)
            if got is None:
                return None
            fields, doc, schema_name = got
            if schema_name:
                name = schema_name
        if rename is not None:
            self.problems.warn(
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
            self.problems.fail(
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
            self.problems.warn(
                file,
                line,
                f"message {name} is on a channel without an address: it gets {event.channel}",
            )
        return event

    def unused_messages(self, doc: LineMap, used: dict[str, ChannelMessage]) -> None:
        components = doc.get("components")
        if not isinstance(components, LineMap):
            return
        messages = components.get("messages")
        if not isinstance(messages, LineMap):
            return
        on_channels = {m.node_id for m in used.values()}
        on_channels |= self.dead_letters.message_ids()
        for key, raw in messages.items():
            message, _ = self.docs.deref(raw, self.docs.file)
            if isinstance(message, LineMap) and id(message) not in on_channels:
                self.problems.warn(
                    self.docs.file,
                    messages.line_of(key),
                    f"message {key} is on no channel: it is not kept (no event)",
                )


#: What a channel is on each broker, as evtgen uses it (docs/asyncapi.md).
CHANNEL_WORDS = {
    "kafka": "Kafka topic",
    "rabbitmq": "RabbitMQ routing key",
    "nats": "NATS subject",
    "redis": "Redis stream",
}


#: A parameter's `location` that evtgen fills an address from: a top-level payload field.
LOCATION = re.compile(r"\$message\.payload#/([^/]+)")


def one_value(param: LineMap) -> str | None:
    """A parameter's one value: its `default`, or the value of an `enum` of one."""
    enum = param.get("enum")
    if isinstance(param.get("default"), str):
        return str(param["default"])
    if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], str):
        return str(enum[0])
    return None


def dotted(address: str) -> str:
    """An MQTT-style address (`a/b/c`) with '.' between its levels."""
    return address.strip("/").replace("/", ".")


def bindings_text(bindings: Any) -> str:
    protocols = ", ".join(str(k) for k in bindings) if isinstance(bindings, dict) else ""
    return (
        f"its bindings ({protocols}) are not kept: evtgen's topology per broker is fixed "
        "(docs/asyncapi.md)"
    )
