"""`evtgen schema register` and `evtgen schema check --registry`: the repo's event
schemas and a schema registry (Confluent's API; Apicurio's `/apis/ccompat/v7`).

Each schema the service sends goes to one subject per channel it is sent on
(`<topic>-value` by default: the channel's address in `schemas/asyncapi.yaml`).
`register` sets the subject's compatibility rule to the repo's mode, then registers
the schema; `check --registry` tells, without writing, what `register` would meet.
See docs/registry.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evtgen.commands.schema_check import (
    MODES,
    SCHEMA_DIR,
    EventReport,
    Finding,
    SchemaCheckReport,
    SchemaFile,
    add_schema,
    compare,
    finding_line,
    format_of,
    parse_schema,
)
from evtgen.errors import UsageError
from evtgen.registry import STRATEGIES, Refused, Registry, subject_name

ASYNCAPI = "asyncapi.yaml"
_TYPES = {"avro": "AVRO", "jsonschema": "JSON"}


@dataclass
class SubjectReport(EventReport):
    """One schema and one subject: EventReport's fields, and the registry's side."""

    subject: str = ""
    #: the subject's rule in the registry (check: as it is; register: as set)
    rule: str = ""
    version: int | None = None  # the version that holds this schema, once registered
    id: int | None = None  # its schema id, what Confluent's wire format carries
    note: str = ""


@dataclass
class RegisterReport:
    path: str
    mode: str
    registry: str
    strategy: str
    #: registered (a new version), unchanged (already there), refused, or skipped
    subjects: list[SubjectReport]
    ok: bool


@dataclass
class _Target:
    schema: SchemaFile
    text: str  # the file's text, registered as it is
    subject: str


# -- what goes where ----------------------------------------------------------------


def _targets(path: Path, strategy: str) -> tuple[list[_Target], list[SubjectReport]]:
    """The (schema, subject) pairs to register, and the schemas left out, saying why."""
    if strategy not in STRATEGIES:
        raise UsageError(
            f"unknown subject strategy {strategy!r}: use one of {', '.join(STRATEGIES)}"
        )
    schemas = _read_schemas(path)
    asyncapi = path / SCHEMA_DIR / ASYNCAPI
    # subjects by record name need no topic: without the document every schema is sent
    no_topics = strategy == "record" and not asyncapi.is_file()
    channels = None if no_topics else _channels(asyncapi, schemas)
    targets: list[_Target] = []
    skipped: list[SubjectReport] = []
    for key, (schema, text) in schemas.items():
        record = _record_name(schema)
        sent: list[str | None] = [None]  # no document: sent, on no known topic
        received: list[str] = []
        if channels is not None:
            topics, received = channels.get(key, ([], []))
            sent = list(topics)
        if not sent:
            why = (
                "received only: the service that sends it registers it"
                if received
                else f"no channel of {SCHEMA_DIR}/{ASYNCAPI} sends it"
            )
            skipped.append(_report(schema, "", "skipped", note=why))
            continue
        for topic in sent:
            subject = subject_name(strategy, topic, record)
            if all(t.subject != subject for t in targets):
                targets.append(_Target(schema, text, subject))
    if not targets:
        raise UsageError(
            f"{path / SCHEMA_DIR}: no schema of an event this service sends"
            + (f" ({skipped[0].event}: {skipped[0].note})" if skipped else "")
        )
    return targets, skipped


def _read_schemas(path: Path) -> dict[str, tuple[SchemaFile, str]]:
    folder = path / SCHEMA_DIR
    if not path.is_dir():
        raise UsageError(f"{path}: no such directory")
    if not folder.is_dir():
        raise UsageError(
            f"{folder}: no schemas folder; the registry commands read the .avsc and "
            ".schema.json files in PATH/schemas"
        )
    found: dict[str, SchemaFile] = {}
    texts: dict[str, str] = {}
    for file in sorted(folder.iterdir()):
        if not file.is_file() or format_of(file.name) is None:
            continue
        text = file.read_text(encoding="utf-8", errors="replace").removeprefix("\ufeff")
        schema = parse_schema(file.name, f"{SCHEMA_DIR}/{file.name}", text, str(file))
        add_schema(found, schema, str(folder))
        texts[schema.key] = text
    if not found:
        raise UsageError(f"{folder}: no .avsc or .schema.json files")
    return {key: (schema, texts[key]) for key, schema in found.items()}


def _record_name(schema: SchemaFile) -> str:
    """What RecordNameStrategy calls it: the Avro full name, the JSON Schema's title."""
    if schema.format == "avro":
        return schema.key.split(":", 1)[1]
    title = schema.parsed.get("title") if isinstance(schema.parsed, dict) else None
    return title if isinstance(title, str) and title else schema.event


