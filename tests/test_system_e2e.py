"""The system repo's end-to-end test, run: every context of a generated system as
its own process on a real broker, each flow driven to its last event: the
choreography, the saga across contexts to its completed event, and (after a team's
rule in a participant) the saga refused and compensated to its failed event.

Needs the brokers of `scripts/brokers.sh up` and BROKER_URL_KAFKA /
BROKER_URL_RABBITMQ (scripts/test.sh sets them); fails, never skips, without them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from generated import uv

from evtgen.cli import main

pytestmark = [pytest.mark.brokers, pytest.mark.slow]
SAMPLE = Path(__file__).parent / "models" / "systems" / "shop.yaml"


def _unique_system(tmp_path: Path) -> Path:
    """The sample with names of its own: its channels and consumer groups are not
    those of any other test on the same broker."""
    token = uuid.uuid4().hex[:6]
    text = re.sub(r"\b(orders|payments|shipping|storefront)\b", rf"\1-{token}", SAMPLE.read_text())
    model = tmp_path / "system.yaml"
    model.write_text(text, encoding="utf-8")
    return model


@pytest.mark.parametrize("broker", ["kafka", "rabbitmq"])
def test_the_system_repo_drives_every_flow_through_its_contexts(
    tmp_path: Path, broker: str
) -> None:
    url = os.environ.get(f"BROKER_URL_{broker.upper()}")
    if not url:
        pytest.fail(f"BROKER_URL_{broker.upper()} is not set: start the brokers (scripts/test.sh)")
    dest = tmp_path / "shop"
    model = _unique_system(tmp_path)
    args = ["new", "system", "--model", str(model), "--dest", str(dest), "--defaults"]
    assert main([*args, "--broker", broker]) == 0
    venv = tmp_path / "venv"
    env = {**os.environ, "VIRTUAL_ENV": str(venv)}
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env)
    installed = subprocess.run(
        [uv(), "pip", "install", "-q", "-r", "requirements.txt"],
        cwd=dest / "shop",
        env=env,
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr
    if broker == "kafka":  # each context's own tests pass as generated (halves included)
        for context in ("orders", "payments", "shipping"):
            own = subprocess.run(
                [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                cwd=next(dest.glob(f"{context}-*")),
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert own.returncode == 0, own.stdout[-4000:]
    _refuse_big_refunds(dest)
    done = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pytest",
            "tests",
            "-v",
            "-rs",
            "-p",
            "no:cacheprovider",
        ],
        cwd=dest / "shop",
        env={**env, "BROKER_URL": url},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "3 passed" in done.stdout and "skipped" not in done.stdout, done.stdout
    # the choreography through every context; the saga orders runs across the others,
    # to its completed event, and refused by payments' rule, compensated, to its failed one
    assert "CartCheckedOut to OrderClosed] PASSED" in done.stdout
    assert "CancellationRequested to OrderCancelled] PASSED" in done.stdout
    assert "CancellationRequested refused by payments-" in done.stdout
    assert "to CancellationRefused] PASSED" in done.stdout


def _refuse_big_refunds(dest: Path) -> None:
    """What a team does to make a saga step fail (docs/system.md, "Saga
    participants"): a rule in the participant's domain that raises Rejected, and the
    refusal flow in the system's end-to-end test with start values the rule refuses.
    The saga must then undo the step done (shipping's hold) and end refused."""
    domain = next(dest.glob("payments-*/src/*/domain.py"))
    text = domain.read_text(encoding="utf-8")
    doc = '    """RunRefundOrder creates a new Payment and emits OrderRefunded."""\n'
    assert doc in text, text
    rule = (
        "    if command.amount > 1000:\n"
        '        raise Rejected("a refund over 1000 needs a person")\n'
    )
    domain.write_text(text.replace(doc, doc + rule), encoding="utf-8")
    flows = dest / "shop" / "tests" / "test_flows.py"
    text = flows.read_text(encoding="utf-8")
    name = re.search(r'"(CancellationRequested refused by payments-\w+ to [A-Za-z]+)"', text)
    assert name is not None, text
    refused = (
        f'REFUSED: list[dict[str, Any]] = [{{**REFUSALS["{name[1]}"], '
        '"fields": {"amount": 5000.0}}]'
    )
    text = text.replace("REFUSED: list[dict[str, Any]] = []", refused)
    flows.write_text(text, encoding="utf-8")
