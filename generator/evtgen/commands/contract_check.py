"""`evtgen contract check PATH...`: where the repositories of a system meet, the
consumer can read what the producer writes (docs/system.md).

For every channel one repo reads: its producer in the set (by the channels the
producers' models send on) writes a schema the consumer's schema reads, by the
same Avro and JSON Schema checkers as `schema check` (reader: the consumer's,
writer: the producer's); both sides agree on the envelope headers (the
`envelope` message trait of their `schemas/asyncapi.yaml`); and a channel nobody
in the set writes is declared external to it (an external event without a
`producer:` in the set). Each break is one finding naming producer, consumer,
channel and field.

Consumer-driven too: each pact a consumer of the set keeps (`pacts/*.json`, Pact V4
message pacts its tests write) for a producer of the set is verified against that
producer (evtgen.pacts); a mismatch is a finding of kind `pact`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evtgen.errors import InputProblems, UsageError
from evtgen.model import Event, Model
from evtgen.pacts import PactFile, pacts_of
from evtgen.problems import ModelError

SUFFIX = {"avro": ".avsc", "jsonschema": ".schema.json"}


@dataclass
class Finding:
    #: incompatible (schemas), headers, format, no-producer, missing-schema, pact
    kind: str
    producer: str
    consumer: str
    channel: str
    event: str
    field: str
    message: str


@dataclass
class Meeting:
    """A channel where a producer and a consumer of the set meet."""

    producer: str
    consumer: str
    channel: str
    event: str
    ok: bool


@dataclass
class PactCheck:
    """A consumer's pact verified against its producer."""

    producer: str
    consumer: str
    file: str
    interactions: int
    ok: bool


@dataclass
class ContractReport:
    repos: list[str]
    meetings: list[Meeting] = field(default_factory=list)
    pacts: list[PactCheck] = field(default_factory=list)
    #: consumed channels declared external to the set (no producer expected in it)
    external: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.findings else 0


@dataclass
class _Repo:
    path: Path
    model: Model
    schema_format: str

    @property
    def name(self) -> str:
        return self.model.service

    def schema_text(self, event: Event) -> str | None:
        file = self.path / "schemas" / f"{event.name}{SUFFIX[self.schema_format]}"
        return file.read_text(encoding="utf-8") if file.is_file() else None

    def headers(self) -> Any:
        from evtgen.yamllines import load_plain

        file = self.path / "schemas" / "asyncapi.yaml"
        if not file.is_file():
            return None
        document = load_plain(file.read_text(encoding="utf-8")) or {}
        traits = (document.get("components") or {}).get("messageTraits") or {}
        return (traits.get("envelope") or {}).get("headers")


def repos_in(paths: list[Path]) -> list[Path]:
    """The repositories the paths name: a repo itself, a system repo (its contexts'
    repos beside it), or a directory holding repos."""
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            raise UsageError(f"{path} is not a directory; give repositories or a system's folder")
        if (path / ".copier-answers.yml").is_file():
            found.append(path)
        elif (path / "system.yaml").is_file():
            from evtgen.commands.new_system import system_of

            found += [path.parent / c.name for c in system_of(path).contexts]
        else:
            found += sorted(p for p in path.iterdir() if (p / ".copier-answers.yml").is_file())
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise UsageError(
            f"no generated repositories in {', '.join(map(str, paths))}; give the repos "
            "(folders with .copier-answers.yml) or the folder that holds them"
        )
    return unique


def _read(path: Path) -> _Repo:
    from evtgen.commands.new import recorded_answers
    from evtgen.loader import load_model

    model_file = path / "model.yaml"
    if not model_file.is_file():
        raise UsageError(f"{path} has no model.yaml; contract check reads each repo's model")
    try:
        model = load_model(model_file)
    except ModelError as err:
        raise InputProblems(str(err)) from err
    schema_format = str(recorded_answers(path).get("schema_format", "avro"))
    if schema_format not in SUFFIX:
        raise UsageError(f"{path}: unknown schema_format {schema_format!r} in its answers")
    return _Repo(path, model, schema_format)


