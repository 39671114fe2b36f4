"""The import lines generated code needs, from the names it uses (view.py gathers
the code of each module; the template writes the block at its top)."""

from __future__ import annotations

import re

from evtgen.fieldtypes import IMPORTED_NAMES

_NAME = re.compile(r"(?<![.\w])[A-Za-z_]\w*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def import_block(code: list[str]) -> str:
    """The import lines the given code needs, grouped and sorted as ruff's isort does:
    standard library first, then third-party."""
    modules: dict[str, set[str]] = {}
    for line in code:
        for name in _NAME.findall(_STRING.sub('""', line)):
            if name in IMPORTED_NAMES:
                modules.setdefault(IMPORTED_NAMES[name], set()).add(name)
    groups: list[list[str]] = [[], []]
    for module in sorted(modules):
        names = ", ".join(sorted(modules[module], key=_isort_key))
        groups[module == "pydantic"].append(f"from {module} import {names}")
    return "\n\n".join("\n".join(g) for g in groups if g)


def _isort_key(name: str) -> tuple[int, str]:
    """isort's order-by-type: CONSTANTS, then Classes, then functions."""
    if name.isupper() and len(name) > 1:
        return 0, name
    return (1 if name[0].isupper() else 2), name
