"""`evtgen schema register` and `evtgen schema check --registry` against a real
Apicurio Registry 3 (`scripts/brokers.sh up registry`; scripts/test.sh starts it and
sets REGISTRY_URL). The registry keeps what it is given while it runs, so every test
uses topics of its own.

The agreement test replays the compatibility table of tests/test_schema_compat.py
through the registry, for every mode: `check --registry` must say what registering
then meets (accepted or HTTP 409), and both must be the table's verdict.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REGISTRY_URL, ROOT, run_evtgen
from test_schema_compat import CHANGES, JSON_ONLY, to_json

from evtgen.commands.schema_check import MODES
from evtgen.commands.schema_registry import register, registry_check
from evtgen.pipelines.model import load_pipeline_model
from evtgen.registry import subject_name

brokers = pytest.mark.brokers
AVRO_FORMAT = "application/vnd.apache.avro+json;version=1.9.0"
JSON_FORMAT = "application/schema+json;version=draft-07"
#: JSON Schema changes where Apicurio accepts what evtgen's rules refuse (both are
#: real breaks: see docs/registry.md): the registry's verdict is what register meets
REGISTRY_MORE_LENIENT = {
    "a property removed beside patternProperties": (True, False),
    "a keyword the rules do not know changes": (True, True),
}


@pytest.fixture(scope="session")
def registry_url() -> str:
    url = REGISTRY_URL
    if not url:
        pytest.fail(
            "REGISTRY_URL is not set: start the registry with `scripts/brokers.sh up "
            "registry` and set REGISTRY_URL=http://localhost:8081/apis/ccompat/v7 "
            "(scripts/test.sh does both), or deselect with -m 'not brokers'"
        )
    return url.rstrip("/")


def api(url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """The registry's API called directly, the reference the tests compare with."""
    request = urllib.request.Request(
        url + path,
        None if body is None else json.dumps(body).encode(),
        {"Content-Type": "application/vnd.schemaregistry.v1+json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def topic() -> str:
    return f"evtgen-test.{uuid.uuid4().hex[:12]}.order.v1"


def write_repo(path: Path, address: str, schema: Any, fmt: str) -> Path:
    """A repo with one event, Order, sent on `address`: its schema file and the
    AsyncAPI document naming the channel (the Avro payload by a $ref to the file,
    the JSON Schema one by the message's name, as both occur)."""
    folder = path / "schemas"
    folder.mkdir(parents=True, exist_ok=True)
    name = "Order.avsc" if fmt == "avro" else "Order.schema.json"
    (folder / name).write_text(json.dumps(schema, indent=2), encoding="utf-8")
    payload: dict[str, Any] = (
        {"schemaFormat": AVRO_FORMAT, "schema": {"$ref": "./Order.avsc"}}
        if fmt == "avro"
        else {"schemaFormat": JSON_FORMAT, "schema": {"type": "object"}}
    )
    doc = {
        "asyncapi": "3.0.0",
        "info": {"title": "orders", "version": "1.0.0"},
        "channels": {
            "Order": {
                "address": address,
                "messages": {"Order": {"$ref": "#/components/messages/Order"}},
            }
        },
        "operations": {
            "sendOrder": {
                "action": "send",
                "channel": {"$ref": "#/channels/Order"},
                "messages": [{"$ref": "#/channels/Order/messages/Order"}],
            }
        },
        "components": {"messages": {"Order": {"name": "Order", "payload": payload}}},
    }
    (folder / "asyncapi.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def expected(pair: tuple[bool, bool], mode: str) -> bool:
    backward, forward = pair
    base = mode.removesuffix("_TRANSITIVE")
    return {
        "BACKWARD": backward,
        "FORWARD": forward,
        "FULL": backward and forward,
        "NONE": True,
    }[base]


def cases() -> list[tuple[str, str, Any, Any, tuple[bool, bool], str]]:
    """(name, format, old, new, (BACKWARD, FORWARD), the fields findings may name)."""
    rows = [(c.name, "avro", c.old, c.new, c.avro, c.fields) for c in CHANGES]
    for c in CHANGES:
        for content in ("closed", "open"):
            old, new = to_json(c.old, content == "closed"), to_json(c.new, content == "closed")
            rows.append(
                (
                    f"{c.name} (JSON, {content})",
                    "jsonschema",
                    old,
                    new,
                    getattr(c, content),
                    c.fields,
                )
            )
    for name, old, new, pair in JSON_ONLY:
        rows.append(
            (f"{name} (JSON)", "jsonschema", old, new, REGISTRY_MORE_LENIENT.get(name, pair), "")
        )
    return rows


CASES = cases()


@brokers
@pytest.mark.parametrize(
    ("name", "fmt", "old", "new", "pair", "fields"), CASES, ids=[c[0] for c in CASES]
)
def test_check_registry_agrees_with_the_registrys_own_verdict_in_every_mode(
    registry_url: str,
    tmp_path: Path,
    name: str,
    fmt: str,
    old: Any,
    new: Any,
    pair: tuple[bool, bool],
    fields: str,
) -> None:
    for mode in MODES:
        address = topic()
        repo = write_repo(tmp_path / mode, address, old, fmt)
        first = register(repo, registry_url, mode, "topic")
        assert first.ok and first.subjects[0].verdict == "registered", first
        write_repo(repo, address, new, fmt)
        checked = registry_check(repo, registry_url, mode, "topic")
        registered = register(repo, registry_url, mode, "topic")
        # what check said is what registering met, and both are the table's verdict
        assert checked.compatible == registered.ok, (mode, checked, registered)
        assert registered.ok == expected(pair, mode), (mode, registered)
        if name.removesuffix(" (JSON)") in REGISTRY_MORE_LENIENT and mode == "BACKWARD":
            # accepted, as the registry does; what evtgen's own rules see is said
            assert "evtgen's rules object" in checked.events[0].note, checked
        status, held = api(registry_url, "GET", f"/subjects/{address}-value/versions")
        assert held == ([1, 2] if registered.ok and old != new else [1]), (mode, status, held)
        if not registered.ok:
            (event,) = checked.events
            assert event.verdict == "incompatible" and event.findings
            refused = registered.subjects[0]
            assert refused.verdict == "refused" and refused.findings
            if fields:  # evtgen's rules name the field the table names
                assert {f.field for f in refused.findings} <= set(fields.split()), refused


V1 = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [{"name": "id", "type": "string"}],
}
V2 = {**V1, "fields": [*V1["fields"], {"name": "n", "type": "int", "default": 0}]}
V3 = {**V1, "fields": [*V1["fields"], {"name": "n", "type": "int"}]}


@brokers
@pytest.mark.parametrize(("mode", "accepted"), [("BACKWARD", True), ("BACKWARD_TRANSITIVE", False)])
def test_a_transitive_mode_compares_with_every_version_as_the_registry_does(
    registry_url: str, tmp_path: Path, mode: str, accepted: bool
) -> None:
    # v3 reads v2's events (n has a value there) but not v1's (no n, and no default)
    address = topic()
    for schema in (V1, V2):
        assert register(
            write_repo(tmp_path, address, schema, "avro"), registry_url, mode, "topic"
        ).ok
    write_repo(tmp_path, address, V3, "avro")
    checked = registry_check(tmp_path, registry_url, mode, "topic")
    registered = register(tmp_path, registry_url, mode, "topic")
    assert checked.compatible == registered.ok == accepted
    if not accepted:
        (finding,) = registered.subjects[0].findings
        assert finding.field == "n" and finding.against == f"{address}-value version 1"


# -- the CLI, on a generated service -------------------------------------------------


@pytest.fixture
def service(tmp_path: Path) -> tuple[Path, str]:
    """A generated service whose channels are this test's own."""
    run = uuid.uuid4().hex[:10]
    model = (ROOT / "generator/evtgen/data/sample-model.yaml").read_text(encoding="utf-8")
    model = model.replace("channel: payments.", f"channel: payments-{run}.")
    (tmp_path / "model.yaml").write_text(model, encoding="utf-8")
    # the service's name makes its own channels: orders-RUN.order-placed.v1
    done = run_evtgen(
        "new",
        "service",
        f"orders-{run}",
        "--model",
        tmp_path / "model.yaml",
        "--dest",
        tmp_path / "orders",
        "--defaults",
    )
    assert done.code == 0, done.stderr
    return tmp_path / "orders", run


@brokers
def test_register_puts_each_sent_event_under_its_topic_with_the_repos_rule(
    registry_url: str, service: tuple[Path, str]
) -> None:
    repo, run = service
    done = run_evtgen("schema", "register", repo, "--registry", registry_url, "--json")
    assert done.code == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    by_event = {s["event"]: s for s in report["subjects"]}
    assert by_event["OrderPlaced"]["subject"] == f"orders-{run}.order-placed.v1-value"
    assert by_event["OrderConfirmed"]["subject"] == f"orders-{run}.order-confirmed.v1-value"
    # the consumed event is its producer's to register; the dead-letter channel has none
    assert by_event["PaymentAuthorized"]["verdict"] == "skipped"
    assert "received only" in by_event["PaymentAuthorized"]["note"]
    for event in ("OrderPlaced", "OrderConfirmed"):
        subject = by_event[event]
        assert subject["verdict"] == "registered" and subject["rule"] == "BACKWARD"
        _, held = api(registry_url, "GET", f"/subjects/{subject['subject']}/versions/latest")
        assert held["id"] == subject["id"] and held["version"] == subject["version"] == 1
        text = (repo / "schemas" / f"{event}.avsc").read_text(encoding="utf-8")
        assert json.loads(held["schema"]) == json.loads(text)
        _, rule = api(registry_url, "GET", f"/config/{subject['subject']}")
        assert rule["compatibilityLevel"] == "BACKWARD"
        # Confluent's serializers find the schema by its id
        _, by_id = api(registry_url, "GET", f"/schemas/ids/{subject['id']}")
        assert json.loads(by_id["schema"]) == json.loads(text)
    _, subjects = api(registry_url, "GET", "/subjects")
    assert not [s for s in subjects if f"payments-{run}" in s]

    again = run_evtgen("schema", "register", repo, "--registry", registry_url)
    assert again.code == 0 and again.stdout.count("registered already, version 1") == 2


@brokers
def test_an_incompatible_schema_is_refused_naming_the_subject_and_the_field(
    registry_url: str, service: tuple[Path, str]
) -> None:
    repo, run = service
    assert run_evtgen("schema", "register", repo, "--registry", registry_url).code == 0
    path = repo / "schemas" / "OrderPlaced.avsc"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["fields"].append({"name": "coupon", "type": "string"})  # no default
    path.write_text(json.dumps(schema), encoding="utf-8")
    subject = f"orders-{run}.order-placed.v1-value"

    checked = run_evtgen("schema", "check", repo, "--registry", registry_url)
    assert checked.code == 1, checked.stdout + checked.stderr
    assert f"{subject}: INCOMPATIBLE" in checked.stdout
    assert "field `coupon`" in checked.stdout
    # another mode than the subject's rule: evtgen's rules against the registry's
    # versions (FORWARD: the old schema ignores the new field), saying so
    forward = run_evtgen("schema", "check", repo, "--registry", registry_url, "--mode", "FORWARD")
    assert forward.code == 0, forward.stdout + forward.stderr
    assert "the subject's rule in the registry is BACKWARD, not FORWARD" in forward.stdout

    done = run_evtgen("schema", "register", repo, "--registry", registry_url)
    assert done.code == 1, done.stdout + done.stderr
    assert f"{subject}: REFUSED: incompatible under BACKWARD" in done.stdout
    assert "field `coupon`" in done.stdout and "give the field a default" in done.stdout
    assert "the registry says: Incompatible artifact" in done.stdout  # its own words too
    _, versions = api(registry_url, "GET", f"/subjects/{subject}/versions")
    assert versions == [1]

    as_json = run_evtgen("schema", "register", repo, "--registry", registry_url, "--json")
    assert as_json.code == 1
    report = json.loads(as_json.stdout)
    refused = [s for s in report["subjects"] if s["verdict"] == "refused"]
    assert [(s["subject"], [f["field"] for f in s["findings"]]) for s in refused] == [
        (subject, ["coupon"])
    ]
    assert report["ok"] is False


@brokers
def test_the_repos_configured_mode_is_the_subjects_rule_and_the_checks_mode(
    registry_url: str, service: tuple[Path, str]
) -> None:
    repo, run = service
    (repo / ".evtgen.yml").write_text("compatibility: full-transitive\n", encoding="utf-8")
    done = run_evtgen("schema", "register", repo, "--registry", registry_url, "--json")
    assert done.code == 0, done.stderr
    assert json.loads(done.stdout)["mode"] == "FULL_TRANSITIVE"
    _, rule = api(registry_url, "GET", f"/config/orders-{run}.order-placed.v1-value")
    assert rule["compatibilityLevel"] == "FULL_TRANSITIVE"
    # FULL: a field added with a default is fine both ways; --mode overrides the file
    path = repo / "schemas" / "OrderPlaced.avsc"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["fields"].append({"name": "note", "type": "string", "default": ""})
    path.write_text(json.dumps(schema), encoding="utf-8")
    checked = run_evtgen("schema", "check", repo, "--registry", registry_url, "--json")
    assert checked.code == 0 and json.loads(checked.stdout)["mode"] == "FULL_TRANSITIVE"
    forward = run_evtgen("schema", "check", repo, "--registry", registry_url, "--mode", "NONE")
    assert forward.code == 0 and "not checked (mode NONE)" in forward.stdout


@brokers
def test_subjects_by_record_name(registry_url: str, tmp_path: Path) -> None:
    name = f"shop{uuid.uuid4().hex[:8]}"
    schema = {**V1, "namespace": name}
    repo = write_repo(tmp_path, topic(), schema, "avro")
    (repo / "schemas" / "asyncapi.yaml").unlink()  # by record name, no topic is needed
    done = run_evtgen(
        "schema", "register", repo, "--registry", registry_url, "--subject-strategy", "record"
    )
    assert done.code == 0, done.stderr
    assert f"-> {name}.Order: registered as version 1" in done.stdout


@brokers
@pytest.mark.parametrize("command", ["register", "check"])
def test_an_unreachable_registry_is_one_line_and_exit_2(
    command: str, registry_url: str, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path, topic(), V1, "avro")
    done = run_evtgen("schema", command, repo, "--registry", "http://127.0.0.1:1/apis/ccompat/v7")
    assert done.code == 2 and done.stdout == ""
    assert done.stderr.startswith("evtgen: error: cannot reach the schema registry at")
    assert len(done.stderr.strip().splitlines()) == 1
    # a URL that is not the API: said as such, not as a crash
    wrong = run_evtgen("schema", command, repo, "--registry", registry_url.rsplit("/apis", 1)[0])
    assert wrong.code == 2 and "not a Confluent-compatible" in wrong.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--registry", "localhost:8081"], "give the registry's http(s) URL"),
        (["--registry", "http://x/", "--against", "v1"], "not both"),
        (["--subject-strategy", "record"], "use it with --registry"),
        (
            ["--registry", "http://127.0.0.1:1", "--subject-strategy", "x"],
            "unknown subject strategy",
        ),
        (["--registry", "http://127.0.0.1:1", "--mode", "SIDEWAYS"], "unknown compatibility mode"),
    ],
)
def test_bad_usage_is_refused_before_any_call(
    tmp_path: Path, args: list[str], message: str
) -> None:
    repo = write_repo(tmp_path, topic(), V1, "avro")
    done = run_evtgen("schema", "check", repo, *args)
    assert done.code == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_register_needs_a_registry_and_topics(tmp_path: Path) -> None:
    repo = write_repo(tmp_path, topic(), V1, "avro")
    done = run_evtgen("schema", "register", repo)
    assert done.code == 2 and "needs --registry URL" in done.stderr
    (repo / "schemas" / "asyncapi.yaml").unlink()
    done = run_evtgen("schema", "register", repo, "--registry", "http://127.0.0.1:1/x")
    assert done.code == 2 and "use --subject-strategy record" in done.stderr
    (repo / ".evtgen.yml").write_text("compatibility: sometimes\n", encoding="utf-8")
    done = run_evtgen("schema", "register", repo, "--registry", "http://127.0.0.1:1/x")
    assert done.code == 2 and ".evtgen.yml:1: `compatibility` must be one of" in done.stderr


