"""`evtgen template test`: render a template over a matrix of answers, install each
generated repo and run its tests, then test the upgrade from every release tag.

A case is one generated repo: its answers, and where it stopped if it failed
(render, install, test, or update for an upgrade case).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from evtgen.errors import UsageError

DEFAULT_TEST = ["pytest -q -p no:cacheprovider"]
MATRIX_KEYS = {"cases", "install", "test", "upgrade"}


@dataclass
class Matrix:
    """What to render and how to check each result."""

    cases: list[dict[str, Any]]
    install: list[str] | None = None  # None: install a Python repo the usual way
    test: list[str] = field(default_factory=lambda: list(DEFAULT_TEST))
    upgrade: bool = True
    names: list[str] = field(default_factory=list)  # the cases' names, when not their answers


@dataclass
class CaseReport:
    name: str
    kind: str  # "render" or "upgrade"
    answers: dict[str, Any]
    passed: bool
    stage: str  # the last stage reached: render, install, test, update
    detail: str = ""  # the end of the failing command's output
    seconds: float = 0.0


@dataclass
class TemplateTestReport:
    template: str
    ref: str | None
    cases: list[CaseReport]
    #: what was not tested, and why (a choice the template refuses, no release to upgrade from)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(not case.passed for case in self.cases)


def default_matrix(
    questions: dict[str, dict[str, Any]],
    settle: Callable[[dict[str, Any]], dict[str, Any]] = dict,
    models: Sequence[tuple[str, Any]] = (),
) -> tuple[Matrix, list[str]]:
    """The defaults, then every choice of every question once (the rest at defaults),
    and what was left out, saying why.

    `settle` gives every answer the template takes for some given ones (Copier's, in
    `template_test`), or raises `AnswersRefused` (its validators). A refused choice
    is tried with each of `models` (name, `model` answer) in turn, since a choice may
    need another model (orchestration needs a saga); refused with all of them, it is
    left out. A choice that settles on the same answers as a case already there (its
    default, once rendered) would make the same repo: it is left out too."""
    from evtgen.copier_adapter import AnswersRefused

    matrix = Matrix(cases=[{}], names=["defaults"])
    try:
        made = [settle({})]
    except AnswersRefused:
        made = []  # the defaults case stays: its render fails, saying why
    left_out: list[str] = []
    for name, question in questions.items():
        if question.get("ask", True) is False or question.get("when") is False:
            continue
        values = choice_values(question)
        if not values and question.get("type") == "bool":
            values = [True, False]
        default = question.get("default")
        for value in values:
            case: dict[str, Any] = {name: value}
            if value == default or case in matrix.cases:
                continue
            tries = [(_case_name(case), case)] + [
                (f"{_case_name(case)}, model={model_name}", {**case, "model": model})
                for model_name, model in models
            ]
            why = ""
            for case_name, answers in tries:
                try:
                    settled = settle(answers)
                except AnswersRefused as refused:
                    why = why or str(refused)
                    continue
                if settled not in made:
                    matrix.cases.append(answers)
                    matrix.names.append(case_name)
                    made.append(settled)
                break
            else:
                left_out.append(f"left out {_case_name(case)}: the template refuses it ({why})")
    return matrix, left_out


def sample_models(questions: dict[str, dict[str, Any]]) -> list[tuple[str, Any]]:
    """evtgen's sample models as `model` answers, for a template that takes evtgen's
    model view as its `model` question (a `yaml` one, as the bundled template does);
    none for any other template."""
    model = questions.get("model")
    if not isinstance(model, dict) or model.get("type") != "yaml":
        return []
    from evtgen.loader import load_model
    from evtgen.templates import sample_model_path, sample_saga_path
    from evtgen.view import model_view

    return [
        ("sample model", model_view(load_model(sample_model_path(), service="orders"))),
        ("sample saga", model_view(load_model(sample_saga_path(), service="fulfilment"))),
    ]


def choice_values(question: dict[str, Any]) -> list[Any]:
    """The values of a question's choices, in any of Copier's spellings; none when
    the choices are computed by Jinja (they depend on other answers)."""
    choices = question.get("choices")
    if isinstance(choices, dict):
        raw = list(choices.values())
    elif isinstance(choices, list):
        raw = [c[1] if isinstance(c, list | tuple) and len(c) == 2 else c for c in choices]
    else:
        return []
    values = [v["value"] if isinstance(v, dict) and "value" in v else v for v in raw]
    return [v for v in values if not (isinstance(v, str) and "{{" in v)]


def load_matrix(path: Path) -> Matrix:
    """A matrix file: a list of answer sets, or a mapping with `cases`, and optionally
    `install` and `test` (shell commands run in each repo) and `upgrade` (bool)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise UsageError(f"cannot read the matrix {path}: {err.strerror or err}") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise UsageError(f"{where}: not valid YAML; fix the matrix file") from err
    if isinstance(data, list):
        data = {"cases": data}
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise UsageError(
            f"{path}: give `cases:`, a list of answer mappings, e.g. - {{broker: nats}}"
        )
    if unknown := set(data) - MATRIX_KEYS:
        raise UsageError(f"{path}: unknown key {sorted(unknown)[0]!r}; use {sorted(MATRIX_KEYS)}")
    for number, case in enumerate(data["cases"], 1):
        if not isinstance(case, dict):
            raise UsageError(f"{path}: case {number} is not a mapping of answers")
    commands = {key: data.get(key) for key in ("install", "test")}
    for key, value in commands.items():
        if value is not None and not (
            isinstance(value, list) and all(isinstance(c, str) for c in value)
        ):
            raise UsageError(f"{path}: `{key}` must be a list of shell commands")
    return Matrix(
        cases=[dict(c) for c in data["cases"]] or [{}],
        install=commands["install"],
        test=commands["test"] if commands["test"] is not None else list(DEFAULT_TEST),
        upgrade=bool(data.get("upgrade", True)),
    )


