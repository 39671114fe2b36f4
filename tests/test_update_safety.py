"""What an update may touch, and how it survives kills and company: each file it
writes is renamed into place (old or new, never cut short), a failed update undoes
only what it wrote, a repo is updated by one run at a time, and nothing is written
outside the repo (docs/update.md)."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Run
from copier import run_copy
from updatekit import PLAIN_COPIER_YML, commit_all, generate, git, make_template, release

from evtgen.placing import write_atomic


def test_every_file_an_update_writes_is_renamed_into_place_keeping_its_mode(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(tmp_path / "tpl", {"README.md": "one\n", "run.sh": "echo 1\n"})
    repo = generate(template, tmp_path / "repo")
    os.chmod(repo / "run.sh", 0o755)
    os.chmod(repo / "README.md", 0o444)  # the team made it read-only
    commit_all(repo, "modes")
    before = {name: (repo / name).stat().st_ino for name in ("README.md", "run.sh")}
    answers_inode = (repo / ".copier-answers.yml").stat().st_ino
    release(template, "v2.0.0", {"README.md": "two\n", "run.sh": "echo 2\n"})

    done = evtgen("update", repo)
    assert done.code == 0, done.stderr
    for name, inode in before.items():
        # a new inode: written beside and renamed, not truncated and rewritten in place
        assert (repo / name).stat().st_ino != inode, name
    assert (repo / ".copier-answers.yml").stat().st_ino != answers_inode
    assert (repo / "README.md").read_text() == "two\n"
    assert stat.S_IMODE((repo / "README.md").stat().st_mode) == 0o444
    assert stat.S_IMODE((repo / "run.sh").stat().st_mode) == 0o755
    assert not [p for p in repo.iterdir() if p.name.endswith(".evtgen")]


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "README.md"
    target.write_text("old\n")

    def killed(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, b"new\n" * 100_000)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]


def test_a_failed_update_in_a_monorepo_undoes_only_what_it_wrote(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    mono = tmp_path / "mono"
    mono.mkdir()
    git(mono, "init", "-q", "-b", "main")
    (mono / "other-team.txt").write_text("theirs\n")
    run_copy(str(template), mono / "svc", vcs_ref="v1.0.0", defaults=True, quiet=True)
    commit_all(mono, "a monorepo")
    # another team's work in progress, outside the service's folder
    (mono / "other-team.txt").write_text("theirs, not committed yet\n")
    (mono / "scratch.txt").write_text("untracked\n")
    release(
        template, "v2.0.0", {"a.txt": "b\n"}, copier_yml=PLAIN_COPIER_YML + "_tasks: ['exit 3']\n"
    )

    failed = evtgen("update", mono / "svc", "--trust")
    assert failed.code == 2, failed.stderr
    assert "exit 3" in failed.stderr, failed.stderr
    assert (mono / "svc" / "a.txt").read_text() == "a\n"  # the update undone
    assert (mono / "other-team.txt").read_text() == "theirs, not committed yet\n"
    assert (mono / "scratch.txt").read_text() == "untracked\n"


def test_a_second_update_of_a_repo_is_refused_naming_the_one_running(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    repo = generate(template, tmp_path / "repo")
    release(template, "v2.0.0", {"a.txt": "b\n"})
    # a run in progress: this test's own process, alive on this host
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": "2026-12-03T13:00"}
    lock = repo / ".git" / "evtgen-update.lock"
    lock.write_text(json.dumps(holder))

    refused = evtgen("update", repo)
    assert refused.code == 2
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert f"pid {os.getpid()} on {socket.gethostname()} since 2026-12-03T13:00" in refused.stderr
    assert (repo / "a.txt").read_text() == "a\n" and lock.is_file()


def test_the_lock_of_a_killed_update_is_taken_over(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    repo = generate(template, tmp_path / "repo")
    release(template, "v2.0.0", {"a.txt": "b\n"})
    killed = subprocess.Popen(["sleep", "60"])
    killed.kill()
    killed.wait()
    holder = {"pid": killed.pid, "host": socket.gethostname(), "started": "2026-12-03T13:00"}
    (repo / ".git" / "evtgen-update.lock").write_text(json.dumps(holder))

    done = evtgen("update", repo)
    assert done.code == 0, done.stderr
    assert (repo / "a.txt").read_text() == "b\n"
    assert not (repo / ".git" / "evtgen-update.lock").exists()


def test_a_branch_update_killed_midway_says_how_to_recover_and_then_succeeds(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    repo = generate(template, tmp_path / "repo")
    release(template, "v2.0.0", {"a.txt": "b\n"})
    # what a kill leaves: on the new branch, the update's writes not committed
    git(repo, "switch", "-q", "-c", "tpl-v2")
    (repo / "a.txt").write_text("b\n")
    (repo / "half.txt").write_text("half\n")

    again = evtgen("update", repo, "--branch", "tpl-v2")
    assert again.code == 2 and again.stderr.count("\n") == 1, again.stderr
    assert "git branch -D tpl-v2" in again.stderr
    git(repo, "checkout", "HEAD", "--", ".")
    git(repo, "clean", "-fd")
    git(repo, "switch", "-q", "main")
    left = evtgen("update", repo, "--branch", "tpl-v2")
    assert left.code == 2 and "git branch -D tpl-v2" in left.stderr, left.stderr
    git(repo, "branch", "-D", "tpl-v2")
    done = evtgen("update", repo, "--branch", "tpl-v2")
    assert done.code == 0, done.stderr
    assert git(repo, "show", "tpl-v2:a.txt") == "b\n"


def test_new_removes_the_staging_folders_of_killed_runs(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    killed = subprocess.Popen(["sleep", "60"])
    killed.kill()
    killed.wait()
    stale = tmp_path / f".orders.evtgen-{killed.pid}-x1y2"
    (stale / "orders").mkdir(parents=True)
    running = tmp_path / f".orders.evtgen-{os.getpid()}-z3"  # a live run's: kept
    running.mkdir()
    done = evtgen("new", "service", "orders", "--defaults", cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert not stale.exists() and running.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == [running.name, "orders"]


def test_update_never_writes_through_a_symlink_the_repo_committed(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    repo = generate(template, tmp_path / "repo")
    (repo / "linkdir").symlink_to(elsewhere)
    commit_all(repo, "a link to elsewhere")
    release(template, "v2.0.0", {"a.txt": "b\n", "linkdir/planted.txt": "x\n"})

    refused = evtgen("update", repo)
    assert refused.code == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "linkdir is a symlink" in refused.stderr
    assert list(elsewhere.iterdir()) == []
    assert (repo / "a.txt").read_text() == "a\n"
    assert git(repo, "status", "--porcelain") == ""


def test_a_hand_typed_model_answer_is_one_line_naming_the_file(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".copier-answers.yml").write_text(
        "_commit: v0.1.0\n_src_path: evtgen:bundled\nbroker: kafka\nmodel: 5\n"
    )
    git(repo, "init", "-q")
    commit_all(repo, "answers")
    for command in ("update", "check"):
        refused = evtgen(command, repo)
        assert refused.code == 2 and refused.stderr.count("\n") == 1, refused.stderr
        assert f"{repo / '.copier-answers.yml'}:4: `model` is the int '5'" in refused.stderr
        assert "git log -p .copier-answers.yml" in refused.stderr
