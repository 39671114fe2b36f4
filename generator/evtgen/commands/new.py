"""`evtgen new service`: render the template from a model into a new repository.

The template is rendered into a temporary directory beside the destination and
moved into place only when the render succeeded, so a failure leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evtgen.errors import InputProblems, Interrupted, NotAvailable, UsageError
from evtgen.loader import ModelError, check_service_name, load_model
from evtgen.render import staging_worker
from evtgen.templates import bundled_template, sample_model_path

BROKERS = ("kafka", "rabbitmq", "nats", "redis")
SCHEMA_FORMATS = ("avro", "jsonschema")
CI_CHOICES = ("github", "tekton", "both", "none")
PATTERNS = ("choreography", "orchestration")


@dataclass
class NewServiceRequest:
    name: str
    dest: Path | None = None
    model: Path | None = None
    asyncapi: Path | None = None
    broker: str | None = None
    schema_format: str | None = None
    ci: str | None = None
    pattern: str | None = None
    template: str | None = None
    vcs_ref: str | None = None
    data: list[str] = field(default_factory=list)
    defaults: bool = False
    trust: bool = False


@dataclass
class NewServiceReport:
    service: str
    path: str
    template: str
    answers: dict[str, Any]
    files: list[str]


def new_service(request: NewServiceRequest) -> NewServiceReport:
    if why := check_service_name(request.name):
        raise UsageError(why)
    answers = _answers(request)
    dest = (request.dest or Path(request.name)).absolute()
    _check_destination(dest)
    model_path = request.model or sample_model_path()
    try:
        model = load_model(model_path, service=request.name)
    except ModelError as err:
        raise InputProblems(str(err)) from err

    from evtgen.view import model_view

    answers["model"] = model_view(model)
    template = request.template or str(bundled_template())
    _render(template, dest, answers, request)
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    return NewServiceReport(
        service=model.service,
        path=str(dest),
        template=template,
        answers=recorded_answers(dest),
        files=files,
    )


def _answers(request: NewServiceRequest) -> dict[str, Any]:
    """The template answers the options give; anything not given is asked (or defaulted)."""
    if request.asyncapi is not None:
        raise NotAvailable(
            "--asyncapi is not available in this version of evtgen yet; "
            "describe the service with --model FILE"
        )
    if request.model is not None and not request.model.is_file():
        what = "is a directory" if request.model.is_dir() else "does not exist"
        raise UsageError(f"model file {request.model} {what}; give a YAML file with --model")
    answers: dict[str, Any] = {}
    for option, value, choices in (
        ("broker", request.broker, BROKERS),
        ("schema_format", request.schema_format, SCHEMA_FORMATS),
        ("ci", request.ci, CI_CHOICES),
        ("pattern", request.pattern, PATTERNS),
    ):
        if value is None:
            continue
        if value not in choices:
            flag = "--" + option.replace("_", "-")
            raise UsageError(f"unknown {flag} {value!r}; choose one of: {', '.join(choices)}")
        answers[option] = value
    if answers.get("pattern") == "orchestration":
        raise NotAvailable(
            "--pattern orchestration is not available in this version of "
            "evtgen yet; use --pattern choreography"
        )
    answers.pop("pattern", None)
    for item in request.data:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--data {item!r} must be KEY=VALUE, e.g. --data broker=nats")
        if key.strip() == "model":
            raise UsageError("--data model=... is not accepted; give the model with --model FILE")
        answers[key.strip()] = value
    return answers


def _check_destination(dest: Path) -> None:
    if dest.is_file():
        raise UsageError(f"destination {dest} is a file; choose a directory with --dest")
    if dest.is_dir() and any(dest.iterdir()):
        raise UsageError(f"destination {dest} is not empty; choose another --dest or empty it")
    if not dest.parent.is_dir():
        raise UsageError(f"the parent of the destination, {dest.parent}, does not exist")


def _render(template: str, dest: Path, answers: dict[str, Any], request: NewServiceRequest) -> None:
    """Run Copier into a temporary sibling of `dest`, then move the result into place."""
    from copier.errors import (
        CopierAnswersInterrupt,
        CopierError,
        InteractiveSessionError,
        UnsafeTemplateError,
    )
    from jinja2 import TemplateError

    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.evtgen-", dir=dest.parent))
    except OSError as err:
        raise UsageError(f"cannot write beside {dest}: {err.strerror or err}") from err
    target = staging / dest.name
    try:
        try:
            with staging_worker(
                src_path=template,
                dst_path=target,
                data=answers,
                vcs_ref=request.vcs_ref,
                defaults=request.defaults,
                unsafe=request.trust,
                quiet=True,
            ) as copier_worker:
                copier_worker.run_copy()
        except CopierAnswersInterrupt as err:
            raise Interrupted("interrupted while answering; nothing was written") from err
        except InteractiveSessionError as err:
            raise UsageError(
                "the template has questions to ask but there is no terminal; "
                "pass --defaults, or the answers as options or --data"
            ) from err
        except UnsafeTemplateError as err:
            raise UsageError(
                f"the template {template} runs its own code (tasks, migrations "
                "or extensions); pass --trust if you trust it"
            ) from err
        except (CopierError, TemplateError, ValueError, OSError) as err:
            raise UsageError(
                f"the template {template} could not be rendered: {_one_line(err)}"
            ) from err
        except KeyboardInterrupt as err:
            raise Interrupted("interrupted; nothing was written") from err
        try:
            if dest.is_dir():  # checked empty: fill it, keeping the directory itself
                for entry in target.iterdir():
                    os.replace(entry, dest / entry.name)
            else:
                os.replace(target, dest)
        except OSError as err:  # something appeared there while rendering
            raise UsageError(
                f"could not move the new repository into {dest}: "
                f"{err.strerror or err}; nothing was written there"
            ) from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def recorded_answers(repo: Path) -> dict[str, Any]:
    """The answers Copier recorded in the repo, less the bulky model view."""
    from evtgen.yamllines import load_plain

    answers_file = repo / ".copier-answers.yml"
    if not answers_file.is_file():
        return {}
    recorded = load_plain(answers_file.read_text(encoding="utf-8")) or {}
    return {k: v for k, v in recorded.items() if k != "model"}


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 300 else text[:297] + "..."
