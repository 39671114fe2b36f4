"""Models no one here wrote: hypothesis draws random valid models; each generated
service's own tests, ruff and mypy must pass (in one shared environment, the
package on PYTHONPATH, so many models fit in one run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEMPLATE
from generated import run_in, uv
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from evtgen.copier_adapter import staging_render
from evtgen.loader import ModelError, parse_model
from evtgen.view import model_view

pytestmark = pytest.mark.slow

TYPE_NAMES = st.sampled_from(
    [
        "Order",
        "Invoice",
        "Parcel",
        "Payment",
        "Customer",
        "Ticket",
        "Refund",
        "Booking",
        "Review",
        "Quote",
        "Stock",
        "Route",
    ]
)
FIELD_NAMES = st.sampled_from(
    [
        "id",
        "order_id",
        "invoice_id",
        "amount",
        "note",
        "status",
        "total",
        "created_at",
        "tags",
        "kind",
        "ratio",
        "active",
        "reference",
        "count",
        "price",
        # wire names that are not Python names: aliases (docs/asyncapi.md)
        "sentAt",
        "customerId",
        "from",
        "schema",
    ]
)
SCALAR = st.sampled_from(
    ["string", "int", "long", "double", "boolean", "uuid", "timestamp", "decimal"]
)
FIELD_TYPE = st.one_of(
    SCALAR,
    SCALAR.map(lambda t: t + "?"),
    st.just({"type": "enum", "symbols": ["OPEN", "CLOSED"]}),
    SCALAR.map(lambda t: {"type": "list", "items": t}),
    st.just({"type": "string", "optional": True, "default": "n/a"}),
    st.just({"type": "int", "default": 3}),
)
FIELDS = st.dictionaries(FIELD_NAMES, FIELD_TYPE, min_size=1, max_size=5)


def identified(fields: dict) -> dict:
    """An aggregate needs one field that is not a list, to identify it."""
    if all(isinstance(t, dict) and t.get("type") == "list" for t in fields.values()):
        return {"ref": "string", **fields}
    return fields


@st.composite
def models(draw: st.DrawFn) -> dict:
    aggregates = draw(st.lists(TYPE_NAMES, min_size=1, max_size=2, unique=True))
    events = [
        f"{name}Happened"
        for name in draw(st.lists(TYPE_NAMES, min_size=1, max_size=4, unique=True))
    ]
    external = {e for e in events if draw(st.booleans())}
    internal = [e for e in events if e not in external]
    commands = [
        f"Do{name}" for name in draw(st.lists(TYPE_NAMES, min_size=1, max_size=3, unique=True))
    ]
    document: dict = {
        "service": "fuzzed",
        "aggregates": [{"name": a, "fields": identified(draw(FIELDS))} for a in aggregates],
        "events": [
            {"name": e, "fields": draw(FIELDS), **({"external": True} if e in external else {})}
            for e in events
        ],
        "commands": [
            {
                "name": c,
                "aggregate": draw(st.sampled_from(aggregates)),
                "fields": draw(FIELDS),
                "emits": draw(st.lists(st.sampled_from(internal), unique=True, max_size=2))
                if internal
                else [],
            }
            for c in commands
        ],
        "policies": [
            {
                "name": f"Policy{i}",
                "when": draw(st.sampled_from(events)),
                "then": draw(st.sampled_from(commands)),
            }
            for i in range(draw(st.integers(0, 3)))
        ],
    }
    return document


@pytest.fixture(scope="session")
def shared_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One venv with what every generated repo needs: each broker and schema format's
    dependencies, read from the pyproject.toml the template writes (never a copy)."""
    root = tmp_path_factory.mktemp("fuzz")
    venv = root / ".venv"
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    requirements: list[str] = []
    for broker in ("kafka", "rabbitmq", "nats", "redis"):
        for schema_format in ("avro", "jsonschema"):
            repo = root / f"{broker}-{schema_format}"
            with staging_render(
                src_path=str(TEMPLATE),
                dst_path=repo,
                quiet=True,
                defaults=True,
                data={"broker": broker, "schema_format": schema_format},
            ) as render:
                render.copy()
            requirements += ["-r", str(repo / "pyproject.toml")]
    subprocess.run(
        [
            uv(),
            "pip",
            "install",
            "-q",
            "--python",
            str(venv / "bin" / "python"),
            "--extra",
            "test",
            *requirements,
        ],
        check=True,
    )
    return venv / "bin"


@settings(
    max_examples=int(os.environ.get("EVTGEN_FUZZ_EXAMPLES", "12")),
    deadline=None,
    # each example installs nothing but runs three tools: shrinking would take minutes,
    # and the failing model is printed whole anyway
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@given(
    document=models(),
    broker=st.sampled_from(["kafka", "rabbitmq", "nats", "redis"]),
    schema_format=st.sampled_from(["avro", "jsonschema"]),
)
def test_any_valid_model_gives_a_service_whose_checks_pass(
    document: dict,
    broker: str,
    schema_format: str,
    shared_env: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    import io

    text = io.StringIO()
    YAML().dump(document, text)
    try:
        model = parse_model(text.getvalue(), "fuzzed.yaml")
    except ModelError as refused:
        # random drafts can loop, or create aggregates whose identity cannot be made;
        # those models are refused (each with its reason), and nothing else may be
        assert all(
            "leads back to" in str(p) or "makes new identities only" in str(p)
            for p in refused.problems
        ), refused
        assume(False)
    repo = tmp_path_factory.mktemp("fuzzed") / "fuzzed"
    with staging_render(
        src_path=str(TEMPLATE),
        dst_path=repo,
        quiet=True,
        defaults=True,
        data={"model": model_view(model), "broker": broker, "schema_format": schema_format},
    ) as render:
        render.copy()
    for command in (
        ["pytest", "-q", "-p", "no:cacheprovider", "-x"],
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy", "--cache-dir", str(shared_env.parent / ".mypy_cache")],
    ):
        done = run_in(repo, shared_env, *command, extra_env={"PYTHONPATH": str(repo / "src")})
        assert done.code == 0, (
            f"{done.command} failed on this model:\n{text.getvalue()}\n{done.output}"
        )
