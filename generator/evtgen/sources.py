"""Template sources in git, their versions, and renders of them, shared by a whole run.

- One local mirror per template source in evtgen's cache, fetched once per run:
  a fleet of repos on one template never clones it per repo.
- Each commit's files are exported once per machine (`git archive`; commits never
  change), and Copier renders from that plain directory.
- git is read through `gitrepo` (GitPython): tags from the refs, commits from one
  long-lived `git cat-file` of GitPython's object database.
- Renders are kept per (commit, answers) in the run's directory, so repos with the
  same answers share them, also across the processes of `--jobs`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from evtgen import gitrepo
from evtgen.copier_adapter import git_url, staging_render
from evtgen.errors import UsageError
from evtgen.render import cache_dir
from evtgen.store import BUNDLED_SOURCE, ensure_bundled_published, store_path

if TYPE_CHECKING:
    from git import Repo

    from evtgen.model import Model

_T = TypeVar("_T")
ANSWERS_FILE = ".copier-answers.yml"


class RepoProblem(UsageError):
    """A repository cannot be updated or checked, for the reason given (exit 2)."""


@dataclass
class Recorded:
    """What `.copier-answers.yml` records: the source, the version and the answers."""

    answers_relpath: str
    src_path: str
    commit: str
    answers: dict[str, Any]


def read_recorded(repo: Path) -> Recorded:
    """The recorded base template of a generated repo, or RepoProblem saying what is wrong."""
    return read_layers(repo)[0]


def read_layers(repo: Path) -> list[Recorded]:
    """Every template layer of a generated repo: the base template's answers file
    first, then each overlay's `.copier-answers.NAME.yml` in name order."""
    if not repo.is_dir():
        raise RepoProblem(f"{repo} is not a directory")
    files = sorted(p for p in repo.glob(".copier-answers*.y*ml") if p.is_file())
    files.sort(key=lambda p: p.name != ANSWERS_FILE)  # stable: the base layer first
    if not files:
        raise RepoProblem(
            f"{repo} is not a generated repository: no {ANSWERS_FILE} "
            "(make it with `evtgen new` or `copier copy`)"
        )
    return [_read_answers(repo, path) for path in files]


def _read_answers(repo: Path, path: Path) -> Recorded:
    import yaml

    try:
        # libyaml when present: the bundled template's answers hold the whole model view
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except yaml.MarkedYAMLError as err:
        # answers edited by hand: say where, as the model's errors do
        mark = err.problem_mark or err.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise RepoProblem(
            f"{where}: YAML syntax error: {err.problem or err.context}; fix the file "
            f"(`git log -p {path.name}` shows what it was)"
        ) from err
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise RepoProblem(f"{path}: cannot be read as YAML: {_one_line(err)}") from err
    if not isinstance(data, dict):
        raise RepoProblem(
            f"{path} is not a mapping of answers (it holds {type(data).__name__}); "
            f"restore it from git (`git log -p {path.name}`)"
        )
    if not data.get("_src_path") or not isinstance(data["_src_path"], str):
        raise RepoProblem(
            f"{path} records no _src_path (the template the repo was made from): "
            f"restore it if it was edited by hand (`git log -p {path.name}`); without "
            f"it {repo} is not a generated repository"
        )
    if not data.get("_commit"):
        raise RepoProblem(
            f"{path} records no _commit, so the template version this repo was made "
            f"from is unknown: the line was removed by hand (`git log -p {path.name}` "
            f"shows it), or the template {data['_src_path']} was not in git when the "
            "repo was made (then put the template in git and tag the version it was made "
            "from); add "
            f"`_commit: <that tag>` to {path.name}"
        )
    if not isinstance(data["_commit"], str):
        # `_commit: 1.10` unquoted is the number 1.1, not the tag 1.10
        raise RepoProblem(
            f"{path}: _commit is the {type(data['_commit']).__name__} "
            f"{data['_commit']!r}, not a version name; quote it "
            f"(_commit: '<the tag the repo was made from>')"
        )
    if data["_src_path"] == BUNDLED_SOURCE and not isinstance(data.get("model", {}), dict):
        # evtgen writes the model's view there; anything else was typed in by hand
        line = next(
            (
                n
                for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if text.startswith("model:")
            ),
            1,
        )
        raise RepoProblem(
            f"{path}:{line}: `model` is the {type(data['model']).__name__} "
            f"{_one_line(data['model'])[:40]!r}, not the model evtgen wrote there; "
            f"restore it from git (`git log -p {path.name}` shows what evtgen wrote)"
        )
    answers = {str(k): v for k, v in data.items() if not str(k).startswith("_")}
    return Recorded(
        answers_relpath=path.name,
        src_path=str(data["_src_path"]),
        commit=str(data["_commit"]),
        answers=answers,
    )


