"""Layered templates: a base template plus overlays, each with its own answers file
and version; `update` and `check` take every layer of a repo in one run."""

from __future__ import annotations

import json
from pathlib import Path

from browser import rendered_dom
from conftest import run_evtgen
from updatekit import commit_all, edit, git, make_template, release, snapshot

OVERLAY_YML = """\
_subdirectory: project
_answers_file: .copier-answers.sec.yml
level:
  type: str
  default: high
"""


def layered_repo(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A repo made from a base template and then an overlay, both at v1.0.0."""
    from copier import run_copy

    base = make_template(tmp_path / "base", {"README.md": "# {{ name }}\n", "app.txt": "v1\n"})
    overlay = make_template(
        tmp_path / "sec",
        {"SECURITY.md": "policy\na\nb\nlevel: {{ level }}\n"},
        copier_yml=OVERLAY_YML,
    )
    repo = tmp_path / "repo"
    run_copy(str(base), repo, vcs_ref="v1.0.0", defaults=True, quiet=True)
    run_copy(str(overlay), repo, vcs_ref="v1.0.0", defaults=True, quiet=True)
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "generated")
    return base, overlay, repo


def test_update_takes_every_layer_in_order_and_keeps_each_answers_file(tmp_path: Path) -> None:
    base, overlay, repo = layered_repo(tmp_path)
    edit(
        repo,
        {
            "README.md": "# demo\n\nOur own notes.\n",
            "SECURITY.md": "policy\na\nb\nlevel: high\nours\n",
        },
    )
    release(base, "v2.0.0", {"app.txt": "v2\n"})
    release(overlay, "v1.1.0", {"SECURITY.md": "# policy\na\nb\nlevel: {{ level }}\n"})
    done = run_evtgen("update", repo, "--json")
    assert done.code == 0, done.stdout + done.stderr
    (report,) = json.loads(done.stdout)["repos"]
    assert [
        (x["answers_file"], x["from_version"], x["to_version"], x["status"])
        for x in report["layers"]
    ] == [
        (".copier-answers.yml", "v1.0.0", "v2.0.0", "updated"),
        (".copier-answers.sec.yml", "v1.0.0", "v1.1.0", "updated"),
    ]
    assert (repo / "app.txt").read_text() == "v2\n"
    assert (repo / "README.md").read_text() == "# demo\n\nOur own notes.\n"
    assert (repo / "SECURITY.md").read_text() == "# policy\na\nb\nlevel: high\nours\n"
    assert "_commit: v2.0.0" in (repo / ".copier-answers.yml").read_text()
    assert "_commit: v1.1.0" in (repo / ".copier-answers.sec.yml").read_text()


def test_one_layer_that_cannot_update_leaves_the_repo_as_it_was(tmp_path: Path) -> None:
    base, overlay, repo = layered_repo(tmp_path)
    release(base, "v2.0.0", {"app.txt": "v2\n"})
    release(overlay, "v1.1.0", {"SECURITY.md": "level: {{ level }}!\n"})
    git(overlay, "tag", "-d", "v1.0.0")  # the overlay's recorded version is gone

    def state() -> tuple[dict[str, bytes], str, str]:
        files = {k: v for k, v in snapshot(repo).items() if not k.startswith(".git/")}
        return files, git(repo, "rev-parse", "HEAD"), git(repo, "branch", "--show-current")

    before = state()
    done = run_evtgen("update", repo, "--branch", "template-update")
    assert done.code == 2
    assert "no version 'v1.0.0'" in done.stderr
    assert state() == before  # the base layer's changes were undone, its branch too
    assert "template-update" not in git(repo, "branch", "--list")


def test_check_lists_each_layer_and_is_behind_when_any_layer_is(tmp_path: Path) -> None:
    _, overlay, repo = layered_repo(tmp_path)
    assert run_evtgen("check", repo).code == 0
    release(overlay, "v1.1.0", {"SECURITY.md": "level: {{ level }}!\n"})
    done = run_evtgen("check", repo, "--json")
    assert done.code == 1
    (report,) = json.loads(done.stdout)["repos"]
    assert report["status"] == "behind"
    assert [
        (x["answers_file"], x["version"], x["newest"], x["behind"]) for x in report["layers"]
    ] == [
        (".copier-answers.yml", "v1.0.0", "v1.0.0", False),
        (".copier-answers.sec.yml", "v1.0.0", "v1.1.0", True),
    ]


def test_an_overlay_on_the_bundled_template(tmp_path: Path) -> None:
    from copier import run_copy

    overlay = tmp_path / "acme-security"
    assert run_evtgen("template", "init", overlay, "--overlay").code == 0
    git(overlay, "tag", "v1.0.0")
    repo = tmp_path / "orders"
    assert run_evtgen("new", "service", "orders", "--dest", repo, "--defaults").code == 0
    run_copy(str(overlay), repo, vcs_ref="v1.0.0", defaults=True, quiet=True)
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "generated")
    done = run_evtgen("check", repo, "--json")
    assert done.code == 0, done.stdout + done.stderr
    (report,) = json.loads(done.stdout)["repos"]
    assert [x["template"] for x in report["layers"]] == ["evtgen:bundled", str(overlay)]
    release(overlay, "v1.1.0", {"docs/acme-security.md.jinja": "# acme-security\nv1.1\n"})
    done = run_evtgen("update", repo)
    assert done.code == 0, done.stdout + done.stderr
    assert (repo / "docs" / "acme-security.md").read_text() == "# acme-security\nv1.1\n"


def test_the_fleet_page_shows_what_check_found(tmp_path: Path) -> None:
    *_, current = layered_repo(tmp_path)
    drifted = tmp_path / "drifted"
    git(tmp_path, "clone", "-q", str(current), str(drifted))
    edit(drifted, {"app.txt": "edited by hand\n"})
    not_generated = tmp_path / "plain"
    not_generated.mkdir()
    page = tmp_path / "fleet.html"
    done = run_evtgen("check", current, drifted, not_generated, "--html", page)
    assert done.code == 3  # one repo of the fleet failed
    dom = rendered_dom(page)
    assert "3 of 3 shown" in dom
    assert "1 up to date · 0 behind · 1 drifted · 0 behind and drifted · 1 failed" in dom
    assert "changed: app.txt" in dom
    assert "(.copier-answers.sec.yml)" in dom and "is not a generated repository" in dom
    assert f"<td>{drifted}</td>" in rendered_dom(page, "status=drifted")
