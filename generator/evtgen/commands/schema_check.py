"""`evtgen schema check`: are the repo's event schemas compatible with those at a git ref?

The working tree's `schemas/*.avsc` and `schemas/*.schema.json` are compared with the
same files at a git ref (read from git's objects with GitPython, never checked out),
by the compatibility modes of Confluent Schema Registry. See
docs/schema-compatibility.md for every rule and decision.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evtgen import gitrepo
from evtgen.errors import UsageError

if TYPE_CHECKING:
    from git import Repo

MODES = (
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
)
SCHEMA_DIR = "schemas"
SUFFIXES = {".avsc": "avro", ".schema.json": "jsonschema"}
NEW = "the new schema"

#: Release tags: a version, optionally after a `v` (v1.2.0, 1.2, v2.0.0.post1).
_RELEASE_TAG = re.compile(r"^v?\d+(\.\d+)*(\.post\d+)?$")


@dataclass
class Finding:
    """One incompatibility: which event, which field (dotted path; "" for the whole
    event), why, against which ref and in which direction."""

    event: str
    field: str
    reason: str
    against: str
    direction: str  # backward: the new schema reads old data; forward: the reverse


@dataclass
class EventReport:
    event: str
    file: str
    format: str
    #: compatible, incompatible, added (new event), removed, or unchecked (mode NONE)
    verdict: str
    findings: list[Finding] = field(default_factory=list)


@dataclass
class SchemaCheckReport:
    path: str
    mode: str
    #: every ref compared with (one, or each release tag for a transitive mode)
    against: list[str]
    events: list[EventReport]
    compatible: bool


@dataclass(frozen=True)
class SchemaFile:
    """One schema file, parsed."""

    key: str  # what matches old and new: the Avro full name, the JSON Schema file name
    event: str
    path: str  # relative to the repository root
    format: str
    parsed: Any


def schema_check(path: Path, against: str | None, mode: str) -> SchemaCheckReport:
    mode_name = mode.strip().upper().replace("-", "_")
    if mode_name not in MODES:
        raise UsageError(f"unknown compatibility mode {mode!r}: use one of {', '.join(MODES)}")
    repo = _Repo.open(path)
    current = _current_schemas(repo, path)
    refs = _refs(repo, against, mode_name)
    versions = {ref: _renamed(current, _schemas_at(repo, ref)) for ref in refs}

    directions = {
        "BACKWARD": ["backward"],
        "FORWARD": ["forward"],
        "FULL": ["backward", "forward"],
        "NONE": [],
    }[mode_name.removesuffix("_TRANSITIVE")]
    events: list[EventReport] = []
    for key in sorted(set(current) | {k for v in versions.values() for k in v}, key=_order):
        new = current.get(key)
        olds = {ref: v[key] for ref, v in versions.items() if key in v}
        shown = new or next(iter(olds.values()))
        report = EventReport(shown.event, shown.path, shown.format, "compatible")
        if mode_name == "NONE":
            report.verdict = "unchecked"
        elif new is None:
            report.verdict = "removed"
            for ref in olds:
                report.findings.append(
                    Finding(
                        shown.event,
                        "",
                        f"the event's schema ({shown.path}) is gone: consumers of it and "
                        "events already stored can no longer be checked against it; keep "
                        "the schema while anyone still reads or writes the event",
                        ref,
                        "removed",
                    )
                )
        elif not olds:
            report.verdict = "added"  # a new subject: compatible, as in Schema Registry
        else:
            for ref, old in olds.items():
                for direction in directions:
                    report.findings.extend(compare(new, old, ref, direction))
            if report.findings:
                report.verdict = "incompatible"
        events.append(report)
    return SchemaCheckReport(
        path=str(path),
        mode=mode_name,
        against=refs,
        events=events,
        compatible=not any(e.findings for e in events),
    )


def _renamed(current: dict[str, SchemaFile], old: dict[str, SchemaFile]) -> dict[str, SchemaFile]:
    """`old` with each Avro record the current schemas renamed (a new name whose
    `aliases` hold the old full name, as Avro itself matches them) keyed by its new
    name, so a moved namespace is compared, not reported as removed plus added."""
    renamed = dict(old)
    for key, schema in current.items():
        if key in old or schema.format != "avro":
            continue
        aliases = getattr(schema.parsed, "props", {}).get("aliases") or []
        namespace = getattr(schema.parsed, "namespace", None)
        for alias in aliases if isinstance(aliases, list) else []:
            if not isinstance(alias, str):
                continue
            full = alias if "." in alias or not namespace else f"{namespace}.{alias}"
            if f"avro:{full}" in renamed and f"avro:{full}" not in current:
                renamed[key] = renamed.pop(f"avro:{full}")
                break
    return renamed


def _order(key: str) -> tuple[str, str]:
    return key.rsplit(":", 1)[-1].rsplit(".", 1)[-1], key


def compare(new: SchemaFile, old: SchemaFile, ref: str, direction: str) -> list[Finding]:
    from evtgen import avro_compat, json_compat

    old_label = f"the schema at {ref}"
    if direction == "backward":  # consumers upgrade first: the new schema reads old data
        reader, writer, r_label, w_label = new, old, NEW, old_label
    else:  # producers upgrade first: the old schema reads new data
        reader, writer, r_label, w_label = old, new, old_label, NEW
    check: Callable[[Any, Any, str, str], list[avro_compat.Issue]]
    check = avro_compat.issues if new.format == "avro" else json_compat.issues
    return [
        Finding(new.event, issue.field, issue.reason, ref, direction)
        for issue in check(reader.parsed, writer.parsed, r_label, w_label)
    ]


# -- reading schemas ------------------------------------------------------------


def format_of(name: str) -> str | None:
    return next((fmt for suffix, fmt in SUFFIXES.items() if name.endswith(suffix)), None)


def parse_schema(name: str, rel: str, text: str, where: str) -> SchemaFile:
    from evtgen import avro_compat, json_compat

    fmt = format_of(name)
    assert fmt is not None
    text = text.removeprefix("\ufeff")  # a BOM, as some Windows editors save JSON
    stem = name.removesuffix(".avsc").removesuffix(".schema.json")
    try:
        if fmt == "avro":
            parsed = avro_compat.parse(text)
            full = getattr(parsed, "fullname", None) or stem
            return SchemaFile(f"avro:{full}", getattr(parsed, "name", stem), rel, fmt, parsed)
        return SchemaFile(f"jsonschema:{stem}", stem, rel, fmt, json_compat.parse(text))
    except ValueError as err:
        raise UsageError(f"{where}: {err}") from err


def add_schema(found: dict[str, SchemaFile], schema: SchemaFile, where: str) -> None:
    if schema.key in found:
        raise UsageError(
            f"{where}: {schema.path} and {found[schema.key].path} both define "
            f"{schema.key.split(':', 1)[1]}; keep one schema per event"
        )
    found[schema.key] = schema


def _current_schemas(repo: _Repo, path: Path) -> dict[str, SchemaFile]:
    folder = path / SCHEMA_DIR
    if not folder.is_dir():
        raise UsageError(
            f"{folder}: no schemas folder; schema check compares the .avsc and .schema.json "
            "files in PATH/schemas with those at a git ref"
        )
    found: dict[str, SchemaFile] = {}
    for file in sorted(folder.iterdir()):
        if not file.is_file() or format_of(file.name) is None:
            continue
        rel = repo.prefix + SCHEMA_DIR + "/" + file.name
        text = file.read_text(encoding="utf-8", errors="replace")
        add_schema(found, parse_schema(file.name, rel, text, str(file)), str(folder))
    if not found:
        raise UsageError(f"{folder}: no .avsc or .schema.json files to check")
    return found


def _schemas_at(repo: _Repo, ref: str) -> dict[str, SchemaFile]:
    folder = repo.prefix + SCHEMA_DIR
    found: dict[str, SchemaFile] = {}
    for rel, data in sorted(repo.files_at(ref, folder).items()):
        name = rel.rsplit("/", 1)[-1]
        if format_of(name) is None:
            continue
        text = data.decode("utf-8", errors="replace")
        add_schema(found, parse_schema(name, rel, text, f"{rel} at {ref}"), f"{folder} at {ref}")
    return found


# -- git ----------------------------------------------------------------------------


@dataclass
class _Repo:
    top: Path
    prefix: str  # PATH relative to the repository's top, "" or ending in "/"
    git: Repo

    @classmethod
    def open(cls, path: Path) -> _Repo:
        if not path.is_dir():
            raise UsageError(f"{path}: no such directory")
        try:
            repo = gitrepo.open_repo(path, search_parent=True)
            top, prefix = gitrepo.work_tree(repo, path)
        except gitrepo.NotARepository as err:
            raise UsageError(
                f"{path}: not a git repository; schema check compares with the schemas "
                "at a git ref, so PATH must be inside a git work tree"
            ) from err
        return cls(top, prefix, repo)

    def files_at(self, ref: str, folder: str) -> dict[str, bytes]:
        try:
            return gitrepo.files_at(self.git, ref, folder)
        except gitrepo.GitFailed as err:
            raise UsageError(f"{self.top}: {err}") from err

    def resolves(self, ref: str) -> bool:
        return gitrepo.commit_of(self.git, ref) is not None

    def release_tags(self) -> list[str]:
        """Tags that are release versions, oldest first."""
        from packaging.version import InvalidVersion, Version

        tags: list[tuple[Version, str]] = []
        for tag in gitrepo.tag_names(self.git):
            if not _RELEASE_TAG.match(tag):
                continue
            try:
                tags.append((Version(tag), tag))
            except InvalidVersion:
                continue
        return [tag for _, tag in sorted(tags)]


def _refs(repo: _Repo, against: str | None, mode: str) -> list[str]:
    """The refs to compare with: the given one or the newest release tag; for a
    transitive mode, every release tag (and the given ref, if it is not one)."""
    if against is not None and (against.startswith("-") or not repo.resolves(against)):
        raise UsageError(
            f"{repo.top}: unknown git ref {against!r}: give a tag, branch or commit "
            "(`git tag --list` shows the tags)"
        )
    if mode == "NONE":
        return [against] if against else []
    tags = repo.release_tags()
    if mode.endswith("_TRANSITIVE"):
        refs = list(tags)
        if against is not None and against not in refs:
            refs.append(against)
    else:
        refs = [against] if against is not None else tags[-1:]
    if not refs:
        shallow = gitrepo.is_shallow(repo.git)
        raise UsageError(
            f"{repo.top}: no release tag (like v1.2.0) to compare the schemas with: tag a "
            "release, fetch the tags ("
            + (
                "this clone is shallow: git fetch --unshallow --tags"
                if shallow
                else "git fetch --tags"
            )
            + "), or pass --against REF"
        )
    return refs


# -- the report in words ------------------------------------------------------------


def finding_line(finding: Finding) -> str:
    """One finding in words, as `schema check` and `schema register` print it."""
    where = f"field `{finding.field}`" if finding.field else "the event"
    how = "" if finding.direction == "removed" else f" {finding.direction}"
    return f"    - {finding.against}{how}: {where}: {finding.reason}"


def render_text(report: SchemaCheckReport) -> str:
    against = ", ".join(report.against) or "nothing (mode NONE)"
    lines = [f"schema check of {report.path}: {report.mode} against {against}"]
    notes = {
        "added": "added (a new event: compatible in every mode)",
        "removed": "REMOVED",
        "incompatible": "INCOMPATIBLE",
        "unchecked": "not checked (mode NONE)",
        "compatible": "compatible",
    }
    for event in report.events:
        lines.append(f"  {event.event} ({event.file}): {notes[event.verdict]}")
        lines.extend(map(finding_line, event.findings))
    bad = [e for e in report.events if e.findings]
    lines.append(
        f"{len(report.events)} event(s); "
        + (f"{len(bad)} incompatible" if bad else "all compatible")
    )
    return "\n".join(lines)
