"""Consumer-driven contracts (docs/system.md): a generated consumer's tests write a Pact
V4 message pact per producer, and `evtgen contract check` verifies each producer
against its consumers' pacts with pact-python (the Pact FFI), offline.

One sample system per module: payments (which reads OrderPlaced and the saga's
RefundOrder from orders) installed in one fresh venv, its pact test run once."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from generated import fresh_venv, run_in
from test_system import _git

from evtgen.cli import main

pytestmark = pytest.mark.slow

PACT = Path("pacts") / "payments-orders.json"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample system (`new system --defaults`), payments' pact written by its tests
    and committed, as a team keeps it."""
    dest = tmp_path_factory.mktemp("pacts") / "shop"
    with pytest.MonkeyPatch.context() as env:  # conftest's per-test settings, for the module
        env.setenv("EVTGEN_DATA_DIR", str(tmp_path_factory.getbasetemp() / "evtgen-data"))
        env.setenv("EVTGEN_CONFIG", str(tmp_path_factory.getbasetemp() / "no-config.yml"))
        assert main(["new", "system", "--dest", str(dest), "--defaults"]) == 0
    payments = dest / "payments"
    checked = run_in(payments, fresh_venv(payments), "pytest", "-q", "tests/test_pacts.py")
    assert checked.code == 0, checked.output
    shutil.rmtree(payments / ".venv")
    for repo in dest.iterdir():
        _git(repo, "init", "-q")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-qm", "init")
    return dest


def test_the_consumers_tests_write_a_v4_message_pact(system: Path) -> None:
    pact = json.loads((system / "payments" / PACT).read_text())
    assert pact["consumer"] == {"name": "payments"} and pact["provider"] == {"name": "orders"}
    assert pact["metadata"]["pactSpecification"]["version"] == "4.0"
    by_name = {i["description"]: i for i in pact["interactions"]}
    assert sorted(by_name) == [
        "OrderPlaced on orders.order-placed.v1",
        "RefundOrder on payments.refund-order.v1",
    ]
    placed = by_name["OrderPlaced on orders.order-placed.v1"]
    assert placed["type"] == "Asynchronous/Messages"
    # the event's JSON form, matched by type: shapes, not the sample's values
    assert placed["contents"]["contentType"] == "application/json"
    assert sorted(placed["contents"]["content"]) == ["amount", "customer_id", "order_id"]
    assert placed["matchingRules"]["body"]["$"]["matchers"] == [{"match": "type"}]
    metadata = placed["matchingRules"]["metadata"]
    assert sorted(metadata) == ["ce_id", "ce_source", "ce_specversion", "ce_type"]
    assert metadata["ce_type"]["matchers"] == [
        {"match": "regex", "regex": r"^[^.]+\.OrderPlaced\.v1$"}
    ]
    assert placed["metadata"]["ce_type"] == "orders.OrderPlaced.v1"


def test_contract_check_verifies_the_producer_against_the_pact(
    system: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["contract", "check", str(system), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    checks = {(p["producer"], p["consumer"]): p for p in report["pacts"]}
    assert (
        checks[("orders", "payments")]["ok"] and checks[("orders", "payments")]["interactions"] == 2
    )
    assert main(["contract", "check", str(system)]) == 0
    assert "pact  orders -> payments 2 interaction(s) verified" in capsys.readouterr().out


def _changed(system: Path, tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the system whose orders changed OrderPlaced (its model, then `evtgen
    update`), payments' pact as it was."""
    dest = tmp_path / "shop"
    shutil.copytree(system, dest, symlinks=True)
    model = dest / "orders" / "model.yaml"
    line = "    fields: {order_id: uuid, customer_id: string, amount: double}\n"
    model.write_text(model.read_text().replace(line, line.replace(old, new)))
    _git(dest / "orders", "commit", "-qam", "change OrderPlaced")
    assert main(["update", str(dest / "orders")]) == 0
    return dest


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("amount: double", "amount: string", "amount"),  # retyped
        ("customer_id: string, ", "", "customer_id"),  # removed
    ],
    ids=["retyped", "removed"],
)
def test_a_producer_change_that_breaks_the_pact_fails_the_check(
    system: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    old: str,
    new: str,
    field: str,
) -> None:
    dest = _changed(system, tmp_path, old, new)
    capsys.readouterr()
    assert main(["contract", "check", str(dest), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    (broken,) = [f for f in report["findings"] if f["kind"] == "pact"]
    assert (broken["producer"], broken["consumer"]) == ("orders", "payments")
    assert (broken["event"], broken["channel"]) == ("OrderPlaced", "orders.order-placed.v1")
    assert broken["field"] == field and "payments-orders.json" in broken["message"]
    assert not next(p for p in report["pacts"] if p["producer"] == "orders")["ok"]


def test_a_field_the_producer_adds_keeps_the_pact(
    system: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = _changed(system, tmp_path, "amount: double}", "amount: double, note: string?}")
    capsys.readouterr()
    assert main(["contract", "check", str(dest), "--json"]) == 0
    assert all(p["ok"] for p in json.loads(capsys.readouterr().out)["pacts"])


def test_a_header_or_an_event_the_producer_does_not_send_breaks_the_pact(
    system: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "shop"
    shutil.copytree(system, dest, symlinks=True)
    contract = dest / "orders" / "schemas" / "asyncapi.yaml"
    document = yaml.safe_load(contract.read_text())
    del document["components"]["messageTraits"]["envelope"]["headers"]["properties"]["ce_type"]
    contract.write_text(yaml.safe_dump(document))
    pact_file = dest / "payments" / PACT
    pact = json.loads(pact_file.read_text())
    (refund,) = [i for i in pact["interactions"] if i["description"].startswith("RefundOrder")]
    refund["description"] = "RefundOrder on orders.refunds.v1"  # a channel orders never sends it on
    pact_file.write_text(json.dumps(pact))
    capsys.readouterr()
    assert main(["contract", "check", str(dest), "--json"]) == 1
    broken = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["kind"] == "pact"]
    assert [(f["event"], f["channel"], f["field"]) for f in broken] == [
        ("RefundOrder", "orders.refunds.v1", ""),
        ("OrderPlaced", "orders.order-placed.v1", "ce_type"),
    ]
    assert "orders sends no RefundOrder on orders.refunds.v1" in broken[0]["message"]


def test_a_file_in_pacts_that_is_no_v4_pact_is_refused(
    system: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payments = tmp_path / "payments"
    shutil.copytree(system / "payments", payments, symlinks=True)
    pact = json.loads((payments / PACT).read_text())
    pact["metadata"]["pactSpecification"]["version"] = "3.0.0"
    (payments / PACT).write_text(json.dumps(pact))
    (payments / "pacts" / "notes.json").write_text("{")
    capsys.readouterr()
    assert main(["contract", "check", str(payments)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "notes.json: not a Pact file" in line
    (payments / "pacts" / "notes.json").unlink()
    assert main(["contract", "check", str(payments)]) == 2
    assert "a Pact 3.0.0 file; contract check reads V4 pacts" in capsys.readouterr().err


def test_pacts_without_pact_python_are_refused_in_one_line(
    system: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pact", None)  # as if not installed: import fails
    capsys.readouterr()
    assert main(["contract", "check", str(system)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "pact-python" in line and "evtgen[pact]" in line
    # without pacts, nothing needs it: the schema-level check alone
    assert main(["contract", "check", str(system / "orders"), str(system / "shipping")]) == 1
    assert "pact-python" not in capsys.readouterr().err