def _channels(
    file: Path, schemas: dict[str, tuple[SchemaFile, str]]
) -> dict[str, tuple[list[str], list[str]]]:
    """Schema key -> (the topics it is sent on, those it is received from), from an
    AsyncAPI 3 document's operations. Dead-letter channels carry other events' bytes
    as they came (evtgen marks them `x-evtgen-dead-letter-of`): no schema of theirs."""
    from evtgen.yamllines import YamlSyntaxError, load_plain

    if not file.is_file():
        raise UsageError(
            f"{file}: not found; subjects are named after the topics the events are sent "
            "on, which the AsyncAPI document says; add it, or use --subject-strategy record"
        )
    try:
        doc = load_plain(file.read_text(encoding="utf-8"))
    except (YamlSyntaxError, UnicodeDecodeError) as err:
        raise UsageError(f"{file}: not valid YAML: {err}") from None
    if not isinstance(doc, dict) or not str(doc.get("asyncapi", "")).startswith("3."):
        raise UsageError(
            f"{file}: not an AsyncAPI 3 document (its `asyncapi:` must be 3.x); the "
            "topics of the subjects come from its channels and operations"
        )
    by_name = _schema_names(schemas)
    out: dict[str, tuple[list[str], list[str]]] = {}
    for op in (doc.get("operations") or {}).values():
        if not isinstance(op, dict) or op.get("action") not in ("send", "receive"):
            continue
        channel = _resolve(doc, op.get("channel"))
        if not isinstance(channel, dict) or _dead_letter(op) or _dead_letter(channel):
            continue
        address = channel.get("address")
        if not isinstance(address, str) or not address or "{" in address:
            continue  # no address, or one with parameters: no one topic to name
        messages = op.get("messages") or list((channel.get("messages") or {}).values())
        for ref in messages:
            message = _resolve(doc, ref)
            key = _schema_of(doc, message, by_name) if isinstance(message, dict) else None
            if key is None:
                continue
            sent, received = out.setdefault(key, ([], []))
            bucket = sent if op["action"] == "send" else received
            if address not in bucket:
                bucket.append(address)
    return out


def _dead_letter(node: dict[str, Any]) -> bool:
    return "x-evtgen-dead-letter-of" in node


def _resolve(doc: Any, node: Any, depth: int = 0) -> Any:
    """Follow a local `$ref` (`#/a/b`), as AsyncAPI documents link their parts."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and depth < 20:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return node
        node = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part) if isinstance(node, dict) else None
        depth += 1
    return node


def _schema_names(schemas: dict[str, tuple[SchemaFile, str]]) -> dict[str, str]:
    names: dict[str, str] = {}
    for key, (schema, _) in schemas.items():
        names.setdefault(key, key)
        names.setdefault(f"file:{schema.path.rsplit('/', 1)[-1]}", key)
        names.setdefault(f"name:{schema.event}", key)
    return names


def _schema_of(doc: Any, message: dict[str, Any], names: dict[str, str]) -> str | None:
    """The schema file a message's payload is: a `$ref` to the file, the Avro record's
    full name, or else the message's name (evtgen names the files after the events)."""
    payload = message.get("payload")
    schema = (
        payload.get("schema")
        if isinstance(payload, dict) and "schemaFormat" in payload
        else payload
    )
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        ref = schema["$ref"]
        if not ref.startswith("#"):
            return names.get(f"file:{ref.split('#', 1)[0].rsplit('/', 1)[-1]}")
        schema = _resolve(doc, schema)
    if isinstance(schema, dict) and schema.get("type") == "record" and "name" in schema:
        name, namespace = str(schema["name"]), schema.get("namespace")
        full = name if "." in name or not namespace else f"{namespace}.{name}"
        if f"avro:{full}" in names:
            return names[f"avro:{full}"]
    title = message.get("name")
    return names.get(f"name:{title}") if isinstance(title, str) else None


