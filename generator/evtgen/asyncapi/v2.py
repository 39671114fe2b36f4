"""AsyncAPI 2.x (2.0 to 2.6) read directly: the document rewritten into 3.0's shape,
with its own lines, before the 3.0 reader reads it (docs/asyncapi.md, "AsyncAPI 2.x").

2.x words operations from the user's side: a channel's `subscribe` says what a user
can subscribe to, so what the application *sends*; `publish` is what users publish,
so what the application *receives*. They become 3.0's `send` and `receive`.
"""

from __future__ import annotations

from typing import Any

from evtgen.asyncapi.naming import type_name
from evtgen.yamllines import LineList, LineMap

#: 2.x's operation of a channel -> 3.0's action, from the application's side.
ACTIONS = {"subscribe": "send", "publish": "receive"}
#: What a 2.x channel holds besides its operations, kept as it is in 3.0.
CHANNEL_KEYS = ("description", "parameters", "bindings", "servers")


def at(line: int, items: list[tuple[Any, Any, int]]) -> LineMap:
    """A mapping made of (key, value, line of the key)."""
    made = LineMap({k: v for k, v, _ in items})
    made.line = line
    made.key_lines = {k: n for k, _, n in items}
    return made


def ref(line: int, pointer: str) -> LineMap:
    return at(line, [("$ref", pointer, line)])


def listed(line: int, items: list[tuple[Any, int]]) -> LineList:
    made = LineList(v for v, _ in items)
    made.line = line
    made.item_lines = [n for _, n in items]
    return made


def from_v2(doc: LineMap) -> LineMap:
    """The 2.x document in 3.0's shape; what it cannot rewrite is left for the 3.0
    reader to refuse with its line."""
    items: list[tuple[Any, Any, int]] = []
    for key, value in doc.items():
        line = doc.line_of(key)
        if key == "asyncapi":
            items.append((key, "3.0.0", line))
        elif key == "servers" and isinstance(value, LineMap):
            items.append((key, _servers(value), line))
        elif key == "channels" and isinstance(value, LineMap):
            channels, operations = _channels(value)
            items.append(("channels", channels, line))
            items.append(("operations", operations, line))
        elif key == "components" and isinstance(value, LineMap):
            items.append((key, _components(value), line))
        elif key in ("id", "defaultContentType", "tags", "externalDocs"):
            if key in ("tags", "externalDocs") and isinstance(doc.get("info"), LineMap):
                continue  # moved into info, below
            items.append((key, value, line))
        elif key == "info" and isinstance(value, LineMap):
            info = [(k, v, value.line_of(k)) for k, v in value.items()]
            for moved in ("tags", "externalDocs"):  # 3.0 keeps them in info
                if moved in doc:
                    info.append((moved, doc[moved], doc.line_of(moved)))
            items.append((key, at(value.line, info), line))
        else:
            items.append((key, value, line))
    return at(doc.line, items)


def _servers(servers: LineMap) -> LineMap:
    found = []
    for key, server in servers.items():
        if isinstance(server, LineMap) and isinstance(server.get("url"), str):
            url = server["url"]
            host, _, path = url.split("://", 1)[-1].partition("/")
            entries = [
                ("host", host, server.line_of("url")),
                *((k, v, server.line_of(k)) for k, v in server.items() if k != "url"),
            ]
            if path:
                entries.append(("pathname", "/" + path, server.line_of("url")))
            server = at(server.line, entries)
        found.append((key, server, servers.line_of(key)))
    return at(servers.line, found)


