"""Configuration files: a user's and a repo's defaults for `evtgen new`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import run_evtgen


def answers_of(repo: Path) -> dict[str, object]:
    data = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture
def user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "user-config.yml"
    monkeypatch.setenv("EVTGEN_CONFIG", str(path))
    return path


def test_user_defaults_answer_what_the_command_line_leaves_open(
    tmp_path: Path, user_config: Path
) -> None:
    user_config.write_text("answers: {broker: nats, schema_format: jsonschema}\n")
    done = run_evtgen("new", "service", "orders", "--defaults", "--broker", "redis", cwd=tmp_path)
    assert done.code == 0, done.stderr
    recorded = answers_of(tmp_path / "orders")
    assert (recorded["broker"], recorded["schema_format"]) == ("redis", "jsonschema")


def test_a_repo_file_overrides_the_user_file(tmp_path: Path, user_config: Path) -> None:
    user_config.write_text("answers: {broker: nats, schema_format: jsonschema}\n")
    workspace = tmp_path / "acme"
    (workspace / "teams").mkdir(parents=True)
    (workspace / ".evtgen.yml").write_text("answers:\n  broker: rabbitmq\n")
    done = run_evtgen("new", "service", "orders", "--defaults", cwd=workspace / "teams")
    assert done.code == 0, done.stderr
    recorded = answers_of(workspace / "teams" / "orders")
    assert (recorded["broker"], recorded["schema_format"]) == ("rabbitmq", "jsonschema")


def test_the_default_template_comes_from_the_config(tmp_path: Path, user_config: Path) -> None:
    template = tmp_path / "acme-service"
    assert run_evtgen("template", "init", template).code == 0
    subprocess.run(["git", "tag", "v1.0.0"], cwd=template, check=True)
    user_config.write_text(f"template: {template}\nvcs_ref: v1.0.0\n")
    done = run_evtgen("new", "service", "orders", "--defaults", cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert (tmp_path / "orders" / "CODEOWNERS").is_file()  # only the scaffold makes one
    assert answers_of(tmp_path / "orders")["_commit"] == "v1.0.0"


def test_a_trusted_source_may_run_its_tasks(tmp_path: Path, user_config: Path) -> None:
    template = tmp_path / "templates" / "with-tasks"
    (template / "project").mkdir(parents=True)
    (template / "copier.yml").write_text(
        "_subdirectory: project\n_tasks:\n  - touch task-ran\nmodel: {type: yaml, default: {}}\n"
    )
    (template / "project" / "README.md").write_text("hello\n")
    refused = run_evtgen("new", "service", "a", "--template", template, "--defaults", cwd=tmp_path)
    assert refused.code == 2 and "--trust" in refused.stderr
    assert not (tmp_path / "a").exists()
    user_config.write_text(f"trusted:\n  - {tmp_path / 'templates'}/\n")
    done = run_evtgen("new", "service", "b", "--template", template, "--defaults", cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert (tmp_path / "b" / "task-ran").is_file()


def test_trust_is_by_prefix_only_for_entries_ending_in_a_slash() -> None:
    from evtgen.config import Config

    config = Config(trusted=("https://github.com/acme/", "/srv/one-template"))
    assert config.trusts("https://github.com/acme/service-template")
    assert not config.trusts("https://github.com/acme-evil/x")
    assert config.trusts("/srv/one-template")
    assert not config.trusts("/srv/one-template-fork")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("answers: {broker: nats}\ntemplates: x\n", 2, "unknown key 'templates'"),
        ("trusted: https://x/\n", 1, "`trusted` must list template sources"),
        ("answers: [broker]\n", 1, "`answers` must map names to values"),
        ("answers: {broker: [nats\n", 2, "fix the YAML"),
    ],
)
def test_a_bad_config_file_names_its_line_and_writes_nothing(
    tmp_path: Path, user_config: Path, text: str, line: int, message: str
) -> None:
    user_config.write_text(text)
    done = run_evtgen("new", "service", "orders", "--defaults", cwd=tmp_path)
    assert done.code == 2
    assert f"{user_config}:{line}: " in done.stderr and message in done.stderr
    assert not (tmp_path / "orders").exists()