def _report(schema: SchemaFile, subject: str, verdict: str, **extra: Any) -> SubjectReport:
    return SubjectReport(
        schema.event, schema.path, schema.format, verdict, subject=subject, **extra
    )


def _mode(mode: str) -> str:
    name = mode.strip().upper().replace("-", "_")
    if name not in MODES:
        raise UsageError(f"unknown compatibility mode {mode!r}: use one of {', '.join(MODES)}")
    return name


# -- comparing with what the registry holds -----------------------------------------


def _findings(
    registry: Registry, target: _Target, mode: str, versions: list[int]
) -> tuple[list[Finding], str]:
    """evtgen's own rules against the versions `mode` compares with: the latest, or
    every one (transitive); they name the fields. Also a note on what was not compared."""
    if mode == "NONE" or not versions:
        return [], ""
    directions = {"BACKWARD": ["backward"], "FORWARD": ["forward"], "FULL": ["backward", "forward"]}
    against = versions if mode.endswith("_TRANSITIVE") else versions[-1:]
    findings: list[Finding] = []
    notes: list[str] = []
    for number in against:
        held = registry.version(target.subject, number)
        label = f"{target.subject} version {number}"
        fmt = {"AVRO": "avro", "JSON": "jsonschema"}.get(held.schema_type)
        if fmt != target.schema.format:
            notes.append(f"{label} is a {held.schema_type} schema: not compared by evtgen's rules")
            continue
        try:
            old = parse_schema(
                target.schema.path.rsplit("/", 1)[-1], target.schema.path, held.schema, label
            )
        except UsageError as err:  # e.g. references to other subjects: the registry decides
            notes.append(f"not compared by evtgen's rules: {err}")
            continue
        for direction in directions[mode.removesuffix("_TRANSITIVE")]:
            findings.extend(compare(target.schema, old, label, direction))
    return findings, "; ".join(notes)


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def _registry_finding(target: _Target, mode: str, detail: str) -> Finding:
    return Finding(
        target.schema.event,
        "",
        f"the registry refuses it under its {mode} rule: {detail}",
        target.subject,
        "registry",
    )


# -- check ---------------------------------------------------------------------------


def registry_check(path: Path, url: str, mode: str, strategy: str) -> SchemaCheckReport:
    """What `register` would meet, written nowhere: per subject, the registry's own
    verdict (its compatibility endpoint) when the subject's rule is `mode`, else
    evtgen's rules against the registry's versions; evtgen's rules name the fields."""
    mode = _mode(mode)
    registry = Registry(url)
    targets, skipped = _targets(path, strategy)
    registry.global_rule()
    events: list[EventReport] = []
    for target in targets:
        schema_type = _TYPES[target.schema.format]
        report = _report(target.schema, target.subject, "compatible")
        versions = registry.versions(target.subject)
        if not versions:
            report.verdict = "added"
            report.note = "a new subject: compatible in every mode"
            events.append(report)
            continue
        report.rule = registry.rule(target.subject)
        held = registry.lookup(target.subject, target.text, schema_type)
        if held is not None:
            report.version, report.id = held.version, held.id
            report.note = f"registered already, as version {held.version} (id {held.id})"
        elif mode == "NONE":
            report.verdict = "unchecked"
        elif report.rule == mode:
            transitive = mode.endswith("_TRANSITIVE")
            findings, note = _findings(registry, target, mode, versions)
            if not registry.compatible(target.subject, target.text, schema_type, transitive):
                report.findings = findings or [
                    _registry_finding(target, mode, "evtgen's rules name no field")
                ]
            elif findings:
                # the registry's verdict stands (it is what register meets); say what
                # evtgen's stricter rules see, as the git check would report it
                objections = "; ".join(
                    f"`{f.field or f.event}` {f.direction}: {f.reason}" for f in findings
                )
                note = _join(f"the registry accepts it, evtgen's rules object: {objections}", note)
            report.note = note
        else:
            report.findings, note = _findings(registry, target, mode, versions)
            report.note = _join(
                f"the subject's rule in the registry is {report.rule}, not {mode} (schema "
                "register sets it): checked by evtgen's rules against the registry's versions",
                note,
            )
        if report.findings:
            report.verdict = "incompatible"
        events.append(report)
    events.extend(skipped)
    return SchemaCheckReport(
        path=str(path),
        mode=mode,
        against=[registry.url],
        events=events,
        compatible=not any(e.findings for e in events),
    )


