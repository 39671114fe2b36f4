"""The command line: parses arguments, calls the engine, renders its report.

Kept thin and cheap to import: the engine (Copier, YAML, the model) is imported
only inside the command that needs it, so `evtgen --help` starts fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from evtgen import __version__
from evtgen.errors import UsageError

app = typer.Typer(
    name="evtgen",
    help="Generate event-driven service repositories from event-storming models, "
    "and keep them on their template.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
# The options `new service` and `new system` share, declared once.
BrokerOption = Annotated[str | None, typer.Option(help="kafka, rabbitmq, nats or redis.")]
SchemaFormatOption = Annotated[str | None, typer.Option(help="avro or jsonschema.")]
CiOption = Annotated[str | None, typer.Option(help="github, tekton, both or none.")]
TemplateOption = Annotated[str | None, typer.Option(help="A Copier template: path or git URL.")]
VcsRefOption = Annotated[str | None, typer.Option(help="The template's git ref to use.")]
DataOption = Annotated[list[str] | None, typer.Option(help="An answer, KEY=VALUE (repeatable).")]
DefaultsOption = Annotated[bool, typer.Option(help="Ask nothing; take the defaults.")]

new_app = typer.Typer(help="Create something new from a template.", no_args_is_help=True)
schema_app = typer.Typer(help="Check event schemas and register them.", no_args_is_help=True)
pipeline_app = typer.Typer(help="Check CI/CD pipelines.", no_args_is_help=True)
template_app = typer.Typer(help="Author and test templates.", no_args_is_help=True)
contract_app = typer.Typer(
    help="Check the contracts between the repositories of a system.", no_args_is_help=True
)
app.add_typer(new_app, name="new")
app.add_typer(schema_app, name="schema")
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(template_app, name="template")
app.add_typer(contract_app, name="contract")


def _version(value: bool) -> None:
    if value:
        print(f"evtgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """evtgen: event-driven services from event-storming models."""


def _emit(report: Any, as_json: bool, text: str) -> None:
    if as_json:
        import json
        from dataclasses import asdict

        print(json.dumps(asdict(report), indent=2, default=str))
    else:
        print(text)


@new_app.command("service")
def new_service(
    name: Annotated[str, typer.Argument(help="The service name, kebab-case (e.g. orders).")],
    dest: Annotated[Path | None, typer.Option(help="Where to create it (default: ./NAME).")] = None,
    model: Annotated[Path | None, typer.Option(help="The event-storming model (YAML).")] = None,
    asyncapi: Annotated[Path | None, typer.Option(help="An AsyncAPI 3.0 document instead.")] = None,
    ref_root: Annotated[
        Path | None, typer.Option(help="Where the document's $refs may read (its folder).")
    ] = None,
    broker: BrokerOption = None,
    schema_format: SchemaFormatOption = None,
    ci: CiOption = None,
    pattern: Annotated[str | None, typer.Option(help="choreography or orchestration.")] = None,
    template: TemplateOption = None,
    vcs_ref: VcsRefOption = None,
    data: DataOption = None,
    defaults: DefaultsOption = False,
    trust: Annotated[bool, typer.Option(help="Let the template run its own code.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Create a service repository from a model."""
    from evtgen.commands.new import NewServiceRequest
    from evtgen.commands.new import new_service as run

    report = run(
        NewServiceRequest(
            name=name,
            dest=dest,
            model=model,
            asyncapi=asyncapi,
            ref_root=ref_root,
            broker=broker,
            schema_format=schema_format,
            ci=ci,
            pattern=pattern,
            template=template,
            vcs_ref=vcs_ref,
            data=data or [],
            defaults=defaults,
            trust=trust,
        )
    )
    for warning in report.warnings:  # what an --asyncapi document held that is not kept
        print(f"evtgen: warning: {warning}", file=sys.stderr)
    answers = ", ".join(f"{k}={v}" for k, v in report.answers.items() if not k.startswith("_"))
    _emit(
        report,
        as_json,
        f"created {report.service} in {report.path} ({len(report.files)} files; {answers})\n"
        f"next: cd {report.path} && python3 -m venv .venv && .venv/bin/pip install -e '.[test]'"
        " && .venv/bin/pytest",
    )


