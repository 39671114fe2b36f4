"""YAML with the line of every key and item, for error messages that point at it.

Two parsers, one tree: PyYAML's libyaml composer (fast; Copier loads PyYAML anyway)
for evtgen's own files and AsyncAPI documents, and, with `round_trip`, ruamel.yaml's
round-trip parser for the team's model file, the parser `modelfile` writes that file
back with (YAML 1.2: the file is checked as it is written). ruamel.yaml is imported
only then (about 30 ms here), never by `evtgen --help` (bench/startup_and_new.py).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

import yaml

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CoreLoader(_Loader):  # type: ignore[misc]
    """YAML 1.2's core schema, as AsyncAPI documents are written: only true/false are
    booleans (`enum: [on, off]` stays strings) and `1e-7` is a number."""


_CoreLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (
        "tag:yaml.org,2002:float",
        r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$",
        "-+0123456789.",
    ),
):
    _CoreLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


class LineMap(dict[Any, Any]):
    """A mapping that knows its own line and the line of each of its keys (1-based)."""

    line: int
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A sequence that knows its own line and the line of each item (1-based)."""

    line: int
    item_lines: list[int]


class YamlSyntaxError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _unmarked_error(text: str, err: Exception) -> YamlSyntaxError:
    """An error with no mark (a character YAML refuses, such as NUL, is found by the
    reader, which knows only its offset): its line from the offset, its first line."""
    position = getattr(err, "position", None)
    line = text.count("\n", 0, position) + 1 if isinstance(position, int) else 1
    character = getattr(err, "character", None)
    if isinstance(character, str) and not character.isprintable():
        reason = f"the character {character!r} is not allowed in YAML; remove it"
    else:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return YamlSyntaxError(line, reason)


def load(text: str, *, core_schema: bool = False, round_trip: bool = False) -> Any:
    """Parse one YAML document into plain values, LineMaps and LineLists; with
    `core_schema`, by YAML 1.2's core schema rather than PyYAML's YAML 1.1; with
    `round_trip`, by ruamel.yaml's round-trip parser (YAML 1.2)."""
    if round_trip:
        return _load_round_trip(text)
    loader = (_CoreLoader if core_schema else _Loader)(text)
    try:
        node = loader.get_single_node()
        return _convert(node, loader.construct_object, {}) if node is not None else None
    except yaml.MarkedYAMLError as err:
        raise _syntax_error(text, err) from err
    except yaml.YAMLError as err:
        raise _unmarked_error(text, err) from err
    finally:
        loader.dispose()


def _load_round_trip(text: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    parser = YAML()
    try:
        node = parser.compose(text)
        if node is None:
            return None
        constructor = parser.constructor
        return _convert(node, lambda n: _plain_scalar(n, constructor), {})
    except MarkedYAMLError as err:
        raise _syntax_error(text, err) from err
    except YAMLError as err:
        raise _unmarked_error(text, err) from err


_STANDARD_TAG = "tag:yaml.org,2002:"


def _plain_scalar(node: Any, constructor: Any) -> Any:
    """A scalar as PyYAML's safe loader gives it: plain Python values, not ruamel.yaml's
    round-trip types (which keep their formatting, and which PyYAML cannot dump)."""
    tag = str(node.tag)
    if not tag.startswith(_STANDARD_TAG):
        raise YamlSyntaxError(
            node.start_mark.line + 1, f"unknown tag {tag!r}; the model holds plain YAML values"
        )
    from ruamel.yaml.scalarbool import ScalarBoolean

    value = constructor.construct_object(node, deep=True)
    if isinstance(value, ScalarBoolean):  # an anchored boolean: an int subclass
        return bool(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):  # HexInt, ScalarInt... keep their format only
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):  # LiteralScalarString, FoldedScalarString...
        return str(value)
    if isinstance(value, datetime.datetime):  # ruamel.yaml's TimeStamp
        return datetime.datetime.fromisoformat(value.isoformat())
    return value


def _syntax_error(text: str, err: Any) -> YamlSyntaxError:
    """Either parser's marked error, as the line and what is wrong there."""
    mark = err.problem_mark or err.context_mark
    message = err.problem or err.context or "invalid YAML"
    if mark and _char_at(text, mark.line, mark.column) == "\t":
        message += " (a tab: YAML indents with spaces only; replace the tab with spaces)"
    return YamlSyntaxError(mark.line + 1 if mark else 0, message)


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    return lines[line][column : column + 1] if 0 <= line < len(lines) else ""


#: How a parser turns a scalar node into its value.
Scalar = Callable[[Any], Any]


def _convert(node: Any, scalar: Scalar, done: dict[int, Any]) -> Any:
    """Convert a node; an alias is the same node again, so it is converted once (a
    chain of aliases cannot blow up) and one that contains itself is refused."""
    if id(node) in done:
        if done[id(node)] is None:
            raise YamlSyntaxError(node.start_mark.line + 1, "an alias refers to itself")
        return done[id(node)]
    done[id(node)] = None
    done[id(node)] = converted = _convert_node(node, scalar, done)
    return converted


_MERGE = "tag:yaml.org,2002:merge"


def _convert_node(node: Any, scalar: Scalar, done: dict[int, Any]) -> Any:
    # both parsers' nodes name their kind in `id`
    if node.id == "mapping":
        mapping = LineMap()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        merged: list[LineMap] = []
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE:
                merged += _merged(value_node, scalar, done, line)
                continue
            key = _convert(key_node, scalar, done)
            if isinstance(key, list | dict):
                raise YamlSyntaxError(line, "a mapping key must be a plain value")
            if key in mapping:
                raise YamlSyntaxError(
                    line, f'found duplicate key "{key}" (first at line {mapping.key_lines[key]})'
                )
            mapping[key] = _convert(value_node, scalar, done)
            mapping.key_lines[key] = line
        return _with_merged(mapping, merged) if merged else mapping
    if node.id == "sequence":
        items = LineList(_convert(item, scalar, done) for item in node.value)
        items.line = node.start_mark.line + 1
        items.item_lines = [item.start_mark.line + 1 for item in node.value]
        return items
    return scalar(node)


def _merged(node: Any, scalar: Scalar, done: dict[int, Any], line: int) -> list[LineMap]:
    """The mappings a merge key (`<<: *defaults`, `<<: [*a, *b]`) brings in."""
    value = _convert(node, scalar, done)
    sources = value if isinstance(value, list) else [value]
    if not sources or not all(isinstance(v, LineMap) for v in sources):
        raise YamlSyntaxError(
            line, "a merge key (<<) takes a mapping or a list of mappings, e.g. <<: *defaults"
        )
    return list(sources)


def _with_merged(mapping: LineMap, merged: list[LineMap]) -> LineMap:
    """YAML's merge keys: the mapping's own keys win, then the merged mappings in
    order; merged keys come first, as PyYAML orders them, and keep the line where the
    anchored mapping defines them (that is where to fix them)."""
    result = LineMap()
    result.line = mapping.line
    result.key_lines = {}
    for source in merged:
        for key, value in source.items():
            if key not in result:
                result[key] = value
                result.key_lines[key] = source.line_of(key)
    for key, value in mapping.items():
        result[key] = value
        result.key_lines[key] = mapping.key_lines[key]
    return result


def plain(value: Any) -> Any:
    """The same value without line information: plain dicts and lists (what a value
    kept in the model, such as a default, must be, so that it dumps as plain YAML)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def load_plain(text: str) -> Any:
    """Parse YAML into plain values, fast (no lines kept)."""
    return yaml.load(text, Loader=_Loader)
