"""YAML text for the rendered pipeline files: block style, keys in the order built,
multi-line scripts as literal blocks, a header comment, and a `# vX.Y.Z` comment
after every pinned action."""

from __future__ import annotations

import re
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def _no_aliases(self: Any, data: Any) -> bool:
    return True


_Dumper.ignore_aliases = _no_aliases  # type: ignore[method-assign]


class Commented(str):
    """A scalar written with a comment after it (`contents: write # why`): PyYAML
    writes no comments, so it is dumped as a token and the token replaced."""

    comment: str

    def __new__(cls, value: str, comment: str) -> Commented:
        made = super().__new__(cls, value)
        made.comment = comment
        return made


def _tokens(value: Any, found: dict[str, Commented]) -> Any:
    if isinstance(value, Commented):
        token = f"evtgen-commented-{len(found)}"
        found[token] = value
        return token
    if isinstance(value, dict):
        return {k: _tokens(v, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_tokens(v, found) for v in value]
    return value


def dump(documents: list[dict[str, Any]], header: str, pins: dict[str, str]) -> str:
    """YAML documents joined by `---`, headed by `header` (comment lines); `pins` maps
    `OWNER/REPO@SHA` to the version that goes in a comment after it."""
    commented: dict[str, Commented] = {}
    body = "---\n".join(
        yaml.dump(
            _tokens(d, commented), Dumper=_Dumper, sort_keys=False, width=4096, allow_unicode=True
        )
        for d in documents
    )
    for token, value in commented.items():
        body = re.sub(rf"\b{token}$", f"{value} # {value.comment}", body, flags=re.MULTILINE)
    # GitHub's `on` key: PyYAML quotes it (a YAML 1.1 boolean); GitHub reads both.
    body = re.sub(r"^'on':", "on:", body, flags=re.MULTILINE)

    def comment(match: re.Match[str]) -> str:
        version = pins.get(match.group(2))
        return f"{match.group(0)} # {version}" if version else match.group(0)

    body = re.sub(r"^(\s*(?:- )?uses: )(\S+)$", comment, body, flags=re.MULTILINE)
    lines = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return lines + body
