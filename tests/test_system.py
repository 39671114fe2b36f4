"""The system model (docs/system.md): several contexts in one file, each resolved
into the ordinary model, the other contexts' events imported as external."""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_flow import mermaid

from evtgen.cli import main
from evtgen.loader import load_model
from evtgen.loader.system import load_system, parse_system
from evtgen.problems import ModelError
from evtgen.system_flows import Flow, flows, refusals
from evtgen.system_repo import flow_case


def ruff() -> str:
    """ruff from the test environment (the lint extra), else from PATH."""
    beside = Path(sys.executable).parent / "ruff"
    return str(beside) if beside.exists() else (shutil.which("ruff") or "ruff")


SAMPLE = Path(__file__).parent / "models" / "systems" / "shop.yaml"


def test_sample_system_resolves_each_context_into_a_model(tmp_path: Path) -> None:
    system = load_system(SAMPLE)
    assert [c.name for c in system.contexts] == ["orders", "payments", "shipping"]
    payments = system.context("payments").model
    placed = payments.event("OrderPlaced")
    assert placed.external and placed.producer == "orders"
    assert placed.channel == "orders.order-placed.v1"
    orders = system.context("orders").model
    assert [f.name for f in placed.fields] == [f.name for f in orders.event("OrderPlaced").fields]
    assert payments.policies[0].when == "OrderPlaced"
    assert {(x.producer, x.consumer, x.message, x.kind) for x in system.links} == {
        ("orders", "payments", "OrderPlaced", "event"),
        ("payments", "shipping", "PaymentAuthorized", "event"),
        ("shipping", "orders", "OrderShipped", "event"),
        # the saga orders runs: its commands to the participants, their replies
        ("orders", "shipping", "HoldShipment", "command"),
        ("orders", "shipping", "ReleaseShipment", "command"),
        ("shipping", "orders", "ShipmentHeld", "reply"),
        ("shipping", "orders", "ShipmentGone", "reply"),
        ("orders", "payments", "RefundOrder", "command"),
        ("payments", "orders", "OrderRefunded", "reply"),
        ("payments", "orders", "RefundDenied", "reply"),
    }
    # each participant's half, without declaring it: a subscriber for the command, its
    # domain function emitting the success reply (the failure when its rules refuse
    # the command), and the compensation's handler
    shipping = system.context("shipping").model
    held = shipping.event("HoldShipment")
    assert held.external and held.producer == "orders"
    assert held.channel == "shipping.hold-shipment.v1"
    assert shipping.command("RunHoldShipment").emits == ("ShipmentHeld",)
    assert shipping.command("RunHoldShipment").rejected == "ShipmentGone"
    assert shipping.command("RunReleaseShipment").sends == ()
    assert {e.name for e in shipping.emitted_events} >= {"ShipmentHeld", "ShipmentGone"}
    assert {(p.when, p.then) for p in shipping.policies} >= {
        ("HoldShipment", "RunHoldShipment"),
        ("ReleaseShipment", "RunReleaseShipment"),
    }
    assert not shipping.event("ShipmentHeld").external
    # each context's model.yaml stands alone: it reads back into the same model
    for context in system.contexts:
        alone = tmp_path / f"{context.name}.yaml"
        alone.write_text(context.model_text, encoding="utf-8")
        assert load_model(alone) == context.model


