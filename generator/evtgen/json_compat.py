"""JSON Schema compatibility by documented rules (docs/schema-compatibility.md).

`issues(reader, writer)` answers: does every instance `writer` accepts also pass
`reader`? When it cannot prove so, it says where and why. The rules are
conservative: a change it cannot reason about is reported, never waved through.

Over 600 lines on purpose: `_Check` holds one rule a keyword, and the rules call each
other as the schemas nest, so they read (and are kept consistent) together;
`json_refs.py` holds the `$ref` resolution they share.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from evtgen.avro_compat import Issue
from evtgen.json_refs import MAX_DEPTH, expand, resolve

ALL_TYPES = frozenset({"null", "boolean", "object", "array", "number", "integer", "string"})

#: Keywords that only annotate: they never make an instance invalid.
ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "id",
        "$comment",
        "$anchor",
        "title",
        "description",
        "default",
        "examples",
        "readOnly",
        "writeOnly",
        "deprecated",
        "definitions",
        "$defs",
        "contentMediaType",
        "contentEncoding",
    }
)

#: Keywords the rules below understand.
HANDLED = frozenset(
    {
        "$ref",
        "type",
        "enum",
        "const",
        "anyOf",
        "oneOf",
        "properties",
        "required",
        "additionalProperties",
        "minProperties",
        "maxProperties",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "format",
    }
)


def parse(text: str) -> Any:
    """A JSON Schema document from text; ValueError when it is not one."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"not valid JSON: {err}") from err
    if not isinstance(document, dict | bool):
        raise ValueError("not a JSON Schema: the document is neither an object nor a boolean")
    problem = _malformed(document, "#")
    if problem:
        raise ValueError(f"not a valid JSON Schema: {problem}")
    return document


_SCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMAS = (
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
)
_NUMBERS = (
    "minimum",
    "maximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
)


def _malformed(schema: Any, where: str) -> str | None:
    """Where the keywords the rules read have values no draft allows (so the rules
    never meet them), or None; the meta-schema's other constraints are not checked."""
    if isinstance(schema, bool):
        return None
    if not isinstance(schema, dict):
        return f"{where} is {json.dumps(schema)[:40]}, not a schema (an object or a boolean)"
    checks: list[tuple[str, bool, str]] = [
        ("type", _type_ok(schema.get("type", "string")), "a type name or a list of them"),
        ("required", _strings(schema.get("required", [])), "a list of property names"),
        ("enum", isinstance(schema.get("enum", []), list), "a list of values"),
        ("$ref", isinstance(schema.get("$ref", ""), str), "a URI reference (a string)"),
        ("pattern", isinstance(schema.get("pattern", ""), str), "a regular expression"),
        ("format", isinstance(schema.get("format", ""), str), "a format name"),
        ("uniqueItems", isinstance(schema.get("uniqueItems", False), bool), "true or false"),
    ]
    checks += [(k, _number(schema[k]), "a number") for k in _NUMBERS if k in schema]
    checks += [
        (k, _number(schema[k]) or isinstance(schema[k], bool), "a number")
        for k in ("exclusiveMinimum", "exclusiveMaximum")
        if k in schema
    ]
    checks += [
        (k, isinstance(schema[k], list) and bool(schema[k]), "a non-empty list of schemas")
        for k in _SCHEMA_LISTS
        if k in schema
    ]
    checks += [
        (k, isinstance(schema[k], dict), "an object of schemas")
        for k in _SCHEMA_MAPS
        if k in schema
    ]
    for key, ok, what in checks:
        if not ok:
            return f"{where}/{key} must be {what}, not {json.dumps(schema[key])[:40]}"
    children: list[tuple[str, Any]] = []
    for key in _SCHEMA_MAPS:
        children += [(f"{key}/{name}", sub) for name, sub in schema.get(key, {}).items()]
    for key in _SCHEMA_LISTS:
        children += [(f"{key}/{i}", sub) for i, sub in enumerate(schema.get(key, []))]
    children += [(key, schema[key]) for key in _SCHEMAS if key in schema]
    items = schema.get("items")
    if isinstance(items, list):
        children += [(f"items/{i}", sub) for i, sub in enumerate(items)]
    elif items is not None:
        children.append(("items", items))
    for path, sub in children:
        problem = _malformed(sub, f"{where}/{path}")
        if problem:
            return problem
    return None