# -- register ------------------------------------------------------------------------


def register(path: Path, url: str, mode: str, strategy: str) -> RegisterReport:
    """Set each subject's rule to `mode`, then register the schema in it (first, so the
    new version is checked by the rule the repo asks for). A refusal (incompatible)
    is reported with the fields evtgen's rules find; the other subjects go on."""
    mode = _mode(mode)
    registry = Registry(url)
    targets, skipped = _targets(path, strategy)  # all bad input is found before any write
    registry.global_rule()
    subjects: list[SubjectReport] = []
    for target in targets:
        schema_type = _TYPES[target.schema.format]
        report = _report(target.schema, target.subject, "registered", rule=mode)
        registry.set_rule(target.subject, mode)
        held = registry.lookup(target.subject, target.text, schema_type)
        if held is not None:
            report.verdict = "unchanged"
        else:
            try:
                registry.register(target.subject, target.text, schema_type)
            except Refused as refused:
                report.verdict = "refused"
                versions = registry.versions(target.subject)
                findings, note = _findings(registry, target, mode, versions)
                detail = _refusal_detail(str(refused))
                report.findings = findings or [_registry_finding(target, mode, detail)]
                report.note = _join(f"the registry says: {detail}", note)
                subjects.append(report)
                continue
            held = registry.lookup(target.subject, target.text, schema_type)
        if held is not None:
            report.version, report.id = held.version, held.id
        subjects.append(report)
    subjects.extend(skipped)
    return RegisterReport(
        path=str(path),
        mode=mode,
        registry=registry.url,
        strategy=strategy,
        subjects=subjects,
        ok=not any(s.verdict == "refused" for s in subjects),
    )


def _refusal_detail(message: str) -> str:
    # Apicurio prefixes the Java exception's class name; the rest is the useful part
    return message.split("Exception: ", 1)[-1].strip()


# -- the reports in words --------------------------------------------------------------


def _finding_lines(report: SubjectReport) -> list[str]:
    lines = [finding_line(f) for f in report.findings]
    if report.note:
        lines.append(f"    ({report.note})")
    return lines


def _line(report: SubjectReport, verdict: str) -> str:
    subject = f" -> {report.subject}" if report.subject else ""
    return f"  {report.event} ({report.file}){subject}: {verdict}"


def render_check_text(report: SchemaCheckReport) -> str:
    lines = [f"schema check of {report.path}: {report.mode} against {', '.join(report.against)}"]
    words = {
        "added": "added (a new subject)",
        "incompatible": "INCOMPATIBLE",
        "unchecked": "not checked (mode NONE)",
        "compatible": "compatible",
        "skipped": "not checked",
    }
    for event in report.events:
        assert isinstance(event, SubjectReport)
        lines.append(_line(event, words[event.verdict]))
        lines.extend(_finding_lines(event))
    bad = [e for e in report.events if e.findings]
    lines.append(
        f"{len(report.events)} schema(s); "
        + (f"{len(bad)} incompatible" if bad else "all compatible")
    )
    return "\n".join(lines)


def render_register_text(report: RegisterReport) -> str:
    lines = [f"schema register of {report.path} in {report.registry} (rule {report.mode})"]
    for subject in report.subjects:
        if subject.verdict == "registered":
            verdict = f"registered as version {subject.version} (id {subject.id})"
        elif subject.verdict == "unchanged":
            verdict = f"registered already, version {subject.version} (id {subject.id})"
        elif subject.verdict == "refused":
            verdict = f"REFUSED: incompatible under {report.mode}"
        else:
            verdict = "not registered"
        lines.append(_line(subject, verdict))
        lines.extend(_finding_lines(subject))
    refused = [s for s in report.subjects if s.verdict == "refused"]
    done = [s for s in report.subjects if s.verdict in ("registered", "unchanged")]
    lines.append(
        f"{len(done)} subject(s) hold their schema"
        + (f"; {len(refused)} refused" if refused else "")
    )
    return "\n".join(lines)


__all__ = [
    "RegisterReport",
    "SubjectReport",
    "register",
    "registry_check",
    "render_check_text",
    "render_register_text",
]