def test_the_flows_of_the_sample_system() -> None:
    """What the system's end-to-end test drives: the choreography through every
    context, the saga through each participant's success reply to its completed
    event; and each way the saga can be refused, with what it undoes."""
    system = load_system(SAMPLE)

    def names(flow: Flow) -> list[str]:
        return [f"{h.context}:{h.event}" for h in flow.hops]

    driven = {f.name: names(f) for f in flows(system)}
    assert driven == {
        "CartCheckedOut to OrderClosed": [
            "orders:OrderPlaced",
            "payments:PaymentAuthorized",
            "shipping:OrderShipped",
            "orders:OrderClosed",
        ],
        "CancellationRequested to OrderCancelled": [
            "shipping:ShipmentHeld",
            "payments:OrderRefunded",
            "orders:OrderCancelled",
        ],
    }
    refused = {f.name: (f.refused_by, names(f)) for f in refusals(system)}
    assert refused == {
        "CancellationRequested refused by shipping to CancellationRefused": (
            "shipping",
            ["shipping:ShipmentGone", "orders:CancellationRefused"],
        ),
        "CancellationRequested refused by payments to CancellationRefused": (
            "payments",
            [
                "shipping:ShipmentHeld",
                "payments:RefundDenied",
                "orders:ReleaseShipment",  # the compensation of the step done
                "orders:CancellationRefused",
            ],
        ),
    }
    case = flow_case(refusals(system)[1])
    assert case["start"] == {
        "context": "orders",
        "event": "CancellationRequested",
        "channel": "storefront.cancellation-requested.v1",
        "sample": "cancellation_requested",
    }
    assert case["hops"][2]["channel"] == "shipping.release-shipment.v1"


def test_a_saga_started_inside_the_system_is_not_driven_from_outside(tmp_path: Path) -> None:
    """The end-to-end test publishes a flow's first event as the outside world would:
    a saga started by another context's event runs inside a flow, not on its own."""
    model = tmp_path / "shop.yaml"
    model.write_text(
        _broken("start: CancellationRequested", "start: payments.PaymentAuthorized"),
        encoding="utf-8",
    )
    system = load_system(model)
    assert [f.name for f in flows(system)] == ["CartCheckedOut to OrderClosed"]
    assert refusals(system) == []


def _broken(old: str, new: str) -> str:
    text = SAMPLE.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "message", "at"),
    [
        (
            "when: orders.OrderPlaced",
            "when: billing.OrderPlaced",
            "unknown context 'billing'",
            "billing.OrderPlaced",
        ),
        (
            "when: orders.OrderPlaced",
            "when: orders.OrderTaken",
            "publishes no event 'OrderTaken'",
            "orders.OrderTaken",
        ),
        (
            "when: shipping.OrderShipped",
            "when: orders.OrderPlaced",
            "is orders's own event",
            "when: orders.OrderPlaced       #",
        ),
        (
            "      - name: OrderShipped\n",
            "      - name: OrderShipped\n        channel: orders.order-placed.v1\n",
            "which orders publishes already",
            "- name: OrderShipped",
        ),
    ],
)
def test_system_mistakes_are_refused_with_file_and_line(
    old: str, new: str, message: str, at: str
) -> None:
    text = _broken(old, new)
    with pytest.raises(ModelError) as caught:
        parse_system(text, "shop.yaml")
    (problem,) = [p for p in caught.value.problems if message in p.message]
    assert problem.file == "shop.yaml"
    assert problem.line == _line(text, at)


def test_a_saga_participant_must_be_a_context() -> None:
    text = SAMPLE.read_text(encoding="utf-8") + (
        "    saga:\n"
        "      name: Refund\n"
        "      start: OrderShipped\n"
        "      steps:\n"
        "        - participant: banking\n"
        "          command: {name: RefundMoney, fields: {order_id: uuid}}\n"
        "          success: {name: MoneyRefunded, fields: {order_id: uuid}}\n"
    )
    with pytest.raises(ModelError) as caught:
        parse_system(text, "shop.yaml")
    (problem,) = caught.value.problems
    assert "participant 'banking' is not a context" in problem.message
    assert problem.line == _line(text, "participant: banking")