def _type_ok(value: Any) -> bool:
    names = value if isinstance(value, list) else [value]
    return bool(names) and all(isinstance(v, str) and v in ALL_TYPES for v in names)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def issues(reader: Any, writer: Any, reader_label: str, writer_label: str) -> list[Issue]:
    """Why some instance `writer` accepts may fail `reader`; [] when none can."""
    check = _Check(reader, writer, reader_label, writer_label)
    check.subset(writer, reader, [])
    unique: list[Issue] = []
    for issue in check.found:
        if issue not in unique:
            unique.append(issue)
    return unique


@dataclass
class _Check:
    reader_root: Any
    writer_root: Any
    r_label: str
    w_label: str

    def __post_init__(self) -> None:
        self.found: list[Issue] = []
        self.seen: set[tuple[int, int]] = set()  # schema pairs under way: recursive $refs

    # -- helpers ---------------------------------------------------------------

    def trial(self) -> _Check:
        """A check whose findings are only looked at; it knows the pairs under way, so a
        recursive schema ends there too."""
        trial = _Check(self.reader_root, self.writer_root, self.r_label, self.w_label)
        trial.seen = set(self.seen)
        return trial

    def say(self, path: list[str], reason: str) -> None:
        self.found.append(Issue(_dotted(path), reason))

    def resolve(self, schema: Any, root: Any, path: list[str], label: str) -> Any:
        """Follow `$ref`s within the document. Up to draft-07 a `$ref`'s siblings are
        ignored; since 2019-09 they apply beside it, which the rules do not model: such
        a schema is left as it is, for `_unknown_keywords` (unchanged, or a finding)."""
        hops = 0
        while isinstance(schema, dict) and "$ref" in schema:
            if _ref_with_siblings(schema, root):
                return schema
            ref = schema["$ref"]
            target = resolve(root, ref) if isinstance(ref, str) else None
            if target is None:
                self.say(
                    path,
                    f"{label} has $ref {ref!r}, which does not point within its "
                    "document; evtgen cannot check it",
                )
                return True
            schema, hops = target, hops + 1
            if hops > 64:
                self.say(path, f"{label} has a $ref cycle at {ref!r}")
                return True
        return schema

    # -- the rules ---------------------------------------------------------------

    def subset(self, w: Any, r: Any, path: list[str]) -> None:
        """Report where an instance valid under `w` may be invalid under `r`."""
        w = self.resolve(w, self.writer_root, path, self.w_label)
        r = self.resolve(r, self.reader_root, path, self.r_label)
        key = (id(w), id(r))
        if key in self.seen:
            return  # the same pair further up: checked there
        if len(path) > MAX_DEPTH:
            self.say(path, f"nested deeper than {MAX_DEPTH} levels; evtgen stops here")
            return
        self.seen.add(key)
        try:
            self._subset(w, r, path)
        finally:
            self.seen.discard(key)

    def _subset(self, w: Any, r: Any, path: list[str]) -> None:
        if w is False or _accepts_anything(r):
            return
        if r is False:
            self.say(path, f"{self.r_label} rejects every value here")
            return
        if w is True:
            w = {}
        # Alternatives: every alternative the writer allows must fit the reader.
        w_branches = _branches(w)
        if w_branches is not None:
            for branch in w_branches:
                self.subset(branch, r, path)
            return
        r_branches = _branches(r)
        if r_branches is not None:
            self._one_of_reader(w, r_branches, path)
            return
        if self._unknown_keywords(w, r, path):
            return
        w_types = _types(w)
        r_types = _types(r)
        lost = sorted(t for t in w_types if not _covered(t, r_types))
        if lost:
            self.say(
                path,
                f"type changed: {self.w_label} allows {_words(lost)}, which {self.r_label} "
                f"(type {_words(sorted(r_types))}) rejects",
            )
        kept = {t for t in w_types if _covered(t, r_types)}
        self._enum(w, r, path)
        if kept & {"integer", "number"}:
            self._numbers(w, r, path)
        if "string" in kept:
            self._strings(w, r, path)
        if "array" in kept:
            self._arrays(w, r, path)
        if "object" in kept:
            self._objects(w, r, path)

    def _one_of_reader(self, w: Any, r_branches: list[Any], path: list[str]) -> None:
        """A writer's value must fit at least one of the reader's alternatives."""
        for branch in r_branches:
            trial = self.trial()
            trial.subset(w, branch, path)
            if not trial.found:
                return
        self.say(
            path,
            f"a value {self.w_label} allows here ({_describe(w)}) fits none of "
            f"{self.r_label}'s alternatives",
        )

    def _unknown_keywords(self, w: dict[str, Any], r: dict[str, Any], path: list[str]) -> bool:
        """Keywords outside the rules: a schema using them is proven compatible only when
        it is unchanged (their effect on the other keywords is not modelled). Returns
        whether that settled it."""
        unknown = sorted((set(w) | set(r)) - HANDLED - ANNOTATIONS)
        # only a `$ref` with siblings of draft 2019-09+ is left unresolved (see resolve)
        unknown += ["$ref"] if "$ref" in w or "$ref" in r else []
        if not unknown:
            return False
        # "unchanged" must hold for what the keywords' `$ref`s point at, too
        w_expanded, w_outside = expand(_strip(w), self.writer_root)
        r_expanded, r_outside = expand(_strip(r), self.reader_root)
        for label, outside in ((self.w_label, w_outside), (self.r_label, r_outside)):
            for ref in outside:
                self.say(
                    path,
                    f"{label} has $ref {ref!r}, which does not point within its "
                    "document; evtgen cannot check it",
                )
        if w_outside or r_outside:
            return True
        if w_expanded == r_expanded:
            return True
        changed = [
            k
            for k in unknown
            if expand(w.get(k), self.writer_root) != expand(r.get(k), self.reader_root)
        ]
        what = (
            f"`{'`, `'.join(changed)}` differs between {self.w_label} and {self.r_label}"
            if changed
            else f"the schema here uses `{'`, `'.join(unknown)}` and changed"
        )
        if "$ref" in unknown:
            what += " (a `$ref` with sibling keywords: since draft 2019-09 both apply)"
        self.say(
            path,
            f"{what}; evtgen's rules do not cover it, so it cannot prove the change compatible",
        )
        return True

    def _enum(self, w: dict[str, Any], r: dict[str, Any], path: list[str]) -> None:
        r_values = _enum_values(r)
        if r_values is None:
            return
        w_values = _enum_values(w)
        if w_values is None:
            self.say(
                path,
                f"{self.r_label} allows only {_values(r_values)} here; {self.w_label} "
                "allows any value",
            )
            return
        r_keys = {_canonical(v) for v in r_values}
        missing = [v for v in w_values if _canonical(v) not in r_keys]
        if missing:
            self.say(
                path,
                f"enum values {_values(missing)} that {self.w_label} allows are not in "
                f"{self.r_label}'s enum",
            )

    def _numbers(self, w: dict[str, Any], r: dict[str, Any], path: list[str]) -> None:
        for side, sign in (("minimum", 1), ("maximum", -1)):
            r_bound = _bound(r, side)
            if r_bound is None:
                continue
            w_bound = _bound(w, side)
            if w_bound is None or _tighter(r_bound, w_bound, sign):
                self.say(
                    path,
                    f"{self.r_label}'s {side} {_bound_text(r_bound)} is narrower than "
                    f"{self.w_label}'s ({_bound_text(w_bound) if w_bound else f'no {side}'})",
                )
        r_step = r.get("multipleOf")
        if isinstance(r_step, int | float) and r_step:
            w_step = w.get("multipleOf")
            if not isinstance(w_step, int | float) or (w_step / r_step) % 1:
                self.say(path, f"{self.r_label} requires multiples of {r_step}")

    def _strings(self, w: dict[str, Any], r: dict[str, Any], path: list[str]) -> None:
        self._at_least(w, r, "minLength", path)
        self._at_most(w, r, "maxLength", path)
        for keyword in ("pattern", "format"):
            if keyword in r and r[keyword] != w.get(keyword):
                self.say(
                    path,
                    f"{self.r_label} requires {keyword} {r[keyword]!r}; {self.w_label} "
                    + (f"has {w[keyword]!r}" if keyword in w else f"has no {keyword}"),
                )

    def _arrays(self, w: dict[str, Any], r: dict[str, Any], path: list[str]) -> None:
        self._at_least(w, r, "minItems", path)
        self._at_most(w, r, "maxItems", path)
        if r.get("uniqueItems") is True and w.get("uniqueItems") is not True:
            self.say(path, f"{self.r_label} requires unique items; {self.w_label} does not")
        r_items, w_items = r.get("items", True), w.get("items", True)
        if isinstance(r_items, list) or isinstance(w_items, list):
            if r_items != w_items:
                self.say(
                    path, "tuple `items` changed; evtgen's rules cover only one `items` schema"
                )
            return
        self.subset(w_items, r_items, [*path, "[]"])

    def _objects(self, w: dict[str, Any], r: dict[str, Any], path: list[str]) -> None:
        self._at_least(w, r, "minProperties", path)
        self._at_most(w, r, "maxProperties", path)
        w_props: dict[str, Any] = w.get("properties") or {}
        r_props: dict[str, Any] = r.get("properties") or {}
        w_more = w.get("additionalProperties", True)
        r_more = r.get("additionalProperties", True)
        w_required = set(w.get("required") or ())
        for name in r.get("required") or ():
            if name in w_required:
                continue
            if name in w_props or w_more is not False:
                why = f"{self.w_label} may leave it out"
            else:
                why = f"{self.w_label} never writes it"
            self.say([*path, name], f"required in {self.r_label}, but {why}")
        for name in sorted(set(w_props) | set(r_props)):
            here = [*path, name]
            if name in w_props and name in r_props:
                self.subset(w_props[name], r_props[name], here)
            elif name in w_props:  # removed, or renamed: the reader sees it as extra content
                if r_more is False:
                    self.say(
                        here,
                        f"not in {self.r_label}, whose content model is closed "
                        f"(additionalProperties: false), yet {self.w_label} may write it",
                    )
                else:
                    self.subset(w_props[name], r_more, here)
            elif w_more is not False:  # added: open writers may already send it, as anything
                trial = self.trial()
                trial.subset(w_more, r_props[name], here)
                if trial.found:
                    self.say(
                        here,
                        f"new in {self.r_label} with a definition ({_describe(r_props[name])}), "
                        f"but {self.w_label}'s content model is open (additionalProperties "
                        "not false), so its events may already carry it with any value",
                    )
        if r_more is False and w_more is not False:
            self.say(
                [*path, "*"],
                f"{self.r_label} closes the content model (additionalProperties: false); "
                f"{self.w_label} allowed fields it does not name",
            )
        elif r_more is not False and w_more is not False:
            self.subset(w_more, r_more, [*path, "*"])

    def _at_least(
        self, w: dict[str, Any], r: dict[str, Any], keyword: str, path: list[str]
    ) -> None:
        r_value, w_value = r.get(keyword, 0), w.get(keyword, 0)
        if isinstance(r_value, int | float) and r_value > (w_value or 0):
            self.say(
                path, f"{self.r_label}'s {keyword} {r_value} is above {self.w_label}'s ({w_value})"
            )

    def _at_most(self, w: dict[str, Any], r: dict[str, Any], keyword: str, path: list[str]) -> None:
        r_value, w_value = r.get(keyword), w.get(keyword)
        if isinstance(r_value, int | float) and (w_value is None or r_value < w_value):
            self.say(
                path,
                f"{self.r_label}'s {keyword} {r_value} is below {self.w_label}'s "
                f"({'none' if w_value is None else w_value})",
            )


