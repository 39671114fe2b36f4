"""What the rendered pipelines take from the generated service."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Context:
    service: str  # kebab-case; prefixes the Tekton resource names
    python_version: str
    broker: str