def test_subject_names_follow_confluents_strategies() -> None:
    assert subject_name("topic", "orders.placed.v1", "shop.Order") == "orders.placed.v1-value"
    assert subject_name("record", None, "shop.Order") == "shop.Order"
    assert subject_name("topic-record", "orders", "shop.Order") == "orders-shop.Order"


# -- the pipeline stages --------------------------------------------------------------


def test_the_registry_stages_read_registry_url_from_a_ci_variable(tmp_path: Path) -> None:
    from evtgen.pipelines import render
    from evtgen.pipelines.context import Context

    model = load_pipeline_model()
    assert model.stage("register").registry and model.stage("register").events == ("main",)
    assert "register" in model.stage("image").needs  # registered before it is deployed
    files = render(model, "both", Context("orders", "3.12", "kafka"))
    ci = yaml.safe_load(files[".github/workflows/ci.yml"])
    for job in ("schema", "register"):
        env = ci["jobs"][job]["steps"][-1]["env"]
        assert env["REGISTRY_URL"] == "${{ vars.REGISTRY_URL }}"
    task = yaml.safe_load(files["tekton/tasks/register.yaml"])
    (step,) = task["spec"]["steps"]
    (registry,) = [e for e in step["env"] if e["name"] == "REGISTRY_URL"]
    assert registry["valueFrom"]["configMapKeyRef"] == {
        "name": "schema-registry",
        "key": "url",
        "optional": True,
    }


