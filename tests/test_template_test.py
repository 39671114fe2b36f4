"""`evtgen template test` on the bundled template, as a platform team first runs it:
the default matrix from a fresh clone, and the upgrade path between real releases."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import EVTGEN, TEMPLATE

pytestmark = pytest.mark.slow


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def copy_template(dest: Path) -> Path:
    shutil.copytree(TEMPLATE, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def template_test(*args: str | Path, cwd: Path) -> tuple[int, dict[str, Any], str]:
    # every case installs a generated repo: longer than run_evtgen's timeout
    done = subprocess.run(
        [*EVTGEN, "template", "test", *map(str, args), "--json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=3600,
        stdin=subprocess.DEVNULL,
    )
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, report, done.stderr


def verdicts(report: dict[str, Any]) -> list[tuple[str, bool, str]]:
    return [(c["name"], c["passed"], c["stage"]) for c in report["cases"]]


def test_the_bundled_template_passes_its_default_matrix_from_a_fresh_clone(
    tmp_path: Path,
) -> None:
    clone = tmp_path / "evtgen"
    copy_template(clone / "template")
    git(clone, "init", "-q")
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "evtgen, as cloned")
    code, report, progress = template_test("template", cwd=clone)
    assert code == 0, (verdicts(report), progress[-3000:])
    names = [name for name, _, _ in verdicts(report)]
    assert names[0] == "defaults"
    assert "pattern=orchestration, model=sample saga" in names
    assert {"broker=nats", "schema_format=jsonschema", "ci=tekton"} <= set(names)
    assert (
        len(names) == len(set(names)) == 11
    )  # no case twice (pattern=choreography is the default)
    assert all(passed and stage == "test" for _, passed, stage in verdicts(report))
    # a template inside another repository has no releases of its own: said, not failed
    assert report["notes"] == [
        "the upgrade path was not tested: template is not the root of a git repository, "
        "so it has no releases (Copier versions a template by the tags of its own repository)"
    ]


def test_the_upgrade_from_a_release_passes_and_a_failing_test_in_a_newer_one_is_red(
    tmp_path: Path,
) -> None:
    template = copy_template(tmp_path / "template")
    git(template, "init", "-q")
    git(template, "add", "-A")
    git(template, "commit", "-qm", "The bundled template")
    git(template, "tag", "v0.1.0")
    readme = template / "project" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\nSee the platform team's handbook.\n")
    git(template, "commit", "-qam", "README: the handbook")
    matrix = tmp_path / "matrix.yml"
    matrix.write_text("cases: [{broker: nats}]\n")  # one case: each installs a repo

    code, report, progress = template_test(template, "--matrix", matrix, cwd=tmp_path)
    assert code == 0, (verdicts(report), progress[-3000:])
    assert verdicts(report) == [
        ("broker=nats", True, "test"),
        ("upgrade v0.1.0 -> HEAD", True, "test"),
    ]
    assert report["notes"] == []

    planted = template / "project" / "tests" / "test_planted.py"
    planted.write_text("def test_planted_by_the_platform_team() -> None:\n    assert False\n")
    git(template, "add", "-A")
    git(template, "commit", "-qm", "A test that fails")
    git(template, "tag", "v0.2.0")
    code, report, _ = template_test(
        template, "--matrix", matrix, "--vcs-ref", "v0.2.0", cwd=tmp_path
    )
    assert code == 1
    assert verdicts(report) == [
        ("broker=nats", False, "test"),
        ("upgrade v0.1.0 -> v0.2.0", False, "test"),
    ]
    assert all("test_planted_by_the_platform_team" in c["detail"] for c in report["cases"])
