"""The bundled template's versions: `new` records them, evtgen's store keeps them, and
`update` takes a repo from an older version (simulated: a modified copy of the template
published as v0.0.9 into an isolated store) to the installed one."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import yaml
from conftest import TEMPLATE, Run
from updatekit import edit, git, isolated_evtgen  # noqa: F401

from evtgen import __version__
from evtgen.store import publish, store_path

INSTALLED = f"v{__version__}"


def new_repo(evtgen: Callable[..., Run], dest: Path, *args: str | Path) -> Path:
    done = evtgen("new", "service", "orders", "--defaults", "--dest", dest, *args)
    assert done.code == 0, done.stderr
    git(dest, "init", "-q", "-b", "main")
    edit(dest, {}, "generated")
    return dest


def old_release(tmp_path: Path) -> str:
    """Publish the bundled template, less the last line of its Dockerfile, as v0.0.9."""
    old = tmp_path / "old-template"
    shutil.copytree(TEMPLATE, old)
    dockerfile = old / "project" / "Dockerfile.jinja"
    dockerfile.write_text("".join(dockerfile.read_text().splitlines(keepends=True)[:-1]))
    return publish(old, "0.0.9")


def repo_on(evtgen: Callable[..., Run], tag: str, dest: Path) -> Path:
    """A repo made from the store at `tag`, recorded as evtgen records the bundled one."""
    done = evtgen(
        "new",
        "service",
        "orders",
        "--defaults",
        "--dest",
        dest,
        "--template",
        store_path(),
        "--vcs-ref",
        tag,
    )
    assert done.code == 0, done.stderr
    answers = dest / ".copier-answers.yml"
    answers.write_text(
        answers.read_text().replace(f"_src_path: {store_path()}", "_src_path: evtgen:bundled")
    )
    git(dest, "init", "-q", "-b", "main")
    edit(dest, {}, "generated")
    return dest


def test_new_records_the_bundled_template_by_name_and_version(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    repo = new_repo(evtgen, tmp_path / "orders")
    recorded = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert recorded["_src_path"] == "evtgen:bundled"
    assert recorded["_commit"] == INSTALLED
    assert INSTALLED in git(store_path(), "tag")
    done = evtgen("check", repo)
    assert done.code == 0, done.stdout + done.stderr


def test_update_from_an_older_bundled_version_keeps_the_teams_edits(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    assert old_release(tmp_path) == "v0.0.9"
    repo = repo_on(evtgen, "v0.0.9", tmp_path / "orders")
    fresh = new_repo(evtgen, tmp_path / "fresh")
    assert (repo / "Dockerfile").read_text() != (fresh / "Dockerfile").read_text()
    domain = repo / "src" / "orders" / "domain.py"
    rule = "\n\ndef discount(amount: float) -> float:\n    return amount * 0.9\n"
    edit(repo, {"src/orders/domain.py": domain.read_text() + rule})
    behind = evtgen("check", repo, "--json")
    assert behind.code == 1 and json.loads(behind.stdout)["repos"][0]["behind"] is True

    done = evtgen("update", repo, "--json")

    assert done.code == 0, done.stderr
    [r] = json.loads(done.stdout)["repos"]
    assert (r["from_version"], r["to_version"], r["status"]) == ("v0.0.9", INSTALLED, "updated")
    assert r["changed"] == ["Dockerfile"]
    assert (repo / "Dockerfile").read_text() == (fresh / "Dockerfile").read_text()
    assert domain.read_text().endswith(rule)
    check = evtgen("check", repo, "--json")
    assert check.code == 0, check.stdout
    assert json.loads(check.stdout)["repos"][0]["team_owned_edited"] == ["src/orders/domain.py"]


def test_a_version_the_store_lacks_says_how_to_get_it(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    repo = new_repo(evtgen, tmp_path / "orders")
    answers = repo / ".copier-answers.yml"
    edit(repo, {".copier-answers.yml": answers.read_text().replace(INSTALLED, "v0.0.5")})
    for command in ("update", "check"):
        done = evtgen(command, repo)
        assert done.code == 2, done.stderr
        assert "template version v0.0.5 is not available locally" in done.stderr
        assert "evtgen==0.0.5" in done.stderr


def test_an_edited_model_regenerates_on_update(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    repo = new_repo(evtgen, tmp_path / "orders")
    model = repo / "model.yaml"
    text = model.read_text().replace(
        "events:\n", "events:\n  - name: OrderAudited\n    fields:\n      order_id: uuid\n", 1
    )
    edit(repo, {"model.yaml": text})
    drift = evtgen("check", repo, "--json")
    assert drift.code == 1 and json.loads(drift.stdout)["repos"][0]["changed"] == ["model.yaml"]

    done = evtgen("update", repo, "--json")

    assert done.code == 0, done.stderr
    [r] = json.loads(done.stdout)["repos"]
    assert "schemas/OrderAudited.avsc" in r["added"]
    assert "OrderAudited" in (repo / "schemas" / "asyncapi.yaml").read_text()
