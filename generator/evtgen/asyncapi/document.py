"""The document as a whole: its root, its servers (the broker), and the model made of
its channels, operations and flow, each read by the module of its concern."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evtgen.asyncapi.channels import Channels
from evtgen.asyncapi.dead_letters import DeadLetters
from evtgen.asyncapi.documents import Documents, Unreadable, pointer_in
from evtgen.asyncapi.extensions import (
    X_AGGREGATES,
    X_COMMANDS,
    X_LOCAL_SERVER,
    X_POLICIES,
    X_TYPES,
)
from evtgen.asyncapi.flow import (
    derived_flow,
    flow_matches_operations,
    recorded_flow,
    recorded_types,
)
from evtgen.asyncapi.operations import Operations
from evtgen.asyncapi.parts import ChannelMessage, Operation, as_data
from evtgen.asyncapi.payloads import Payloads
from evtgen.asyncapi.v2 import from_v2
from evtgen.json_refs import MISSING
from evtgen.loader.checks import cross_check
from evtgen.model import Model
from evtgen.problems import Problem, Problems
from evtgen.yamllines import LineMap

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


@dataclass
class AsyncApiImport:
    """The model read from the document, and what it could not keep (warnings)."""

    model: Model
    warnings: list[Problem] = field(default_factory=list)
    #: the broker the document's servers name (one protocol evtgen knows), if any
    broker: str | None = None
    #: the payloads' format when they all have one ("avro" or "jsonschema"), if any
    schema_format: str | None = None


def load_asyncapi(
    path: Path, *, service: str, broker: str | None = None, ref_root: Path | None = None
) -> AsyncApiImport:
    """Read the document at `path` as the model of `service`; raise ModelError with
    every problem (file and line) when it cannot be read into a model. `broker`, the
    one the service will use when the caller knows it, words the problems (else the
    servers' broker does). Its `$ref`s read files under `ref_root` only (default: the
    document's folder)."""
    problems = Problems()
    reading = _Reading(path, service, problems, ref_root)
    reading.wanted_broker = broker
    try:
        model = reading.model()
    except Unreadable:
        model = None
    if problems.errors or model is None:
        raise problems.error()
    formats = reading.payloads.formats
    return AsyncApiImport(
        model,
        problems.warnings,
        reading.broker,
        formats.pop() if len(formats) == 1 else None,
    )


#: The 2.x versions read (2.0.0 to 2.6.0).
V2 = re.compile(r"^2\.[0-6]\.\d+$")


class _Reading:
    """One document being read: the readers of each concern, on one problem sink."""

    def __init__(
        self, path: Path, service: str, problems: Problems, ref_root: Path | None = None
    ) -> None:
        self.service = service
        self.problems = problems
        self.docs = Documents(path, problems, ref_root)
        self.file = self.docs.file
        self.payloads = Payloads(self.docs, service)
        self.dead_letters = DeadLetters(self.docs)
        self.channels = Channels(self.docs, self.payloads, self.dead_letters, service)
        self.operations = Operations(self.docs, self.dead_letters)
        self.broker: str | None = None
        self.wanted_broker: str | None = None

    def model(self) -> Model | None:
        doc = self.docs.load(self.docs.path)
        file = self.file
        if not isinstance(doc, LineMap):
            self.problems.fail(
                file, 1, "an AsyncAPI document must be a mapping (asyncapi: 3.0.0, ...)"
            )
            raise Unreadable
        version = doc.get("asyncapi")
        if isinstance(version, str) and V2.match(version):
            self.problems.warn(
                file,
                doc.line_of("asyncapi"),
                f"read as AsyncAPI {version}: a channel's subscribe is what the service "
                "sends, its publish what it receives; schemas/asyncapi.yaml is 3.0",
            )
            doc = from_v2(doc)
            self.docs.files[self.docs.file] = doc  # its `#/...` references are 3.0's now
        elif not isinstance(version, str) or not version.startswith("3."):
            self.problems.fail(
                file,
                doc.line_of("asyncapi"),
                f"asyncapi: {version!r}: evtgen reads AsyncAPI 3.x and 2.0 to 2.6 documents",
            )
            raise Unreadable
        self.ignored_root(doc)
        self.channels.broker = self.wanted_broker or self.broker
        info, _ = self.docs.deref(doc.get("info"), file)
        description = ""
        if isinstance(info, LineMap) and isinstance(info.get("description"), str):
            description = info["description"].strip()
        messages = self.channels.read(doc)
        self.channels.unused_messages(doc, messages)
        operations = self.operations.read(doc, messages)
        self.dead_letters.check(messages, operations)
        sent = {
            msg.event.name
            for op in operations
            for msg in ((op.msg,) if op.action == "send" else (op.reply,) if op.reply else ())
        }
        events = []
        for msg in messages.values():
            external = msg.external if msg.external is not None else msg.event.name not in sent
            events.append(replace(msg.event, external=external))
        # What the model file's own rules find is said after the document's problems,
        # and checked across entries only when the document had none.
        rules = Problems()
        # the value objects evtgen recorded (every one, in the model's order), else
        # those the payloads hold
        types = list(recorded_types(rules.in_file(file), doc).values())
        types = types or self.payloads.value_types()
        if any(k in doc for k in (X_AGGREGATES, X_COMMANDS, X_POLICIES)):
            out = self.problems.in_file(file)
            aggregates, commands, policies = recorded_flow(out, rules.in_file(file), doc)
            flow_matches_operations(out, commands, policies, operations, doc)
        else:
            aggregates, commands, policies = derived_flow(self.service, events, operations, doc)
        model = Model(
            service=self.service,
            description=description or f"The {self.service} service.",
            aggregates=tuple(aggregates),
            commands=tuple(commands),
            events=tuple(events),
            policies=tuple(policies),
            types=tuple(types),
            contract=self.contract(doc, messages, operations),
        )
        if not self.problems.errors:  # else its findings would only echo what was refused
            cross_check(rules.in_file(file), model)
        self.problems.extend(rules)
        return model

    def contract(
        self, doc: LineMap, messages: dict[str, ChannelMessage], operations: list[Operation]
    ) -> dict[str, Any]:
        """How the document words what the model holds (Model.contract)."""
        info, _ = self.docs.deref(doc.get("info"), self.file)
        events: dict[str, dict[str, Any]] = {}
        for msg in messages.values():
            events[msg.event.name] = dict(msg.contract)
        for op in operations:
            entry = events.get(op.msg.event.name)
            if entry is not None and op.action not in entry:  # the first of its action
                entry[op.action] = {"key": op.op_id, "doc": op.doc}
        contract: dict[str, Any] = {
            "info": as_data(info) if isinstance(info, LineMap) else {},
            "events": events,
        }
        servers = doc.get("servers")
        if isinstance(servers, LineMap):
            kept = {str(k): self.docs.deref(v, self.file)[0] for k, v in servers.items()}
            # the broker on this machine evtgen itself describes is not the document's
            kept = {
                k: as_data(v)
                for k, v in kept.items()
                if not (isinstance(v, LineMap) and v.get(X_LOCAL_SERVER) is True)
            }
            if kept:
                contract["servers"] = kept
                if components := referenced_components(doc, kept):
                    contract["components"] = components
        return contract

    def ignored_root(self, doc: LineMap) -> None:
        for key in doc:
            if key in ROOT_IGNORED or key in ("channels", "operations", "components"):
                continue
            line = doc.line_of(key)
            if key == "servers":
                self.servers(doc[key], line)
            elif isinstance(key, str) and key.startswith("x-"):
                if key not in (X_TYPES, X_AGGREGATES, X_COMMANDS, X_POLICIES):
                    self.problems.warn(self.file, line, f"extension {key} is not kept")
            else:
                self.problems.fail(
                    self.file, line, f"unknown top-level key {key!r} in an AsyncAPI 3 document"
                )

    def servers(self, servers: Any, line: int) -> None:
        """The broker, when every server speaks the same protocol evtgen knows; the
        servers themselves are not kept (the service takes BROKER_URL)."""
        protocols = set()
        if isinstance(servers, LineMap):
            for raw in servers.values():
                server, _ = self.docs.deref(raw, self.file)
                if isinstance(server, LineMap) and isinstance(server.get("protocol"), str):
                    protocols.add(server["protocol"].lower())
        brokers = {PROTOCOLS.get(p) for p in protocols}
        if len(brokers) == 1 and None not in brokers:
            self.broker = brokers.pop()
            what = f"the broker is {self.broker} (their protocol)"
        else:
            named = ", ".join(sorted(protocols)) or "none"
            what = f"their protocols ({named}) name no one broker evtgen knows"
        self.problems.warn(
            self.file,
            line,
            f"servers are only described: {what}; schemas/asyncapi.yaml keeps them, and "
            "a generated service takes its broker's address from BROKER_URL",
        )


#: What of components/ the generated document writes itself.
OWN_COMPONENTS = ("messages", "schemas", "messageTraits")

#: A `$ref` to a component of the same document: `#/components/securitySchemes/x`.
LOCAL_COMPONENT = re.compile(r"#/components/([^/]+)/([^/]+)")


def referenced_components(doc: LineMap, data: Any) -> dict[str, dict[str, Any]]:
    """The document's components that `data` (the servers it keeps) refers to, and
    those these refer to, by kind and key: the generated document keeps them, or its
    `$ref`s would point nowhere (a server's `security`, say)."""
    found: dict[str, dict[str, Any]] = {}
    pending = [data]
    while pending:
        value = pending.pop(0)
        if isinstance(value, list):
            pending.extend(value)
            continue
        if not isinstance(value, dict):
            continue
        ref = value.get("$ref")
        match = LOCAL_COMPONENT.fullmatch(ref) if isinstance(ref, str) else None
        if match and match.group(1) not in OWN_COMPONENTS:
            kind, key = match.groups()
            target = pointer_in(doc, match.group(0)[1:])
            if key not in found.get(kind, {}) and target is not MISSING:
                found.setdefault(kind, {})[key] = as_data(target)
                pending.append(found[kind][key])
        pending.extend(value.values())
    return found
