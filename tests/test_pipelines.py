"""Pipelines: the model, its renders in the template, and `evtgen pipeline lint` with
the five real checkers (installed by scripts/install-checkers.sh; a missing one
fails these tests, it does not skip them)."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, TEMPLATE, Run, run_evtgen

from evtgen.errors import InputProblems
from evtgen.pipelines import Context, load_pipeline_model, render
from evtgen.pipelines.model import bundled
from evtgen.pipelines.template import template_files

BROKERS = ("kafka", "rabbitmq", "nats", "redis")
CI = ("github", "tekton", "both", "none")
CHECKERS = {
    "github": ["check-jsonschema", "actionlint", "zizmor"],
    "tekton": ["tekton-lint", "tekton-validate"],
}


def pipeline_files(repo: Path) -> dict[str, str]:
    """Every pipeline file of a generated repo (workflows, Tekton)."""
    out = {}
    for top in (".github", "tekton"):
        for path in sorted((repo / top).rglob("*")):
            if path.is_file():
                out[str(path.relative_to(repo))] = path.read_text(encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def generated(copie_session: Any) -> Callable[[str, str], Path]:
    """The repo plain Copier generates for a ci answer and broker, made once."""
    made: dict[tuple[str, str], Path] = {}

    def get(ci: str, broker: str) -> Path:
        if (ci, broker) not in made:
            result = copie_session.copy(extra_answers={"ci": ci, "broker": broker})
            assert result.exit_code == 0, result.exception
            made[ci, broker] = result.project_dir
        return made[ci, broker]

    return get


def lint(path: Path, *extra: str) -> tuple[Run, dict[str, Any]]:
    done = run_evtgen("pipeline", "lint", path, "--json", *extra)
    return done, json.loads(done.stdout) if done.stdout.strip() else {}


# --- generated pipelines pass every checker ------------------------------------


@pytest.mark.parametrize("broker", BROKERS)
@pytest.mark.parametrize("ci", CI)
def test_generated_pipelines_pass_all_five_checkers(
    generated: Callable[[str, str], Path], ci: str, broker: str
) -> None:
    repo = generated(ci, broker)
    done, report = lint(repo)
    assert done.code == 0, done.stdout + done.stderr
    assert report["findings"] == []  # no warning either, zizmor's included
    ran = {c["name"] for c in report["checkers"] if c["status"] == "ran"}
    wanted = {
        "github": CHECKERS["github"],
        "tekton": CHECKERS["tekton"],
        "both": CHECKERS["github"] + CHECKERS["tekton"],
        "none": [],
    }[ci]
    assert ran == set(wanted)
    if ci == "none":
        assert pipeline_files(repo) == {}


@pytest.mark.parametrize("broker", BROKERS)
@pytest.mark.parametrize("ci", CI)
def test_plain_copier_writes_exactly_what_the_renderers_give(
    generated: Callable[[str, str], Path], ci: str, broker: str
) -> None:
    expected = render(load_pipeline_model(), ci, Context("orders", "3.12", broker))
    assert pipeline_files(generated(ci, broker)) == expected


def test_any_service_name_and_python_version_render_the_same_through_copier(
    copie: Any,
) -> None:
    from evtgen.loader import parse_model
    from evtgen.view import model_view

    model = parse_model("service: 'no'\nevents:\n  - name: Happened\n", "m")
    result = copie.copy(
        extra_answers={
            "model": model_view(model),
            "ci": "both",
            "broker": "rabbitmq",
            "python_version": "3.13",
        }
    )
    assert result.exit_code == 0, result.exception
    expected = render(load_pipeline_model(), "both", Context("no", "3.13", "rabbitmq"))
    assert pipeline_files(result.project_dir) == expected
    done, _ = lint(result.project_dir)
    assert done.code == 0, done.stdout


@pytest.mark.parametrize(
    ("ci", "broker"), [("github", "kafka"), ("tekton", "nats"), ("both", "redis")]
)
def test_evtgen_new_gives_the_same_pipelines_as_plain_copier(
    generated: Callable[[str, str], Path], tmp_path: Path, ci: str, broker: str
) -> None:
    dest = tmp_path / "orders"
    done = run_evtgen(
        "new", "service", "orders", "--ci", ci, "--broker", broker, "--defaults", "--dest", dest
    )
    assert done.code == 0, done.stderr
    assert pipeline_files(dest) == pipeline_files(generated(ci, broker))
    answers = yaml.safe_load((dest / ".copier-answers.yml").read_text())
    assert answers["ci"] == ci


def test_the_template_holds_the_current_render_of_the_model() -> None:
    """`python -m evtgen.pipelines` rewrites these; this fails when they are stale."""
    expected = template_files(load_pipeline_model())
    for rel, text in expected.items():
        assert (TEMPLATE / rel).read_text(encoding="utf-8") == text, rel
    conditional = [p for p in (TEMPLATE / "project").iterdir() if "ci" in p.name]
    on_disk = {
        str(p.relative_to(TEMPLATE))
        for root in [*conditional, TEMPLATE / "pipelines"]
        for p in root.rglob("*.*")
        if p.is_file() and p.name != "README.md"
    }
    assert on_disk == set(expected)


# --- what the generated pipelines promise --------------------------------------


def test_github_workflows_are_least_privilege_pinned_and_bounded(
    generated: Callable[[str, str], Path],
) -> None:
    pins = yaml.safe_load(bundled("actions.yml").read_text(encoding="utf-8"))
    repo = generated("github", "kafka")
    for workflow in (repo / ".github" / "workflows").glob("*.yml"):
        text = workflow.read_text()
        doc = yaml.safe_load(text)
        assert doc["permissions"] == {}
        assert "concurrency" in doc
        for job in doc["jobs"].values():
            assert job["timeout-minutes"] > 0
            assert "write-all" not in str(job["permissions"])
            for step in job["steps"]:
                if "uses" in step:
                    action, sha = step["uses"].split("@")
                    assert sha == pins[action]["sha"]
                    assert f"{step['uses']} # {pins[action]['version']}" in text
                    if action == "actions/checkout":
                        assert step["with"]["persist-credentials"] is False
                assert "github.event" not in step.get("run", "")  # only through env


@pytest.mark.parametrize(
    ("broker", "image"),
    [("kafka", "apache/kafka"), ("rabbitmq", "rabbitmq"), ("redis", "redis")],
)
def test_integration_job_runs_the_broker_as_a_service_container(
    generated: Callable[[str, str], Path], broker: str, image: str
) -> None:
    ci = yaml.safe_load((generated("github", broker) / ".github/workflows/ci.yml").read_text())
    job = ci["jobs"]["integration"]
    assert image in job["services"]["broker"]["image"]
    assert "BROKER_URL" in job["steps"][-1]["env"]


def test_nats_gets_jetstream_which_a_service_container_cannot_pass(
    generated: Callable[[str, str], Path],
) -> None:
    ci = yaml.safe_load((generated("github", "nats") / ".github/workflows/ci.yml").read_text())
    assert "docker run" in ci["jobs"]["integration"]["steps"][0]["run"]
    assert " -js" in ci["jobs"]["integration"]["steps"][0]["run"]
    task = yaml.safe_load(
        (generated("tekton", "nats") / "tekton/tasks/integration.yaml").read_text()
    )
    assert task["spec"]["sidecars"][0]["args"] == ["-js"]


def test_tekton_deploy_consumes_the_build_digest_and_a_finally_task_reports(
    generated: Callable[[str, str], Path],
) -> None:
    repo = generated("tekton", "kafka")
    pipeline = yaml.safe_load((repo / "tekton/pipeline.yaml").read_text())
    tasks = {t["name"]: t for t in pipeline["spec"]["tasks"]}
    digest = {p["name"]: p["value"] for p in tasks["deploy-dev"]["params"]}["digest"]
    assert digest == "$(tasks.image.results.digest)"
    assert pipeline["spec"]["finally"][0]["name"] == "report"
    for task in tasks.values():  # local Tasks, by name, each in the repo
        name = task["taskRef"]["name"]
        assert "resolver" not in task["taskRef"]
        defined = [
            yaml.safe_load(p.read_text())["metadata"]["name"]
            for p in (repo / "tekton/tasks").glob("*.yaml")
        ]
        assert name in defined
    kinds = [d["kind"] for d in yaml.safe_load_all((repo / "tekton/triggers.yaml").read_text())]
    assert kinds == ["TriggerBinding", "TriggerTemplate", "EventListener"]


# --- the model and its overrides ----------------------------------------------


def write(tmp_path: Path, text: str, name: str = "override.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_an_override_adds_changes_and_removes_stages(tmp_path: Path) -> None:
    override = write(
        tmp_path,
        """
        stages:
          template: null
          unit: {timeout: 25}
          audit:
            title: Audit dependencies
            run: pip-audit
            needs: [lint]
        brokers:
          kafka: {image: mirror.example.com/apache/kafka:4.1.0}
    """,
    )
    model = load_pipeline_model([override])
    names = [s.name for s in model.stages]
    assert "template" not in names and names[-1] == "audit"
    assert model.stage("unit").timeout == 25
    assert "template" not in model.stage("image").needs  # rewired, not dangling
    files = render(model, "both", Context("orders", "3.12", "kafka"))
    ci = yaml.safe_load(files[".github/workflows/ci.yml"])
    assert ci["jobs"]["audit"]["needs"] == ["lint"]
    assert ci["jobs"]["unit"]["timeout-minutes"] == 25
    assert "mirror.example.com" in ci["jobs"]["integration"]["services"]["broker"]["image"]
    assert "tekton/tasks/audit.yaml" in files and "tekton/tasks/template.yaml" not in files


def test_removing_a_stage_others_need_keeps_their_order(tmp_path: Path) -> None:
    add = write(tmp_path, "stages:\n  b: {run: x, needs: [lint]}\n  c: {run: y, needs: [b]}\n")
    remove = write(tmp_path, "stages:\n  b: null\n", "remove.yml")
    model = load_pipeline_model([add, remove])
    assert model.stage("c").needs == ("lint",)


def test_removing_the_image_stage_leaves_deploys_nothing_to_deploy(tmp_path: Path) -> None:
    with pytest.raises(InputProblems, match="deploy stage deploy-dev must need an image"):
        load_pipeline_model([write(tmp_path, "stages:\n  image: null\n")])
    no_cd = "stages:\n  image: null\n  deploy-dev: null\n  deploy-prod: null\n"
    files = render(
        load_pipeline_model([write(tmp_path, no_cd)]), "both", Context("orders", "3.12", "redis")
    )
    assert not any(p.startswith("deploy/") for p in files)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "stages:\n  unit: {timeoutt: 3}\n",
            "override.yml:2: unknown key 'timeoutt' in stage unit",
        ),
        ("stages:\n  lint: {needs: [image]}\n", "stages need each other in a cycle: lint -> image"),
        ("stages:\n  unit: {needs: [lnt]}\n", "stage unit needs 'lnt', which is not a stage"),
        (
            "stages:\n  x:\n    title: no run\n",
            "override.yml:2: stage x: a check stage needs `run`",
        ),
        ("stages:\n  Bad_Name: {run: x}\n", "stage name 'Bad_Name' must be lowercase kebab-case"),
        ("stages:\n  unit: {events: [push]}\n", "unknown event 'push'"),
        ("stages:\n  d: {kind: deploy, environment: qa}\n", "deploy stage d must need an image"),
        ("registry: x\n", "override.yml:1: unknown key 'registry'"),
        ("stages:\n  report: {run: x}\n", "stage name 'report' is taken"),
        ("stages: [1\n", "override.yml:2: not valid YAML"),
    ],
)
def test_a_bad_override_is_refused_with_file_and_line(
    tmp_path: Path, override: str, message: str
) -> None:
    with pytest.raises(InputProblems) as refused:
        load_pipeline_model([write(tmp_path, override)])
    assert message in str(refused.value)


def test_an_action_pin_must_be_a_commit(tmp_path: Path) -> None:
    actions = write(tmp_path, "actions/checkout: {version: v7, sha: v7}\n", "actions.yml")
    with pytest.raises(InputProblems, match="sha must be the 40-hex commit"):
        load_pipeline_model(actions=actions)


def test_the_renders_go_into_another_template(tmp_path: Path) -> None:
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE, template, ignore=shutil.ignore_patterns("pipelines"))
    override = write(tmp_path, "stages:\n  template: null\n")
    done = run_evtgen_module("--override", override, "--template", template)
    assert done.code == 0, done.stderr
    assert not list(template.rglob("template.yaml.jinja"))
    assert list(template.rglob("lint.yaml.jinja"))


def run_evtgen_module(*args: str | Path) -> Run:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "evtgen.pipelines", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Run(done.returncode, done.stdout, done.stderr)


# --- a catalogue of broken pipelines ------------------------------------------

# name, file, what is replaced (a regex), by what, the checker that must say so (and
# its rule), on which line. Each breaks a pipeline evtgen generated, as an edit would.
CATALOGUE = [
    (
        "misspelled key (workflow)",
        ".github/workflows/ci.yml",
        r"    timeout-minutes: 15\n",
        "    timeout-minute: 15\n",
        "check-jsonschema",
        "",
    ),
    (
        "misspelled key (Tekton, case only)",
        "tekton/tasks/lint.yaml",
        r"workingDir:",
        "workingdir:",
        "tekton-validate",
        "",
    ),
    (
        "undeclared param",
        "tekton/pipeline.yaml",
        r"value: \$\(params\.image\)",
        "value: $(params.imag)",
        "tekton-lint",
        "no-undefined-param",
    ),
    (
        "undeclared param (webhook)",
        "tekton/pipeline.yaml",
        r"value: \$\(params\.image\)",
        "value: $(params.imag)",
        "tekton-validate",
        "",
    ),
    (
        "runAfter cycle",
        "tekton/pipeline.yaml",
        r"(  - name: lint\n(?:    .*\n)*?    runAfter:\n)    - clone\n",
        r"\1    - image\n",
        "tekton-lint",
        "no-pipeline-task-cycle",
    ),
    (
        "runAfter cycle (webhook)",
        "tekton/pipeline.yaml",
        r"(  - name: lint\n(?:    .*\n)*?    runAfter:\n)    - clone\n",
        r"\1    - image\n",
        "tekton-validate",
        "",
    ),
    (
        "missing workspace",
        "tekton/pipeline.yaml",
        r"      workspace: source\n",
        "      workspace: sources\n",
        "tekton-validate",
        "",
    ),
    (
        "unknown task",
        "tekton/pipeline.yaml",
        r"name: orders-unit\n",
        "name: orders-unitt\n",
        "tekton-lint",
        "no-missing-resource",
    ),
    (
        "bad expression",
        ".github/workflows/ci.yml",
        r"\$\{\{ github\.event_name == 'pull_request' \}\}",
        "${{ github.event_name == }}",
        "actionlint",
        "expression",
    ),
    (
        "unpinned action",
        ".github/workflows/ci.yml",
        r"docker/login-action@[0-9a-f]{40} # \S+",
        "docker/login-action@v4",
        "zizmor",
        "unpinned-uses",
    ),
    (
        "template injection",
        ".github/workflows/ci.yml",
        r"        mypy\n",
        '        mypy\n        echo "${{ github.event.pull_request.title }}"\n',
        "zizmor",
        "template-injection",
    ),
    (
        "excessive permissions",
        ".github/workflows/ci.yml",
        r"    permissions:\n      contents: read\n",
        "    permissions: write-all\n",
        "zizmor",
        "excessive-permissions",
    ),
]


@pytest.mark.parametrize(
    ("case", "file", "pattern", "replacement", "checker", "rule"),
    CATALOGUE,
    ids=[case[0] for case in CATALOGUE],
)
def test_a_broken_pipeline_is_caught_by_the_right_checker(
    generated: Callable[[str, str], Path],
    tmp_path: Path,
    case: str,
    file: str,
    pattern: str,
    replacement: str,
    checker: str,
    rule: str,
) -> None:
    import re

    repo = tmp_path / "repo"
    for rel, text in pipeline_files(generated("both", "kafka")).items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    target = repo / file
    broken, count = re.subn(pattern, replacement, target.read_text(), count=1)
    assert count == 1, "the catalogue's pattern no longer matches the generated file"
    target.write_text(broken)
    changed_line = next(
        n
        for n, (a, b) in enumerate(
            zip(
                broken.splitlines(),
                pipeline_files(generated("both", "kafka"))[file].splitlines(),
                strict=False,
            ),
            1,
        )
        if a != b
    )

    done, report = lint(repo)

    assert done.code == 1, done.stdout + done.stderr
    mine = [f for f in report["findings"] if f["checker"] == checker and f["severity"] == "error"]
    assert mine, f"{checker} did not report it: {report['findings']}"
    assert all(f["file"] == file for f in mine)
    if rule:
        assert rule in {f["rule"] for f in mine}
    # it points at the change, or the block around it (a job, a task); the webhook
    # reports a cycle at the pipeline's `tasks`
    near = 60 if case == "runAfter cycle (webhook)" else 20
    assert min(abs(f["line"] - changed_line) for f in mine) <= near


# --- the command ---------------------------------------------------------------


def test_text_report_lists_each_finding_with_file_line_and_checker(
    generated: Callable[[str, str], Path], tmp_path: Path
) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    source = generated("github", "redis") / ".github/workflows/ci.yml"
    (workflows / "ci.yml").write_text(
        source.read_text()
        .replace("permissions: {}\n", "", 1)
        .replace("    permissions:\n      contents: read\n", "", 1)
    )
    done = run_evtgen("pipeline", "lint", tmp_path)
    assert done.code == 1
    assert ".github/workflows/ci.yml:" in done.stdout
    assert "[zizmor/excessive-permissions]" in done.stdout
    assert "1 pipeline file(s)" in done.stdout.strip().splitlines()[-1]


def test_a_missing_checker_is_named_with_how_to_install_it_and_the_lint_does_not_pass(
    generated: Callable[[str, str], Path], tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "EVTGEN_CACHE_DIR": str(tmp_path / "empty-cache"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "evtgen", "pipeline", "lint", str(generated("tekton", "kafka"))],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2
    assert "tekton-lint: not installed" in done.stdout
    assert "npm install --prefix ~/.cache/evtgen/checkers @ibm/tekton-lint@" in done.stdout
    assert "tekton-validate: not installed" in done.stdout
    assert "scripts/install-checkers.sh" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_single_file_can_be_linted(generated: Callable[[str, str], Path]) -> None:
    done, report = lint(generated("tekton", "redis") / "tekton" / "tasks" / "integration.yaml")
    assert done.code == 0, done.stdout
    assert report["files"] == ["integration.yaml"]
    assert {c["name"] for c in report["checkers"] if c["status"] == "ran"} == set(
        CHECKERS["tekton"]
    )


def test_a_repo_without_pipelines_passes_saying_so(tmp_path: Path) -> None:
    done = run_evtgen("pipeline", "lint", tmp_path)
    assert done.code == 0
    assert "no GitHub workflows or Tekton resources" in done.stdout


def test_a_path_that_does_not_exist_is_bad_input(tmp_path: Path) -> None:
    done = run_evtgen("pipeline", "lint", tmp_path / "nope")
    assert done.code == 2
    assert done.stdout == ""
    assert done.stderr.strip().endswith("does not exist; give a repository or a pipeline file")


def test_an_older_tekton_api_is_not_passed_silently(tmp_path: Path) -> None:
    (tmp_path / "task.yaml").write_text(
        "apiVersion: tekton.dev/v1beta1\nkind: Task\nmetadata:\n  name: hello\nspec:\n"
        "  steps:\n    - name: hello\n      image: docker.io/library/busybox:1.37\n"
        "      script: echo hello\n"
    )
    _, report = lint(tmp_path)
    warned = [f for f in report["findings"] if f["checker"] == "tekton-validate"]
    assert [(f["severity"], f["line"]) for f in warned] == [("warning", 1)]
    assert "only tekton.dev/v1 is" in warned[0]["message"]


@pytest.mark.slow
@pytest.mark.broker_names
@pytest.mark.parametrize("broker", BROKERS)
def test_the_check_stages_pass_in_a_freshly_generated_repo(
    generated: Callable[[str, str], Path], tmp_path: Path, broker: str
) -> None:
    """Each check stage's script, run as CI runs it (sh -e, the repo's own test
    environment, BROKER_URL of the real broker when the suite has one). The stages
    that run evtgen itself (schema, template) are left to evtgen's own tests."""
    import os
    import subprocess

    from generated import fresh_venv

    repo = tmp_path / "repo"
    shutil.copytree(generated("github", broker), repo)
    bin_dir = fresh_venv(repo)
    env = {k: v for k, v in os.environ.items() if k not in ("BROKER_URL", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    if url := os.environ.get(f"BROKER_URL_{broker.upper()}"):
        env["BROKER_URL"] = url
    for stage in load_pipeline_model().stages:
        if stage.kind != "check" or stage.evtgen:
            continue
        done = subprocess.run(
            ["sh", "-ec", stage.run],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{stage.name}:\n{done.stdout}{done.stderr}"
        if stage.broker and "BROKER_URL" in env:  # ran against the broker, not skipped
            assert "skipped" not in done.stdout, done.stdout


@pytest.mark.parametrize("broker", ["kafka", "nats"])
def test_each_deploy_stage_writes_into_an_overlay_the_repo_has(
    generated: Callable[[str, str], Path], broker: str
) -> None:
    repo = generated("both", broker)
    written = set()
    for workflow in (repo / ".github" / "workflows").glob("*.yml"):
        for job in (yaml.safe_load(workflow.read_text()).get("jobs") or {}).values():
            for step in job.get("steps", []):
                if overlay := (step.get("env") or {}).get("OVERLAY"):
                    written.add(overlay)
    assert written == {
        "deploy/overlays/dev/kustomization.yaml",
        "deploy/overlays/prod/kustomization.yaml",
    }
    for overlay in written:
        (image,) = yaml.safe_load((repo / overlay).read_text())["images"]
        # the deploy step's sed rewrites these two lines into the built image and digest
        assert {"name", "newName", "newTag"} <= set(image)


# --- from an installed wheel ---------------------------------------------------


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """evtgen's wheel, built from this checkout and unpacked as site-packages are."""
    import subprocess
    import sys
    import zipfile

    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(ROOT), "-w", out],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("evtgen-*.whl")
    site = out / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def run_from_wheel(site: Path, *args: str | Path, **env: str) -> Run:
    """`python ARGS` with the wheel's evtgen ahead of the editable one."""
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(site), **env},
        stdin=subprocess.DEVNULL,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def test_the_wheel_carries_the_pipeline_data_and_the_checkers_sources(wheel_site: Path) -> None:
    import subprocess

    package = wheel_site / "evtgen"
    for name in ("model.yml", "actions.yml"):
        shipped = package / "pipelines" / "data" / name
        assert shipped.read_bytes() == bundled(name).read_bytes()
    tracked = subprocess.run(
        ["git", "ls-files", "tools"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    sources = {p for p in tracked if not p.endswith(".gitignore")}
    shipped_tools = {
        str(p.relative_to(package)) for p in (package / "tools").rglob("*") if p.is_file()
    }
    assert shipped_tools == sources


def test_pipeline_lint_from_the_wheel_runs_every_checker(wheel_site: Path, tmp_path: Path) -> None:
    where = run_from_wheel(wheel_site, "-c", "import evtgen; print(evtgen.__file__)")
    assert where.stdout.strip() == str(wheel_site / "evtgen" / "__init__.py"), where.stderr
    done = run_from_wheel(
        wheel_site,
        "-m",
        "evtgen",
        "new",
        "service",
        "orders",
        "--ci",
        "both",
        "--defaults",
        "--dest",
        tmp_path / "orders",
    )
    assert done.code == 0, done.stderr
    done = run_from_wheel(
        wheel_site, "-m", "evtgen", "pipeline", "lint", tmp_path / "orders", "--json"
    )
    assert done.code == 0, done.stdout + done.stderr
    ran = {c["name"] for c in json.loads(done.stdout)["checkers"] if c["status"] == "ran"}
    assert ran == {*CHECKERS["github"], *CHECKERS["tekton"]}


def test_from_the_wheel_a_missing_go_checker_is_built_from_the_source_it_ships(
    wheel_site: Path, generated: Callable[[str, str], Path], tmp_path: Path
) -> None:
    done = run_from_wheel(
        wheel_site,
        "-m",
        "evtgen",
        "pipeline",
        "lint",
        generated("tekton", "kafka"),
        EVTGEN_CACHE_DIR=str(tmp_path / "empty-cache"),
        PATH="/usr/bin:/bin",
    )
    assert done.code == 2
    source = wheel_site / "evtgen" / "tools" / "tekton-validate"
    assert f"in {source}: go build -o ~/.cache/evtgen/checkers/bin/tekton-validate ." in done.stdout
    assert (source / "main.go").is_file()


@pytest.mark.parametrize("broker", BROKERS)
def test_zizmor_auditor_finds_only_the_unpinned_service_images(
    generated: Callable[[str, str], Path], broker: str
) -> None:
    """Every write permission says what it is for. The service containers stay by tag:
    their digests cannot be verified from here (docs/pipelines.md)."""
    import subprocess
    import sys

    workflows = generated("github", broker) / ".github" / "workflows"
    zizmor = Path(sys.executable).parent / "zizmor"
    done = subprocess.run(
        [zizmor, "--persona", "auditor", "--offline", "--format", "json", workflows],
        capture_output=True,
        text=True,
    )
    found = {f["ident"] for f in json.loads(done.stdout)}
    assert "undocumented-permissions" not in found, done.stdout[:2000]
    assert found <= {"unpinned-images"}, found
