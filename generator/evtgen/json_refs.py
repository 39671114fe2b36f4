"""`$ref`s within one JSON document: JSON pointers (RFC 6901) and anchors, and a
schema with its `$ref`s expanded. The AsyncAPI importer's `$ref`s walk the same
pointers (`walk`), with its own rules for what a reference may name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

#: How deep evtgen follows a schema (and its `$ref`s) before it stops.
MAX_DEPTH = 100
#: What a pointer into nothing finds.
MISSING: Any = object()


def unescape(part: str) -> str:
    """A pointer's reference token as the key it names (`~1` is '/', `~0` is '~')."""
    return part.replace("~1", "/").replace("~0", "~")


def walk(root: Any, parts: Iterable[str]) -> Any:
    """What the keys and indexes `parts` name in a loaded document, or MISSING."""
    node = root
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
    return node


def resolve(root: Any, ref: str) -> Any:
    """The schema a `$ref` within the document names: `#`, a JSON pointer
    (`#/definitions/x`), a plain name (`#addr`: `$anchor`, or draft-07's `$id: "#addr"`),
    each also after the document's own `$id`; None when it points elsewhere."""
    base, hash_, fragment = ref.partition("#")
    own_id = root.get("$id") if isinstance(root, dict) else None
    if base and not (isinstance(own_id, str) and base == own_id.partition("#")[0]):
        return None
    if not hash_ or not fragment:
        return root
    if not fragment.startswith("/"):
        return anchor(root, unquote(fragment))
    ref = "#" + fragment
    parts = [p for p in ref[1:].split("/") if p] if ref != "#" else []
    found = walk(root, [unescape(unquote(p)) for p in parts])
    return None if found is MISSING else found


def anchor(node: Any, name: str) -> Any:
    """The subschema named `name` by `$anchor` (2019-09+) or `$id: "#name"` (draft-07)."""
    if isinstance(node, dict):
        if node.get("$anchor") == name or node.get("$id") == f"#{name}":
            return node
        children: Any = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = anchor(child, name)
        if found is not None:
            return found
    return None


def expand(schema: Any, root: Any, stack: tuple[int, ...] = ()) -> tuple[Any, list[str]]:
    """`schema` with each `$ref` within the document replaced by what it points at
    (a cycle by a marker naming the `$ref`), and the `$ref`s that point elsewhere:
    two subschemas are "unchanged" only when these are equal."""
    outside: list[str] = []

    def inline(node: Any, stack: tuple[int, ...]) -> Any:
        if len(stack) > MAX_DEPTH:
            outside.append("(nested too deep)")
            return None
        if isinstance(node, list):
            return [inline(item, stack) for item in node]
        if not isinstance(node, dict):
            return node
        out = {k: inline(v, stack) for k, v in node.items() if k != "$ref"}
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = resolve(root, ref)
            if target is None:
                outside.append(ref)
                out["$ref"] = ref
            elif id(target) in stack:
                out["$ref"] = {"cycle": ref}
            else:
                out["$ref"] = inline(target, (*stack, id(target)))
        elif ref is not None:
            out["$ref"] = ref
        return out

    return inline(schema, stack), outside
