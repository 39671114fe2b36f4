"""What evtgen writes into the AsyncAPI documents it generates, beyond AsyncAPI itself:
the `x-evtgen-*` extensions (the model's flow, in the model file's format) and the
envelope every message carries."""

from __future__ import annotations

from evtgen.yamllines import LineMap

#: Extensions a document evtgen generated carries, in the model file's format.
X_TYPES = "x-evtgen-types"
X_AGGREGATES = "x-evtgen-aggregates"
X_COMMANDS = "x-evtgen-commands"
X_POLICIES = "x-evtgen-policies"
X_EXTERNAL = "x-evtgen-external"
#: On the `local` server evtgen describes when the model names none (not kept).
X_LOCAL_SERVER = "x-evtgen-local"
#: On a channel (and its message and send operation) of a document evtgen generated:
#: the service's dead-letter channel of the channel with this key (docs/asyncapi.md).
X_DEAD_LETTER_OF = "x-evtgen-dead-letter-of"
#: The message trait of evtgen's envelope (CloudEvents headers) in its own documents.
ENVELOPE_TRAIT = "#/components/messageTraits/envelope"


def evtgen_envelope(message: LineMap) -> bool:
    """The envelope trait evtgen writes on every message: the generated service sends it
    anyway, nothing lost."""
    return message.get("traits") == [{"$ref": ENVELOPE_TRAIT}]


def evtgen_correlation(message: LineMap) -> bool:
    """The correlation id evtgen itself uses: nothing lost."""
    value = message.get("correlationId")
    return isinstance(value, dict) and value.get("location") == "$message.header#/correlation_id"
