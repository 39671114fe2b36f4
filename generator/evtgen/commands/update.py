"""`evtgen update`: merge a template's newer version with each repository's own edits.

evtgen's own three-way merge (see docs/update.md): BASE = the template at the
recorded `_commit` with the recorded answers, NEW = the template at `--to` or its
newest release, OURS = the working tree; `merge.py` decides per file. One broken
repository never stops the others.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from evtgen import gitrepo
from evtgen.config import load_config
from evtgen.errors import UsageError
from evtgen.locks import holding
from evtgen.placing import write_atomic
from evtgen.sources import (
    Recorded,
    Renderer,
    RepoProblem,
    Source,
    Sources,
    bundled_model,
    read_layers,
    template_code,
)
from evtgen.store import BUNDLED_SOURCE, ensure_bundled_published, store_path

if TYPE_CHECKING:
    from git import Repo

_T = TypeVar("_T")


@dataclass
class UpdateOptions:
    to: str | None = None
    dry_run: bool = False
    jobs: int = 1
    branch: str | None = None
    trust: bool = False


@dataclass
class LayerUpdate:
    """One template layer of a repository: the base template or an overlay."""

    answers_file: str
    template: str
    from_version: str
    to_version: str | None = None
    status: str = "failed"  # updated | up-to-date | conflicts | failed


@dataclass
class RepoUpdate:
    """The outcome for one repository."""

    path: str
    status: str  # updated | up-to-date | conflicts | failed
    from_version: str | None = None
    to_version: str | None = None
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # new path -> old path
    conflicted: list[str] = field(default_factory=list)
    kept_deleted: list[str] = field(default_factory=list)  # you deleted; template still has
    kept: list[str] = field(default_factory=list)  # template removed; you had edited
    notes: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    branch: str | None = None
    diff: str = ""  # --dry-run: the merged result against the working tree
    git_calls: int = 0
    layers: list[LayerUpdate] = field(default_factory=list)  # base first, then overlays
    #: where the trust that let the template's code run came from: "--trust" or a file
    settings: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # config the update did not honour


@dataclass
class UpdateReport:
    repos: list[RepoUpdate]
    dry_run: bool = False

    @property
    def exit_code(self) -> int:
        if any(r.status == "failed" for r in self.repos):
            return 3 if len(self.repos) > 1 else 2
        return 1 if any(r.status == "conflicts" for r in self.repos) else 0


class _Session:
    """What one process shares between the repos it updates."""

    def __init__(self, run_dir: Path, options: UpdateOptions) -> None:
        self.options = options
        self.sources = Sources()
        # renders never run tasks or migrations; a template with code is refused before
        # it is rendered unless trusted (by --trust or the config), so render trusted
        self.renderer = Renderer(run_dir, trust=True)


_SESSION: _Session | None = None
LOCK_NAME = "evtgen-update.lock"  # in the repository's .git directory


def _init_worker(run_dir: Path, options: UpdateOptions) -> None:
    global _SESSION
    _SESSION = _Session(run_dir, options)


def _update_in_worker(path: Path) -> RepoUpdate:
    assert _SESSION is not None
    return update_one(path, _SESSION)


def update_repos(
    paths: Sequence[Path],
    options: UpdateOptions,
    progress: Callable[[str], None] = lambda line: None,
) -> UpdateReport:
    """Update every repository; their reports in the order given."""
    if options.jobs < 1:
        raise UsageError("--jobs must be 1 or more")
    if options.branch is not None and not options.branch.strip():
        raise UsageError("--branch needs a branch name")
    # an unwritable store fails only the repos on the bundled template, saying so
    with contextlib.suppress(UsageError):
        ensure_bundled_published()
    paths = [p.absolute() for p in paths] or [Path.cwd()]
    run_dir = Path(tempfile.mkdtemp(prefix="evtgen-update-"))
    reports: dict[int, RepoUpdate] = {}
    try:
        if options.jobs == 1 or len(paths) == 1:
            session = _Session(run_dir, options)
            for i, path in enumerate(paths):
                reports[i] = update_one(path, session)
                _progress(progress, len(reports), len(paths), reports[i])
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            from evtgen.copier_adapter import preload

            preload()  # Copier imported once, before the workers fork

            gitrepo.preload()

            with ProcessPoolExecutor(
                max_workers=min(options.jobs, len(paths)),
                mp_context=multiprocessing.get_context("fork"),
                initializer=_init_worker,
                initargs=(run_dir, options),
            ) as pool:
                futures = {pool.submit(_update_in_worker, p): i for i, p in enumerate(paths)}
                for future in as_completed(futures):
                    i = futures[future]
                    try:
                        reports[i] = future.result()
                    except Exception as err:  # a worker died: that repo failed, not the run
                        reports[i] = RepoUpdate(
                            str(paths[i]), "failed", reason=f"internal error: {err}"
                        )
                    _progress(progress, len(reports), len(paths), reports[i])
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return UpdateReport([reports[i] for i in range(len(paths))], options.dry_run)


def _progress(progress: Callable[[str], None], done: int, total: int, r: RepoUpdate) -> None:
    if total > 1:
        extra = f" ({r.reason})" if r.reason else ""
        if r.conflicted:
            extra = f" ({len(r.conflicted)} conflicted)"
        progress(f"[{done}/{total}] {r.path}: {r.status}{extra}")


def update_one(repo: Path, session: _Session) -> RepoUpdate:
    """Update one repository; any problem becomes its `failed` report."""
    report = RepoUpdate(path=str(repo), status="failed")
    try:
        _update(repo, session, report)
    except UsageError as err:
        report.status = "failed"
        report.reason = str(err)
    except Exception as err:  # the others go on; this one says why it failed
        report.status = "failed"
        report.reason = f"{type(err).__name__}: {' '.join(str(err).split())[:300]}"
    return report


def _update(repo: Path, session: _Session, report: RepoUpdate) -> None:
    """Update every template layer of the repo, base first (docs/templates.md)."""
    layers = read_layers(repo)
    report.from_version = layers[0].commit
    git = _open_git(repo)
    with git:
        if session.options.dry_run:
            _update_repo(repo, git, layers, session, report)
            return
        # one update at a time in a git repository (a monorepo's services included):
        # two would interleave their writes and nest conflict markers
        with holding(Path(git.git_dir) / LOCK_NAME, str(repo)):
            _update_repo(repo, git, layers, session, report)


def _update_repo(
    repo: Path, git: Repo, layers: list[Recorded], session: _Session, report: RepoUpdate
) -> None:
    report.git_calls += 1
    _require_clean_git(repo, git, session.options.branch)
    # where an undo returns to, when --branch switched away from it: the branch, or the
    # commit of a detached HEAD (a CI checkout); read from .git, no git process
    start, detached = _git(gitrepo.head_state, git) if session.options.branch else ("", False)
    try:
        for number, recorded in enumerate(layers):
            # --to names a version of the base template; overlays go to their newest release
            to = session.options.to if number == 0 else None
            layer = LayerUpdate(recorded.answers_relpath, recorded.src_path, recorded.commit)
            report.layers.append(layer)
            _update_layer(repo, git, session, report, recorded, to, layer)
    except Exception:
        if not session.options.dry_run:
            # a later layer failed: none is half-applied
            _undo(repo, git, start, report.branch, detached)
        raise
    report.to_version = report.layers[0].to_version
    statuses = {layer.status for layer in report.layers}
    report.status = next(s for s in ("conflicts", "updated", "up-to-date") if s in statuses)
    if session.options.branch and report.branch:
        report.git_calls += 2
        _git(gitrepo.commit_all, git, repo, _commit_message(report), verify=False)


def _undo(repo: Path, git: Repo, start: str, branch: str | None, detached: bool) -> None:
    """Put the repo back as it was: the tree was clean when the update began."""
    if not branch and not _git(gitrepo.changed_paths, git, repo):
        return  # failed before writing anything: leave even git's reflog alone
    _git(gitrepo.restore, git, repo, start, detached, branch)


def _update_layer(
    repo: Path,
    git: Repo,
    session: _Session,
    report: RepoUpdate,
    recorded: Recorded,
    to: str | None,
    layer: LayerUpdate,
) -> None:
    options = session.options
    source = session.sources.get(recorded.src_path, repo / recorded.answers_relpath)
    target_ref = to or source.newest()
    shas = source.resolve(recorded.commit, target_ref)
    base_sha, target_sha = shas[recorded.commit], shas[target_ref]
    if base_sha is None:
        raise RepoProblem(missing_version(recorded, source))
    if target_sha is None:
        raise RepoProblem(f"the template {source.name} has no ref {target_ref!r} (--to)")
    layer.to_version = source.describe(target_ref, target_sha)
    new_answers = dict(recorded.answers)
    pinned_model: bytes | None = None  # model.yaml with the channels evtgen resolved
    if recorded.src_path == BUNDLED_SOURCE:
        new_answers["model"], pinned_model = bundled_model(
            repo, recorded.answers.get("model", {}), recorded.answers.get("broker")
        )
    if base_sha == target_sha and new_answers == recorded.answers:
        layer.status = "up-to-date"
        return
    # --trust, or a source the user's own config trusts (docs/templates.md)
    config = load_config(repo)
    trusted = options.trust or config.trusts(recorded.src_path)
    report.warnings = list(config.ignored)
    if trusted:
        report.settings["trusted"] = "--trust" if options.trust else config.origins["trusted"]
    if not trusted:
        code = set(template_code(source.tree(target_sha)))  # named: `!include`d ones too
        code |= {c for c in template_code(source.tree(base_sha)) if c.startswith("Jinja")}
        if code:
            raise RepoProblem(
                f"the template {source.name} has {', '.join(sorted(code))}, which run code "
                "on your machine; evtgen runs them only with --trust: pass --trust if you "
                "trust the template"
            )
    base = session.renderer.render(source, base_sha, recorded.answers)
    new = session.renderer.render(source, target_sha, new_answers)

    from evtgen.merge import Outcome, apply_plan, plan_diff, plan_merge
    from evtgen.store import stamp_answers

    labels = ("ours", f"template {recorded.commit}", f"template {layer.to_version}")
    plan = plan_merge(repo, base, new, labels)
    report.git_calls += plan.git_calls
    if pinned_model is not None:
        # model.yaml stays the team's (_skip_if_exists); evtgen only writes in the
        # channels of the events added to it, as `new` does (docs/update.md)
        note = "the channels evtgen resolved written in; the rest as you wrote it"
        plan.outcomes.append(Outcome("model.yaml", "changed", pinned_model, note=note))
    answers_text = stamp_answers(
        (new.root / new.answers_relpath).read_text(encoding="utf-8"),
        layer.to_version,
        recorded.src_path,
    ).encode()
    answers_path = repo / recorded.answers_relpath
    answers_changed = _read(answers_path) != answers_text
    conflicts_before = len(report.conflicted)
    _fill(report, plan)
    changed = (
        bool(plan.outcomes and any(o.action not in ("kept", "kept-deleted") for o in plan.outcomes))
        or answers_changed
    )
    conflicted = len(report.conflicted) > conflicts_before
    layer.status = "conflicts" if conflicted else ("updated" if changed else "up-to-date")
    if options.dry_run:
        extra = {recorded.answers_relpath: answers_text} if answers_changed else {}
        report.diff += plan_diff(repo, plan, extra)
        return
    if not changed:
        return
    if options.branch and not report.branch:
        _git(gitrepo.switch_to_new_branch, git, options.branch)  # refs only: no git process
        report.branch = options.branch
    if trusted:
        _run_template_code(source, recorded, target_sha, repo, new_answers, "before")
    apply_plan(repo, plan)
    if answers_changed:
        write_atomic(answers_path, answers_text)
    if trusted:
        _run_template_code(source, recorded, target_sha, repo, new_answers, "after")


def _fill(report: RepoUpdate, plan: Any) -> None:
    for o in plan.outcomes:
        if o.action == "changed":
            report.changed.append(o.path)
        elif o.action == "added":
            report.added.append(o.path)
        elif o.action == "removed":
            report.removed.append(o.path)
        elif o.action == "renamed":
            report.renamed[o.path] = o.source or ""
        elif o.action == "conflicted":
            report.conflicted.append(o.path)
        elif o.action == "kept-deleted":
            report.kept_deleted.append(o.path)
        elif o.action == "kept":
            report.kept.append(o.path)
        if o.note:
            report.notes[o.path] = o.note


def _commit_message(report: RepoUpdate) -> str:
    lines = [f"Update template from {report.from_version} to {report.to_version}", ""]
    if len(report.layers) > 1:
        lines += [
            f"- {layer.answers_file} ({layer.template}): {layer.from_version} -> "
            f"{layer.to_version}, {layer.status}"
            for layer in report.layers
        ] + [""]
    if report.conflicted:
        lines.append("Conflicts to resolve (markers in the files):")
        lines.extend(f"- {p}" for p in report.conflicted)
    else:
        lines.append("Merged cleanly.")
    lines += ["", "Made by evtgen update."]
    return "\n".join(lines)


def missing_version(recorded: Recorded, source: Source) -> str:
    if recorded.src_path == BUNDLED_SOURCE:
        version = recorded.commit.removeprefix("v").split("+")[0]
        tags = source.release_tags()
        # a store used for long holds many versions: the newest few make the point
        have = ", ".join(tags[-5:]) + (f" and {len(tags) - 5} older" if len(tags) > 5 else "")
        have = have or "none"
        return (
            f"template version {recorded.commit} is not available locally (evtgen's "
            f"template store {store_path()} has: {have}). Get it by running that evtgen "
            f"release once, which publishes its template there: "
            f"`uvx --from 'evtgen=={version}' evtgen check .` "
            f"(or pip install 'evtgen=={version}' in a spare venv and run `evtgen check`), "
            "then run this update again"
        )
    return (
        f"the template {source.name} has no version {recorded.commit!r} (the recorded "
        f"_commit in {recorded.answers_relpath}); was the tag deleted or history "
        "rewritten, or the line edited by hand? Restore it in the template repository, "
        "or set _commit to the version this repo was made from"
    )


def _open_git(repo: Path) -> Repo:
    """The git repository `repo` is in (a generated repo may sit in a monorepo)."""
    try:
        return gitrepo.open_repo(repo, search_parent=True)
    except gitrepo.NotARepository as err:
        raise RepoProblem(
            f"{repo} is not a git repository; update needs git to keep your edits "
            "safe: `git init && git add -A && git commit -m init` first"
        ) from err


def _require_clean_git(repo: Path, git: Repo, branch: str | None = None) -> None:
    if git.bare:
        raise RepoProblem(f"{repo} is a bare git repository: update a clone's work tree")
    dirty = _git(gitrepo.changed_paths, git, repo)
    if dirty and branch and _git(gitrepo.head_state, git) == (branch, False):
        # on the branch an earlier `--branch` run made, with its writes: it was killed
        raise RepoProblem(
            f"{repo} is on branch {branch!r} with uncommitted changes, as an interrupted "
            f"`evtgen update --branch {branch}` leaves it: discard them with `git checkout "
            f"HEAD -- . && git clean -fd`, switch back and `git branch -D {branch}`, then re-run"
        )
    if dirty:
        raise RepoProblem(
            f"{repo} has uncommitted changes ({len(dirty)} path(s), e.g. "
            f"{dirty[0]}); commit or stash them first, so the update can be undone"
        )


def _git(operation: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """`operation` of gitrepo, a failure as the repository's problem."""
    try:
        return operation(*args, **kwargs)
    except gitrepo.GitFailed as err:
        raise RepoProblem(str(err)) from err


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _run_template_code(
    source: Source,
    recorded: Recorded,
    target_sha: str,
    repo: Path,
    answers: dict[str, Any],
    stage: Literal["before", "after"],
) -> None:
    """The new template's migrations for `stage`, and after them its tasks, run by
    Copier's own Worker in the repository (only with --trust). The target is given
    by its commit: given `HEAD` of a local source, Copier asks `git status` for
    uncommitted changes, which fails in evtgen's bare mirror."""
    from evtgen.copier_adapter import run_template_code

    try:
        run_template_code(
            str(source.git_dir),
            from_ref=recorded.commit,
            to_ref=target_sha,
            dst=repo,
            answers=answers,
            stage=stage,
        )
    except Exception as err:
        raise RepoProblem(f"the template's {stage} code failed: {err}") from err
