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

One concern a module: `documents` (files and `$ref`s), `channels` (channels and their
messages, as events), `payloads` with `payloads_jsonschema` and `payloads_avro`,
`operations`, `dead_letters`, `flow`, and `document`, which reads the root and puts
them together; every problem goes to one `evtgen.problems.Problems`.
"""

from __future__ import annotations

from evtgen.asyncapi.document import AsyncApiImport, load_asyncapi

__all__ = ["AsyncApiImport", "load_asyncapi"]
