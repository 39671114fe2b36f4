"""The service's event flow as a Mermaid flowchart, drawn from the model.

Commands act on their aggregate, which emits events (the edge is labelled with the
command); emitted events go out on their channels; events, the service's own or
those of other contexts, trigger policies, which run commands. The service's own
elements sit in a box named after it; external events sit in a box per context
(the first part of their channel, `payments` for `payments.order-paid.v1`).

Node ids are generated (`c0`, `e1`...), never taken from names, and labels are
escaped, so any name draws safely (and none can end the Markdown code block).
"""

from __future__ import annotations

import re

from evtgen.model import Event, Model

#: Node shapes by kind (Mermaid flowchart syntax: open, close).
SHAPES = {
    "command": ('["', '"]'),
    "aggregate": ('{{"', '"}}'),
    "event": ('>"', '"]'),
    "policy": ('(["', '"])'),
    "channel": ('[("', '")]'),
}

#: Node id prefixes by kind; ids are a prefix and a number, so no name reaches them.
PREFIXES = {"command": "c", "aggregate": "a", "event": "e", "policy": "p", "channel": "ch"}

#: Characters Mermaid would read as syntax inside a quoted label, as its entity codes.
_ENTITIES = {
    "#": "#35;",  # first: every other code starts with it
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "&": "#amp;",
    "`": "#96;",  # a leading backtick starts a Markdown label; three end the code block
}


def label(text: str) -> str:
    """Text made safe inside a quoted Mermaid label: one line, syntax escaped."""
    text = " ".join(text.split())
    return re.sub('[#"<>&`]', lambda m: _ENTITIES[m.group(0)], text) or " "


def context_of(event: Event) -> str:
    """The bounded context an external event comes from: its channel's first part."""
    return re.split(r"[./:]", event.channel, maxsplit=1)[0] or event.channel


def flow_mermaid(model: Model) -> str:
    """The model's event flow as a Mermaid `flowchart LR`."""
    ids: dict[tuple[str, str], str] = {}
    lines = ["flowchart LR"]

    def node(kind: str, name: str, indent: str = "  ") -> str:
        node_id = ids.setdefault((kind, name), f"{PREFIXES[kind]}{len(ids)}")
        opening, closing = SHAPES[kind]
        lines.append(f"{indent}{node_id}{opening}{label(name)}{closing}")
        return node_id

    internal = [e for e in model.events if not e.external]
    external = [e for e in model.events if e.external]
    lines.append(f'  subgraph svc["{label(model.service)}"]')
    for aggregate in model.aggregates:
        node("aggregate", aggregate.name, "    ")
    for command in model.commands:
        node("command", command.name, "    ")
    for policy in model.policies:
        node("policy", policy.name, "    ")
    for event in internal:
        node("event", event.name, "    ")
    lines.append("  end")
    contexts: dict[str, list[Event]] = {}
    for event in external:
        contexts.setdefault(context_of(event), []).append(event)
    for number, (context, events) in enumerate(contexts.items()):
        lines.append(f'  subgraph context{number}["{label(context)}"]')
        for event in events:
            node("event", event.name, "    ")
        lines.append("  end")
    for event in model.emitted_events:
        node("channel", event.channel)

    def edge(source: str, target: str, text: str = "") -> None:
        arrow = f'-->|"{label(text)}"|' if text else "-->"
        lines.append(f"  {source} {arrow} {target}")

    for command in model.commands:
        acted_on = ids[("aggregate", command.aggregate)]
        edge(ids[("command", command.name)], acted_on)
        for emitted in command.emits:
            edge(acted_on, ids[("event", emitted)], command.name)
        if command.rejected:
            edge(acted_on, ids[("event", command.rejected)], f"{command.name} rejected")
    for event in model.emitted_events:
        edge(ids[("event", event.name)], ids[("channel", event.channel)])
    for policy in model.policies:
        edge(ids[("event", policy.when)], ids[("policy", policy.name)])
        edge(ids[("policy", policy.name)], ids[("command", policy.then)])
    return "\n".join(lines)
