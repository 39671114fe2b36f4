"""The pipeline checkers `evtgen pipeline lint` runs, and how each one's output
becomes findings (checker, file, line, severity, message).

Where a checker is looked for, in order: PATH, the directory of the running Python
(a virtual environment's bin), and evtgen's checker directory
(`~/.cache/evtgen/checkers`, or `$EVTGEN_CACHE_DIR/checkers`), which
`scripts/install-checkers.sh` fills. The sources of evtgen's own checkers are in
`tools/` of a checkout, and in the wheel as `evtgen/tools/`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

ACTIONLINT_VERSION = "v1.7.12"
TEKTON_LINT_VERSION = "1.1.0"
_ALL = "scripts/install-checkers.sh (in an evtgen checkout) installs every checker"


@dataclass
class Finding:
    checker: str
    file: str
    line: int
    severity: str  # error or warning
    message: str
    rule: str = ""


@dataclass(frozen=True)
class Checker:
    name: str
    target: str  # github or tekton: the files it checks
    executable: str
    install: str
    run: Callable[[str, list[Path], Path], list[Finding]]


def checker_dir() -> Path:
    from evtgen.render import cache_dir

    return cache_dir() / "checkers"


def find_executable(name: str) -> str | None:
    """The checker's executable: on PATH, beside this Python, or in evtgen's checker
    directory (its bin, and the node_modules/.bin of its npm tools)."""
    found = shutil.which(name)
    if found:
        return found
    for directory in (
        Path(sys.executable).parent,
        checker_dir() / "bin",
        checker_dir() / "node_modules" / ".bin",
    ):
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


class CheckerFailed(Exception):
    """The checker ran but did not give a report (crashed, or output not understood)."""


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"}
    try:
        return subprocess.run(
            command,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise CheckerFailed(str(err)) from err


def _json(done: subprocess.CompletedProcess[str], what: str) -> Any:
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as err:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise CheckerFailed(
            f"{what} exited {done.returncode} without a report: " + " | ".join(tail)
        ) from err


def _rel(path: str | Path, root: Path) -> str:
    p = Path(path)
    if not p.is_absolute():
        p = root / p
    try:
        return str(p.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(p)


def _check_jsonschema(exe: str, files: list[Path], root: Path) -> list[Finding]:
    done = _run(
        [exe, "--builtin-schema", "vendor.github-workflows", "-o", "JSON", *map(str, files)],
        root,
    )
    report = _json(done, "check-jsonschema")
    findings = []
    for error in report.get("errors", []):
        best = error.get("best_deep_match") or error.get("best_match") or error
        file = error.get("filename", "")
        findings.append(
            Finding(
                "check-jsonschema",
                _rel(file, root),
                _line_of_json_path(root / file, best.get("path", "$")),
                "error",
                f"{best.get('path', '$')}: {best.get('message', '')}",
                "vendor.github-workflows",
            )
        )
    for error in report.get("parse_errors", []):
        findings.append(
            Finding(
                "check-jsonschema",
                _rel(error.get("filename", ""), root),
                1,
                "error",
                error.get("message", "cannot be parsed"),
                "parse",
            )
        )
    return findings


def _line_of_json_path(file: Path, path: str) -> int:
    """The line a JSON path ($.jobs.build.steps[0]) points at, as far as it resolves."""
    from evtgen.yamllines import LineList, LineMap, YamlSyntaxError, load

    try:
        node = load(file.read_text(encoding="utf-8"))
    except (OSError, YamlSyntaxError, UnicodeDecodeError):
        return 1
    line = 1
    for key, index in re.findall(r"\.([^.\[\]]+)|\[(\d+)\]", path):
        if key and isinstance(node, LineMap):
            wanted = True if key == "on" and True in node else key  # YAML 1.1's `on`
            if wanted not in node:
                break
            line, node = node.line_of(wanted), node[wanted]
        elif index and isinstance(node, LineList) and int(index) < len(node):
            line, node = node.item_lines[int(index)], node[int(index)]
        else:
            break
    return line


def _actionlint(exe: str, files: list[Path], root: Path) -> list[Finding]:
    done = _run([exe, "-no-color", "-format", "{{json .}}", *map(str, files)], root)
    report = _json(done, "actionlint")
    return [
        Finding(
            "actionlint",
            _rel(item.get("filepath", ""), root),
            int(item.get("line") or 1),
            "error",
            item.get("message", ""),
            item.get("kind", ""),
        )
        for item in report or []
    ]


def _zizmor(exe: str, files: list[Path], root: Path) -> list[Finding]:
    done = _run([exe, "--offline", "--format", "json", "--no-progress", *map(str, files)], root)
    report = _json(done, "zizmor")
    findings = []
    for item in report:
        determinations = item.get("determinations", {})
        severity = str(determinations.get("severity", "Unknown"))
        primary = next(
            (loc for loc in item.get("locations", []) if loc["symbolic"].get("kind") == "Primary"),
            (item.get("locations") or [None])[0],
        )
        file, line, note = "", 1, ""
        if primary:
            key = primary["symbolic"].get("key", {})
            file = (key.get("Local") or {}).get("verbatim_path", "") or str(key)
            line = int(primary["concrete"]["location"]["start_point"]["row"]) + 1
            note = primary["symbolic"].get("annotation", "")
        findings.append(
            Finding(
                "zizmor",
                _rel(file, root),
                line,
                # every finding of the default persona counts; informational ones warn
                "warning" if severity in ("Informational", "Unknown") else "error",
                f"{item.get('desc', '')}: {note} ({severity.lower()} severity, "
                f"{str(determinations.get('confidence', '')).lower()} confidence)",
                item.get("ident", ""),
            )
        )
    return findings


def _tekton_lint(exe: str, files: list[Path], root: Path) -> list[Finding]:
    # run in the repository, so its own .tektonlintrc.yaml (rule levels) applies
    done = _run([exe, "--format", "json", "--no-color", *map(str, files)], root)
    report = _json(done, "tekton-lint")
    return [
        Finding(
            "tekton-lint",
            _rel(item.get("path", ""), root),
            int((item.get("loc") or {}).get("startLine") or 1),
            "error" if item.get("level") == "error" else "warning",
            item.get("message", ""),
            item.get("rule", ""),
        )
        for item in report or []
    ]


def _tekton_validate(exe: str, files: list[Path], root: Path) -> list[Finding]:
    done = _run([exe, *map(str, files)], root)
    if done.returncode not in (0, 1):
        raise CheckerFailed(f"tekton-validate exited {done.returncode}: {done.stderr.strip()}")
    findings = []
    for raw in done.stdout.splitlines():
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as err:
            raise CheckerFailed(f"tekton-validate printed something else: {raw[:200]}") from err
        findings.append(
            Finding(
                "tekton-validate",
                _rel(item["file"], root),
                int(item.get("line") or 1),
                item.get("severity", "error"),
                item.get("message", ""),
                "webhook",
            )
        )
    if done.returncode == 1 and not any(f.severity == "error" for f in findings):
        raise CheckerFailed("tekton-validate exited 1 without reporting an error")
    return findings


def _tekton_validate_install() -> str:
    # the wheel carries the Go source (evtgen/tools/); an editable install reads the checkout's
    shipped = files("evtgen") / "tools" / "tekton-validate"
    where = str(shipped) if shipped.is_dir() else "tools/tekton-validate of an evtgen checkout"
    return f"{_ALL}; or, in {where}: go build -o ~/.cache/evtgen/checkers/bin/tekton-validate ."


def _pip(spec: str) -> str:
    return f"{_ALL}; or: {Path(sys.executable).parent}/python -m pip install '{spec}'"


CHECKERS: tuple[Checker, ...] = (
    Checker(
        "check-jsonschema",
        "github",
        "check-jsonschema",
        _pip("check-jsonschema>=0.33,<1"),
        _check_jsonschema,
    ),
    Checker(
        "actionlint",
        "github",
        "actionlint",
        f"{_ALL}; or: GOBIN=~/.cache/evtgen/checkers/bin go install "
        f"github.com/rhysd/actionlint/cmd/actionlint@{ACTIONLINT_VERSION}",
        _actionlint,
    ),
    Checker("zizmor", "github", "zizmor", _pip("zizmor>=1.9,<2"), _zizmor),
    Checker(
        "tekton-lint",
        "tekton",
        "tekton-lint",
        f"{_ALL}; or: npm install --prefix ~/.cache/evtgen/checkers "
        f"@ibm/tekton-lint@{TEKTON_LINT_VERSION}",
        _tekton_lint,
    ),
    Checker(
        "tekton-validate",
        "tekton",
        "tekton-validate",
        _tekton_validate_install(),
        _tekton_validate,
    ),
)
