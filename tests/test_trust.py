"""Trust: nothing a template carries is imported or run unless the user trusts it, and
trust comes only from the user (`--trust` or their own config), never from a file that
arrived with a repo or sits in a shared parent directory (docs/templates.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Run
from updatekit import PLAIN_COPIER_YML, generate, git, make_template, release


def plain_template(path: Path, copier_yml: str) -> Path:
    (path / "project").mkdir(parents=True)
    (path / "copier.yml").write_text(copier_yml)
    (path / "project" / "README.md").write_text("hi\n")
    return path


@pytest.fixture
def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An importable module that leaves a file behind when imported."""
    site = tmp_path / "site"
    site.mkdir()
    witness = tmp_path / "IMPORTED"
    (site / "evtgen_probe_ext.py").write_text(
        f"open({str(witness)!r}, 'w').close()\n"
        "from jinja2.ext import Extension\n"
        "class Probe(Extension):\n    pass\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(site))
    return witness


def test_an_untrusted_templates_jinja_extensions_are_not_imported(
    evtgen: Callable[..., Run], tmp_path: Path, probe: Path
) -> None:
    template = plain_template(
        tmp_path / "tpl", "_subdirectory: project\n_jinja_extensions:\n  - evtgen_probe_ext.Probe\n"
    )
    refused = evtgen("new", "service", "orders", "--defaults", "--template", template, cwd=tmp_path)
    assert refused.code == 2 and "--trust" in refused.stderr, refused.stderr
    assert not probe.exists(), "the extension's module was imported before the refusal"
    assert not (tmp_path / "orders").exists()
    trusted = evtgen(
        "new", "service", "orders", "--defaults", "--template", template, "--trust", cwd=tmp_path
    )
    assert trusted.code == 0, trusted.stderr
    assert probe.exists()


@pytest.mark.parametrize("trust", [[], ["--trust"]])
def test_a_missing_jinja_extension_is_one_line(
    evtgen: Callable[..., Run], tmp_path: Path, trust: list[str]
) -> None:
    template = plain_template(
        tmp_path / "tpl", "_subdirectory: project\n_jinja_extensions:\n  - no_such.Extension\n"
    )
    done = evtgen("new", "service", "o", "--defaults", "--template", template, *trust, cwd=tmp_path)
    assert done.code == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_included_tasks_are_refused_by_update_naming_the_task(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    witness = tmp_path / "RAN"
    template = make_template(tmp_path / "tpl", {"a.txt": "a\n"})
    repo = generate(template, tmp_path / "repo")
    (template / "tasks.yml").write_text(f"_tasks:\n  - touch {witness}\n")
    release(
        template,
        "v2.0.0",
        {"a.txt": "b\n"},
        copier_yml=PLAIN_COPIER_YML + "---\n!include tasks.yml\n",
    )

    refused = evtgen("update", repo)
    assert refused.code == 2, refused.stderr
    assert f"touch {witness}" in refused.stderr and "--trust" in refused.stderr
    assert (repo / "a.txt").read_text() == "a\n" and not witness.exists()
    assert evtgen("update", repo, "--trust").code == 0
    assert witness.exists() and (repo / "a.txt").read_text() == "b\n"


def test_trusted_in_a_repo_file_is_not_trust(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    witness = tmp_path / "RAN"
    # a workspace (or a cloned repo) whose .evtgen.yml trusts everything
    (tmp_path / ".evtgen.yml").write_text("trusted:\n  - /\n")
    template = plain_template(
        tmp_path / "tpl", f"_subdirectory: project\n_tasks:\n  - touch {witness}\n"
    )
    refused = evtgen("new", "service", "o", "--defaults", "--template", template, cwd=tmp_path)
    assert refused.code == 2 and "--trust" in refused.stderr and not witness.exists()

    template = make_template(tmp_path / "tpl2", {"a.txt": "a\n"})
    repo = generate(template, tmp_path / "repo")
    (repo / ".evtgen.yml").write_text("trusted:\n  - /\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a repo that trusts itself")
    release(
        template,
        "v2.0.0",
        {"a.txt": "b\n"},
        copier_yml=PLAIN_COPIER_YML + f"_tasks: [touch {witness}]\n",
    )
    refused = evtgen("update", repo, cwd=repo)
    assert refused.code == 2 and f"touch {witness}" in refused.stderr, refused.stderr
    assert "is read only from your own config" in refused.stderr and not witness.exists()


def test_json_says_where_each_setting_came_from(
    evtgen: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = tmp_path / "user.yml"
    template = plain_template(tmp_path / "tpl", "_subdirectory: project\n_tasks: [touch ran]\n")
    user.write_text(f"trusted:\n  - {template}\nanswers: {{broker: nats}}\n")
    monkeypatch.setenv("EVTGEN_CONFIG", str(user))
    work = tmp_path / "work"
    work.mkdir()
    (work / ".evtgen.yml").write_text("vcs_ref: HEAD\ntrusted: [/]\n")
    done = evtgen("new", "service", "o", "--defaults", "--template", template, "--json", cwd=work)
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["settings"] == {
        "answers": str(user),
        "trusted": str(user),
        "vcs_ref": str(work / ".evtgen.yml"),
    }
    assert any("`trusted` is read only from your own config" in w for w in report["warnings"])


def test_a_template_with_a_symlink_and_a_folder_of_one_name_is_one_line(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    template = plain_template(
        tmp_path / "tpl", "_subdirectory: project\n_preserve_symlinks: true\n"
    )
    (template / "project" / '{{ "foo" }}').mkdir()
    (template / "project" / '{{ "foo" }}' / "inner.txt").write_text("hi\n")
    (template / "project" / "foo").symlink_to("elsewhere")
    done = evtgen("new", "service", "o", "--defaults", "--template", template, cwd=tmp_path)
    assert done.code == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "two template paths may render to one name" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tpl"]
