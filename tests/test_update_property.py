"""Property: whatever the team edited and whatever the template changed, after `update`
every line the team wrote is still in its file (merged, or inside a conflict block),
and no file outside the template's reach is touched. Real git repos, random edits.

EVTGEN_UPDATE_EXAMPLES sets how many cases run (default 60).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from updatekit import commit_all, generate, git, isolated_evtgen, make_template  # noqa: F401

from evtgen.commands.update import UpdateOptions, update_repos

FILES = [f"f{i}.txt" for i in range(4)]
LINES = 8
EXAMPLES = int(os.environ.get("EVTGEN_UPDATE_EXAMPLES", "60"))


def original(name: str) -> list[str]:
    return [f"{name} line {j}\n" for j in range(LINES)]


@dataclass(frozen=True)
class Edit:
    file: int
    kind: str  # replace | insert | delete
    line: int


edits = st.builds(
    Edit,
    file=st.integers(0, len(FILES) - 1),
    kind=st.sampled_from(["replace", "insert", "delete"]),
    line=st.integers(0, LINES - 1),
)


@dataclass(frozen=True)
class TemplateChange:
    edits: tuple[Edit, ...]
    removed: frozenset[int]
    renamed: frozenset[int]  # moved to moved/<name>
    added: int  # how many new files


template_changes = st.builds(
    TemplateChange,
    edits=st.lists(edits, max_size=6).map(tuple),
    removed=st.frozensets(st.integers(0, len(FILES) - 1), max_size=1),
    renamed=st.frozensets(st.integers(0, len(FILES) - 1), max_size=2),
    added=st.integers(0, 2),
)


@dataclass(frozen=True)
class UserChange:
    edits: tuple[Edit, ...]
    deleted: frozenset[int]
    own_files: int


user_changes = st.builds(
    UserChange,
    edits=st.lists(edits, max_size=6).map(tuple),
    deleted=st.frozensets(st.integers(0, len(FILES) - 1), max_size=1),
    own_files=st.integers(0, 2),
)


def apply(content: list[str], edit: Edit, text: str) -> list[str]:
    at = min(edit.line, len(content))
    if edit.kind == "replace" and at < len(content):
        return [*content[:at], text, *content[at + 1 :]]
    if edit.kind == "delete" and at < len(content):
        return [*content[:at], *content[at + 1 :]]
    return [*content[:at], text, *content[at:]]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The template at v1.0.0 and a repo made from it by plain Copier."""
    root = tmp_path_factory.mktemp("property")
    template = make_template(root / "tpl", {f: "".join(original(f)) for f in FILES})
    return template, generate(template, root / "repo")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(theirs=template_changes, ours=user_changes)
def test_no_user_edit_is_lost(
    generated: tuple[Path, Path], theirs: TemplateChange, ours: UserChange
) -> None:
    template, made = generated
    # the template's v2.0.0: its random change on top of v1.0.0
    git(template, "checkout", "-q", "-B", "main", "v1.0.0")
    git(template, "tag", "-d", "v2.0.0") if "v2.0.0" in git(template, "tag") else None
    contents = {i: original(f) for i, f in enumerate(FILES)}
    for n, e in enumerate(theirs.edits):
        contents[e.file] = apply(contents[e.file], e, f"template change {n}\n")
    project = template / "project"
    for i, name in enumerate(FILES):
        (project / name).write_text("".join(contents[i]))
        if i in theirs.removed:
            (project / name).unlink()
        elif i in theirs.renamed:
            (project / "moved").mkdir(exist_ok=True)
            (project / name).rename(project / "moved" / name)
    for n in range(theirs.added):
        (project / f"added{n}.txt").write_text(f"added by the template {n}\n")
    git(template, "add", "-A")
    git(template, "commit", "-q", "--allow-empty", "-m", "v2")
    git(template, "tag", "v2.0.0")

    with tempfile.TemporaryDirectory() as scratch:
        repo = Path(scratch) / "repo"
        shutil.copytree(made, repo, symlinks=True)
        user = {i: original(f) for i, f in enumerate(FILES)}
        for n, e in enumerate(ours.edits):
            user[e.file] = apply(user[e.file], e, f"user edit {n}\n")
        # the team's lines as it committed them (a later edit may replace an earlier one)
        wrote = {i: [t for t in user[i] if t.startswith("user edit")] for i in user}
        for i, name in enumerate(FILES):
            if i in ours.deleted:
                (repo / name).unlink()
                wrote[i] = []
            else:
                (repo / name).write_text("".join(user[i]))
        own = {f"own{n}.txt": f"the team's own file {n}\n" for n in range(ours.own_files)}
        for name, text in own.items():
            (repo / name).write_text(text)
        commit_all(repo)

        [report] = update_repos([repo], UpdateOptions(to="v2.0.0")).repos

        assert report.status in ("updated", "conflicts", "up-to-date"), report.reason
        for i, name in enumerate(FILES):
            places = [repo / name, repo / "moved" / name]
            found = "".join(p.read_text() for p in places if p.exists())
            for line in wrote[i]:
                assert line in found, (name, line, report)
            if i in ours.deleted and i not in theirs.renamed:
                assert not (repo / name).exists()
        for name, text in own.items():
            assert (repo / name).read_text() == text
        assert not list(repo.rglob("*.rej"))
        for path in report.conflicted:
            assert "<<<<<<< ours" in (repo / path).read_text()