def _channels(channels: LineMap) -> tuple[LineMap, LineMap]:
    """Each 2.x channel (keyed by its address) as a 3.0 channel and its operations."""
    found: list[tuple[Any, Any, int]] = []
    operations: list[tuple[Any, Any, int]] = []
    keys: set[str] = set()
    for address, channel in channels.items():
        line = channels.line_of(address)
        if not isinstance(channel, LineMap):
            found.append((address, channel, line))
            continue
        key = _channel_key(str(address), channel, keys)
        keys.add(key)
        entries = [("address", address, line)]
        entries += [(k, channel[k], channel.line_of(k)) for k in CHANNEL_KEYS if k in channel]
        messages: list[tuple[Any, Any, int]] = []
        for verb, action in ACTIONS.items():
            op = channel.get(verb)
            if not isinstance(op, LineMap):
                continue
            op_line = channel.line_of(verb)
            refs = []
            for name, message, msg_line in _messages(op, f"{key}{type_name(action)}"):
                if name not in {m[0] for m in messages}:
                    messages.append((name, message, msg_line))
                refs.append((ref(msg_line, f"#/channels/{key}/messages/{name}"), msg_line))
            op_id = op.get("operationId")
            op_key = op_id if isinstance(op_id, str) and op_id else f"{action}{type_name(key)}"
            op_entries = [
                ("action", action, op_line),
                ("channel", ref(op_line, f"#/channels/{key}"), op_line),
                ("messages", listed(op_line, refs), op_line),
                *(
                    (k, v, op.line_of(k))
                    for k, v in op.items()
                    if k not in ("operationId", "message")
                ),
            ]
            operations.append((op_key, at(op.line, op_entries), op_line))
        if messages:
            entries.append(("messages", at(line, messages), line))
        found.append((key, at(channel.line, entries), line))
    return at(channels.line, found), at(channels.line, operations)


def _channel_key(address: str, channel: LineMap, taken: set[str]) -> str:
    """A 3.0 channel's key: the operation's id (as most 2.x tools name the channel),
    else the address in camelCase."""
    parts = [p for p in "".join(c if c.isalnum() else " " for c in address).split() if p]
    key = (parts[0].lower() + "".join(p[:1].upper() + p[1:] for p in parts[1:])) or "channel"
    base, n = key, 2
    while key in taken:
        key, n = f"{base}{n}", n + 1
    return key


def _messages(op: LineMap, default: str) -> list[tuple[str, Any, int]]:
    """The operation's message(s): one, or each of `oneOf`, by the key they get on the
    channel (a component's key, else the message's `name`, else the operation's)."""
    message = op.get("message")
    line = op.line_of("message")
    if isinstance(message, LineMap) and isinstance(message.get("oneOf"), LineList):
        branches = message["oneOf"]
        return [
            (_message_key(b, f"{default}{i + 1}"), _message(b), branches.item_lines[i])
            for i, b in enumerate(branches)
        ]
    if message is None:
        return []
    return [(_message_key(message, default), _message(message), line)]


def _message_key(message: Any, default: str) -> str:
    if isinstance(message, LineMap):
        ref = message.get("$ref")
        if isinstance(ref, str) and "/" in ref:
            return ref.rsplit("/", 1)[-1]
        name = message.get("name")
        if isinstance(name, str) and name:
            return name
    return default


def _message(message: Any) -> Any:
    """A 2.x message: `schemaFormat` beside its payload becomes 3.0's multi-format
    schema; a `$ref` stays (components are rewritten too)."""
    if not isinstance(message, LineMap) or "schemaFormat" not in message:
        return message
    entries = []
    for k, v in message.items():
        if k == "schemaFormat":
            continue
        if k == "payload":
            v = at(
                message.line_of(k),
                [
                    ("schemaFormat", message["schemaFormat"], message.line_of("schemaFormat")),
                    ("schema", v, message.line_of(k)),
                ],
            )
        entries.append((k, v, message.line_of(k)))
    return at(message.line, entries)


def _components(components: LineMap) -> LineMap:
    entries = []
    for key, value in components.items():
        if key == "messages" and isinstance(value, LineMap):
            value = at(value.line, [(k, _message(m), value.line_of(k)) for k, m in value.items()])
        entries.append((key, value, components.line_of(key)))
    return at(components.line, entries)