@dataclass
class Source:
    """A template source, as a local git directory (a mirror, or evtgen's store)."""

    name: str
    git_dir: Path
    bundled_tag: str | None = None
    _resolved: dict[str, str | None] = field(default_factory=dict)
    _tags: list[str] | None = None

    _repo: Repo | None = None

    @property
    def repo(self) -> Repo:
        """The source's git repository, opened once."""
        if self._repo is None:
            try:
                self._repo = gitrepo.open_repo(self.git_dir)
            except gitrepo.GitFailed as err:
                raise RepoProblem(f"template {self.name}: {err}") from err
        return self._repo

    def _git(self, operation: Callable[..., _T], *args: Any) -> _T:
        """`operation` of gitrepo, its failure said as this template's."""
        try:
            return operation(*args)
        except gitrepo.GitFailed as err:
            raise RepoProblem(f"template {self.name}: {err.detail}") from err

    def release_tags(self) -> list[str]:
        """Tags that are PEP 440 releases (no pre-releases), oldest first."""
        from packaging.version import InvalidVersion, Version

        if self._tags is None:
            found = []
            for tag in self._git(gitrepo.tag_names, self.repo):
                try:
                    version = Version(tag)
                except InvalidVersion:
                    continue
                if not version.is_prerelease:
                    found.append((version, tag))
            self._tags = [tag for _, tag in sorted(found)]
        return self._tags

    def newest(self) -> str:
        """The ref `update` goes to by default: the installed version for the bundled
        template, else the newest release tag."""
        if self.bundled_tag:
            return self.bundled_tag
        tags = self.release_tags()
        if not tags:
            raise RepoProblem(
                f"template {self.name} has no release tags (PEP 440, e.g. v1.2.0); "
                "tag a release or pass --to REF"
            )
        return tags[-1]

    def resolve(self, *refs: str) -> dict[str, str | None]:
        """Commit ids of `refs` (None for a ref the template does not have)."""
        for ref in refs:
            if ref not in self._resolved:
                self._resolved[ref] = gitrepo.commit_of(self.repo, ref)
        return {ref: self._resolved[ref] for ref in refs}

    def describe(self, ref: str, sha: str) -> str:
        """What the answers file records for `ref`: the tag, or `git describe` as Copier does."""
        if ref in self.release_tags() or ref in (self.bundled_tag,):
            return ref
        return self._git(gitrepo.describe, self.repo, sha)

    def tree(self, sha: str) -> Path:
        """The template's files at commit `sha`, exported once per machine."""
        root = cache_dir() / "template-trees"
        final = root / sha
        if final.is_dir():
            return final
        root.mkdir(parents=True, exist_ok=True)
        try:
            archive = gitrepo.archive(self.repo, sha)
        except gitrepo.GitFailed as err:
            raise RepoProblem(
                f"template {self.name}: cannot read commit {sha[:12]}: {err.detail}"
            ) from err
        staging = Path(tempfile.mkdtemp(prefix=f".{sha[:12]}-", dir=root))
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(staging, filter="tar")
        try:
            os.replace(staging, final)
        except OSError:  # another process exported it first
            shutil.rmtree(staging, ignore_errors=True)
        return final


