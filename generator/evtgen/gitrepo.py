"""evtgen's one way to talk to git: GitPython, imported when a command first needs it.

Every repository the engine reads or writes (the bundled template's store, the
mirrors of template sources, a team's repository, a new template's scaffold) is a
`git.Repo` opened here. The functions return plain data (str, list, bytes) and turn
GitPython's errors into `GitFailed`, a UsageError of one line; callers that know
more (which template, which answers file) catch it and say so.

The object API is used wherever GitPython has one; `repo.git.<command>()`, its
documented command layer, only where it has none, with the reason beside the call.
`import git` costs 50 to 100 ms and a `git version` process, so this module imports
it inside its functions: `evtgen --help` and a `new` that needs no git never pay it.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from evtgen.errors import UsageError

if TYPE_CHECKING:
    from git import Repo

_LOCKLESS = {"GIT_OPTIONAL_LOCKS": "0"}  # reading must not refresh the index (dry runs)


class GitFailed(UsageError):
    """A git operation failed; `detail` is git's own message, on one line."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


class NotARepository(GitFailed):
    """The path is not inside a git repository (or its work tree)."""


def preload() -> None:
    """Import GitPython now: before `--jobs` forks its workers, so they share it."""
    import git  # noqa: F401


def detail(err: BaseException) -> str:
    """git's message in `err` on one line: its stderr for a failed command."""
    from git.exc import CommandError

    text = str(err)
    if isinstance(err, CommandError):
        # GitPython's str() is several lines (cmdline, "stderr: '...'"): keep git's words
        text = err.stderr.strip().removeprefix("stderr:").strip().strip("'") or str(err.status)
    text = " ".join(text.split()) or type(err).__name__
    return text if len(text) <= 300 else text[:297] + "..."


@contextmanager
def _mapped(what: str) -> Iterator[None]:
    """GitPython's errors during `what` as one GitFailed line."""
    from git.exc import GitCommandNotFound, GitError, ODBError

    try:
        yield
    except GitCommandNotFound as err:
        raise GitFailed(f"{what}: git is not installed (or not on PATH)", "git not found") from err
    except (GitError, ODBError, OSError, ValueError) as err:
        raise GitFailed(f"{what} failed: {detail(err)}", detail(err)) from err


def open_repo(path: Path, *, search_parent: bool = False) -> Repo:
    """The repository at `path` (a git directory or a work tree); with `search_parent`,
    the one `path` lies in, as git finds it from a directory inside."""
    from git import Repo
    from git.exc import InvalidGitRepositoryError, NoSuchPathError

    try:
        return Repo(path, search_parent_directories=search_parent)
    except NoSuchPathError as err:
        raise NotARepository(f"{path}: no such directory") from err
    except InvalidGitRepositoryError as err:
        raise NotARepository(f"{path} is not a git repository") from err


def work_tree(repo: Repo, path: Path) -> tuple[Path, str]:
    """The work tree's top, and `path` relative to it ("" or ending in "/"), as
    `git rev-parse --show-toplevel --show-prefix` gives them."""
    if repo.working_tree_dir is None:
        raise NotARepository(f"{path} is in a bare git repository, not a work tree")
    top = Path(repo.working_tree_dir)
    try:
        rel = path.resolve().relative_to(top.resolve()).as_posix()
    except ValueError as err:
        raise NotARepository(f"{path} is not in the work tree of {top}") from err
    return top, "" if rel == "." else rel + "/"


def inside_work_tree(path: Path) -> bool:
    """Whether `path` lies in a git work tree (`git rev-parse --is-inside-work-tree`)."""
    try:
        repo = open_repo(path, search_parent=True)
    except NotARepository:
        return False
    with repo:
        return not repo.bare


# -- refs and objects ---------------------------------------------------------------


def tag_names(repo: Repo) -> list[str]:
    """Every tag's name (`v1.2.0`, `team/v1`), read from the refs, no git process."""
    with _mapped(f"reading the tags of {repo.git_dir}"):
        return [tag.name for tag in repo.tags]


def commit_of(repo: Repo, ref: str) -> str | None:
    """The commit id `ref` names (tag, branch, id or a prefix of one), None if none."""
    from git.exc import ODBError

    if not ref or "\n" in ref or ref.startswith("-"):
        return None
    try:
        commit = repo.rev_parse(f"{ref}^{{commit}}")
        # rev_parse takes a full id on trust: ask the object database whether it is there
        return commit.hexsha if repo.odb.has_object(commit.binsha) else None
    except (ODBError, ValueError, LookupError):
        return None


