"""The event-flow diagram: drawn from the model, read back by Mermaid's own parser.

Every diagram here goes through `tests/tools/mermaid/parse.mjs` (mermaid under
jsdom, from npm), which fails on a syntax error and reports the nodes, edges and
boxes it read; the assertions are on that structure, by label.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT, run_evtgen

from evtgen.fieldtypes import FieldType
from evtgen.flow import flow_mermaid, label
from evtgen.loader import load_model
from evtgen.model import Aggregate, Command, Event, Field, Model, Policy
from evtgen.templates import sample_model_path
from evtgen.view import model_view

MERMAID = ROOT / "tests" / "tools" / "mermaid"
RICH = ROOT / "tests" / "models" / "rich.yaml"


@dataclass
class Diagram:
    """What Mermaid read, by label: shapes, edges (source, target, edge label), boxes."""

    shapes: dict[str, str]
    edges: set[tuple[str, str, str]]
    boxes: dict[str, set[str]]


def mermaid(text: str) -> Diagram:
    """Parse with the real Mermaid parser; fail with its message when it refuses."""
    if shutil.which("node") is None or not (MERMAID / "node_modules").is_dir():
        pytest.fail(
            "the Mermaid parser is not installed: it needs Node.js and "
            "`npm ci --prefix tests/tools/mermaid` (scripts/test.sh does both)"
        )
    done = subprocess.run(
        ["node", str(MERMAID / "parse.mjs")],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"Mermaid refused the diagram: {done.stderr}\n{text}"
    read = json.loads(done.stdout)
    assert read["type"] == "flowchart-v2"
    names = {node_id: v["text"] for node_id, v in read["vertices"].items()}
    return Diagram(
        shapes={names[i]: v["type"] for i, v in read["vertices"].items()},
        edges={(names[a], names[b], t) for a, b, t in read["edges"]},
        boxes={s["title"]: {names[n] for n in s["nodes"]} for s in read["subgraphs"]},
    )


def test_the_sample_models_flow() -> None:
    diagram = mermaid(flow_mermaid(load_model(sample_model_path(), service="orders")))
    assert diagram.edges == {
        ("PlaceOrder", "Order", ""),
        ("Order", "OrderPlaced", "PlaceOrder"),
        ("ConfirmOrder", "Order", ""),
        ("Order", "OrderConfirmed", "ConfirmOrder"),
        ("OrderPlaced", "orders.order-placed.v1", ""),
        ("OrderConfirmed", "orders.order-confirmed.v1", ""),
        ("PaymentAuthorized", "ConfirmWhenPaid", ""),
        ("ConfirmWhenPaid", "ConfirmOrder", ""),
    }
    assert diagram.boxes == {
        "orders": {
            "Order",
            "PlaceOrder",
            "ConfirmOrder",
            "ConfirmWhenPaid",
            "OrderPlaced",
            "OrderConfirmed",
        },
        "payments": {"PaymentAuthorized"},
    }
    # each kind has its shape: commands boxes, aggregates hexagons, events flags...
    assert diagram.shapes["PlaceOrder"] == "square"
    assert diagram.shapes["Order"] == "hexagon"
    assert diagram.shapes["OrderPlaced"] == diagram.shapes["PaymentAuthorized"] == "odd"
    assert diagram.shapes["ConfirmWhenPaid"] == "stadium"
    assert diagram.shapes["orders.order-placed.v1"] == "cylinder"


def test_a_rich_models_flow() -> None:
    diagram = mermaid(flow_mermaid(load_model(RICH)))
    edges = diagram.edges
    # one command emitting two events; each edge says which command
    assert {
        ("Reservation", e, "ReserveStock") for e in ("StockReserved", "ReservationAudited")
    } <= edges
    # one external event triggering two policies, two policies running one command
    assert {
        ("OrderCancelled", "ReleaseWhenCancelled", ""),
        ("OrderCancelled", "AuditWhenCancelled", ""),
        ("AuditWhenCancelled", "ReserveStock", ""),
        ("ReserveWhenPaid", "ReserveStock", ""),
    } <= edges
    # the service's own event, emitted to its channel and consumed by its own policy
    assert {
        ("StockReserved", "fulfilment.stock-reserved.v1", ""),
        ("StockReserved", "ShipWhenReserved", ""),
        ("ReservationAudited", "audit.reservations.v1", ""),
    } <= edges
    # a command that emits nothing still acts on its aggregate
    assert ("NoteParcel", "Parcel", "") in edges
    assert not any(source == "Parcel" and label == "NoteParcel" for source, _, label in edges)
    # external events sit in their context's box, even one nobody reacts to
    assert diagram.boxes["payments"] == {"OrderPaid"}
    assert diagram.boxes["orders"] == {"OrderCancelled"}
    assert diagram.boxes["carriers"] == {"CarrierPinged"}
    assert not any("CarrierPinged" in edge for edge in edges)
    assert "OrderPaid" not in diagram.boxes["fulfilment"]
    assert len(edges) == 20


def test_names_mermaid_would_read_as_syntax_are_drawn_as_text() -> None:
    # The loader allows only plain names; the diagram must not depend on that.
    hostile = [
        'Say "hi"',
        "a]b[c",
        "end",
        "```",
        "<b>x</b>",
        "#quot; & #35;",
        "x|y",
        "graph TD",
        "`md`",
        "line\nbreak",
        "(){}",
    ]
    text_type = FieldType("string")
    fields = (Field("id", text_type),)
    events = tuple(
        Event(name, f"ctx{i} {name}.v1", fields, external=i % 2 == 1)
        for i, name in enumerate(hostile)
    )
    model = Model(
        service='svc "x" end',
        description="",
        aggregates=(Aggregate("a]gg", fields),),
        commands=(Command("do|it", "a]gg", fields, tuple(e.name for e in events[::2])),),
        events=events,
        policies=tuple(Policy(f"p{e.name}", e.name, "do|it") for e in events[1::2]),
    )
    text = flow_mermaid(model)
    assert "```" not in text and "\n\n" not in text
    diagram = mermaid(text)
    assert {" ".join(name.split()) for name in hostile} <= set(diagram.shapes)
    assert 'svc "x" end' in diagram.boxes
    # the even ones are emitted by the command, the odd ones (external) trigger a policy
    assert {("a]gg", name, "do|it") for name in ('Say "hi"', "end", "<b>x</b>")} <= diagram.edges
    assert {("```", "p```", ""), ("line break", "pline break", "")} <= diagram.edges
    assert ("pa]b[c", "do|it", "") in diagram.edges
    assert diagram.boxes["ctx3 ```"] == {"```"}


def test_labels_escape_what_mermaid_reads_as_syntax() -> None:
    assert label('a "b" <c> & #d `e`') == "a #quot;b#quot; #lt;c#gt; #amp; #35;d #96;e#96;"
    assert label("two\n  lines") == "two lines"
    # what Mermaid shows for them is the original text: see the test above


def test_a_model_with_nothing_to_draw_is_still_a_diagram() -> None:
    empty = Model("lonely", "", (), (), (), ())
    diagram = mermaid(flow_mermaid(empty))
    assert diagram.edges == set() and diagram.boxes == {"lonely": set()}


def test_the_generated_readme_shows_the_flow(tmp_path: Path) -> None:
    done = run_evtgen(
        "new", "service", "fulfilment", "--defaults", "--model", RICH, "--dest", tmp_path / "f"
    )
    assert done.code == 0, done.stderr
    readme = (tmp_path / "f" / "README.md").read_text()
    (block,) = re.findall(r"```mermaid\n(.*?)\n```", readme, re.S)
    assert block == flow_mermaid(load_model(RICH))
    assert ("OrderPaid", "ReserveWhenPaid", "") in mermaid(block).edges


def test_the_view_carries_the_diagram_once() -> None:
    view = model_view(load_model(sample_model_path(), service="orders"))
    assert view["flow"].startswith("flowchart LR\n")


def test_a_rejected_event_is_drawn_as_the_commands_other_outcome() -> None:
    diagram = mermaid(flow_mermaid(load_model(RICH.parent / "rejections.yaml")))
    assert {
        ("Payment", "PaymentTaken", "ChargeOrder"),
        ("Payment", "PaymentDeclined", "ChargeOrder rejected"),
        ("PaymentDeclined", "payments.payment-declined.v1", ""),
    } <= diagram.edges
