"""YAML with the line of every key and item, for error messages that point at it.

Built on PyYAML's libyaml composer: Copier loads PyYAML anyway, so reading a model
this way costs no import on `evtgen new` (ruamel.yaml's round-trip loader did:
about 90 ms of its 1.2 s, measured with bench/startup_and_new.py).
"""

from __future__ import annotations

import re
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


def load(text: str, *, core_schema: bool = False) -> Any:
    """Parse one YAML document into plain values, LineMaps and LineLists; with
    `core_schema`, by YAML 1.2's core schema rather than PyYAML's YAML 1.1."""
    loader = (_CoreLoader if core_schema else _Loader)(text)
    try:
        node = loader.get_single_node()
        return _convert(node, loader, {}) if node is not None else None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        message = err.problem or err.context or "invalid YAML"
        if mark and _char_at(text, mark.line, mark.column) == "\t":
            message += " (a tab: YAML indents with spaces only; replace the tab with spaces)"
        raise YamlSyntaxError(mark.line + 1 if mark else 0, message) from err
    except yaml.YAMLError as err:
        raise YamlSyntaxError(0, str(err)) from err
    finally:
        loader.dispose()


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    return lines[line][column : column + 1] if 0 <= line < len(lines) else ""


def _convert(node: yaml.Node, loader: Any, done: dict[int, Any]) -> Any:
    """Convert a node; an alias is the same node again, so it is converted once (a
    chain of aliases cannot blow up) and one that contains itself is refused."""
    if id(node) in done:
        if done[id(node)] is None:
            raise YamlSyntaxError(node.start_mark.line + 1, "an alias refers to itself")
        return done[id(node)]
    done[id(node)] = None
    done[id(node)] = converted = _convert_node(node, loader, done)
    return converted


_MERGE = "tag:yaml.org,2002:merge"


def _convert_node(node: yaml.Node, loader: Any, done: dict[int, Any]) -> Any:
    if isinstance(node, yaml.MappingNode):
        mapping = LineMap()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        merged: list[LineMap] = []
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE:
                merged += _merged(value_node, loader, done, line)
                continue
            key = _convert(key_node, loader, done)
            if isinstance(key, list | dict):
                raise YamlSyntaxError(line, "a mapping key must be a plain value")
            if key in mapping:
                raise YamlSyntaxError(
                    line, f'found duplicate key "{key}" (first at line {mapping.key_lines[key]})'
                )
            mapping[key] = _convert(value_node, loader, done)
            mapping.key_lines[key] = line
        return _with_merged(mapping, merged) if merged else mapping
    if isinstance(node, yaml.SequenceNode):
        items = LineList(_convert(item, loader, done) for item in node.value)
        items.line = node.start_mark.line + 1
        items.item_lines = [item.start_mark.line + 1 for item in node.value]
        return items
    return loader.construct_object(node)


def _merged(node: yaml.Node, loader: Any, done: dict[int, Any], line: int) -> list[LineMap]:
    """The mappings a merge key (`<<: *defaults`, `<<: [*a, *b]`) brings in."""
    value = _convert(node, loader, done)
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
