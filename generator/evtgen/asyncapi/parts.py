"""What one step of reading a document hands the next: a channel's message as an event,
an operation on it, and a payload read into field specs."""

from __future__ import annotations

from dataclasses import dataclass

from evtgen.model import Event
from evtgen.yamllines import LineMap


@dataclass
class ChannelMessage:
    """A message on a channel, as an event of the model."""

    key: str  # the channel's key
    event: Event
    node_id: int  # the resolved message object, to match operations' references
    external: bool | None = None  # as x-evtgen-external says, if it does


@dataclass
class Operation:
    op_id: str
    action: str
    msg: ChannelMessage
    reply: ChannelMessage | None
    line: int


@dataclass
class PayloadSpecs:
    """A payload's fields as specs in the model file's format, to be checked by the
    model's own rules."""

    specs: LineMap
    file: str
    owner: str  # what the fields belong to, in the problems they have
    doc: str
    record: str | None = None  # an Avro payload's record name
