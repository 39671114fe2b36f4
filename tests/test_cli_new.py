"""`evtgen new service` as a new user tries it: good runs, and every kind of bad input
giving one clear line, exit 2, no traceback and nothing written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import TEMPLATE, Run


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


def assert_refused(done: Run, message: str, where: Path) -> None:
    assert done.code == 2, (done.stdout, done.stderr)
    assert message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert files_under(where) == [], "something was written"


def test_defaults_alone_make_a_service_from_the_sample_model(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    done = evtgen("new", "service", "billing", "--defaults", cwd=tmp_path)
    assert done.code == 0, done.stderr
    repo = tmp_path / "billing"
    assert (repo / "src" / "billing" / "app.py").is_file()
    assert (repo / "schemas" / "OrderPlaced.avsc").is_file()
    assert "billing.order-placed.v1" in (repo / "schemas" / "asyncapi.yaml").read_text()
    assert "service: billing" in (repo / "model.yaml").read_text()
    assert f"created billing in {repo}" in done.stdout


def test_json_report_is_one_document_on_stdout(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    done = evtgen(
        "new",
        "service",
        "orders",
        "--defaults",
        "--json",
        "--broker",
        "nats",
        "--schema-format",
        "jsonschema",
        "--dest",
        tmp_path / "svc",
    )
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["service"] == "orders"
    assert report["answers"]["broker"] == "nats"
    assert report["answers"]["schema_format"] == "jsonschema"
    assert "schemas/OrderPlaced.schema.json" in report["files"]
    assert ".copier-answers.yml" in report["files"]


def test_a_model_file_drives_the_service(
    evtgen: Callable[..., Run], tmp_path: Path, write_model: Callable[[str], Path]
) -> None:
    model = write_model("""
        service: shipping
        aggregates:
          - name: Shipment
            fields: {shipment_id: uuid, address: string, weight: {type: decimal}}
        commands:
          - name: Ship
            aggregate: Shipment
            fields: {address: string, weight: decimal}
            emits: [Shipped]
        events:
          - name: Shipped
            channel: logistics.shipped.v2
            fields: {shipment_id: uuid, address: string, tags: {type: list, items: string}}
          - name: OrderConfirmed
            external: true
            channel: orders.order-confirmed.v1
            fields: {order_id: uuid, address: string?}
        policies:
          - {name: ShipWhenConfirmed, when: OrderConfirmed, then: Ship}
    """)
    done = evtgen(
        "new",
        "service",
        "shipping",
        "--model",
        model,
        "--defaults",
        "--dest",
        tmp_path / "shipping",
    )
    assert done.code == 0, done.stderr
    app = (tmp_path / "shipping" / "src" / "shipping" / "app.py").read_text()
    assert '"orders.order-confirmed.v1"' in app and "logistics.shipped.v2" in app
    assert "async def on_order_confirmed" in app


def test_data_answers_the_templates_questions(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    done = evtgen(
        "new",
        "service",
        "orders",
        "--defaults",
        "--data",
        "python_version=3.13",
        "--data",
        "broker=redis",
        "--dest",
        tmp_path / "o",
    )
    assert done.code == 0, done.stderr
    assert "python:3.13-slim" in (tmp_path / "o" / "Dockerfile").read_text()
    assert "faststream[redis]" in (tmp_path / "o" / "pyproject.toml").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Orders_Service"], "service name 'Orders_Service' is not lowercase kebab-case"),
        (["9lives"], "service name '9lives' is not lowercase kebab-case"),
        (["orders", "--broker", "kafak"], "unknown --broker 'kafak'; choose one of: kafka,"),
        (["orders", "--schema-format", "protobuf"], "unknown --schema-format 'protobuf'"),
        (["orders", "--data", "broker"], "--data 'broker' must be KEY=VALUE"),
        (["orders", "--data", "broker=mqtt"], "could not be rendered"),
        (["orders", "--data", "brokr=nats"], "asks no question 'brokr'; it asks: broker,"),
        (["orders", "--model", "missing.yaml"], "model file missing.yaml does not exist"),
        (["orders", "--template", "/nonexistent/template"], "could not be rendered"),
        (["orders", "--asyncapi", "api.yaml"], "AsyncAPI document api.yaml does not exist"),
        (["orders", "--ci", "jenkins"], "unknown --ci 'jenkins'; choose one of: github, tekton,"),
        (["orders", "--frobnicate"], "No such option"),
    ],
)
def test_bad_input_gets_one_clear_line(
    evtgen: Callable[..., Run], tmp_path: Path, args: list[str], message: str
) -> None:
    done = evtgen("new", "service", *args, "--defaults", cwd=tmp_path)
    assert_refused(done, message, tmp_path)
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            "service: orders\nevents:\n  - name: E\n    fields: {a: strng}\n",
            "model.yaml:4: unknown type 'strng'",
        ),
        (
            "service: orders\nevents:\n  - {name: E}\n  - {name: E}\n",
            "model.yaml:4: event name 'E' is already used",
        ),
        (
            "service: orders\npolicies:\n  - {name: P, when: Ghost, then: C}\n",
            "model.yaml:3: policy P reacts to 'Ghost'",
        ),
        (
            "service: orders\naggregates:\n  - {name: A, fields: {id: uuid}}\n"
            "commands:\n  - {name: C, aggregate: A, emits: [Nope]}\n",
            "model.yaml:5: command C emits 'Nope'",
        ),
        ("service: orders\nevents:\n  - name: bad-name\n", "model.yaml:3: event name 'bad-name'"),
        ("service: orders\nevents: [\n", "model.yaml:3: YAML syntax error"),
        ("service: payments\n", "model.yaml:1: the model is for service 'payments'"),
    ],
)
def test_a_broken_model_is_refused_with_file_and_line(
    evtgen: Callable[..., Run],
    tmp_path: Path,
    write_model: Callable[[str], Path],
    model: str,
    message: str,
) -> None:
    path = write_model(model)
    dest = tmp_path / "out"
    done = evtgen("new", "service", "orders", "--model", path, "--defaults", "--dest", dest)
    assert done.code == 2
    assert f"{path.parent}/{message}" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not dest.exists()


def test_a_non_empty_destination_is_refused_and_left_alone(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    dest = tmp_path / "orders"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    done = evtgen("new", "service", "orders", "--defaults", "--dest", dest)
    assert done.code == 2 and "is not empty" in done.stderr
    assert files_under(dest) == ["notes.txt"] and (dest / "notes.txt").read_text() == "mine"
    assert files_under(tmp_path) == ["orders", "orders/notes.txt"]


def test_an_empty_destination_is_filled_and_kept(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    dest = tmp_path / "orders"
    dest.mkdir(mode=0o750)
    before = dest.stat()
    done = evtgen("new", "service", "orders", "--defaults", cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert (dest / "pyproject.toml").is_file()
    after = dest.stat()  # the same directory, as a shell sitting in it expects
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)


def test_a_template_that_fails_midway_leaves_nothing_behind(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    (broken / "project").mkdir(parents=True)
    (broken / "copier.yml").write_text("_subdirectory: project\n")
    (broken / "project" / "a.txt").write_text("fine\n")
    (broken / "project" / "b.txt.jinja").write_text("{{ undefined_thing.attr }}\n")
    work = tmp_path / "work"
    work.mkdir()
    done = evtgen("new", "service", "orders", "--defaults", "--template", broken, cwd=work)
    assert_refused(done, "could not be rendered", work)


def test_no_terminal_and_no_defaults_says_how_to_answer(
    evtgen: Callable[..., Run], tmp_path: Path
) -> None:
    done = evtgen("new", "service", "orders", cwd=tmp_path)
    assert_refused(done, "pass --defaults, or the answers as options or --data", tmp_path)


def test_untrusted_template_code_does_not_run(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    template = tmp_path / "tasks"
    (template / "project").mkdir(parents=True)
    (template / "copier.yml").write_text(
        "_subdirectory: project\n_tasks:\n  - touch {{ _copier_conf.dst_path }}/../PWNED\n"
    )
    (template / "project" / "README.md").write_text("hi\n")
    work = tmp_path / "work"
    work.mkdir()
    refused = evtgen("new", "service", "orders", "--defaults", "--template", template, cwd=work)
    assert_refused(refused, "pass --trust if you trust it", work)
    trusted = evtgen(
        "new", "service", "orders", "--defaults", "--template", template, "--trust", cwd=work
    )
    assert trusted.code == 0, trusted.stderr
    assert (work / "orders" / "README.md").is_file()


def test_plain_copier_makes_the_same_repo(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    from copier import run_copy

    ours = tmp_path / "ours"
    assert evtgen("new", "service", "orders", "--defaults", "--dest", ours).code == 0
    theirs = tmp_path / "theirs"
    run_copy(str(TEMPLATE), theirs, defaults=True, quiet=True)

    def contents(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): p.read_text()
            for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in (".copier-answers.yml", "model.yaml")
        }

    assert contents(ours) == contents(theirs)
    # model.yaml: evtgen's is the sample file as written; plain Copier, without that
    # text, writes the same model in its canonical form (docs/design.md)
    from evtgen.loader import load_model

    assert load_model(ours / "model.yaml") == load_model(theirs / "model.yaml")
    assert "# The event-storming model of this service" in (ours / "model.yaml").read_text()
    # evtgen records the bundled template by a stable name and its version (docs/update.md)
    strip = lambda text: [  # noqa: E731
        line for line in text.splitlines() if not line.startswith(("_src_path", "_commit"))
    ]
    assert strip((ours / ".copier-answers.yml").read_text()) == strip(
        (theirs / ".copier-answers.yml").read_text()
    )


def test_a_template_from_git_at_a_ref(evtgen: Callable[..., Run], tmp_path: Path) -> None:
    import shutil

    from git import Repo

    source = tmp_path / "template-repo"
    shutil.copytree(TEMPLATE, source)
    repo = Repo.init(source)
    repo.git.add(A=True)
    repo.git.commit(m="v1")
    repo.create_tag("v1.0.0")
    (source / "project" / "EXTRA.md").write_text("only after v1\n")
    repo.git.add(A=True)
    repo.git.commit(m="v2")

    done = evtgen(
        "new",
        "service",
        "orders",
        "--defaults",
        "--template",
        source,
        "--vcs-ref",
        "v1.0.0",
        "--dest",
        tmp_path / "orders",
    )
    assert done.code == 0, done.stderr
    assert "_commit: v1.0.0" in (tmp_path / "orders" / ".copier-answers.yml").read_text()
    assert not (tmp_path / "orders" / "EXTRA.md").exists()
