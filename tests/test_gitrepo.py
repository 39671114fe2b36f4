"""evtgen talks to git through GitPython in one module, `evtgen/gitrepo.py`, on real
repositories: the template store's commits, refs a template does or does not have,
and an `update --branch` that must not reuse a branch."""

from __future__ import annotations

import ast
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Run
from updatekit import (  # noqa: F401  (isolated_evtgen is an autouse fixture)
    edit,
    generate,
    git,
    isolated_evtgen,
    make_template,
    release,
    snapshot,
)

from evtgen import gitrepo
from evtgen.store import publish, store_path

GENERATOR = Path(__file__).resolve().parents[1] / "generator" / "evtgen"


def test_only_gitrepo_runs_git() -> None:
    """Every other module goes through gitrepo: no `["git", ...]` argv, and GitPython
    imported for type hints only."""
    offenders = []
    for path in sorted(GENERATOR.rglob("*.py")):
        if path.name == "gitrepo.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(node)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
            for node in ast.walk(block)
        }
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            imports_git = any(n == "git" or n.startswith(("git.", "gitdb")) for n in names)
            runs_git = (
                isinstance(node, ast.List)
                and bool(node.elts)
                and isinstance(node.elts[0], ast.Constant)
                and node.elts[0].value == "git"
            )
            if runs_git or (imports_git and id(node) not in typing_only):
                offenders.append(f"{path.relative_to(GENERATOR)}:{node.lineno}")
    assert offenders == []


def test_the_store_keeps_the_files_byte_for_byte_with_modes_and_links(tmp_path: Path) -> None:
    template = tmp_path / "tpl"
    (template / "sub" / "__pycache__").mkdir(parents=True)
    (template / "copier.yml").write_text("_subdirectory: project\n")
    (template / "crlf.txt").write_bytes(b"one\r\ntwo\r\n")
    (template / ".gitattributes").write_text("* text=auto\n")  # no filter applies
    (template / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(template / "run.sh", 0o755)
    (template / "sub" / "a.txt").write_text("a\n")
    (template / "sub" / "__pycache__" / "a.pyc").write_bytes(b"\0")
    (template / "sub" / "stale.pyc").write_bytes(b"\0")
    (template / "link").symlink_to("sub")

    tag = publish(template, "1.0.0")
    again = publish(template, "1.0.0")
    (template / "sub" / "a.txt").write_text("a2\n")
    edited = publish(template, "1.0.0")

    assert tag == again == "v1.0.0" and edited.startswith("v1.0.0+")
    store = store_path()
    listing = git(store, "ls-tree", "-r", "--full-tree", tag)
    entries = {line.split("\t")[1]: line.split()[0] for line in listing.splitlines()}
    assert entries == {
        ".gitattributes": "100644",
        "copier.yml": "100644",
        "crlf.txt": "100644",
        "link": "120000",
        "run.sh": "100755",
        "sub/a.txt": "100644",
    }
    blob = subprocess.run(
        ["git", "cat-file", "blob", f"{tag}:crlf.txt"], cwd=store, capture_output=True
    )
    assert blob.stdout == b"one\r\ntwo\r\n"
    assert git(store, "cat-file", "blob", f"{tag}:link") == "sub"
    # each publish a child of the last, main on the newest, author evtgen
    assert git(store, "rev-parse", f"{edited}~1").strip() == git(store, "rev-parse", tag).strip()
    assert git(store, "rev-parse", "main").strip() == git(store, "rev-parse", edited).strip()
    assert git(store, "log", "-1", "--format=%an <%ae>|%s", "main").strip() == (
        f"evtgen <evtgen@localhost>|evtgen bundled template {edited}"
    )
    assert git(store, "fsck", "--strict").strip() == ""
    assert git(store, "symbolic-ref", "HEAD").strip() == "refs/heads/main"


def test_refs_resolve_to_commits_the_repository_has(tmp_path: Path) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    head = git(template, "rev-parse", "HEAD").strip()
    blob = git(template, "rev-parse", "HEAD:project/a.txt").strip()
    git(template, "tag", "-a", "annotated", "-m", "an annotated tag")
    repo = gitrepo.open_repo(template)

    for ref in ("v1.0.0", "annotated", "main", "HEAD", head, head[:10], "refs/tags/v1.0.0"):
        assert gitrepo.commit_of(repo, ref) == head, ref
    # a full id is taken on trust by GitPython's rev_parse: it must exist, and be a commit
    for ref in ("0" * 40, "f" * 40, blob, "v9", "", "--all", "a\nb", "main..v1.0.0"):
        assert gitrepo.commit_of(repo, ref) is None, ref
    assert gitrepo.tag_names(repo) == ["annotated", "v1.0.0"]
    assert gitrepo.describe(repo, head) == "annotated"


def test_to_an_id_the_template_lacks_is_refused(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    repo = generate(template, tmp_path / "repo")
    release(template, "v2.0.0", {"a.txt": "a2\n"})
    before = snapshot(repo)

    done = evtgen("update", repo, "--to", "0" * 40)

    assert done.code == 2
    assert f"has no ref {'0' * 40!r}" in done.stderr and "Traceback" not in done.stderr
    assert snapshot(repo) == before


def test_branch_that_exists_is_refused_and_nothing_changes(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    repo = generate(template, tmp_path / "repo")
    git(repo, "branch", "review")
    release(template, "v2.0.0", {"a.txt": "a2\n"})
    before = snapshot(repo)

    for branch in ("main", "review"):  # the current branch, and another one
        done = evtgen("update", repo, "--branch", branch)
        assert done.code == 2, done.stdout
        line = done.stderr.strip()
        assert f"branch '{branch}' already exists" in line and "\n" not in line
        assert snapshot(repo) == before


def test_a_generated_repo_in_a_monorepo_is_updated_on_a_branch(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    """The service is a folder of a bigger repository: status, add and clean stay in it."""
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    mono = tmp_path / "mono"
    service = generate(template, mono / "services" / "orders")
    (service / ".git").rename(tmp_path / "service-git")  # the folder is mono's, not its own
    git(mono, "init", "-q", "-b", "main")
    (mono / "other.txt").write_text("other\n")
    edit(mono, {}, "the monorepo")
    release(template, "v2.0.0", {"a.txt": "a2\n"})
    (mono / "untracked-elsewhere.txt").write_text("not the service's\n")

    done = evtgen("update", service, "--branch", "template-v2")

    assert done.code == 0, done.stderr
    assert (service / "a.txt").read_text() == "a2\n"
    assert git(mono, "branch", "--show-current").strip() == "template-v2"
    changed = git(mono, "show", "--name-only", "--format=", "HEAD").split()
    assert changed == ["services/orders/.copier-answers.yml", "services/orders/a.txt"]
    assert git(mono, "status", "--porcelain").strip() == "?? untracked-elsewhere.txt"


def test_status_of_a_relative_folder_is_of_that_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GitPython runs git at the top of the work tree: a relative path still means the
    folder it names from the current directory."""
    mono = tmp_path / "mono"
    (mono / "services" / "orders").mkdir(parents=True)
    git(mono, "init", "-q", "-b", "main")
    (mono / "services" / "orders" / "new.txt").write_text("new\n")
    (mono / "services" / "elsewhere.txt").write_text("not in orders\n")
    monkeypatch.chdir(mono / "services")

    repo = gitrepo.open_repo(Path("orders"), search_parent=True)

    assert gitrepo.changed_paths(repo, Path("orders")) == ["services/orders/new.txt"]
    assert gitrepo.work_tree(repo, Path("orders")) == (mono, "services/orders/")
