"""`evtgen new system`: one repository per context of a system model, each exactly
what `new service` makes for it, and the system repository beside them
(docs/system.md).

Everything is built in one staging directory and moved into place at the end, so a
failure in any context leaves no repository behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evtgen.commands.new import (
    NewServiceReport,
    NewServiceRequest,
    RenderOptions,
    new_service,
    recorded_answers,
)
from evtgen.errors import InputProblems, UsageError
from evtgen.loader.system import System, load_system
from evtgen.placing import check_destination, staged
from evtgen.problems import ModelError
from evtgen.templates import sample_system_path


@dataclass(kw_only=True)
class NewSystemRequest(RenderOptions):
    model: Path | None = None
    dest: Path | None = None


@dataclass
class NewSystemReport:
    system: str
    path: str
    #: the system repository: the system model, its context map, its CI
    system_repo: str
    contexts: list[NewServiceReport]


def new_system(request: NewSystemRequest) -> NewSystemReport:
    model_path = request.model or sample_system_path()
    if not model_path.is_file():
        what = "is a directory" if model_path.is_dir() else "does not exist"
        raise UsageError(f"system model {model_path} {what}; give a YAML file with --model")
    try:
        system = load_system(model_path)
    except ModelError as err:
        raise InputProblems(str(err)) from err
    if any(c.name == system.name for c in system.contexts):
        raise UsageError(
            f"the system {system.name!r} has a context of the same name, and both would be "
            f"written to {system.name}/; rename the system or the context"
        )
    dest = (request.dest or Path(system.name)).absolute()
    check_destination(dest, "--dest")
    reports = []
    with staged(dest) as target:
        target.mkdir()
        models = target.parent / "models"  # beside the repos, gone with the staging
        models.mkdir()
        for context in system.contexts:
            model_file = models / f"{context.name}.yaml"
            model_file.write_text(context.model_text, encoding="utf-8")
            report = new_service(
                NewServiceRequest(
                    name=context.name,
                    dest=target / context.name,
                    model=model_file,
                    **request.render_options(),
                )
            )
            report.path = str(dest / context.name)
            reports.append(report)
        from evtgen.system_repo import write_system_repo

        first = recorded_answers(target / system.contexts[0].name)
        ci = request.ci or str(first.get("ci", "github"))
        write_system_repo(target / system.name, system, model_path, ci, first)
    return NewSystemReport(system.name, str(dest), str(dest / system.name), reports)


def render_text(report: NewSystemReport) -> str:
    lines = [f"created the system {report.system} in {report.path}:"]
    for context in report.contexts:
        lines.append(f"  {context.service}/ ({len(context.files)} files)")
    lines.append(f"  {Path(report.system_repo).name}/ (the system: context map, contract check)")
    lines.append(f"next: evtgen contract check {report.path}")
    return "\n".join(lines)


def system_of(path: Path) -> System:
    """The system a system repository holds (its `system.yaml`)."""
    try:
        return load_system(path / "system.yaml")
    except ModelError as err:
        raise InputProblems(str(err)) from err
