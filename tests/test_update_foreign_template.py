"""An update across two versions of a template no one here wrote, in the shape of a
real public one (pawamoy's copier-uv: questions whose defaults derive from other
answers, a package directory named by an answer, files that exist only for some
answers, `_skip_if_exists`, `_templates_suffix`). The files are written here, not
copied. The repo is made by plain `copier copy`, edited by its team, and updated by
evtgen; `copier update` runs on an identical copy for comparison."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import yaml
from conftest import Run
from updatekit import edit, generate, git, isolated_evtgen, make_template, release  # noqa: F401

COPIER_V1 = """\
_min_copier_version: "9"
_envops:
  autoescape: false
  keep_trailing_newline: true
_subdirectory: project
_templates_suffix: .jinja
_skip_if_exists:
  - CHANGELOG.md

project_name:
  type: str
  help: Your project name
project_description:
  type: str
  help: Your project description
  default: ""
author_fullname:
  type: str
  help: Your full name
  default: Jane Doe
author_username:
  type: str
  default: jane
repository_namespace:
  type: str
  default: "{{ author_username }}"
repository_name:
  type: str
  default: "{{ project_name | lower | replace(' ', '-') }}"
copyright_license:
  type: str
  default: ISC
  choices:
    ISC License: ISC
    MIT License: MIT
python_package_import_name:
  type: str
  default: "{{ project_name | lower | replace(' ', '_') }}"
python_package_command_line_name:
  type: str
  default: "{{ project_name | lower | replace(' ', '-') }}"
include_notebooks:
  type: bool
  default: false
"""

COPIER_V2 = (
    COPIER_V1
    + """\
python_min:
  type: str
  help: The oldest Python version supported
  default: "3.10"
