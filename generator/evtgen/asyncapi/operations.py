"""The service's operations: what it sends and receives, on which channel, and the
replies (the flow is made of them in `flow.py`)."""

from __future__ import annotations

from evtgen.asyncapi.channels import bindings_text
from evtgen.asyncapi.dead_letters import DeadLetters
from evtgen.asyncapi.documents import Documents
from evtgen.asyncapi.parts import ChannelMessage, Operation, annotations_of
from evtgen.loader.pieces import mapping_at
from evtgen.yamllines import LineMap


class Operations:
    """The operations of a document, each on a channel's message."""

    def __init__(self, docs: Documents, dead_letters: DeadLetters) -> None:
        self.docs = docs
        self.problems = docs.problems
        self.dead_letters = dead_letters

    def read(self, doc: LineMap, messages: dict[str, ChannelMessage]) -> list[Operation]:
        operations = doc.get("operations") or mapping_at(0)
        found: list[Operation] = []
        if not isinstance(operations, LineMap):
            self.problems.fail(
                self.docs.file, doc.line_of("operations"), "operations must be a mapping"
            )
            return found
        by_channel = {}
        for key in messages:
            channel, _ = self.docs.deref(doc["channels"][key], self.docs.file)
            by_channel[id(channel)] = messages[key]
        for op_id, raw in operations.items():
            line = operations.line_of(op_id)
            op, file = self.docs.deref(raw, self.docs.file)
            if not isinstance(op, LineMap):
                if op is not None:
                    self.problems.fail(self.docs.file, line, f"operation {op_id} must be a mapping")
                continue
            if self.dead_letters.operation(op, file, str(op_id), line):
                continue
            action = op.get("action")
            if action not in ("send", "receive"):
                self.problems.fail(
                    file,
                    op.line_of("action") if "action" in op else line,
                    f"operation {op_id} needs action: send or receive",
                )
                continue
            for extra in ("bindings", "traits", "security"):
                if extra in op:
                    what = (
                        bindings_text(op["bindings"])
                        if extra == "bindings"
                        else f"its {extra} are not kept"
                    )
                    self.problems.warn(file, op.line_of(extra), f"operation {op_id}: {what}")
            msg = self.operation_message(op, file, str(op_id), by_channel)
            if msg is None:
                continue
            reply_msg = None
            if "reply" in op:
                reply, reply_file = self.docs.deref(op["reply"], file)
                if isinstance(reply, LineMap):
                    reply_msg = self.operation_message(
                        reply, reply_file, f"{op_id} (its reply)", by_channel
                    )
                    if reply_msg is None:
                        continue
                    if "address" in reply and "channel" not in reply:
                        self.problems.warn(
                            reply_file,
                            reply.line_of("address"),
                            f"operation {op_id}: the reply address is not kept; the reply "
                            f"goes to {reply_msg.event.channel}",
                        )
            found.append(Operation(str(op_id), action, msg, reply_msg, line, annotations_of(op)))
        return found

    def operation_message(
        self, op: LineMap, file: str, op_id: str, by_channel: dict[int, ChannelMessage]
    ) -> ChannelMessage | None:
        """The channel's message the operation (or reply) is about."""
        wanted = []
        listed = op.get("messages") or []
        if not isinstance(listed, list):
            self.problems.fail(
                file,
                op.line_of("messages"),
                f"messages of operation {op_id} must be a list of $refs to its channel's "
                "messages, e.g. [{$ref: '#/channels/<channel>/messages/<message>'}]",
            )
            return None
        for raw in listed:
            message, _ = self.docs.deref(raw, file)
            if message is not None:
                wanted.append(id(message))
        if "channel" in op:
            channel, _ = self.docs.deref(op["channel"], file)
            if channel is None:
                return None
            msg = by_channel.get(id(channel))
            if msg is None and self.problems.errors:
                return None  # its channel was refused: already said
            if msg is None:
                self.problems.fail(
                    file,
                    op.line_of("channel"),
                    f"operation {op_id} is on a channel without a message evtgen kept",
                )
                return None
            if wanted and msg.node_id not in wanted:
                self.problems.fail(
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
        self.problems.fail(
            file,
            op.line,
            f"operation {op_id} has no channel (or its messages are on no channel): "
            "every event needs a channel",
        )
        return None
