"""`evtgen template init`: scaffold a template (or an overlay) with its tests ready.

The scaffold lives in `evtgen/data/scaffold/`: `base/` or `overlay/`, plus `common/`
for both. `__NAME__` in file names and contents becomes the template's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from evtgen.errors import UsageError
from evtgen.placing import check_destination, staged

SCAFFOLD = Path(__file__).resolve().parent.parent / "data" / "scaffold"

USAGE = {
    "template": (
        "- Use it: `evtgen new service orders --model orders.yaml --template PATH_OR_GIT_URL`."
    ),
    "overlay": (
        "- Apply it on top of a generated repo: `copier copy PATH_OR_GIT_URL REPO`; it keeps\n"
        "  its own `.copier-answers.__NAME__.yml`, so the repo's base layer is left alone."
    ),
}


@dataclass
class TemplateInitReport:
    path: str
    name: str
    overlay: bool
    files: list[str] = field(default_factory=list)
    git: bool = False  # a git repository was made, with the scaffold committed


def template_name(dest: Path) -> str:
    """The template's name: the destination's folder name, kebab-case."""
    name = re.sub(r"[^a-z0-9]+", "-", dest.name.lower()).strip("-")
    if not name or not name[0].isalpha():
        raise UsageError(
            f"cannot name a template after the folder {dest.name!r}; "
            "use a folder name that starts with a letter, e.g. acme-service-template"
        )
    return name


def template_init(dest: Path, overlay: bool = False) -> TemplateInitReport:
    dest = dest.absolute()
    name = template_name(dest)
    check_destination(dest)
    kind = "overlay" if overlay else "template"
    with staged(dest) as target:
        for source_root in (SCAFFOLD / "common", SCAFFOLD / ("overlay" if overlay else "base")):
            _copy_tree(source_root, target, name, kind)
        if not overlay:
            from evtgen.templates import default_model_text

            (target / "default-model.yml").write_text(default_model_text(), encoding="utf-8")
        made_git = _git_init(target)
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if _listed(p, dest))
    return TemplateInitReport(path=str(dest), name=name, overlay=overlay, files=files, git=made_git)


def _copy_tree(source_root: Path, target: Path, name: str, kind: str) -> None:
    for source in sorted(source_root.rglob("*")):
        if not source.is_file() or "__pycache__" in source.parts:
            continue
        relative = str(source.relative_to(source_root)).replace("__NAME__", name)
        text = source.read_text(encoding="utf-8")
        text = text.replace("__USAGE__", USAGE[kind]).replace("__KIND__", kind)
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text.replace("__NAME__", name), encoding="utf-8")


def _git_init(target: Path) -> bool:
    """Make the scaffold a git repository with one commit, unless it sits in one already
    (a platform team's monorepo keeps its own history)."""
    from evtgen.gitrepo import GitFailed, init_and_commit, inside_work_tree

    if inside_work_tree(target):
        return False
    # every file is evtgen's own, so GitPython's index takes them as they are
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    try:
        init_and_commit(target, "Scaffold the template with evtgen template init", files=files)
    except GitFailed as err:
        raise UsageError(f"git could not commit the new template: {err.detail}") from err
    return True


def _listed(path: Path, root: Path) -> bool:
    return path.is_file() and ".git" not in path.relative_to(root).parts