"""
)

FILES_V1: dict[str, str | None] = {
    "{{_copier_conf.answers_file}}.jinja": (
        "# Changes here will be overwritten by Copier\n{{ _copier_answers|to_nice_yaml -}}\n"
    ),
    "README.md.jinja": """\
        # {{ project_name }}

        {{ project_description }}

        ## Installation

        ```bash
        pip install {{ repository_name }}
        ```
        """,
    "pyproject.toml.jinja": """\
        [project]
        name = "{{ repository_name }}"
        description = "{{ project_description }}"
        authors = [{name = "{{ author_fullname }}"}]
        license = "{{ copyright_license }}"
        requires-python = ">=3.9"
        dependencies = []

        [project.scripts]
        {{ python_package_command_line_name }} = "{{ python_package_import_name }}.cli:main"
        """,
    "LICENSE.jinja": "{{ copyright_license }} License\n\nCopyright (c) {{ author_fullname }}\n",
    "CHANGELOG.md.jinja": "# Changelog\n",
    "config/ruff.toml.jinja": """\
        target-version = "py39"
        line-length = 120

        [lint]
        select = ["E", "F"]
        ignore = []
        """,
    "Makefile.jinja": ".PHONY: test\ntest:\n\tpytest\n",
    "src/{{python_package_import_name}}/__init__.py.jinja": (
        '"""{{ project_name }}: {{ project_description }}"""\n'
    ),
    "src/{{python_package_import_name}}/{% if python_package_command_line_name %}cli.py"
    "{% endif %}.jinja": """\
        def main() -> int:
            print("{{ project_name }}")
            return 0
        """,
    "{% if include_notebooks %}notebooks{% endif %}/README.md.jinja": "# Notebooks\n",
}

FILES_V2: dict[str, str | None] = {
    "pyproject.toml.jinja": """\
        [project]
        name = "{{ repository_name }}"
        description = "{{ project_description }}"
        authors = [{name = "{{ author_fullname }}"}]
        license = "{{ copyright_license }}"
        requires-python = ">={{ python_min }}"
        dependencies = []

        [project.scripts]
        {{ python_package_command_line_name }} = "{{ python_package_import_name }}.cli:main"
        """,
    "config/ruff/ruff.toml.jinja": """\
        target-version = "py310"
        line-length = 120

        [lint]
        select = ["E", "F"]
        ignore = []
        """,
    "Makefile.jinja": None,
    "scripts/make.py.jinja": "# tasks of {{ project_name }}\n",
    "CHANGELOG.md.jinja": "# Changelog\n\nAll notable changes.\n",
}

ANSWERS = {"project_name": "Fancy Tool", "project_description": "Does fancy things."}


def make_fancy_template(root: Path) -> Path:
    template = make_template(root / "copier-uv-like", FILES_V1, COPIER_V1)
    (template / "project" / "{{ _copier_conf.answers_file }}.jinja").unlink()  # theirs only
    git(template, "add", "-A")
    git(template, "commit", "-q", "-m", "one answers file")
    git(template, "tag", "-f", "v1.0.0")
    release(
        template,
        "v2.0.0",
        FILES_V2,
        copier_yml=COPIER_V2,
        renames={"config/ruff.toml.jinja": "config/ruff/ruff.toml.jinja"},
    )
    return template


def team_edits(repo: Path) -> None:
    pyproject = (repo / "pyproject.toml").read_text()
    ruff = (repo / "config" / "ruff.toml").read_text()
    edit(
        repo,
        {
            "pyproject.toml": pyproject + '\n[tool.pytest.ini_options]\naddopts = "-q"\n',
            "README.md": (repo / "README.md").read_text() + "\n## Usage\n\nRun `fancy-tool`.\n",
            "config/ruff.toml": ruff.replace("ignore = []", 'ignore = ["E501"]'),
            "CHANGELOG.md": "# Changelog\n\n## 1.0.0\n- First release.\n",
            "src/fancy_tool/core.py": "def fancy() -> str:\n    return 'fancy'\n",
        },
    )


def test_update_of_a_copier_uv_shaped_template(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    template = make_fancy_template(tmp_path)
    repo = generate(template, tmp_path / "fancy", data=ANSWERS)
    assert (repo / "src" / "fancy_tool" / "cli.py").is_file()
    assert not (repo / "notebooks").exists()
    team_edits(repo)
    theirs = tmp_path / "fancy-copier"
    shutil.copytree(repo, theirs, symlinks=True)

    done = evtgen("update", repo, "--json")

    assert done.code == 0, done.stdout + done.stderr
    [r] = json.loads(done.stdout)["repos"]
    assert r["renamed"] == {"config/ruff/ruff.toml": "config/ruff.toml"}
    assert r["removed"] == ["Makefile"] and r["added"] == ["scripts/make.py"]
    pyproject = (repo / "pyproject.toml").read_text()
    assert pyproject.endswith('[tool.pytest.ini_options]\naddopts = "-q"\n')  # the team's
    assert 'requires-python = ">=3.10"' in pyproject  # the template's, from a new question
    ruff = (repo / "config" / "ruff" / "ruff.toml").read_text()
    assert 'ignore = ["E501"]' in ruff and 'target-version = "py310"' in ruff
    assert not (repo / "config" / "ruff.toml").exists()
    assert (repo / "README.md").read_text().endswith("Run `fancy-tool`.\n")
    assert (repo / "CHANGELOG.md").read_text() == "# Changelog\n\n## 1.0.0\n- First release.\n"
    assert (repo / "src" / "fancy_tool" / "core.py").is_file()
    recorded = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert recorded["_commit"] == "v2.0.0" and recorded["python_min"] == "3.10"
    assert recorded["project_name"] == "Fancy Tool"
    check = evtgen("check", repo, "--json")  # on the newest; the team's edits are drift
    [c] = json.loads(check.stdout)["repos"]
    assert (check.code, c["behind"], c["missing"]) == (1, False, [])
    assert c["changed"] == ["README.md", "config/ruff/ruff.toml", "pyproject.toml"]

    # the same update by Copier on an identical copy: the renamed file loses the edit
    from copier import run_update

    run_update(theirs, defaults=True, overwrite=True, quiet=True, skip_answered=True)
    moved = (theirs / "config" / "ruff" / "ruff.toml").read_text()
    assert 'ignore = ["E501"]' not in moved
