"""A system's context map as a Mermaid flowchart: a node per context, an edge per
message one context writes and another reads, labelled with the message's name.

Node ids are generated (`ctx0`, ...), labels escaped by the event flow's rules
(`evtgen.flow.label`), so any name draws safely.
"""

from __future__ import annotations

from evtgen.flow import label
from evtgen.loader.system import System


def context_map_mermaid(system: System) -> str:
    contexts = [
        (c.name, c.name + (" (saga)" if c.model.saga is not None else "")) for c in system.contexts
    ]
    edges = [(x.producer, x.consumer, x.message, x.kind != "event") for x in system.links]
    return map_mermaid(contexts, edges)


def map_mermaid(contexts: list[tuple[str, str]], edges: list[tuple[str, str, str, bool]]) -> str:
    """A node per context (name, label), an edge per (producer, consumer, message,
    dashed): dashed for a saga's commands and replies."""
    ids: dict[str, str] = {}
    lines = ["flowchart LR"]

    def node(name: str, shown: str) -> str:
        if name not in ids:
            ids[name] = f"ctx{len(ids)}"
            lines.append(f'  {ids[name]}["{label(shown)}"]')
        return ids[name]

    for name, shown in contexts:
        node(name, shown)
    for producer, consumer, message, dashed in edges:
        arrow = "-.->" if dashed else "-->"
        lines.append(
            f'  {node(producer, producer)} {arrow}|"{label(message)}"| {node(consumer, consumer)}'
        )
    return "\n".join(lines) + "\n"