@new_app.command("system")
def new_system(
    model: Annotated[
        Path | None, typer.Option(help="The system model (YAML; default: evtgen's sample).")
    ] = None,
    dest: Annotated[
        Path | None, typer.Option(help="Where to create the repos (default: ./SYSTEM).")
    ] = None,
    broker: BrokerOption = None,
    schema_format: SchemaFormatOption = None,
    ci: CiOption = None,
    template: TemplateOption = None,
    vcs_ref: VcsRefOption = None,
    data: DataOption = None,
    defaults: DefaultsOption = False,
    trust: Annotated[bool, typer.Option(help="Let the template run its own code.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Create a repository per context of a system model, and the system's own."""
    from evtgen.commands.new_system import NewSystemRequest, render_text
    from evtgen.commands.new_system import new_system as run

    report = run(
        NewSystemRequest(
            model=model,
            dest=dest,
            broker=broker,
            schema_format=schema_format,
            ci=ci,
            template=template,
            vcs_ref=vcs_ref,
            data=data or [],
            defaults=defaults,
            trust=trust,
        )
    )
    _emit(report, as_json, render_text(report))


@contract_app.command("check")
def contract_check(
    paths: Annotated[
        list[Path], typer.Argument(help="Repositories, or a directory holding a system's.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Fail where a consumer cannot read what its producer writes."""
    from evtgen.commands.contract_check import contract_check as run
    from evtgen.commands.contract_check import render_text

    report = run(paths)
    _emit(report, as_json, render_text(report))
    if report.exit_code:
        raise typer.Exit(report.exit_code)


@app.command()
def update(
    paths: Annotated[list[Path] | None, typer.Argument(help="Repositories to update.")] = None,
    to: Annotated[str | None, typer.Option(help="Template ref to update to.")] = None,
    dry_run: Annotated[bool, typer.Option(help="Show the result, change nothing.")] = False,
    jobs: Annotated[int, typer.Option(help="Repositories updated in parallel.")] = 1,
    branch: Annotated[str | None, typer.Option(help="Branch to commit the update on.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
    trust: Annotated[bool, typer.Option(help="Let the template run its own code.")] = False,
) -> None:
    """Update repositories to a newer version of their template."""
    from evtgen.commands.update import UpdateOptions, update_repos
    from evtgen.system_update import expand_systems

    options = UpdateOptions(to=to, dry_run=dry_run, jobs=jobs, branch=branch, trust=trust)
    repos = expand_systems(paths or [], dry_run=dry_run, progress=_progress)
    report = update_repos(repos, options, progress=_progress)
    for warning in {w for r in report.repos for w in r.warnings}:
        print(f"evtgen: warning: {warning}", file=sys.stderr)
    _finish_fleet(report, as_json, _update_text(report))


def _progress(line: str) -> None:
    print(f"evtgen: {line}", file=sys.stderr, flush=True)


def _finish_fleet(report: Any, as_json: bool, text: str) -> None:
    """Print a fleet report; one repo that failed is bad input (exit 2), as for any command."""
    if len(report.repos) == 1 and report.repos[0].status == "failed":
        raise UsageError(report.repos[0].reason)
    _emit(report, as_json, text)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _update_text(report: Any) -> str:
    lines: list[str] = []
    for r in report.repos:
        versions = f"{r.from_version} -> {r.to_version}" if r.to_version else ""
        lines.append(f"{r.path}: {r.status} {versions}".rstrip())
        if r.reason:
            lines.append(f"  reason: {r.reason}")
        for label, paths in (
            ("conflicted (markers in the file)", r.conflicted),
            ("changed", r.changed),
            ("added", r.added),
            ("removed", r.removed),
            ("renamed", [f"{old} -> {new}" for new, old in r.renamed.items()]),
            ("kept deleted (you deleted it)", r.kept_deleted),
            ("kept (the template removed it; you had edited it)", r.kept),
        ):
            for path in paths:
                # a conflict kept without markers (binary, link, a directory in the way)
                note = r.notes.get(path, "") if paths is r.conflicted else ""
                extra = f" ({note})" if note and "kept yours" in note else ""
                lines.append(f"  {label}: {path}{extra}")
        if r.branch:
            lines.append(f"  committed on branch {r.branch}")
        if r.diff:
            lines.append(r.diff.rstrip("\n"))
    if len(report.repos) > 1:
        lines += ["", f"{'status':<11} {'from':<12} {'to':<12} {'conflicts':>9}  repository"]
        for r in report.repos:
            lines.append(
                f"{r.status:<11} {r.from_version or '-':<12} {r.to_version or '-':<12} "
                f"{len(r.conflicted):>9}  {r.path}"
            )
    if report.dry_run:
        lines.append("(dry run: nothing was changed)")
    return "\n".join(lines)


@app.command()
def check(
    paths: Annotated[list[Path] | None, typer.Argument(help="Repositories to check.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
    html: Annotated[
        Path | None, typer.Option(help="Also write the fleet as one static HTML page.")
    ] = None,
) -> None:
    """Fail when a repository is behind its template or its managed files drifted."""
    from evtgen.commands.check import check_repos

    if html is not None and not html.parent.is_dir():
        raise UsageError(f"cannot write {html}: its folder {html.parent} does not exist")
    from evtgen.system_update import expand_systems

    repos = expand_systems(paths or [], dry_run=True)
    report = check_repos(repos, progress=_progress)
    if html is not None:
        from evtgen.fleet_page import context_map_html, fleet_page, fleet_rows

        html.write_text(
            fleet_page(fleet_rows(report), context_map=_context_map(repos, context_map_html)),
            encoding="utf-8",
        )
        _progress(f"wrote the fleet page {html}")
    _finish_fleet(report, as_json, _check_text(report))


def _context_map(repos: list[Path], render: Any) -> str:
    """The fleet page's context map, when the repos meet (none when they cannot be
    read as a system: the page shows the fleet still)."""
    from evtgen.commands.contract_check import contract_check

    try:
        return str(render(contract_check(repos, verify_pacts=False)))
    except UsageError:
        return ""


def _check_text(report: Any) -> str:
    lines: list[str] = []
    for r in report.repos:
        lines.append(f"{r.path}: {r.status}")
        if r.reason:
            lines.append(f"  reason: {r.reason}")
        if r.behind:
            lines.append(f"  behind: made from {r.version}, newest is {r.newest}")
        for label, paths in (
            ("missing", r.missing),
            ("changed", r.changed),
            ("the newest version adds", r.added_upstream),
            ("edited by the team (not drift)", r.team_owned_edited),
        ):
            for path in paths:
                lines.append(f"  {label}: {path}")
    return "\n".join(lines)


@schema_app.command("check")
def schema_check(
    path: Annotated[Path, typer.Argument(help="The repository.")] = Path("."),
    against: Annotated[
        str | None, typer.Option(help="Git ref to compare with (default: newest release tag).")
    ] = None,
    registry: Annotated[
        str | None,
        typer.Option(help="Compare with what this schema registry holds instead of git."),
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(help="Compatibility mode (default: .evtgen.yml's, else BACKWARD)."),
    ] = None,
    subject_strategy: Annotated[
        str | None,
        typer.Option(help="With --registry: topic (default), record or topic-record."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Fail on an incompatible schema change (exit 1), by Schema Registry's modes:
    BACKWARD (default), BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL,
    FULL_TRANSITIVE, NONE. Compares with the newest release tag unless --against,
    or with a schema registry's subjects (--registry URL)."""
    config_mode, strategy = _schema_config(path)
    if registry is not None:
        from evtgen.commands.schema_registry import registry_check, render_check_text

        if against is not None:
            raise UsageError("give --against (a git ref) or --registry (a URL), not both")
        report = registry_check(path, registry, mode or config_mode, subject_strategy or strategy)
        _emit(report, as_json, render_check_text(report))
    else:
        from evtgen.commands.schema_check import render_text
        from evtgen.commands.schema_check import schema_check as run

        if subject_strategy is not None:
            raise UsageError("--subject-strategy names registry subjects: use it with --registry")
        report = run(path, against, mode or config_mode)
        _emit(report, as_json, render_text(report))
    if not report.compatible:
        raise typer.Exit(1)


@schema_app.command("register")
def schema_register(
    path: Annotated[Path, typer.Argument(help="The repository.")] = Path("."),
    registry: Annotated[
        str | None,
        typer.Option(help="The schema registry's URL, e.g. http://localhost:8081/apis/ccompat/v7."),
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            help="The subjects' compatibility rule (default: .evtgen.yml's, else BACKWARD)."
        ),
    ] = None,
    subject_strategy: Annotated[
        str | None,
        typer.Option(help="Subject names: topic (<topic>-value, default), record, topic-record."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Register the schemas of the events the service sends in a schema registry, one
    subject per topic, each with the repo's compatibility rule; fail (exit 1) when
    the registry refuses one as incompatible."""
    from evtgen.commands.schema_registry import register, render_register_text

    if registry is None:
        raise UsageError(
            "schema register needs --registry URL (e.g. http://localhost:8081/apis/ccompat/v7)"
        )
    config_mode, strategy = _schema_config(path)
    report = register(path, registry, mode or config_mode, subject_strategy or strategy)
    _emit(report, as_json, render_register_text(report))
    if not report.ok:
        raise typer.Exit(1)


def _schema_config(path: Path) -> tuple[str, str]:
    """The repo's compatibility mode and subject strategy (.evtgen.yml, else the
    user's config), else BACKWARD and topic."""
    from evtgen.config import load_config

    config = load_config(path if path.is_dir() else None)
    return config.compatibility or "BACKWARD", config.subject_strategy or "topic"


@pipeline_app.command("lint")
def pipeline_lint(
    path: Annotated[Path, typer.Argument(help="The repository.")] = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Run every pipeline checker on the repository's pipelines."""
    from evtgen.commands.pipeline import exit_code, lint, report_text

    report = lint(path)
    _emit(report, as_json, report_text(report))
    code = exit_code(report)
    if code == 2:
        unrun = [
            f"{r.name} ({r.status})" for r in report.checkers if r.status in ("missing", "failed")
        ]
        print(
            f"evtgen: error: pipeline lint is incomplete: {', '.join(unrun)} did not run; "
            "scripts/install-checkers.sh (in an evtgen checkout) installs them all; "
            "each one's line above says how to install it alone",
            file=sys.stderr,
        )
    if code:
        raise typer.Exit(code)


@template_app.command("init")
def template_init(
    dest: Annotated[Path, typer.Argument(help="Where to create the template.")],
    overlay: Annotated[bool, typer.Option(help="Scaffold an overlay template.")] = False,
) -> None:
    """Scaffold a new template (or an overlay) with its tests ready."""
    from evtgen.commands.template_init import template_init as run

    report = run(dest, overlay=overlay)
    kind = "overlay template" if report.overlay else "template"
    install = "python3 -m venv .venv && .venv/bin/pip install -r requirements-test.txt"
    print(
        f"created the {kind} {report.name} in {report.path} ({len(report.files)} files"
        f"{', committed to a new git repository' if report.git else ''})\n"
        f"test it: cd {report.path} && {install} && .venv/bin/pytest\n"
        "release it: git tag v0.1.0"
    )


@template_app.command("test")
def template_test(
    src: Annotated[str | None, typer.Argument(help="The template (default: bundled).")] = None,
    matrix: Annotated[Path | None, typer.Option(help="A YAML file of answer sets.")] = None,
    vcs_ref: Annotated[str | None, typer.Option(help="The template's git ref to test.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Render, install and test a template over a matrix of answers, and its upgrades."""
    from evtgen.commands.template_test import bundled_source
    from evtgen.commands.template_test import template_test as run

    if src is None:
        src, vcs_ref = bundled_source(vcs_ref)
    report = run(
        src,
        matrix_file=matrix,
        vcs_ref=vcs_ref,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    rows = [
        f"{'passed' if case.passed else 'FAILED':<7} {case.kind:<8} {case.seconds:>6.1f}s  "
        f"{case.name}" + ("" if case.passed else f"  (at {case.stage})")
        for case in report.cases
    ]
    details = [f"--- {c.name}: {c.stage}\n{c.detail}" for c in report.cases if not c.passed]
    summary = f"{len(report.cases) - report.failed} passed, {report.failed} failed"
    _emit(report, as_json, "\n".join([*rows, *details, *report.notes, summary]))
    if report.failed:
        raise typer.Exit(1)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; bad input becomes one line on stderr and exit 2, never a traceback."""
    from click import exceptions as click

    command = typer.main.get_command(app)
    try:
        # without standalone mode, click returns a typer.Exit's code instead of raising it
        returned = command.main(args=argv, prog_name="evtgen", standalone_mode=False)
        if isinstance(returned, int):
            return returned
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.Abort:
        print("evtgen: aborted", file=sys.stderr)
        return 130
    except click.NoArgsIsHelpError as err:
        print(err.ctx.get_help() if err.ctx else err.format_message())
        return 0
    except click.UsageError as err:
        where = err.ctx.command_path if err.ctx else "evtgen"
        print(f"{where}: error: {err.format_message()} (see '{where} --help')", file=sys.stderr)
        return 2
    except UsageError as err:
        print("\n".join(err.lines()), file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
