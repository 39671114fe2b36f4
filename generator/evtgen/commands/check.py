"""`evtgen check`: is a repository behind its template, or did its managed files drift?

Managed files are what the template renders at the recorded `_commit` with the
recorded answers, less `_skip_if_exists` files and the answers file. Files matching
the template's `_evtgen_team_owned` patterns are reported as edited, not as drift.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from evtgen.errors import UsageError
from evtgen.sources import (
    Recorded,
    Renderer,
    RepoProblem,
    Sources,
    bundled_model_view,
    read_layers,
    template_code,
)
from evtgen.store import BUNDLED_SOURCE, ensure_bundled_published


@dataclass
class LayerCheck:
    """One template layer of a repository: the base template or an overlay."""

    answers_file: str
    template: str
    version: str
    newest: str | None = None
    behind: bool = False


@dataclass
class RepoCheck:
    path: str
    status: str  # up-to-date | behind | drifted | failed
    version: str | None = None
    newest: str | None = None
    behind: bool = False
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    added_upstream: list[str] = field(default_factory=list)  # in newest, absent here
    team_owned_edited: list[str] = field(default_factory=list)
    reason: str = ""
    layers: list[LayerCheck] = field(default_factory=list)  # base first, then overlays


@dataclass
class CheckReport:
    repos: list[RepoCheck]

    @property
    def exit_code(self) -> int:
        if any(r.status == "failed" for r in self.repos):
            return 3 if len(self.repos) > 1 else 2
        return 1 if any(r.status != "up-to-date" for r in self.repos) else 0


def check_repos(
    paths: Sequence[Path], progress: Callable[[str], None] = lambda line: None
) -> CheckReport:
    # an unwritable store fails only the repos on the bundled template, saying so
    with contextlib.suppress(UsageError):
        ensure_bundled_published()
    paths = [p.absolute() for p in paths] or [Path.cwd()]
    run_dir = Path(tempfile.mkdtemp(prefix="evtgen-check-"))
    sources = Sources()
    # check renders only; template code never runs, so extensions need no trust here
    renderer = Renderer(run_dir, trust=False)
    out: list[RepoCheck] = []
    try:
        for i, path in enumerate(paths, 1):
            report = RepoCheck(path=str(path), status="failed")
            try:
                _check(path, sources, renderer, report)
            except UsageError as err:
                report.status, report.reason = "failed", str(err)
            except Exception as err:
                report.status = "failed"
                report.reason = f"{type(err).__name__}: {' '.join(str(err).split())[:300]}"
            out.append(report)
            if len(paths) > 1:
                progress(f"[{i}/{len(paths)}] {path}: {report.status}")
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return CheckReport(out)


def _check(repo: Path, sources: Sources, renderer: Renderer, report: RepoCheck) -> None:
    for recorded in read_layers(repo):
        layer = LayerCheck(recorded.answers_relpath, recorded.src_path, recorded.commit)
        report.layers.append(layer)
        _check_layer(repo, recorded, sources, renderer, report, layer)
    base = report.layers[0]
    report.version, report.newest = base.version, base.newest
    report.behind = any(layer.behind for layer in report.layers)
    drifted = report.missing or report.changed
    report.status = "behind" if report.behind else ("drifted" if drifted else "up-to-date")


def _check_layer(
    repo: Path,
    recorded: Recorded,
    sources: Sources,
    renderer: Renderer,
    report: RepoCheck,
    layer: LayerCheck,
) -> None:
    from packaging.version import InvalidVersion, Version

    source = sources.get(recorded.src_path, repo / recorded.answers_relpath)
    newest = source.newest()
    layer.newest = newest
    shas = source.resolve(recorded.commit, newest)
    base_sha, newest_sha = shas[recorded.commit], shas[newest]
    if base_sha is None:
        from evtgen.commands.update import missing_version

        raise RepoProblem(missing_version(recorded, source))
    assert newest_sha is not None
    if base_sha != newest_sha:
        try:
            layer.behind = Version(_pep440(recorded.commit)) < Version(_pep440(newest))
        except InvalidVersion:
            layer.behind = True  # a commit that is no release: not on the newest one
    if _extensions(source.tree(base_sha)):
        raise RepoProblem(
            f"the template {source.name} uses Jinja extensions, which run code while "
            "rendering; `evtgen check` does not run template code"
        )
    base = renderer.render(source, base_sha, recorded.answers)
    skip = set(base.skip_if_exists) | {base.answers_relpath}
    owned = set(base.team_owned)
    for rel in base.files:
        if rel in skip:
            continue
        ours = repo / rel
        if not ours.exists() and not ours.is_symlink():
            report.missing.append(rel)
        elif not _same_text(_read(ours), _read(base.root / rel)):
            (report.team_owned_edited if rel in owned else report.changed).append(rel)
    answers = dict(recorded.answers)
    if recorded.src_path == BUNDLED_SOURCE:
        # model.yaml is the team's input (skip_if_exists): it drifted when the code was
        # not regenerated from it since it changed
        answers["model"] = bundled_model_view(repo, recorded.answers.get("model", {}))
        if answers["model"] != recorded.answers.get("model"):
            report.changed.append("model.yaml")
    if layer.behind and not _extensions(source.tree(newest_sha)):
        new = renderer.render(source, newest_sha, answers)
        known = set(base.files)
        report.added_upstream += [
            rel
            for rel in new.files
            if rel not in known and rel != new.answers_relpath and not (repo / rel).exists()
        ]


def _pep440(ref: str) -> str:
    """Copier's reading of a recorded `_commit` (`v1.2.0-3-gabc` is 1.2.0.post3+gabc)."""
    import re

    if m := re.match(r"^(.+)-(\d+)-g(\w+)$", ref):
        return f"{m.group(1)}.post{m.group(2)}+g{m.group(3)}"
    return ref


def _same_text(ours: bytes | None, theirs: bytes | None) -> bool:
    """Equal, or equal but for CRLF line endings: a checkout with core.autocrlf (Windows)
    has every text file so, and that is no drift (`update` merges in them too)."""
    if ours == theirs:
        return True
    if ours is None or theirs is None or b"\0" in ours[:8000]:
        return False
    return ours.replace(b"\r\n", b"\n") == theirs.replace(b"\r\n", b"\n")


def _read(path: Path) -> bytes | None:
    try:
        if path.is_symlink():
            import os

            return os.readlink(path).encode()
        return path.read_bytes()
    except OSError:
        return None


def _extensions(tree: Path) -> bool:
    return any(c.startswith("Jinja extensions") for c in template_code(tree))