# -- evtgen new system ----------------------------------------------------------


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_new_system_writes_each_context_as_new_service_would(tmp_path: Path) -> None:
    dest = tmp_path / "shop"
    assert main(["new", "system", "--model", str(SAMPLE), "--dest", str(dest), "--defaults"]) == 0
    system = load_system(SAMPLE)
    assert sorted(p.name for p in dest.iterdir()) == ["orders", "payments", "shipping", "shop"]
    for context in system.contexts:
        alone = tmp_path / "alone" / f"{context.name}.yaml"
        alone.parent.mkdir(exist_ok=True)
        alone.write_text(context.model_text, encoding="utf-8")
        single = tmp_path / "single" / context.name
        single.parent.mkdir(exist_ok=True)
        args = ["new", "service", context.name, "--model", str(alone), "--dest", str(single)]
        assert main([*args, "--defaults"]) == 0
        assert _files(dest / context.name) == _files(single), context.name
    repo = dest / "shop"
    assert (repo / "system.yaml").read_bytes() == SAMPLE.read_bytes()
    assert (repo / ".github" / "workflows" / "system.yml").is_file()
    assert main(["pipeline", "lint", str(repo)]) == 0  # actionlint, zizmor: real checkers
    readme = (repo / "README.md").read_text(encoding="utf-8")
    block = readme.split("```mermaid\n", 1)[1].split("```", 1)[0]
    diagram = mermaid(block)
    assert {(a.split(" ")[0], b.split(" ")[0], t) for a, b, t in diagram.edges} >= {
        ("orders", "payments", "OrderPlaced"),
        ("payments", "shipping", "PaymentAuthorized"),
        ("shipping", "orders", "OrderShipped"),
        ("orders", "shipping", "HoldShipment"),
        ("payments", "orders", "RefundDenied"),
    }
    assert len(diagram.edges) == len(system.links)


