"""Build template git repos with tagged versions, and repos generated from them, in a
line or two (for the update and check tests)."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

PLAIN_COPIER_YML = """\
_subdirectory: project
_answers_file: .copier-answers.yml
name:
  type: str
  default: demo
"""
ANSWERS_JINJA = "{{ _copier_answers|to_nice_yaml -}}\n"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def write_files(root: Path, files: dict[str, str | None]) -> None:
    """Write (or, for None, delete) files under `root`; text is dedented."""
    for rel, text in files.items():
        path = root / rel
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def make_template(
    path: Path,
    files: dict[str, str | None],
    copier_yml: str = PLAIN_COPIER_YML,
    tag: str = "v1.0.0",
) -> Path:
    """A Copier template in git: `copier.yml` and `project/FILES`, tagged `tag`."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "copier.yml").write_text(copier_yml, encoding="utf-8")
    write_files(path / "project", {"{{ _copier_conf.answers_file }}.jinja": ANSWERS_JINJA})
    return release(path, tag, files)


def release(
    template: Path,
    tag: str,
    files: dict[str, str | None] | None = None,
    copier_yml: str | None = None,
    renames: dict[str, str] | None = None,
) -> Path:
    """Change the template's project files (None deletes), commit, and tag `tag`."""
    if copier_yml is not None:
        (template / "copier.yml").write_text(copier_yml, encoding="utf-8")
    for old, new in (renames or {}).items():
        (template / "project" / new).parent.mkdir(parents=True, exist_ok=True)
        (template / "project" / old).rename(template / "project" / new)
    write_files(template / "project", files or {})
    git(template, "add", "-A")
    git(template, "commit", "-q", "--allow-empty", "-m", tag)
    git(template, "tag", tag)
    return template


def generate(
    template: Path, dest: Path, ref: str = "v1.0.0", data: dict[str, Any] | None = None
) -> Path:
    """`copier copy` at `ref` (plain Copier, not evtgen), then git init and commit."""
    from copier import run_copy

    run_copy(str(template), dest, data=data or {}, vcs_ref=ref, defaults=True, quiet=True)
    git(dest, "init", "-q", "-b", "main")
    commit_all(dest, "generated")
    return dest


def commit_all(repo: Path, message: str = "edit") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)


def edit(repo: Path, files: dict[str, str | None], message: str = "edit") -> None:
    """Write the user's edits and commit them."""
    write_files(repo, files)
    commit_all(repo, message)


def lines(n: int, prefix: str = "line") -> str:
    return "".join(f"{prefix} {i}\n" for i in range(1, n + 1))


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root`, .git included, for byte-for-byte comparisons."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture(autouse=True)
def isolated_evtgen(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test gets its own template store; the cache (content-addressed) is shared."""
    monkeypatch.setenv("EVTGEN_DATA_DIR", str(tmp_path / "evtgen-data"))
    monkeypatch.setenv("EVTGEN_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "evtgen-cache"))
