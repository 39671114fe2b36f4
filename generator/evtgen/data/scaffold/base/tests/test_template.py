"""The template's own tests (pytest-copie): run `pytest` in the template's folder."""

from __future__ import annotations

from typing import Any

import pytest
import yaml


def test_defaults_render_a_service(copie: Any) -> None:
    result = copie.copy()
    assert result.exit_code == 0, result.exception
    readme = (result.project_dir / "README.md").read_text()
    assert "| OrderPlaced | `orders.order-placed.v1` | published |" in readme


@pytest.mark.parametrize("broker", ["kafka", "rabbitmq", "nats", "redis"])
def test_every_broker_is_recorded_for_updates(copie: Any, broker: str) -> None:
    result = copie.copy(extra_answers={"broker": broker})
    assert result.exit_code == 0, result.exception
    answers = yaml.safe_load((result.project_dir / ".copier-answers.yml").read_text())
    assert answers["broker"] == broker
    assert f"over {broker}" in (result.project_dir / "README.md").read_text()


def test_the_package_takes_the_services_name(copie: Any) -> None:
    result = copie.copy()
    package = result.project_dir / "src" / result.answers["model"]["package"]
    assert "orders.order-placed.v1" in (package / "__init__.py").read_text()


def test_owner_goes_into_codeowners(copie: Any) -> None:
    result = copie.copy(extra_answers={"owner": "@acme/payments"})
    assert (result.project_dir / "CODEOWNERS").read_text() == "* @acme/payments\n"
