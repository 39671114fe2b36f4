"""`evtgen update` on real git repos: a template with tagged versions, repos made by
plain `copier copy`, the team's edits, and the update run as a user runs it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import Run
from updatekit import (  # noqa: F401  (isolated_evtgen is an autouse fixture)
    edit,
    generate,
    git,
    isolated_evtgen,
    lines,
    make_template,
    release,
    snapshot,
)

TEN = lines(10)


def answers(repo: Path) -> dict[str, object]:
    loaded = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def report_of(done: Run) -> dict[str, object]:
    data = json.loads(done.stdout)
    assert isinstance(data, dict)
    [repo] = data["repos"]
    assert isinstance(repo, dict)
    return repo


def test_template_change_and_user_edits_merge_and_user_files_stay(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": TEN, "b.txt": "bee\n", "c.txt": "sea\n"})
    repo = generate(template, tmp_path / "repo")
    edit(
        repo,
        {
            "a.txt": TEN.replace("line 2\n", "line 2 (ours)\n"),
            "mine.txt": "my own file\n",
            "b.txt": None,  # the team deleted it
        },
    )
    release(
        template,
        "v1.1.0",
        {
            "a.txt": TEN.replace("line 9\n", "line 9 (v1.1)\n"),
            "b.txt": "bee v1.1\n",
            "new.txt": "new in v1.1\n",
        },
    )

    done = evtgen("update", repo, "--json")

    assert done.code == 0, done.stderr
    r = report_of(done)
    assert r["status"] == "updated"
    assert (r["from_version"], r["to_version"]) == ("v1.0.0", "v1.1.0")
    assert (repo / "a.txt").read_text() == TEN.replace("line 2\n", "line 2 (ours)\n").replace(
        "line 9\n", "line 9 (v1.1)\n"
    )
    assert (repo / "new.txt").read_text() == "new in v1.1\n"
    assert not (repo / "b.txt").exists()
    assert r["kept_deleted"] == ["b.txt"]
    assert (repo / "mine.txt").read_text() == "my own file\n"
    assert r["changed"] == ["a.txt"] and r["added"] == ["new.txt"]
    assert answers(repo)["_commit"] == "v1.1.0"
    # in place, nothing committed: the team reviews with git diff
    assert git(repo, "log", "--format=%s") == "edit\ngenerated\n"
    assert "a.txt" in git(repo, "status", "--porcelain")


def test_same_lines_changed_on_both_sides_conflict_with_markers_and_exit_1(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": TEN, "b.txt": TEN})
    repo = generate(template, tmp_path / "repo")
    edit(repo, {"a.txt": TEN.replace("line 5\n", "line 5 ours\n")})
    release(
        template,
        "v2.0.0",
        {"a.txt": TEN.replace("line 5\n", "line 5 theirs\n"), "b.txt": TEN + "line 11\n"},
    )

    done = evtgen("update", repo, "--json")

    assert done.code == 1, done.stderr
    r = report_of(done)
    assert r["status"] == "conflicts"
    assert r["conflicted"] == ["a.txt"]
    text = (repo / "a.txt").read_text()
    assert "<<<<<<< ours\nline 5 ours\n||||||| template v1.0.0\nline 5\n=======\n" in text
    assert "line 5 theirs\n>>>>>>> template v2.0.0\n" in text
    assert (repo / "b.txt").read_text().endswith("line 11\n")
    assert not list(repo.rglob("*.rej")) and not list(repo.rglob("*.orig"))
    text_done = evtgen("update", repo)  # the tree is now dirty: refused, untouched
    assert text_done.code == 2


def test_conflicts_in_text_output_list_every_file(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "x\n", "d/b.txt": "y\n"})
    repo = generate(template, tmp_path / "repo")
    edit(repo, {"a.txt": "x ours\n", "d/b.txt": "y ours\n"})
    release(template, "v2.0.0", {"a.txt": "x new\n", "d/b.txt": "y new\n"})
    done = evtgen("update", repo)
    assert done.code == 1
    assert "conflicted (markers in the file): a.txt" in done.stdout
    assert "conflicted (markers in the file): d/b.txt" in done.stdout


def test_a_renamed_template_file_carries_the_users_edit(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(tmp_path / "tpl", {"config.ini": TEN})
    repo = generate(template, tmp_path / "repo")
    edit(repo, {"config.ini": TEN.replace("line 3\n", "line 3 tuned by us\n")})
    release(
        template,
        "v2.0.0",
        {"conf/settings.ini": TEN.replace("line 10\n", "line 10 v2\n")},
        renames={"config.ini": "conf/settings.ini"},
    )

    done = evtgen("update", repo, "--json")

    assert done.code == 0, done.stderr
    assert not (repo / "config.ini").exists()
    assert (repo / "conf" / "settings.ini").read_text() == TEN.replace(
        "line 3\n", "line 3 tuned by us\n"
    ).replace("line 10\n", "line 10 v2\n")
    assert report_of(done)["renamed"] == {"conf/settings.ini": "config.ini"}


def test_files_the_template_removes(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    template = make_template(
        tmp_path / "tpl", {"old.txt": "old\n", "tuned.txt": "tuned\n", "keep.txt": "k\n"}
    )
    repo = generate(template, tmp_path / "repo")
    edit(repo, {"tuned.txt": "tuned by us\n"})
    release(template, "v2.0.0", {"old.txt": None, "tuned.txt": None})

    done = evtgen("update", repo, "--json")

    assert done.code == 0, done.stderr
    r = report_of(done)
    assert not (repo / "old.txt").exists() and r["removed"] == ["old.txt"]
    assert (repo / "tuned.txt").read_text() == "tuned by us\n" and r["kept"] == ["tuned.txt"]


def test_a_file_the_template_adds_where_the_user_has_one_is_merged(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    repo = generate(template, tmp_path / "repo")
    edit(repo, {"Makefile": "ours:\n\techo ours\n"})
    release(template, "v2.0.0", {"Makefile": "theirs:\n\techo theirs\n"})

    done = evtgen("update", repo, "--json")

    assert done.code == 1
    text = (repo / "Makefile").read_text()
    assert "echo ours" in text and "echo theirs" in text and "<<<<<<< ours" in text


def test_answers_a_new_question_takes_its_default_and_a_changed_default_keeps_the_answer(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    v1 = "_subdirectory: project\ngreeting:\n  type: str\n  default: hello\n"
    template = make_template(
        tmp_path / "tpl", {"hello.txt.jinja": "{{ greeting }}, world\n"}, copier_yml=v1
    )
    repo = generate(template, tmp_path / "repo")
    v2 = v1.replace("default: hello", "default: hi") + "license:\n  type: str\n  default: MIT\n"
    release(template, "v2.0.0", {"LICENSE.jinja": "{{ license }} license\n"}, copier_yml=v2)

    done = evtgen("update", repo)

    assert done.code == 0, done.stderr
    recorded = answers(repo)
    assert recorded["greeting"] == "hello"  # what the repo was made with
    assert recorded["license"] == "MIT"
    assert (repo / "hello.txt").read_text() == "hello, world\n"
    assert (repo / "LICENSE").read_text() == "MIT license\n"


def test_skip_if_exists_files_stay_as_the_team_has_them(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    conf = "_subdirectory: project\n_skip_if_exists: [CHANGELOG.md]\n"
    template = make_template(tmp_path / "tpl", {"CHANGELOG.md": "# Changes\n"}, copier_yml=conf)
    repo = generate(template, tmp_path / "repo")
    edit(repo, {"CHANGELOG.md": "# Our changes\n- 1.0\n"})
    release(template, "v2.0.0", {"CHANGELOG.md": "# Changelog\n"})
    assert evtgen("update", repo).code == 0
    assert (repo / "CHANGELOG.md").read_text() == "# Our changes\n- 1.0\n"


def test_up_to_date_repo_changes_nothing(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    repo = generate(template, tmp_path / "repo")
    before = snapshot(repo)
    done = evtgen("update", repo, "--json")
    assert done.code == 0 and report_of(done)["status"] == "up-to-date"
    assert snapshot(repo) == before


def test_to_picks_a_version(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "1\n"})
    repo = generate(template, tmp_path / "repo")
    release(template, "v1.1.0", {"a.txt": "1.1\n"})
    release(template, "v2.0.0", {"a.txt": "2\n"})
    assert evtgen("update", repo, "--to", "v1.1.0").code == 0
    assert (repo / "a.txt").read_text() == "1.1\n"
    assert answers(repo)["_commit"] == "v1.1.0"
    unknown = evtgen("update", tmp_path / "repo", "--to", "v9")
    assert unknown.code == 2


def test_dry_run_shows_the_merge_and_changes_nothing_not_even_git_state(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": TEN, "gone.txt": "g\n"})
    repo = generate(template, tmp_path / "repo")
    edit(repo, {"a.txt": TEN.replace("line 1\n", "line 1 ours\n")})
    release(
        template,
        "v2.0.0",
        {"a.txt": TEN.replace("line 8\n", "line 8 v2\n"), "gone.txt": None, "added.txt": "new\n"},
    )
    before = snapshot(repo)

    done = evtgen("update", repo, "--dry-run")

    assert done.code == 0, done.stderr
    assert snapshot(repo) == before  # the working tree and .git, byte for byte
    assert "-line 8\n+line 8 v2\n" in done.stdout
    assert "+++ b/added.txt" in done.stdout and "--- a/gone.txt" in done.stdout
    assert "-_commit: v1.0.0\n+_commit: v2.0.0\n" in done.stdout
    assert "line 1 ours" not in done.stdout.replace(" line 1 ours", "")  # context only
    assert "dry run" in done.stdout


def test_a_dirty_tree_is_refused(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    repo = generate(template, tmp_path / "repo")
    release(template, "v2.0.0", {"a.txt": "b\n"})
    (repo / "untracked.txt").write_text("not committed\n")
    done = evtgen("update", repo)
    assert done.code == 2
    assert "uncommitted changes" in done.stderr and "untracked.txt" in done.stderr
    assert (repo / "a.txt").read_text() == "a\n"
    (repo / "untracked.txt").unlink()
    (repo / "a.txt").write_text("edited, not committed\n")
    assert evtgen("update", repo).code == 2


def test_not_a_repo_and_not_generated_are_refused(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    from copier import run_copy

    run_copy(str(template), tmp_path / "nogit", defaults=True, quiet=True)
    done = evtgen("update", tmp_path / "nogit")
    assert done.code == 2 and "is not a git repository" in done.stderr
    plain = tmp_path / "plain"
    plain.mkdir()
    git(plain, "init", "-q")
    done = evtgen("update", plain)
    assert done.code == 2 and "not a generated repository" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_template_that_was_not_in_git_is_refused_saying_how_to_fix(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    from copier import run_copy

    template = tmp_path / "tpl"
    (template / "project").mkdir(parents=True)
    (template / "copier.yml").write_text("_subdirectory: project\n")
    (template / "project" / "{{ _copier_conf.answers_file }}.jinja").write_text(
        "{{ _copier_answers|to_nice_yaml }}"
    )
    repo = tmp_path / "repo"
    run_copy(str(template), repo, defaults=True, quiet=True)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    done = evtgen("update", repo)
    assert done.code == 2
    assert "records no _commit" in done.stderr and "tag the version" in done.stderr


def test_template_tasks_run_only_with_trust_and_only_once(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    log = tmp_path / "task.log"
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    repo = generate(template, tmp_path / "repo")
    with_tasks = (
        "_subdirectory: project\n"
        f"_tasks:\n  - echo task >> {log}\n"
        f"_migrations:\n  - version: v2.0.0\n    command: echo migration >> {log}\n"
    )
    release(template, "v2.0.0", {"a.txt": "b\n"}, copier_yml=with_tasks)

    refused = evtgen("update", repo)
    assert refused.code == 2
    assert f"migrations ('echo migration >> {log}'), tasks ('echo task >> {log}')" in refused.stderr
    assert "--trust" in refused.stderr
    assert not log.exists() and (repo / "a.txt").read_text() == "a\n"

    trusted = evtgen("update", repo, "--trust")
    assert trusted.code == 0, trusted.stderr
    assert (repo / "a.txt").read_text() == "b\n"
    # once each, in the repo: never in evtgen's temporary renders
    assert log.read_text() == "migration\ntask\n"


def test_a_trusted_update_to_head_runs_the_tasks_of_the_newest_commit(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    # `template test` updates to HEAD with --trust; Copier, given `HEAD` of a local
    # source, asks `git status` for uncommitted changes, which evtgen's bare mirror refuses
    log = tmp_path / "task.log"
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    repo = generate(template, tmp_path / "repo")
    (template / "copier.yml").write_text(
        f"_subdirectory: project\n_tasks:\n  - echo task >> {log}\n"
    )
    (template / "project" / "a.txt").write_text("b\n")
    git(template, "commit", "-qam", "after v1.0.0, not released")

    done = evtgen("update", repo, "--to", "HEAD", "--trust")
    assert done.code == 0, done.stderr
    assert (repo / "a.txt").read_text() == "b\n"
    assert log.read_text() == "task\n"


def test_a_source_trusted_by_the_config_runs_its_tasks_without_the_flag(
    evtgen: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "task.log"
    template = make_template(tmp_path / "templates" / "tpl", {"a.txt": "a\n"})
    repo = generate(template, tmp_path / "repo")
    release(
        template,
        "v2.0.0",
        {"a.txt": "b\n"},
        copier_yml=f"_subdirectory: project\n_tasks:\n  - echo task >> {log}\n",
    )
    config = tmp_path / "config.yml"
    config.write_text(f"trusted:\n  - {tmp_path / 'templates'}/\n")
    monkeypatch.setenv("EVTGEN_CONFIG", str(config))
    done = evtgen("update", repo)
    assert done.code == 0, done.stderr
    assert log.read_text() == "task\n" and (repo / "a.txt").read_text() == "b\n"


def test_branch_makes_exactly_one_commit(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n", "b.txt": "b\n"})
    repo = generate(template, tmp_path / "repo")
    edit(repo, {"b.txt": "b ours\n"})
    head = git(repo, "rev-parse", "HEAD").strip()
    release(template, "v2.0.0", {"a.txt": "a2\n", "b.txt": "b theirs\n"})

    done = evtgen("update", repo, "--branch", "template-v2")

    assert done.code == 1  # b.txt conflicts: committed with its markers, listed
    assert git(repo, "branch", "--show-current").strip() == "template-v2"
    assert git(repo, "rev-list", f"{head}..HEAD").count("\n") == 1
    assert git(repo, "status", "--porcelain") == ""
    message = git(repo, "log", "-1", "--format=%B")
    assert "from v1.0.0 to v2.0.0" in message and "- b.txt" in message
    assert git(repo, "rev-parse", "main").strip() == head


def test_a_fleet_with_one_broken_repo_updates_the_others_and_exits_3(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": TEN})
    repos = [generate(template, tmp_path / f"repo{i}") for i in range(3)]
    release(template, "v2.0.0", {"a.txt": TEN + "line 11\n"})
    (repos[1] / "a.txt").write_text("dirty\n")

    done = evtgen("update", *repos, "--jobs", "2", "--json")

    assert done.code == 3, done.stderr
    report = json.loads(done.stdout)["repos"]
    assert [r["status"] for r in report] == ["updated", "failed", "updated"]
    assert "uncommitted changes" in report[1]["reason"]
    assert (repos[0] / "a.txt").read_text().endswith("line 11\n")
    assert (repos[2] / "a.txt").read_text().endswith("line 11\n")
    assert (repos[1] / "a.txt").read_text() == "dirty\n"
    assert done.stderr.count("evtgen: [") == 3  # progress, one line per repo


def test_json_report_shape_and_few_git_calls(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    template = make_template(tmp_path / "tpl", {f"f{i}.txt": TEN for i in range(30)})
    repo = generate(template, tmp_path / "repo")
    edit(repo, {"f0.txt": TEN.replace("line 1\n", "ours\n")})
    release(template, "v2.0.0", {f"f{i}.txt": TEN + "more\n" for i in range(30)})

    done = evtgen("update", repo, "--json")

    r = report_of(done)
    assert set(r) >= {
        "path",
        "status",
        "from_version",
        "to_version",
        "changed",
        "added",
        "removed",
        "conflicted",
        "kept_deleted",
        "reason",
    }
    assert r["path"] == str(repo) and len(r["changed"]) == 30
    # git status, and one merge for the one file changed on both sides; not one per file
    assert r["git_calls"] == 2


def test_a_template_in_a_bare_repository(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    work = make_template(tmp_path / "work", {"a.txt": TEN})
    bare = tmp_path / "tpl.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    repo = generate(bare, tmp_path / "repo")
    edit(repo, {"a.txt": TEN.replace("line 1\n", "ours\n")})
    release(work, "v1.1.0", {"a.txt": TEN.replace("line 9\n", "v1.1\n")})
    git(work, "push", "-q", str(bare), "main", "--tags")

    done = evtgen("update", repo)

    assert done.code == 0, done.stderr
    assert (repo / "a.txt").read_text() == TEN.replace("line 1\n", "ours\n").replace(
        "line 9\n", "v1.1\n"
    )
    assert answers(repo)["_src_path"] == str(bare)


def test_a_fleet_in_text_ends_with_a_table(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    repos = [generate(template, tmp_path / f"repo{i}") for i in range(2)]
    edit(repos[1], {"a.txt": "a ours\n"})
    release(template, "v2.0.0", {"a.txt": "a v2\n"})
    done = evtgen("update", *repos)
    assert done.code == 1
    table = done.stdout.splitlines()[-3:]
    assert table[0].split() == ["status", "from", "to", "conflicts", "repository"]
    assert table[1].split() == ["updated", "v1.0.0", "v2.0.0", "0", str(repos[0])]
    assert table[2].split() == ["conflicts", "v1.0.0", "v2.0.0", "1", str(repos[1])]


def test_binary_files_are_never_merged_as_text(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    (template / "project" / "logo.png").write_bytes(b"\x89PNG\0v1")
    (template / "project" / "icon.png").write_bytes(b"\x89PNG\0icon v1")
    release(template, "v1.0.1")
    repo = generate(template, tmp_path / "repo", ref="v1.0.1")
    (repo / "logo.png").write_bytes(b"\x89PNG\0ours")
    edit(repo, {})
    (template / "project" / "logo.png").write_bytes(b"\x89PNG\0v2")
    (template / "project" / "icon.png").write_bytes(b"\x89PNG\0icon v2")
    release(template, "v2.0.0")

    done = evtgen("update", repo, "--json")

    assert done.code == 1
    r = report_of(done)
    assert r["conflicted"] == ["logo.png"] and "kept yours" in r["notes"]["logo.png"]
    assert (repo / "logo.png").read_bytes() == b"\x89PNG\0ours"
    assert (repo / "icon.png").read_bytes() == b"\x89PNG\0icon v2"


def test_symbolic_links_stay_links(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    conf = "_subdirectory: project\n_preserve_symlinks: true\n"
    template = make_template(tmp_path / "tpl", {"README.md": "r\n", "NEWS.md": "n\n"}, conf)
    (template / "project" / "docs").mkdir()
    (template / "project" / "docs" / "index.md").symlink_to("../README.md")
    release(template, "v1.0.1")
    repo = generate(template, tmp_path / "repo", ref="v1.0.1")
    assert (repo / "docs" / "index.md").is_symlink()
    (template / "project" / "docs" / "index.md").unlink()
    (template / "project" / "docs" / "index.md").symlink_to("../NEWS.md")
    (template / "project" / "docs" / "news.md").symlink_to("../NEWS.md")
    release(template, "v2.0.0")

    done = evtgen("update", repo)

    assert done.code == 0, done.stdout + done.stderr
    for name in ("index.md", "news.md"):
        link = repo / "docs" / name
        assert link.is_symlink() and str(link.readlink()) == "../NEWS.md"
