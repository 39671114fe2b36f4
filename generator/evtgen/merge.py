"""Three-way merge of a repository with two renders of its template.

BASE is the template at the recorded version with the recorded answers, NEW the
template at the target version; OURS is the repository's working tree. Per file:
unchanged by the template -> ours; unchanged by the user -> new; changed by both ->
`git merge-file` (diff3 markers on conflict, never a .rej). Renames between BASE and
NEW are found by content similarity and carry the user's edits to the new path.
Files in neither render are the user's own and never touched.

Only files changed on both sides start a git process; everything else is compared
in Python.
"""

from __future__ import annotations

import difflib
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evtgen.gitrepo import merge_file
from evtgen.placing import outside, write_atomic
from evtgen.sources import Render, RepoProblem

RENAME_SIMILARITY = 0.5  # as git's default for -M
_RENAME_PAIRS_LIMIT = 2500  # beyond this many candidate pairs, only exact renames


@dataclass
class Outcome:
    """What the merge does to one path of the repository."""

    path: str
    action: str  # changed | added | removed | conflicted | kept-deleted | kept | renamed
    content: bytes | None = None  # what to write; None: delete (or nothing for kept-*)
    mode: int | None = None  # permission bits to set, when the template changed them
    source: str | None = None  # a rename's old path, deleted when this is written
    note: str = ""
    link: bool = False  # write `content` as a symbolic link's target


@dataclass
class Plan:
    outcomes: list[Outcome] = field(default_factory=list)
    git_calls: int = 0

    def by_action(self, *actions: str) -> list[str]:
        return sorted(o.path for o in self.outcomes if o.action in actions)


def is_binary(data: bytes) -> bool:
    return b"\0" in data[:8000]


def _read(path: Path) -> bytes | None:
    try:
        if path.is_symlink():
            return os.readlink(path).encode()
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644


def find_renames(base: Render, new: Render, exclude: set[str]) -> dict[str, str]:
    """old path -> new path, for files the template moved between BASE and NEW."""
    old_files = set(base.files)
    new_files = set(new.files)
    gone = sorted(old_files - new_files - exclude)
    came = sorted(new_files - old_files - exclude)
    if not gone or not came:
        return {}
    old_data = {p: _read(base.root / p) or b"" for p in gone}
    new_data = {p: _read(new.root / p) or b"" for p in came}
    scored: list[tuple[float, str, str]] = []
    fuzzy = len(gone) * len(came) <= _RENAME_PAIRS_LIMIT
    for old in gone:
        old_lines = old_data[old].splitlines()
        for candidate in came:
            if old_data[old] == new_data[candidate]:
                # the same name elsewhere ranks above another exact copy
                same_name = Path(old).name == Path(candidate).name
                scored.append((2.0 + same_name, old, candidate))
            elif fuzzy and not is_binary(old_data[old]) and not is_binary(new_data[candidate]):
                matcher = difflib.SequenceMatcher(None, old_lines, new_data[candidate].splitlines())
                if matcher.real_quick_ratio() < RENAME_SIMILARITY:
                    continue
                if matcher.quick_ratio() < RENAME_SIMILARITY:
                    continue
                ratio = matcher.ratio()
                if ratio >= RENAME_SIMILARITY:
                    scored.append((ratio, old, candidate))
    renames: dict[str, str] = {}
    taken: set[str] = set()
    for _, old, candidate in sorted(scored, reverse=True):
        if old not in renames and candidate not in taken:
            renames[old] = candidate
            taken.add(candidate)
    return renames


