"""Every script the README or docs/ tell a user to run (`scripts/NAME`, `.ci/run`) is
committed executable, with a `#!` line, so the command works as written on a fresh
clone. The mode is read from git's index, not the file system: a checkout made by
someone with a lax umask or a `chmod` not committed would pass a file-system check and
still fail for the next person to clone. (The template's own docs speak of the
generated repository's files, not of these scripts.)
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from conftest import ROOT

# `scripts/brokers.sh` or `.ci/run`, not a longer path that ends the same way
_NAMED = re.compile(r"(?<![\w./-])((?:scripts|\.ci)/[\w.-]*\w)")


def _docs() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _named_scripts() -> dict[str, list[str]]:
    """Each script path the docs name -> where (FILE:LINE) they name it."""
    named: dict[str, list[str]] = {}
    for doc in _docs():
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            for path in _NAMED.findall(line):
                named.setdefault(path, []).append(f"{doc.relative_to(ROOT)}:{number}")
    return named


def _index_modes() -> dict[str, str]:
    done = subprocess.run(
        ["git", "ls-files", "--stage", "--", "scripts", ".ci"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    modes = {}
    for row in done.stdout.splitlines():
        info, path = row.split("\t", 1)
        modes[path] = info.split()[0]
    return modes


def test_the_docs_name_the_scripts_a_user_runs() -> None:
    # the scan itself must see what the README's first lines tell a new user to run
    named = _named_scripts()
    assert {"scripts/test.sh", "scripts/brokers.sh", ".ci/run"} <= set(named)


def test_every_script_the_docs_name_is_committed_executable() -> None:
    modes = _index_modes()
    wrong = []
    for path, where in sorted(_named_scripts().items()):
        mode = modes.get(path)
        if mode is None:
            wrong.append(f"{where[0]}: names {path}, which is not in git")
        elif mode != "100755":
            wrong.append(
                f"{where[0]}: names {path}, committed as {mode}; "
                f"fix: git update-index --chmod=+x {path}"
            )
        elif not (ROOT / path).read_bytes().startswith(b"#!"):
            wrong.append(f"{where[0]}: names {path}, which has no #! line")
    assert not wrong, "\n".join(wrong)
