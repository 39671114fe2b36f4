"""The document and the files its `$ref`s reach: each read once, and references
followed within and between them."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from urllib.request import urlopen

from evtgen.asyncapi.extensions import X_COMMANDS
from evtgen.json_refs import MISSING, unescape, walk
from evtgen.problems import Problems
from evtgen.yamllines import LineMap, YamlSyntaxError, load

#: How long a remote `$ref`'s document may take to arrive.
FETCH_SECONDS = 10


class Unreadable(Exception):
    """A problem that leaves nothing else to read (unreadable file, not AsyncAPI 3)."""


class Documents:
    """The files of one document, loaded once each, by path."""

    def __init__(self, path: Path, problems: Problems, ref_root: Path | None = None) -> None:
        self.path = path
        #: the folder `$ref`s may read files in: the document's own, unless widened
        self.ref_root = (ref_root or path.absolute().parent).resolve()
        #: the document's own file, where problems without another place are
        self.file = str(path)
        self.problems = problems
        self.files: dict[str, Any] = {}

    def load(self, path: Path, line_from: tuple[str, int] | None = None) -> Any:
        key = str(path)
        if key not in self.files:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                where = line_from or (key, 0)
                self.problems.fail(
                    *where, f"cannot read {key}: {getattr(err, 'strerror', None) or err}"
                )
                raise Unreadable from err
            try:
                loaded = load(text, core_schema=True)
                if isinstance(loaded, dict) and X_COMMANDS in loaded:
                    # evtgen wrote it, with PyYAML: YAML 1.1, so read it that way
                    loaded = load(text)
                self.files[key] = loaded
            except YamlSyntaxError as err:
                self.problems.fail(key, err.line, f"YAML/JSON syntax error: {err.message}")
                raise Unreadable from err
        return self.files[key]

    def fetch(self, url: str, line_from: tuple[str, int]) -> Any:
        """A remote document a `$ref` names, fetched once; one line naming the URL
        when it cannot be."""
        if url not in self.files:
            try:
                with urlopen(url, timeout=FETCH_SECONDS) as response:
                    text = response.read().decode("utf-8")
            except (OSError, ValueError, UnicodeDecodeError) as err:
                reason = getattr(err, "reason", None) or getattr(err, "strerror", None) or err
                self.problems.fail(
                    *line_from,
                    f"$ref to {url}: cannot fetch it ({reason}); copy the definition into "
                    "the document or a file beside it",
                )
                raise Unreadable from err
            try:
                self.files[url] = load(text, core_schema=True)
            except YamlSyntaxError as err:
                self.problems.fail(
                    *line_from, f"$ref to {url}: YAML/JSON syntax error: {err.message}"
                )
                raise Unreadable from err
        return self.files[url]

    def deref(self, value: Any, file: str) -> tuple[Any, str]:
        """Follow `$ref`s: local pointers, other files beside the document
        (`other.yaml#/pointer`, `user.avsc`) and http(s) documents, fetched."""
        fail = self.problems.fail
        seen: set[tuple[str, str]] = set()
        while isinstance(value, LineMap) and "$ref" in value:
            ref, line = value["$ref"], value.line_of("$ref")
            if not isinstance(ref, str):
                fail(file, line, "$ref must be a string such as '#/components/...'")
                return None, file
            target, _, pointer = ref.partition("#")
            remote = "://" in target or target.startswith("//") or _is_url(file)
            if target and remote:
                url = urljoin(file, target) if _is_url(file) else target
                if not url.startswith(("http://", "https://")):
                    fail(file, line, f"$ref {ref!r}: only http(s) documents can be fetched")
                    return None, file
                try:
                    root = self.fetch(url, (file, line))
                except Unreadable:
                    return None, file
                file = url
            elif target:
                try:
                    path = (Path(file).parent / target).resolve()  # symlinks followed
                    is_file = path.is_file()
                except (OSError, ValueError) as err:  # a name too long, a NUL byte
                    fail(file, line, f"$ref {ref!r} is no file name here: {_why(err)}")
                    return None, file
                if not path.is_relative_to(self.ref_root):
                    # `..`, an absolute path, a symlink out: never read (nor echoed)
                    fail(
                        file,
                        line,
                        f"$ref {ref!r} reaches outside {self.ref_root}, the folder the "
                        "document's references may read; move the file into it, or "
                        "widen it with --ref-root DIR",
                    )
                    return None, file
                if not is_file:
                    fail(file, line, f"$ref {ref!r}: no file {path}")
                    return None, file
                try:
                    root = self.load(path, (file, line))
                except Unreadable:
                    return None, file
                file = str(path)
            else:
                root = self.files[file]
            if (file, pointer) in seen:
                fail(file, line, f"$ref {ref!r} refers to itself")
                return None, file
            seen.add((file, pointer))
            found = pointer_in(root, pointer)
            if found is MISSING:
                fail(file, line, f"$ref {ref!r} points at nothing in {Path(file).name}")
                return None, file
            value = found
        return value, file


def _why(err: OSError | ValueError) -> str:
    return err.strerror if isinstance(err, OSError) and err.strerror else str(err)


def _is_url(file: str) -> bool:
    return file.startswith(("http://", "https://"))


def pointer_in(root: Any, pointer: str) -> Any:
    """A JSON pointer (`/components/messages/X`) into a loaded document, or MISSING."""
    return walk(root, [unescape(p) for p in pointer.split("/")[1:]] if pointer else [])
