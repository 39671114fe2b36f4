"""The local store of the bundled template's versions.

`evtgen update` merges the template's change between the version a repo was made
from and the installed one, so it needs the old version's files. evtgen keeps each
version of its bundled template in a git repository under the user's data
directory, tagged `v<version>`: whenever `new`, `update` or `check` runs and the
installed template is not there yet, it is committed and tagged (a cheap check:
a fingerprint of the template's files against a small index file, no git call).
Installing an older evtgen and running it once therefore publishes its template.

Repos record `_src_path: evtgen:bundled`, a name that means the same on every
machine, and `_commit: v<version>`; update and check resolve the name to the store.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from evtgen import __version__, gitrepo
from evtgen.errors import UsageError

BUNDLED_SOURCE = "evtgen:bundled"
_INDEX = "evtgen-published"
_SKIP_DIRS = {"__pycache__", ".git"}


def data_dir() -> Path:
    """$EVTGEN_DATA_DIR, else $XDG_DATA_HOME/evtgen, else ~/.local/share/evtgen."""
    if explicit := os.environ.get("EVTGEN_DATA_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "evtgen"


def store_path() -> Path:
    """The bare git repository holding every published bundled-template version."""
    return data_dir() / "template-store.git"


def fingerprint(template: Path) -> str:
    """A hash of the template's files (paths, executable bits, contents)."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(template):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            if name.endswith(".pyc"):
                continue
            path = Path(root, name)
            rel = path.relative_to(template).as_posix()
            executable = os.access(path, os.X_OK)
            digest.update(f"{rel}\0{int(executable)}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _published(store: Path) -> dict[str, str]:
    """fingerprint -> tag, from the store's index file."""
    try:
        text = (store / _INDEX).read_text(encoding="utf-8")
    except OSError:
        return {}
    pairs = (line.split() for line in text.splitlines())
    return {p[0]: p[1] for p in pairs if len(p) == 2}


def ensure_bundled_published() -> str:
    """Publish the installed bundled template if the store lacks it; return its tag."""
    from evtgen.templates import bundled_template

    return publish(bundled_template(), __version__)


def publish(template: Path, version: str) -> str:
    """Commit `template` into the store and tag it `v<version>`; return the tag.

    Idempotent and cheap when already published. When `v<version>` already holds
    other content (a development checkout edited without a version bump), the new
    content gets its own tag, `v<version>+<fingerprint>`, so no recorded version
    ever changes meaning.
    """
    store = store_path()
    template = template.resolve()
    mark = fingerprint(template)
    if tag := _published(store).get(mark):
        return tag
    with _locked(store):
        if tag := _published(store).get(mark):
            return tag
        tag = f"v{version}"
        try:
            repo = gitrepo.open_repo(store)
            with repo:
                if tag in gitrepo.tag_names(repo):
                    tag = f"v{version}+{mark[:12]}"
                gitrepo.commit_directory(
                    repo,
                    template,
                    _template_files(template),
                    f"evtgen bundled template {tag}",
                    [f"refs/tags/{tag}", "refs/heads/main"],
                )
        except gitrepo.GitFailed as err:
            raise UsageError(f"evtgen's template store {store}: {err.detail}") from err
        with open(store / _INDEX, "a", encoding="utf-8") as index:
            index.write(f"{mark} {tag}\n")
    return tag


def _template_files(template: Path) -> list[Path]:
    """The files `fingerprint` reads (no caches, no .git), and symbolic links."""
    found = []
    for root, dirs, files in os.walk(template):
        links = [d for d in dirs if Path(root, d).is_symlink()]  # git keeps links as links
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and d not in links)
        found += [Path(root, n) for n in sorted(files + links) if not n.endswith(".pyc")]
    return found


@contextlib.contextmanager
def _locked(store: Path) -> Iterator[None]:
    """Create the store if needed, holding a lock against other evtgen processes."""
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        lock = open(store.parent / "template-store.lock", "w")  # noqa: SIM115
    except OSError as err:
        raise UsageError(
            f"cannot write evtgen's template store in {store.parent}: {err.strerror or err}; "
            "set EVTGEN_DATA_DIR to a writable directory"
        ) from err
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (store / "HEAD").is_file():
            try:
                gitrepo.init_bare(store)
            except gitrepo.GitFailed as err:
                raise UsageError(f"evtgen's template store {store}: {err.detail}") from err
        yield


def stamp_answers(text: str, commit: str, source: str) -> str:
    """The answers file `text` with `_commit` and `_src_path` set (Copier's order)."""
    import yaml

    lines = text.splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(("_commit:", "_src_path:"))]
    stamp = yaml.safe_dump({"_commit": commit}, default_flow_style=False) + yaml.safe_dump(
        {"_src_path": source}, default_flow_style=False
    )
    at = next((i for i, line in enumerate(kept) if not line.startswith("#")), len(kept))
    return "".join(kept[:at]) + stamp + "".join(kept[at:])
