"""The pipeline model: stages, the broker table and the action pins, read from YAML.

The bundled model (`data/model.yml`, package data of `evtgen.pipelines`) is the
base; a platform team's override files are merged over it in order. An override has
the shape of the model: a mapping merges into the mapping it names, anything else
replaces the value, and `stages: {NAME: null}` removes a stage (the stages that
needed it then need what it needed, so the order of the rest stays). Every problem
is reported at once, as `FILE:LINE: what`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from evtgen.errors import InputProblems

KINDS = ("check", "image", "deploy")
EVENTS = ("pull_request", "main", "release")
_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_STAGE_KEYS = {
    "kind",
    "title",
    "run",
    "needs",
    "events",
    "broker",
    "history",
    "evtgen",
    "registry",
    "timeout",
    "environment",
    "approval",
}
_TOP_KEYS = {
    "evtgen",
    "main_branch",
    "release_tags",
    "overlays",
    "template_sync",
    "brokers",
    "stages",
}
_BROKER_KEYS = {"image", "port", "url", "health", "args"}
# the Tekton pipeline's own tasks and task files
_RESERVED = {"clone", "git-clone", "report"}
_DEFAULT_TIMEOUT = {"check": 15, "image": 30, "deploy": 10}


@dataclass(frozen=True)
class Stage:
    name: str
    kind: str
    title: str
    run: str = ""
    needs: tuple[str, ...] = ()
    events: tuple[str, ...] = EVENTS
    broker: bool = False
    history: bool = False
    evtgen: bool = False
    registry: bool = False  # REGISTRY_URL from the repository's CI variable (may be unset)
    timeout: int = 15
    environment: str = ""
    approval: bool = False


@dataclass(frozen=True)
class Broker:
    image: str
    port: int
    url: str
    health: str = ""
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Action:
    repo: str
    version: str
    sha: str

    @property
    def uses(self) -> str:
        return f"{self.repo}@{self.sha}"


@dataclass(frozen=True)
class PipelineModel:
    evtgen: str
    main_branch: str
    release_tags: str
    overlays: str
    sync_schedule: str
    sync_branch: str
    brokers: dict[str, Broker]
    stages: tuple[Stage, ...]
    actions: dict[str, Action] = field(default_factory=dict)

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def needs_closure(self, stage: Stage) -> set[str]:
        """Every stage `stage` needs, directly or through the stages it needs."""
        by_name = {s.name: s for s in self.stages}
        seen: set[str] = set()
        todo = list(stage.needs)
        while todo:
            name = todo.pop()
            if name not in seen and name in by_name:
                seen.add(name)
                todo.extend(by_name[name].needs)
        return seen


def bundled(name: str) -> Traversable:
    """The bundled pipeline data file `name` (`model.yml`, `actions.yml`): package data
    of `evtgen.pipelines`, the same in a checkout, an editable install and a wheel."""
    return files("evtgen.pipelines") / "data" / name


def load_pipeline_model(
    overrides: list[Path] | None = None,
    base: Path | Traversable | None = None,
    actions: Path | Traversable | None = None,
) -> PipelineModel:
    """The bundled model (or `base`) with `overrides` merged over it, checked."""
    problems: list[str] = []
    base = base or bundled("model.yml")
    merged, lines = _read(base, problems)
    for path in overrides or []:
        over, over_lines = _read(path, problems)
        _merge(merged, lines, over, over_lines, ())
    actions_path = actions or bundled("actions.yml")
    action_data, action_lines = _read(actions_path, problems)
    if problems:
        raise InputProblems("\n".join(problems))
    model = _build(merged, lines, problems)
    pins = _actions(action_data, action_lines, actions_path, problems)
    if problems or model is None:
        raise InputProblems("\n".join(problems))
    return PipelineModel(**{**model.__dict__, "actions": pins})


# Where each value came from: (file, line) by key path, so a problem in a merged
# model points at the file that said it.
Lines = dict[tuple[str, ...], tuple[str, int]]


def _read(path: Path | Traversable, problems: list[str]) -> tuple[dict[str, Any], Lines]:
    from evtgen.yamllines import LineList, LineMap, YamlSyntaxError, load

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        problems.append(f"{path}:0: cannot read it: {err.strerror or err}")
        return {}, {}
    try:
        data = load(text)
    except YamlSyntaxError as err:
        problems.append(f"{path}:{err.line}: not valid YAML: {err.message}")
        return {}, {}
    if data is None:
        return {}, {}
    if not isinstance(data, LineMap):
        problems.append(f"{path}:1: must be a mapping")
        return {}, {}
    lines: Lines = {}

    def walk(value: Any, key: tuple[str, ...]) -> Any:
        if isinstance(value, LineMap):
            out = {}
            for k, v in value.items():
                lines[(*key, str(k))] = (str(path), value.line_of(k))
                out[str(k)] = walk(v, (*key, str(k)))
            return out
        if isinstance(value, LineList):
            return [walk(v, key) for v in value]
        return value

    lines[()] = (str(path), 1)
    return walk(data, ()), lines


def _merge(
    into: dict[str, Any],
    lines: Lines,
    over: dict[str, Any],
    over_lines: Lines,
    key: tuple[str, ...],
) -> None:
    for k, v in over.items():
        here = (*key, k)
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            lines[here] = over_lines.get(here, lines.get(here, ("?", 0)))
            _merge(into[k], lines, v, over_lines, here)
        elif v is None and key == ("stages",):
            _remove_stage(into, k)
        else:
            into[k] = v
            for path in [p for p in over_lines if p[: len(here)] == here]:
                lines[path] = over_lines[path]


def _remove_stage(stages: dict[str, Any], name: str) -> None:
    removed = stages.pop(name, None)
    inherited = list(removed.get("needs") or []) if isinstance(removed, dict) else []
    for stage in stages.values():
        if isinstance(stage, dict) and name in (stage.get("needs") or []):
            needs = [n for n in stage["needs"] if n != name]
            stage["needs"] = needs + [n for n in inherited if n not in needs]


def _where(lines: Lines, key: tuple[str, ...]) -> str:
    while key not in lines and key:
        key = key[:-1]
    file, line = lines.get(key, ("?", 0))
    return f"{file}:{line}"


def _build(data: dict[str, Any], lines: Lines, problems: list[str]) -> PipelineModel | None:
    def bad(key: tuple[str, ...], what: str) -> None:
        problems.append(f"{_where(lines, key)}: {what}")

    for k in data:
        if k not in _TOP_KEYS:
            bad((k,), f"unknown key {k!r}; known: {', '.join(sorted(_TOP_KEYS))}")

    def text(key: tuple[str, ...], value: Any, default: str | None = None) -> str:
        if value is None and default is not None:
            return default
        if not isinstance(value, str) or not value.strip():
            bad(key, f"{'.'.join(key)} must be a non-empty string")
            return ""
        return value

    sync = data.get("template_sync") or {}
    if not isinstance(sync, dict):
        bad(("template_sync",), "template_sync must be a mapping")
        sync = {}
    for k in sync:
        if k not in ("schedule", "branch"):
            bad(("template_sync", k), f"unknown key {k!r} in template_sync")

    brokers: dict[str, Broker] = {}
    raw_brokers = data.get("brokers") or {}
    if not isinstance(raw_brokers, dict):
        bad(("brokers",), "brokers must be a mapping of broker name to its container")
        raw_brokers = {}
    for name, raw in raw_brokers.items():
        key = ("brokers", name)
        if not isinstance(raw, dict):
            bad(key, f"broker {name} must be a mapping")
            continue
        for k in raw:
            if k not in _BROKER_KEYS:
                bad((*key, k), f"unknown key {k!r} in broker {name}")
        port = raw.get("port")
        if not isinstance(port, int) or isinstance(port, bool):
            bad((*key, "port"), f"broker {name}: port must be a number")
            port = 0
        args = raw.get("args") or []
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            bad((*key, "args"), f"broker {name}: args must be a list of strings")
            args = []
        brokers[name] = Broker(
            image=text((*key, "image"), raw.get("image")),
            port=port,
            url=text((*key, "url"), raw.get("url")),
            health=text((*key, "health"), raw.get("health"), ""),
            args=tuple(args),
        )

    stages = _stages(data.get("stages"), lines, bad)
    if problems:
        return None
    return PipelineModel(
        evtgen=text(("evtgen",), data.get("evtgen")),
        main_branch=text(("main_branch",), data.get("main_branch"), "main"),
        release_tags=text(("release_tags",), data.get("release_tags"), "v*"),
        overlays=text(("overlays",), data.get("overlays"), "deploy/overlays"),
        sync_schedule=text(("template_sync", "schedule"), sync.get("schedule"), "17 5 * * 1"),
        sync_branch=text(("template_sync", "branch"), sync.get("branch"), "template-update"),
        brokers=brokers,
        stages=stages,
    )


def _stages(raw: Any, lines: Lines, bad: Any) -> tuple[Stage, ...]:
    if not isinstance(raw, dict) or not raw:
        bad(("stages",), "stages must be a mapping of stage name to stage, with at least one")
        return ()
    stages: list[Stage] = []
    for name, spec in raw.items():
        key = ("stages", name)
        if not _NAME.match(name):
            bad(key, f"stage name {name!r} must be lowercase kebab-case (e.g. unit-tests)")
        elif name in _RESERVED:
            bad(
                key,
                f"stage name {name!r} is taken by the Tekton pipeline's own tasks "
                f"({', '.join(sorted(_RESERVED))}); choose another",
            )
        if not isinstance(spec, dict):
            bad(key, f"stage {name} must be a mapping")
            continue
        for k in spec:
            if k not in _STAGE_KEYS:
                bad(
                    (*key, k),
                    f"unknown key {k!r} in stage {name}; known: " + ", ".join(sorted(_STAGE_KEYS)),
                )
        kind = spec.get("kind", "check")
        if kind not in KINDS:
            bad((*key, "kind"), f"stage {name}: kind must be one of {', '.join(KINDS)}")
            continue
        run = spec.get("run", "")
        if kind == "check" and (not isinstance(run, str) or not run.strip()):
            bad((*key, "run"), f"stage {name}: a check stage needs `run`, a shell script")
        if kind != "check" and run:
            bad((*key, "run"), f"stage {name}: only a check stage takes `run`")
        needs = spec.get("needs") or []
        events = spec.get("events") or list(EVENTS)
        for what, values, allowed in (("needs", needs, None), ("events", events, EVENTS)):
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                bad((*key, what), f"stage {name}: {what} must be a list of names")
            elif allowed:
                for v in values:
                    if v not in allowed:
                        bad(
                            (*key, what),
                            f"stage {name}: unknown event {v!r}; choose from {', '.join(allowed)}",
                        )
        environment = spec.get("environment", "")
        if kind == "deploy" and not (isinstance(environment, str) and _NAME.match(environment)):
            bad(
                (*key, "environment"),
                f"stage {name}: a deploy stage needs `environment`, a lowercase name (e.g. dev)",
            )
        timeout = spec.get("timeout", _DEFAULT_TIMEOUT[kind])
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 1:
            bad((*key, "timeout"), f"stage {name}: timeout must be a whole number of minutes")
            timeout = 1
        flags = {}
        for flag in ("broker", "history", "evtgen", "registry", "approval"):
            value = spec.get(flag, False)
            if not isinstance(value, bool):
                bad((*key, flag), f"stage {name}: {flag} must be true or false")
            flags[flag] = bool(value)
        title = spec.get("title") or name
        stages.append(
            Stage(
                name=name,
                kind=kind,
                title=str(title),
                run=run if isinstance(run, str) else "",
                needs=tuple(needs) if isinstance(needs, list) else (),
                events=tuple(events) if isinstance(events, list) else EVENTS,
                timeout=timeout,
                environment=environment if isinstance(environment, str) else "",
                **flags,
            )
        )
    names = {s.name for s in stages}
    for stage in stages:
        for need in stage.needs:
            if need not in names:
                bad(
                    ("stages", stage.name, "needs"),
                    f"stage {stage.name} needs {need!r}, which is not a stage",
                )
    if cycle := _cycle(stages):
        bad(
            ("stages", cycle[0], "needs"),
            "stages need each other in a cycle: " + " -> ".join(cycle),
        )
    for stage in stages:
        if stage.kind == "deploy" and not any(
            s.kind == "image" for s in stages if s.name in _ancestors(stage, stages)
        ):
            bad(
                ("stages", stage.name, "needs"),
                f"deploy stage {stage.name} must need "
                "an image stage (it deploys that image's digest)",
            )
    return tuple(stages)


def _ancestors(stage: Stage, stages: list[Stage]) -> set[str]:
    by_name = {s.name: s for s in stages}
    seen: set[str] = set()
    todo = list(stage.needs)
    while todo:
        name = todo.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        todo.extend(by_name[name].needs)
    return seen


def _cycle(stages: list[Stage]) -> list[str]:
    by_name = {s.name: s for s in stages}
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> list[str]:
        if state.get(name) == 1:
            return [*path[path.index(name) :], name]
        if state.get(name) == 2 or name not in by_name:
            return []
        state[name] = 1
        for need in by_name[name].needs:
            if found := visit(need, [*path, name]):
                return found
        state[name] = 2
        return []

    for s in stages:
        if found := visit(s.name, []):
            return found
    return []


def _actions(
    data: dict[str, Any], lines: Lines, path: Path | Traversable, problems: list[str]
) -> dict[str, Action]:
    pins: dict[str, Action] = {}
    for repo, spec in data.items():
        where = _where(lines, (repo,))
        if not re.match(r"^[\w.-]+/[\w./-]+$", repo):
            problems.append(f"{where}: {repo!r} is not OWNER/REPO of an action")
            continue
        if not isinstance(spec, dict) or set(spec) != {"version", "sha"}:
            problems.append(f"{where}: {repo} needs exactly `version` and `sha`")
            continue
        sha, version = str(spec["sha"]), str(spec["version"])
        if not _SHA.match(sha):
            problems.append(f"{where}: {repo}: sha must be the 40-hex commit of {version}")
            continue
        pins[repo] = Action(repo=repo, version=version, sha=sha)
    return pins
