"""`evtgen template init`: a platform team's new template (or overlay), tests ready."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import run_evtgen
from generated import fresh_venv, run_in

from evtgen import __version__


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


@pytest.mark.slow
@pytest.mark.parametrize("overlay", [False, True], ids=["template", "overlay"])
def test_the_scaffolds_own_tests_pass_in_a_fresh_venv(tmp_path: Path, overlay: bool) -> None:
    dest = tmp_path / "acme-service"
    done = run_evtgen("template", "init", dest, *(["--overlay"] if overlay else []))
    assert done.code == 0, done.stderr
    bin_dir = fresh_venv(dest, requirements="requirements-test.txt")
    check = run_in(dest, bin_dir, "pytest", "-q", "-p", "no:cacheprovider")
    assert check.code == 0, check.output
    assert " passed" in check.output and "skipped" not in check.output


def test_a_new_template_is_committed_and_serves_evtgen_new(
    tmp_path: Path, write_model: object
) -> None:
    template = tmp_path / "acme-service"
    assert run_evtgen("template", "init", template).code == 0
    assert git(template, "status", "--porcelain") == ""
    git(template, "tag", "v0.1.0")
    model = tmp_path / "payments.yaml"
    model.write_text(
        "events:\n  - name: PaymentTaken\n    fields: {payment_id: uuid}\n", encoding="utf-8"
    )
    made = run_evtgen(
        "new",
        "service",
        "payments",
        "--model",
        model,
        "--template",
        template,
        "--dest",
        tmp_path / "payments",
        "--defaults",
        "--data",
        "owner=@acme/pay",
    )
    assert made.code == 0, made.stderr
    repo = tmp_path / "payments"
    readme = (repo / "README.md").read_text()
    assert "| PaymentTaken | `payments.payment-taken.v1` | published |" in readme
    assert (repo / "CODEOWNERS").read_text() == "* @acme/pay\n"
    assert "payments.payment-taken.v1" in (repo / "src" / "payments" / "__init__.py").read_text()
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v0.1.0"


def test_an_overlay_names_its_own_answers_file(tmp_path: Path) -> None:
    overlay = tmp_path / "Acme Security"
    assert run_evtgen("template", "init", overlay, "--overlay").code == 0
    config = yaml.safe_load((overlay / "copier.yml").read_text())
    assert config["_answers_file"] == ".copier-answers.acme-security.yml"
    assert (overlay / "project" / "acme-security.yml.jinja").is_file()
    assert not (overlay / "project" / "__NAME__.yml.jinja").exists()


def test_inside_an_existing_repository_no_nested_repository_is_made(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    done = run_evtgen("template", "init", tmp_path / "templates" / "svc")
    assert done.code == 2  # the parent folder does not exist yet
    (tmp_path / "templates").mkdir()
    done = run_evtgen("template", "init", tmp_path / "templates" / "svc")
    assert done.code == 0, done.stderr
    assert not (tmp_path / "templates" / "svc" / ".git").exists()


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda d: (d.mkdir(), (d / "keep.txt").write_text("mine")), "is not empty"),
        (lambda d: d.write_text("a file"), "is a file"),
    ],
    ids=["non-empty", "file"],
)
def test_an_occupied_destination_is_refused_and_left_alone(
    tmp_path: Path, setup: object, expected: str
) -> None:
    dest = tmp_path / "tpl"
    setup(dest)  # type: ignore[operator]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    done = run_evtgen("template", "init", dest)
    assert done.code == 2
    assert expected in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_a_folder_name_that_cannot_name_a_template_is_refused(tmp_path: Path) -> None:
    done = run_evtgen("template", "init", tmp_path / "123")
    assert done.code == 2
    assert "starts with a letter" in done.stderr
    assert not (tmp_path / "123").exists()


def template_test(*args: str | Path) -> tuple[int, dict[str, object], str]:
    done = run_evtgen("template", "test", *args, "--json")
    return done.code, json.loads(done.stdout) if done.stdout.strip() else {}, done.stderr


@pytest.mark.slow
def test_template_test_renders_every_choice_and_runs_each_repos_tests(tmp_path: Path) -> None:
    template = tmp_path / "acme-service"
    assert run_evtgen("template", "init", template).code == 0
    code, report, progress = template_test(template)
    assert code == 0, report
    cases = report["cases"]
    assert isinstance(cases, list)
    assert [c["name"] for c in cases] == [
        "defaults",
        "broker=rabbitmq",
        "broker=nats",
        "broker=redis",
    ]
    assert all(c["passed"] and c["stage"] == "test" for c in cases)
    assert "[4/4] broker=redis" in progress
    # a new template, committed but never released: nothing to upgrade from, and said so
    assert report["notes"] == [
        f"the upgrade path was not tested: {template} has no release tag "
        "(a PEP 440 version, e.g. `git tag v0.1.0`)"
    ]


@pytest.mark.slow
def test_template_test_is_red_when_a_generated_repos_tests_fail(tmp_path: Path) -> None:
    template = tmp_path / "acme-service"
    assert run_evtgen("template", "init", template).code == 0
    broken = template / "project" / "tests" / "test_channels.py.jinja"
    broken.write_text(broken.read_text() + "\n\ndef test_broken() -> None:\n    assert False\n")
    git(template, "commit", "-qam", "Break the generated tests")
    matrix = tmp_path / "matrix.yml"
    matrix.write_text("cases:\n  - {broker: nats}\nupgrade: false\n")
    code, report, _ = template_test(template, "--matrix", matrix)
    assert code == 1
    (case,) = report["cases"]  # type: ignore[misc]
    assert case["name"] == "broker=nats" and not case["passed"] and case["stage"] == "test"
    assert "test_broken" in case["detail"]


def test_template_test_reports_a_template_that_does_not_render(tmp_path: Path) -> None:
    template = tmp_path / "acme-service"
    assert run_evtgen("template", "init", template).code == 0
    (template / "project" / "README.md.jinja").write_text("{% if %}\n")
    matrix = tmp_path / "matrix.yml"
    matrix.write_text("- {}\n")
    code, report, _ = template_test(template, "--matrix", matrix)
    assert code == 1
    assert [(c["stage"], c["passed"]) for c in report["cases"]] == [("render", False)]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cases: {broker: nats}\n", "give `cases:`"),
        ("cases: [{}]\nsetup: [make]\n", "unknown key 'setup'"),
        ("cases: [{}]\ntest: make test\n", "`test` must be a list"),
        ("cases: [nats]\n", "case 1 is not a mapping"),
        ("cases: [\n", "not valid YAML"),
    ],
)
def test_a_bad_matrix_file_is_one_line_and_exit_2(tmp_path: Path, text: str, message: str) -> None:
    matrix = tmp_path / "matrix.yml"
    matrix.write_text(text)
    done = run_evtgen("template", "test", "--matrix", matrix)
    assert done.code == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_the_default_matrix_takes_every_choice_once_in_any_spelling() -> None:
    from evtgen.commands.template_test import default_matrix

    questions = {
        "model": {"type": "yaml", "ask": False, "default": {}},
        "broker": {"choices": {"Kafka": "kafka", "NATS": "nats"}, "default": "kafka"},
        "ci": {"choices": ["none", "github"], "default": "none"},
        "python": {"choices": [["3.12 (default)", "3.12"], ["3.13", "3.13"]], "default": "3.12"},
        "docker": {"type": "bool", "default": True},
        "region": {"choices": "{{ regions }}"},
        "name": {"type": "str", "default": "x"},
    }
    matrix, left_out = default_matrix(questions)
    assert matrix.cases == [
        {},
        {"broker": "nats"},
        {"ci": "github"},
        {"python": "3.13"},
        {"docker": False},
    ]
    assert matrix.names == ["defaults", "broker=nats", "ci=github", "python=3.13", "docker=False"]
    assert left_out == []


def test_the_default_matrix_holds_only_cases_the_template_accepts() -> None:
    from evtgen.commands.template_test import default_matrix
    from evtgen.copier_adapter import AnswersRefused

    questions = {
        "model": {"type": "yaml", "ask": False, "default": {"saga": None}},
        "pattern": {"choices": ["choreography", "orchestration"], "default": "choreography"},
        "broker": {"choices": ["kafka", "nats", "mqtt"], "default": "kafka"},
    }

    def settle(answers: dict[str, object]) -> dict[str, object]:
        settled = {"model": {"saga": None}, "pattern": "choreography", "broker": "kafka"}
        settled.update(answers)
        if settled["pattern"] == "orchestration" and not settled["model"]["saga"]:  # type: ignore[index]
            raise AnswersRefused("the model has no saga")
        if settled["broker"] == "mqtt":
            raise AnswersRefused("no mqtt here")
        return settled

    saga = {"saga": {"name": "FulfilOrder"}}
    matrix, left_out = default_matrix(
        questions, settle, [("sample model", {"saga": None}), ("sample saga", saga)]
    )
    assert matrix.cases == [{}, {"pattern": "orchestration", "model": saga}, {"broker": "nats"}]
    assert matrix.names == ["defaults", "pattern=orchestration, model=sample saga", "broker=nats"]
    assert left_out == ["left out broker=mqtt: the template refuses it (no mqtt here)"]


def test_defaults_the_template_refuses_stay_a_case_that_fails_at_render() -> None:
    from evtgen.commands.template_test import default_matrix
    from evtgen.copier_adapter import AnswersRefused

    def settle(answers: dict[str, object]) -> dict[str, object]:
        if "name" not in answers:
            raise AnswersRefused('Question "name" is required')
        return answers

    questions = {"name": {"type": "str"}, "ci": {"choices": ["none", "github"]}}
    matrix, left_out = default_matrix(questions, settle)
    assert matrix.cases == [{}]
    assert left_out == [
        'left out ci=none: the template refuses it (Question "name" is required)',
        'left out ci=github: the template refuses it (Question "name" is required)',
    ]


def test_the_bundled_templates_default_matrix_orchestrates_the_sample_saga() -> None:
    from conftest import TEMPLATE

    from evtgen.commands.template_test import default_matrix, sample_models
    from evtgen.copier_adapter import open_template

    with open_template(str(TEMPLATE)) as template:
        questions = template.questions
        matrix, left_out = default_matrix(questions, template.settle, sample_models(questions))
    assert left_out == []
    assert "pattern=orchestration, model=sample saga" in matrix.names
    (orchestrated,) = (c for c in matrix.cases if c.get("pattern") == "orchestration")
    assert orchestrated["model"]["saga"]["name"] == "FulfilOrder"
    assert len(matrix.cases) == len(matrix.names) == 11


@pytest.mark.slow
def test_template_test_is_red_for_the_one_release_that_is_broken(tmp_path: Path) -> None:
    template = tmp_path / "acme-service"
    assert run_evtgen("template", "init", template).code == 0
    readme = template / "project" / "README.md.jinja"
    good = readme.read_text()
    readme.write_text("{% if %}\n" + good)  # v0.1.0 cannot render
    git(template, "commit", "-qam", "Broken")
    git(template, "tag", "v0.1.0")
    readme.write_text(good)
    git(template, "commit", "-qam", "Fixed")
    git(template, "tag", "v0.2.0")
    matrix = tmp_path / "matrix.yml"
    matrix.write_text("cases: [{}]\n")
    code, report, progress = template_test(template, "--matrix", matrix)
    assert code == 1
    verdicts = [(c["name"], c["passed"], c["stage"]) for c in report["cases"]]  # type: ignore[union-attr]
    assert verdicts == [
        ("defaults", True, "test"),
        ("upgrade v0.1.0 -> HEAD", False, "render"),
        ("upgrade v0.2.0 -> HEAD", True, "test"),
    ]
    assert "[3/3] upgrade v0.2.0 -> HEAD" in progress


@pytest.mark.slow
def test_template_test_on_the_bundled_template_upgrades_from_each_older_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from conftest import TEMPLATE

    monkeypatch.setenv("EVTGEN_DATA_DIR", str(tmp_path / "data"))
    from evtgen.store import publish

    old = tmp_path / "old-template"
    shutil.copytree(TEMPLATE, old)
    dockerfile = old / "project" / "Dockerfile.jinja"
    dockerfile.write_text(dockerfile.read_text().replace("EXPOSE", "# EXPOSE"))
    publish(old, "0.0.9")
    matrix = tmp_path / "matrix.yml"
    matrix.write_text("cases: [{broker: nats}]\n")
    code, report, _ = template_test("--matrix", matrix)
    cases = report["cases"]
    assert code == 0, cases
    assert [c["name"] for c in cases] == ["broker=nats", f"upgrade v0.0.9 -> v{__version__}"]  # type: ignore[union-attr]
