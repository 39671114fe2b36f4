"""evtgen.copier_adapter against the installed Copier: every private name and behaviour
the adapter relies on is still there and behaves as assumed. A failure names the
Copier version and the internal that changed, so a Copier release that moves them is
caught here, before a user meets it."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import inspect
import subprocess
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from evtgen.copier_adapter import (
    COVERED,
    AnswersRefused,
    git_url,
    open_template,
    run_template_code,
    staging_render,
)

COPIER = importlib.metadata.version("copier")


def _message(internal: str, what: str) -> str:
    return (
        f"Copier {COPIER}: {internal} is not as evtgen.copier_adapter assumes ({what}). "
        f"The adapter covers Copier {COVERED}: adapt it to this Copier, then widen "
        "COVERED there and the copier range in pyproject.toml"
    )


@contextmanager
def relied_on(internal: str) -> Iterator[None]:
    """Any failure inside becomes one loud line naming Copier's version and `internal`."""
    failure = None
    try:
        yield
    except Exception as err:  # an AttributeError, a TypeError, an AssertionError...
        detail = str(err).strip().splitlines()[0] if str(err).strip() else ""
        failure = _message(internal, f"{type(err).__name__}: {detail}")
    if failure:  # one line, not Copier's traceback
        try:
            pytest.fail(failure, pytrace=False)
        except pytest.fail.Exception as loud:
            raise loud from None


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_the_installed_copier_is_one_the_adapter_covers() -> None:
    assert Version(COPIER) in SpecifierSet(COVERED), _message(
        "the version", f"outside the covered {COVERED}"
    )


def test_pyproject_pins_copier_to_the_covered_range() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (copier,) = (r for r in map(Requirement, data["project"]["dependencies"]) if r.name == "copier")
    assert copier.specifier == SpecifierSet(COVERED), (
        f"pyproject.toml allows copier{copier.specifier}, the adapter covers {COVERED}"
    )


def _attribute(dotted: str) -> Any:
    module, _, rest = dotted.partition(":")
    found: Any = importlib.import_module(module)
    for name in rest.split("."):
        found = inspect.getattr_static(found, name)
    return found


CACHED = [
    "copier._main:Worker.template",
    "copier._main:Worker.jinja_env",
    "copier._main:Worker.match_skip",
    "copier._template:Template.vcs",
    "copier._template:Template.questions_data",
    "copier._template:Template.config_data",
    "copier._template:Template.tasks",
]


@pytest.mark.parametrize("dotted", CACHED)
def test_what_the_adapter_reads_or_presets_is_a_cached_property(dotted: str) -> None:
    # a preset in __dict__ only wins over a cached_property (not a property or method)
    with relied_on(dotted.replace(":", ".")):
        assert isinstance(_attribute(dotted), cached_property), "not a cached_property"


METHODS = {
    "copier._main:Worker._sync_git_index_executable_bit": ["self", "dst_relpath", "src_mode"],
    "copier._main:Worker._ask": ["self"],
    "copier._main:Worker._check_unsafe": ["self", "mode"],
    "copier._template:load_template_config": ["conf_path", "quiet"],
    "copier._main:Worker._execute_tasks": ["self", "tasks"],
    "copier._main:Worker._path_matcher": ["self", "patterns"],
    "copier._main:Worker._render_string": ["self", "string", "extra_context"],
    "copier._main:Worker.run_copy": ["self"],
    "copier._template:Template.migration_tasks": ["self", "stage", "from_template"],
    "copier._template:Template._cleanup": ["self"],
    "copier._vcs:get_repo": ["url"],
}


@pytest.mark.parametrize("dotted", METHODS)
def test_the_methods_the_adapter_calls_take_what_it_passes(dotted: str) -> None:
    with relied_on(dotted.replace(":", ".")):
        found = _attribute(dotted)
        assert callable(found), "not callable"
        assert list(inspect.signature(found).parameters) == METHODS[dotted], (
            f"parameters {list(inspect.signature(found).parameters)}"
        )


def test_worker_takes_the_settings_the_adapter_gives_and_is_a_context_manager() -> None:
    with relied_on("copier._main.Worker"):
        from copier._main import Worker

        fields = {f.name for f in dataclasses.fields(Worker)}
        wanted = {"src_path", "dst_path", "data", "user_defaults", "vcs_ref", "defaults"}
        wanted |= {"unsafe", "quiet", "overwrite", "skip_tasks"}
        assert wanted <= fields, f"no field {sorted(wanted - fields)}"
        assert callable(Worker.__enter__) and callable(Worker.__exit__), "no context manager"
        assert isinstance(inspect.getattr_static(Worker, "answers_relpath"), property), (
            "answers_relpath is not a property"
        )