def plan_merge(repo: Path, base: Render, new: Render, labels: tuple[str, str, str]) -> Plan:
    """Decide, per path the template reaches, what the repository's file becomes."""
    plan = Plan()
    answers = {base.answers_relpath, new.answers_relpath}
    skip = set(new.skip_if_exists) | set(base.skip_if_exists)
    renames = find_renames(base, new, answers | skip)
    renamed_to = {v: k for k, v in renames.items()}
    base_files = set(base.files)
    new_files = set(new.files)
    with tempfile.TemporaryDirectory(prefix="evtgen-merge-") as scratch:
        empty = Path(scratch) / "empty"
        empty.write_bytes(b"")

        def merge(path: str, ours: Path, older: Path, newer: Path) -> Outcome:
            plan.git_calls += 1
            return _merge_file(path, ours, older, newer, labels)

        for path in sorted(base_files | new_files):
            if path in answers:
                continue
            ours_path = repo / path
            ours = _read(ours_path)
            in_base, in_new = path in base_files, path in new_files
            if path in skip and ours is not None:
                continue  # the team owns it once it exists (Copier's _skip_if_exists)
            if in_base and in_new:
                b, n = _read(base.root / path), _read(new.root / path)
                if ours is None:
                    plan.outcomes.append(
                        Outcome(path, "kept-deleted", note="you deleted it; it stays deleted")
                    )
                    continue
                mode = _mode(new.root / path)
                mode_changed = _mode(base.root / path) != mode
                if b == n or ours == n:
                    if mode_changed and _mode(ours_path) != mode:
                        plan.outcomes.append(Outcome(path, "changed", ours, mode))
                    continue
                if ours == b:
                    plan.outcomes.append(
                        Outcome(
                            path,
                            "changed",
                            n,
                            mode if mode_changed else None,
                            link=(new.root / path).is_symlink(),
                        )
                    )
                    continue
                outcome = merge(path, ours_path, base.root / path, new.root / path)
                outcome.mode = mode if mode_changed else None
                plan.outcomes.append(outcome)
            elif in_base:  # the template removed it, or moved it
                if path in renames:
                    target = renames[path]
                    plan.outcomes.extend(_moved(repo, path, target, base, new, merge, empty))
                elif ours is None:
                    continue
                elif ours == _read(base.root / path):
                    plan.outcomes.append(Outcome(path, "removed"))
                else:
                    plan.outcomes.append(
                        Outcome(
                            path,
                            "kept",
                            note="the template removed it; kept because you edited it",
                        )
                    )
            else:  # the template added it
                if path in renamed_to:
                    continue  # decided with its old path
                n = _read(new.root / path)
                if ours is None and (why := _blocked(repo, path)):
                    plan.outcomes.append(Outcome(path, "conflicted", None, note=why))
                elif ours is None:
                    plan.outcomes.append(
                        Outcome(
                            path,
                            "added",
                            n,
                            _mode(new.root / path),
                            link=(new.root / path).is_symlink(),
                        )
                    )
                elif ours != n:
                    outcome = merge(path, ours_path, empty, new.root / path)
                    outcome.note = outcome.note or "you had a file where the template adds one"
                    plan.outcomes.append(outcome)
    return plan


def _blocked(repo: Path, path: str) -> str | None:
    """Why the template's new file cannot be written at `path`: the team has a
    directory there, or a file where the template needs a directory; None when free."""
    target = repo / path
    if target.is_dir() and not target.is_symlink():
        return "the template adds a file where you have a directory: kept yours"
    for parent in Path(path).parents:
        if parent != Path(".") and (repo / parent).exists() and not (repo / parent).is_dir():
            return f"the template adds it in a directory {parent} where you have a file: kept yours"
    return None


def _moved(
    repo: Path,
    old: str,
    target: str,
    base: Render,
    new: Render,
    do_merge: Callable[[str, Path, Path, Path], Outcome],
    empty: Path,
) -> list[Outcome]:
    """The template moved `old` to `target`: the user's version of `old` follows it."""
    ours_old = _read(repo / old)
    ours_target = _read(repo / target)
    n = _read(new.root / target)
    b = _read(base.root / old)
    if ours_old is None:
        return [
            Outcome(
                target,
                "kept-deleted",
                note=f"the template moved {old} here; you had deleted {old}",
            )
        ]
    if ours_target is not None:  # the user already has a file at the new path
        out: list[Outcome] = []
        if ours_old == b:
            out.append(Outcome(old, "removed", note=f"the template moved it to {target}"))
        else:
            out.append(Outcome(old, "kept", note=f"the template moved it to {target}"))
        if ours_target != n:
            merged = do_merge(target, repo / target, empty, new.root / target)
            merged.note = merged.note or "you had a file where the template adds one"
            out.append(merged)
        return out
    mode = _mode(new.root / target)
    if ours_old == b:
        outcome = Outcome(target, "renamed", n, mode, link=(new.root / target).is_symlink())
    else:
        outcome = do_merge(target, repo / old, base.root / old, new.root / target)
        outcome.mode = mode
        if outcome.action == "changed":
            outcome.action = "renamed"
    outcome.source = old
    outcome.note = f"moved from {old}" + (f"; {outcome.note}" if outcome.note else "")
    return [outcome]


