"""The model file a generated repository keeps: the team's own, as written.

The team's `model.yaml` goes into the repo with its comments, key order and layout.
evtgen adds only what it resolved and the file left implicit, so that the repo's
file alone says what goes on the wire: `service:` (when the name came from the
command line) and the channel of every event and saga message that takes the
default one. The additions are made with ruamel.yaml's round-trip mode; lines the
dump would reformat are taken back from the team's text, so a diff of the file
shows the added lines and nothing else.
"""

from __future__ import annotations

import difflib
import io
import itertools
import re
from collections import Counter
from typing import Any

from evtgen.model import Event, Model

#: A line that opens a nested block: `key:` with nothing (but a comment) after it.
_OPENS_BLOCK = re.compile(r"^\s*(?:-\s+)*[^\s#][^#]*:\s*(?:#.*)?$")
_PREFIX = re.compile(r"^ *(?:- +)*")
_SPACES = re.compile(r"^ *")
_DASH = re.compile(r"^- +")


def pinned_text(text: str, model: Model) -> str:
    """`text` (the model file `model` was read from) with what evtgen resolved and the
    file does not say written in; `text` itself when it already says everything."""
    from ruamel.yaml import YAML

    crlf = "\r\n" in text
    team_text, text = text, text.replace("\r\n", "\n")  # ruamel.yaml keeps a comment's \r
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 1 << 16  # never fold a long line the team wrote
    document = yaml.load(text)
    added = _pin(document, model)
    if not added:
        return team_text
    mapping, sequence, offset = indentation(text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.explicit_start = any(line.split("#")[0].strip() == "---" for line in text.splitlines())
    out = io.StringIO()
    yaml.dump(document, out)
    pinned = _spliced(text, out.getvalue(), added)
    return pinned.replace("\n", "\r\n") if crlf else pinned


def _pin(document: Any, model: Model) -> list[str]:
    """Add to the round-trip `document` what it leaves to evtgen; what it added, as
    the `key: value` text the dump writes."""
    from ruamel.yaml.comments import CommentedMap

    if not isinstance(document, CommentedMap):
        return []
    added: list[str] = []
    if "service" not in document:
        document.insert(0, "service", model.service)
        added.append(f"service: {model.service}")
    channels = {e.name: e.channel for e in model.events}
    for event in _items(document.get("events")):
        added += _pin_channel(event, channels)
    saga = document.get("saga")
    if model.saga is not None and isinstance(saga, dict):
        messages: list[Event | None] = []
        for step in model.saga.steps:
            messages += [step.command, step.success, step.failure, step.compensation]
        channels = {m.name: m.channel for m in messages if m is not None}
        for step in _items(saga.get("steps")):
            for role in ("command", "success", "failure", "compensation"):
                message = step.get(role)
                if isinstance(message, str) and message in channels:
                    # a message given by its name alone becomes a mapping, in flow style
                    step[role] = _flow({"name": message, "channel": channels[message]})
                    added.append(f"channel: {channels[message]}")
                elif isinstance(message, dict):
                    added += _pin_channel(message, channels)
    return added


def _items(value: Any) -> list[Any]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _pin_channel(entry: Any, channels: dict[str, str]) -> list[str]:
    name = entry.get("name")
    if "channel" in entry or not isinstance(name, str) or name not in channels:
        return []
    own = [key for key, _ in entry.non_merged_items()]
    entry.insert(own.index("name") + 1 if "name" in own else len(own), "channel", channels[name])
    return [f"channel: {channels[name]}"]


def _flow(items: dict[str, str]) -> Any:
    from ruamel.yaml.comments import CommentedMap

    mapping = CommentedMap(items)
    mapping.fa.set_flow_style()
    return mapping


def indentation(text: str) -> tuple[int, int, int]:
    """The file's own indentation, as ruamel.yaml's `indent()` takes it: how far a
    nested mapping is indented, how far a sequence item's content, and how far its
    dash (the most common of each in the file; ruamel.yaml's defaults without any)."""
    mappings: Counter[int] = Counter()
    sequences: Counter[tuple[int, int]] = Counter()
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    for line, following in itertools.pairwise(lines):
        if not _OPENS_BLOCK.match(line):
            continue
        parent = _prefix(line)
        child = _prefix(following, dashes=False)
        if child <= parent:
            continue
        if dash := _DASH.match(following[child:]):
            sequences[(child - parent + len(dash.group()), child - parent)] += 1
        else:
            mappings[child - parent] += 1
    mapping = mappings.most_common(1)[0][0] if mappings else 2
    sequence, offset = sequences.most_common(1)[0][0] if sequences else (2, 0)
    return mapping, max(sequence, offset + 2), offset


def _prefix(line: str, *, dashes: bool = True) -> int:
    """The column of a line's content: after its indentation and, with `dashes`, the
    dashes of the sequence items it opens."""
    match = _PREFIX.match(line) if dashes else _SPACES.match(line)
    assert match is not None  # both match the empty string
    return match.end()


def _spliced(original: str, dumped: str, added: list[str]) -> str:
    """The dump's additions on the team's text: where the dump merely reformatted or
    dropped lines (an odd indentation, a folded scalar, a comment before `---`), the
    team's lines stay. The whole dump when that would change what the file says."""
    if not original.endswith("\n"):
        original += "\n"
    ours = original.splitlines(keepends=True)
    theirs = dumped.splitlines(keepends=True)

    def adds(new: str, old: str = "") -> bool:
        return any(value in new and value not in old for value in added)

    result: list[str] = []
    took_back = False
    matcher = difflib.SequenceMatcher(a=ours, b=theirs, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            result += theirs[j1:j2]
        elif tag == "insert" and all(adds(line) for line in theirs[j1:j2]):
            result += theirs[j1:j2]  # the lines evtgen added
        elif (
            tag == "replace"
            and i2 - i1 == j2 - j1
            and all(adds(new, old) for old, new in zip(ours[i1:i2], theirs[j1:j2], strict=True))
        ):
            # flow mappings that gained a channel, their comments as far off as before
            result += [_comment_gap(o, n) for o, n in zip(ours[i1:i2], theirs[j1:j2], strict=True)]
        else:  # the team's lines, and the dump's added ones after them (if any)
            result += ours[i1:i2] + [line for line in theirs[j1:j2] if adds(line)]
            took_back = True
    spliced = "".join(result)
    if not took_back:
        return spliced
    from evtgen.yamllines import YamlSyntaxError, load, plain

    try:
        same = plain(load(spliced, round_trip=True)) == plain(load(dumped, round_trip=True))
    except YamlSyntaxError:
        same = False
    return spliced if same else dumped


_COMMENT = re.compile(r"(\s+)(#[^\n]*)$")


def _comment_gap(old: str, new: str) -> str:
    """`new` with the team's spacing before its end-of-line comment (the dump puts the
    comment where it was, or one space after a line that grew past it)."""
    before, after = _COMMENT.search(old.rstrip("\n")), _COMMENT.search(new.rstrip("\n"))
    if before is None or after is None or before.group(2) != after.group(2):
        return new
    return new[: after.start()] + before.group(1) + after.group(2) + new[len(new.rstrip("\n")) :]
