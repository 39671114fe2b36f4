"""Channel parameters (issue 19, item 2; docs/design.md, "Channel parameters"): an
event's channel may hold `{field}` levels. The model checks each names a field that
fits in an address; the AsyncAPI importer finds the field from the parameter's
`location`, the payload field of its name, or its one value, else adds one; every
broker's rendering subscribes with its own wildcard (Redis is refused)."""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, run_evtgen

from evtgen.asyncapi import load_asyncapi
from evtgen.loader import ModelError, load_model, parse_model
from evtgen.model import Model, channel_parameters, channel_pattern

MODEL = ROOT / "tests" / "models" / "parameters.yaml"

BASE = """\
service: lights
aggregates:
  - name: Light
    fields: {id: uuid, site: string, lumens: int}
commands:
  - name: Record
    aggregate: Light
    fields: {id: uuid, site: string, lumens: int}
    emits: [Recorded]
events:
  - name: Measured
    external: true
    channel: CHANNEL
    fields: {id: uuid, site: string, lumens: int, ratio: double, note: string?}
  - name: Recorded
    channel: lights.recorded.v1
    fields: {id: uuid, site: string, lumens: int}
policies:
  - {name: RecordIt, when: Measured, then: Record}
"""


def model_with(channel: str) -> str:
    return BASE.replace("CHANNEL", channel)


def problems_of(text: str) -> list[str]:
    with pytest.raises(ModelError) as caught:
        parse_model(text, "m.yaml")
    return [str(p) for p in caught.value.problems]


def channel_line(text: str) -> int:
    return next(
        i for i, line in enumerate(text.splitlines(), 1) if "{" in line and "channel:" in line
    )


def test_a_channel_parameter_names_a_field_of_the_event() -> None:
    model = parse_model(model_with("lights.{site}.{id}.measured.v1"), "m.yaml")
    event = model.event("Measured")
    assert event.channel == "lights.{site}.{id}.measured.v1"
    assert [f.name for f in event.parameters] == ["site", "id"]
    assert channel_parameters(event.channel) == ("site", "id")
    pattern = re.compile(channel_pattern(event.channel))
    assert pattern.match("lights.north-7.5f0c.measured.v1")
    # one level each, anchored: not a longer address, not its dead-letter channel
    assert not pattern.match("lights.a.b.c.measured.v1")
    assert not pattern.match("lights.north.5f0c.measured.v1.dlq")
    assert not model.event("Recorded").parameters


@pytest.mark.parametrize(
    ("channel", "why"),
    [
        ("lights.{colour}.measured", "parameter {colour} is not a field of the event"),
        ("lights.{ratio}.measured", "parameter {ratio} is a field of type double"),
        ("lights.{note}.measured", "parameter {note} is a field of type string (optional)"),
    ],
)
def test_a_parameter_that_is_no_fitting_field_is_refused_with_its_line(
    channel: str, why: str
) -> None:
    text = model_with(channel)
    (problem,) = problems_of(text)
    assert problem.startswith(f"m.yaml:{channel_line(text)}: channel {channel!r} of event Measured")
    assert why in problem
    assert "fields: id, site, lumens, ratio, note" in problem


def test_a_parameter_must_be_a_whole_level() -> None:
    text = model_with("lights.site-{site}.measured")
    (problem,) = problems_of(text)
    assert problem.startswith(
        f"m.yaml:{channel_line(text)}: channel 'lights.site-{{site}}.measured'"
    )
    assert "whole levels `{field}`" in problem


def test_a_wildcard_that_catches_another_channel_is_refused() -> None:
    text = model_with("lights.{site}.v1").replace("lights.recorded.v1", "lights.recorded.v1.x")
    text = text.replace("channel: lights.recorded.v1.x", "channel: lights.recorded.v1")
    (problem,) = problems_of(text)
    assert "Measured's channel 'lights.{site}.v1' also matches channel 'lights.recorded.v1'" in (
        problem
    )


