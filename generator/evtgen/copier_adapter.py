"""Every use evtgen makes of Copier beyond its public API, in one place.

Copier's public API is `run_copy`, `run_update` and `run_recopy` (and `copier.errors`).
evtgen needs more: a render into a staging directory without Copier's per-file git
calls, a template's questions, whether the template's own validators accept a set of
answers, a template's migrations and tasks run on their own, and Copier's view of
what is a git template. These reach into Copier's private modules (`copier._main`,
`copier._template`, `copier._types`, `copier._vcs`), which change without notice.

So they are here and nowhere else, and tests/test_copier_adapter.py checks each
private name and behaviour this module relies on against the installed Copier,
failing with the Copier version and the internal that changed. `COVERED` is the
range that test has been run on; pyproject.toml pins Copier to it (the test checks
that they agree). To widen it: install the new Copier, run that test, adapt here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from evtgen.render import cache_compiled_code, cache_dir

if TYPE_CHECKING:
    from copier._main import Worker
    from copier._template import Template

#: The Copier versions tests/test_copier_adapter.py covers: 9.15 added the per-file
#: `_sync_git_index_executable_bit` that staging renders switch off; 9.19.0 checks out
#: a tag with `git checkout --end-of-options`, which git 2.39 (Debian 12) refuses.
COVERED = ">=9.15,!=9.19.0,<9.20"


class Render:
    """One render of a template into a staging directory (Copier's Worker behind it)."""

    def __init__(self, worker: Worker) -> None:
        self._worker = worker

    @property
    def questions(self) -> dict[str, Any]:
        """The template's questions, as its copier.yml writes them."""
        return dict(self._worker.template.questions_data)

    @property
    def config(self) -> dict[str, Any]:
        """The template's settings (copier.yml's `_` keys, without the underscore)."""
        return dict(self._worker.template.config_data)

    def copy(self) -> None:
        """Render the template into the destination (Copier's `copy`)."""
        self._worker.run_copy()

    def skipped_if_exists(self, relpath: Path) -> bool:
        """Whether the template's `_skip_if_exists` names `relpath`."""
        return bool(self._worker.match_skip(relpath))

    def path_matcher(self, patterns: Iterable[str]) -> Callable[[Path], bool]:
        """A matcher for gitignore-style `patterns`, each rendered with the answers
        first, as Copier does with its own `_skip_if_exists` and `_exclude`."""
        worker = self._worker
        return worker._path_matcher(map(worker._render_string, patterns))

    @property
    def answers_relpath(self) -> str:
        """Where the destination records its answers (the template's `_answers_file`)."""
        return self._worker.answers_relpath.as_posix()


def _staging_worker(*, plain_source: bool = False, **options: Any) -> Worker:
    """A Copier Worker for rendering into a staging directory that evtgen made.

    - Copier asks git about every file it writes, to keep the index's executable bit
      in step (a subprocess per file). A fresh staging directory has no git index to
      keep in step, so that is switched off.
    - `plain_source`: `src_path` is a plain directory evtgen exported from git
      (update, check), so Copier need not probe it with git (three processes).
    - Copier compiles every template file with Jinja on every render; its Jinja
      environment keeps the compiled code in evtgen's cache (evtgen.render)."""
    from copier._main import Worker
    from copier._template import Template

    class StagingWorker(Worker):
        def _sync_git_index_executable_bit(self, *args: Any, **kwargs: Any) -> None:
            return None

    made = StagingWorker(**options)
    if plain_source:
        template = Template(url=str(options["src_path"]))
        template.__dict__["vcs"] = None  # cached_property: known, not probed
        made.__dict__["template"] = template  # cached_property, set before first use
    # building the Jinja environment imports the template's `_jinja_extensions` (their
    # top-level code runs): an untrusted template is refused before, not in run_copy
    made._check_unsafe("copy")
    directory = cache_dir() / "jinja-code"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return made  # no cache: the same result, compiled afresh
    cache_compiled_code(made.jinja_env, directory)
    return made


@contextmanager
def staging_render(*, plain_source: bool = False, **options: Any) -> Iterator[Render]:
    """A render into a staging directory; `options` are Copier's Worker settings
    (src_path, dst_path, data, vcs_ref, defaults, unsafe, quiet, overwrite, ...).
    Copier's errors (copier.errors, jinja2's, ValueError, OSError) pass through."""
    worker = _staging_worker(plain_source=plain_source, **options)
    with worker:  # Copier's cleanup (temporary clones) on the way out
        yield Render(worker)


def internal_failure(err: AssertionError) -> str:
    """An assertion inside Copier, said as what a template author can change: Copier
    asserts what it expects of a template's files (e.g. that a path it made a folder
    for is one, which a symlink and a folder rendering to one name break)."""
    import traceback

    frames = traceback.extract_tb(err.__traceback__)
    where = next((f for f in reversed(frames) if "copier" in f.filename), None)
    at = f" in {where.name}" if where else ""
    return (
        f"Copier failed on an internal check{at} ({' '.join(str(err).split()) or 'assert'}); "
        "two template paths may render to one name (a symlink and a folder, say): "
        "rename one of them"
    )


class AnswersRefused(Exception):
    """The template refuses a set of answers; the message is Copier's reason."""


class TemplateQuestions:
    """A template's questions, and the answers it settles on for some given ones
    (`open_template`). The template is read once for both."""

    def __init__(self, template: Template, src: str, ref: str | None) -> None:
        self._template = template
        self._src = src
        self._ref = ref

    @property
    def questions(self) -> dict[str, Any]:
        return dict(self._template.questions_data)

    def settle(self, answers: dict[str, Any]) -> dict[str, Any]:
        """Every answer `copier copy --defaults --data ANSWERS` would take: the given
        ones parsed, the others at their defaults (rendered). `AnswersRefused`, with
        Copier's reason, when the template refuses them (its validators, its types)."""
        from copier._main import Worker
        from copier._types import Phase

        with tempfile.TemporaryDirectory(prefix="evtgen-answers-") as scratch:
            worker = Worker(
                src_path=self._src,
                vcs_ref=self._ref,
                dst_path=Path(scratch),
                data=answers,
                defaults=True,
                quiet=True,
                unsafe=True,  # the answers are checked, nothing of the template is run
            )
            worker.__dict__["template"] = self._template  # read once, cleaned up once
            try:
                with Phase.use(Phase.PROMPT):
                    worker._ask()  # what `copy` does first: parse and validate the data
            except Exception as err:  # a validator, a type, a default's Jinja: all refuse
                raise AnswersRefused(" ".join(str(err).split()) or type(err).__name__) from err
            return dict(worker.answers.user)


@contextmanager
def open_template(src: str, ref: str | None = None) -> Iterator[TemplateQuestions]:
    """The template at `src` (a path or a git URL) at `ref` (None: Copier's choice,
    the newest release tag or HEAD), removed again on the way out if it was cloned."""
    from copier._template import Template

    template = Template(url=src, ref=ref)
    try:
        yield TemplateQuestions(template, src, ref)
    finally:
        template._cleanup()


def template_settings(tree: Path) -> dict[str, Any]:
    """A template's copier.yml as Copier reads it (its `!include`s and its several
    YAML documents merged), keys as written (`_tasks`, ...). Empty when it has none.
    Copier's errors (copier.errors) pass through."""
    from copier._template import load_template_config

    for name in ("copier.yml", "copier.yaml"):
        if (tree / name).is_file():
            return dict(load_template_config(tree / name, quiet=True))
    return {}


def git_url(src_path: str) -> str | None:
    """The git URL Copier makes of a template source (`gh:x/y`, a path to a repo's
    root, a bundle), or None when Copier takes it as a plain directory."""
    from copier._vcs import get_repo

    return get_repo(src_path)


def run_template_code(
    src: str,
    *,
    from_ref: str,
    to_ref: str,
    dst: Path,
    answers: dict[str, Any],
    stage: Literal["before", "after"],
) -> None:
    """The migrations of the template at `to_ref` for `stage` of an update from
    `from_ref`, and after the `after` ones its tasks, run in `dst` by Copier's own
    Worker as Copier's update runs them (`_copier_operation` is "update"). Trusted:
    the caller decides. Whatever the template's code raises passes through."""
    from copier._main import _operation
    from copier._template import Template
    from copier._types import Phase

    old = Template(url=src, ref=from_ref)
    worker = _staging_worker(
        src_path=src,
        vcs_ref=to_ref,
        dst_path=dst,
        data=answers,
        defaults=True,
        quiet=True,
        unsafe=True,
        overwrite=True,
    )
    token = _operation.set("update")
    try:
        with worker:
            with Phase.use(Phase.PROMPT):
                worker._ask()
            with Phase.use(Phase.MIGRATE):
                worker._execute_tasks(worker.template.migration_tasks(stage, old))
            if stage == "after":
                with Phase.use(Phase.TASKS):
                    worker._execute_tasks(worker.template.tasks)
    finally:
        old._cleanup()
        _operation.reset(token)


def preload() -> None:
    """Import Copier's engine now (before worker processes fork, so each need not)."""
    import copier._main  # noqa: F401
