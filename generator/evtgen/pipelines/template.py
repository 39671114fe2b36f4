"""Writes the rendered pipelines into a Copier template, so that plain `copier copy`
gives them (the template stays plain Copier: no extension, no task).

The renderers run once per broker with stand-ins for the service's own values; the
stand-ins become Jinja expressions (`{{ model.service }}`, `{{ python_version }}`)
and everything else is escaped, so Copier writes the render back verbatim. A file
the same for every broker is one template file; one that differs is kept per
broker under `pipelines/BROKER/` in the template and included by the broker
answer.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from evtgen.pipelines import TARGETS, render
from evtgen.pipelines.context import Context
from evtgen.pipelines.model import PipelineModel

# Stand-ins that YAML writes exactly as it writes the real values: a kebab-case
# name (never standing alone, so never quoted), and a version that looks like a
# number (so quoted, as "3.12" is).
_SERVICE = "zzevtgenservicezz"
_PYTHON = "9.87"
_JINJA = {_SERVICE: "{{ model.service }}", _PYTHON: "{{ python_version }}"}
_BROKERS_DIR = "pipelines"
_CONDITION = {
    "github": "{% if ci in ['github', 'both'] %}",
    "tekton": "{% if ci in ['tekton', 'both'] %}",
}
_MARK = "Written by `python -m evtgen.pipelines`; do not edit by hand."


def _to_jinja(text: str) -> str:
    escaped = re.sub(r"\{[{%#]", lambda m: "{{ '" + m.group(0) + "' }}", text)
    for stand_in, expression in _JINJA.items():
        escaped = escaped.replace(stand_in, expression)
    return escaped


def _target_of(path: str) -> str:
    if path.startswith(".github/"):
        return "github"
    if path.startswith("tekton/"):
        return "tekton"
    raise ValueError(f"a pipeline file outside .github/ and tekton/: {path}")


def template_files(model: PipelineModel) -> dict[str, str]:
    """Template path -> text, for every pipeline file of every ci answer and broker."""
    per_broker: dict[str, dict[str, str]] = {}
    for broker in model.brokers:
        ctx = Context(service=_SERVICE, python_version=_PYTHON, broker=broker)
        per_broker[broker] = render(model, "both", ctx)
    _check_stand_ins(model)
    out: dict[str, str] = {}
    paths = sorted({p for files in per_broker.values() for p in files})
    for path in paths:
        texts = {b: files.get(path) for b, files in per_broker.items()}
        first, rest = path.split("/", 1)
        project = f"project/{_CONDITION[_target_of(path)]}{first}{{% endif %}}/{rest}.jinja"
        if len(set(texts.values())) == 1:
            only = next(iter(texts.values()))
            assert only is not None
            out[project] = _to_jinja(only)
        else:
            for broker, text in texts.items():
                out[f"{_BROKERS_DIR}/{broker}/{path}"] = _to_jinja(text or "")
            out[project] = f"{{% include '{_BROKERS_DIR}/' ~ broker ~ '/{path}' %}}\n"
    return out


def _check_stand_ins(model: PipelineModel) -> None:
    """The stand-ins must come out where, and only where, the real values would."""
    for broker in model.brokers:
        for service, python in (("orders", "3.12"), ("no", "3.11")):
            real = render(model, "both", Context(service, python, broker))
            stand = render(model, "both", Context(_SERVICE, _PYTHON, broker))
            for path, text in stand.items():
                if text.replace(_SERVICE, service).replace(_PYTHON, python) != real[path]:
                    raise AssertionError(f"{path}: the stand-ins do not render like real values")


def write_template(model: PipelineModel, template: Path) -> list[Path]:
    """Replace the pipeline files in `template` with renders of `model`."""
    for condition in _CONDITION.values():
        for stale in (template / "project").glob(f"{glob_escape(condition)}*"):
            shutil.rmtree(stale)
    shutil.rmtree(template / _BROKERS_DIR, ignore_errors=True)
    written = []
    for rel, text in template_files(model).items():
        path = template / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    (template / _BROKERS_DIR).mkdir(exist_ok=True)
    (template / _BROKERS_DIR / "README.md").write_text(
        "The rendered pipeline files that differ by broker; the template includes the\n"
        f"one of the `broker` answer. {_MARK}\n",
        encoding="utf-8",
    )
    return written


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


__all__ = ["TARGETS", "template_files", "write_template"]
