"""The overlay's own tests: run `pytest` in the template's folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import copier
import pytest
import yaml

OVERLAY = Path(__file__).resolve().parents[1]


def test_defaults_render_the_overlay(copie: Any) -> None:
    result = copie.copy()
    assert result.exit_code == 0, result.exception
    assert "severity_threshold: high" in (result.project_dir / "__NAME__.yml").read_text()


@pytest.mark.parametrize("threshold", ["low", "critical"])
def test_the_threshold_reaches_the_settings(copie: Any, threshold: str) -> None:
    result = copie.copy(extra_answers={"severity_threshold": threshold})
    assert f"severity_threshold: {threshold}" in (result.project_dir / "__NAME__.yml").read_text()


def test_the_overlay_keeps_its_own_answers_beside_the_base_layer(tmp_path: Path) -> None:
    # A repo made from a base template: its files and its answers file are left alone.
    (tmp_path / ".copier-answers.yml").write_text("_src_path: base\nbroker: kafka\n")
    (tmp_path / "README.md").write_text("# orders\n")
    copier.run_copy(str(OVERLAY), tmp_path, defaults=True, unsafe=True, vcs_ref="HEAD")
    assert (tmp_path / ".copier-answers.yml").read_text() == "_src_path: base\nbroker: kafka\n"
    assert (tmp_path / "README.md").read_text() == "# orders\n"
    own = yaml.safe_load((tmp_path / ".copier-answers.__NAME__.yml").read_text())
    assert own["severity_threshold"] == "high"
