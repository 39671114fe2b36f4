"""`evtgen new service`: render the template from a model into a new repository.

The template is rendered into a temporary directory beside the destination and
moved into place only when the render succeeded, so a failure leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evtgen.config import load_config
from evtgen.copier_adapter import staging_render
from evtgen.errors import InputProblems, Interrupted, UsageError
from evtgen.loader import ModelError, check_service_name, load_model
from evtgen.loader.checks import redis_parameters
from evtgen.model import Model
from evtgen.placing import check_destination, staged
from evtgen.templates import bundled_template, sample_model_path, sample_saga_path

if TYPE_CHECKING:
    from evtgen.asyncapi import AsyncApiImport

BROKERS = ("kafka", "rabbitmq", "nats", "redis")
SCHEMA_FORMATS = ("avro", "jsonschema")
CI_CHOICES = ("github", "tekton", "both", "none")
PATTERNS = ("choreography", "orchestration")


@dataclass(kw_only=True)
class RenderOptions:
    """What `new service` and `new system` ask of the template, alike."""

    broker: str | None = None
    schema_format: str | None = None
    ci: str | None = None
    template: str | None = None
    vcs_ref: str | None = None
    data: list[str] = field(default_factory=list)
    defaults: bool = False
    trust: bool = False

    def render_options(self) -> dict[str, Any]:
        """These options alone, as keywords for another request."""
        options = {f.name: getattr(self, f.name) for f in fields(RenderOptions)}
        return {**options, "data": list(self.data)}


@dataclass(kw_only=True)
class NewServiceRequest(RenderOptions):
    name: str
    dest: Path | None = None
    model: Path | None = None
    asyncapi: Path | None = None
    ref_root: Path | None = None  # where the document's $refs may read (its folder)
    pattern: str | None = None


@dataclass
class NewServiceReport:
    service: str
    path: str
    template: str
    answers: dict[str, Any]
    files: list[str]
    #: what an imported AsyncAPI document held that the model does not keep
    warnings: list[str] = field(default_factory=list)
    #: where each setting came from: a config file, or "--trust" (docs/templates.md)
    settings: dict[str, str] = field(default_factory=dict)


def new_service(request: NewServiceRequest) -> NewServiceReport:
    if why := check_service_name(request.name):
        raise UsageError(why)
    answers = _answers(request)
    explicit = set(answers)  # what the user gave; the rest evtgen derives
    dest = (request.dest or Path(request.name)).absolute()
    check_destination(dest, "--dest")
    warnings: list[str] = []
    orchestrated = answers.get("pattern") == "orchestration"
    model_path = request.asyncapi or request.model
    model_path = model_path or (sample_saga_path() if orchestrated else sample_model_path())
    try:
        if request.asyncapi is not None:
            from evtgen.asyncapi import load_asyncapi

            broker = answers.get("broker")
            imported = load_asyncapi(
                request.asyncapi,
                service=request.name,
                broker=broker if isinstance(broker, str) else None,
                ref_root=request.ref_root,
            )
            model, warnings = imported.model, [str(w) for w in imported.warnings]
            warnings += _document_answers(answers, imported, request.asyncapi)
        else:
            model = load_model(model_path, service=request.name)
            answers["model_file"] = _model_file(model_path, model)
    except ModelError as err:
        raise InputProblems(str(err)) from err
    answers["pattern"] = _pattern(answers.get("pattern"), model, model_path)
    if answers.get("broker") == "redis" and (problems := redis_parameters(model, model_path)):
        raise InputProblems("\n".join(problems))

    from evtgen.view import model_view

    answers["model"] = model_view(model)
    config = load_config()
    template = request.template or config.template or str(bundled_template())
    bundled = request.template is None and config.template is None
    if request.template is None and config.template is not None:
        request.vcs_ref = request.vcs_ref or config.vcs_ref
    settings = dict(config.origins)
    settings.pop("trusted", None)
    if request.trust:
        settings["trusted"] = "--trust"
    elif config.trusts(template):
        settings["trusted"] = config.origins["trusted"]
    request.trust = request.trust or config.trusts(template)
    warnings += config.ignored
    if bundled:
        # the bundled template's version goes into evtgen's store, so `update` finds it
        from evtgen import __version__
        from evtgen.store import ensure_bundled_published

        try:
            tag = ensure_bundled_published()
        except UsageError:  # no writable data dir: the repo is still made; update publishes
            tag = f"v{__version__}"
    _render(template, dest, answers, request, user_defaults=config.answers, explicit=explicit)
    if bundled:
        _stamp_bundled(dest, tag)
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    return NewServiceReport(
        service=model.service,
        path=str(dest),
        template=template,
        answers=recorded_answers(dest),
        files=files,
        warnings=warnings,
        settings=settings,
    )


def _model_file(path: Path, model: Model) -> str:
    """The repo's model.yaml: the team's file as written, with what evtgen resolved
    (the service's name, default channels) written in (docs/design.md)."""
    from evtgen.modelfile import pinned_text

    return pinned_text(path.read_bytes().decode("utf-8"), model)  # its line endings kept


def _document_answers(answers: dict[str, Any], imported: AsyncApiImport, path: Path) -> list[str]:
    """The broker and schema format the AsyncAPI document says, unless the options
    said otherwise (which is then a warning: the wire would differ from the document)."""
    warnings = []
    for key, option, value in (
        ("broker", "--broker", imported.broker),
        ("schema_format", "--schema-format", imported.schema_format),
    ):
        if value is None:
            continue
        if key not in answers:
            answers[key] = value
        elif answers[key] != value:
            warnings.append(
                f"{path}: the document says {key.replace('_', ' ')} {value}, "
                f"{option} says {answers[key]}: the service follows {option}"
            )
    return warnings


def _answers(request: NewServiceRequest) -> dict[str, Any]:
    """The template answers the options give; anything not given is asked (or defaulted)."""
    if request.asyncapi is not None and request.model is not None:
        raise UsageError("--model and --asyncapi both describe the service; give one of them")
    for what_file, option, path in (
        ("model file", "--model", request.model),
        ("AsyncAPI document", "--asyncapi", request.asyncapi),
    ):
        if path is not None and not path.is_file():
            what = "is a directory" if path.is_dir() else "does not exist"
            raise UsageError(f"{what_file} {path} {what}; give a YAML file with {option}")
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
    for item in request.data:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--data {item!r} must be KEY=VALUE, e.g. --data broker=nats")
        if key.strip() in ("model", "model_file"):
            raise UsageError(
                f"--data {key.strip()}=... is not accepted; give the model with --model FILE"
            )
        answers[key.strip()] = value
    return answers


def _pattern(given: str | None, model: Model, model_path: Path) -> str:
    """The pattern the model allows: a saga needs an orchestrator, and only a model
    with a saga can be orchestrated (docs/saga.md). Not given: the model decides."""
    if given == "orchestration" and model.saga is None:
        raise UsageError(
            f"--pattern orchestration needs a saga to orchestrate, and the model "
            f"{model_path} has none; add a 'saga:' section (see docs/saga.md), or leave "
            "out --model to start from the sample saga"
        )
    if given == "choreography" and model.saga is not None:
        raise UsageError(
            f"the model {model_path} describes a saga, which needs an orchestrator; "
            "use --pattern orchestration, or remove its 'saga:' section"
        )
    return given or ("orchestration" if model.saga is not None else "choreography")


def _render(
    template: str,
    dest: Path,
    answers: dict[str, Any],
    request: NewServiceRequest,
    user_defaults: dict[str, Any],
    explicit: set[str],
) -> None:
    """Run Copier into a temporary sibling of `dest`, then move the result into place."""
    from copier.errors import (
        CopierAnswersInterrupt,
        CopierError,
        InteractiveSessionError,
        UnsafeTemplateError,
    )
    from jinja2 import TemplateError

    with staged(dest) as target:
        try:
            with staging_render(
                src_path=template,
                dst_path=target,
                data=answers,
                user_defaults=user_defaults,
                vcs_ref=request.vcs_ref,
                defaults=request.defaults,
                unsafe=request.trust,
                quiet=True,
            ) as render:
                _check_questions_exist(template, explicit, render.questions)
                render.copy()
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
        except (CopierError, TemplateError, ValueError, OSError, SyntaxError) as err:
            raise UsageError(
                f"the template {template} could not be rendered: {_one_line(err)}"
            ) from err
        except AssertionError as err:
            from evtgen.copier_adapter import internal_failure

            raise UsageError(
                f"the template {template} could not be rendered: {internal_failure(err)}"
            ) from err
        except KeyboardInterrupt as err:
            raise Interrupted("interrupted; nothing was written") from err


def _check_questions_exist(template: str, given: set[str], questions: dict[str, Any]) -> None:
    """An answer given on the command line must be one the template asks: a typo in
    `--data brokr=nats` would otherwise be dropped without a word."""
    unknown = sorted(given - set(questions))
    if unknown:
        raise UsageError(
            f"the template {template} asks no question {unknown[0]!r}; "
            f"it asks: {', '.join(sorted(q for q in questions if q != 'model')) or 'nothing'}"
        )


def _stamp_bundled(dest: Path, tag: str) -> None:
    """Record the bundled template as `evtgen:bundled` at its published version: the
    same name on every machine, resolved by `update` and `check` to evtgen's store.
    (The render came from the installed files, which are that version's content.)"""
    from evtgen.store import BUNDLED_SOURCE, stamp_answers

    answers_file = dest / ".copier-answers.yml"
    text = answers_file.read_text(encoding="utf-8")
    answers_file.write_text(stamp_answers(text, tag, BUNDLED_SOURCE), encoding="utf-8")


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