@brokers
def test_the_register_and_schema_stages_run_as_ci_runs_them(
    registry_url: str, service: tuple[Path, str]
) -> None:
    """The two stages' scripts, with this evtgen on PATH: with REGISTRY_URL they
    register and check; without it (a repo that names no registry) they pass, saying so."""
    repo, run = service
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    model = load_pipeline_model()
    evtgen_bin = Path(sys.executable).parent / "evtgen"
    env = {**os.environ, "PATH": f"{evtgen_bin.parent}{os.pathsep}{os.environ['PATH']}"}

    def stage(name: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", "-ec", model.stage(name).run],
            cwd=repo,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=300,
        )

    done = stage("register", REGISTRY_URL="")
    assert done.returncode == 0 and "REGISTRY_URL is not set" in done.stdout
    done = stage("register", REGISTRY_URL=registry_url)
    assert done.returncode == 0, done.stdout + done.stderr
    _, versions = api(registry_url, "GET", f"/subjects/orders-{run}.order-placed.v1-value/versions")
    assert versions == [1]
    done = stage("schema", REGISTRY_URL=registry_url, BASE_REF="")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "against " + registry_url in done.stdout
    done = stage("schema", REGISTRY_URL="", BASE_REF="")
    assert done.returncode == 0 and "against" not in done.stdout


