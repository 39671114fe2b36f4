"""The small readers every entry of a model is made of: its name, its texts, lists and
channel, and the keys it may not have."""

from __future__ import annotations

from typing import Any

from evtgen.loader.names import CHANNEL_NAME, MAX_TYPE_NAME, TYPE_NAME
from evtgen.model import PARAMETER
from evtgen.problems import FileProblems
from evtgen.yamllines import LineMap


def mapping_at(line: int, **values: Any) -> LineMap:
    """A mapping made in code, each key at `line`, read like one from the file."""
    made = LineMap(values)
    made.line = line
    made.key_lines = dict.fromkeys(values, line)
    return made


def type_name(out: FileProblems, item: LineMap, line: int, what: str) -> str | None:
    name = item.get("name")
    if not isinstance(name, str) or not name:
        out.fail(line, f"this {what} has no 'name:'")
        return None
    if not TYPE_NAME.match(name):
        out.fail(
            item.line_of("name"),
            f"{what} name {name!r} must be PascalCase letters and digits (e.g. PlaceOrder)",
        )
    elif len(name) > MAX_TYPE_NAME:
        out.fail(
            item.line_of("name"),
            f"{what} name {name[:20]}... is {len(name)} characters long; files are named "
            f"after it, so it may have at most {MAX_TYPE_NAME}: shorten it",
        )
    return name


def text(out: FileProblems, item: LineMap, key: str, owner: str) -> str:
    value = item.get(key, "")
    if not isinstance(value, str):
        out.fail(item.line_of(key), f"{key} of {owner} must be text")
        return ""
    return value.strip()


def name_list(out: FileProblems, item: LineMap, key: str, owner: str) -> tuple[str, ...]:
    value = item.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        out.fail(item.line_of(key), f"{key} of {owner} must be a list of names")
        return ()
    return tuple(value)


def channel_of(out: FileProblems, item: LineMap, owner: str) -> str | None:
    """The entry's own `channel:`, if it has a usable one."""
    value = item.get("channel")
    if value is not None and (not isinstance(value, str) or not channel_name(value)):
        out.fail(
            item.line_of("channel"),
            f"channel {value!r} of {owner} may hold only letters, digits, '.', '_' and '-', "
            "and whole levels `{field}` (a parameter: a field of the event)",
        )
        return None
    return value


def channel_name(channel: str) -> bool:
    """A channel evtgen uses on every broker: letters, digits, '.', '_' and '-', and
    parameters `{field}`, each a whole level between dots (docs/design.md)."""
    levels = channel.split(".")
    fixed = ".".join("p" if PARAMETER.fullmatch(level) else level for level in levels)
    return bool(CHANNEL_NAME.match(fixed)) and "{" not in fixed and "}" not in fixed


def unknown_keys(out: FileProblems, item: LineMap, allowed: set[str], owner: str) -> None:
    for key in item:
        if key not in allowed:
            out.fail(
                item.line_of(key),
                f"unknown key {key!r} in {owner}; expected one of: {', '.join(sorted(allowed))}",
            )
