"""The Kubernetes manifests of generated services: `kustomize build` of each overlay
gives resources that the Kubernetes API schemas accept (kubernetes-validate, strict),
and, on Kafka, a Strimzi KafkaTopic for every channel and its dead-letter channel
that Strimzi's own CRD schema accepts.

kustomize and the CRD come from `scripts/deploy-tools.sh` (scripts/test.sh runs it)
into the per-user cache.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from conftest import ROOT, run_evtgen
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from evtgen.deploy import resource_name
from evtgen.model import dead_letter_channel

#: The Kubernetes version the manifests are checked against.
KUBERNETES = "1.33.0"
# the versions scripts/deploy-tools.sh installs
KUSTOMIZE_VERSION = re.search(
    r"^KUSTOMIZE_VERSION=(\S+)$", (ROOT / "scripts/deploy-tools.sh").read_text(), re.M
).group(1)  # type: ignore[union-attr]
STRIMZI_VERSION = re.search(
    r"<strimzi.version>(.+)</strimzi.version>",
    (ROOT / "tests/tools/strimzi/pom.xml").read_text(),
).group(1)  # type: ignore[union-attr]
CACHE = Path(
    os.environ.get("EVTGEN_CACHE_DIR")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "evtgen"
)
BROKERS = ("kafka", "rabbitmq", "nats", "redis")
# channels Kubernetes names may not hold: capitals, `_`
ODD_CHANNELS = """\
service: odd-names
aggregates:
  - name: Thing
    fields: {thing_id: uuid}
commands:
  - name: Make
    aggregate: Thing
    fields: {thing_id: uuid}
    emits: [Made]
events:
  - name: Made
    channel: Things_Made.V1
    fields: {thing_id: uuid}
  - name: Asked
    external: true
    channel: things-made.v1
    fields: {thing_id: uuid}
policies:
  - name: MakeWhenAsked
    when: Asked
    then: Make
"""


def tool(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.fail(f"{what} is missing at {path}: run `bash scripts/deploy-tools.sh`")
    return path


def kustomize(*args: str | Path) -> str:
    binary = tool(CACHE / "bin" / f"kustomize-{KUSTOMIZE_VERSION}", "kustomize")
    done = subprocess.run(
        [str(binary), *map(str, args)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def strict(schema: Any) -> Any:
    """A CRD schema as the API server's strict field validation reads it: an object
    with declared properties takes no others, unless it preserves unknown fields."""
    if isinstance(schema, dict):
        schema = {k: strict(v) for k, v in schema.items()}
        if (
            "properties" in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
            and "additionalProperties" not in schema
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


@pytest.fixture(scope="module")
def kafka_topic_schemas() -> dict[str, Draft7Validator]:
    """apiVersion -> validator of Strimzi's KafkaTopic CRD, one per served version."""
    crd = yaml.safe_load(
        tool(CACHE / f"strimzi-{STRIMZI_VERSION}" / "kafkatopic.yaml", "Strimzi's CRD").read_text()
    )
    assert crd["spec"]["names"]["kind"] == "KafkaTopic"
    return {
        f"{crd['spec']['group']}/{v['name']}": Draft7Validator(
            strict(v["schema"]["openAPIV3Schema"])
        )
        for v in crd["spec"]["versions"]
        if v["served"]
    }


def generate(root: Path, broker: str, model: str | None = None) -> Path:
    extra: list[str | Path] = []
    service = "orders"
    if model:
        (root / "model.yaml").write_text(model)
        extra = ["--model", root / "model.yaml"]
        service = yaml.safe_load(model)["service"]
    repo = root / service
    done = run_evtgen(
        "new", "service", service, "--defaults", "--dest", repo, "--broker", broker, *extra
    )
    assert done.code == 0, done.stderr
    return repo


def build(repo: Path, overlay: str) -> list[dict[str, Any]]:
    built = kustomize("build", repo / "deploy/overlays" / overlay)
    return [d for d in yaml.safe_load_all(built) if d]


