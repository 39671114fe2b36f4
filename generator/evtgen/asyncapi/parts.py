"""What one step of reading a document hands the next: a channel's message as an event,
an operation on it, and a payload read into field specs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from evtgen.model import Event
from evtgen.yamllines import LineMap, plain


@dataclass
class ChannelMessage:
    """A message on a channel, as an event of the model."""

    key: str  # the channel's key
    event: Event
    node_id: int  # the resolved message object, to match operations' references
    external: bool | None = None  # as x-evtgen-external says, if it does
    #: how the document words it (Model.contract's entry for the event)
    contract: dict[str, Any] = field(default_factory=dict)


@dataclass
class Operation:
    op_id: str
    action: str
    msg: ChannelMessage
    reply: ChannelMessage | None
    line: int
    #: its annotations as written (title, summary, description, tags, externalDocs)
    doc: dict[str, Any] = field(default_factory=dict)


@dataclass
class PayloadSpecs:
    """A payload's fields as specs in the model file's format, to be checked by the
    model's own rules."""

    specs: LineMap
    file: str
    owner: str  # what the fields belong to, in the problems they have
    doc: str
    record: str | None = None  # an Avro payload's record name


#: What a channel, a message or an operation says of itself that the generated
#: document keeps as written.
ANNOTATIONS = ("title", "summary", "description", "tags", "externalDocs")


def annotations_of(node: LineMap) -> dict[str, Any]:
    """The node's annotations, as plain data."""
    return {k: as_data(node[k]) for k in ANNOTATIONS if k in node}


def as_data(value: Any) -> Any:
    """Plain JSON data (str, not the parser's string types; a date as its text): what
    Copier records in its answers and the template dumps as YAML."""
    return json.loads(json.dumps(plain(value), default=str, ensure_ascii=False))