def test_the_configured_mode_is_also_the_git_checks(tmp_path: Path) -> None:
    repo = write_repo(tmp_path, topic(), V1, "avro")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "v1"], ["tag", "v1.0.0"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    write_repo(repo, topic(), V3, "avro")  # n without a default: backward breaks, forward not
    assert run_evtgen("schema", "check", repo).code == 1
    (repo / ".evtgen.yml").write_text("compatibility: forward\n", encoding="utf-8")
    done = run_evtgen("schema", "check", repo, "--json")
    assert done.code == 0 and json.loads(done.stdout)["mode"] == "FORWARD", done.stderr
    assert run_evtgen("schema", "check", repo, "--mode", "BACKWARD").code == 1


@brokers
def test_a_json_schema_service_registers_json_schemas(registry_url: str, tmp_path: Path) -> None:
    service = f"ship-{uuid.uuid4().hex[:10]}"
    done = run_evtgen(
        "new", "service", service, "--dest", tmp_path / service, "--defaults",
        "--schema-format", "jsonschema",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    done = run_evtgen("schema", "register", tmp_path / service, "--registry", registry_url)
    assert done.code == 0, done.stdout + done.stderr
    subject = f"{service}.order-placed.v1-value"
    _, held = api(registry_url, "GET", f"/subjects/{subject}/versions/latest")
    assert held["schemaType"] == "JSON"
    text = (tmp_path / service / "schemas" / "OrderPlaced.schema.json").read_text()
    assert json.loads(held["schema"]) == json.loads(text)
