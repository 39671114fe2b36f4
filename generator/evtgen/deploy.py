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

from evtgen.model import dead_letter_channel

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


def topics(channels: list[str]) -> list[dict[str, Any]]:
    """The given channels (those the service consumes or emits), each once in their
    order, then their dead-letter channels: each with its resource name and kind."""
    used = list(dict.fromkeys(channels))
    named = [(c, "channel") for c in used] + [(dead_letter_channel(c), "dead-letter") for c in used]
    return [{"name": c, "resource": resource_name(c), "kind": kind} for c, kind in named]
