"""A system's context map as a Mermaid flowchart: a node per context, an edge per
message one context writes and another reads, labelled with the message's name.

Node ids are generated (`ctx0`, ...), labels escaped by the event flow's rules
(`evtgen.flow.label`), so any name draws safely.
"""

from __future__ import annotations

from evtgen.flow import label
from evtgen.loader.system import System


def context_map_mermaid(system: System) -> str:
    ids = {c.name: f"ctx{n}" for n, c in enumerate(system.contexts)}
    lines = ["flowchart LR"]
    for context in system.contexts:
        role = " (saga)" if context.model.saga is not None else ""
        lines.append(f'  {ids[context.name]}["{label(context.name + role)}"]')
    for link in system.links:
        arrow = "-.->" if link.kind != "event" else "-->"
        lines.append(
            f'  {ids[link.producer]} {arrow}|"{label(link.message)}"| {ids[link.consumer]}'
        )
    return "\n".join(lines) + "\n"