def test_the_template_takes_a_url_and_a_ref() -> None:
    with relied_on("copier._template.Template"):
        from copier._template import Template

        assert {"url", "ref"} <= {f.name for f in dataclasses.fields(Template)}


def test_the_operation_is_a_context_variable() -> None:
    with relied_on("copier._main._operation"):
        from copier._main import _operation

        assert isinstance(_operation, ContextVar), f"a {type(_operation).__name__}"


def test_the_phases_the_adapter_enters_are_there() -> None:
    with relied_on("copier._types.Phase"):
        from copier._types import Phase

        for name in ("PROMPT", "MIGRATE", "TASKS"):
            assert hasattr(Phase, name), f"no Phase.{name}"
        with Phase.use(Phase.PROMPT):
            pass


TINY = {
    "copier.yml": (
        "_subdirectory: project\n"
        "_answers_file: .answers.yml\n"
        "_skip_if_exists: [keep.txt]\n"
        "_evtgen_team_owned: ['src/{{ package }}/*.py']\n"
        "package: {type: str, default: acme}\n"
        "size:\n"
        "  type: str\n"
        "  choices: [s, m, l]\n"
        "  default: s\n"
        "  validator: \"{% if size == 'l' and not big %}too big for this{% endif %}\"\n"
        "big: {type: bool, default: false}\n"
    ),
    "project/keep.txt": "kept\n",
    "project/size.txt.jinja": "{{ size }}\n",
    "project/run.sh": "#!/bin/sh\n",
    "project/src/{{ package }}/app.py": "",
    "project/{{ _copier_conf.answers_file }}.jinja": "{{ _copier_answers|to_nice_yaml }}",
}


def test_copier_still_calls_the_per_file_git_hook_that_staging_renders_switch_off(
    tmp_path: Path,
) -> None:
    from copier._main import Worker

    template = write(tmp_path / "t", TINY)
    called: list[Path] = []

    class Spy(Worker):
        def _sync_git_index_executable_bit(self, dst_relpath: Path, src_mode: int) -> None:
            called.append(dst_relpath)

    with relied_on("copier._main.Worker._sync_git_index_executable_bit"):
        spy = Spy(src_path=str(template), dst_path=tmp_path / "out", defaults=True, quiet=True)
        with spy:
            spy.run_copy()
        assert Path("size.txt") in called, f"called for {called} only"
    with staging_render(src_path=str(template), dst_path=tmp_path / "staged", defaults=True) as r:
        r.copy()
    assert (tmp_path / "staged" / "size.txt").read_text() == "s\n"


def test_a_plain_source_is_rendered_as_it_is_not_probed_as_a_git_repository(
    tmp_path: Path,
) -> None:
    template = write(tmp_path / "t", TINY)
    git(template, "init", "-q")
    git(template, "add", "-A")
    git(template, "commit", "-qm", "v1")
    git(template, "tag", "v1.0.0")
    (template / "project" / "size.txt.jinja").write_text("newer {{ size }}\n")
    git(template, "commit", "-qam", "after the release")
    with relied_on("copier._template.Template.vcs (preset to None)"):
        # as a git source, Copier renders its newest release...
        with staging_render(src_path=str(template), dst_path=tmp_path / "a", defaults=True) as r:
            r.copy()
        assert (tmp_path / "a" / "size.txt").read_text() == "s\n"
        # ...as a plain one, the files as they are
        with staging_render(
            plain_source=True, src_path=str(template), dst_path=tmp_path / "b", defaults=True
        ) as r:
            r.copy()
        assert (tmp_path / "b" / "size.txt").read_text() == "newer s\n"


