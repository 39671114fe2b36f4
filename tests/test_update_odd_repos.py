"""`evtgen update` and `check` on repos as teams really have them: answers edited by
hand (badly), a detached HEAD, a submodule, CRLF line endings, a read-only file.
Each either works or is refused with one clear line; nothing is lost either way."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Run
from updatekit import (  # noqa: F401  (isolated_evtgen is an autouse fixture)
    PLAIN_COPIER_YML,
    commit_all,
    edit,
    generate,
    git,
    isolated_evtgen,
    make_template,
    release,
    snapshot,
)

ANSWERS = ".copier-answers.yml"


def outdated_repo(tmp_path: Path) -> tuple[Path, Path]:
    """A repo made at v1.0.0 of a template that has since released v2.0.0."""
    template = make_template(tmp_path / "tpl", {"a.txt": "a\nb\nc\n", "keep.txt": "k\n"})
    repo = generate(template, tmp_path / "repo")
    release(template, "v2.0.0", {"a.txt": "a\nb\nc\nd from v2\n"})
    return template, repo


def hand_edit_answers(repo: Path, change: Callable[[str], str]) -> None:
    path = repo / ANSWERS
    path.write_text(change(path.read_text()))
    commit_all(repo, "hand-edited the answers")


def refused(done: Run) -> str:
    """The one line a refusal prints (exit 2, no traceback, nothing on stdout)."""
    assert done.code == 2, (done.code, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    return line


@pytest.mark.parametrize("command", ["check", "update"])
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t: t.replace("_commit: v1.0.0\n", ""), "records no _commit"),
        (
            lambda t: t.replace("_src_path:", "_src_path: /no/such/template\n_was:"),
            "/no/such/template",
        ),
        (lambda t: t.replace("_commit: v1.0.0", "_commit: [v1.0.0"), f"{ANSWERS}:2:"),
        (lambda t: "- just\n- a list\n", "is not a mapping"),
        (lambda t: t.replace("_commit: v1.0.0", "_commit: v0.0.9"), "has no version 'v0.0.9'"),
        (lambda t: t.replace("_commit: v1.0.0", "_commit: 1.10"), "_commit is the float 1.1"),
    ],
    ids=["no-commit", "unknown-src-path", "yaml-error", "a-list", "unknown-commit", "a-number"],
)
def test_badly_hand_edited_answers_are_refused_in_one_line(
    evtgen: Callable[..., Run],
    tmp_path: Path,
    command: str,
    change: Callable[[str], str],
    expected: str,
) -> None:
    _, repo = outdated_repo(tmp_path)
    hand_edit_answers(repo, change)
    before = snapshot(repo)
    line = refused(evtgen(command, repo))
    assert expected in line and ANSWERS in line
    assert snapshot(repo) == before


def test_a_detached_head_is_updated_in_place_and_branch_starts_from_it(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    _, repo = outdated_repo(tmp_path)
    edit(repo, {"keep.txt": "k edited\n"})
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "--detach")
    assert evtgen("check", repo).code == 1
    done = evtgen("update", repo, "--branch", "template-v2")
    assert done.code == 0, done.stderr
    assert git(repo, "branch", "--show-current").strip() == "template-v2"
    assert git(repo, "rev-parse", "HEAD~1").strip() == head
    assert (repo / "a.txt").read_text().endswith("d from v2\n")
    assert (repo / "keep.txt").read_text() == "k edited\n"


def test_a_failed_update_from_a_detached_head_returns_to_it(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    repo = generate(template, tmp_path / "repo")
    failing_task = PLAIN_COPIER_YML + "_tasks:\n  - 'false'\n"
    release(template, "v2.0.0", {"a.txt": "a2\n"}, copier_yml=failing_task)
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "--detach")
    done = evtgen("update", repo, "--trust", "--branch", "template-v2")
    line = refused(done)
    assert "after code failed" in line  # the real reason, not the undo's
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert git(repo, "branch", "--show-current").strip() == ""  # detached, as it was
    assert "template-v2" not in git(repo, "branch")
    assert git(repo, "status", "--porcelain") == "" and (repo / "a.txt").read_text() == "a\n"


def test_a_submodule_is_left_alone(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    _, repo = outdated_repo(tmp_path)
    library = tmp_path / "lib"
    library.mkdir()
    git(library, "init", "-q", "-b", "main")
    (library / "lib.txt").write_text("library\n")
    commit_all(library, "lib")
    git(
        repo,
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        str(library),
        "vendor/lib",
    )
    commit_all(repo, "add a submodule")
    done = evtgen("update", repo)
    assert done.code == 0, done.stderr
    assert (repo / "vendor" / "lib" / "lib.txt").read_text() == "library\n"
    assert (repo / "a.txt").read_text().endswith("d from v2\n")
    assert "vendor/lib" not in git(repo, "status", "--porcelain")


def test_crlf_files_merge_without_conflicting_every_line(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    _, repo = outdated_repo(tmp_path)
    # a Windows checkout: every line ends in CRLF, and the team edited a line
    (repo / "a.txt").write_bytes(b"a edited\r\nb\r\nc\r\n")
    commit_all(repo, "edited on Windows")
    done = evtgen("update", repo)
    assert done.code == 0, done.stdout + done.stderr
    assert (repo / "a.txt").read_bytes() == b"a edited\r\nb\r\nc\r\nd from v2\r\n"


def test_a_read_only_file_is_updated_and_stays_read_only(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    _, repo = outdated_repo(tmp_path)
    (repo / "a.txt").chmod(0o444)
    done = evtgen("update", repo)
    assert done.code == 0, done.stderr
    assert (repo / "a.txt").read_text().endswith("d from v2\n")
    assert stat.S_IMODE((repo / "a.txt").stat().st_mode) == 0o444


def test_a_crlf_checkout_of_an_up_to_date_repo_has_not_drifted(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\nb\n", "bin.dat": "x\0y\n"})
    repo = generate(template, tmp_path / "repo")
    (repo / "a.txt").write_bytes(b"a\r\nb\r\n")
    commit_all(repo, "a Windows checkout")
    done = evtgen("check", repo)
    assert done.code == 0, done.stdout
    (repo / "a.txt").write_bytes(b"a\r\nB\r\n")
    (repo / "bin.dat").write_bytes(b"x\0y\r\n")  # binary: every byte counts
    commit_all(repo, "a real edit")
    done = evtgen("check", repo)
    assert done.code == 1 and "a.txt" in done.stdout and "bin.dat" in done.stdout


def test_a_relative_src_path_is_read_from_the_repo_too(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    _, repo = outdated_repo(tmp_path)  # tmp_path/tpl and tmp_path/repo
    hand_edit_answers(repo, lambda t: t.replace(f"_src_path: {tmp_path}/tpl", "_src_path: ../tpl"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = evtgen("check", repo, cwd=elsewhere)
    assert done.code == 1 and "behind" in done.stdout, done.stderr
    hand_edit_answers(repo, lambda t: t.replace("../tpl", "../moved-away"))
    line = refused(evtgen("check", repo, cwd=elsewhere))
    assert "a relative path is read from the current directory or the repo's" in line


def test_writing_over_a_read_only_file_as_a_non_root_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tests run as root here, whom no file refuses; this emulates what any other
    user meets (opening a file without its write bit for writing fails): the write
    never opens the old file, it renames a new one over it, and the mode is kept."""
    from evtgen.placing import write_atomic

    target = tmp_path / "a.txt"
    target.write_text("old\n")
    target.chmod(0o444)
    real_open = os.open

    def as_a_user(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if os.fspath(path) == str(target) and flags & (os.O_WRONLY | os.O_RDWR):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", as_a_user)
    write_atomic(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o444


def test_a_new_template_file_where_the_team_has_a_directory_or_a_file_is_a_conflict(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    repo = generate(template, tmp_path / "repo")
    edit(repo, {"notes/mine.md": "mine\n", "b.txt": "b\n"})
    release(template, "v2.0.0", {"notes": "a file now\n", "b.txt/inner": "x\n", "c.txt": "c\n"})
    done = evtgen("update", repo)
    assert done.code == 1, done.stderr
    assert "conflicted (markers in the file): notes (the template adds a file where you" in (
        done.stdout
    )
    assert "b.txt/inner (the template adds it in a directory b.txt where you have a file" in (
        done.stdout
    )
    assert (repo / "notes" / "mine.md").read_text() == "mine\n"
    assert (repo / "b.txt").read_text() == "b\n"
    assert (repo / "c.txt").read_text() == "c\n"  # the rest of the update went through