class Sources:
    """The template sources of one process, each fetched at most once."""

    def __init__(self) -> None:
        self._sources: dict[str, Source] = {}

    def get(self, src_path: str, recorded_in: Path | None = None) -> Source:
        """The source; `recorded_in` (the answers file naming it) goes into the error,
        since a hand-edited `_src_path` is the usual cause."""
        relative = _relative_path(src_path)
        if relative is not None and recorded_in is not None:
            # Copier reads a relative _src_path from the current directory, as it was
            # when the repo was made; from the repo's own directory is what a team runs
            for base in (Path.cwd(), recorded_in.parent):
                if (base / relative).exists():
                    src_path = str((base / relative).resolve())
                    break
        if src_path not in self._sources:
            try:
                self._sources[src_path] = self._open(src_path)
            except RepoProblem as err:
                if recorded_in is None:
                    raise
                hint = (
                    "; a relative path is read from the current directory or the repo's, "
                    "so run from where it points from, or record an absolute path or URL"
                    if relative is not None
                    else ""
                )
                raise RepoProblem(f"{err} (the _src_path recorded in {recorded_in}{hint})") from err
        return self._sources[src_path]

    def _open(self, src_path: str) -> Source:
        if src_path == BUNDLED_SOURCE:
            tag = ensure_bundled_published()
            return Source(name="evtgen's bundled template", git_dir=store_path(), bundled_tag=tag)
        url = git_url(src_path)
        if url is None:
            raise RepoProblem(
                f"the template {src_path} is not a git repository (or cannot be reached); "
                "update needs the template's versions in git"
            )
        local = Path(url.removeprefix("file://"))
        url = str(local.resolve()) if local.is_absolute() and local.exists() else str(url)
        return Source(name=src_path, git_dir=_mirror(url))


def _relative_path(src_path: str) -> Path | None:
    """`src_path` as a relative file system path, or None (a URL, `gh:x/y`, absolute)."""
    if src_path == BUNDLED_SOURCE or "://" in src_path or src_path.startswith("~"):
        return None
    if ":" in src_path.split("/", 1)[0]:  # gh:owner/repo, git@host:path
        return None
    path = Path(src_path)
    return None if path.is_absolute() else path


def _mirror(url: str) -> Path:
    """A bare mirror of `url` in evtgen's cache, cloned once and fetched once per run."""
    root = cache_dir() / "template-mirrors"
    mirror = root / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".git")
    with _locked(root, mirror.name):
        if not (mirror / "HEAD").is_file():
            shutil.rmtree(mirror, ignore_errors=True)
        try:
            gitrepo.mirror(url, mirror)
        except gitrepo.GitFailed as err:
            raise RepoProblem(f"cannot fetch the template {url}: {err.detail}") from err
    return mirror


@contextlib.contextmanager
def _locked(root: Path, name: str) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@dataclass
class Render:
    """A plain render of one template commit with one set of answers."""

    root: Path
    files: list[str]  # every rendered file, relative, posix
    skip_if_exists: list[str]  # the rendered files matching `_skip_if_exists`
    team_owned: list[str]  # matching the template's `_evtgen_team_owned`
    answers_relpath: str


def template_code(tree: Path) -> list[str]:
    """What in a template would run code: tasks, migrations, Jinja extensions, each
    named with what it runs. Read as Copier reads copier.yml (`!include`d tasks count)."""
    from copier.errors import CopierError

    from evtgen.copier_adapter import template_settings

    try:
        conf = template_settings(tree)
    except (CopierError, ValueError, TypeError, OSError) as err:
        # a copier.yml Copier cannot read could still hide tasks: not known to be safe
        return [f"a copier.yml Copier cannot read ({_one_line(err)})"]
    found: list[str] = []
    for key, what in (
        ("_tasks", "tasks"),
        ("_migrations", "migrations"),
        ("_jinja_extensions", "Jinja extensions"),
    ):
        items = conf.get(key)
        if items:
            shown = items if isinstance(items, list) else [items]
            found.append(f"{what} ({', '.join(_task_name(i) for i in shown[:3])})")
    return found


def _task_name(item: Any) -> str:
    """A task or extension as a reader knows it: its command (or its module)."""
    if isinstance(item, dict):
        item = item.get("command", item)
    if isinstance(item, list):
        item = " ".join(map(str, item))
    return repr(" ".join(str(item).split())[:200])


