"""A platform team's own template, reached as a local git repo or a bare repo by URL."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import run_evtgen


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def released_template(tmp_path: Path) -> Path:
    """A scaffolded template with two releases; v2 adds a SECURITY.md."""
    template = tmp_path / "acme-service"
    assert run_evtgen("template", "init", template).code == 0
    git(template, "tag", "v1.0.0")
    (template / "project" / "SECURITY.md").write_text("Report issues to security@acme.test\n")
    git(template, "add", "-A")
    git(template, "commit", "-qm", "Add a security policy")
    git(template, "tag", "v2.0.0")
    return template


@pytest.mark.parametrize("reach", ["path", "bare-url"])
@pytest.mark.parametrize(("ref", "has_policy"), [("v1.0.0", False), ("v2.0.0", True)])
def test_a_service_from_a_released_template_records_its_source_and_version(
    tmp_path: Path, released_template: Path, reach: str, ref: str, has_policy: bool
) -> None:
    source = str(released_template)
    if reach == "bare-url":
        bare = tmp_path / "acme-service.git"
        git(tmp_path, "clone", "-q", "--bare", str(released_template), str(bare))
        source = bare.as_uri()  # file:///.../acme-service.git, as a remote would be reached
    dest = tmp_path / "orders"
    done = run_evtgen(
        "new",
        "service",
        "orders",
        "--template",
        source,
        "--vcs-ref",
        ref,
        "--dest",
        dest,
        "--defaults",
    )
    assert done.code == 0, done.stderr
    answers = yaml.safe_load((dest / ".copier-answers.yml").read_text())
    assert (answers["_src_path"], answers["_commit"]) == (source, ref)
    assert (dest / "SECURITY.md").is_file() == has_policy
    assert (
        "| OrderPlaced | `orders.order-placed.v1` | published |" in (dest / "README.md").read_text()
    )


def test_an_unknown_ref_is_one_line_and_nothing_is_written(
    tmp_path: Path, released_template: Path
) -> None:
    done = run_evtgen(
        "new",
        "service",
        "orders",
        "--template",
        released_template,
        "--vcs-ref",
        "v9.9.9",
        "--dest",
        tmp_path / "orders",
        "--defaults",
    )
    assert done.code == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "could not be rendered" in done.stderr
    assert not (tmp_path / "orders").exists()
