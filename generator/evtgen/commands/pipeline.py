"""`evtgen pipeline lint`: every pipeline checker on a repository's pipelines, their
findings merged into one report.

Which files: GitHub workflows (`.github/workflows/*.yml|yaml`) and Tekton resources
(any YAML file outside hidden and tool directories whose documents say
`apiVersion: tekton.dev/...` or `triggers.tekton.dev/...`). PATH may also be one
such file. A checker that is not installed is named with how to install it, and
the lint does not pass without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from evtgen.errors import UsageError
from evtgen.pipelines.checkers import CHECKERS, CheckerFailed, Finding, find_executable

_TEKTON = re.compile(r"^apiVersion:\s*['\"]?(triggers\.)?tekton\.dev/", re.MULTILINE)
_SKIP_DIRS = {"node_modules", "__pycache__", "venv", "site-packages"}


@dataclass
class CheckerRun:
    name: str
    status: str  # ran, missing (not installed), failed (gave no report), skipped (no files)
    files: int = 0
    install: str = ""
    detail: str = ""


@dataclass
class LintReport:
    path: str
    files: list[str]
    findings: list[Finding]
    checkers: list[CheckerRun]
    errors: int = 0
    warnings: int = 0
    complete: bool = True  # every checker that had files ran
    notes: list[str] = field(default_factory=list)


def pipeline_files(path: Path) -> tuple[list[Path], list[Path]]:
    """(GitHub workflow files, Tekton files) under `path`, or `path` itself."""
    if path.is_file():
        text = _read(path)
        if _TEKTON.search(text):
            return [], [path]
        if path.parent.name == "workflows" or re.search(r"^jobs:", text, re.MULTILINE):
            return [path], []
        return [], []
    github: list[Path] = []
    workflows = path / ".github" / "workflows"
    if workflows.is_dir():
        github = sorted(p for p in workflows.iterdir() if p.suffix in (".yml", ".yaml"))
    if path.name == "workflows" and path.parent.name == ".github":
        github = sorted(p for p in path.iterdir() if p.suffix in (".yml", ".yaml"))
    tekton = [p for p in _yaml_files(path) if _TEKTON.search(_read(p))]
    return github, sorted(tekton)


def _yaml_files(root: Path) -> list[Path]:
    found = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            # hidden directories hold tools and caches, except Tekton's own .tekton
            if (entry.name.startswith(".") and entry.name != ".tekton") or (
                entry.name in _SKIP_DIRS or (entry / "pyvenv.cfg").exists()
            ):
                continue
            found.extend(_yaml_files(entry))
        elif entry.suffix in (".yml", ".yaml"):
            found.append(entry)
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def lint(path: Path) -> LintReport:
    if not path.exists():
        raise UsageError(f"{path} does not exist; give a repository or a pipeline file")
    path = path.resolve()
    root = path if path.is_dir() else path.parent
    github, tekton = pipeline_files(path)
    # the checkers run in the repository, on paths relative to it
    targets = {
        "github": [p.relative_to(root) for p in github],
        "tekton": [p.relative_to(root) for p in tekton],
    }
    report = LintReport(
        path=str(path),
        files=[str(p.relative_to(root)) for p in [*github, *tekton]],
        findings=[],
        checkers=[],
    )
    if not github and not tekton:
        report.notes.append(f"no GitHub workflows or Tekton resources under {path}")
    for checker in CHECKERS:
        files = targets[checker.target]
        run = CheckerRun(checker.name, "skipped", len(files))
        report.checkers.append(run)
        if not files:
            continue
        exe = find_executable(checker.executable)
        if exe is None:
            run.status, run.install = "missing", checker.install
            report.complete = False
            continue
        try:
            report.findings.extend(checker.run(exe, files, root))
            run.status = "ran"
        except CheckerFailed as err:
            run.status, run.detail = "failed", str(err)
            report.complete = False
    report.findings.sort(key=lambda f: (f.file, f.line, f.checker, f.message))
    report.errors = sum(f.severity == "error" for f in report.findings)
    report.warnings = len(report.findings) - report.errors
    return report


def report_text(report: LintReport) -> str:
    lines = [
        f"{f.file}:{f.line}: {f.severity}: [{f.checker}{'/' + f.rule if f.rule else ''}] "
        f"{f.message}"
        for f in report.findings
    ]
    lines.extend(report.notes)
    for run in report.checkers:
        if run.status == "missing":
            lines.append(
                f"{run.name}: not installed, so {run.files} file(s) went unchecked "
                f"by it; install: {run.install}"
            )
        elif run.status == "failed":
            lines.append(f"{run.name}: failed: {run.detail}")
    ran = [r.name for r in report.checkers if r.status == "ran"]
    lines.append(
        f"{len(report.files)} pipeline file(s), {report.errors} error(s), "
        f"{report.warnings} warning(s); checkers run: {', '.join(ran) or 'none'}"
    )
    return "\n".join(lines)


def exit_code(report: LintReport) -> int:
    """1: errors found; 2: no error, but a checker that had files did not run (the
    lint is incomplete, so it does not pass); 0: every checker ran and found none."""
    if report.errors:
        return 1
    return 0 if report.complete else 2
