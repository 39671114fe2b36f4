"""What an update may touch, and how it survives kills and company: each file it
writes is renamed into place (old or new, never cut short), a failed update undoes
only what it wrote, a repo is updated by one run at a time, and nothing is written
outside the repo (docs/update.md)."""

from __future__ import annotations

import os
import stat
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
