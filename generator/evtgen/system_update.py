"""`evtgen update SYSTEM_REPO`: the system evolves as one (docs/system.md).

A path that is a system repository (a `system.yaml`, no `.copier-answers.yml`)
stands for its contexts' repositories beside it. Before they are updated, each
context's `model.yaml` is brought to what the system model now says for it (its
entry, with the events it reads from the other contexts written in) and committed,
so the usual update, a three-way merge, takes each change where it belongs: a
field added to a producer's event reaches its consumers' models as external.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from evtgen.errors import UsageError


def is_system_repo(path: Path) -> bool:
    return (path / "system.yaml").is_file() and not (path / ".copier-answers.yml").exists()


def expand_systems(
    paths: list[Path], *, dry_run: bool, progress: Callable[[str], None] = lambda line: None
) -> list[Path]:
    """The paths with each system repository replaced by its contexts' repos, whose
    model files are first synced from the system model (not on a dry run). No paths:
    the current directory, when it is a system repository."""
    from evtgen.commands.new_system import system_of

    if not paths and is_system_repo(Path.cwd()):
        paths = [Path.cwd()]
    expanded: list[Path] = []
    for path in paths:
        if not is_system_repo(path):
            expanded.append(path)
            continue
        system = system_of(path)
        for context in system.contexts:
            repo = path.parent / context.name
            if not (repo / ".copier-answers.yml").is_file():
                raise UsageError(
                    f"{path / 'system.yaml'}: context {context.name} has no repository at "
                    f"{repo}; create it with `evtgen new service {context.name} --model FILE` "
                    "(its entry of the system model) or remove the context"
                )
            model_file = repo / "model.yaml"
            current = model_file.read_text(encoding="utf-8") if model_file.is_file() else ""
            if current != context.model_text and not dry_run:
                _sync(repo, model_file, context.model_text)
                progress(f"{repo}: model.yaml brought to the system model (committed)")
            expanded.append(repo)
    return expanded


def _sync(repo: Path, model_file: Path, text: str) -> None:
    from evtgen.gitrepo import changed_paths, commit_all, open_repo

    git = open_repo(repo)
    dirty = changed_paths(git, repo)
    if dirty:
        raise UsageError(
            f"{repo} has uncommitted changes ({len(dirty)} path(s), e.g. {dirty[0]}); "
            "commit or stash them before the system's model is brought into it"
        )
    model_file.write_text(text, encoding="utf-8")
    commit_all(git, model_file, "model.yaml: the context's entry of the system model")