# -- small pure helpers -----------------------------------------------------------


#: `$schema` of the drafts in which a `$ref` makes its siblings ignored.
_OLD_DRAFTS = ("draft-03", "draft-04", "draft-06", "draft-07")


def _ref_with_siblings(schema: dict[str, Any], root: Any) -> bool:
    """Whether `schema` has a `$ref` with sibling keywords that apply beside it: not up
    to draft-07 (there siblings are ignored), else (2019-09, 2020-12, no `$schema`:
    assume the newer rule, the conservative reading) when any sibling validates."""
    declared = root.get("$schema") if isinstance(root, dict) else None
    if isinstance(declared, str) and any(d in declared for d in _OLD_DRAFTS):
        return False
    return bool(set(schema) - ANNOTATIONS - {"$ref"})


def _strip(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without its annotations."""
    return {k: v for k, v in schema.items() if k not in ANNOTATIONS}


def _accepts_anything(schema: Any) -> bool:
    if schema is True:
        return True
    return isinstance(schema, dict) and not (set(schema) - ANNOTATIONS)


def _branches(schema: dict[str, Any]) -> list[Any] | None:
    """anyOf/oneOf alternatives, each with the schema's other keywords folded in."""
    for keyword in ("anyOf", "oneOf"):
        if isinstance(schema.get(keyword), list):
            rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            out: list[Any] = []
            for branch in schema[keyword]:
                if isinstance(branch, dict) and rest and "$ref" in branch:
                    # both apply; the rules do not merge them: unchanged, or a finding
                    out.append({**rest, "allOf": [branch]})
                elif isinstance(branch, dict) and rest:
                    out.append({**rest, **branch})
                elif branch is True:
                    out.append(rest or True)
                else:
                    out.append(branch)
            return out
    return None


def _types(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        types = {declared}
    elif isinstance(declared, list):
        types = {t for t in declared if isinstance(t, str)}
    else:
        values = _enum_values(schema)
        types = {_type_of(v) for v in values} if values is not None else set(ALL_TYPES)
    if "number" in types:
        types.add("integer")  # every integer is a number
    return types


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _covered(kind: str, reader_types: set[str]) -> bool:
    return kind in reader_types or (kind == "integer" and "number" in reader_types)


def _enum_values(schema: dict[str, Any]) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    values = schema.get("enum")
    return list(values) if isinstance(values, list) else None


def _canonical(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True)


def _bound(schema: dict[str, Any], side: str) -> tuple[float, bool] | None:
    """(value, exclusive) of the lower or upper bound, draft-06+ or draft-04 style."""
    exclusive_key = "exclusiveMinimum" if side == "minimum" else "exclusiveMaximum"
    bounds: list[tuple[float, bool]] = []
    if isinstance(schema.get(side), int | float) and not isinstance(schema.get(side), bool):
        bounds.append((schema[side], schema.get(exclusive_key) is True))
    exclusive = schema.get(exclusive_key)
    if isinstance(exclusive, int | float) and not isinstance(exclusive, bool):
        bounds.append((exclusive, True))
    if not bounds:
        return None
    if side == "minimum":
        return max(bounds, key=lambda b: (b[0], b[1]))
    return min(bounds, key=lambda b: (b[0], not b[1]))


def _tighter(reader: tuple[float, bool], writer: tuple[float, bool], sign: int) -> bool:
    """Whether the reader's bound excludes values the writer's admits."""
    if reader[0] != writer[0]:
        return (reader[0] - writer[0]) * sign > 0
    return reader[1] and not writer[1]


def _bound_text(bound: tuple[float, bool]) -> str:
    return f"{bound[0]}{' (exclusive)' if bound[1] else ''}"


def _describe(schema: Any) -> str:
    if isinstance(schema, dict):
        declared = schema.get("type")
        if declared is not None:
            return f"type {_words(declared if isinstance(declared, list) else [declared])}"
        if "enum" in schema:
            return f"enum {_values(schema['enum'])}"
    return "any value" if _accepts_anything(schema) else "a constrained value"


def _words(items: list[str]) -> str:
    return " or ".join(str(i) for i in items)


def _values(values: list[Any]) -> str:
    return ", ".join(json.dumps(v) for v in values)


def _dotted(path: list[str]) -> str:
    return ".".join(path).replace(".[]", "[]")
