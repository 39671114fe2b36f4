"""The names a model may use: of its service, types, fields and channels, and the
names the generated code takes for itself."""

from __future__ import annotations

import keyword
import re
import sys

from evtgen.fieldtypes import IMPORTED_NAMES

TYPE_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
#: the longest file name the bundled template derives from a type name is an event's
#: schema, `schemas/NAME.schema.json`; most file systems allow 255 bytes a name
MAX_TYPE_NAME = 255 - len(".schema.json")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
CHANNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Classes beside the model's own in the generated modules.
RESERVED_TYPES = {
    "Message",
    "BaseModel",
    "ConfigDict",
    "Field",
    "UUID",
    "Decimal",
    "Literal",
    "Annotated",
    "Any",
    "Service",
    "Repository",
    "Publish",
    "Awaitable",
    "Callable",
    "Context",
    "FastStream",
    "StreamMessage",
    "SagaState",
    "Orchestrator",
}
# Functions and modules beside the ones named after commands, policies and events.
RESERVED_FUNCTIONS = {name for name in IMPORTED_NAMES if name.islower()} | {
    "react",
    "replace",
    "dataclass",
    "messages",
    "domain",
    "codec",
    "uuid4",
    "publish",
    "service",
    "app",
    "broker",
    "stream",
    "main",
    "saga",
    "orchestrator",
}

# Modules a generated service imports: its package must not take one's name.
TAKEN_PACKAGES = set(sys.stdlib_module_names) | {
    "faststream",
    "pydantic",
    "fastavro",
    "jsonschema",
    "pytest",
    "anyio",
    "aiokafka",
    "aio_pika",
    "nats",
    "redis",
    "tests",
    "test",
    "mypy",
    "ruff",
    # what those bring along, and the tools a generated repo runs (import names, as a
    # fresh install of every broker's and schema format's extras lists them)
    "typing_extensions",
    "pydantic_core",
    "annotated_types",
    "typing_inspection",
    "fast_depends",
    "uvicorn",
    "h11",
    "click",
    "prometheus_client",
    "opentelemetry",
    "google",
    "requests",
    "urllib3",
    "certifi",
    "idna",
    "charset_normalizer",
    "sniffio",
    "referencing",
    "rpds",
    "attr",
    "attrs",
    "jsonschema_specifications",
    "aiormq",
    "pamqp",
    "yarl",
    "multidict",
    "propcache",
    "async_timeout",
    "packaging",
    "pluggy",
    "iniconfig",
    "pygments",
    "mypy_extensions",
    "pathspec",
    "setuptools",
    "pkg_resources",
    "pip",
    "conftest",
    "hypothesis",
}


def check_service_name(name: str) -> str | None:
    """Why `name` is not a usable service name, or None when it is."""
    if not SERVICE_NAME.match(name):
        return (
            f"service name {name!r} is not lowercase kebab-case "
            "(letters and digits, words joined by '-', starting with a letter, e.g. 'orders')"
        )
    package = name.replace("-", "_")
    if keyword.iskeyword(package):
        return (
            f"service name {name!r} would make a Python package named after the keyword "
            f"{package!r}, which cannot be imported; choose another name "
            f"(e.g. '{name}-service')"
        )
    if package in TAKEN_PACKAGES:
        return (
            f"service name {name!r} would make a Python package that hides the module "
            f"{package!r}; choose another name (e.g. '{name}-service')"
        )
    return None