def template_test(
    src: str,
    matrix_file: Path | None = None,
    vcs_ref: str | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> TemplateTestReport:
    """Test the template at `vcs_ref` (default HEAD, with uncommitted changes, as
    Copier renders a local HEAD): each case of the matrix, then the upgrade to it
    from every older release tag."""
    from copier.errors import CopierError

    from evtgen.copier_adapter import git_url, open_template

    target = vcs_ref or "HEAD"
    notes: list[str] = []
    try:
        with open_template(src, target) as template:
            questions = template.questions  # read even with a matrix: is it a template?
            if matrix_file:
                matrix = load_matrix(matrix_file)
            else:
                matrix, notes = default_matrix(questions, template.settle, sample_models(questions))
    except (CopierError, OSError, ValueError) as err:
        raise UsageError(f"cannot read the template {src}: {' '.join(str(err).split())}") from err
    names = matrix.names or [_case_name(answers) for answers in matrix.cases]
    plan: list[tuple[str, str, dict[str, Any], Callable[[Path], None]]] = [
        (name, "render", answers, partial(_render, src, answers=answers, ref=target))
        for name, answers in zip(names, matrix.cases, strict=True)
    ]
    if matrix.upgrade:
        url = git_url(src)
        if url is not None and Path(url).exists():
            url = str(Path(url).resolve())  # ls-remote misreads some relative paths
        tags = release_tags(url, before=vcs_ref) if url is not None else []
        plan += [
            (
                f"upgrade {tag} -> {target}",
                "upgrade",
                matrix.cases[0],
                partial(_generate_then_update, src, answers=matrix.cases[0], tag=tag, to=target),
            )
            for tag in tags
        ]
        if url is None:
            notes.append(
                f"the upgrade path was not tested: {src} is not the root of a git "
                "repository, so it has no releases (Copier versions a template by the "
                "tags of its own repository)"
            )
        elif not tags:
            older = f" older than {vcs_ref}" if vcs_ref and _version(vcs_ref) else ""
            notes.append(
                f"the upgrade path was not tested: {src} has no release tag{older} "
                "(a PEP 440 version, e.g. `git tag v0.1.0`)"
            )
    for note in notes:
        progress(note)
    cases: list[CaseReport] = []
    with tempfile.TemporaryDirectory(prefix="evtgen-template-test-") as scratch:
        for number, (name, kind, answers, make) in enumerate(plan, 1):
            progress(f"[{number}/{len(plan)}] {name}")
            repo = Path(scratch) / f"case-{number}"
            cases.append(_run_case(name, kind, answers, matrix, make, repo))
            progress(f"  {_verdict(cases[-1])}")
    return TemplateTestReport(template=src, ref=vcs_ref, cases=cases, notes=notes)


class _StageFailed(Exception):
    def __init__(self, stage: str, detail: str) -> None:
        super().__init__(detail)
        self.stage = stage
        self.detail = detail


def _run_case(
    name: str,
    kind: str,
    answers: dict[str, Any],
    matrix: Matrix,
    make: Callable[[Path], None],
    repo: Path,
) -> CaseReport:
    started = time.monotonic()
    stage = "render" if kind == "render" else "update"
    try:
        make(repo)
        stage = "install"
        for command in matrix.install if matrix.install is not None else _python_install(repo):
            _shell(repo, command, stage)
        stage = "test"
        for command in matrix.test:
            _shell(repo, command, stage)
    except _StageFailed as failure:
        return CaseReport(
            name, kind, answers, False, failure.stage, failure.detail, _since(started)
        )
    finally:
        shutil.rmtree(repo / ".venv", ignore_errors=True)
    return CaseReport(name, kind, answers, True, stage, "", _since(started))


def _case_name(answers: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in answers.items()) or "defaults"


def _generate_then_update(
    src: str, repo: Path, *, answers: dict[str, Any], tag: str, to: str
) -> None:
    _render(src, repo, answers=answers, ref=tag)
    _commit_all(repo, f"Generated from {tag}")
    _update(repo, to)


def _render(src: str, repo: Path, *, answers: dict[str, Any], ref: str) -> None:
    from copier.errors import CopierError
    from jinja2 import TemplateError

    from evtgen.copier_adapter import staging_render

    try:
        with staging_render(
            src_path=src,
            dst_path=repo,
            data=answers,
            vcs_ref=ref,
            defaults=True,
            unsafe=True,
            quiet=True,
        ) as render:
            render.copy()
    except (CopierError, TemplateError, ValueError, OSError) as err:
        raise _StageFailed("render", " ".join(str(err).split())[-2000:]) from err


def _python_install(repo: Path) -> list[str]:
    """How a Python repo installs with its test extra; nothing for other repos."""
    pyproject = repo / "pyproject.toml"
    if not pyproject.is_file():
        return []
    extra = "[test]" if "test" in _optional_dependencies(pyproject) else ""
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    python = shlex.quote(sys.executable)
    if Path(uv).exists():
        return [
            f"{uv} venv -q --python {python} .venv",
            f"{uv} pip install -q -p .venv -e '.{extra}'",
        ]
    return [f"{python} -m venv .venv", f".venv/bin/pip install -q -e '.{extra}'"]


def _optional_dependencies(pyproject: Path) -> dict[str, Any]:
    import tomllib

    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    extras = data.get("project", {}).get("optional-dependencies", {})
    return extras if isinstance(extras, dict) else {}


def _shell(repo: Path, command: str, stage: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    venv_bin = repo / ".venv" / "bin"
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        command, shell=True, cwd=repo, env=env, capture_output=True, text=True, timeout=1800
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip().splitlines()
        raise _StageFailed(
            stage, f"`{command}` exited {done.returncode}:\n" + "\n".join(output[-30:])
        )


def bundled_source(vcs_ref: str | None) -> tuple[str, str]:
    """The bundled template as a git source: evtgen's template store, whose tags are the
    versions evtgen releases published there (docs/update.md), at the installed one."""
    from evtgen.store import ensure_bundled_published, store_path

    installed = ensure_bundled_published()
    return str(store_path()), vcs_ref or installed


def release_tags(src: str, before: str | None = None) -> list[str]:
    """The template's release tags (PEP 440 versions, oldest first); with `before`, a
    version, only the releases older than it (the ones that upgrade to it)."""
    from packaging.version import InvalidVersion, Version

    from evtgen.gitrepo import remote_tags

    tags: list[tuple[Version, str]] = []
    # None: not a git template, so no releases to upgrade from
    for tag in remote_tags(src) or []:
        try:
            tags.append((Version(tag), tag))
        except InvalidVersion:
            continue
    limit = _version(before) if before else None
    return [tag for version, tag in sorted(tags) if limit is None or version < limit]


def _version(ref: str) -> Any:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(ref)
    except InvalidVersion:
        return None  # a branch or a commit: every release upgrades to it


def _commit_all(repo: Path, message: str) -> None:
    from evtgen.gitrepo import GitFailed, init_and_commit

    try:
        init_and_commit(repo, message)
    except GitFailed as err:
        raise _StageFailed("update", str(err)) from err


def _update(repo: Path, ref: str) -> None:
    """Update the repo with evtgen itself, as a platform team would."""
    done = subprocess.run(
        [sys.executable, "-m", "evtgen", "update", str(repo), "--to", ref, "--trust"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise _StageFailed("update", f"evtgen update exited {done.returncode}: {output[-2000:]}")


def _verdict(case: CaseReport) -> str:
    return f"passed ({case.seconds:.0f}s)" if case.passed else f"FAILED at {case.stage}"


def _since(started: float) -> float:
    return round(time.monotonic() - started, 1)