def contract_check(paths: list[Path], *, verify_pacts: bool = True) -> ContractReport:
    """The check; `verify_pacts=False` leaves the consumers' pacts alone (the fleet
    page's context map needs the meetings only, and no pact-python)."""
    repos = [_read(p) for p in repos_in(paths)]
    names = [r.name for r in repos]
    for name in set(names):
        if names.count(name) > 1:
            raise UsageError(f"two repositories of service {name!r} in the set; give one")
    writers: dict[str, list[tuple[_Repo, Event]]] = {}
    for repo in repos:
        for event in repo.model.sent_events:
            writers.setdefault(event.channel, []).append((repo, event))
    report = ContractReport([str(r.path) for r in repos])
    for consumer in repos:
        for event in consumer.model.subscribed_events:
            producers = [(p, e) for p, e in writers.get(event.channel, []) if p is not consumer]
            if not producers:
                if not event.external and any(
                    e.channel == event.channel for e in consumer.model.sent_events
                ):
                    continue  # its own event, read by itself
                if event.external and event.producer is None:  # outside the system
                    report.external.append(f"{consumer.name}: {event.channel}")
                    continue
                report.findings.append(
                    Finding(
                        "no-producer",
                        event.producer or "",
                        consumer.name,
                        event.channel,
                        event.name,
                        "",
                        f"{consumer.name} reads {event.name} on {event.channel}, which no "
                        "repository of the set writes"
                        + (f" (its model names {event.producer})" if event.producer else "")
                        + "; add the producer's repo, or declare the event external "
                        "without a producer",
                    )
                )
                continue
            for producer, written in producers:
                found = _meet(producer, written, consumer, event)
                report.meetings.append(
                    Meeting(producer.name, consumer.name, event.channel, event.name, not found)
                )
                report.findings += found
    if verify_pacts:
        report.pacts, pact_breaks = _pacts(repos)
        report.findings += pact_breaks
    return report


def _pacts(repos: list[_Repo]) -> tuple[list[PactCheck], list[Finding]]:
    """Each consumer's pacts verified against their producers in the set (a producer
    outside it: its channels are checked, or reported missing, above)."""
    by_name = {r.name: r for r in repos}
    checks: list[PactCheck] = []
    findings: list[Finding] = []
    for consumer in repos:
        for pact in pacts_of(consumer.path):
            producer = by_name.get(pact.producer)
            if producer is None or producer is consumer:
                continue
            found = _pact_findings(pact, producer, consumer)
            checks.append(
                PactCheck(
                    producer.name, consumer.name, str(pact.path), len(pact.interactions), not found
                )
            )
            findings += found
    return checks, findings


def _pact_findings(pact: PactFile, producer: _Repo, consumer: _Repo) -> list[Finding]:
    from evtgen.pacts import verify

    channels = {e.name: e.channel for e in producer.model.sent_events}
    return [
        Finding(
            "pact",
            producer.name,
            consumer.name,
            pact.interactions[m.description][1] or channels.get(event, ""),
            event,
            m.field,
            f"{consumer.name}'s pact ({pact.path.name}): {m.message}",
        )
        for m in verify(pact, producer.model, producer.headers())
        for event in [pact.interactions[m.description][0]]
    ]


def _meet(producer: _Repo, written: Event, consumer: _Repo, read: Event) -> list[Finding]:
    from evtgen import avro_compat, json_compat

    def finding(kind: str, field_path: str, message: str) -> Finding:
        return Finding(
            kind, producer.name, consumer.name, read.channel, read.name, field_path, message
        )

    if producer.schema_format != consumer.schema_format:
        return [
            finding(
                "format",
                "",
                f"{producer.name} writes {written.name} as {producer.schema_format}, "
                f"{consumer.name} reads it as {consumer.schema_format}",
            )
        ]
    texts = {side.name: side.schema_text(e) for side, e in ((producer, written), (consumer, read))}
    for side, text in texts.items():
        if text is None:
            return [finding("missing-schema", "", f"{side} has no schema for {read.name}")]
    checker: Any = avro_compat if producer.schema_format == "avro" else json_compat
    r_label, w_label = f"{consumer.name}'s schema", f"{producer.name}'s schema"
    try:
        reader = checker.parse(texts[consumer.name])
        writer = checker.parse(texts[producer.name])
    except ValueError as err:
        return [finding("incompatible", "", str(err))]
    found = [
        finding("incompatible", issue.field, issue.reason)
        for issue in checker.issues(reader, writer, r_label, w_label)
    ]
    theirs, ours = producer.headers(), consumer.headers()
    if theirs is not None and ours is not None:
        found += [
            finding("headers", issue.field, issue.reason)
            for issue in json_compat.issues(
                ours, theirs, f"{consumer.name}'s envelope", f"{producer.name}'s envelope"
            )
        ]
    return found


def render_text(report: ContractReport) -> str:
    lines = []
    for f in report.findings:
        where = f" field {f.field}:" if f.field else ":"
        lines.append(
            f"BREAK {f.producer or '?'} -> {f.consumer} {f.event} on {f.channel}{where} {f.message}"
        )
    for m in report.meetings:
        if m.ok:
            lines.append(f"ok    {m.producer} -> {m.consumer} {m.event} on {m.channel}")
    for p in report.pacts:
        if p.ok:
            lines.append(
                f"pact  {p.producer} -> {p.consumer} {p.interactions} interaction(s) "
                f"verified ({p.file})"
            )
    for external in report.external:
        lines.append(f"external (outside the set) {external}")
    verdict = "contracts hold" if not report.findings else f"{len(report.findings)} break(s)"
    lines.append(f"{len(report.repos)} repositories, {len(report.meetings)} meetings: {verdict}")
    return "\n".join(lines)