class Renderer:
    """Renders shared by a run: in memory within a process, on disk across processes."""

    def __init__(self, run_dir: Path, trust: bool) -> None:
        self.run_dir = run_dir
        self.trust = trust
        self._memo: dict[str, Render] = {}

    def render(self, source: Source, sha: str, answers: dict[str, Any]) -> Render:
        key = hashlib.sha256(
            json.dumps([sha, answers], sort_keys=True, default=str).encode()
        ).hexdigest()[:32]
        if key in self._memo:
            return self._memo[key]
        final = self.run_dir / "renders" / key
        if not (final / "render.json").is_file():
            self._render_into(final, source, sha, answers)
        meta = json.loads((final / "render.json").read_text(encoding="utf-8"))
        made = Render(root=final / "tree", **meta)
        self._memo[key] = made
        return made

    def _render_into(self, final: Path, source: Source, sha: str, answers: dict[str, Any]) -> None:
        from copier.errors import CopierError, UnsafeTemplateError
        from jinja2 import TemplateError

        tree = source.tree(sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".render-", dir=final.parent))
        out = staging / "tree"
        try:
            with staging_render(
                plain_source=True,
                src_path=str(tree),
                dst_path=out,
                data=answers,
                defaults=True,
                quiet=True,
                overwrite=True,
                unsafe=self.trust,
                skip_tasks=True,
            ) as render:
                render.copy()
                files = sorted(
                    p.relative_to(out).as_posix()
                    for p in out.rglob("*")
                    if p.is_file() or p.is_symlink()
                )
                skip = [f for f in files if render.skipped_if_exists(Path(f))]
                owned_match = render.path_matcher(render.config.get("evtgen_team_owned") or [])
                owned = [f for f in files if owned_match(Path(f))]
                answers_relpath = render.answers_relpath
            (staging / "render.json").write_text(
                json.dumps(
                    {
                        "files": files,
                        "skip_if_exists": skip,
                        "team_owned": owned,
                        "answers_relpath": answers_relpath,
                    }
                ),
                encoding="utf-8",
            )
        except UnsafeTemplateError as err:
            shutil.rmtree(staging, ignore_errors=True)
            raise RepoProblem(
                f"the template {source.name} runs its own code ({err}); "
                "pass --trust if you trust it"
            ) from err
        except (CopierError, TemplateError, ValueError, OSError, TypeError) as err:
            shutil.rmtree(staging, ignore_errors=True)
            raise RepoProblem(
                f"the template {source.name} at {sha[:12]} could not be rendered with the "
                f"recorded answers: {_one_line(err)}"
            ) from err
        except AssertionError as err:
            from evtgen.copier_adapter import internal_failure

            shutil.rmtree(staging, ignore_errors=True)
            raise RepoProblem(
                f"the template {source.name} at {sha[:12]} could not be rendered: "
                f"{internal_failure(err)}"
            ) from err
        try:
            os.replace(staging, final)
        except OSError:  # another process rendered it first
            shutil.rmtree(staging, ignore_errors=True)


def bundled_model_view(repo: Path, recorded: dict[str, Any]) -> dict[str, Any]:
    """The bundled template's `model` answer recomputed by the installed evtgen from the
    repo's model.yaml: the view's shape is evtgen's code, and the team may have edited
    the model."""
    from evtgen.view import model_view

    return model_view(_repo_model(repo, recorded))


def bundled_model(
    repo: Path, recorded: dict[str, Any], broker: Any = None
) -> tuple[dict[str, Any], bytes | None]:
    """`bundled_model_view`, and the repo's model.yaml with what evtgen resolved and the
    file leaves out written in (a channel for an event the team added), comments and
    layout kept; None when the file already says everything. A model the repo's
    `broker` cannot carry (channel parameters on Redis) is refused."""
    from evtgen.loader.checks import redis_parameters
    from evtgen.modelfile import pinned_text
    from evtgen.view import model_view

    model = _repo_model(repo, recorded)
    if broker == "redis" and (problems := redis_parameters(model, repo / "model.yaml")):
        raise RepoProblem("\n".join(problems))
    text = (repo / "model.yaml").read_bytes().decode("utf-8")  # its line endings kept
    pinned = pinned_text(text, model)
    return model_view(model), (pinned.encode("utf-8") if pinned != text else None)


def _repo_model(repo: Path, recorded: dict[str, Any]) -> Model:
    from evtgen.loader import ModelError, load_model

    model_file = repo / "model.yaml"
    if not model_file.is_file():
        raise RepoProblem(
            f"{model_file} is missing: the bundled template renders from it; restore it "
            "(git checkout -- model.yaml)"
        )
    service = recorded.get("service") if isinstance(recorded, dict) else None
    try:
        return load_model(model_file, service=service if isinstance(service, str) else None)
    except ModelError as err:
        raise RepoProblem(f"the repo's model is not valid:\n{err}") from err


def _one_line(err: object) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 300 else text[:297] + "..."
