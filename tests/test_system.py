"""The system model (docs/system.md): several contexts in one file, each resolved
into the ordinary model, the other contexts' events imported as external."""

from __future__ import annotations

from pathlib import Path

import pytest

from evtgen.loader import load_model
from evtgen.loader.system import load_system, parse_system
from evtgen.problems import ModelError

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
    assert {(link.producer, link.consumer, link.message) for link in system.links} == {
        ("orders", "payments", "OrderPlaced"),
        ("payments", "shipping", "PaymentAuthorized"),
        ("shipping", "orders", "OrderShipped"),
    }
    # each context's model.yaml stands alone: it reads back into the same model
    for context in system.contexts:
        alone = tmp_path / f"{context.name}.yaml"
        alone.write_text(context.model_text, encoding="utf-8")
        assert load_model(alone) == context.model


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
