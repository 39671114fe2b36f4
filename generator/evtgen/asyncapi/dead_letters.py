"""Dead-letter channels (docs/asyncapi.md): a channel marked with x-evtgen-dead-letter-of
is the generated service's own `<channel>.dlq`, not an event; it is checked against
the channels the service receives from once the operations are read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evtgen.asyncapi.documents import Documents
from evtgen.asyncapi.extensions import X_DEAD_LETTER_OF
from evtgen.asyncapi.parts import ChannelMessage, Operation
from evtgen.model import DEAD_LETTER_SUFFIX, dead_letter_channel
from evtgen.yamllines import LineMap


@dataclass
class DeadLetter:
    """A channel marked with x-evtgen-dead-letter-of."""

    key: str
    of: Any  # the key of the channel it is the dead-letter channel of, if a string
    address: Any
    file: str
    line: int
    message_ids: set[int]


class DeadLetters:
    def __init__(self, docs: Documents) -> None:
        self.docs = docs
        self.problems = docs.problems
        self.by_channel: dict[int, DeadLetter] = {}  # by the channel object's id

    def message_ids(self) -> set[int]:
        """The messages on dead-letter channels: on a channel, though not events."""
        return {n for d in self.by_channel.values() for n in d.message_ids}

    def channel(self, channel: LineMap, file: str, key: str, line: int) -> bool:
        """Whether the channel is marked as a dead-letter channel: then it is the
        generated service's own (`<channel>.dlq`), not an event; it is checked once
        the operations are read."""
        if X_DEAD_LETTER_OF not in channel:
            return False
        message_ids = set()
        messages = channel.get("messages")
        for raw in messages.values() if isinstance(messages, LineMap) else ():
            message, _ = self.docs.deref(raw, file)
            message_ids.add(id(message))
        self.by_channel[id(channel)] = DeadLetter(
            key, channel[X_DEAD_LETTER_OF], channel.get("address"), file, line, message_ids
        )
        return True

    def operation(self, op: LineMap, file: str, op_id: str, line: int) -> bool:
        """Whether the operation is on a dead-letter channel (then it is no command or
        policy): sending to it is what the generated service does anyway."""
        raw = op.get("channel")
        if not isinstance(raw, LineMap):
            return False
        with self.problems.discarded():  # a bad $ref is named once, where the operation is read
            channel, _ = self.docs.deref(raw, file)
        dead_letter = self.by_channel.get(id(channel))
        if dead_letter is None:
            return False
        if op.get("action") != "send":
            self.problems.warn(
                file,
                line,
                f"operation {op_id} is on the dead-letter channel {dead_letter.key}, "
                "which a generated service only sends to: it is not kept",
            )
        return True

    def check(self, messages: dict[str, ChannelMessage], operations: list[Operation]) -> None:
        """A marked channel must be the dead-letter channel of a channel the service
        receives from, at the address the generated service sends to; an unmarked
        `<channel>.dlq` beside `<channel>` is an event, as in any document, but said."""
        received = {op.msg.key for op in operations if op.action == "receive"}
        for dead_letter in self.by_channel.values():
            source = messages.get(dead_letter.of) if isinstance(dead_letter.of, str) else None
            where = f"channel {dead_letter.key} ({X_DEAD_LETTER_OF}: {dead_letter.of!r})"
            if source is None or source.key not in received:
                self.problems.warn(
                    dead_letter.file,
                    dead_letter.line,
                    f"{where} is not the dead-letter channel of a channel the service "
                    "receives from: it is not kept; the generated service dead-letters "
                    "each channel it receives from to <channel>.dlq",
                )
            elif dead_letter.address != dead_letter_channel(source.event.channel):
                self.problems.warn(
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
                self.problems.warn(
                    self.docs.file,
                    msg.event.line,
                    f"channel {msg.key} ({msg.event.channel}) is read as event "
                    f"{msg.event.name}, though its address is that of the dead-letter "
                    f"channel of {channels[source_channel].key}; mark it with "
                    f"{X_DEAD_LETTER_OF}: {channels[source_channel].key} if it is one",
                )