def _merge_file(
    path: str, ours: Path, base: Path, new: Path, labels: tuple[str, str, str]
) -> Outcome:
    """Merge one file three ways with `git merge-file`; binary files are never merged."""
    data = [_read(p) or b"" for p in (ours, base, new)]
    if any(p.is_symlink() for p in (ours, base, new)):
        return Outcome(
            path,
            "conflicted",
            None,
            note="symbolic link changed by you and by the template: kept yours",
        )
    if any(is_binary(d) for d in data):
        return Outcome(
            path,
            "conflicted",
            None,
            note="binary file changed by you and by the template: kept yours",
        )
    with tempfile.TemporaryDirectory(prefix="evtgen-eol-") as scratch:
        base, new = _in_line_endings_of(data[0], (base, new), data[1:], Path(scratch))
        conflicts, merged = merge_file(ours, base, new, labels)
    if conflicts == 0:
        return Outcome(path, "changed", merged)
    return Outcome(path, "conflicted", merged, note=f"{conflicts} conflict(s)")


def _line_endings(data: bytes) -> str | None:
    """ "crlf" or "lf" when every line of `data` ends so; None when mixed or unknown."""
    lines = data.count(b"\n")
    if not lines:
        return None
    crlf = data.count(b"\r\n")
    return "crlf" if crlf == lines else "lf" if crlf == 0 else None


def _in_line_endings_of(
    ours: bytes, paths: tuple[Path, Path], contents: list[bytes], scratch: Path
) -> tuple[Path, Path]:
    """The template's two versions in the repo's line endings, when they differ only
    in that: a checkout with CRLF (Windows, core.autocrlf) would otherwise conflict on
    every line. The renders themselves are shared, so converted copies go to `scratch`."""
    want = _line_endings(ours)
    have = {_line_endings(c) for c in contents if c}
    if want is None or have != {"crlf" if want == "lf" else "lf"}:
        return paths
    converted: list[Path] = []
    for path, content in zip(paths, contents, strict=True):
        lf = content.replace(b"\r\n", b"\n")
        copy = scratch / f"{len(converted)}-{path.name}"
        copy.write_bytes(lf.replace(b"\n", b"\r\n") if want == "crlf" else lf)
        converted.append(copy)
    return converted[0], converted[1]


def apply_plan(repo: Path, plan: Plan) -> None:
    """Write the plan into the working tree; nothing, when a path would land outside
    it (through a symlinked folder the repo holds, say)."""
    for o in plan.outcomes:
        for rel in filter(None, (o.path, o.source)):
            if (folder := outside(repo, rel)) is not None:
                raise RepoProblem(
                    f"{repo}: {folder} is a symlink (or leaves the repo), so writing "
                    f"{rel} would write outside the repo; nothing was written: replace "
                    f"{folder} with a real folder, or remove it"
                )
    for o in plan.outcomes:
        target = repo / o.path
        if o.action == "removed":
            target.unlink(missing_ok=True)
            _prune_empty_dirs(repo, target.parent)
        elif o.content is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or (o.link and target.exists()):
                target.unlink()
            if o.link:
                os.symlink(o.content.decode(), target)
            else:
                write_atomic(target, o.content, o.mode)  # a kill leaves it old or new
            if o.source:
                (repo / o.source).unlink(missing_ok=True)
                _prune_empty_dirs(repo, (repo / o.source).parent)
        elif o.mode is not None and target.exists():
            os.chmod(target, o.mode)


def _prune_empty_dirs(repo: Path, directory: Path) -> None:
    while directory != repo and directory.is_relative_to(repo):
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def plan_diff(repo: Path, plan: Plan, extra: dict[str, bytes]) -> str:
    """The plan as a unified diff against the working tree (for --dry-run)."""
    changes: list[tuple[str, bytes | None, bytes | None]] = []
    for o in plan.outcomes:
        if o.action == "removed":
            changes.append((o.path, _read(repo / o.path), None))
        elif o.content is not None:
            changes.append((o.path, _read(repo / o.path), o.content))
            if o.source:
                changes.append((o.source, _read(repo / o.source), None))
    for path, content in extra.items():
        changes.append((path, _read(repo / path), content))
    chunks: list[str] = []
    for path, before, after in sorted(changes, key=lambda c: c[0]):
        if before == after:
            continue
        if (before and is_binary(before)) or (after and is_binary(after)):
            chunks.append(f"Binary file {path} differs\n")
            continue
        old = (before or b"").decode("utf-8", "replace").splitlines(keepends=True)
        new = (after or b"").decode("utf-8", "replace").splitlines(keepends=True)
        lines = difflib.unified_diff(
            old,
            new,
            fromfile=f"a/{path}" if before is not None else "/dev/null",
            tofile=f"b/{path}" if after is not None else "/dev/null",
        )
        chunks.append("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    return "".join(chunks)