def test_the_system_repo_pipelines_pass_the_linters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "shop"
    args = ["new", "system", "--model", str(SAMPLE), "--dest", str(dest), "--defaults"]
    assert main([*args, "--ci", "both", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["system_repo"] == str(dest / "shop")
    assert [c["path"] for c in report["contexts"]] == [
        str(dest / c) for c in ("orders", "payments", "shipping")
    ]
    assert main(["pipeline", "lint", str(dest / "shop"), "--json"]) == 0
    lint = json.loads(capsys.readouterr().out)
    assert not lint["findings"], lint


@pytest.mark.parametrize("broker", ["kafka", "rabbitmq"])
def test_the_system_repo_end_to_end_test_is_ruff_clean(tmp_path: Path, broker: str) -> None:
    dest = tmp_path / "shop"
    args = ["new", "system", "--model", str(SAMPLE), "--dest", str(dest), "--defaults"]
    assert main([*args, "--broker", broker]) == 0
    for check in (["check"], ["format", "--check", "--diff"]):
        done = subprocess.run(
            [ruff(), *check, "."], cwd=dest / "shop", capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_a_bad_system_model_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    text = _broken("when: orders.OrderPlaced", "when: billing.OrderPlaced")
    bad.write_text(text, encoding="utf-8")
    dest = tmp_path / "out"
    assert main(["new", "system", "--model", str(bad), "--dest", str(dest), "--defaults"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:{_line(text, 'billing.OrderPlaced')}: " in err
    assert "Traceback" not in err
    assert not dest.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_a_context_the_template_refuses_leaves_no_repo(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    args = ["new", "system", "--model", str(SAMPLE), "--dest", str(dest), "--defaults"]
    assert main([*args, "--data", "no_such_question=1"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# -- evtgen contract check --------------------------------------------------------


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def _system(tmp_path: Path, *options: str) -> Path:
    dest = tmp_path / "shop"
    args = ["new", "system", "--model", str(SAMPLE), "--dest", str(dest), "--defaults"]
    assert main([*args, *options]) == 0
    for repo in dest.iterdir():
        _git(repo, "init", "-q")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-qm", "init")
    return dest


def _change_orders_event(dest: Path, old: str, new: str) -> None:
    """Edit the producer's model and bring it into its repo with `evtgen update`."""
    model = dest / "orders" / "model.yaml"
    text = model.read_text(encoding="utf-8")
    line = "    fields: {order_id: uuid, customer_id: string, amount: double}\n"
    assert line in text
    model.write_text(text.replace(line, line.replace(old, new)), encoding="utf-8")
    _git(dest / "orders", "commit", "-qam", "change OrderPlaced")
    assert main(["update", str(dest / "orders")]) == 0


@pytest.mark.parametrize("schema_format", ["avro", "jsonschema"])
def test_contract_check_breaks_on_an_incompatible_producer_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], schema_format: str
) -> None:
    dest = _system(tmp_path, "--schema-format", schema_format)
    assert main(["contract", "check", str(dest)]) == 0
    capsys.readouterr()
    _change_orders_event(dest, "amount: double", "amount: string")
    capsys.readouterr()
    assert main(["contract", "check", str(dest / "shop"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    (finding,) = report["findings"]
    assert finding["producer"] == "orders" and finding["consumer"] == "payments"
    assert finding["event"] == "OrderPlaced" and finding["channel"] == "orders.order-placed.v1"
    assert finding["field"] == "amount" and finding["kind"] == "incompatible"


def test_contract_check_passes_an_optional_field_with_a_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = _system(tmp_path)
    _change_orders_event(
        dest, "amount: double}", "amount: double, note: {type: string, default: ''}}"
    )
    assert '"note"' in (dest / "orders" / "schemas" / "OrderPlaced.avsc").read_text()
    capsys.readouterr()
    assert main(["contract", "check", str(dest / "orders"), str(dest / "payments")]) == 1
    out = capsys.readouterr().out  # shipping, which orders reads, is not in the set
    assert "no-producer" not in out and "BREAK shipping -> orders OrderShipped" in out
    assert main(["contract", "check", str(dest)]) == 0


def test_a_consumed_channel_without_producer_is_a_break_unless_external(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = _system(tmp_path)
    capsys.readouterr()
    assert main(["contract", "check", str(dest / "payments"), "--json"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    # what payments reads from orders: an event, and the saga's command to it
    assert {(f["kind"], f["producer"], f["event"]) for f in findings} == {
        ("no-producer", "orders", "OrderPlaced"),
        ("no-producer", "orders", "RefundOrder"),
    }
    # an external event without a producer is outside the system: nothing to check
    repo = tmp_path / "alone"
    assert main(["new", "service", "orders", "--dest", str(repo), "--defaults"]) == 0
    capsys.readouterr()
    assert main(["contract", "check", str(repo), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["external"]


# -- catalog-info.yaml --------------------------------------------------------------

BACKSTAGE = Path(__file__).parent / "tools" / "backstage"


def test_each_repo_carries_a_catalog_info_backstage_accepts(tmp_path: Path) -> None:
    dest = tmp_path / "shop"
    assert main(["new", "system", "--model", str(SAMPLE), "--dest", str(dest), "--defaults"]) == 0
    if shutil.which("node") is None or not (BACKSTAGE / "node_modules").is_dir():
        pytest.fail(
            "Backstage's catalog model is not installed: it needs Node.js and "
            "`npm ci --prefix tests/tools/backstage` (scripts/test.sh does both)"
        )
    files = sorted(str(p) for p in dest.glob("*/catalog-info.yaml"))
    assert len(files) == 4
    done = subprocess.run(
        ["node", str(BACKSTAGE / "validate.mjs"), *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    entities = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted((e["kind"], e["name"]) for e in entities) == sorted(
        [("System", "shop")]
        + [
            (kind, f"{c}{suffix}")
            for c in ("orders", "payments", "shipping")
            for kind, suffix in (("Component", ""), ("API", "-events"))
        ]
    )
    from evtgen.yamllines import load_plain

    payments = [
        load_plain(doc)
        for doc in (dest / "payments" / "catalog-info.yaml").read_text().split("\n---\n")
    ]
    assert payments[0]["spec"]["providesApis"] == ["payments-events"]
    assert payments[0]["spec"]["consumesApis"] == ["orders-events"]
    assert payments[1]["spec"]["definition"] == {"$text": "./schemas/asyncapi.yaml"}


def test_backstage_refuses_a_broken_catalog_info(tmp_path: Path) -> None:
    """The validator can fail: an entity without its owner is refused."""
    broken = tmp_path / "catalog-info.yaml"
    broken.write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\n"
        "spec: {type: service, lifecycle: experimental}\n"
    )
    done = subprocess.run(
        ["node", str(BACKSTAGE / "validate.mjs"), str(broken)], capture_output=True, text=True
    )
    assert done.returncode == 1 and "owner" in done.stdout


# -- the system evolves as one -------------------------------------------------------


def test_a_field_added_in_the_system_model_reaches_producer_and_consumer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = _system(tmp_path)
    system_file = dest / "shop" / "system.yaml"
    text = system_file.read_text(encoding="utf-8")
    old = (
        "      - name: OrderPlaced\n"
        "        fields: {order_id: uuid, customer_id: string, amount: double}"
    )
    assert old in text
    system_file.write_text(text.replace(old, old[:-1] + ", currency: string?}"), encoding="utf-8")
    _git(dest / "shop", "commit", "-qam", "OrderPlaced says its currency")
    # a team's edit of a generated file in the consumer survives the merge
    handlers = dest / "payments" / "README.md"
    handlers.write_text(handlers.read_text() + "\nOur notes.\n")
    _git(dest / "payments", "commit", "-qam", "notes")
    assert main(["update", str(dest / "shop")]) == 0
    for repo in ("orders", "payments"):
        schema = json.loads((dest / repo / "schemas" / "OrderPlaced.avsc").read_text())
        assert "currency" in [f["name"] for f in schema["fields"]], repo
    consumer = load_model(dest / "payments" / "model.yaml").event("OrderPlaced")
    assert consumer.external and "currency" in [f.name for f in consumer.fields]
    assert "Our notes." in handlers.read_text()
    assert "currency" not in (dest / "shipping" / "model.yaml").read_text()
    capsys.readouterr()
    assert main(["contract", "check", str(dest)]) == 0


def test_the_fleet_page_shows_the_context_map(tmp_path: Path) -> None:
    dest = _system(tmp_path)
    page = tmp_path / "fleet.html"
    assert main(["check", str(dest / "shop"), "--html", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    section = text.split('<section id="context-map">', 1)[1].split("</section>", 1)[0]
    for producer, consumer, event in (
        ("orders", "payments", "OrderPlaced"),
        ("payments", "shipping", "PaymentAuthorized"),
        ("shipping", "orders", "OrderShipped"),
    ):
        assert f"<td>{producer}</td><td>{consumer}</td><td>{event}</td>" in section
    assert "BREAKS" not in section
    source = html.unescape(section.split('<pre class="mermaid">', 1)[1].split("</pre>", 1)[0])
    assert ("orders", "payments", "OrderPlaced") in mermaid(source).edges


def test_a_participant_without_an_aggregate_is_refused_at_its_step() -> None:
    text = _broken(
        "    aggregates:\n      - name: Payment\n"
        "        fields: {payment_id: uuid, order_id: uuid, amount: double}\n",
        "",
    )
    with pytest.raises(ModelError) as caught:
        parse_system(text, "shop.yaml")
    found = [p for p in caught.value.problems if "payments has no aggregate" in p.message]
    assert [p.line for p in found] == [_line(text, "participant: payments")]


def test_new_service_points_a_system_model_to_new_system(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["new", "service", "orders", "--model", str(SAMPLE), "--dest", str(tmp_path / "o")]
    assert main([*args, "--defaults"]) == 2
    assert "evtgen new system --model FILE" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