def describe(repo: Repo, sha: str) -> str:
    """`git describe --tags --always`, what Copier records for a ref that is no tag."""
    with _mapped(f"git describe in {repo.git_dir}"):
        # GitPython has no describe of its own
        return str(repo.git.describe("--tags", "--always", sha)).strip()


def archive(repo: Repo, sha: str) -> bytes:
    """The tree of commit `sha` as a tar archive (git's export: export-ignore applies)."""
    out = io.BytesIO()
    with _mapped(f"exporting commit {sha[:12]} of {repo.git_dir}"):
        repo.archive(out, sha, format="tar")
    return out.getvalue()


def is_shallow(repo: Repo) -> bool:
    """Whether the clone is shallow (`git rev-parse --is-shallow-repository`)."""
    return (Path(repo.common_dir) / "shallow").is_file()


def files_at(repo: Repo, ref: str, folder: str) -> dict[str, bytes]:
    """The files directly in `folder` (relative to the top) at `ref`: path -> content."""
    from git.objects import Tree

    with _mapped(f"reading {folder or '.'} at {ref} in {repo.working_tree_dir or repo.git_dir}"):
        root = repo.rev_parse(f"{ref}^{{commit}}").tree
        try:
            tree = root / folder if folder else root
        except KeyError:
            return {}
        if not isinstance(tree, Tree):
            return {}
        return {str(blob.path): blob.data_stream.read() for blob in tree.blobs}


def remote_tags(url: str) -> list[str] | None:
    """The tag names of the repository at `url` (a path or any git URL), None when it
    cannot be read as one."""
    from git.cmd import Git
    from git.exc import GitError

    try:
        # no Repo to open for a URL: GitPython's command layer runs ls-remote
        out = Git().ls_remote("--tags", "--refs", url)
    except GitError:
        return None
    return [line.rpartition("refs/tags/")[2] for line in str(out).splitlines() if line]


# -- mirrors and the template store -------------------------------------------------


def mirror(url: str, dest: Path) -> None:
    """`dest` a bare mirror of `url`: cloned when missing, else fetched (pruned, forced)."""
    from git import Repo

    if (dest / "HEAD").is_file():
        with _mapped(f"fetching {url}"), Repo(dest) as repo:
            repo.remote("origin").fetch(prune=True, force=True)
        return
    with _mapped(f"cloning {url}"):
        Repo.clone_from(url, dest, mirror=True).close()


def init_bare(path: Path) -> None:
    from git import Repo

    with _mapped(f"creating a git repository in {path}"):
        Repo.init(path, bare=True, mkdir=True, initial_branch="main").close()


def commit_directory(
    repo: Repo, root: Path, files: list[Path], message: str, refs: list[str]
) -> str:
    """Commit `files` (under `root`) as they are on disk, byte for byte, on top of what
    `refs[-1]` points to; point every ref in `refs` at the new commit; return its id.

    Written with GitPython's object database and index, never a work tree: `root` may
    be read-only (an installed package) and is no repository."""
    from git import Actor, Commit, IndexFile
    from git.index.typ import BaseIndexEntry
    from git.refs import Reference
    from gitdb import LooseObjectDB  # type: ignore[import-untyped]  # GitPython's, untyped
    from gitdb.base import IStream  # type: ignore[import-untyped]

    with _mapped(f"committing {root} into {repo.git_dir}"):
        # the blobs by gitdb's loose-object writer, in Python: the Repo's own database
        # would run a `git hash-object` per file
        objects = LooseObjectDB(os.path.join(repo.common_dir, "objects"))
        entries = []
        for path in files:
            if path.is_symlink():
                data, mode = os.readlink(path).encode(), 0o120000
            else:
                data = path.read_bytes()
                mode = 0o100755 if os.access(path, os.X_OK) else 0o100644
            blob = objects.store(IStream("blob", len(data), io.BytesIO(data)))
            rel = path.relative_to(root).as_posix()
            entries.append(BaseIndexEntry((mode, blob.binsha, 0, rel)))
        with tempfile.TemporaryDirectory(prefix="evtgen-index-") as scratch:
            # an index in memory: its file does not exist and is never written
            index = IndexFile(repo, os.path.join(scratch, "index"))
            index.add(entries, write=False)
            tree = index.write_tree()
        tip = commit_of(repo, refs[-1])
        identity = Actor("evtgen", "evtgen@localhost")
        commit = Commit.create_from_tree(
            repo,
            tree,
            message,
            parent_commits=[repo.commit(tip)] if tip else [],
            head=False,
            author=identity,
            committer=identity,
        )
        for ref in refs:
            # a plain ref write (TagReference.create would run `git tag`)
            Reference.create(repo, ref, commit, force=True)
        return commit.hexsha


# -- a team's repository ------------------------------------------------------------