def check(resources: list[dict[str, Any]], topic_schemas: dict[str, Draft7Validator]) -> None:
    """Every resource valid: Kubernetes' own kinds by their schemas, KafkaTopics by
    Strimzi's CRD."""
    for resource in resources:
        if resource["kind"] == "KafkaTopic":
            topic_schemas[resource["apiVersion"]].validate(resource)
            name = resource["metadata"]["name"]
            assert re.fullmatch(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?", name), name
            assert resource["metadata"]["labels"]["strimzi.io/cluster"]
        else:
            kubernetes_validate.validate(resource, KUBERNETES, strict=True)


def channels_of(repo: Path) -> set[str]:
    """The channels the generated service consumes or emits, read from its model."""
    model = yaml.safe_load((repo / "model.yaml").read_text())
    used = {p["when"] for p in model.get("policies") or []}
    used |= {e for c in model.get("commands") or [] for e in c["emits"]}
    return {e["channel"] for e in model.get("events") or [] if e["name"] in used}


def of_kind(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["kind"] == kind]


# -- the conventions -----------------------------------------------------------------


def test_the_dead_letter_channel_is_the_channel_with_dlq_appended() -> None:
    assert dead_letter_channel("payments.order-paid.v3") == "payments.order-paid.v3.dlq"


@pytest.mark.parametrize(
    "channel",
    ["orders.order-placed.v1", "Orders_Placed.V1", "a..b", "-x-", "x" * 300, "Orders.Placed"],
)
def test_resource_names_are_kubernetes_names(channel: str) -> None:
    name = resource_name(channel)
    assert re.fullmatch(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?", name), name
    assert ".." not in name


def test_resource_names_keep_valid_channels_and_tell_others_apart() -> None:
    assert resource_name("orders.order-placed.v1") == "orders.order-placed.v1"
    assert resource_name("Orders.Placed") != resource_name("orders.placed")
    assert resource_name("orders_placed") != resource_name("orders-placed")


# -- the manifests -------------------------------------------------------------------


@pytest.mark.parametrize("broker", BROKERS)
def test_each_overlay_builds_into_valid_kubernetes_resources(
    broker: str, tmp_path: Path, kafka_topic_schemas: dict[str, Draft7Validator]
) -> None:
    repo = generate(tmp_path, broker)
    for overlay, namespace, replicas in (("dev", "orders-dev", 1), ("prod", "orders", 3)):
        resources = build(repo, overlay)
        check(resources, kafka_topic_schemas)
        assert {r["metadata"]["namespace"] for r in resources} == {namespace}
        (deployment,) = of_kind(resources, "Deployment")
        assert deployment["spec"]["replicas"] == replicas
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        (url,) = [e for e in container["env"] if e["name"] == "BROKER_URL"]
        assert url["valueFrom"]["secretKeyRef"]["key"] == "BROKER_URL"
        assert of_kind(resources, "Service") and of_kind(resources, "PodDisruptionBudget")
        topics = {t["spec"]["topicName"] for t in of_kind(resources, "KafkaTopic")}
        if broker == "kafka":
            channels = channels_of(repo)
            assert channels
            assert topics == channels | {f"{c}.dlq" for c in channels}
        else:
            assert not topics, "KafkaTopic resources only for Kafka"


def test_kafka_topics_with_odd_channel_names_still_validate(
    tmp_path: Path, kafka_topic_schemas: dict[str, Draft7Validator]
) -> None:
    repo = generate(tmp_path, "kafka", ODD_CHANNELS)
    resources = build(repo, "prod")
    check(resources, kafka_topic_schemas)
    topics = of_kind(resources, "KafkaTopic")
    assert {t["spec"]["topicName"] for t in topics} == {
        "Things_Made.V1",
        "things-made.v1",
        "Things_Made.V1.dlq",
        "things-made.v1.dlq",
    }
    assert len({t["metadata"]["name"] for t in topics}) == 4


def test_the_dev_overlay_takes_an_image_digest_from_kustomize_edit(tmp_path: Path) -> None:
    repo = generate(tmp_path, "nats")
    image = "registry.example/orders@sha256:" + "ab" * 32
    done = subprocess.run(
        [
            str(CACHE / "bin" / f"kustomize-{KUSTOMIZE_VERSION}"),
            "edit",
            "set",
            "image",
            f"orders={image}",
        ],
        cwd=repo / "deploy/overlays/dev",
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    (deployment,) = of_kind(build(repo, "dev"), "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image


def test_the_checks_refuse_what_the_api_server_would(
    tmp_path: Path, kafka_topic_schemas: dict[str, Draft7Validator]
) -> None:
    """The validators are real: an unknown field or a zero partition count fails."""
    resources = build(generate(tmp_path, "kafka"), "dev")
    (deployment,) = of_kind(resources, "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGett"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)
    topic = copy.deepcopy(of_kind(resources, "KafkaTopic")[0])
    topic["spec"]["partitions"] = 0
    with pytest.raises(ValidationError):
        check([topic], kafka_topic_schemas)
    topic["spec"]["partitions"], topic["spec"]["replica"] = 1, 1
    with pytest.raises(ValidationError):
        check([topic], kafka_topic_schemas)


def test_a_kafka_service_without_channels_declares_no_topics(
    tmp_path: Path, kafka_topic_schemas: dict[str, Draft7Validator]
) -> None:
    repo = generate(tmp_path, "kafka", (ROOT / "tests/models/minimal.yaml").read_text())
    for overlay in ("dev", "prod"):
        resources = build(repo, overlay)
        check(resources, kafka_topic_schemas)
        assert of_kind(resources, "Deployment") and not of_kind(resources, "KafkaTopic")
