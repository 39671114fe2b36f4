"""`evtgen schema check` end to end: real git repositories, tags, the real CLI.

Schemas are written by evtgen's own model-to-schema writers (or a whole repo by
`evtgen new service`), committed and tagged; then the model changes, the schemas are
regenerated, and the check must give the right exit code and finding.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import run_evtgen

from evtgen.loader import parse_model
from evtgen.schemas import avro_schema, json_schema

V1 = """
    service: shop
    aggregates:
      - {name: Order, fields: {order_id: uuid, amount: double}}
    commands:
      - {name: PlaceOrder, aggregate: Order, fields: {amount: double}, emits: [OrderPlaced]}
    events:
      - name: OrderPlaced
        fields: {order_id: uuid, amount: double}
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout


def write_schemas(repo: Path, model: str, fmt: str = "avro") -> None:
    """Regenerate schemas/ from a model, as the template writes them."""
    parsed = parse_model(textwrap.dedent(model), "model.yaml")
    folder = repo / "schemas"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for event in parsed.events:
        if fmt == "avro":
            (folder / f"{event.name}.avsc").write_text(json.dumps(avro_schema(parsed, event)))
        else:
            path = folder / f"{event.name}.schema.json"
            path.write_text(json.dumps(json_schema(parsed, event)))


def release(repo: Path, tag: str | None = None) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", tag or "change")
    if tag:
        git(repo, "tag", tag)


def new_repo(
    tmp_path: Path, model: str = V1, fmt: str = "avro", tag: str | None = "v1.0.0"
) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    write_schemas(repo, model, fmt)
    release(repo, tag)
    return repo


def change(model: str, old: str, new: str) -> str:
    assert old in model
    return model.replace(old, new)


def check(repo: Path, *args: str) -> tuple[int, dict[str, object], str]:
    done = run_evtgen("schema", "check", repo, *args, "--json")
    report = json.loads(done.stdout) if done.stdout else {}
    return done.code, report, done.stderr


def findings(report: dict[str, object]) -> list[dict[str, str]]:
    events = report["events"]
    assert isinstance(events, list)
    return [f for e in events for f in e["findings"]]


def test_a_generated_repo_checks_clean_then_fails_on_an_incompatible_model_change(
    tmp_path: Path,
) -> None:
    # the repo evtgen generates needs nothing but its own schemas/ folder
    made = run_evtgen("new", "service", "orders", "--defaults", "--dest", tmp_path / "orders")
    assert made.code == 0, made.stderr
    repo = tmp_path / "orders"
    git(repo, "init", "-q")
    release(repo, "v0.1.0")
    assert run_evtgen("schema", "check", cwd=repo).code == 0

    # the model gains a required field on OrderPlaced; the schemas are regenerated
    model = yaml.safe_load((repo / "model.yaml").read_text())
    placed = next(e for e in model["events"] if e["name"] == "OrderPlaced")
    placed["fields"]["coupon"] = "string"
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(model))
    again = run_evtgen(
        "new", "service", "orders", "--defaults", "--model", changed, "--dest", tmp_path / "v2"
    )
    assert again.code == 0, again.stderr
    shutil.rmtree(repo / "schemas")
    shutil.copytree(tmp_path / "v2" / "schemas", repo / "schemas")

    text = run_evtgen("schema", "check", cwd=repo)
    assert text.code == 1, text.stderr
    assert "OrderPlaced" in text.stdout and "`coupon`" in text.stdout
    code, report, _ = check(repo)
    assert code == 1
    (finding,) = findings(report)
    assert finding["event"] == "OrderPlaced" and finding["field"] == "coupon"
    assert finding["against"] == "v0.1.0" and "default" in finding["reason"]


@pytest.mark.parametrize(
    ("new_fields", "mode", "code", "field"),
    [
        ("{order_id: uuid, amount: double, note: string?}", "BACKWARD", 0, None),
        ("{order_id: uuid, amount: double, note: string}", "BACKWARD", 1, "note"),
        ("{order_id: uuid, amount: double, note: string}", "FORWARD", 0, None),
        ("{order_id: uuid}", "BACKWARD", 0, None),
        ("{order_id: uuid}", "FORWARD", 1, "amount"),
        ("{order_id: uuid}", "FULL", 1, "amount"),
        ("{order_id: uuid}", "NONE", 0, None),
        ("{order_id: uuid, amount: string}", "FULL", 1, "amount"),
    ],
)
def test_avro_modes_on_a_real_repo(
    tmp_path: Path, new_fields: str, mode: str, code: int, field: str | None
) -> None:
    repo = new_repo(tmp_path)
    write_schemas(repo, change(V1, "{order_id: uuid, amount: double}\n", new_fields + "\n"))
    got, report, stderr = check(repo, "--mode", mode)
    assert got == code, stderr
    assert report["mode"] == mode and report["against"] == ([] if mode == "NONE" else ["v1.0.0"])
    assert {f["field"] for f in findings(report)} == ({field} if field else set())
    assert all(f["event"] == "OrderPlaced" for f in findings(report))