# -- the AsyncAPI importer -----------------------------------------------------------

DOCUMENT = """\
asyncapi: 3.0.0
info: {title: Lights, version: 1.0.0}
channels:
  measured:
    address: lights.{site}.{lightId}.{env}.{zone}.measured
    parameters:
      site:
        location: $message.payload#/siteName
      lightId:
        description: The light.
      env:
        default: prod
      zone:
        enum: [NORTH, SOUTH]
    messages:
      measured:
        name: Measured
        payload:
          type: object
          required: [siteName, lightId, lumens]
          properties:
            siteName: {type: string}
            lightId: {type: string, format: uuid}
            lumens: {type: integer}
operations:
  onMeasured:
    action: receive
    channel: {$ref: '#/channels/measured'}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "doc.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_parameters_import_from_location_same_name_field_value_or_a_new_field(
    tmp_path: Path,
) -> None:
    imported = load_asyncapi(write(tmp_path, DOCUMENT), service="lights")
    event = imported.model.event("Measured")
    # location names siteName; lightId is a payload field; env has one value; zone is new
    assert event.channel == "lights.{siteName}.{lightId}.prod.{zone}.measured"
    fields = {f.name: f for f in event.fields}
    assert fields["zone"].type.kind == "enum"
    assert fields["zone"].type.symbols == ("NORTH", "SOUTH")
    assert [f.name for f in event.parameters] == ["siteName", "lightId", "zone"]
    said = [str(w) for w in imported.warnings]
    line = (
        DOCUMENT.splitlines().index("    address: lights.{site}.{lightId}.{env}.{zone}.measured")
        + 1
    )
    assert any(
        w.startswith(f"{tmp_path / 'doc.yaml'}:{line}: channel measured: parameter {{zone}}")
        and "the event gets a field zone (enum)" in w
        for w in said
    ), said
    assert any("(env=prod, the parameters' values)" in w for w in said), said


@pytest.mark.parametrize(
    ("location", "why"),
    [
        ("$message.header#/site", "is not a top-level payload field"),
        ("$message.payload#/missing", "field missing is not a field of the event"),
        ("$message.payload#/lumens", "field lumens is a field of type double"),
    ],
)
def test_a_location_that_names_no_fitting_field_is_refused_with_its_line(
    tmp_path: Path, location: str, why: str
) -> None:
    text = DOCUMENT.replace("$message.payload#/siteName", location).replace(
        "lumens: {type: integer}", "lumens: {type: number}"
    )
    path = write(tmp_path, text)
    done = run_evtgen(
        "new", "service", "lights", "--asyncapi", path, "--dest", tmp_path / "o", "--defaults"
    )
    assert done.code == 2
    line = text.splitlines().index(f"        location: {location}") + 1
    errors = [e for e in done.stderr.splitlines() if not e.startswith("evtgen: warn")]
    assert any(
        e.startswith(f"{path}:{line}: channel measured: parameter {{site}}") for e in errors
    ), done.stderr
    assert any(why in e for e in errors), done.stderr
    assert not (tmp_path / "o").exists()


def test_an_undeclared_parameter_is_refused_with_the_address_line(tmp_path: Path) -> None:
    text = DOCUMENT.replace("      env:\n        default: prod\n", "")
    path = write(tmp_path, text)
    done = run_evtgen(
        "new", "service", "lights", "--asyncapi", path, "--dest", tmp_path / "o", "--defaults"
    )
    assert done.code == 2
    line = text.splitlines().index("    address: lights.{site}.{lightId}.{env}.{zone}.measured") + 1
    assert f"{path}:{line}: channel measured: parameter {{env}} of address" in done.stderr
    assert "is not in its parameters" in done.stderr


# -- rendering on every broker -------------------------------------------------------

#: What each broker's subscriber to `smartylighting...{site}...measured` is.
SUBSCRIPTIONS = {
    "nats": '"smartylighting.streetlights.1.0.event.{site}.lighting.measured",\n    stream=',
    "rabbitmq": 'routing_key="smartylighting.streetlights.1.0.event.{site}.lighting.measured"',
    "kafka": (r'pattern=r"^smartylighting\.streetlights\.1\.0\.event\.[^.]+\.lighting\.measured$"'),
}


@pytest.mark.parametrize("broker", ["kafka", "nats", "rabbitmq", "redis"])
def test_each_broker_subscribes_with_its_wildcard_and_redis_is_refused(
    broker: str, tmp_path: Path
) -> None:
    dest = tmp_path / "repo"
    done = run_evtgen(
        "new", "service", "streetlights", "--model", MODEL, "--broker", broker,
        "--dest", dest, "--defaults",
    )  # fmt: skip
    if broker == "redis":
        assert done.code == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 2, done.stderr
        assert all("Redis streams have no wildcard" in line for line in lines)
        assert lines[0].startswith(f"{MODEL}:")
        assert not dest.exists()
        return
    assert done.code == 0, done.stderr
    app = (dest / "src" / "streetlights" / "app.py").read_text()
    assert SUBSCRIPTIONS[broker] in app
    # the publisher's address: the outbox row's topic is the channel with its fields in
    assert "topic = address(event, channel)" in app
    assert '"streetlights.{zone}.{site}.recorded.v1",' in app
    if broker == "kafka":
        assert "metadata_max_age_ms=METADATA_MAX_AGE_MS" in app
        topics = (dest / "deploy" / "base" / "topics.yaml").read_text()
        assert "{" not in topics  # a pattern's topics are made as they are published to
    else:
        assert "PathValues" in app  # FastStream's path parameters
    document = (dest / "schemas" / "asyncapi.yaml").read_text()
    assert "        location: $message.payload#/site\n" in document


def test_update_refuses_parameters_a_redis_repo_cannot_carry(tmp_path: Path) -> None:
    """A Redis repo whose team gives a channel a parameter: `update` says why, at the
    model's line, and changes nothing."""
    fixed = MODEL.read_text().replace("{site}", "all").replace("{zone}", "any")
    model = tmp_path / "streetlights.yaml"
    model.write_text(fixed)
    repo = tmp_path / "repo"
    done = run_evtgen(
        "new", "service", "streetlights", "--model", model, "--broker", "redis",
        "--dest", repo, "--defaults",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    text = (repo / "model.yaml").read_text()
    edited = text.replace("event.all.lighting", "event.{site}.lighting")
    (repo / "model.yaml").write_text(edited)
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "model"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *command], cwd=repo, check=True
        )
    before = (repo / "src" / "streetlights" / "app.py").read_text()
    done = run_evtgen("update", repo)
    assert done.code == 2
    # the event's line: the one with the parameterised channel
    line = next(i for i, t in enumerate(edited.splitlines(), 1) if "name: LightMeasured" in t)
    assert f"{repo / 'model.yaml'}:{line}: channel " in done.stderr
    assert "Redis streams have no wildcard" in done.stderr
    assert (repo / "src" / "streetlights" / "app.py").read_text() == before


@pytest.mark.parametrize("source", ["model", "asyncapi"])
def test_the_generated_asyncapi_keeps_the_parameters_and_reads_back_the_same(
    source: str, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    given = ["--model", MODEL] if source == "model" else ["--asyncapi", write(tmp_path, DOCUMENT)]
    service = "streetlights" if source == "model" else "lights"
    done = run_evtgen(
        "new", "service", service, *given, "--broker", "nats", "--dest", repo, "--defaults"
    )
    assert done.code == 0, done.stderr
    first = load_model_of(repo)
    again = load_asyncapi(repo / "schemas" / "asyncapi.yaml", service=service).model
    assert [(e.name, e.channel, e.fields) for e in again.events] == [
        (e.name, e.channel, e.fields) for e in first.events
    ]
    assert any(e.parameters for e in again.events)


def load_model_of(repo: Path) -> Model:
    return load_model(repo / "model.yaml")
