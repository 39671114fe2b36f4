"""`evtgen check` as CI runs it: behind the newest release, or managed files drifted."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from conftest import Run
from updatekit import edit, generate, isolated_evtgen, make_template, release  # noqa: F401

CONF = "_subdirectory: project\n_skip_if_exists: [NOTES.md]\n"


def checked(done: Run) -> list[dict[str, object]]:
    repos = json.loads(done.stdout)["repos"]
    assert isinstance(repos, list)
    return repos


def test_a_fresh_repo_is_up_to_date(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n", "NOTES.md": "n\n"}, CONF)
    repo = generate(template, tmp_path / "repo")
    done = evtgen("check", repo)
    assert done.code == 0, done.stdout + done.stderr
    assert "up-to-date" in done.stdout


def test_drift_lists_missing_and_changed_files_not_skip_if_exists_or_own_files(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(
        tmp_path / "tpl", {"a.txt": "a\n", "b.txt": "b\n", "NOTES.md": "n\n"}, CONF
    )
    repo = generate(template, tmp_path / "repo")
    edit(repo, {"a.txt": "a edited\n", "b.txt": None, "NOTES.md": "ours\n", "own.txt": "x\n"})

    done = evtgen("check", repo, "--json")

    assert done.code == 1
    [r] = checked(done)
    assert r["status"] == "drifted" and r["behind"] is False
    assert r["changed"] == ["a.txt"] and r["missing"] == ["b.txt"]
    text = evtgen("check", repo)
    assert "changed: a.txt" in text.stdout and "missing: b.txt" in text.stdout


def test_behind_the_newest_release(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    repo = generate(template, tmp_path / "repo")
    release(template, "v1.1.0", {"new.txt": "new\n"})
    release(template, "v1.2.0rc1", {"rc.txt": "not a release\n"})

    done = evtgen("check", repo, "--json")

    assert done.code == 1
    [r] = checked(done)
    assert (r["status"], r["version"], r["newest"]) == ("behind", "v1.0.0", "v1.1.0")
    assert r["added_upstream"] == ["new.txt"]
    assert evtgen("update", repo).code == 0
    assert evtgen("check", repo).code == 0


def test_a_fleet_reports_each_repo_and_exits_3_when_one_fails(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    good = generate(template, tmp_path / "good")
    stray = tmp_path / "stray"
    stray.mkdir()
    done = evtgen("check", good, stray, "--json")
    assert done.code == 3
    statuses = [r["status"] for r in checked(done)]
    assert statuses == ["up-to-date", "failed"]
    single = evtgen("check", stray)
    assert single.code == 2 and "not a generated repository" in single.stderr