def test_json_schema_repos_by_the_closed_content_rules(tmp_path: Path) -> None:
    repo = new_repo(tmp_path, fmt="jsonschema")
    # an optional field: backward compatible under closed content, not forward
    write_schemas(
        repo, change(V1, "amount: double}\n", "amount: double, note: string?}\n"), "jsonschema"
    )
    assert check(repo)[0] == 0
    code, report, _ = check(repo, "--mode", "FORWARD")
    assert code == 1
    (finding,) = findings(report)
    assert finding["field"] == "note" and "closed" in finding["reason"]


def test_transitive_modes_check_every_release_tag(tmp_path: Path) -> None:
    # v1: n is a string; v1.1: n removed; now: n is back as an int (with a default).
    # Compatible with v1.1 (the newest), not with v1 (which wrote n as a string).
    with_n = change(V1, "amount: double}\n", "amount: double, n: string}\n")
    repo = new_repo(tmp_path, with_n)
    write_schemas(repo, V1)
    release(repo, "v1.1.0")
    git(repo, "tag", "nightly")  # not a release: never compared with
    write_schemas(
        repo, change(V1, "amount: double}\n", "amount: double, n: {type: int, default: 0}}\n")
    )

    code, report, _ = check(repo)
    assert (code, report["against"]) == (0, ["v1.1.0"])
    code, report, _ = check(repo, "--mode", "BACKWARD_TRANSITIVE")
    assert (code, report["against"]) == (1, ["v1.0.0", "v1.1.0"])
    (finding,) = findings(report)
    assert (finding["against"], finding["field"]) == ("v1.0.0", "n")
    assert check(repo, "--against", "v1.0.0")[0] == 1
    assert check(repo, "--mode", "FULL_TRANSITIVE")[0] == 1
    # FORWARD: v1's reader needs n as a string, v1.1's ignores it
    code, report, _ = check(repo, "--mode", "forward_transitive")
    assert code == 1 and {f["against"] for f in findings(report)} == {"v1.0.0"}


def test_the_default_ref_is_the_newest_release_by_version(tmp_path: Path) -> None:
    repo = new_repo(tmp_path, tag="v1.9.0")
    for tag in ("v1.10.0", "1.2.0", "v2.0.0rc1"):
        release(repo, tag)
    git(repo, "tag", "-a", "-m", "an annotated release", "v1.10.0", "HEAD~2", "-f")
    assert check(repo)[1]["against"] == ["v1.10.0"]


def test_added_and_removed_events(tmp_path: Path) -> None:
    two = V1 + "      - {name: OrderShipped, fields: {order_id: uuid}}\n"
    repo = new_repo(tmp_path)
    write_schemas(repo, two)
    code, report, _ = check(repo)
    assert code == 0
    verdicts = {e["event"]: e["verdict"] for e in report["events"]}
    assert verdicts == {"OrderPlaced": "compatible", "OrderShipped": "added"}

    release(repo, "v1.1.0")
    write_schemas(repo, V1)
    code, report, _ = check(repo)
    assert code == 1
    (finding,) = findings(report)
    assert finding["event"] == "OrderShipped" and "gone" in finding["reason"]
    assert check(repo, "--mode", "NONE")[0] == 0


def test_a_service_in_a_subfolder_of_a_repo(tmp_path: Path) -> None:
    repo = tmp_path / "mono"
    (repo / "services" / "shop").mkdir(parents=True)
    git(repo, "init", "-q")
    write_schemas(repo / "services" / "shop", V1)
    release(repo, "v1.0.0")
    write_schemas(repo / "services" / "shop", change(V1, "amount: double", "amount: string"))
    code, report, _ = check(repo / "services" / "shop")
    assert code == 1 and findings(report)[0]["field"] == "amount"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--against", "v9.9.9"], "unknown git ref 'v9.9.9'"),
        (["--mode", "SIDEWAYS"], "unknown compatibility mode"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], says: str) -> None:
    repo = new_repo(tmp_path)
    done = run_evtgen("schema", "check", repo, *args)
    assert done.code == 2 and done.stdout == ""
    assert says in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_no_release_tag_says_how_to_pass_a_ref(tmp_path: Path) -> None:
    repo = new_repo(tmp_path, tag=None)
    done = run_evtgen("schema", "check", repo)
    assert done.code == 2 and "no release tag" in done.stderr and "--against" in done.stderr
    assert run_evtgen("schema", "check", repo, "--against", "HEAD").code == 0


def test_not_a_git_repository(tmp_path: Path) -> None:
    write_schemas(tmp_path, V1)
    done = run_evtgen("schema", "check", tmp_path)
    assert done.code == 2 and "not a git repository" in done.stderr


def test_unparsable_schemas_on_either_side(tmp_path: Path) -> None:
    repo = new_repo(tmp_path, tag=None)
    (repo / "schemas" / "OrderPlaced.avsc").write_text('{"type": "record", "name": "X"}')
    release(repo, "v1.0.0")
    write_schemas(repo, V1)
    done = run_evtgen("schema", "check", repo)
    assert done.code == 2
    assert "schemas/OrderPlaced.avsc at v1.0.0: not a valid Avro schema" in done.stderr

    (repo / "schemas" / "OrderPlaced.avsc").write_text("{not json")
    done = run_evtgen("schema", "check", repo, "--against", "HEAD~0")
    assert done.code == 2 and "OrderPlaced.avsc" in done.stderr
