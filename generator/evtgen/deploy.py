"""What the Kubernetes manifests of a generated service need from the model.

Kafka topics are declared as Strimzi `KafkaTopic` resources: one for every channel
the service consumes or emits, and one for each of their dead-letter channels.
Channel names may hold what Kubernetes names may not (capitals, `_`), so each
topic gets a resource name of its own and keeps its real name in `spec.topicName`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from evtgen.model import Model, dead_letter_channel

#: A Kubernetes object name (DNS-1123 subdomain) is at most this long.
MAX_NAME = 253
_NOT_ALLOWED = re.compile(r"[^a-z0-9.-]+")
_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")


def resource_name(channel: str) -> str:
    """A valid, unique Kubernetes object name for a channel: the channel itself when
    it is one, else a cleaned form with a short hash of the channel, so `Orders_x`
    and `orders-x` do not end up the same."""
    if len(channel) <= MAX_NAME and _NAME.match(channel) and ".." not in channel:
        return channel
    digest = hashlib.sha256(channel.encode()).hexdigest()[:8]
    cleaned = re.sub(r"\.{2,}", ".", _NOT_ALLOWED.sub("-", channel.lower()))
    cleaned = cleaned[: MAX_NAME - len(digest) - 1].strip(".-")
    return f"{cleaned}-{digest}" if cleaned else digest


def topics(model: Model) -> list[dict[str, Any]]:
    """Every channel the service consumes or emits, in model order, then their
    dead-letter channels: each with its resource name and who owns it."""
    used = [e for e in model.events if e in model.consumed_events or e in model.emitted_events]
    channels = [(e.channel, "channel") for e in used]
    channels += [(dead_letter_channel(e.channel), "dead-letter") for e in used]
    return [{"name": c, "resource": resource_name(c), "kind": kind} for c, kind in channels]