def test_a_render_reports_its_questions_settings_skips_and_rendered_patterns(
    tmp_path: Path,
) -> None:
    template = write(tmp_path / "t", TINY)
    with staging_render(
        src_path=str(template), dst_path=tmp_path / "out", defaults=True, data={"package": "shop"}
    ) as render:
        render.copy()
        with relied_on("copier._main.Worker.template.questions_data / config_data"):
            assert list(render.questions) == ["package", "size", "big"]
            assert render.config["evtgen_team_owned"] == ["src/{{ package }}/*.py"]
        with relied_on("copier._main.Worker.match_skip"):
            assert render.skipped_if_exists(Path("keep.txt"))
            assert not render.skipped_if_exists(Path("size.txt"))
        with relied_on("copier._main.Worker._path_matcher / _render_string"):
            owned = render.path_matcher(render.config["evtgen_team_owned"])
            assert owned(Path("src/shop/app.py")), "the pattern was not rendered with answers"
            assert not owned(Path("src/acme/app.py"))
        with relied_on("copier._main.Worker.answers_relpath"):
            assert render.answers_relpath == ".answers.yml"
    assert (tmp_path / "out" / "src" / "shop" / "app.py").is_file()


def test_renders_compile_through_evtgens_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVTGEN_CACHE_DIR", str(tmp_path / "cache"))
    template = write(tmp_path / "t", TINY)
    for out in ("first", "second"):
        with staging_render(src_path=str(template), dst_path=tmp_path / out, defaults=True) as r:
            r.copy()
        with relied_on("copier._main.Worker.jinja_env (the environment files render with)"):
            assert any((tmp_path / "cache" / "jinja-code").iterdir()), "nothing compiled there"
    assert (tmp_path / "second" / "size.txt").read_text() == "s\n"


def test_the_templates_validators_are_evaluated_as_copy_evaluates_them(tmp_path: Path) -> None:
    template = write(tmp_path / "t", TINY)
    with (
        relied_on("copier._main.Worker._ask (validating the data) / Worker.answers.user"),
        open_template(str(template)) as opened,
    ):
        assert list(opened.questions) == ["package", "size", "big"]
        assert opened.settle({}) == {"package": "acme", "size": "s", "big": False}
        assert opened.settle({"size": "l", "big": True}) == {
            "package": "acme",
            "size": "l",
            "big": True,
        }
        with pytest.raises(AnswersRefused, match="too big for this"):
            opened.settle({"size": "l"})


def test_git_templates_are_told_from_plain_directories(tmp_path: Path) -> None:
    repo = write(tmp_path / "repo", {"template/copier.yml": "x: {type: str}\n"})
    git(repo, "init", "-q")
    with relied_on("copier._vcs.get_repo"):
        assert git_url(str(repo)) is not None, "a repository's root is not a git template"
        assert git_url(str(repo / "template")) is None, "a directory inside one is"
        assert git_url(str(tmp_path)) is None, "a plain directory is"
        assert git_url("gh:acme/template") == "https://github.com/acme/template.git"


MIGRATING = {
    **TINY,
    "copier.yml": TINY["copier.yml"]
    + (
        "_migrations:\n"
        "  - version: v2.0.0\n"
        "    when: \"{{ _stage == 'before' }}\"\n"
        '    command: "echo {{ _copier_operation }} {{ _version_from }} > before.txt"\n'
        "  - version: v2.0.0\n"
        '    command: "echo {{ _copier_operation }} {{ _version_to }} > after.txt"\n'
        "_tasks:\n"
        '  - "echo {{ _copier_operation }} {{ size }} > task.txt"\n'
    ),
}


def test_migrations_and_tasks_run_as_an_update_runs_them(tmp_path: Path) -> None:
    template = write(tmp_path / "t", TINY)
    git(template, "init", "-q")
    git(template, "add", "-A")
    git(template, "commit", "-qm", "v1")
    git(template, "tag", "v1.0.0")
    write(template, MIGRATING)
    git(template, "commit", "-qam", "v2")
    git(template, "tag", "v2.0.0")
    repo = tmp_path / "repo"
    repo.mkdir()
    with relied_on("copier._main._operation / Template.migration_tasks / Worker._execute_tasks"):
        update = {"from_ref": "v1.0.0", "to_ref": "v2.0.0", "answers": {"size": "m"}}
        run_template_code(str(template), dst=repo, stage="before", **update)
        assert not (repo / "after.txt").exists(), "the after migration ran before"
        run_template_code(str(template), dst=repo, stage="after", **update)
        assert (repo / "before.txt").read_text().split() == ["update", "v1.0.0"]
        assert (repo / "after.txt").read_text().split() == ["update", "v2.0.0"]
        assert (repo / "task.txt").read_text().split() == ["update", "m"]
