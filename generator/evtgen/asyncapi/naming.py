"""The model's names for what a document names its own way."""

from __future__ import annotations

from evtgen.loader.names import TYPE_NAME


def type_name(raw: str) -> str:
    """A PascalCase name from a message or operation id: userSignedUp -> UserSignedUp."""
    if TYPE_NAME.match(raw):
        return raw
    parts = [p for p in "".join(c if c.isalnum() else " " for c in raw).split() if p]
    return "".join(p[:1].upper() + p[1:] for p in parts)


def unique(name: str, suffix: str, taken: set[str]) -> str:
    """`name`, or `name` + `suffix` (+ a number) where that is taken; now taken too."""
    candidate, n = name, 1
    while candidate in taken:
        candidate = f"{name}{suffix}" if n == 1 else f"{name}{suffix}{n}"
        n += 1
    taken.add(candidate)
    return candidate