def _pathspec(path: Path) -> str:
    # GitPython runs git at the work tree's top, not where a relative `path` starts
    return os.path.abspath(path)


def changed_paths(repo: Repo, path: Path) -> list[str]:
    """Every path under `path` git would show as changed (untracked files included),
    relative to the top; reading only, nothing in `.git` changes."""
    with _mapped(f"git status in {path}"):
        # one process: is_dirty() takes three (diff --cached, diff, status) and names
        # no path, and the refusal names the first one
        out = repo.git.status(
            "--porcelain", "--untracked-files=all", "--", _pathspec(path), env=_LOCKLESS
        )
    return [line[3:] for line in str(out).splitlines() if line]


def head_state(repo: Repo) -> tuple[str, bool]:
    """What HEAD is: the branch's name and False, or the commit id and True (detached)."""
    with _mapped(f"reading HEAD in {repo.working_tree_dir}"):
        if repo.head.is_detached:
            return repo.head.commit.hexsha, True
        return repo.active_branch.name, False


def switch_to_new_branch(repo: Repo, name: str) -> None:
    """`git switch -c name`: a branch at HEAD, checked out (the work tree is unchanged)."""
    if name.startswith("-"):
        raise GitFailed(f"{name!r} is not a branch name: give another --branch")
    if name in repo.heads:
        # an earlier run made it (a review not merged yet, or a run killed midway)
        raise GitFailed(
            f"branch {name!r} already exists in {repo.working_tree_dir} (an earlier "
            f"update's?): give another --branch, or delete it with `git branch -D {name}`"
        )
    with _mapped(f"creating branch {name} in {repo.working_tree_dir}"):
        branch = repo.create_head(name)
        repo.head.set_reference(branch, logmsg=f"evtgen update: switch to {name}")


def commit_all(repo: Repo, path: Path, message: str, *, verify: bool = True) -> None:
    """`git add -A -- path` and `git commit`."""
    with _mapped(f"committing in {path}"):
        # GitPython's index.add ignores .gitignore: git's own add applies it
        repo.git.add("-A", "--", _pathspec(path))
        # git's own commit: GitPython's IndexFile reads index versions 1 to 3 only
        # (git writes 4 under feature.manyFiles), and a team's commit must follow its
        # git config (identity, signing) as `git commit` does
        repo.git.commit("-q", *([] if verify else ["--no-verify"]), "-m", message)


def restore(repo: Repo, path: Path, start: str, detached: bool, branch: str | None) -> None:
    """Undo an update: the files under `path` back to HEAD, new files under `path`
    removed, and with `branch`, back on `start` and `branch` deleted. Only `path`: it
    is what the update checked clean and wrote; elsewhere in a monorepo may be others'
    uncommitted work."""
    with _mapped(f"restoring {path}"):
        # `git checkout HEAD -- path`: index and work tree of that path only (GitPython
        # has no path-limited reset, nor a clean of its own)
        repo.git.checkout("HEAD", "--", _pathspec(path))
        repo.git.clean("-q", "-fd", "--", _pathspec(path))
        if branch:
            # HEAD is where `start` is: only the ref changes, as `git switch` would
            target = repo.commit(start) if detached else repo.heads[start]
            repo.head.set_reference(target, logmsg=f"evtgen update: back to {start}")
            repo.delete_head(branch, force=True)


def init_and_commit(path: Path, message: str, *, files: list[str] | None = None) -> None:
    """`git init` (branch main) and one commit of everything under `path`, or only of
    `files` (relative paths evtgen wrote itself)."""
    from git import Repo

    with _mapped(f"making {path} a git repository"), Repo.init(path, initial_branch="main") as repo:
        if files is None:
            commit_all(repo, path, message)
        else:
            repo.index.add(files)
            repo.index.commit(message)


# -- files ---------------------------------------------------------------------------


def merge_file(
    ours: Path, base: Path, theirs: Path, labels: tuple[str, str, str]
) -> tuple[int, bytes]:
    """`git merge-file -p --diff3` of three files: (conflicts, merged bytes).

    No repository is involved and GitPython has no file merge (its merges are of
    trees, through an index), so its command layer runs git's; a conflict count is
    git's exit status here, not a failure."""
    from git.cmd import Git

    status, out, err = Git().execute(
        [
            "git",
            "merge-file",
            "-p",
            "--diff3",
            *("-L", labels[0], "-L", labels[1], "-L", labels[2]),
            str(ours),
            str(base),
            str(theirs),
        ],
        with_extended_output=True,
        with_exceptions=False,
        stdout_as_string=False,
        strip_newline_in_stdout=False,
    )
    if status < 0 or status > 127:
        raise OSError(f"git merge-file failed on {ours}: {' '.join(str(err).split())}")
    return status, out
